"""Extended XYZ: ``N``, a comment line of ``key=value`` pairs, N atom lines, repeated.

Keys used (case-insensitive): ``Lattice="ax ay az bx by bz cx cy cz"`` (box vectors, required:
glassrs works with periodic boxes), ``Origin="ox oy oz"`` (optional), ``Properties=
name:type:ncols:…`` (default ``species:S:1:pos:R:3``; recognised names: ``species``/``element``,
``pos``/``positions``, ``id``, ``vel``/``velo``/``velocities``, ``unwrapped``/``unwrapped_pos``,
``image``/``images``), ``Time=``, ``Step=``/``timestep=``. Other keys and columns are ignored.

The file is indexed lazily (one pass over the lines records the byte offset of each frame);
atom lines are split by NumPy. A gzip-compressed file (recognised by its first bytes) is read as
a stream: frames read in increasing order decompress it once, a frame before the last one read
decompresses from the start again (decompress the file for repeated random access).
"""

from __future__ import annotations

import io
import shlex

import numpy as np

from glassrs.box import Box
from glassrs.io._common import SpeciesArg, SpeciesMap
from glassrs.trajectory import Frame

_ALIASES = {
    "species": "species", "element": "species", "pos": "pos", "positions": "pos", "id": "id",
    "vel": "vel", "velo": "vel", "velocities": "vel", "unwrapped": "unwrapped",
    "unwrapped_pos": "unwrapped", "image": "image", "images": "image",
}


def _err(path, frame, line, msg):
    from glassrs.errors import FormatError
    where = f"{path}" + (f", frame {frame}" if frame is not None else "") + (f", line {line}" if line else "")
    return FormatError(f"{where}: {msg}", path, frame, line or None)


_MAX_LINE = 1 << 20


