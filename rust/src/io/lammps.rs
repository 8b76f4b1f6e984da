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
    /// How the file is stored (compressed files are read as a stream: see [`read_frame_seq`]).
    pub compression: Compression,
    /// Unfinished frames left out at the end of the file (`scan_opts(.., true)`): 0 or 1.
    pub dropped: usize,
    pub dropped_reason: Option<String>,
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
    Error::file(file, &e)
}

/// How a dump file is stored; recognised from its first bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn of(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A zstd stream of one or more frames (pure-Rust decoder).
struct ZstdFrames<R: BufRead> {
    dec: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else { return Ok(0) };
            let k = dec.read(buf)?;
            if k > 0 || buf.is_empty() {
                return Ok(k);
            }
            // this frame is finished: another one may follow
            let (mut src, mut fd) = self.dec.take().map(|d| d.into_parts()).ok_or_else(|| std::io::Error::other("zstd"))?;
            if src.fill_buf()?.is_empty() {
                return Ok(0);
            }
            fd.init(&mut src).map_err(std::io::Error::other)?;
            self.dec = Some(ruzstd::decoding::StreamingDecoder::new_with_decoder(src, fd).map_err(std::io::Error::other)?);
        }
    }
}

/// The decompressed bytes of `path` as a stream (the file itself when not compressed).
fn open_stream(path: &str, c: Compression) -> Result<Box<dyn Read + Send>> {
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    let r = BufReader::with_capacity(1 << 16, f);
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => {
            let dec = ruzstd::decoding::StreamingDecoder::new(r)
                .map_err(|e| ferr(path, None, None, format!("not a readable zstd stream ({e})")))?;
            Box::new(ZstdFrames { dec: Some(dec) })
        }
    })
}

/// A decompressing reader positioned at byte `pos` of the decompressed stream: sequential reads
/// of a compressed dump continue from the last frame read instead of starting over.
pub struct StreamPos {
    r: Box<dyn Read + Send>,
    pos: u64,
}

/// The longest line accepted (a file without newlines — binary data, /dev/zero, CR-only line
/// ends — is an error, not an unbounded allocation).
pub const MAX_LINE: usize = 1 << 20;

/// Why a file that is not a plain LAMMPS text dump failed, for the message of a frame-0 error.
fn hint(head: &[u8]) -> &'static str {
    if head.starts_with(b"BZh") {
        " (the file is bzip2-compressed: decompress it; gzip and zstd dumps are read directly)"
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        " (the file is xz-compressed: decompress it; gzip and zstd dumps are read directly)"
    } else if head.starts_with(&[0xef, 0xbb, 0xbf]) {
        " (the file starts with a UTF-8 byte-order mark: remove it, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)"
    } else if head.contains(&b'\r') && !head.contains(&b'\n') {
        " (its lines end with CR only: convert them, e.g. tr '\\r' '\\n' < FILE > FILE.unix)"
    } else if head.contains(&0) {
        " (the file holds binary data, not a LAMMPS text dump)"
    } else {
        ""
    }
}

/// Buffered line reader that tracks byte offsets and line numbers.
struct Lines<R: BufRead> {
    r: R,
    /// Byte offset of the next unread byte.
    pos: u64,
    /// Lines consumed so far (the next line has number `line + 1`).
    line: usize,
    buf: Vec<u8>,
    /// The bytes after the last newline consumed by `skip` (a partial last line at EOF).
    tail: Vec<u8>,
    /// The last byte consumed.
    last: Option<u8>,
}

impl<R: BufRead> Lines<R> {
    fn new(r: R) -> Self {
        Lines { r, pos: 0, line: 0, buf: Vec::new(), tail: Vec::new(), last: None }
    }

    /// Read the next line into `self.buf` (without the line terminator). Returns the line's
    /// start offset and 1-based number, or `None` at end of file. A line longer than
    /// [`MAX_LINE`] is an `InvalidData` error.
    fn next(&mut self) -> std::io::Result<Option<(u64, usize)>> {
        self.buf.clear();
        let start = self.pos;
        let k = (&mut self.r).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut self.buf)?;
        if k == 0 {
            return Ok(None);
        }
        if k > MAX_LINE && self.buf.last() != Some(&b'\n') {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "long line"));
        }
        self.pos += k as u64;
        self.line += 1;
        self.last = self.buf.last().copied();
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some((start, self.line)))
    }

    /// True when no byte is left.
    fn at_eof(&mut self) -> std::io::Result<bool> {
        Ok(self.r.fill_buf()?.is_empty())
    }

    /// Skip `n` lines; returns how many were skipped (fewer than `n` only at end of file,
    /// where a last line without a terminating newline counts as a line).
    fn skip(&mut self, n: usize) -> std::io::Result<usize> {
        let mut done = 0usize;
        // bytes consumed since the last newline (a partial last line)
        let mut partial = false;
        self.tail.clear();
        while done < n {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                if partial {
                    done += 1;
                }
                break;
            }
            let mut consumed = 0usize;
            // count newlines 4 KiB at a time (vectorised); find the n-th one byte by byte
            for chunk in buf.chunks(4096) {
                let c = chunk.iter().filter(|&&b| b == b'\n').count();
                if done + c < n {
                    done += c;
                    consumed += chunk.len();
                    partial = if c > 0 { chunk[chunk.len() - 1] != b'\n' } else { partial || !chunk.is_empty() };
                    continue;
                }
                for (i, &b) in chunk.iter().enumerate() {
                    if b == b'\n' {
                        done += 1;
                        if done == n {
                            consumed += i + 1;
                            break;
                        }
                    }
                }
                partial = false;
                break;
            }
            let eaten = &buf[..consumed];
            match eaten.iter().rposition(|&b| b == b'\n') {
                Some(p) => {
                    self.tail.clear();
                    self.tail.extend_from_slice(&eaten[p + 1..]);
                }
                None if self.tail.len() < 4096 => self.tail.extend_from_slice(&eaten[..eaten.len().min(4096)]),
                None => {}
            }
            if consumed > 0 {
                self.last = Some(eaten[consumed - 1]);
            }
            self.r.consume(consumed);
            self.pos += consumed as u64;
        }
        self.line += done;
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

