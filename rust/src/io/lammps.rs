//! LAMMPS text dumps (`dump atom` / `dump custom`), read lazily.
//!
//! [`scan`] makes one pass over the file and records, for every frame, the byte range of
//! its atom lines together with the header (timestep, optional time, N, box). Nothing but
//! the headers is parsed, so indexing a 10 GB file costs one sequential read and a few
//! hundred bytes per frame of memory. [`read_frame`] then seeks to one frame and parses its
//! atom lines in parallel (rayon over line chunks), converting scaled coordinates, and
//! sorting atoms by `id`.
//!
//! Boxes follow LAMMPS: orthogonal (`ITEM: BOX BOUNDS pp pp pp`, lines `lo hi`), restricted
//! triclinic (`ITEM: BOX BOUNDS xy xz yz ...`, lines `lo_bound hi_bound tilt`, where the
//! bounds are those of the bounding box and are converted back to `xlo xhi` etc.), and
//! general triclinic (`ITEM: BOX BOUNDS abc origin`, lines `ax ay az ox` …). The result is the
//! box matrix (columns a, b, c) and the origin; scaled coordinates map as x = origin + H s.
//!
//! Every malformed input is an [`Error::Format`] naming file, frame (0-based index) and
//! line (1-based); nothing here panics on user data.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Header of one frame, as found by [`scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct FrameInfo {
    /// Byte offset of the frame's first `ITEM:` line.
    pub offset: u64,
    /// 1-based line number of the frame's first `ITEM:` line.
    pub line: usize,
    pub step: i64,
    /// `ITEM: TIME` value when the dump was written with `dump_modify time yes`.
    pub time: Option<f64>,
    pub n: usize,
    /// Row-major box matrix whose columns are the box vectors a, b, c.
    pub matrix: [[f64; 3]; 3],
    pub origin: [f64; 3],
    /// Byte range of the atom lines and the line number of the first one.
    pub body_start: u64,
    pub body_end: u64,
    pub body_line: usize,
}

/// Which coordinate columns a dump has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coords {
    /// `x y z`
    Wrapped,
    /// `xs ys zs`
    Scaled,
    /// `xu yu zu`
    Unwrapped,
    /// `xsu ysu zsu`
    ScaledUnwrapped,
}

