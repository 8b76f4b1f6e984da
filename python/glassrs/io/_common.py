"""Helpers shared by the readers and writers: species naming, atomic writes, box forms."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterable, Iterator, Mapping, Sequence, Union

import numpy as np

from glassrs.box import Box
from glassrs.trajectory import Frame, Trajectory

SpeciesArg = Union[Sequence[str], Mapping, None]


def _numeric_label(lab) -> bool:
    return isinstance(lab, (int, np.integer)) or (isinstance(lab, str) and lab.isdigit())


def model_species(labels: Sequence, model, *, what: str = "type", path: str = "<memory>") -> dict | None:
    """How a file's type labels name the species of ``model`` (a :class:`glassrs.models.Model`).

    Numeric labels (LAMMPS types 1, 2, …; also "1", "2" in GSD/XYZ files) are mapped in order
    onto the model's species — type k → ``model.species[k − 1]`` — and the mapping
    ``{label: name}`` is returned (sorted by type). Named labels must be species of the model:
    None is returned when they all are. Raises ``ValueError`` for a type number outside
    1..len(model.species) or a name the model does not know.
    """
    labels = list(labels)
    species = tuple(model.species)
    if labels and all(_numeric_label(lab) for lab in labels):
        ordered = sorted(labels, key=int)
        bad = [lab for lab in ordered if not 1 <= int(lab) <= len(species)]
        if bad:
            raise ValueError(f"{path}: {what}s {[int(x) for x in ordered]} cannot be mapped onto model "
                             f"'{model.name}', which has {len(species)} species {list(species)} ({what} k → its "
                             f"k-th species, so {what}s must lie in 1..{len(species)}); pass species= "
                             "(CLI --species) to name the types")
        return {lab: species[int(lab) - 1] for lab in ordered}
    unknown = [lab for lab in labels if str(lab) not in species]
    if unknown:
        raise ValueError(f"{path}: {what} {str(unknown[0])!r} is not a species of model '{model.name}' "
                         f"(species: {list(species)}); pass species= (CLI --species) to name the types")
    return None


class SpeciesMap:
    """Maps file type labels (ints or names) to glassrs species indices and names.

    ``labels`` are the labels present in the file's first frame, in their default order;
    ``positional(k)`` gives the label that position k of a user-supplied sequence names
    (LAMMPS: type k+1; GSD/XYZ: the k-th label); ``index_keys`` lets integer keys of a mapping
    address labels by position too (GSD typeids). ``model``: with no ``species``, numeric
    labels are named after the model's species in order (:func:`model_species`); with
    ``species``, the names given must be species of the model.

    Attributes: ``names`` (species names, index ↔ name), ``mapping`` (label as a string →
    name, for the labels of frame 0) and ``source`` — ``"file"``, ``"species"`` or
    ``"model <name>"``.
    """

    def __init__(self, labels: Sequence, species: SpeciesArg, *, what: str, path: str,
                 positional=None, index_keys: bool = False, model=None):
        labels = list(labels)
        self.path = path
        self.what = what
        self.source = "file" if species is None else "species"
        if species is None and model is not None:
            species = model_species(labels, model, what=what, path=path)
            if species is not None:
                self.source = f"model {model.name}"
        self._build(labels, species, positional, index_keys)
        if model is not None and self.source == "species":
            unknown = [n for n in self.names if n not in model.species]
            if unknown:
                raise ValueError(f"{path}: species name {unknown[0]!r} given for the {what}s is not a species of "
                                 f"model '{model.name}' (species: {list(model.species)})")
        self.mapping = {str(lab): self.names[self._map[lab]] for lab in labels}

    def _build(self, labels: list, species: SpeciesArg, positional, index_keys: bool) -> None:
        path, what = self.path, self.what
        if species is None:
            names = [str(lab) for lab in labels]
            self._map = {lab: k for k, lab in enumerate(labels)}
            self.names = tuple(names)
            return
        if isinstance(species, Mapping):
            pairs = list(species.items())
            if labels and all(isinstance(lab, (int, np.integer)) for lab in labels):
                # integer labels (LAMMPS types) may be keyed by their text too: {"1": "A"}
                pairs = [(int(k) if isinstance(k, str) and k.strip().isdigit() else k, v) for k, v in pairs]
        else:
            seq = list(species)
            if isinstance(species, str) or not all(isinstance(s, str) for s in seq):
                raise ValueError(f"species must be a sequence of names or a mapping label → name, got {species!r}")
            pairs = [((positional(k) if positional else labels[k] if k < len(labels) else k), name)
                     for k, name in enumerate(seq)]
        names: list[str] = []
        self._map = {}
        for lab, name in pairs:
            name = str(name)
            if name not in names:
                names.append(name)
            self._map[lab] = names.index(name)
            if index_keys and isinstance(lab, (int, np.integer)) and 0 <= lab < len(labels):
                # integer keys also address labels by position (GSD typeids)
                self._map.setdefault(labels[int(lab)], names.index(name))
        missing = [lab for lab in labels if lab not in self._map]
        if missing:
            raise ValueError(f"{path}: species mapping {species!r} has no name for {what} {missing} "
                             f"(the file has {what}s {labels})")
        self.names = tuple(names)

    def indices(self, labels: Sequence, frame: int) -> np.ndarray:
        """Species index of each label; FormatError for a label not seen in frame 0."""
        from glassrs.errors import FormatError
        out = np.empty(len(labels), dtype=np.int64)
        for k, lab in enumerate(labels):
            try:
                out[k] = self._map[lab]
            except KeyError:
                raise FormatError(f"{self.path}, frame {frame}: {self.what} {lab!r} does not occur in frame 0 and "
                                  f"has no species name (known: {sorted(self._map, key=str)}); pass species= "
                                  "with a name for every type") from None
        return out

    def lookup_table(self, labels: np.ndarray, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """For integer labels: (sorted distinct labels, their species indices)."""
        u = np.unique(labels)
        return u, self.indices(u.tolist(), frame)


def frames_of(data) -> Iterator[Frame]:
    """Frames of a Trajectory, a single Frame or an iterable of Frames."""
    if isinstance(data, Frame):
        yield data
    elif isinstance(data, Trajectory):
        yield from data
    else:
        for f in data:
            if not isinstance(f, Frame):
                raise TypeError(f"expected Frame objects, got {type(f).__name__}")
            yield f


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary file name next to ``path``; on success it replaces ``path``."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp" + suffix)
    os.close(fd)
    try:
        yield tmp
        chmod_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def chmod_umask(path: str) -> None:
    """Give a file made by ``tempfile.mkstemp`` (mode 0600) the mode a plain ``open`` would: 0666
    less the process umask, so collaborators can read what glassrs writes."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def lammps_form(box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a general box to LAMMPS' restricted form.

    Returns (R, Q): R upper-triangular with positive diagonal (columns a=(lx,0,0),
    b=(xy,ly,0), c=(xz,yz,lz)) and the rotation Q with H = Q R, so positions map as
    x' = Qᵀ (x − origin). For a box already in that form Q is the identity.
    """
    h = box.matrix
    if np.all(np.tril(h, -1) == 0) and np.all(np.diag(h) > 0):
        return h.copy(), np.eye(3)
    q, r = np.linalg.qr(h)
    s = np.sign(np.diag(r))
    q, r = q * s, (r.T * s).T
    return np.triu(r), q


def wrapped_and_images(f: Frame, r: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """For writing: fractional coordinates s ∈ [0, 1) of the wrapped positions, image flags
    (None when the frame has neither unwrapped coordinates nor images), positions rotated to
    the LAMMPS form relative to the origin."""
    u = f.unwrapped_positions()
    base = u if u is not None else f.positions
    x = (base - f.box.origin) @ q  # Qᵀ(x − o) as rows
    s = np.linalg.solve(r, x.T).T
    img = np.floor(s)
    sw = s - img
    sw[sw >= 1.0] = 0.0
    return sw, (img.astype(np.int64) if u is not None else None), x


def iter_frames_checked(data) -> Iterable[Frame]:
    """Frames to write, with a clear error for an empty input."""
    frames = list(frames_of(data))
    if not frames:
        raise ValueError("nothing to write: no frames")
    return frames


def to_planar(f: Frame, path: str | None, k: int) -> Frame:
    """The 2D reading of a frame stored with three coordinates (LAMMPS ``dimension 2`` dumps,
    extended XYZ): the box keeps its edge vectors a, b (which must lie in the xy plane, with the
    third vector along z), z is ignored — it must be the same for every particle — and set to 0,
    as are v_z and the z image flags. Raises :class:`glassrs.FormatError` naming file, frame and
    particle otherwise."""
    from glassrs.errors import FormatError

    where = f"{path or '<memory>'}, frame {k}"
    h = f.box.matrix
    if f.box.dim == 2:
        return f
    if h[2, 0] != 0.0 or h[2, 1] != 0.0 or h[0, 2] != 0.0 or h[1, 2] != 0.0:
        raise FormatError(f"{where}: read as 2D (dim=2), but the box is tilted out of the xy plane "
                          f"(xz, yz = {h[0, 2]!r}, {h[1, 2]!r}; a, b need z = 0)", path, k, None)
    z = f.positions[:, 2]
    if z.size and np.any(z != z[0]):
        i = int(np.flatnonzero(z != z[0])[0])
        raise FormatError(f"{where}: read as 2D (dim=2), but z varies (particle {i} has z = {float(z[i])!r}, "
                          f"particle 0 has z = {float(z[0])!r}); a two-dimensional system has one z", path, k, None)
    if f.velocities is not None and np.any(f.velocities[:, 2] != 0.0):
        i = int(np.flatnonzero(f.velocities[:, 2] != 0.0)[0])
        raise FormatError(f"{where}: read as 2D (dim=2), but particle {i} has v_z = {float(f.velocities[i, 2])!r}",
                          path, k, None)
    m = np.array(h)
    m[:, 2] = 0.0
    box = Box(m, np.r_[f.box.origin[:2], 0.0], dim=2)

    def flat(a):
        if a is None:
            return None
        a = np.array(a)
        a[:, 2] = 0
        return a
    return Frame(positions=flat(f.positions), types=f.types, box=box, species=f.species, step=f.step, time=f.time,
                 ids=f.ids, images=flat(f.images), unwrapped=flat(f.unwrapped), velocities=flat(f.velocities),
                 extra=f.extra)


class PlanarSource:
    """A :class:`~glassrs.trajectory.FrameSource` that reads another source's frames as 2D
    (:func:`to_planar`); every other attribute is the wrapped source's."""

    def __init__(self, src):
        self._src = src

    def __len__(self) -> int:
        return len(self._src)

    def __getattr__(self, name):
        if name == "_src":          # during unpickling, before __init__ state exists
            raise AttributeError(name)
        return getattr(self._src, name)

    def load(self, k: int) -> Frame:
        return to_planar(self._src.load(k), getattr(self._src, "path", None), int(k))

    def load_many(self, ks) -> list[Frame]:
        ks = [int(k) for k in ks]
        many = getattr(self._src, "load_many", None)
        frames = many(ks) if many is not None else [self._src.load(k) for k in ks]
        return [to_planar(f, getattr(self._src, "path", None), k) for f, k in zip(frames, ks)]