/// Whitespace-separated tokens (any byte ≤ b' ' separates, as in the atom-line parser).
fn tokens(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c <= b' ').filter(|t| !t.is_empty())
}

/// Exact powers of ten representable in f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
];

/// Decimal number → f64, correctly rounded. Plain decimals with a mantissa below 2⁵³ and a
/// decimal exponent within ±22 (what `%g`-style output produces) take Clinger's fast path —
/// one exact integer, one exact power of ten, one correctly rounded IEEE operation; anything
/// else (long mantissas, nan, inf, …) goes to the standard library parser.
#[inline]
fn parse_f64(t: &[u8]) -> Option<f64> {
    fast_f64(t).or_else(|| std::str::from_utf8(t).ok()?.parse::<f64>().ok())
}

#[inline]
fn fast_f64(t: &[u8]) -> Option<f64> {
    match scan_dec(t, 0) {
        Some((v, e)) if e == t.len() => Some(v),
        _ => None,
    }
}

/// 10^k as integers, k = 0..=19.
const POW10_U64: [u64; 20] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
    10_000_000_000_000_000_000,
];

/// Value of 8 decimal digit values (0..=9, one per byte, the first digit in the lowest byte)
/// — D. Lemire's SWAR reduction: pairs, then quadruples, then the eight.
#[inline(always)]
fn swar8(d: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let d = d.wrapping_mul(10).wrapping_add(d >> 8);
    ((d & MASK).wrapping_mul(MUL1).wrapping_add(((d >> 16) & MASK).wrapping_mul(MUL2))) >> 32
}

/// The run of decimal digits starting at `b[i]`: (value mod 2⁶⁴, number of digits). Eight
/// bytes at a time where the slice allows; callers reject runs longer than 19 digits.
#[inline(always)]
fn digit_run(b: &[u8], mut i: usize) -> (u64, usize) {
    let start = i;
    let mut v: u64 = 0;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let d = u64::from_le_bytes(w).wrapping_sub(0x3030_3030_3030_3030);
        // high bit set in every byte that is not a digit (below '0' wraps, above '9' carries)
        let nondigit = (d | d.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
        if nondigit == 0 {
            v = v.wrapping_mul(100_000_000).wrapping_add(swar8(d));
            i += 8;
            if i - start > 19 {
                return (v, i - start);
            }
            continue;
        }
        let k = (nondigit.trailing_zeros() / 8) as usize;
        if k > 0 {
            // move the k digits to the top bytes: the low bytes become leading zeros
            v = v.wrapping_mul(POW10_U64[k]).wrapping_add(swar8(d << (8 * (8 - k))));
        }
        return (v, i + k - start);
    }
    while i < b.len() {
        let c = b[i].wrapping_sub(b'0');
        if c > 9 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(c as u64);
        i += 1;
    }
    (v, i - start)
}

/// Clinger fast path on the number starting at `b[i]`: Some((value, end)) when it is a plain
/// decimal with mantissa < 2⁵³ and decimal exponent within ±22 that ends at a byte ≤ b' ' (or
/// the end of `b`); None otherwise (the caller then falls back to the full parser).
#[inline(always)]
fn scan_dec(b: &[u8], mut i: usize) -> Option<(f64, usize)> {
    let n = b.len();
    let neg = scan_sign(b, &mut i);
    let (mut mant, nint) = digit_run(b, i);
    i += nint;
    let mut ndig = nint;
    let mut exp: i64 = 0;
    if i < n && b[i] == b'.' {
        i += 1;
        let (frac, nfrac) = digit_run(b, i);
        if ndig + nfrac > 19 {
            return None;
        }
        i += nfrac;
        mant = mant.wrapping_mul(POW10_U64[nfrac]).wrapping_add(frac);
        ndig += nfrac;
        exp = -(nfrac as i64);
    }
    // more than 19 digits may have wrapped the mantissa: leave it to the full parser
    if ndig == 0 || ndig > 19 {
        return None;
    }
    if i < n && (b[i] | 0x20) == b'e' {
        i += 1;
        let eneg = scan_sign(b, &mut i);
        let e0 = i;
        let mut e: i64 = 0;
        while i < n {
            let c = b[i].wrapping_sub(b'0');
            if c > 9 || e > 10_000 {
                break;
            }
            e = e * 10 + c as i64;
            i += 1;
        }
        if i == e0 {
            return None;
        }
        exp += if eneg { -e } else { e };
    }
    if (i < n && b[i] > b' ') || mant > (1u64 << 53) || exp.abs() > 22 {
        return None;
    }
    let v = mant as f64;
    let r = if exp >= 0 { v * POW10[exp as usize] } else { v / POW10[(-exp) as usize] };
    Some((if neg { -r } else { r }, i))
}

