"""Independent numpy oracle for the elasticity tests: KA energy, forces and a dense Hessian from
the definitions §1 formulas, a scipy L-BFGS + Newton minimiser, and inherent-structure generation.
Nothing here calls glassrs kernels."""

from __future__ import annotations

import functools

import numpy as np
import scipy.optimize as so

EPS = np.array([[1.0, 1.5], [1.5, 0.5]])
SIG = np.array([[1.0, 0.8], [0.8, 0.88]])


def lj(r, eps, sig):
    s6 = (sig / r) ** 6
    rc = 2.5 * sig
    sc6 = (sig / rc) ** 6
    u = 4 * eps * (s6 * s6 - s6) - 4 * eps * (sc6 * sc6 - sc6)
    du = 4 * eps * (-12 * s6 * s6 + 6 * s6) / r
    d2u = 4 * eps * (156 * s6 * s6 - 42 * s6) / r**2
    return u, du, d2u


def pairs(pos, types, H):
    n = len(pos)
    i, j = np.triu_indices(n, 1)
    d = pos[j] - pos[i]
    s = d @ np.linalg.inv(H).T
    s -= np.round(s)
    d = s @ H.T
    r = np.linalg.norm(d, axis=1)
    a, b = types[i], types[j]
    eps, sig = EPS[a, b], SIG[a, b]
    m = r < 2.5 * sig
    return i[m], j[m], d[m], r[m], eps[m], sig[m]


def energy_forces(pos, types, H):
    return _energy_forces(pos, types, H)


def _energy_forces(pos, types, H):
    i, j, d, r, eps, sig = pairs(pos, types, H)
    u, du, _ = lj(r, eps, sig)
    f = (du / r)[:, None] * d  # force on i
    F = np.zeros_like(pos)
    np.add.at(F, i, f)
    np.add.at(F, j, -f)
    return u.sum(), F


def dense_hessian(pos, types, H):
    n = len(pos)
    i, j, d, r, eps, sig = pairs(pos, types, H)
    _, du, d2u = lj(r, eps, sig)
    nv = d / r[:, None]
    K = (d2u - du / r)[:, None, None] * nv[:, :, None] * nv[:, None, :] + (du / r)[:, None, None] * np.eye(3)
    M = np.zeros((n, n, 3, 3))
    np.add.at(M, (i, j), -K)
    np.add.at(M, (j, i), -K)
    np.add.at(M, (i, i), K)
    np.add.at(M, (j, j), K)
    return M.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)


def shear_stress(pos, types, H, a=0, b=1):
    """(1/V) ∂U/∂γ for the shear x_a += γ x_b (virial form)."""
    i, j, d, r, eps, sig = pairs(pos, types, H)
    _, du, _ = lj(r, eps, sig)
    return np.sum(du * d[:, a] * d[:, b] / r) / np.linalg.det(H)


def shear_stress_xy(pos, types, H):
    return shear_stress(pos, types, H, 0, 1)


def minimize(pos, types, H, ftol=1e-11, newton=True, fext=None):
    """L-BFGS then Newton (dense, translations projected) to max|F| < ftol.

    ``fext`` (N, 3): a constant external force (zero net force), energy U − fext·x."""
    n = len(pos)
    fe = np.zeros((n, 3)) if fext is None else np.asarray(fext, float).reshape(n, 3)

    def energy_forces(x, types, H):
        e, F = _energy_forces(x, types, H)
        return e - np.sum(fe * x), F + fe

    def fun(x):
        e, F = energy_forces(x.reshape(n, 3), types, H)
        return e, -F.reshape(-1)

    res = so.minimize(fun, pos.reshape(-1), jac=True, method="L-BFGS-B",
                      options={"maxiter": 20000, "gtol": 1e-9, "ftol": 0, "maxcor": 30})
    x = res.x.reshape(n, 3)
    if newton:
        T = np.zeros((3 * n, 3))
        for q in range(3):
            T[q::3, q] = 1 / np.sqrt(n)
        for _ in range(20):
            e, F = energy_forces(x, types, H)
            if np.abs(F).max() < ftol:
                break
            M = dense_hessian(x, types, H) + T @ T.T
            dx = np.linalg.solve(M, F.reshape(-1))
            x = x + dx.reshape(n, 3)
    e, F = energy_forces(x, types, H)
    return x, np.linalg.norm(F, axis=1).max()


def random_start(n, rho=1.2, seed=0, dmin=0.8):
    rng = np.random.default_rng(seed)
    L = (n / rho) ** (1 / 3)
    pos = []
    while len(pos) < n:
        p = rng.random(3) * L
        if pos:
            d = np.array(pos) - p
            d -= L * np.round(d / L)
            if np.min(np.einsum("ij,ij->i", d, d)) < dmin**2:
                continue
        pos.append(p)
    types = np.zeros(n, int)
    types[int(0.8 * n):] = 1
    rng.shuffle(types)
    return np.array(pos), types, np.diag([L, L, L])


@functools.lru_cache(maxsize=4)
def inherent_structure(n=300, seed=0):
    pos, types, H = random_start(n, seed=seed)
    x, fmax = minimize(pos, types, H)
    assert fmax < 1e-10, fmax
    return x, types, H
