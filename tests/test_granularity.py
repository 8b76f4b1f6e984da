"""Landscape granularity of the sticky spheres (seed 003, Kapteijns et al. 2021, Fig. 5d): at
comparable viscosity the inherent-structure (IS) transition rate falls steeply with density.

A small version of ``benchmarks/seed003_granularity.py``: N = 250 (the benchmark uses 1000,
the paper 3000–4000) at the benchmark's state points of comparable viscosity, T = 1.1 at
ρ = 0.6 and T = 6.8 at ρ = 0.95 (τ_α/t0 ≈ 22 and 20 there, F_s(q_max) = 0.2 on the large
species, t0 = a0/√T). Each liquid is melted, equilibrated for ≈ 5 τ_α and then quenched
(FIRE) every Δ = 0.1 t_ballistic, 40 times. The benchmark measured (N = 1000, Δ = 0.01
t_ballistic) a reduced rate Γ·t_ballistic·N0/N ≈ 70 at ρ = 0.6 and ≈ 2 at ρ = 0.95. With
N = 250 a quench interval then changes the IS with probability ≈ 1 − exp(−70 · 0.1/4) ≈ 0.8
at ρ = 0.6 and ≈ 1 − exp(−2 · 0.1/4) ≈ 0.05 at ρ = 0.95 (seeds 3, 4, 5 gave 33, 24, 26 and
0, 2, 0 changes out of 39), so the checks below have a margin, yet fail if the ordering is
lost (equal rates, a reversed ordering, or quenches that do not find reproducible minima so
that every interval counts as a transition at both densities).
"""

from __future__ import annotations

import math

import pytest

import glassrs as gr

N = 250
INTERVAL = 0.1  # in t_ballistic
QUENCHES = 40


def _rate(name: str, T: float, tau_alpha: float, seed: int) -> dict:
    p = gr.models.preset(name)
    eq = int(round(5 * tau_alpha / p.dt))
    liquid = gr.md.run(p.model, n=N, T=T, density=p.density, dt=p.dt, tdamp=p.tdamp, seed=seed,
                       melt_T=2 * T, melt_steps=2000, equilibrate=eq, steps=0, n_threads=1)
    start = liquid[-1]
    start.velocities = liquid.last_velocities
    delta = INTERVAL * p.t_ballistic(T)
    k = max(1, math.ceil(delta / p.dt - 1e-9))
    run = gr.md.run(p.model, T=T, dt=delta / k, tdamp=p.tdamp, seed=seed, start=start, equilibrate=0,
                    steps=(QUENCHES - 1) * k, every=k, quench_every=k, n_threads=1)
    return gr.params(run.inherent)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sticky_sphere_is_rate_falls_with_density():
    low = _rate("seed003-ss-0.6", 1.1, 25.0, seed=3)     # τ_α ≈ 25 at T = 1.1 (benchmark scan)
    high = _rate("seed003-ss-0.95", 6.8, 7.6, seed=3)    # τ_α ≈ 7.6 at T = 6.8
    intervals = QUENCHES - 1
    # ρ = 0.6: granular — most quench intervals change the inherent structure
    assert low["n_transitions"] >= 0.4 * intervals, (low["n_transitions"], intervals)
    # ρ = 0.95: the IS changes rarely at comparable viscosity
    assert high["n_transitions"] <= 0.2 * intervals, (high["n_transitions"], intervals)
    # and the reduced rates (same interval in t_ballistic at both densities) differ ≥ 5×
    assert low["gamma_reduced"] > 5 * high["gamma_reduced"], (low["gamma_reduced"], high["gamma_reduced"])