impl Coords {
    const ALL: [(Coords, [&'static str; 3]); 4] = [
        (Coords::Wrapped, ["x", "y", "z"]),
        (Coords::Scaled, ["xs", "ys", "zs"]),
        (Coords::Unwrapped, ["xu", "yu", "zu"]),
        (Coords::ScaledUnwrapped, ["xsu", "ysu", "zsu"]),
    ];
    pub fn scaled(self) -> bool {
        matches!(self, Coords::Scaled | Coords::ScaledUnwrapped)
    }
    pub fn names(self) -> [&'static str; 3] {
        Coords::ALL.iter().find(|(c, _)| *c == self).map(|(_, n)| *n).unwrap_or(["x", "y", "z"])
    }
}

/// Column positions of the quantities glassrs uses (other columns are ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub ncol: usize,
    pub id: Option<usize>,
    pub type_: Option<usize>,
    /// Columns of the stored positions (first of x, xs, xu, xsu present).
    pub pos: ([usize; 3], Coords),
    /// Columns of unwrapped coordinates (xu or xsu), if present.
    pub unwrapped: Option<([usize; 3], Coords)>,
    pub images: Option<[usize; 3]>,
    pub velocities: Option<[usize; 3]>,
}

impl Layout {
    /// Interpret the column names of `ITEM: ATOMS`. `Err(msg)` if no complete set of
    /// coordinate columns exists or a triple is incomplete.
    pub fn from_columns(cols: &[String]) -> std::result::Result<Layout, String> {
        let find = |name: &str| cols.iter().position(|c| c == name);
        let triple = |names: [&str; 3]| -> std::result::Result<Option<[usize; 3]>, String> {
            let f = names.map(find);
            match f {
                [Some(a), Some(b), Some(c)] => Ok(Some([a, b, c])),
                [None, None, None] => Ok(None),
                _ => {
                    let missing: Vec<&str> = names.iter().zip(f).filter(|(_, p)| p.is_none()).map(|(n, _)| *n).collect();
                    Err(format!(
                        "incomplete columns '{}': '{}' missing (columns: {})",
                        names.join(" "),
                        missing.join(" "),
                        cols.join(" ")
                    ))
                }
            }
        };
        let mut found = Vec::new();
        for (kind, names) in Coords::ALL {
            if let Some(t) = triple(names)? {
                found.push((t, kind));
            }
        }
        let pos = *found.first().ok_or_else(|| {
            format!(
                "no position columns: expected one of 'x y z', 'xs ys zs', 'xu yu zu' or 'xsu ysu zsu', found columns: {}",
                if cols.is_empty() { "(none)".to_string() } else { cols.join(" ") }
            )
        })?;
        let unwrapped = found.iter().copied().find(|(_, k)| matches!(k, Coords::Unwrapped | Coords::ScaledUnwrapped));
        let mut seen = std::collections::HashSet::new();
        for c in cols {
            if !seen.insert(c.as_str()) {
                return Err(format!("column '{c}' appears twice (columns: {})", cols.join(" ")));
            }
        }
        Ok(Layout {
            ncol: cols.len(),
            id: find("id"),
            type_: find("type"),
            pos,
            unwrapped,
            images: triple(["ix", "iy", "iz"])?,
            velocities: triple(["vx", "vy", "vz"])?,
        })
    }
}

/// The frame index of one dump file.
#[derive(Debug, Clone)]
pub struct DumpIndex {
    pub path: String,
    pub file_len: u64,
    pub columns: Vec<String>,
    pub layout: Layout,
    pub frames: Vec<FrameInfo>,
}

/// One parsed frame. Arrays are flat, row-major (N×3 for vectors), sorted by `id` when the
/// dump has ids.
#[derive(Debug, Clone, PartialEq)]
pub struct DumpFrame {
    pub step: i64,
    pub time: Option<f64>,
    pub n: usize,
    pub matrix: [[f64; 3]; 3],
    pub origin: [f64; 3],
    pub ids: Option<Vec<i64>>,
    pub types: Option<Vec<i64>>,
    /// Cartesian positions as stored (wrapped or unwrapped, scaled ones converted).
    pub positions: Vec<f64>,
    pub unwrapped: Option<Vec<f64>>,
    pub images: Option<Vec<i64>>,
    pub velocities: Option<Vec<f64>>,
}

fn ferr(file: &str, frame: Option<usize>, line: Option<usize>, msg: impl Into<String>) -> Error {
    Error::Format { file: file.to_string(), frame, line, msg: msg.into() }
}

fn io_err(file: &str, e: std::io::Error) -> Error {
    Error::Io(format!("{file}: {e}"))
}

/// Buffered line reader that tracks byte offsets and line numbers.
struct Lines {
    r: BufReader<File>,
    /// Byte offset of the next unread byte.
    pos: u64,
    /// Lines consumed so far (the next line has number `line + 1`).
    line: usize,
    buf: Vec<u8>,
}

impl Lines {
    /// Read the next line into `self.buf` (without the line terminator). Returns the line's
    /// start offset and 1-based number, or `None` at end of file.
    fn next(&mut self) -> std::io::Result<Option<(u64, usize)>> {
        self.buf.clear();
        let start = self.pos;
        let k = self.r.read_until(b'\n', &mut self.buf)?;
        if k == 0 {
            return Ok(None);
        }
        self.pos += k as u64;
        self.line += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some((start, self.line)))
    }

    /// Skip `n` lines; returns how many were skipped (fewer than `n` only at end of file,
    /// where a last line without a terminating newline counts as a line).
    fn skip(&mut self, n: usize) -> std::io::Result<usize> {
        let mut done = 0usize;
        // bytes consumed since the last newline (a partial last line)
        let mut partial = false;
        while done < n {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                if partial {
                    done += 1;
                    self.line += 1;
                }
                break;
            }
            let count = buf.iter().filter(|&&b| b == b'\n').count();
            let consumed;
            if done + count < n {
                done += count;
                consumed = buf.len();
                partial = if count > 0 { buf[buf.len() - 1] != b'\n' } else { true };
                self.line += count;
            } else {
                let mut c = buf.len();
                for (i, &b) in buf.iter().enumerate() {
                    if b == b'\n' {
                        done += 1;
                        self.line += 1;
                        if done == n {
                            c = i + 1;
                            break;
                        }
                    }
                }
                consumed = c;
                partial = false;
            }
            self.r.consume(consumed);
            self.pos += consumed as u64;
        }
        Ok(done)
    }
}

fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

fn is_item(line: &[u8], name: &str) -> bool {
    let t = trim(line);
    t.starts_with(b"ITEM:") && trim(&t[5..]).starts_with(name.as_bytes())
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(s, |p| p + 1);
    &b[s..e.max(s)]
}

fn tokens(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|c| c.is_ascii_whitespace()).filter(|t| !t.is_empty())
}

#[inline]
fn parse_f64(t: &[u8]) -> Option<f64> {
    std::str::from_utf8(t).ok()?.parse::<f64>().ok()
}

#[inline]
fn parse_i64(t: &[u8]) -> Option<i64> {
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(|c| c.is_ascii_digit()) {
        // tolerate integral values written as floats ("1.0", "2e3")
        let v = parse_f64(t)?;
        return if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 { Some(v as i64) } else { None };
    }
    let mut v: i64 = 0;
    for &c in digits {
        v = v * 10 + (c - b'0') as i64;
    }
    Some(if neg { -v } else { v })
}

/// Box from the three `BOX BOUNDS` lines. `style`: the words after `BOUNDS`.
fn parse_box(lines: &[Vec<u8>; 3], style: &[u8]) -> std::result::Result<([[f64; 3]; 3], [f64; 3]), String> {
    let words: Vec<&[u8]> = tokens(style).collect();
    let general = words.first() == Some(&&b"abc"[..]);
    let triclinic = words.first() == Some(&&b"xy"[..]);
    let want = if general { 4 } else if triclinic { 3 } else { 2 };
    let mut v = [[0.0f64; 4]; 3];
    for (k, l) in lines.iter().enumerate() {
        let t: Vec<&[u8]> = tokens(l).collect();
        if t.len() < want {
            return Err(format!("box line {} has {} numbers, expected {want}: '{}'", k + 1, t.len(), text(l)));
        }
        for c in 0..want {
            v[k][c] = parse_f64(t[c])
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("box line {} has a value that is not a finite number: '{}'", k + 1, text(t[c])))?;
        }
    }
    if general {
        // rows: a (ax ay az ox), b (...), c (...)
        let m = [[v[0][0], v[1][0], v[2][0]], [v[0][1], v[1][1], v[2][1]], [v[0][2], v[1][2], v[2][2]]];
        let a = [v[0][0], v[0][1], v[0][2]];
        let b = [v[1][0], v[1][1], v[1][2]];
        let c = [v[2][0], v[2][1], v[2][2]];
        let vol = crate::simbox::dot(&a, &crate::simbox::cross(&b, &c));
        if !(vol > 0.0) {
            return Err(format!("box vectors a={a:?}, b={b:?}, c={c:?} do not span a positive volume ({vol})"));
        }
        return Ok((m, [v[0][3], v[1][3], v[2][3]]));
    }
    let (xy, xz, yz) = if triclinic { (v[0][2], v[1][2], v[2][2]) } else { (0.0, 0.0, 0.0) };
    // bounding box → box bounds (LAMMPS Howto triclinic)
    let xlo = v[0][0] - 0.0f64.min(xy).min(xz).min(xy + xz);
    let xhi = v[0][1] - 0.0f64.max(xy).max(xz).max(xy + xz);
    let ylo = v[1][0] - 0.0f64.min(yz);
    let yhi = v[1][1] - 0.0f64.max(yz);
    let (zlo, zhi) = (v[2][0], v[2][1]);
    let (lx, ly, lz) = (xhi - xlo, yhi - ylo, zhi - zlo);
    for (name, l, lo, hi) in [("x", lx, xlo, xhi), ("y", ly, ylo, yhi), ("z", lz, zlo, zhi)] {
        if !(l > 0.0) {
            return Err(format!("box length l{name} = {name}hi − {name}lo = {hi} − {lo} = {l} is not positive"));
        }
    }
    Ok(([[lx, xy, xz], [0.0, ly, yz], [0.0, 0.0, lz]], [xlo, ylo, zlo]))
}

