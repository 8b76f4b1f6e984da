"""Fits (definitions §5): every fit returns a :class:`FitResult` with parameters, standard errors
(from the covariance of the least-squares fit) and, on request, bootstrap confidence intervals.

Conventions: temperatures T in ε/k_B, times τ in the model's time unit; fits of relaxation times
are done on ln τ (relative errors matter, τ spans decades).

* :func:`linear` — y = a + b x (e.g. SOP vs T: (βΦ)⁻¹ = (βΦ0)⁻¹ + γ T).
* :func:`arrhenius` — τ = τ0 exp(E/T).
* :func:`vft` — τ = τ0 exp[T_VFT / (K_VFT (T − T_VFT))], fragility K_VFT (seed 000 Eq. 11).
* :func:`master_equation` — τ = τ0 exp[C′/T + B′/(T S(T))] with S(T) given per point (seed 002).
* :func:`mesoelastic` — ln(τ/t0) = (ℓ̃ a0)² κ/T + ln t̃, a0 = (V/N)^{1/d}, t0 = a0/√T (natural log; seed 003).
* :func:`apparent_barrier` — ΔE^ma = T ln(τ/τ0).
* :func:`ornstein_zernike` — S4(k) = χ4(0)/(1 + (kξ4)²), the dynamic length ξ4.
* :func:`macroscopic_barriers` — paper 000's chain from τ_α(T) and (βΦ)⁻¹(T): VFT, γ, ΔE^ma(T),
  A′, B′ (and A, B), the check −B′/A′ = γT_VFT, VFT in terms of Δ((βΦ)⁻¹) and its master plot,
  with bootstrap intervals over independent units (configurations, runs, time blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import polars as pl
from scipy import optimize

__all__ = [
    "FitResult", "linear", "arrhenius", "vft", "master_equation", "mesoelastic", "apparent_barrier",
    "ornstein_zernike", "macroscopic_barriers", "MacroscopicBarriers",
]


@dataclass
class FitResult:
    """Best-fit parameters with 1σ standard errors; ``ci`` holds bootstrap (low, high) intervals."""

    model: str
    params: dict[str, float]
    stderr: dict[str, float]
    cov: np.ndarray
    n: int
    func: Callable[..., np.ndarray] = field(repr=False)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    level: float | None = None

    def __call__(self, x):
        """Evaluate the fitted model at ``x``."""
        return self.func(np.asarray(x, float), *self.params.values())

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    def to_polars(self) -> pl.DataFrame:
        """One row per parameter: model, parameter, value, stderr, ci_low, ci_high."""
        names = list(self.params)
        return pl.DataFrame({
            "model": [self.model] * len(names),
            "parameter": names,
            "value": [self.params[k] for k in names],
            "stderr": [self.stderr[k] for k in names],
            "ci_low": [self.ci.get(k, (np.nan, np.nan))[0] for k in names],
            "ci_high": [self.ci.get(k, (np.nan, np.nan))[1] for k in names],
        })


def _clean(*arrays, names):
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = len(out[0])
    for a, nm in zip(out, names):
        if len(a) != n:
            raise ValueError(f"{nm} has {len(a)} values, {names[0]} has {n}")
    ok = np.all([np.isfinite(a) for a in out], axis=0)
    if ok.sum() < n:
        bad = np.flatnonzero(~ok)
        raise ValueError(f"non-finite input at positions {bad.tolist()} ({', '.join(names)})")
    return out


def _bootstrap(fit_once: Callable[[np.ndarray], np.ndarray], n: int, names, bootstrap: int, level: float,
               seed: int, model: str) -> dict[str, tuple[float, float]]:
    """Percentile intervals of parameters refitted on resampled points."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(bootstrap):
        k = rng.integers(0, n, n)
        try:
            draws.append(fit_once(k))
        except (RuntimeError, np.linalg.LinAlgError, ValueError):
            continue
    if len(draws) < 0.5 * bootstrap:
        raise RuntimeError(f"{model} bootstrap: only {len(draws)} of {bootstrap} resamples could be fitted")
    lo, hi = np.percentile(np.array(draws), [50 * (1 - level), 50 * (1 + level)], axis=0)
    return {nm: (float(a), float(b)) for nm, a, b in zip(names, lo, hi)}


