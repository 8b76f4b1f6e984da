"""Pair-potential models (definitions §1): U, U′, U″ per species pair, masses, standard state.

>>> ka = glassrs.models.kob_andersen()
>>> u, du, d2u = ka.eval("A", "B", np.linspace(0.8, 2.0, 50))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from glassrs import _core


class Model:
    """A pair model. ``native`` is the Rust object passed to kernels."""

    def __init__(self, native: _core.Model):
        self.native = native

    @property
    def name(self) -> str:
        return self.native.name

    @property
    def species(self) -> tuple[str, ...]:
        return tuple(self.native.species)

    @property
    def masses(self) -> np.ndarray:
        return np.asarray(self.native.masses)

    @property
    def density(self) -> float:
        """Number density of the model's standard state (σ⁻³)."""
        return self.native.density

    @property
    def composition(self) -> np.ndarray:
        """Mole fractions of the standard state, in species order."""
        return np.asarray(self.native.composition)

    def index(self, s: str | int) -> int:
        """Species index of a name (or pass an index through, range-checked)."""
        if isinstance(s, (int, np.integer)):
            if not 0 <= int(s) < len(self.species):
                raise ValueError(f"species index {s} out of range for model '{self.name}' with species {self.species}")
            return int(s)
        try:
            return self.species.index(s)
        except ValueError:
            raise ValueError(f"unknown species '{s}' for model '{self.name}' (species: {list(self.species)})") from None

    def cutoff(self, a: str | int, b: str | int) -> float:
        return self.native.cutoff(self.index(a), self.index(b))

    @property
    def max_cutoff(self) -> float:
        return self.native.max_cutoff()

    def eval(self, a: str | int, b: str | int, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(U, dU/dr, d²U/dr²) of the (a, b) pair at distances ``r`` (σ); energies in ε."""
        r = np.ascontiguousarray(np.atleast_1d(r), dtype=np.float64)
        return self.native.eval(self.index(a), self.index(b), r)

    @property
    def many_body(self) -> bool:
        """True for a model with terms beyond pairs (Stillinger–Weber): per-pair quantities such
        as the local energy e_loc or the HNC closure are undefined for it."""
        return bool(self.native.many_body)

    def three_body_params(self) -> dict | None:
        """The three-body term's parameters (lambda, eps, gamma, sigma, a, cos0), or None."""
        return self.native.three_body_params()

    def require_pairwise(self, what: str) -> None:
        """ValueError naming ``what`` for a many-body model."""
        if self.many_body:
            raise ValueError(f"{what} is defined for pair potentials only; model '{self.name}' has three-body terms")

    def type_map(self, species: Sequence[str]) -> np.ndarray:
        """Map a trajectory's species names to this model's indices (error for unknown names)."""
        return np.array([self.index(s) for s in species], dtype=np.int64)

    def pair_params(self, a: str | int, b: str | int) -> dict:
        """Parameters of the (a, b) pair: ``kind`` (lj, nm, ipl, sticky, sw, table) and its numbers."""
        return self.native.pair_params(self.index(a), self.index(b))

    def pair_table(self, r=None, n: int = 500):
        """Long Polars table of U, U′, U″: columns pair, r, u, du, d2u (r up to each cutoff)."""
        import polars as pl

        from glassrs.tables import make_table

        parts = []
        sp = self.species
        for i in range(len(sp)):
            for j in range(i, len(sp)):
                rc = self.cutoff(i, j)
                rr = np.linspace(0.25 * rc, rc, n, endpoint=False) if r is None else np.asarray(r, float)
                u, du, d2u = self.eval(i, j, rr)
                parts.append(pl.DataFrame({"pair": f"{sp[i]}{sp[j]}", "r": rr, "u": u, "du": du, "d2u": d2u}))
        return make_table(pl.concat(parts), {"kind": "pair_table", "model": self.name})

    def to_lammps_table(self, path: str, *, n: int = 10000, r_min: float | None = None,
                        style: str = "spline") -> list[str]:
        """Write every pair as a section of a LAMMPS ``pair_style table`` file (atomically) and
        return the LAMMPS commands using it: ``pair_style table <style> <n>`` and one
        ``pair_coeff I J path KEYWORD r_c`` per pair (LAMMPS types are species index + 1).

        Sections are named ``<a>_<b>``; ``n`` uniformly spaced points from ``r_min`` (default
        0.25 r_c) to r_c with energy U and force −U′ (the value at r_c is the limit from below).
        LAMMPS interpolates its table, so agreement with the analytic model is limited by ``n``
        (measured: ~1e-8 relative in energy and ~1e-7 in forces at n = 20000 with ``spline``).
        """
        import os
        import tempfile

        sp = self.species
        lines = [f"# glassrs model {self.name}: pair_style table file (energy U, force -dU/dr)", ""]
        cmds = [f"pair_style table {style} {n}"]
        for i in range(len(sp)):
            for j in range(i, len(sp)):
                rc = self.cutoff(i, j)
                lo = 0.25 * rc if r_min is None else float(r_min)
                pp = self.pair_params(i, j)
                if pp["kind"] == "table":  # do not extrapolate a tabulated model below its first node
                    lo = max(lo, pp["r_min"])
                r = np.linspace(lo, rc, n)
                u, du, _ = self.eval(i, j, np.r_[r[:-1], np.nextafter(rc, 0)])
                key = f"{sp[i]}_{sp[j]}"
                lines += [key, f"N {n} R {lo:.17g} {rc:.17g}", ""]
                lines += [f"{k + 1} {r[k]:.17g} {u[k]:.17g} {-du[k]:.17g}" for k in range(n)]
                lines.append("")
                cmds.append(f"pair_coeff {i + 1} {j + 1} {os.path.abspath(path)} {key} {rc:.17g}")
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".glassrs-", suffix=".table.tmp", dir=d)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
        return cmds

    def lammps_commands(self) -> list[str]:
        """LAMMPS commands evaluating this model with native styles where they are exact:
        ``lj/cut`` (+ ``pair_modify shift yes`` for energy shifts), ``lj/smooth/linear`` for
        force shifts, ``lepton`` expressions for the qp and IPL forms. Raises ``ValueError``
        for tabulated models (use :meth:`to_lammps_table`)."""
        sp = self.species
        pp = [(i, j, self.pair_params(i, j)) for i in range(len(sp)) for j in range(i, len(sp))]
        kinds = {p["kind"] for _, _, p in pp}
        if kinds == {"sw"}:
            raise ValueError(f"model '{self.name}' has three-body terms: use write_lammps_sw(path) for pair_style sw")
        if kinds != {"lj"} and kinds - {"nm", "ipl", "sticky"}:
            raise ValueError(f"model '{self.name}' has {sorted(kinds)} pairs; no exact native LAMMPS style, use to_lammps_table()")
        g = f"{self.max_cutoff:.17g}"
        if kinds == {"lj"}:
            fshift = any(p["dshift"] != 0.0 for _, _, p in pp)
            eshift = any(p["shift"] != 0.0 for _, _, p in pp)
            if fshift:
                cmds = [f"pair_style lj/smooth/linear {g}"]
            else:
                cmds = [f"pair_style lj/cut {g}"]
            for i, j, p in pp:
                cmds.append(f"pair_coeff {i + 1} {j + 1} {p['eps']:.17g} {p['sigma']:.17g} {p['rc']:.17g}")
            if eshift and not fshift:
                cmds.append("pair_modify shift yes")
            return cmds
        cmds = [f"pair_style lepton {g}"]
        for i, j, p in pp:
            if p["kind"] == "sticky":
                sg = f"{p['sigma']:.17g}"
                rm = f"{2 ** (1 / 6) * p['sigma']:.17g}"
                c = p["c"]
                inner = f"4*(({sg}/r)^12-({sg}/r)^6)"
                outer = (f"({p['a']:.17g})*({sg}/r)^12-({p['b']:.17g})*({sg}/r)^6+({c[0]:.17g})+({c[1]:.17g})*(r/{sg})^2"
                         f"+({c[2]:.17g})*(r/{sg})^4+({c[3]:.17g})*(r/{sg})^6")
                e = f"{p['eps']:.17g}*((1-step(r-{rm}))*({inner})+step(r-{rm})*({outer}))"
            elif p["kind"] == "nm":
                e = (f"{p['eps']:.17g}/({p['q']:.17g}-{p['p']:.17g})*({p['p']:.17g}*({p['rm']:.17g}/r)^{p['q']:.17g}"
                     f"-{p['q']:.17g}*({p['rm']:.17g}/r)^{p['p']:.17g})+({p['c1']:.17g})*r^2+({p['c2']:.17g})")
            else:
                c = p["c"]
                lam = f"{p['lambda']:.17g}"
                e = (f"{p['eps']:.17g}*(({lam}/r)^{p['n']}+({c[0]:.17g})+({c[1]:.17g})*(r/{lam})^2"
                     f"+({c[2]:.17g})*(r/{lam})^4+({c[3]:.17g})*(r/{lam})^6)")
            cmds.append(f'pair_coeff {i + 1} {j + 1} "{e}" {p["rc"]:.17g}')
        return cmds

    def write_lammps_sw(self, path: str, element: str = "A") -> list[str]:
        """Write a LAMMPS ``pair_style sw`` parameter file for a Stillinger–Weber model
        (atomically) and return the commands using it (one atom type, named ``element``)."""
        import os
        import tempfile

        t = self.three_body_params()
        p = self.pair_params(0, 0)
        if t is None or p["kind"] != "sw":
            raise ValueError(f"model '{self.name}' is not a Stillinger–Weber model")
        e = element
        # element1 element2 element3 epsilon sigma a lambda gamma costheta0 A B p q tol
        line = (f"{e} {e} {e} {p['eps']:.17g} {p['sigma']:.17g} {p['a']:.17g} {t['lambda']:.17g} {t['gamma']:.17g} "
                f"{t['cos0']:.17g} {p['A']:.17g} {p['B']:.17g} {p['p']:.17g} {p['q']:.17g} 0.0")
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".glassrs-", suffix=".sw.tmp", dir=d)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"# glassrs model {self.name}: LAMMPS pair_style sw parameters\n{line}\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        return ["pair_style sw", f"pair_coeff * * {os.path.abspath(path)} {e}"]

    def __repr__(self) -> str:
        return f"Model('{self.name}', species={list(self.species)})"