/// Index every frame of the dump at `path` (one sequential pass; only headers are parsed).
pub fn scan(path: &str) -> Result<DumpIndex> {
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    let file_len = f.metadata().map_err(|e| io_err(path, e))?.len();
    let mut rd = Lines { r: BufReader::with_capacity(1 << 20, f), pos: 0, line: 0, buf: Vec::new() };
    let mut frames: Vec<FrameInfo> = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut layout: Option<Layout> = None;
    let io = |e: std::io::Error| io_err(path, e);

    loop {
        let k = frames.len();
        let fe = |line: usize, msg: String| ferr(path, Some(k), Some(line), msg);
        // skip blank lines between frames
        let (offset, first_line) = loop {
            match rd.next().map_err(io)? {
                None => {
                    if frames.is_empty() {
                        return Err(ferr(path, None, None, "the file contains no frame (expected 'ITEM: TIMESTEP'); is it empty?"));
                    }
                    return Ok(DumpIndex {
                        path: path.to_string(),
                        file_len,
                        columns: columns.unwrap_or_default(),
                        layout: layout.ok_or_else(|| ferr(path, None, None, "no ITEM: ATOMS line"))?,
                        frames,
                    });
                }
                Some(p) if !trim(&rd.buf).is_empty() => break p,
                Some(_) => {}
            }
        };
        // optional ITEM: UNITS / ITEM: TIME before ITEM: TIMESTEP
        let mut time = None;
        let mut lno = first_line;
        loop {
            if is_item(&rd.buf, "TIMESTEP") {
                break;
            } else if is_item(&rd.buf, "UNITS") || is_item(&rd.buf, "TIME") {
                let is_time = is_item(&rd.buf, "TIME");
                let Some((_, l)) = rd.next().map_err(io)? else {
                    return Err(fe(lno + 1, "file ends inside a frame header".into()));
                };
                if is_time {
                    time = Some(parse_f64(trim(&rd.buf)).filter(|t| t.is_finite()).ok_or_else(|| {
                        fe(l, format!("expected the time (a number) after 'ITEM: TIME', found '{}'", text(&rd.buf)))
                    })?);
                }
                match rd.next().map_err(io)? {
                    Some((_, l)) => lno = l,
                    None => return Err(fe(l + 1, "file ends inside a frame header".into())),
                }
            } else {
                return Err(fe(lno, format!("expected 'ITEM: TIMESTEP', found '{}'", text(&rd.buf))));
            }
        }
        // the header proper: fixed sequence of lines
        let mut next_line = |rd: &mut Lines, what: &str| -> Result<usize> {
            match rd.next().map_err(io)? {
                Some((_, l)) => {
                    lno = l;
                    Ok(l)
                }
                None => Err(ferr(path, Some(k), Some(lno + 1), format!("file ends inside a frame header (expected {what})"))),
            }
        };
        let l = next_line(&mut rd, "the timestep")?;
        let step = parse_i64(trim(&rd.buf))
            .ok_or_else(|| fe(l, format!("expected the timestep (an integer) after 'ITEM: TIMESTEP', found '{}'", text(&rd.buf))))?;
        let l = next_line(&mut rd, "'ITEM: NUMBER OF ATOMS'")?;
        if !is_item(&rd.buf, "NUMBER OF ATOMS") {
            return Err(fe(l, format!("expected 'ITEM: NUMBER OF ATOMS', found '{}'", text(&rd.buf))));
        }
        let l = next_line(&mut rd, "the number of atoms")?;
        let n = parse_i64(trim(&rd.buf))
            .filter(|&n| n >= 0)
            .ok_or_else(|| fe(l, format!("expected the number of atoms (a non-negative integer), found '{}'", text(&rd.buf))))?
            as usize;
        if n == 0 {
            return Err(fe(l, "frame has no atoms".into()));
        }
        if let Some(f0) = frames.first() {
            if n != f0.n {
                return Err(fe(
                    l,
                    format!("frame has {n} atoms but frame 0 has {}; glassrs needs the same particles in every frame", f0.n),
                ));
            }
        }
        let l = next_line(&mut rd, "'ITEM: BOX BOUNDS'")?;
        if !is_item(&rd.buf, "BOX BOUNDS") {
            return Err(fe(l, format!("expected 'ITEM: BOX BOUNDS', found '{}'", text(&rd.buf))));
        }
        let box_line = l;
        let t = trim(&rd.buf);
        let style = t[t.windows(6).position(|w| w == b"BOUNDS").map_or(t.len(), |p| p + 6)..].to_vec();
        let mut blines: [Vec<u8>; 3] = Default::default();
        for bl in blines.iter_mut() {
            let l = next_line(&mut rd, "a box line")?;
            if is_item(&rd.buf, "") {
                return Err(fe(l, format!("expected 3 box lines after 'ITEM: BOX BOUNDS', found '{}'", text(&rd.buf))));
            }
            *bl = rd.buf.clone();
        }
        let (matrix, origin) = parse_box(&blines, &style).map_err(|m| fe(box_line, m))?;
        let l = next_line(&mut rd, "'ITEM: ATOMS'")?;
        if !is_item(&rd.buf, "ATOMS") {
            return Err(fe(l, format!("expected 'ITEM: ATOMS <columns>', found '{}'", text(&rd.buf))));
        }
        let t = trim(&rd.buf);
        let rest = &t[t.windows(5).position(|w| w == b"ATOMS").map_or(t.len(), |p| p + 5)..];
        let cols: Vec<String> = tokens(rest).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        match &columns {
            None => {
                layout = Some(Layout::from_columns(&cols).map_err(|m| fe(l, m))?);
                columns = Some(cols);
            }
            Some(c0) if *c0 != cols => {
                return Err(fe(l, format!("columns '{}' differ from frame 0 ('{}')", cols.join(" "), c0.join(" "))));
            }
            Some(_) => {}
        }
        let body_start = rd.pos;
        let body_line = rd.line + 1;
        let got = rd.skip(n).map_err(io)?;
        if got < n {
            return Err(fe(
                body_line + got,
                format!("truncated frame (step {step}): expected {n} atom lines, the file ends after {got}"),
            ));
        }
        frames.push(FrameInfo {
            offset,
            line: first_line,
            step,
            time,
            n,
            matrix,
            origin,
            body_start,
            body_end: rd.pos,
            body_line,
        });
    }
}