def _open(path: str):
    """The file, or its decompressed stream for a gzip file (recognised by its first bytes)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"\x1f\x8b"):
        import gzip
        return gzip.open(path, "rb")
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise _err(path, None, None, "zstd-compressed extended XYZ is not supported: decompress it (unzstd); "
                                     "gzip-compressed files and compressed LAMMPS dumps are read directly")
    return open(path, "rb")


def _readline(fh, path, frame, line) -> bytes:
    """One line, at most 1 MiB (a file without newlines — binary data, /dev/zero — is an error,
    not an unbounded read)."""
    raw = fh.readline(_MAX_LINE + 1)
    if len(raw) > _MAX_LINE:
        raise _err(path, frame, line, f"line longer than {_MAX_LINE} bytes without a newline: not an extended-XYZ "
                                      f"text file?{_hint(raw, frame)}")
    return raw


def _hint(raw: bytes, frame) -> str:
    """A hint for files that are not plain text dumps: compressed, with a byte-order mark, CR-only."""
    if frame not in (0, None):
        return ""
    if raw.startswith(b"\x1f\x8b"):
        return " (the file is gzip-compressed: name it *.gz or decompress it)"
    if raw.startswith(b"\x28\xb5\x2f\xfd"):
        return " (the file is zstd-compressed: name it *.zst or decompress it)"
    if raw.startswith(b"\xef\xbb\xbf"):
        return " (the file starts with a UTF-8 byte-order mark: remove it, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//')"
    if b"\r" in raw and b"\n" not in raw[:-1]:
        return " (lines end with CR only: convert them with tr '\\r' '\\n')"
    return ""


def parse_comment(text: str) -> dict[str, str]:
    """key=value pairs of an extended-XYZ comment line (keys lower-cased; quoted values)."""
    try:
        parts = shlex.split(text, posix=True)
    except ValueError as e:
        raise ValueError(f"unbalanced quotes in comment line ({e})") from None
    out = {}
    for p in parts:
        if "=" in p:
            k, v = p.split("=", 1)
            out[k.strip().lower()] = v.strip()
        else:
            out[p.strip().lower()] = "T"
    return out


def parse_properties(spec: str) -> tuple[dict[str, tuple[int, int, str]], int]:
    """``name:type:ncols:…`` → ({canonical name: (first column, ncols, type)}, total columns)."""
    f = spec.split(":")
    if len(f) % 3:
        raise ValueError(f"Properties='{spec}' is not a list of name:type:ncols triplets")
    cols, c = {}, 0
    for k in range(0, len(f), 3):
        name, typ, ncol = f[k], f[k + 1].upper(), f[k + 2]
        if typ not in ("S", "R", "I", "L") or not ncol.isdigit() or int(ncol) < 1:
            raise ValueError(f"Properties='{spec}': bad triplet '{name}:{typ}:{ncol}'")
        canon = _ALIASES.get(name.lower())
        if canon and canon not in cols:
            cols[canon] = (c, int(ncol), typ)
        c += int(ncol)
    return cols, c


class XyzSource:
    """A :class:`~glassrs.trajectory.FrameSource` over an extended-XYZ file."""

    format = "extxyz"

    def __init__(self, path: str, species: SpeciesArg = None, model=None, on_truncated: str = "error"):
        self.path = path
        self.dropped_frames = 0
        offsets, lines, steps, times, counts = [], [], [], [], []
        drop = on_truncated == "drop"

        def truncated(k, line, msg):
            """The last frame is unfinished: drop it (on_truncated='drop') or raise."""
            if drop:
                self.dropped_frames, self.dropped_reason = 1, msg
                return None
            return _err(path, k, line, f"{msg} (pass on_truncated='drop' to glassrs.read to open the complete "
                                       "frames before it)")

        with _open(path) as fh:
            self.compression = "gzip" if not isinstance(fh, io.BufferedReader) else "none"
            line_no = 0
            while True:
                off = fh.tell()
                raw = _readline(fh, path, len(offsets), line_no + 1)
                if not raw:
                    break
                line_no += 1
                if not raw.strip():
                    continue
                k = len(offsets)
                try:
                    n = int(raw)
                    if n <= 0:
                        raise ValueError
                except ValueError:
                    raise _err(path, k, line_no, f"expected the number of atoms (a positive integer), found "
                                                 f"'{raw.decode(errors='replace').strip()[:80]}'{_hint(raw, k)}") from None
                if counts and n != counts[0]:
                    raise _err(path, k, line_no, f"frame has {n} atoms but frame 0 has {counts[0]}; glassrs "
                                                 "needs the same particles in every frame")
                comment = _readline(fh, path, k, line_no + 1)
                if not comment:
                    e = truncated(k, line_no + 1, "truncated frame: the file ends before the comment line")
                    if e is None:
                        break
                    raise e
                try:
                    kv = parse_comment(comment.decode(errors="replace"))
                except ValueError as e:
                    raise _err(path, k, line_no + 1, str(e)) from None
                got, last = 0, comment
                for _ in range(n):
                    row = _readline(fh, path, k, line_no + 2 + got)
                    if not row:
                        break
                    got, last = got + 1, row
                if got < n or not last.endswith(b"\n"):
                    if got < n:
                        why = f"truncated frame: expected {n} atom lines, the file ends after {got}"
                    else:
                        try:
                            ncol = parse_properties(kv.get("properties", "species:S:1:pos:R:3"))[1]
                        except ValueError:
                            ncol = None
                        ntok = len(last.split())
                        why = (f"truncated frame: the file ends inside this atom line ({ntok} of {ncol} values"
                               + ("" if ncol is not None and ntok < ncol else
                                  ", no newline after the last one: it may be cut") + ")")
                    e = truncated(k, line_no + 2 + got - (1 if got == n else 0), why)
                    if e is None:
                        break
                    raise e
                offsets.append(off)
                lines.append(line_no)
                counts.append(n)
                st = kv.get("step", kv.get("timestep"))
                try:
                    stv = int(float(st)) if st is not None else -1
                    if not -1 <= stv < 2**63:
                        raise OverflowError
                    steps.append(stv)
                    times.append(float(kv["time"]) if "time" in kv else np.nan)
                except (ValueError, OverflowError):
                    raise _err(path, k, line_no + 1, f"Step/Time values must be numbers (Step a non-negative "
                                                     f"integer below 2^63), got Step={st!r}, "
                                                     f"Time={kv.get('time')!r}") from None
                line_no += 1 + n
        if not offsets:
            raise _err(path, None, None, "the file contains no frame; is it empty?")
        self._offsets, self._lines, self._n = offsets, lines, counts[0]
        self.steps = np.asarray(steps, dtype=np.int64)
        t = np.asarray(times)
        self.times = None if np.any(np.isnan(t)) else t
        self._species_arg = species
        self._model = model
        self._species: SpeciesMap | None = None
        self.columns: list[str] = []
        f0 = self.load(0)
        self._first = f0

    def __len__(self) -> int:
        return len(self._offsets)

    @property
    def species_map(self) -> SpeciesMap | None:
        return self._species

    def load(self, k: int) -> Frame:
        k = int(k)
        if k == 0 and getattr(self, "_first", None) is not None:
            f, self._first = self._first, None
            return f
        path, line0, n = self.path, self._lines[k], self._n
        if self.compression == "none":
            with open(path, "rb") as fh:
                fh.seek(self._offsets[k])
                fh.readline()
                comment = fh.readline().decode(errors="replace")
                body = [fh.readline() for _ in range(n)]
        else:
            # one decompressing stream kept open: frames read in increasing order decompress the
            # file once; a frame before the last one read starts over from the beginning
            fh = getattr(self, "_stream", None)
            if fh is None:
                fh = self._stream = _open(path)
            fh.seek(self._offsets[k])
            fh.readline()
            comment = fh.readline().decode(errors="replace")
            body = [fh.readline() for _ in range(n)]
        kv = parse_comment(comment)
        if "lattice" not in kv:
            raise _err(path, k, line0 + 1, "no Lattice=\"ax ay az bx by bz cx cy cz\" in the comment line; glassrs "
                                           "needs the periodic box")
        try:
            lat = np.array(kv["lattice"].split(), dtype=np.float64)
            origin = np.array(kv["origin"].split(), dtype=np.float64) if "origin" in kv else np.zeros(3)
        except ValueError:
            raise _err(path, k, line0 + 1, f"Lattice='{kv['lattice']}' must hold 9 numbers") from None
        if lat.size != 9 or origin.size != 3 or not np.all(np.isfinite(lat)) or not np.all(np.isfinite(origin)):
            raise _err(path, k, line0 + 1, f"Lattice='{kv['lattice']}' must hold 9 finite numbers (Origin 3)")
        m = lat.reshape(3, 3).T  # rows in the file are the vectors → columns
        if not np.linalg.det(m) > 0:
            raise _err(path, k, line0 + 1, f"Lattice vectors {lat.reshape(3, 3).tolist()} do not span a positive "
                                           "volume (need right-handed, non-degenerate vectors)")
        try:
            props, ncol = parse_properties(kv.get("properties", "species:S:1:pos:R:3"))
        except ValueError as e:
            raise _err(path, k, line0 + 1, str(e)) from None
        if "pos" not in props or props["pos"][1] != 3:
            raise _err(path, k, line0 + 1, f"Properties='{kv.get('properties')}' has no pos:R:3 column")
        if not self.columns:
            self.columns = [name for name in props]
        tok = b"".join(body).split()
        if len(tok) != n * ncol:  # find the offending line (cold path)
            rows = [r.split() for r in body]
            bad = next(i for i, r in enumerate(rows) if len(r) != ncol)
            if bad == n - 1 and not body[bad].endswith(b"\n") and k == len(self._offsets) - 1:
                raise _err(path, k, line0 + 2 + bad, f"truncated frame: the file ends inside this atom line "
                                                     f"({len(rows[bad])} of {ncol} values)")
            raise _err(path, k, line0 + 2 + bad, f"expected {ncol} values per atom line "
                                                 f"(Properties={kv.get('properties', 'species:S:1:pos:R:3')}), found "
                                                 f"{len(rows[bad])}: '{body[bad].decode(errors='replace').strip()[:80]}'")

        def block(name, dtype):
            c, w, _ = props[name]
            cols = []
            for j in range(c, c + w):
                col = tok[j::ncol]
                try:
                    cols.append(np.array(col, dtype=np.float64))
                except ValueError:
                    for i, t in enumerate(col):
                        try:
                            float(t)
                        except ValueError:
                            raise _err(path, k, line0 + 2 + i, f"column '{name}': expected a number, found "
                                                               f"'{t.decode(errors='replace')}'") from None
                    raise
            v = np.column_stack(cols)
            if not np.all(np.isfinite(v)):
                i = int(np.flatnonzero(~np.all(np.isfinite(v), axis=1))[0])
                raise _err(path, k, line0 + 2 + i, f"column '{name}' has a non-finite value {v[i].tolist()}")
            if dtype is np.int64:
                if np.any(v != np.round(v)):
                    i = int(np.flatnonzero(np.any(v != np.round(v), axis=1))[0])
                    raise _err(path, k, line0 + 2 + i, f"column '{name}' must hold integers, found {v[i].tolist()}")
                v = v.astype(np.int64)
            return v

        pos = block("pos", np.float64)
        if "species" in props:
            labels = [t.decode() for t in tok[props["species"][0]::ncol]]
        else:
            labels = ["1"] * n
        if self._species is None:
            distinct = sorted(set(labels))
            self._species = SpeciesMap(distinct, self._species_arg, what="species", path=path,
                                       positional=lambda j: distinct[j] if j < len(distinct) else j,
                                       model=self._model)
        names = sorted(set(labels))
        code = dict(zip(names, self._species.indices(names, k).tolist()))
        types = np.fromiter((code[lab] for lab in labels), dtype=np.int64, count=n)
        ids = block("id", np.int64)[:, 0] if "id" in props else None
        vel = block("vel", np.float64) if "vel" in props and props["vel"][1] == 3 else None
        unw = block("unwrapped", np.float64) if "unwrapped" in props and props["unwrapped"][1] == 3 else None
        img = block("image", np.int64) if "image" in props and props["image"][1] == 3 else None
        if ids is not None and not np.all(np.diff(ids) > 0):
            order = np.argsort(ids, kind="stable")
            d = np.flatnonzero(np.diff(ids[order]) == 0)
            if d.size:
                raise _err(path, k, line0 + 2 + int(order[d[0] + 1]), f"duplicate atom id {ids[order[d[0]]]}")
            ids, pos, types = ids[order], pos[order], types[order]
            vel = None if vel is None else vel[order]
            unw = None if unw is None else unw[order]
            img = None if img is None else img[order]
        step = int(self.steps[k])
        time = float(self.times[k]) if self.times is not None else None
        return Frame(positions=pos, types=types, box=Box(m, origin), species=self._species.names,
                     step=None if step < 0 else step, time=time, ids=ids, images=img, unwrapped=unw,
                     velocities=vel)