/// An optional sign at `b[i]`: true for '-'; advances `i` past a '-' or '+'.
#[inline(always)]
fn scan_sign(b: &[u8], i: &mut usize) -> bool {
    match b.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    }
}

/// An integer of at most 18 digits starting at `b[i]` and ending at a byte ≤ b' ' (or the end).
#[inline(always)]
fn scan_int(b: &[u8], mut i: usize) -> Option<(i64, usize)> {
    let n = b.len();
    let neg = scan_sign(b, &mut i);
    let d0 = i;
    let mut v: i64 = 0;
    while i < n {
        let c = b[i].wrapping_sub(b'0');
        if c > 9 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(c as i64);
        i += 1;
    }
    if i == d0 || i - d0 > 18 || (i < n && b[i] > b' ') {
        return None;
    }
    Some((if neg { -v } else { v }, i))
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
/// An unfinished last frame is an error; see [`scan_opts`].
pub fn scan(path: &str) -> Result<DumpIndex> {
    scan_opts(path, false)
}

/// As [`scan`]; with `drop_truncated` an unfinished last frame (the file ends inside its header,
/// its atom lines, or its last line — no final newline) is left out and counted in
/// [`DumpIndex::dropped`] instead of being an error. gzip and zstd files (recognised by their
/// first bytes) are decompressed as a stream.
pub fn scan_opts(path: &str, drop_truncated: bool) -> Result<DumpIndex> {
    let mut head = [0u8; 4096];
    let nhead = {
        let mut f = File::open(path).map_err(|e| io_err(path, e))?;
        let mut got = 0;
        loop {
            match f.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(k) => {
                    got += k;
                    if got == head.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(path, e)),
            }
        }
        got
    };
    let compression = Compression::of(&head[..nhead]);
    let out = scan_stream(path, compression, drop_truncated);
    match out {
        Err(Error::Format { file, frame, line, msg }) if frame.unwrap_or(0) == 0 => {
            let h = if compression == Compression::None { hint(&head[..nhead]) } else { "" };
            Err(Error::Format { file, frame, line, msg: format!("{msg}{h}") })
        }
        other => other,
    }
}