/// Columns of one chunk of atom lines.
#[derive(Default)]
struct Part {
    ids: Vec<i64>,
    types: Vec<i64>,
    pos: Vec<f64>,
    unw: Vec<f64>,
    img: Vec<i64>,
    vel: Vec<f64>,
}

/// Split `body` at line boundaries into chunks of about `target` bytes:
/// (start, end, index of the first line of the chunk).
fn chunks(body: &[u8], target: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut line = 0usize;
    while start < body.len() {
        let mut end = (start + target).min(body.len());
        while end < body.len() && body[end - 1] != b'\n' {
            end += 1;
        }
        let nl = body[start..end].iter().filter(|&&b| b == b'\n').count();
        let lines = nl + usize::from(body[end - 1] != b'\n');
        out.push((start, end, line));
        line += lines;
        start = end;
    }
    out
}

fn parse_chunk(
    text_: &[u8],
    first_line: usize,
    lay: &Layout,
    ctx: &(dyn Fn(usize, String) -> Error + Sync),
    cols: &[String],
    cut_at_eof: bool,
) -> Result<Part> {
    let nlines = text_.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut p = Part::default();
    if lay.id.is_some() {
        p.ids.reserve(nlines);
    }
    if lay.type_.is_some() {
        p.types.reserve(nlines);
    }
    p.pos.reserve(3 * nlines);
    let mut tok: Vec<&[u8]> = Vec::with_capacity(lay.ncol + 1);
    let mut lines = text_.split(|&b| b == b'\n');
    let n_expected = nlines - usize::from(text_.last() == Some(&b'\n'));
    for r in 0..n_expected {
        let line = lines.next().unwrap_or(&[]);
        let lno = first_line + r;
        tok.clear();
        tok.extend(tokens(line));
        if tok.len() != lay.ncol {
            if cut_at_eof && r + 1 == n_expected {
                return Err(ctx(
                    lno,
                    format!(
                        "truncated frame: the file ends inside this atom line ({} of {} values: '{}')",
                        tok.len(),
                        lay.ncol,
                        text(line)
                    ),
                ));
            }
            if tok.first().is_some_and(|t| t.starts_with(b"ITEM:")) {
                return Err(ctx(lno, format!("expected an atom line, found '{}' (fewer atom lines than 'NUMBER OF ATOMS')", text(line))));
            }
            return Err(ctx(
                lno,
                format!("expected {} values ({}), found {}: '{}'", lay.ncol, cols.join(" "), tok.len(), text(line)),
            ));
        }
        let int = |c: usize| -> Result<i64> {
            parse_i64(tok[c]).ok_or_else(|| ctx(lno, format!("column '{}': expected an integer, found '{}'", cols[c], text(tok[c]))))
        };
        let flt = |c: usize| -> Result<f64> {
            match parse_f64(tok[c]) {
                Some(v) if v.is_finite() => Ok(v),
                Some(_) => Err(ctx(lno, format!("column '{}': non-finite value '{}'", cols[c], text(tok[c])))),
                None => Err(ctx(lno, format!("column '{}': expected a number, found '{}'", cols[c], text(tok[c])))),
            }
        };
        if let Some(c) = lay.id {
            p.ids.push(int(c)?);
        }
        if let Some(c) = lay.type_ {
            p.types.push(int(c)?);
        }
        for c in lay.pos.0 {
            p.pos.push(flt(c)?);
        }
        if let Some((u, _)) = lay.unwrapped {
            if u != lay.pos.0 {
                for c in u {
                    p.unw.push(flt(c)?);
                }
            }
        }
        if let Some(im) = lay.images {
            for c in im {
                p.img.push(int(c)?);
            }
        }
        if let Some(v) = lay.velocities {
            for c in v {
                p.vel.push(flt(c)?);
            }
        }
    }
    Ok(p)
}