def _result(model, names, popt, pcov, n, f, ci=None, level=None) -> FitResult:
    if n > len(names):
        err = np.sqrt(np.clip(np.diag(pcov), 0, None))
    else:  # exactly determined: no residual degrees of freedom
        err = np.full(len(names), np.nan)
        pcov = np.full((len(names), len(names)), np.nan)
    return FitResult(model, dict(zip(names, map(float, popt))), dict(zip(names, map(float, err))),
                     pcov, n, f, ci or {}, level)


def _linear_model(model: str, A: np.ndarray, y: np.ndarray, names, f, sigma, bootstrap, level, seed) -> FitResult:
    """Least squares y ≈ A p (exact solution); covariance scaled by the residual variance
    (as scipy's curve_fit with absolute_sigma=False)."""
    n, m = A.shape
    if n < m:
        raise ValueError(f"{model} fit needs at least {m} points, got {n}")
    w = np.ones(n) if sigma is None else 1.0 / np.asarray(sigma, float) ** 2

    def solve(k):
        Aw = A[k] * np.sqrt(w[k])[:, None]
        yw = y[k] * np.sqrt(w[k])
        if np.linalg.matrix_rank(Aw) < m:
            raise ValueError("degenerate resample")
        p, *_ = np.linalg.lstsq(Aw, yw, rcond=None)
        return p

    allk = np.arange(n)
    p = solve(allk)
    r = (y - A @ p) * np.sqrt(w)
    dof = n - m
    cov = np.linalg.inv((A * w[:, None]).T @ A) * ((r @ r) / dof if dof > 0 else np.nan)
    ci = _bootstrap(solve, n, names, bootstrap, level, seed, model) if bootstrap else {}
    return _result(model, names, p, cov, n, f, ci, level if bootstrap else None)


def linear(x, y, *, sigma=None, bootstrap: int = 0, level: float = 0.95, seed: int = 0) -> FitResult:
    """y = intercept + slope·x (ordinary or weighted least squares)."""
    x, y = _clean(x, y, names=("x", "y"))
    if len(np.unique(x)) < 2:
        raise ValueError("linear fit needs at least two distinct x values")
    f = lambda x, intercept, slope: intercept + slope * x  # noqa: E731
    A = np.column_stack([np.ones_like(x), x])
    return _linear_model("linear", A, y, ["intercept", "slope"], f, sigma, bootstrap, level, seed)


def arrhenius(T, tau, *, bootstrap: int = 0, level: float = 0.95, seed: int = 0) -> FitResult:
    """ln τ = ln τ0 + E/T. Parameters: ``ln_tau0``, ``E`` (energy units)."""
    T, tau = _clean(T, tau, names=("T", "tau"))
    if np.any(tau <= 0) or np.any(T <= 0):
        raise ValueError("Arrhenius fit needs positive T and τ")
    f = lambda T, ln_tau0, E: ln_tau0 + E / T  # noqa: E731
    A = np.column_stack([np.ones_like(T), 1.0 / T])
    return _linear_model("arrhenius", A, np.log(tau), ["ln_tau0", "E"], f, None, bootstrap, level, seed)