def kob_andersen() -> Model:
    """Kob–Andersen 80:20 LJ mixture, ρ = 1.2; cut at 2.5σ_uv, energy-shifted."""
    return Model(_core.Model.kob_andersen())


def kob_andersen_2d() -> Model:
    """The two-dimensional Kob–Andersen mixture: the KA pair potential (ε_AB = 1.5, ε_BB = 0.5,
    σ_AB = 0.8, σ_BB = 0.88, cut at 2.5σ_uv, energy-shifted) at the 65:35 composition and
    number density N/A = 1.2 that avoid crystallisation in 2D (Brüning, Stelter, Wagner,
    Schilling and Kob, J. Phys.: Condens. Matter 21, 035117 (2009)). Use it with a 2D box
    (``gr.md.initial_configuration(model, n, dim=2)``)."""
    return lj_mixture(("A", "B"), epsilon={("A", "A"): 1.0, ("A", "B"): 1.5, ("B", "B"): 0.5},
                      sigma={("A", "A"): 1.0, ("A", "B"): 0.8, ("B", "B"): 0.88}, density=1.2,
                      composition=[0.65, 0.35], name="kob_andersen_2d")


# -- more built-in models (definitions §1) ------------------------------------------------------------

def ka_wca() -> Model:
    """Kob–Andersen parameters with the WCA truncation: cut at 2^{1/6}σ_uv, shifted by +ε_uv."""
    return Model(_core.Model.ka_wca())