fn to_cartesian(v: &mut [f64], m: &[[f64; 3]; 3], o: &[f64; 3]) {
    for s in v.chunks_exact_mut(3) {
        let x = [
            o[0] + m[0][0] * s[0] + m[0][1] * s[1] + m[0][2] * s[2],
            o[1] + m[1][0] * s[0] + m[1][1] * s[1] + m[1][2] * s[2],
            o[2] + m[2][0] * s[0] + m[2][1] * s[1] + m[2][2] * s[2],
        ];
        s.copy_from_slice(&x);
    }
}

fn permute<T: Copy>(v: &[T], order: &[usize], width: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len());
    for &i in order {
        out.extend_from_slice(&v[i * width..(i + 1) * width]);
    }
    out
}

/// Parse the atom lines of frame `k` of an indexed dump.
pub fn read_frame(idx: &DumpIndex, k: usize) -> Result<DumpFrame> {
    let path = idx.path.as_str();
    let info = idx
        .frames
        .get(k)
        .ok_or_else(|| crate::invalid!("{path}: frame {k} out of range ({} frames)", idx.frames.len()))?;
    let mut f = File::open(path).map_err(|e| io_err(path, e))?;
    let len_now = f.metadata().map_err(|e| io_err(path, e))?.len();
    if len_now < info.body_end {
        return Err(ferr(path, Some(k), Some(info.body_line), "the file became shorter after it was indexed (was it overwritten?); open it again"));
    }
    f.seek(SeekFrom::Start(info.body_start)).map_err(|e| io_err(path, e))?;
    let mut body = vec![0u8; (info.body_end - info.body_start) as usize];
    f.read_exact(&mut body).map_err(|e| io_err(path, e))?;
    parse_body(&body, idx, k)
}