def vft(T, tau, *, p0: Sequence[float] | None = None, bootstrap: int = 0, level: float = 0.95,
        seed: int = 0) -> FitResult:
    """τ = τ0 exp[T_VFT/(K_VFT (T − T_VFT))], fitted on ln τ.

    Parameters: ``ln_tau0``, ``K_VFT`` (kinetic fragility), ``T_VFT`` (< min T). Needs ≥ 3 points.
    """
    T, tau = _clean(T, tau, names=("T", "tau"))
    if np.any(tau <= 0) or np.any(T <= 0):
        raise ValueError("VFT fit needs positive T and τ")
    if np.unique(T).size < 3:
        raise ValueError(f"VFT fit needs at least 3 distinct temperatures T (3 parameters), got "
                         f"{np.unique(T).size} distinct among {T.size}: {sorted(set(T.tolist()))}")
    y = np.log(tau)

    def f(T, ln_tau0, K, T0):
        return ln_tau0 + T0 / (K * (T - T0))

    if p0 is None:  # start from an Arrhenius-like guess with T0 well below the data
        T0 = 0.5 * T.min()
        A = np.vstack([np.ones_like(T), 1.0 / (T - T0)]).T
        (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
        p0 = [a, T0 / b if b > 0 else 1.0, T0]
    names = ["ln_tau0", "K_VFT", "T_VFT"]
    if len(T) < 3:
        raise ValueError(f"vft fit needs at least 3 points, got {len(T)}")

    try:
        popt, pcov = optimize.curve_fit(f, T, y, p0=list(p0), maxfev=20000, xtol=1e-15, ftol=1e-15)
    except RuntimeError as e:
        raise RuntimeError(f"VFT fit did not converge: {e}") from e
    boot = (lambda k: optimize.curve_fit(f, T[k], y[k], p0=popt, maxfev=20000)[0])
    ci = _bootstrap(boot, len(T), names, bootstrap, level, seed, "vft") if bootstrap else {}
    r = _result("vft", names, popt, pcov, len(T), f, ci, level if bootstrap else None)
    if not r.params["T_VFT"] < T.min():
        raise RuntimeError(f"VFT fit gave T_VFT = {r.params['T_VFT']:.4g} ≥ min T = {T.min():.4g}: not a valid "
                           "fit; add lower temperatures or pass p0")
    return r


def master_equation(T, tau, S, *, bootstrap: int = 0, level: float = 0.95, seed: int = 0) -> FitResult:
    """ln τ = ln τ0 + C′/T + B′/(T S) with the softness S(T) given at each T (seed 002)."""
    T, tau, S = _clean(T, tau, S, names=("T", "tau", "S"))
    y = np.log(tau)
    X = np.column_stack([T, S])

    def f(X, ln_tau0, C, B):
        X = np.atleast_2d(X)
        return ln_tau0 + C / X[:, 0] + B / (X[:, 0] * X[:, 1])

    A = np.column_stack([np.ones_like(T), 1 / T, 1 / (T * S)])
    return _linear_model("master_equation", A, y, ["ln_tau0", "C_prime", "B_prime"], f, None, bootstrap,
                         level, seed)


def mesoelastic(T, tau, kappa, *, density: float, dim: int = 3, bootstrap: int = 0, level: float = 0.95,
                seed: int = 0) -> FitResult:
    """ln(τ_α/t0) = (ℓ̃ a0)² κ/T + ln t̃ with a0 = (V/N)^{1/d} = ρ^{-1/d} and t0 = a0/√T
    (Kapteijns et al. 2021, Eq. 3: τ_α = t̃ t0 exp[ΔE/T] with ΔE = (ℓ̃ a0)² κ). The logarithm is
    natural: base 10 would give ℓ̃ too small by √ln 10.

    ``T`` (ε/k_B), ``tau`` (τ_α, time units), ``kappa`` (mean dipole stiffness κ(T), ε/σ²) per
    state point; ``density`` ρ (σ^{-d}). Parameters: ``ln_t`` (intercept ln t̃), ``ell2`` (slope
    (ℓ̃ a0)², σ²) and the dimensionless ``t_tilde`` = exp(ln_t) and ``ell_tilde`` = √ell2 / a0
    (standard errors by the delta method; bootstrap intervals, when requested, transformed from
    those of ln_t and ell2, which is exact for these monotonic maps).
    """
    T, tau, kappa = _clean(T, tau, kappa, names=("T", "tau", "kappa"))
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, got {dim}")
    if not (float(density) > 0 and np.isfinite(density)):
        raise ValueError(f"density must be positive, got {density}")
    if np.any(tau <= 0) or np.any(T <= 0):
        raise ValueError("the mesoelastic fit needs positive T and τ_α")
    a0 = float(density) ** (-1.0 / dim)
    t0 = a0 / np.sqrt(T)
    r = linear(kappa / T, np.log(tau / t0), bootstrap=bootstrap, level=level, seed=seed)
    ln_t, ell2 = r.params["intercept"], r.params["slope"]
    se_ln, se_ell2 = r.stderr["intercept"], r.stderr["slope"]
    t_tilde = float(np.exp(ln_t))
    ell_tilde = float(np.sqrt(ell2) / a0) if ell2 > 0 else float("nan")
    p = {"ln_t": ln_t, "ell2": ell2, "t_tilde": t_tilde, "ell_tilde": ell_tilde}
    e = {"ln_t": se_ln, "ell2": se_ell2, "t_tilde": t_tilde * se_ln,
         "ell_tilde": se_ell2 / (2 * np.sqrt(ell2) * a0) if ell2 > 0 else float("nan")}
    ci = {}
    if r.ci:
        lo, hi = r.ci["intercept"]
        ci["ln_t"], ci["t_tilde"] = (lo, hi), (float(np.exp(lo)), float(np.exp(hi)))
        lo, hi = r.ci["slope"]
        ci["ell2"] = (lo, hi)
        ci["ell_tilde"] = tuple(float(np.sqrt(v) / a0) if v > 0 else float("nan") for v in (lo, hi))
    out = FitResult("mesoelastic", p, e, r.cov, r.n, lambda x, a, b, *_: a + b * x, ci, r.level)
    return out


def apparent_barrier(T, tau, tau0: float) -> np.ndarray:
    """ΔE^ma = T ln(τ/τ0) (energy units) for each temperature."""
    T, tau = _clean(T, tau, names=("T", "tau"))
    return T * np.log(tau / tau0)


def ornstein_zernike(k, s4, *, sigma=None, bootstrap: int = 0, level: float = 0.95, seed: int = 0) -> FitResult:
    """S4(k) = χ0 / (1 + (k ξ)²), least squares on S4 (weighted by 1/sigma² when given; the
    covariance scaled by the residual variance, as the other fits).

    ``k`` (σ⁻¹, > 0), ``s4`` (dimensionless) per shell. Parameters ``chi4_0`` (the k → 0 limit,
    dimensionless) and ``xi4`` (σ, ≥ 0). The starting point is the line 1/S4 = 1/χ0 + (ξ²/χ0) k².
    Needs ≥ 2 points (standard errors NaN with exactly 2).
    """
    k, s4 = _clean(k, s4, names=("k", "s4"))
    if np.any(k <= 0):
        raise ValueError("the Ornstein-Zernike fit needs k > 0 (leave out the k = 0 shell)")
    if len(k) < 2 or np.unique(k).size < 2:
        raise ValueError(f"the Ornstein-Zernike fit needs at least 2 distinct k, got {np.unique(k).size}")
    sig = None if sigma is None else np.asarray(sigma, float).ravel()
    if sig is not None and (len(sig) != len(k) or not np.all(np.isfinite(sig) & (sig > 0))):
        sig = None

    def f(k, chi4_0, xi4):
        return chi4_0 / (1.0 + (k * xi4) ** 2)

    def start(kk, yy):
        ok = yy > 0
        if ok.sum() >= 2 and np.unique(kk[ok]).size >= 2:
            b, a = np.polyfit(kk[ok] ** 2, 1.0 / yy[ok], 1)
            if a > 0 and b > 0:
                return [1.0 / a, float(np.sqrt(b / a))]
        return [float(np.max(yy)), 1.0 / float(np.median(kk))]

    def fit_once(idx):
        p, _ = optimize.curve_fit(f, k[idx], s4[idx], p0=start(k[idx], s4[idx]),
                                  sigma=None if sig is None else sig[idx], maxfev=20000)
        return np.array([p[0], abs(p[1])])

    names = ["chi4_0", "xi4"]
    try:
        popt, pcov = optimize.curve_fit(f, k, s4, p0=start(k, s4), sigma=sig, maxfev=20000)
    except RuntimeError as e:
        raise RuntimeError(f"Ornstein-Zernike fit did not converge: {e}") from e
    popt = np.array([popt[0], abs(popt[1])])
    ci = _bootstrap(fit_once, len(k), names, bootstrap, level, seed, "ornstein_zernike") if bootstrap else {}
    return _result("ornstein_zernike", names, popt, pcov, len(k), f, ci, level if bootstrap else None)


@dataclass
class MacroscopicBarriers:
    """Result of :func:`macroscopic_barriers`.

    barriers : per temperature: T, n_units, tau_alpha, sop (means over units), delta_sop
        Δ((βΦ)⁻¹) = sop − (βΦ0)⁻¹, inv_delta_sop, delta_e_ma (ε) with ci_low/ci_high, and the
        master-plot coordinates x_T = T_VFT/(K_VFT (T − T_VFT)), y_T = ln(τ_α/τ0) (Eq. 11) and
        x_sop = Δ_VFT/(K_sop (Δ − Δ_VFT)), y_sop = ln(τ_α/τ0,sop) (Eq. 17): on the master plot
        y = x; unit and level (the resampled unit and the interval's coverage).
    parameters : one row per parameter: parameter, value, stderr (of the fit that gives it; NaN
        for derived ratios), ci_low, ci_high (percentile bootstrap), n_temperatures, n_units,
        unit, level, n_failed, warning.
    """

    barriers: pl.DataFrame
    parameters: pl.DataFrame


_MACRO_NAMES = ("ln_tau0", "K_VFT", "T_VFT", "sop0", "gamma", "A_prime", "B_prime", "A", "B", "gamma_T_VFT",
                "minus_B_prime_over_A_prime", "B_over_A", "A_prime_vft", "B_prime_vft", "ln_tau0_sop", "K_VFT_sop",
                "delta_sop_VFT")


def _macro_chain(T: np.ndarray, tau: np.ndarray, sop: np.ndarray, p0=None, p0_sop=None) -> tuple[dict, dict, dict]:
    """One pass of the chain on per-T means: (values, stderrs, per-T arrays)."""
    v = vft(T, tau, p0=p0)
    ln_tau0, K, TV = v.params["ln_tau0"], v.params["K_VFT"], v.params["T_VFT"]
    line = linear(T, sop)
    sop0, gamma = line.params["intercept"], line.params["slope"]
    delta = sop - sop0
    if np.any(delta <= 0):
        raise ValueError("Δ((βΦ)⁻¹) = sop − (βΦ0)⁻¹ ≤ 0 at some temperature: the SOP does not grow linearly with T")
    de = T * (np.log(tau) - ln_tau0)
    if np.any(de <= 0):
        raise ValueError("ΔE^ma ≤ 0 at some temperature (τ_α ≤ τ0)")
    inv = 1.0 / delta
    lp = linear(inv, 1.0 / de)
    la = linear(inv, de)
    vs = vft(delta, tau, p0=p0_sop if p0_sop is not None else [ln_tau0, K, gamma * TV])
    val = {"ln_tau0": ln_tau0, "K_VFT": K, "T_VFT": TV, "sop0": sop0, "gamma": gamma,
           "A_prime": lp.params["intercept"], "B_prime": lp.params["slope"], "A": la.params["intercept"],
           "B": la.params["slope"], "gamma_T_VFT": gamma * TV,
           "minus_B_prime_over_A_prime": -lp.params["slope"] / lp.params["intercept"],
           "B_over_A": la.params["slope"] / la.params["intercept"], "A_prime_vft": K / TV, "B_prime_vft": -gamma * K,
           "ln_tau0_sop": vs.params["ln_tau0"], "K_VFT_sop": vs.params["K_VFT"], "delta_sop_VFT": vs.params["T_VFT"]}
    nan = float("nan")
    err = {"ln_tau0": v.stderr["ln_tau0"], "K_VFT": v.stderr["K_VFT"], "T_VFT": v.stderr["T_VFT"],
           "sop0": line.stderr["intercept"], "gamma": line.stderr["slope"], "A_prime": lp.stderr["intercept"],
           "B_prime": lp.stderr["slope"], "A": la.stderr["intercept"], "B": la.stderr["slope"],
           "ln_tau0_sop": vs.stderr["ln_tau0"], "K_VFT_sop": vs.stderr["K_VFT"], "delta_sop_VFT": vs.stderr["T_VFT"]}
    err = {k: err.get(k, nan) for k in _MACRO_NAMES}
    Ks, DV = vs.params["K_VFT"], vs.params["T_VFT"]
    per_t = {"delta_sop": delta, "inv_delta_sop": inv, "delta_e_ma": de,
             "x_T": TV / (K * (T - TV)), "y_T": np.log(tau) - ln_tau0,
             "x_sop": DV / (Ks * (delta - DV)), "y_sop": np.log(tau) - vs.params["ln_tau0"]}
    return val, err, per_t


def macroscopic_barriers(data: pl.DataFrame, *, tau: str = "tau_alpha", sop: str = "sop_macro",
                         unit: str = "config", n_boot: int = 1000, level: float = 0.95, seed: int = 0,
                         p0: Sequence[float] | None = None) -> MacroscopicBarriers:
    """Paper 000's macroscopic barrier analysis (Eqs. 11, 16–22; Table II; Figs. 1, 3, 4).

    ``data``: rows with columns ``T`` (ε/k_B), ``tau`` (τ_α, time units) and ``sop`` (the
    macroscopic SOP (βΦ)⁻¹, dimensionless), one row (or several, averaged) per independent unit
    (column ``unit``, default ``config``; absent = one unit per T) and temperature. Per T the
    unit values are averaged; then, on the means:

    1. VFT τ_α(T) (:func:`vft`): ln τ0, K_VFT, T_VFT;
    2. (βΦ)⁻¹ = (βΦ0)⁻¹ + γT (:func:`linear`): sop0 = (βΦ0)⁻¹, γ (k_B/ε);
    3. Δ((βΦ)⁻¹) = (βΦ)⁻¹ − (βΦ0)⁻¹ and ΔE^ma = T ln(τ_α/τ0) (ε, :func:`apparent_barrier`'s rule);
    4. 1/ΔE^ma = A′ + B′/Δ((βΦ)⁻¹) (Eq. 22; A′ in 1/ε, B′ dimensionless per ε) and the
       approximate ΔE^ma = A + B/Δ((βΦ)⁻¹) (Eq. 21), both :func:`linear`;
    5. the check −B′/A′ = γT_VFT (the sign of B′ is kept as fitted, so B′ < 0), and the VFT
       predictions A′ = K_VFT/T_VFT (``A_prime_vft``), B′ = −γK_VFT (``B_prime_vft``);
    6. VFT in terms of the SOP (Eq. 17): :func:`vft` of τ_α against Δ((βΦ)⁻¹), giving
       ``K_VFT_sop``, ``delta_sop_VFT`` (Δ((βΦ)⁻¹)_VFT) and ``ln_tau0_sop``; equal to K_VFT and
       γT_VFT when Δ = γT exactly.

    Intervals: percentile bootstrap over the units, resampled within each temperature with
    τ_α and the SOP of a unit kept together (the same unit indices for both columns), the whole
    chain refitted on each resample (``n_failed`` counts failed refits). The resamples are drawn
    as in :mod:`glassrs.campaign.reduce` (one generator from ``seed`` and the τ_α column; per T
    in ascending order, ``n_boot`` resamples of its units), so the τ_α resamples are those of
    :func:`glassrs.uncertainty.vft` and :func:`glassrs.uncertainty.apparent_barriers` with the
    same ``tau``, ``unit`` and ``seed``. With a single unit at some T there is no interval.
    ``unit`` is recorded by name as elsewhere (``"configurations"``, ``"time blocks"``,
    ``"runs"``, ``"inherent structures"``; another column by its name). ``warning``: ≤ 2
    degrees of freedom of the VFT fit, single units, > 10 % failed refits.
    """
    from glassrs.campaign import reduce as _R
    from glassrs.tables import make_table

    for c in ("T", tau, sop):
        if c not in data.columns:
            raise ValueError(f"macroscopic_barriers needs column '{c}' (columns: {data.columns})")
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    _R._check(max(int(n_boot), 1), level, seed)
    ucol = unit if unit in data.columns else None
    d = data.select(pl.col("T").cast(pl.Float64), (pl.col(ucol) if ucol else pl.lit(0).alias("_unit")),
                    pl.col(tau).alias("_tau"), pl.col(sop).alias("_sop"))
    keydf, arrays = _R._unit_values(d.lazy(), ["_tau", "_sop"], ["T"], [ucol or "_unit"])
    Ts = keydf["T"].to_numpy() if arrays else np.empty(0)
    if len(Ts) < 4:
        raise ValueError(f"the barrier analysis needs at least 4 temperatures (VFT has 3 parameters), got {len(Ts)}")
    tau_m, sop_m = np.array([a.mean(axis=0) for a in arrays]).T
    val, err, per_t = _macro_chain(Ts, tau_m, sop_m, p0=p0)
    unit_label = _R._label([ucol], None) if ucol else "none (one value per T)"
    what = unit_label[:-1] if unit_label.endswith("s") else unit_label
    warn = [f"VFT: {w}" for w in _R._dof_warning(len(Ts), 3, "VFT")]
    single = _R._single_warning(Ts, arrays, what if ucol else "value")
    draws, failed = [], 0
    if not single and n_boot:
        p0b = [val["ln_tau0"], val["K_VFT"], val["T_VFT"]]
        p0s = [val["ln_tau0_sop"], val["K_VFT_sop"], val["delta_sop_VFT"]]
        M = _R._boot_T_means(arrays, int(n_boot), _R._rng(seed, ("vft", tau)))  # (n_boot, n_T, [τ, sop])
        import warnings as _w
        with _w.catch_warnings():
            _w.simplefilter("ignore")
            for m in M:
                try:
                    vb, _, pb = _macro_chain(Ts, m[:, 0], m[:, 1], p0=p0b, p0_sop=p0s)
                except _R._FIT_ERRORS:
                    failed += 1
                    continue
                draws.append([vb[k] for k in _MACRO_NAMES] + list(pb["delta_e_ma"]))
    warn += [*single, *_R._failed_warning(failed, int(n_boot))]
    n_units = int(sum(len(a) for a in arrays))
    lo, hi = _R._quantiles(np.array(draws) if draws else None, level, len(_MACRO_NAMES) + len(Ts))
    w = "; ".join(warn) or None
    ptab = pl.DataFrame({"parameter": list(_MACRO_NAMES), "value": [float(val[k]) for k in _MACRO_NAMES],
                         "stderr": [float(err[k]) for k in _MACRO_NAMES], "ci_low": lo[:len(_MACRO_NAMES)],
                         "ci_high": hi[:len(_MACRO_NAMES)], "n_temperatures": len(Ts), "n_units": n_units,
                         "unit": unit_label, "level": float(level), "n_failed": failed, "warning": w},
                        schema_overrides={"warning": pl.String})
    btab = pl.DataFrame({"T": Ts, "n_units": [len(a) for a in arrays], "tau_alpha": tau_m, "sop": sop_m, **per_t,
                         "ci_low": lo[len(_MACRO_NAMES):], "ci_high": hi[len(_MACRO_NAMES):]})
    btab = btab.with_columns(pl.lit(unit_label).alias("unit"), pl.lit(float(level)).alias("level"))
    btab = btab.select("T", "n_units", "tau_alpha", "sop", "delta_sop", "inv_delta_sop", "delta_e_ma", "ci_low",
                       "ci_high", "x_T", "y_T", "x_sop", "y_sop", "unit", "level")
    prm = {"kind": "macroscopic_barriers", "tau": tau, "sop": sop, "unit": unit_label, "n_boot": int(n_boot),
           "level": level, "seed": int(seed), "interval": "percentile bootstrap over units within each T",
           "sign": "B_prime kept as fitted (negative); the check is -B'/A' = gamma T_VFT", "warning": w}
    return MacroscopicBarriers(barriers=make_table(btab, prm), parameters=make_table(ptab, prm))
