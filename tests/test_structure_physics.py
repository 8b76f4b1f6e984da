"""Physics check (slow): the SOP of Kob–Andersen at ρ = 1.2 grows linearly with T (definitions §5),
with γ close to the seed value 0.045 (approx closure, windows shared from the lowest T).
The full check with N = 1000 and five temperatures is benchmarks/physics_ka_sop.py."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr


@pytest.mark.slow
def test_ka_sop_linear_in_temperature():
    if not hasattr(gr, "md"):
        pytest.skip("the MD engine (glassrs.md) is not in this build")
    ka = gr.models.kob_andersen()
    temps = [0.6, 0.8, 1.0]
    trajs = [gr.md.run(ka, n=500, T=T, steps=4000, seed=3, melt_T=2.0, melt_steps=1000, equilibrate=6000, every=400)
             for T in temps]
    g = gr.structure.rdf(trajs[0], r_max=min(4.0, trajs[0].box.max_cutoff), dr=0.01)
    windows = gr.structure.find_windows(g)
    macro, mean = [], []
    for T, tr in zip(temps, trajs):
        p = gr.params(gr.structure.local(tr, ka, T=T, windows=windows, e_pair=False))
        macro.append(p["sop_macro"])
        mean.append(p["sop_mean"])
    assert np.all(np.diff(macro) > 0) and np.all(np.diff(mean) > 0)
    fit = gr.structure.sop_temperature_fit(temps, macro)
    resid = np.array(macro) - (fit["sop0"] + fit["gamma"] * np.array(temps))
    assert np.abs(resid).max() < 0.05 * (max(macro) - min(macro)) + 1e-3
    assert 0.035 < fit["gamma"] < 0.06, fit