/// Parse frame `k` from its atom-line bytes (exposed for tests and in-memory use).
pub fn parse_body(body: &[u8], idx: &DumpIndex, k: usize) -> Result<DumpFrame> {
    let path = idx.path.as_str();
    let info = &idx.frames[k];
    let lay = &idx.layout;
    let n = info.n;
    let ctx = |line: usize, msg: String| ferr(path, Some(k), Some(line), msg);
    // a last line without newline at the end of the file is probably a cut-off write
    let cut = info.body_end == idx.file_len && body.last().is_some_and(|&b| b != b'\n');
    let parts: Vec<Result<Part>> = chunks(body, 1 << 16)
        .into_par_iter()
        .map(|(s, e, l0)| {
            let last = e == body.len();
            parse_chunk(&body[s..e], info.body_line + l0, lay, &ctx, &idx.columns, cut && last)
        })
        .collect();
    let mut all = Part::default();
    for p in parts {
        let p = p?;
        all.ids.extend_from_slice(&p.ids);
        all.types.extend_from_slice(&p.types);
        all.pos.extend_from_slice(&p.pos);
        all.unw.extend_from_slice(&p.unw);
        all.img.extend_from_slice(&p.img);
        all.vel.extend_from_slice(&p.vel);
    }
    if all.pos.len() != 3 * n {
        return Err(ctx(info.body_line, format!("expected {n} atom lines, parsed {}", all.pos.len() / 3)));
    }
    let (m, o) = (&info.matrix, &info.origin);
    if lay.pos.1.scaled() {
        to_cartesian(&mut all.pos, m, o);
    }
    let mut unwrapped = match lay.unwrapped {
        Some((u, _)) if u == lay.pos.0 => Some(all.pos.clone()),
        Some((_, kind)) => {
            if kind.scaled() {
                to_cartesian(&mut all.unw, m, o);
            }
            Some(std::mem::take(&mut all.unw))
        }
        None => None,
    };
    let mut ids = lay.id.map(|_| std::mem::take(&mut all.ids));
    let mut types = lay.type_.map(|_| std::mem::take(&mut all.types));
    let mut positions = all.pos;
    let mut images = lay.images.map(|_| std::mem::take(&mut all.img));
    let mut velocities = lay.velocities.map(|_| std::mem::take(&mut all.vel));
    if let Some(idv) = &ids {
        if !idv.windows(2).all(|w| w[0] < w[1]) {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_unstable_by_key(|&i| idv[i]);
            if let Some(w) = order.windows(2).find(|w| idv[w[0]] == idv[w[1]]) {
                let (a, b) = (w[0].min(w[1]), w[0].max(w[1]));
                return Err(ctx(
                    info.body_line + b,
                    format!("duplicate atom id {} (also on line {})", idv[a], info.body_line + a),
                ));
            }
            ids = Some(permute(idv, &order, 1));
            types = types.map(|t| permute(&t, &order, 1));
            positions = permute(&positions, &order, 3);
            unwrapped = unwrapped.map(|u| permute(&u, &order, 3));
            images = images.map(|u| permute(&u, &order, 3));
            velocities = velocities.map(|u| permute(&u, &order, 3));
        }
    }
    Ok(DumpFrame {
        step: info.step,
        time: info.time,
        n,
        matrix: *m,
        origin: *o,
        ids,
        types,
        positions,
        unwrapped,
        images,
        velocities,
    })
}