def qp(q: float = 12.0, p: float = 6.0) -> Model:
    """KA mixture with the (q, p) potential U = ε/(q−p)[p(r_m/r)^q − q(r_m/r)^p] + c1 r² + c2
    (LAMMPS ``nm/cut`` form, r_m = 2^{1/6}σ_uv), r_c = 2.5σ_uv, c1, c2 so U(r_c) = U′(r_c) = 0.
    ``qp(12, 6)`` is the smoothed KA LJ. Raises ``ValueError`` unless q > p > 0."""
    return Model(_core.Model.qp(float(q), float(p)))


def wahnstrom() -> Model:
    """Wahnström 50:50 LJ mixture (ρ = 1.2959): ε = 1, σ_BB = 10/12, σ_AB arithmetic mean,
    m_B = 0.5, cut at 2.5σ_uv, energy-shifted."""
    return Model(_core.Model.wahnstrom())


def ipl10() -> Model:
    """50:50 inverse-power-law mixture ε[(λ/r)^10 + Σ_l c_2l (r/λ)^2l], λ_AB 1.18, λ_BB 1.4,
    r_c = 1.48λ with U and its first three derivatives zero at r_c; ρ = 0.82."""
    return Model(_core.Model.ipl10())


def sticky_spheres(x_c: float = 1.2 * 2 ** (1 / 6)) -> Model:
    """Sticky spheres (González-López, Shivam, Zheng, Pica Ciamarra & Lerner, 2021), the "CSS"
    glass former of Kapteijns et al. 2021 with the default ``x_c`` = 1.2·2^{1/6}: a 50:50 mixture,
    masses 1, ε = 1, ρ = 0.6, with x = r/σ_uv

    U = 4ε[x⁻¹² − x⁻⁶] for x < x_min = 2^{1/6} (Lennard-Jones repulsion, well depth −ε at x_min),
    U = ε[a x⁻¹² − b x⁻⁶ + c0 + c2 x² + c4 x⁴ + c6 x⁶] for x_min ≤ x < x_c, 0 beyond,

    the six constants fixed by U, U′, U″ continuous at x_min and zero at x_c (for the default x_c
    they reproduce the published a = −106.991613526652, b = −304.918469059567,
    c0 = −939.388037994211, c2 = 1190.70962256002, c4 = −541.300131587551,
    c6 = 85.8684936914713 — the attraction is much stiffer and shorter than Lennard-Jones').
    Sizes σ_AA = 1, σ_AB = 1.18, σ_BB = 1.4, those of the same group's IPL mixture (the stored
    text of the papers does not list them; the first S(q) peak of the large species agrees with
    the published q_max at the three densities of Kapteijns et al.: 5.57 vs 5.47 σ⁻¹ at ρ = 0.6,
    5.87 vs 5.87 at ρ = 0.7, 6.59 vs 6.40 at ρ = 0.95 — see the tests). Raises ``ValueError``
    unless x_c > 2^{1/6}."""
    return Model(_core.Model.sticky_spheres(float(x_c)))