#[allow(unused_assignments)] // `lno` tracks the last header line for the messages
fn scan_stream(path: &str, compression: Compression, drop_truncated: bool) -> Result<DumpIndex> {
    let plain_len = if compression == Compression::None {
        Some(std::fs::metadata(path).map_err(|e| io_err(path, e))?.len())
    } else {
        None
    };
    let stream = open_stream(path, compression)?;
    let mut rd = Lines::new(BufReader::with_capacity(1 << 20, stream));
    let mut frames: Vec<FrameInfo> = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut layout: Option<Layout> = None;
    let mut dropped: Option<String> = None;
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::InvalidData && e.to_string() == "long line" {
            return ferr(path, None, None, format!("a line is longer than {MAX_LINE} bytes without a newline: not a LAMMPS text dump?"));
        }
        if compression != Compression::None && e.kind() != std::io::ErrorKind::PermissionDenied {
            return ferr(path, None, None, format!("the {compression:?} stream cannot be decompressed ({e}); is the file complete?").replace("Gzip", "gzip").replace("Zstd", "zstd"));
        }
        io_err(path, e)
    };
    // an unfinished last frame: stop here (drop) or say so
    let cut_note = "; pass on_truncated='drop' to glassrs.read to open the complete frames before it";

    'frames: loop {
        let k = frames.len();
        let fe = |line: usize, msg: String| ferr(path, Some(k), Some(line), msg);
        // skip blank lines between frames
        let (offset, first_line) = loop {
            match rd.next().map_err(io)? {
                None => break 'frames,
                Some(p) if !trim(&rd.buf).is_empty() => break p,
                Some(_) => {}
            }
        };
        macro_rules! truncated {
            ($line:expr, $msg:expr) => {{
                let m: String = $msg;
                if drop_truncated && !frames.is_empty() {
                    dropped = Some(m);
                    break 'frames;
                }
                return Err(blame_previous(path, &frames, compression, fe($line, format!("{m}{cut_note}"))));
            }};
        }
        // optional ITEM: UNITS / ITEM: TIME before ITEM: TIMESTEP
        let mut time = None;
        let mut lno = first_line;
        loop {
            if is_item(&rd.buf, "TIMESTEP") {
                break;
            } else if is_item(&rd.buf, "UNITS") || is_item(&rd.buf, "TIME") {
                let is_time = is_item(&rd.buf, "TIME");
                let Some((_, l)) = rd.next().map_err(io)? else {
                    truncated!(lno + 1, "file ends inside a frame header".into());
                };
                if is_time {
                    time = Some(parse_f64(trim(&rd.buf)).filter(|t| t.is_finite()).ok_or_else(|| {
                        fe(l, format!("expected the time (a number) after 'ITEM: TIME', found '{}'", text(&rd.buf)))
                    })?);
                }
                match rd.next().map_err(io)? {
                    Some((_, l)) => lno = l,
                    None => truncated!(l + 1, "file ends inside a frame header".into()),
                }
            } else {
                return Err(blame_previous(
                    path,
                    &frames,
                    compression,
                    fe(lno, format!("expected 'ITEM: TIMESTEP', found '{}'", text(&rd.buf))),
                ));
            }
        }
        // the header proper: fixed sequence of lines
        macro_rules! next_line {
            ($what:expr) => {{
                match rd.next().map_err(io)? {
                    Some((_, l)) => {
                        lno = l;
                        l
                    }
                    None => truncated!(lno + 1, format!("file ends inside a frame header (expected {})", $what)),
                }
            }};
        }
        let l = next_line!("the timestep");
        let step = parse_i64(trim(&rd.buf))
            .ok_or_else(|| fe(l, format!("expected the timestep (an integer) after 'ITEM: TIMESTEP', found '{}'", text(&rd.buf))))?;
        let l = next_line!("'ITEM: NUMBER OF ATOMS'");
        if !is_item(&rd.buf, "NUMBER OF ATOMS") {
            return Err(fe(l, format!("expected 'ITEM: NUMBER OF ATOMS', found '{}'", text(&rd.buf))));
        }
        let l = next_line!("the number of atoms");
        let n = parse_i64(trim(&rd.buf))
            .filter(|&n| n >= 0)
            .ok_or_else(|| fe(l, format!("expected the number of atoms (a non-negative integer), found '{}'", text(&rd.buf))))?
            as usize;
        if n == 0 {
            return Err(fe(l, "frame has no atoms".into()));
        }
        if let Some(len) = plain_len {
            // every atom line takes at least 2 bytes: refuse absurd counts before reading on
            if n as u64 > len / 2 {
                return Err(fe(l, format!("NUMBER OF ATOMS = {n} cannot be right: the file has only {len} bytes")));
            }
        }
        if let Some(f0) = frames.first() {
            if n != f0.n {
                return Err(fe(
                    l,
                    format!("frame has {n} atoms but frame 0 has {}; glassrs needs the same particles in every frame", f0.n),
                ));
            }
        }
        let l = next_line!("'ITEM: BOX BOUNDS'");
        if !is_item(&rd.buf, "BOX BOUNDS") {
            return Err(fe(l, format!("expected 'ITEM: BOX BOUNDS', found '{}'", text(&rd.buf))));
        }
        let box_line = l;
        let t = trim(&rd.buf);
        let style = t[t.windows(6).position(|w| w == b"BOUNDS").map_or(t.len(), |p| p + 6)..].to_vec();
        let mut blines: [Vec<u8>; 3] = Default::default();
        for bl in blines.iter_mut() {
            let l = next_line!("a box line");
            if is_item(&rd.buf, "") {
                return Err(fe(l, format!("expected 3 box lines after 'ITEM: BOX BOUNDS', found '{}'", text(&rd.buf))));
            }
            *bl = rd.buf.clone();
        }
        let (matrix, origin) = parse_box(&blines, &style).map_err(|m| fe(box_line, m))?;
        let l = next_line!("'ITEM: ATOMS'");
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
            truncated!(body_line + got, format!("truncated frame (step {step}): expected {n} atom lines, the file ends after {got}"));
        }
        if rd.last != Some(b'\n') && rd.at_eof().map_err(io)? {
            let ncol = columns.as_ref().map_or(0, |c| c.len());
            let ntok = tokens(&rd.tail).count();
            let what = if ntok < ncol {
                format!("{ntok} of {ncol} values: '{}'", text(&rd.tail))
            } else {
                format!("no newline after its last value, which may be cut: '{}'", text(&rd.tail))
            };
            truncated!(body_line + n - 1, format!("truncated frame: the file ends inside this atom line ({what})"));
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
    if frames.is_empty() {
        return Err(ferr(path, None, None, "the file contains no frame (expected 'ITEM: TIMESTEP'); is it empty?"));
    }
    Ok(DumpIndex {
        path: path.to_string(),
        file_len: rd.pos,
        columns: columns.unwrap_or_default(),
        layout: layout.ok_or_else(|| ferr(path, None, None, "no ITEM: ATOMS line"))?,
        frames,
        compression,
        dropped: usize::from(dropped.is_some()),
        dropped_reason: dropped,
    })
}

/// A header error in frame k ≥ 1 is often a frame k − 1 with fewer atom lines than its
/// `NUMBER OF ATOMS` (its count swallowed the next header): blame that frame when one of its
/// "atom lines" is an `ITEM:` line (cold path: re-reads the previous frame's atom lines).
fn blame_previous(path: &str, frames: &[FrameInfo], compression: Compression, err: Error) -> Error {
    let Some(prev) = frames.last() else { return err };
    let k = frames.len() - 1;
    let body = match compression {
        Compression::None => {
            let mut body = vec![0u8; (prev.body_end - prev.body_start) as usize];
            let ok = File::open(path)
                .and_then(|mut f| f.seek(SeekFrom::Start(prev.body_start)).and_then(|_| f.read_exact(&mut body)));
            if ok.is_err() {
                return err;
            }
            body
        }
        _ => match read_stream_range(path, compression, prev.body_start, prev.body_end, &mut None) {
            Ok(b) => b,
            Err(_) => return err,
        },
    };
    for (r, line) in body.split(|&b| b == b'\n').enumerate() {
        if trim(line).starts_with(b"ITEM:") {
            return ferr(
                path,
                Some(k),
                Some(prev.body_line + r),
                format!(
                    "frame has fewer atom lines than its NUMBER OF ATOMS ({}): found '{}' after {r} atom lines",
                    prev.n,
                    text(line)
                ),
            );
        }
    }
    err
}