/// Parse several frames in parallel (order of `frames` kept).
pub fn read_frames(idx: &DumpIndex, frames: &[usize]) -> Result<Vec<DumpFrame>> {
    frames.par_iter().map(|&k| read_frame(idx, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(name: &str, content: &str) -> String {
        let dir = std::env::temp_dir().join(format!("glassrs-lammps-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        let mut f = File::create(&p).unwrap();
        f.write_all(content.as_bytes()).unwrap();
        p.to_string_lossy().into_owned()
    }

    const ORTHO: &str = "ITEM: TIMESTEP\n100\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOUNDS pp pp pp\n0 10\n-1 4\n0.5 6.5\nITEM: ATOMS type xs ys zs id\n2 0.5 0.5 0.5 3\n1 0.1 0.2 0.3 1\n1 0 0 0 2\n";

    #[test]
    fn orthogonal_scaled_sorted_by_id() {
        let p = tmp("o.dump", &format!("{ORTHO}{}", ORTHO.replace("\n100\n", "\n200\n")));
        let idx = scan(&p).unwrap();
        assert_eq!(idx.frames.len(), 2);
        assert_eq!(idx.frames[1].step, 200);
        assert_eq!(idx.frames[1].line, 13);
        let f = read_frame(&idx, 1).unwrap();
        assert_eq!(f.ids.as_deref(), Some(&[1, 2, 3][..]));
        assert_eq!(f.types.as_deref(), Some(&[1, 1, 2][..]));
        assert_eq!(f.matrix, [[10.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 6.0]]);
        let want = [1.0, 0.0, 2.3, 0.0, -1.0, 0.5, 5.0, 1.5, 3.5];
        for (a, b) in f.positions.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn triclinic_bounds() {
        // lx=10, ly=8, lz=6, xy=2, xz=-1, yz=1.5, origin (0,0,0):
        // xlo_bound = 0 + min(0,2,-1,1) = -1, xhi_bound = 10 + max(0,2,-1,1) = 12
        let s = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS xy xz yz pp pp pp\n-1 12 2\n0 9.5 -1\n0 6 1.5\nITEM: ATOMS id type xs ys zs\n1 1 1 1 1\n";
        let idx = scan(&tmp("t.dump", s)).unwrap();
        let f = read_frame(&idx, 0).unwrap();
        assert_eq!(f.matrix, [[10.0, 2.0, -1.0], [0.0, 8.0, 1.5], [0.0, 0.0, 6.0]]);
        assert_eq!(f.origin, [0.0, 0.0, 0.0]);
        assert_eq!(f.positions, vec![11.0, 9.5, 6.0]);
    }

    #[test]
    fn errors_name_frame_and_line() {
        let trunc = &ORTHO[..ORTHO.len() - 10];
        let e = scan(&tmp("tr.dump", &format!("{ORTHO}{trunc}"))).unwrap_err().to_string();
        assert!(e.contains("frame 1") && e.contains("line 24") && e.contains("truncated"), "{e}");
        let e = scan(&tmp("e.dump", "")).unwrap_err().to_string();
        assert!(e.contains("no frame"), "{e}");
        let e = scan(&tmp("m.dump", &ORTHO.replace("ITEM: NUMBER OF ATOMS\n", ""))).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("NUMBER OF ATOMS"), "{e}");
        let e = scan(&tmp("c.dump", &ORTHO.replace("xs ys zs", "a b c"))).unwrap_err().to_string();
        assert!(e.contains("line 9") && e.contains("no position columns"), "{e}");
        let e = scan(&tmp("b.dump", &ORTHO.replace("-1 4", "4 -1"))).unwrap_err().to_string();
        assert!(e.contains("line 5") && e.contains("not positive"), "{e}");
        let idx = scan(&tmp("n.dump", &ORTHO.replace("0.1 0.2", "0.1 nan"))).unwrap();
        let e = read_frame(&idx, 0).unwrap_err().to_string();
        assert!(e.contains("frame 0") && e.contains("line 11") && e.contains("non-finite"), "{e}");
        let e = scan(&tmp("ch.dump", &format!("{ORTHO}{}", ORTHO.replace("ATOMS\n3", "ATOMS\n2").replace("1 0 0 0 2\n", ""))))
            .unwrap_err()
            .to_string();
        assert!(e.contains("frame 1") && e.contains("line 16") && e.contains("frame 0 has 3"), "{e}");
    }

    #[test]
    fn chunks_cover_every_line() {
        let body: String = (0..1000).map(|i| format!("{i} 1 0.5 0.5 0.5\n")).collect();
        let c = chunks(body.as_bytes(), 100);
        assert_eq!(c.first().map(|c| c.0), Some(0));
        assert_eq!(c.last().map(|c| c.1), Some(body.len()));
        let total: usize = c.iter().map(|&(s, e, _)| body.as_bytes()[s..e].iter().filter(|&&b| b == b'\n').count()).sum();
        assert_eq!(total, 1000);
        for w in c.windows(2) {
            assert_eq!(w[0].1, w[1].0);
            assert_eq!(w[1].2 - w[0].2, body.as_bytes()[w[0].0..w[0].1].iter().filter(|&&b| b == b'\n').count());
        }
    }
}
