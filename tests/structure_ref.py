"""Straightforward float64 numpy/scipy implementations of definitions §2, written independently of the
Rust kernels (full distance matrices, explicit loops), used as oracles by test_structure_*.py
and benchmarks/bench_structure.py."""

from __future__ import annotations

import numpy as np

import glassrs as gr


def perturbed_fcc(cells: int, rho: float = 1.2, amp: float = 0.08, seed: int = 0, frac_a: float = 0.8,
                  tilt: float = 0.0) -> gr.Frame:
    """fcc lattice at density ``rho`` with Gaussian displacements of rms ``amp`` per axis and
    species A/B assigned at random in the ratio frac_a : 1−frac_a — a dense, overlap-free test
    configuration that needs no MD."""
    rng = np.random.default_rng(seed)
    a = (4.0 / rho) ** (1 / 3)
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    g = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)], float)
    frac = ((g[:, None, :] + base[None]) .reshape(-1, 3)) / cells
    L = a * cells
    box = gr.Box.from_lammps([L, L, L], (tilt * L, 0.0, 0.0))
    pos = frac @ box.matrix.T + rng.normal(0, amp, (len(frac), 3))
    n = len(pos)
    types = np.zeros(n, int)
    types[rng.permutation(n)[: n - int(round(frac_a * n))]] = 1
    return gr.Frame(positions=pos, types=types, box=box, species=("A", "B"))


def distances(frame: gr.Frame) -> np.ndarray:
    """(N, N) minimum-image distance matrix (diagonal = inf)."""
    x = frame.positions
    d = x[None, :, :] - x[:, None, :]
    d = frame.box.min_image(d.reshape(-1, 3)).reshape(d.shape)
    r = np.sqrt((d ** 2).sum(-1))
    np.fill_diagonal(r, np.inf)
    return r


def rdf_hist(frames, r_max: float, n_bins: int) -> np.ndarray:
    """g[u, v, bin] by brute force: bin = floor(r/dr), ordered pairs, per-frame normalisation."""
    ns = 2
    dr = r_max / n_bins
    out = np.zeros((ns, ns, n_bins))
    for f in frames:
        r = distances(f)
        cnt = np.bincount(f.types, minlength=ns)
        V = f.box.volume
        edges = np.arange(n_bins + 1) * dr
        shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        for u in range(ns):
            for v in range(ns):
                rr = r[np.ix_(f.types == u, f.types == v)].ravel()
                rr = rr[rr < r_max]
                b = np.floor(rr / dr).astype(int)
                b = b[b < n_bins]
                h = np.bincount(b, minlength=n_bins)
                out[u, v] += V / (cnt[u] * (cnt[v] - (u == v))) * h / shell
    return out / len(frames)


def sphere(frame: gr.Frame, r: np.ndarray) -> np.ndarray:
    """Radial measure of the frame's dimension: 4πr² (3D) or 2πr (2D)."""
    return 2 * np.pi * r if frame.box.dim == 2 else 4 * np.pi * r ** 2


def local_g_all(frame: gr.Frame, delta: float, dr: float, K: int) -> tuple[np.ndarray, np.ndarray]:
    """g^i_v(r_k) for every particle: array (N, ns, K) and the grid r_k = k·dr, k = 1..K."""
    r = np.arange(1, K + 1) * dr
    ns = 2
    rho = np.bincount(frame.types, minlength=ns) / frame.box.volume
    D = distances(frame)
    out = np.zeros((frame.n_particles, ns, K))
    for i in range(frame.n_particles):
        for v in range(ns):
            rij = D[i, frame.types == v]
            rij = rij[rij < r[-1] + 5 * delta + 1e-9]
            x = r[None, :] - rij[:, None]
            kern = np.where(np.abs(x) <= 5 * delta, np.exp(-x ** 2 / (2 * delta ** 2)), 0.0)
            out[i, v] = kern.sum(0) / np.sqrt(2 * np.pi * delta ** 2) / (rho[v] * sphere(frame, r))
    return out, r


def trap(f: np.ndarray, r: np.ndarray, lo: float, hi: float) -> float:
    m = (r >= lo) & (r <= hi)
    return float(np.trapezoid(f[m], r[m])) if m.sum() > 1 else 0.0


def local_quantities(frame: gr.Frame, windows: dict, *, delta=0.09, dr=0.005, r_s=3.0, closure="approx",
                     T=None, model=None):
    """(beta_phi, s2, e_loc) per particle, definitions §2.3–2.8, from the numpy g^i."""
    species = frame.species
    ns = 2
    need = max([r_s] + [w[1] for w in windows.values()] + ([model.max_cutoff] if model is not None else []))
    K = int(np.ceil(need / dr - 1e-9))
    g, r = local_g_all(frame, delta, dr, K)
    rho = np.bincount(frame.types, minlength=ns) / frame.box.volume
    n = frame.n_particles
    bphi = np.zeros(n)
    s2 = np.zeros(n)
    el = np.zeros(n)
    U = {}
    if model is not None:
        for u in range(ns):
            for v in range(ns):
                U[u, v] = model.eval(species[u], species[v], r)[0]
    for i in range(n):
        u = frame.types[i]
        for v in range(ns):
            gv = g[i, v]
            key = f"{species[u]}-{species[v]}"
            lo, hi = windows.get(key, windows.get(f"{species[v]}-{species[u]}"))
            if closure == "approx":
                c = gv - 1
            else:
                with np.errstate(divide="ignore"):
                    c = -U[u, v] / T + gv - 1 - np.log(gv)
            with np.errstate(invalid="ignore"):
                f = np.where(gv < 1e-10, 0.0, sphere(frame, r) * c * gv)
            bphi[i] -= rho[v] * trap(f, r, lo, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                glg = np.where(gv > 0, gv * np.log(gv), 0.0)
            s2[i] -= 0.5 * rho[v] * trap(sphere(frame, r) * (glg - gv + 1), r, 0.0, r_s)
            if model is not None:
                el[i] += 0.5 * rho[v] * trap(sphere(frame, r) * U[u, v] * gv, r, 0.0, np.inf)
    return bphi, s2, el


def coarse(frame: gr.Frame, x: np.ndarray, Ls, r_cg: float, species_ok=None) -> np.ndarray:
    D = distances(frame)
    np.fill_diagonal(D, 0.0)
    ok = np.isfinite(x)
    if species_ok is not None:
        ok &= np.isin(np.asarray(frame.species)[frame.types], species_ok)
    out = np.zeros((len(Ls), frame.n_particles))
    for li, L in enumerate(Ls):
        for i in range(frame.n_particles):
            if L == 0:
                out[li, i] = x[i] if ok[i] else np.nan
                continue
            m = ok & (D[i] < r_cg)
            w = np.exp(-D[i, m] / L)
            out[li, i] = (w * x[m]).sum() / w.sum() if m.any() else np.nan
    return out