def stillinger_weber(lam: float = 18.75) -> Model:
    """Stillinger–Weber, one species "A" (mass 1, ρ = 0.52), ε = σ = 1: two-body
    Aε[B(σ/r)^p − (σ/r)^q] exp(σ/(r − aσ)) and three-body
    λε(cos θ_jik − cos θ0)² exp(γσ/(r_ij − aσ)) exp(γσ/(r_ik − aσ)), r < aσ, with the silicon
    parameters A = 7.049556277, B = 0.6022245584, p = 4, q = 0, a = 1.8, γ = 1.2,
    cos θ0 = −1/3 and three-body strength ``lam`` (silicon 21; 18.75 is the glass former of
    Kapteijns et al., J. Chem. Phys. 2021). Same parameter meaning as LAMMPS ``pair_style sw``
    (:meth:`Model.write_lammps_sw`). Energies, forces, virial, MD, FIRE and the Hessian include
    the three-body term; per-pair quantities (e_loc, the HNC closure) raise for it."""
    return Model(_core.Model.stillinger_weber(float(lam)))


def _upper(species: Sequence[str], values, what: str) -> list[float]:
    """Upper-triangle list (0,0), (0,1), …, (1,1), … from a scalar, a dict keyed by species
    pairs (either order) or an n×n matrix."""
    n = len(species)
    out = []
    if np.isscalar(values):
        return [float(values)] * (n * (n + 1) // 2)
    if isinstance(values, dict):
        norm = {}
        for k, v in values.items():
            if isinstance(k, str):
                k = tuple(k) if len(k) == 2 and all(c in species for c in k) else tuple(k.split("-"))
            a, b = k
            for s in (a, b):
                if s not in species:
                    raise ValueError(f"{what}: unknown species '{s}' (species: {list(species)})")
            norm[(a, b)] = norm[(b, a)] = float(v)
        for i in range(n):
            for j in range(i, n):
                if (species[i], species[j]) not in norm:
                    raise ValueError(f"{what}: no value for pair ({species[i]}, {species[j]})")
                out.append(norm[(species[i], species[j])])
        return out
    m = np.asarray(values, dtype=float)
    if m.shape != (n, n) or not np.allclose(m, m.T):
        raise ValueError(f"{what}: expected a scalar, a dict of pairs or a symmetric {n}×{n} matrix, got shape {m.shape}")
    return [float(m[i, j]) for i in range(n) for j in range(i, n)]


def lj_mixture(species: Sequence[str] = ("A", "B"), *, epsilon=1.0, sigma=1.0, cutoff=None, cutoff_sigma: float = 2.5,
               shift: str = "energy", masses=None, density: float = 1.2, composition=None,
               name: str = "lj_mixture") -> Model:
    """Generic Lennard-Jones mixture 4ε_uv[(σ_uv/r)¹² − (σ_uv/r)⁶].

    ``epsilon``, ``sigma`` and ``cutoff`` are a scalar, a dict ``{("A", "B"): value}`` or a
    symmetric matrix; ``cutoff`` is absolute (σ_AA units) and defaults to
    ``cutoff_sigma``·σ_uv. ``shift``: ``"none"``, ``"energy"`` (U − U(r_c)) or ``"force"``
    (U − U(r_c) − (r − r_c)U′(r_c)). Masses default to 1, composition to equal fractions.
    Example (KA): ``lj_mixture(epsilon={"AA": 1, "AB": 1.5, "BB": .5}, sigma={"AA": 1, "AB": .8, "BB": .88},
    composition=[.8, .2])``.
    """
    species = [str(s) for s in species]
    n = len(species)
    eps = _upper(species, epsilon, "epsilon")
    sig = _upper(species, sigma, "sigma")
    rc = [cutoff_sigma * s for s in sig] if cutoff is None else _upper(species, cutoff, "cutoff")
    masses = [1.0] * n if masses is None else [float(m) for m in masses]
    composition = [1.0 / n] * n if composition is None else [float(c) for c in composition]
    return Model(_core.Model.lj_mixture(name, species, masses, eps, sig, rc, shift, float(density), composition))


def read_lammps_table(path: str, keyword: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read one section of a LAMMPS ``pair_style table`` file: returns (r, U, dU/dr).

    Honours the ``N n [R|RSQ rlo rhi] [FP ...]`` parameter line (with R/RSQ the distances
    are recomputed as LAMMPS does). Raises ``FormatError`` naming the file and line.
    """
    from glassrs.errors import FormatError

    with open(path) as fh:
        lines = fh.readlines()
    k = 0
    while k < len(lines):
        words = lines[k].split()
        if words and words[0] == keyword:
            break
        k += 1
    else:
        raise FormatError(f"{path}: no section '{keyword}' in the table file")
    k += 1
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k >= len(lines):
        raise FormatError(f"{path}, line {k + 1}: missing parameter line after '{keyword}'")
    p = lines[k].split()
    try:
        i = p.index("N")
        npts = int(p[i + 1])
    except (ValueError, IndexError):
        raise FormatError(f"{path}, line {k + 1}: expected 'N <count> ...' after section '{keyword}', got {lines[k].strip()!r}") from None
    grid = None
    for kw in ("R", "RSQ"):
        if kw in p:
            j = p.index(kw)
            grid = (kw, float(p[j + 1]), float(p[j + 2]))
    k += 1
    rows = []
    while len(rows) < npts and k < len(lines):
        s = lines[k].split("#")[0].split()
        if s:
            if len(s) < 4:
                raise FormatError(f"{path}, line {k + 1}: expected 'index r energy force', got {lines[k].strip()!r}")
            try:
                rows.append([float(s[1]), float(s[2]), float(s[3])])
            except ValueError:
                raise FormatError(f"{path}, line {k + 1}: not a number in {lines[k].strip()!r}") from None
        k += 1
    if len(rows) != npts:
        raise FormatError(f"{path}: section '{keyword}' declares N {npts} but has {len(rows)} entries")
    a = np.array(rows)
    r = a[:, 0]
    if grid is not None:
        kw, lo, hi = grid
        t = np.arange(npts) / (npts - 1)
        r = lo + (hi - lo) * t if kw == "R" else np.sqrt(lo * lo + (hi * hi - lo * lo) * t)
    return r, a[:, 1], -a[:, 2]


def table(tables: dict, species: Sequence[str] = ("A", "B"), *, path: str | None = None, masses=None,
          density: float = 1.0, composition=None, name: str = "table") -> Model:
    """Tabulated pair model (cubic Hermite interpolation of U with U′ at the nodes; U = 0
    beyond the last node, which is r_c).

    ``tables`` maps each unordered species pair to either ``(r, U, dU/dr)`` arrays or, with
    ``path``, the keyword of a section of a LAMMPS ``pair_style table`` file (its force
    column is −dU/dr). Example: ``table({("A", "A"): "AA", ("A", "B"): "AB", ("B", "B"): "BB"},
    path="ka.table")``.
    """
    species = [str(s) for s in species]
    n = len(species)
    norm = {}
    for key, v in tables.items():
        a, b = (tuple(key) if not isinstance(key, str) else tuple(key.split("-")) if "-" in key else tuple(key))
        for s in (a, b):
            if s not in species:
                raise ValueError(f"table: unknown species '{s}' (species: {species})")
        norm[(a, b)] = norm[(b, a)] = v
    upper = []
    for i in range(n):
        for j in range(i, n):
            v = norm.get((species[i], species[j]))
            if v is None:
                raise ValueError(f"table: no table for pair ({species[i]}, {species[j]})")
            if isinstance(v, str):
                if path is None:
                    raise ValueError("table: a section keyword needs path= (the LAMMPS table file)")
                v = read_lammps_table(path, v)
            r, u, du = (np.ascontiguousarray(x, dtype=float).tolist() for x in v)
            upper.append((r, u, du))
    masses = [1.0] * n if masses is None else [float(m) for m in masses]
    composition = [1.0 / n] * n if composition is None else [float(c) for c in composition]
    return Model(_core.Model.table(name, species, masses, upper, float(density), composition))


@dataclass(frozen=True)
class Preset:
    """A published simulation protocol: the model and its state point, the system size, the
    timestep and the Nosé–Hoover coupling time (model time units), and q_max, the first peak of
    S(q) of the largest species (σ⁻¹; τ_α is read where F_s(q_max, t) = 0.2 in that paper)."""

    name: str
    model: "Model"
    density: float
    n: int
    dt: float
    tdamp: float
    q_max: float
    dim: int
    source: str

    @property
    def a0(self) -> float:
        """Mean interparticle distance a0 = (V/N)^{1/d} (σ)."""
        return self.density ** (-1.0 / self.dim)

    def t0(self, T: float) -> float:
        """The time unit t0 = a0/√T at temperature T (thermal time to cross a0)."""
        return self.a0 / float(T) ** 0.5

    def t_ballistic(self, T: float) -> float:
        """Duration of the ballistic regime, 0.1 t0."""
        return 0.1 * self.t0(T)


_SEED003 = "Kapteijns et al., J. Chem. Phys. 155, 074502 (2021), Table I"

#: seed 003 systems whose published pair potentials glassrs does not provide (yet): their
#: Table I rows are kept so the refusal can say what is missing.
_SEED003_MISSING = {
    "seed003-mblj": "the modified Kob–Andersen mixture (mBLJ) of Schrøder & Dyre, J. Chem. Phys. 152, 141101 (2020)",
}

#: the sticky-sphere state points of seed 003 (Table III): density, N, dt, τ_NH, q_max
_SEED003_SS = {"0.6": (0.6, 3000, 0.005, 0.2, 5.47), "0.7": (0.7, 4000, 0.003, 0.2, 5.87),
               "0.95": (0.95, 4000, 0.002, 0.2, 6.40)}


def presets() -> list[str]:
    """Names accepted by :func:`preset`."""
    return ["seed003-ipl", "seed003-sw"] + [f"seed003-ss-{k}" for k in _SEED003_SS]


def preset(name: str) -> Preset:
    """A published protocol by name: ``"seed003-ipl"`` (3D IPL: ρ = 0.82, N = 2000, dt = 0.005,
    τ_NH = 0.2, q_max = 6.35) or ``"seed003-sw"`` (Stillinger–Weber λ = 18.75: ρ = 0.52,
    N = 8000, dt = 0.065, τ_NH = 6.5, q_max = 6.28), both from Kapteijns et al. 2021, Table I,
    and the sticky spheres (:func:`sticky_spheres`) at their three densities of Table III:
    ``"seed003-ss-0.6"`` (N = 3000, dt = 0.005, q_max = 5.47), ``"seed003-ss-0.7"`` (N = 4000,
    dt = 0.003, q_max = 5.87) and ``"seed003-ss-0.95"`` (N = 4000, dt = 0.002, q_max = 6.40), all
    with τ_NH = 0.2. The mBLJ system of that paper raises ``ValueError``: its published potential
    is not in glassrs (its functional form could not be obtained to the last digit; glassrs does
    not guess it)."""
    key = name.strip().lower()
    if key == "seed003-ipl":
        return Preset(key, ipl10(), 0.82, 2000, 0.005, 0.2, 6.35, 3, _SEED003)
    if key == "seed003-sw":
        return Preset(key, stillinger_weber(18.75), 0.52, 8000, 0.065, 6.5, 6.28, 3, _SEED003)
    if key.startswith("seed003-ss-") and key[len("seed003-ss-"):] in _SEED003_SS:
        rho, n, dt, tau_nh, q_max = _SEED003_SS[key[len("seed003-ss-"):]]
        return Preset(key, sticky_spheres(), rho, n, dt, tau_nh, q_max, 3, _SEED003.replace("Table I", "Tables I and III"))
    if key in _SEED003_MISSING:
        raise ValueError(f"preset '{name}' needs {_SEED003_MISSING[key]}, which glassrs does not provide: its "
                         "published functional form is not available to it; use gr.models.table(...) with the "
                         "published potential")
    raise ValueError(f"unknown preset '{name}'; available: {presets()}")


BUILTIN = {"kob_andersen": kob_andersen, "kob_andersen_2d": kob_andersen_2d, "ka_wca": ka_wca, "qp": qp, "wahnstrom": wahnstrom, "ipl10": ipl10,
           "sticky_spheres": sticky_spheres, "stillinger_weber": stillinger_weber}


ALIASES = {"ka": "kob_andersen", "ka2d": "kob_andersen_2d", "kob-andersen": "kob_andersen", "sw": "stillinger_weber",
           "ss": "sticky_spheres", "css": "sticky_spheres"}


def _model_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def available() -> str:
    """The built-in model names with their parameters, for messages: ``ipl10, ka_wca, …, qp(q, p), …``."""
    import inspect

    out = []
    for name in sorted(BUILTIN):
        ps = list(inspect.signature(BUILTIN[name]).parameters)
        out.append(f"{name}({', '.join(ps)})" if ps else name)
    return ", ".join(out) + " (alias: ka = kob_andersen)"


def get(name: str) -> Model:
    """A built-in model from a name with optional parameters: ``NAME[:k=v,...]``.

    Names: ``kob_andersen`` (alias ``ka``), ``ka_wca``, ``wahnstrom``, ``ipl10``, ``qp``,
    ``sticky_spheres`` (alias ``ss``; ``ss:x_c=1.5``), ``stillinger_weber`` (alias ``sw``;
    ``sw:lam=21`` is silicon).
    Parameters are passed to the factory as numbers, e.g. ``qp:q=18,p=6`` = ``qp(18, 6)``
    (``qp(18,6)`` is accepted too). Raises ``ValueError`` listing the available models for an
    unknown name, and the factory's parameters for an unknown or malformed one.
    """
    import inspect
    import re

    spec = name.strip()
    m = re.fullmatch(r"(?i)qp\(\s*([0-9.eE+-]+)\s*,\s*([0-9.eE+-]+)\s*\)", spec)
    if m:
        return qp(float(m.group(1)), float(m.group(2)))
    key, _, rest = spec.partition(":")
    key = key.strip().lower()
    key = ALIASES.get(key, key)
    if key not in BUILTIN:
        raise ValueError(f"unknown model '{name}'; available models: {available()}")
    factory = BUILTIN[key]
    accepted = list(inspect.signature(factory).parameters)
    kwargs: dict[str, int | float] = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        k, eq, v = item.partition("=")
        k = k.strip()
        if not eq or k not in accepted:
            what = f"parameters {', '.join(accepted)} (as {key}:k=v,...)" if accepted else "no parameters"
            raise ValueError(f"model '{name}': cannot use '{item}'; {key} takes {what}")
        try:
            kwargs[k] = _model_number(v.strip())
        except ValueError:
            raise ValueError(f"model '{name}': parameter {k} must be a number, got '{v.strip()}'") from None
    return factory(**kwargs)