/// Bytes `start..end` of the decompressed stream of `path`, continuing from `cursor` when it is
/// at or before `start` (else starting over); `cursor` is left at `end`.
fn read_stream_range(path: &str, c: Compression, start: u64, end: u64, cursor: &mut Option<StreamPos>) -> Result<Vec<u8>> {
    let mut sp = match cursor.take() {
        Some(sp) if sp.pos <= start => sp,
        _ => StreamPos { r: open_stream(path, c)?, pos: 0 },
    };
    let err = |e: std::io::Error| ferr(path, None, None, format!("the compressed stream cannot be read ({e}); did the file change?"));
    let skipped = std::io::copy(&mut (&mut sp.r).take(start - sp.pos), &mut std::io::sink()).map_err(err)?;
    if skipped != start - sp.pos {
        return Err(ferr(path, None, None, "the file became shorter after it was indexed (was it overwritten?); open it again"));
    }
    let mut body = vec![0u8; (end - start) as usize];
    sp.r.read_exact(&mut body).map_err(err)?;
    sp.pos = end;
    *cursor = Some(sp);
    Ok(body)
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
fn chunks(body: &[u8], target: usize, total_lines: usize) -> Vec<(usize, usize, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut line = 0usize;
    while start < body.len() {
        let mut end = (start + target).min(body.len());
        while end < body.len() && body[end - 1] != b'\n' {
            end += 1;
        }
        // the last chunk holds the remaining lines: no need to count them
        let lines = if end == body.len() {
            total_lines.saturating_sub(line)
        } else {
            body[start..end].iter().filter(|&&b| b == b'\n').count()
        };
        out.push((start, end, line, lines));
        line += lines;
        start = end;
    }
    out
}

/// What glassrs does with each column of an atom line.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Skip,
    Id,
    Type,
    Pos(usize),
    Unw(usize),
    Img(usize),
    Vel(usize),
}

fn roles(lay: &Layout) -> Vec<Role> {
    let mut r = vec![Role::Skip; lay.ncol];
    if let Some(c) = lay.id {
        r[c] = Role::Id;
    }
    if let Some(c) = lay.type_ {
        r[c] = Role::Type;
    }
    for k in 0..3 {
        r[lay.pos.0[k]] = Role::Pos(k);
        if let Some((u, _)) = lay.unwrapped {
            if u != lay.pos.0 {
                r[u[k]] = Role::Unw(k);
            }
        }
        if let Some(im) = lay.images {
            r[im[k]] = Role::Img(k);
        }
        if let Some(v) = lay.velocities {
            r[v[k]] = Role::Vel(k);
        }
    }
    r
}

#[allow(clippy::too_many_arguments)]
fn parse_chunk(
    text_: &[u8],
    n_expected: usize,
    first_line: usize,
    lay: &Layout,
    role: &[Role],
    ctx: &(dyn Fn(usize, String) -> Error + Sync),
    cols: &[String],
    cut_at_eof: bool,
) -> Result<Part> {
    let nlines = n_expected;
    let mut p = Part::default();
    if lay.id.is_some() {
        p.ids.reserve(nlines);
    }
    if lay.type_.is_some() {
        p.types.reserve(nlines);
    }
    p.pos.reserve(3 * nlines);
    let has_unw = role.iter().any(|r| matches!(r, Role::Unw(_)));
    if has_unw {
        p.unw.reserve(3 * nlines);
    }
    if lay.images.is_some() {
        p.img.reserve(3 * nlines);
    }
    if lay.velocities.is_some() {
        p.vel.reserve(3 * nlines);
    }
    let ncol = role.len();
    // the error for a line whose number of values is wrong (cold path)
    let count_error = |line: &[u8], lno: usize, last: bool| -> Error {
        let ntok = tokens(line).count();
        if cut_at_eof && last {
            return ctx(
                lno,
                format!("truncated frame: the file ends inside this atom line ({ntok} of {ncol} values: '{}')", text(line)),
            );
        }
        if trim(line).starts_with(b"ITEM:") {
            return ctx(lno, format!("expected an atom line, found '{}' (fewer atom lines than 'NUMBER OF ATOMS')", text(line)));
        }
        ctx(lno, format!("expected {ncol} values ({}), found {ntok}: '{}'", cols.join(" "), text(line)))
    };
    // one pass: tokens are runs of bytes > b' ' (space, tab, CR and other control bytes
    // separate values), lines end at '\n'
    let bytes = text_;
    let len = bytes.len();
    let mut k = 0usize;
    for r in 0..n_expected {
        let line_start = k;
        let lno = first_line + r;
        let line_of = || -> &[u8] {
            let e = bytes[line_start..].iter().position(|&b| b == b'\n').map_or(len, |p| line_start + p);
            &bytes[line_start..e]
        };
        let (mut pos, mut unw, mut vel) = ([0.0f64; 3], [0.0f64; 3], [0.0f64; 3]);
        let mut img = [0i64; 3];
        let (mut id, mut ty) = (0i64, 0i64);
        for (c, &rl) in role.iter().enumerate() {
            while k < len && bytes[k] <= b' ' && bytes[k] != b'\n' {
                k += 1;
            }
            let t0 = k;
            // fast paths: plain decimals and integers parsed in place
            match rl {
                Role::Pos(a) | Role::Unw(a) | Role::Vel(a) => {
                    if let Some((v, e)) = scan_dec(bytes, t0) {
                        match rl {
                            Role::Pos(_) => pos[a] = v,
                            Role::Unw(_) => unw[a] = v,
                            _ => vel[a] = v,
                        }
                        k = e;
                        continue;
                    }
                }
                Role::Id | Role::Type | Role::Img(_) => {
                    if let Some((v, e)) = scan_int(bytes, t0) {
                        match rl {
                            Role::Id => id = v,
                            Role::Type => ty = v,
                            Role::Img(a) => img[a] = v,
                            _ => {}
                        }
                        k = e;
                        continue;
                    }
                }
                Role::Skip => {}
            }
            while k < len && bytes[k] > b' ' {
                k += 1;
            }
            if k == t0 {
                return Err(count_error(line_of(), lno, r + 1 == n_expected));
            }
            let t = &bytes[t0..k];
            // a bad value on a line with the wrong number of values: report the count
            let fail = |msg: String| -> Error {
                let line = line_of();
                if tokens(line).count() != ncol {
                    count_error(line, lno, r + 1 == n_expected)
                } else {
                    ctx(lno, msg)
                }
            };
            let int = || -> Result<i64> {
                parse_i64(t).ok_or_else(|| fail(format!("column '{}': expected an integer, found '{}'", cols[c], text(t))))
            };
            let flt = || -> Result<f64> {
                match parse_f64(t) {
                    Some(v) if v.is_finite() => Ok(v),
                    Some(_) => Err(fail(format!("column '{}': non-finite value '{}'", cols[c], text(t)))),
                    None => Err(fail(format!("column '{}': expected a number, found '{}'", cols[c], text(t)))),
                }
            };
            match rl {
                Role::Skip => {}
                Role::Id => id = int()?,
                Role::Type => ty = int()?,
                Role::Pos(a) => pos[a] = flt()?,
                Role::Unw(a) => unw[a] = flt()?,
                Role::Img(a) => img[a] = int()?,
                Role::Vel(a) => vel[a] = flt()?,
            }
        }
        while k < len && bytes[k] != b'\n' {
            if bytes[k] > b' ' {
                return Err(count_error(line_of(), lno, r + 1 == n_expected));
            }
            k += 1;
        }
        k += 1; // the newline
        if lay.id.is_some() {
            p.ids.push(id);
        }
        if lay.type_.is_some() {
            p.types.push(ty);
        }
        p.pos.extend_from_slice(&pos);
        if has_unw {
            p.unw.extend_from_slice(&unw);
        }
        if lay.images.is_some() {
            p.img.extend_from_slice(&img);
        }
        if lay.velocities.is_some() {
            p.vel.extend_from_slice(&vel);
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

/// Parse the atom lines of frame `k` of an indexed dump. A compressed dump is decompressed
/// from its start up to the frame (see [`read_frame_seq`] for sequential reading).
pub fn read_frame(idx: &DumpIndex, k: usize) -> Result<DumpFrame> {
    read_frame_seq(idx, k, &mut None)
}

/// As [`read_frame`], reusing the decompressing reader in `cursor` for compressed dumps:
/// reading frames in increasing order decompresses the file once; going back starts over.
pub fn read_frame_seq(idx: &DumpIndex, k: usize, cursor: &mut Option<StreamPos>) -> Result<DumpFrame> {
    let body = read_body(idx, k, cursor)?;
    parse_body(&body, idx, k)
}

fn read_body(idx: &DumpIndex, k: usize, cursor: &mut Option<StreamPos>) -> Result<Vec<u8>> {
    let path = idx.path.as_str();
    let info = idx
        .frames
        .get(k)
        .ok_or_else(|| crate::invalid!("{path}: frame {k} out of range ({} frames)", idx.frames.len()))?;
    if idx.compression != Compression::None {
        return read_stream_range(path, idx.compression, info.body_start, info.body_end, cursor)
            .map_err(|e| match e {
                Error::Format { file, line: _, frame: _, msg } => Error::Format { file, line: Some(info.body_line), frame: Some(k), msg },
                e => e,
            });
    }
    let mut f = File::open(path).map_err(|e| io_err(path, e))?;
    let len_now = f.metadata().map_err(|e| io_err(path, e))?.len();
    if len_now < info.body_end {
        return Err(ferr(path, Some(k), Some(info.body_line), "the file became shorter after it was indexed (was it overwritten?); open it again"));
    }
    f.seek(SeekFrom::Start(info.body_start)).map_err(|e| io_err(path, e))?;
    let mut body = vec![0u8; (info.body_end - info.body_start) as usize];
    f.read_exact(&mut body).map_err(|e| io_err(path, e))?;
    Ok(body)
}

/// Parse frame `k` from its atom-line bytes (exposed for tests and in-memory use).
pub fn parse_body(body: &[u8], idx: &DumpIndex, k: usize) -> Result<DumpFrame> {
    let path = idx.path.as_str();
    let info = &idx.frames[k];
    let lay = &idx.layout;
    let n = info.n;
    let ctx = |line: usize, msg: String| ferr(path, Some(k), Some(line), msg);
    let role = roles(lay);
    // a last line without newline at the end of the file is probably a cut-off write
    let cut = info.body_end == idx.file_len && body.last().is_some_and(|&b| b != b'\n');
    // chunks of ~256 KiB are parsed in parallel (frames of a few thousand atoms are one chunk;
    // `read_frames` parallelises over frames)
    let mut parts: Vec<Result<Part>> = chunks(body, 1 << 18, n)
        .into_par_iter()
        .map(|(s, e, l0, nl)| {
            let last = e == body.len();
            parse_chunk(&body[s..e], nl, info.body_line + l0, lay, &role, &ctx, &idx.columns, cut && last)
        })
        .collect();
    let mut all = if parts.len() == 1 { parts.pop().unwrap_or_else(|| Ok(Part::default()))? } else { Part::default() };
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
            let dup = |a: usize, b: usize| {
                let (a, b) = (a.min(b), a.max(b));
                ctx(info.body_line + b, format!("duplicate atom id {} (also on line {})", idv[a], info.body_line + a))
            };
            let (lo, hi) = idv.iter().fold((i64::MAX, i64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            let order: Vec<usize> = if hi.checked_sub(lo) == Some(n as i64 - 1) {
                // ids are n distinct values in [lo, lo + n) iff no slot is hit twice: O(N) placement
                let mut slot = vec![usize::MAX; n];
                for (row, &v) in idv.iter().enumerate() {
                    let s = &mut slot[(v - lo) as usize];
                    if *s != usize::MAX {
                        return Err(dup(*s, row));
                    }
                    *s = row;
                }
                slot
            } else {
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_unstable_by_key(|&i| idv[i]);
                if let Some(w) = order.windows(2).find(|w| idv[w[0]] == idv[w[1]]) {
                    return Err(dup(w[0], w[1]));
                }
                order
            };
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

/// Parse several frames in parallel (order of `frames` kept). A compressed dump's atom lines
/// are decompressed in order through `cursor`, then parsed in parallel.
pub fn read_frames(idx: &DumpIndex, frames: &[usize], cursor: &mut Option<StreamPos>) -> Result<Vec<DumpFrame>> {
    if idx.compression == Compression::None {
        return frames.par_iter().map(|&k| read_frame(idx, k)).collect();
    }
    let mut order: Vec<usize> = (0..frames.len()).collect();
    order.sort_by_key(|&i| frames[i]);
    let mut bodies: Vec<Vec<u8>> = vec![Vec::new(); frames.len()];
    for &i in &order {
        bodies[i] = read_body(idx, frames[i], cursor)?;
    }
    bodies.par_iter().zip(frames.par_iter()).map(|(b, &k)| parse_body(b, idx, k)).collect()
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
    fn fast_float_parser_is_exact() {
        let cases = [
            "0", "-0", "1", "+2.5", "3.14159", "-0.000123", "1e5", "1.5E-7", "123456789012345678", "6.02214076e23",
            "2.2250738585072014e-308", "0.1", "0.30000000000000004", "9007199254740993", "1.7976931348623157e308",
            "4.9e-324", "12.", ".5", "-.5e+3", "8.6913499999999999e+00", "1e22", "1e23", "1e-22", "1e-23",
        ];
        for c in cases {
            let want: f64 = c.parse().unwrap();
            let got = parse_f64(c.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{c}");
        }
        // pseudo-random %g / %.17g renderings
        let mut s = 7u64;
        for _ in 0..20000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = f64::from_bits(s >> 2) % 1e6 * if s & 1 == 1 { -1.0 } else { 1.0 };
            for t in [format!("{v}"), format!("{v:.6}"), format!("{v:e}"), format!("{:.3e}", v * 1e-9)] {
                let want: f64 = t.parse().unwrap();
                assert_eq!(parse_f64(t.as_bytes()).map(f64::to_bits), Some(want.to_bits()), "{t}");
            }
        }
        // digit runs of every length around the 8-byte SWAR blocks, with and without padding
        let mut digits = String::new();
        for k in 1..=24 {
            digits.push(char::from(b'0' + ((k * 7) % 10) as u8));
            for t in [digits.clone(), format!("-{digits}"), format!("{digits}.5"), format!("0.{digits}"),
                      format!("{}.{}", &digits[..k / 2], &digits[k / 2..]), format!("{digits}e-3")] {
                let want: f64 = t.parse().unwrap();
                assert_eq!(parse_f64(t.as_bytes()).map(f64::to_bits), Some(want.to_bits()), "{t}");
                let padded = format!("{t} 12345678 x");
                let (v, end) = scan_dec(padded.as_bytes(), 0).unwrap_or((want, t.len()));
                assert_eq!((v.to_bits(), end), (want.to_bits(), t.len()), "{padded}");
            }
        }
        for bad in ["", "-", ".", "e5", "1e", "1.2.3", "1x", "abc", "--1"] {
            assert_eq!(parse_f64(bad.as_bytes()), bad.parse::<f64>().ok(), "{bad}");
        }
        assert!(parse_f64(b"nan").unwrap().is_nan() && parse_f64(b"-inf").unwrap().is_infinite());
    }

    #[test]
    fn ids_placed_sparse_and_dense() {
        let body = |ids: &[i64]| -> String { ids.iter().map(|i| format!("{i} 1 {i}.0 0 0\n")).collect() };
        for ids in [vec![3, 1, 2, 5, 4], vec![10, 7, 300, 8]] {
            let n = ids.len();
            let s = format!("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n0 400\n0 1\n0 1\nITEM: ATOMS id type x y z\n{}", body(&ids));
            let f = read_frame(&scan(&tmp(&format!("ids{n}.dump"), &s)).unwrap(), 0).unwrap();
            let mut sorted = ids.clone();
            sorted.sort();
            assert_eq!(f.ids.as_deref(), Some(&sorted[..]));
            let xs: Vec<f64> = f.positions.chunks(3).map(|p| p[0]).collect();
            assert_eq!(xs, sorted.iter().map(|&i| i as f64).collect::<Vec<_>>());
        }
        for (ids, a, b) in [(vec![3, 1, 3, 2], 10, 12), (vec![10, 7, 300, 7], 11, 13)] {
            let s = format!("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n4\nITEM: BOX BOUNDS pp pp pp\n0 400\n0 1\n0 1\nITEM: ATOMS id type x y z\n{}", body(&ids));
            let e = read_frame(&scan(&tmp("dup.dump", &s)).unwrap(), 0).unwrap_err().to_string();
            assert!(e.contains(&format!("line {b}:")) && e.contains(&format!("also on line {a})")), "{e}");
        }
    }

    #[test]
    fn large_frame_parsed_in_parallel_chunks() {
        // > 256 KiB of atom lines: several chunks, ids reversed, an error deep in a later chunk
        let n = 25000;
        let body: String = (0..n).map(|k| format!("{} 1 {}.25 0.5 -1e-3\n", n - k, k)).collect();
        let head = format!("ITEM: TIMESTEP\n5\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n0 30000\n0 1\n0 1\nITEM: ATOMS id type x y z\n");
        assert!(body.len() > 1 << 19);
        let idx = scan(&tmp("big.dump", &format!("{head}{body}"))).unwrap();
        let f = read_frame(&idx, 0).unwrap();
        assert_eq!(f.ids.as_ref().map(|v| v.len()), Some(n));
        for (k, p) in f.positions.chunks(3).enumerate() {
            // id k+1 sits on line k' with n − k' = k + 1
            assert_eq!(p, &[(n - 1 - k) as f64 + 0.25, 0.5, -1e-3]);
        }
        let bad = body.replacen("22000.25", "22000.2.5", 1);
        let idx = scan(&tmp("bigbad.dump", &format!("{head}{bad}"))).unwrap();
        let e = read_frame(&idx, 0).unwrap_err().to_string();
        assert!(e.contains(&format!("line {}:", 9 + 22001)) && e.contains("'22000.2.5'"), "{e}");
    }

    #[test]
    fn chunks_cover_every_line() {
        let body: String = (0..1000).map(|i| format!("{i} 1 0.5 0.5 0.5\n")).collect();
        let c = chunks(body.as_bytes(), 100, 1000);
        assert_eq!(c.first().map(|c| c.0), Some(0));
        assert_eq!(c.last().map(|c| c.1), Some(body.len()));
        assert_eq!(c.iter().map(|c| c.3).sum::<usize>(), 1000);
        for w in c.windows(2) {
            assert_eq!(w[0].1, w[1].0);
            assert_eq!(w[0].3, body.as_bytes()[w[0].0..w[0].1].iter().filter(|&&b| b == b'\n').count());
            assert_eq!(w[1].2, w[0].2 + w[0].3);
        }
    }

    mod props {
        use super::super::*;
        use super::{tmp, ORTHO};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn parse_f64_matches_std_on_formatted_numbers(bits in any::<u64>(), prec in 0usize..20) {
                let v = f64::from_bits(bits);
                prop_assume!(v.is_finite());
                for t in [format!("{v}"), format!("{v:e}"), format!("{v:.prec$}"), format!("{v:.prec$e}")] {
                    let want: f64 = t.parse().unwrap();
                    prop_assert_eq!(parse_f64(t.as_bytes()).map(f64::to_bits), Some(want.to_bits()), "{}", t);
                }
            }

            #[test]
            fn number_parsers_never_panic_and_agree_with_std(b in proptest::collection::vec(any::<u8>(), 0..40)) {
                let got = parse_f64(&b);
                let want = std::str::from_utf8(&b).ok().and_then(|s| s.parse::<f64>().ok());
                prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits));
                let _ = parse_i64(&b);
                let _ = scan_int(&b, 0);
                let _ = scan_dec(&b, 0);
            }

            #[test]
            fn decimal_strings_parse_exactly(int in "[+-]?[0-9]{0,22}", frac in "[0-9]{0,22}", e in proptest::option::of(-330i32..330)) {
                let mut t = int.clone();
                if !frac.is_empty() { t.push('.'); t.push_str(&frac); }
                if let Some(e) = e { t.push_str(&format!("e{e}")); }
                let want = t.parse::<f64>().ok();
                prop_assert_eq!(parse_f64(t.as_bytes()).map(f64::to_bits), want.map(f64::to_bits), "{}", t);
            }

            #[test]
            fn indexer_never_panics_on_mutated_dumps(
                edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
                drop in any::<bool>(),
            ) {
                let base = format!("{}{}", ORTHO, ORTHO.replace("\n100\n", "\n200\n"));
                let mut b = base.into_bytes();
                for (at, op, byte) in edits {
                    if b.is_empty() { b.push(b'1'); }
                    let i = at.index(b.len());
                    match op {
                        0 => b[i] = byte,
                        1 => { b.remove(i); }
                        2 => b.insert(i, byte),
                        _ => b.truncate(i),
                    }
                }
                let p = tmp("prop.dump", "");
                std::fs::write(&p, &b).unwrap();
                if let Ok(idx) = scan_opts(&p, drop) {
                    prop_assert!(!idx.frames.is_empty());
                    for k in 0..idx.frames.len() {
                        if let Ok(f) = read_frame(&idx, k) {
                            prop_assert_eq!(f.positions.len(), 3 * f.n);
                            prop_assert!(f.positions.iter().all(|v| v.is_finite()));
                        }
                    }
                }
            }
        }
    }

}
