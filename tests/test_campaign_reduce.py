"""Campaign reductions (bootstrap over configurations / inherent structures) and the ``glass``
fit expressions, checked against direct numpy/scipy computations on synthetic tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

import glassrs as gr
from glassrs.campaign import reduce as R
from glassrs.campaign import schema

# VFT truth: τ = exp[ln_tau0 + T_VFT / (K (T − T_VFT))]
LN_TAU0, K_VFT, T_VFT = -1.0, 0.2, 0.3
TS = (0.45, 0.5, 0.6, 0.8)


def vft_tau(T, ln_tau0=LN_TAU0, K=K_VFT, T0=T_VFT):
    return np.exp(ln_tau0 + T0 / (K * (np.asarray(T, float) - T0)))


def table(quantity: str, rows: list[dict]) -> pl.LazyFrame:
    """A LazyFrame with the campaign schema of ``quantity`` (missing columns filled with null)."""
    full = schema.full_schema(quantity)
    return pl.DataFrame([{c: r.get(c) for c in full} for r in rows], schema=full).lazy()


def relaxation(Ts=TS, n_config=5, sigma=0.1, seed=0, systems=("KA",), species=("all",)) -> pl.LazyFrame:
    """τ_α = VFT(T) × lognormal noise (one draw per configuration, shared by its species)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in systems:
        for T in Ts:
            for c in range(n_config):
                tau = float(vft_tau(T) * np.exp(rng.normal(0, sigma))) if sigma else float(vft_tau(T))
                for sp in species:
                    rows.append(dict(system=s, T=T, config=c, species=sp, tau_alpha=tau, tau_fs=0.9 * tau,
                                     D=0.1 / tau, alpha2_peak_time=0.5 * tau, alpha2_peak=1.5, msd_at_peak=0.1))
    return table("relaxation", rows)


def per_config(lf, value, by):
    """Reference: per-group arrays of per-configuration means (plain Python/numpy)."""
    df = lf.collect()
    out: dict[tuple, dict[int, list[float]]] = {}
    for r in df.iter_rows(named=True):
        if r[value] is None or not np.isfinite(r[value]):
            continue
        out.setdefault(tuple(r[b] for b in by), {}).setdefault(r["config"], []).append(r[value])
    return {k: np.array([np.mean(v[c]) for c in sorted(v)]) for k, v in out.items()}


# ----------------------------------------------------------------------------- bootstrap_mean

def test_mean_is_numpy_mean_of_config_values():
    lf = relaxation(n_config=6, species=("all", "A"), systems=("KA", "WCA"))
    got = R.bootstrap_mean(lf, "tau_alpha", ["system", "T", "species"], n_boot=200)
    ref = per_config(lf, "tau_alpha", ["system", "T", "species"])
    assert got.height == len(ref) == 16
    assert got.columns == ["system", "T", "species", "mean", "ci_low", "ci_high", "n_units", "unit"]
    for r in got.iter_rows(named=True):
        v = ref[(r["system"], r["T"], r["species"])]
        assert r["mean"] == pytest.approx(v.mean(), rel=1e-12)
        assert r["n_units"] == 6 and r["unit"] == "configurations"
        assert v.min() <= r["ci_low"] < r["mean"] < r["ci_high"] <= v.max()
    # tau_alpha() is the same reduction; a DataFrame input works like a LazyFrame
    assert R.tau_alpha(lf.collect(), n_boot=200).equals(got)
    d = R.tau_alpha(lf, column="D", n_boot=200)
    for r in d.iter_rows(named=True):
        assert r["mean"] == pytest.approx(per_config(lf, "D", ["system", "T", "species"])[
            (r["system"], r["T"], r["species"])].mean(), rel=1e-12)


def _coverage(n_units: int, n_sets: int, seed: int) -> float:
    """Fraction of 95 % intervals covering the true mean (normal data) over n_sets datasets."""
    rng = np.random.default_rng(seed)
    mu, sd = 2.0, 0.5
    df = pl.DataFrame({"dataset": np.repeat(np.arange(n_sets), n_units),
                       "config": np.tile(np.arange(n_units), n_sets),
                       "x": rng.normal(mu, sd, n_sets * n_units)})
    got = R.bootstrap_mean(df.lazy(), "x", "dataset", n_boot=300, seed=seed)
    assert got.height == n_sets
    return float(((got["ci_low"] <= mu) & (mu <= got["ci_high"])).mean())


def test_coverage_of_95_percent_interval():
    # percentile bootstrap of a mean over 30 units: ≈ 0.935 expected
    cov = _coverage(30, 400, seed=3)
    assert 0.9 <= cov <= 0.99, cov


def test_few_units_undercover_as_documented():
    # with 5 configurations the percentile interval is too narrow (≈ 0.85, see the module notes)
    cov = _coverage(5, 400, seed=4)
    assert 0.75 <= cov <= 0.92, cov


def test_deterministic_and_independent_of_row_order_and_other_groups():
    lf = relaxation(n_config=7, species=("all", "A"))
    a = R.bootstrap_mean(lf, "tau_alpha", ["system", "T", "species"], n_boot=300, seed=5)
    b = R.bootstrap_mean(lf, "tau_alpha", ["system", "T", "species"], n_boot=300, seed=5)
    assert a.equals(b)
    shuffled = lf.collect().sample(fraction=1.0, shuffle=True, seed=9).lazy()
    assert R.bootstrap_mean(shuffled, "tau_alpha", ["system", "T", "species"], n_boot=300, seed=5).equals(a)
    only = R.bootstrap_mean(lf.filter(pl.col("species") == "A"), "tau_alpha", ["system", "T", "species"],
                            n_boot=300, seed=5)
    assert only.equals(a.filter(pl.col("species") == "A"))
    c = R.bootstrap_mean(lf, "tau_alpha", ["system", "T", "species"], n_boot=300, seed=6)
    assert not c["ci_low"].equals(a["ci_low"]) and c["mean"].equals(a["mean"])


def test_config_with_two_rows_is_averaged_first():
    df = pl.DataFrame({"g": ["x"] * 5, "config": [0, 0, 1, 2, 3], "v": [1.0, 3.0, 10.0, 20.0, 30.0]})
    got = R.bootstrap_mean(df, "v", "g", n_boot=500)
    assert got["n_units"][0] == 4
    assert got["mean"][0] == pytest.approx(np.mean([2.0, 10.0, 20.0, 30.0]), rel=1e-15)  # not 12.8 (row mean)
    # the bootstrap resamples the 4 per-config values: the interval lies within their range
    assert 2.0 <= got["ci_low"][0] < got["ci_high"][0] <= 30.0


def test_single_unit_gives_nan_interval_not_zero_width():
    df = pl.DataFrame({"g": ["a", "a", "b", "b"], "config": [0, 0, 0, 1], "v": [1.0, 2.0, 3.0, 5.0]})
    got = R.bootstrap_mean(df, "v", "g", n_boot=100).sort("g")
    a, b = got.row(0, named=True), got.row(1, named=True)
    assert a["n_units"] == 1 and a["mean"] == 1.5 and np.isnan(a["ci_low"]) and np.isnan(a["ci_high"])
    assert b["n_units"] == 2 and np.isfinite(b["ci_low"]) and b["ci_low"] < b["ci_high"]


def test_nan_values_dropped_and_empty_by():
    df = pl.DataFrame({"config": [0, 1, 2, 3], "v": [1.0, np.nan, None, 4.0]})
    got = R.bootstrap_mean(df, "v", None, n_boot=100)
    assert got.columns == ["mean", "ci_low", "ci_high", "n_units", "unit"]
    assert got["n_units"][0] == 2 and got["mean"][0] == 2.5


# ----------------------------------------------------------------------------- VFT

def test_vft_exact_on_noise_free_data():
    got = R.vft(relaxation(sigma=0.0), n_boot=50)
    assert got.columns == ["system", "species", "parameter", "value", "stderr", "ci_low", "ci_high",
                           "n_temperatures", "n_units", "unit", "n_failed", "warning"]
    v = dict(zip(got["parameter"], got["value"]))
    assert v["ln_tau0"] == pytest.approx(LN_TAU0, rel=1e-6)
    assert v["K_VFT"] == pytest.approx(K_VFT, rel=1e-6)
    assert v["T_VFT"] == pytest.approx(T_VFT, rel=1e-6)
    r = got.row(0, named=True)
    assert r["n_temperatures"] == 4 and r["n_units"] == 20 and r["unit"] == "configurations"
    assert r["warning"] == "4 temperatures: 1 degree of freedom" and r["n_failed"] == 0
    three = R.vft(relaxation(Ts=(0.45, 0.5, 0.6), sigma=0.0), n_boot=20)
    assert set(three["warning"]) == {"3 temperatures: 0 degrees of freedom"}
    assert three["stderr"].is_nan().all()  # exactly determined
    assert R.vft(relaxation(Ts=(0.45, 0.5, 0.55, 0.6, 0.7, 0.8), sigma=0.0), n_boot=20)["warning"].is_null().all()


def test_vft_recovers_parameters_within_interval_on_noisy_data():
    lf = relaxation(Ts=(0.42, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 1.0), n_config=8, sigma=0.1, seed=2)
    got = R.vft(lf, n_boot=300, seed=1)
    truth = {"ln_tau0": LN_TAU0, "K_VFT": K_VFT, "T_VFT": T_VFT}
    for r in got.iter_rows(named=True):
        assert r["ci_low"] <= truth[r["parameter"]] <= r["ci_high"], r
        assert r["ci_low"] < r["value"] < r["ci_high"]
    # the point fit is fits.vft on the configuration means
    means = R.tau_alpha(lf, n_boot=10).sort("T")
    ref = gr.fits.vft(means["T"].to_numpy(), means["mean"].to_numpy())
    for r in got.iter_rows(named=True):
        assert r["value"] == pytest.approx(ref.params[r["parameter"]], rel=1e-9)
        assert r["stderr"] == pytest.approx(ref.stderr[r["parameter"]], rel=1e-6)
    assert R.vft(lf, n_boot=300, seed=1).equals(got)


def test_vft_single_configuration_temperature_and_species_choice():
    lf = relaxation(n_config=4, species=("all", "A"))
    lf = lf.filter(~((pl.col("T") == 0.45) & (pl.col("config") > 0)))
    got = R.vft(lf, species=None, n_boot=50)
    assert sorted(set(got["species"])) == ["A", "all"]
    assert got["ci_low"].is_nan().all() and got["ci_high"].is_nan().all()
    assert all("a single configuration at T = 0.45: no interval" in w for w in got["warning"])
    assert got["n_units"].unique().to_list() == [13]
    with pytest.raises(ValueError, match="species present"):
        R.vft(lf, species="B")


def test_vft_failed_refits_are_skipped_and_counted(monkeypatch):
    real, calls = gr.fits.vft, []

    def flaky(T, tau, **kw):  # the fit of the means succeeds, then every 4th refit fails
        calls.append(1)
        if len(calls) > 1 and len(calls) % 4 == 0:
            raise RuntimeError("VFT fit did not converge (injected)")
        return real(T, tau, **kw)

    monkeypatch.setattr(gr.fits, "vft", flaky)
    got = R.vft(relaxation(n_config=6), n_boot=100)
    assert len(calls) == 101 and set(got["n_failed"]) == {25}
    assert all("25 of 100 bootstrap refits failed" in w for w in got["warning"])
    assert got["ci_low"].is_finite().all() and (got["ci_low"] < got["ci_high"]).all()


def test_target_temperature_exact_and_extrapolation_flag():
    lf = relaxation(sigma=0.0, n_config=3)
    T_in, T_out = 0.55, 0.40  # inside the measured 0.45–0.8, and colder than measured
    got = R.target_temperature(lf, "KA", [float(vft_tau(T_in)), float(vft_tau(T_out))], n_boot=50)
    assert got["T"][0] == pytest.approx(T_in, rel=1e-6) and not got["extrapolated"][0]
    assert got["T"][1] == pytest.approx(T_out, rel=1e-6) and got["extrapolated"][1]
    assert got["T_VFT"][0] == pytest.approx(T_VFT, rel=1e-6)
    assert got["tau_min"][0] == pytest.approx(vft_tau(0.8)) and got["tau_max"][0] == pytest.approx(vft_tau(0.45))
    assert got["n_units"][0] == 12 and got["unit"][0] == "configurations"


def test_target_temperature_interval_from_the_vft_refits():
    lf = relaxation(Ts=(0.42, 0.45, 0.5, 0.6, 0.8), n_config=6, sigma=0.1, seed=7)
    tau_t = float(vft_tau(0.5))
    got = R.target_temperature(lf, "KA", tau_t, n_boot=300, seed=2).row(0, named=True)
    fit = R.vft(lf, n_boot=300, seed=2)
    p = dict(zip(fit["parameter"], fit["value"]))
    assert got["K_VFT"] == p["K_VFT"] and got["T_VFT"] == p["T_VFT"]
    assert got["T"] == pytest.approx(p["T_VFT"] + p["T_VFT"] / (p["K_VFT"] * (np.log(tau_t) - p["ln_tau0"])))
    assert got["ci_low"] < got["T"] < got["ci_high"] and got["ci_low"] <= 0.5 <= got["ci_high"]
    assert not got["extrapolated"]
    with pytest.raises(ValueError, match="systems present"):
        R.target_temperature(lf, "nope", 10.0)


# ----------------------------------------------------------------------------- glass expressions

def test_glass_vft_in_lazy_group_by_equals_fits_vft():
    rng = np.random.default_rng(0)
    T = np.array([0.45, 0.5, 0.55, 0.6, 0.7, 0.8])
    rows = []
    for s, (l0, K, T0) in {"KA": (-1.0, 0.2, 0.3), "WCA": (-0.5, 0.25, 0.28)}.items():
        tau = vft_tau(T, l0, K, T0) * np.exp(rng.normal(0, 0.05, T.size))
        rows += [dict(system=s, T=t, tau=x) for t, x in zip(T, tau)]
    rows += [dict(system="short", T=0.5, tau=3.0), dict(system="short", T=0.6, tau=2.0),
             dict(system="short", T=0.7, tau=None)]
    lf = pl.LazyFrame(rows, schema={"system": pl.String, "T": pl.Float64, "tau": pl.Float64})
    q = lf.group_by("system").agg(pl.col("tau").glass.vft(pl.col("T")).alias("fit"))
    assert q.collect_schema()["fit"] == pl.Struct({
        "ln_tau0": pl.Float64, "K_VFT": pl.Float64, "T_VFT": pl.Float64, "ln_tau0_stderr": pl.Float64,
        "K_VFT_stderr": pl.Float64, "T_VFT_stderr": pl.Float64, "n": pl.Int64})
    got = {r["system"]: r for r in q.collect().unnest("fit").iter_rows(named=True)}
    for s in ("KA", "WCA"):
        sub = lf.filter(pl.col("system") == s).collect()
        ref = gr.fits.vft(sub["T"].to_numpy(), sub["tau"].to_numpy())
        assert got[s]["n"] == 6
        for k in ("ln_tau0", "K_VFT", "T_VFT"):
            assert got[s][k] == ref.params[k]
            assert got[s][f"{k}_stderr"] == ref.stderr[k]
    # fewer than 3 finite points: NaN parameters, no exception
    assert got["short"]["n"] == 2 and np.isnan(got["short"]["K_VFT"]) and np.isnan(got["short"]["T_VFT_stderr"])


def test_glass_linear_and_arrhenius_match_linregress():
    rng = np.random.default_rng(1)
    rows = []
    for g in range(3):
        T = np.linspace(0.45, 1.0, 8 + g)
        y = 0.3 + (0.05 + 0.01 * g) * T + rng.normal(0, 0.003, T.size)
        tau = np.exp(-1.0 + (2.0 + g) / T + rng.normal(0, 0.05, T.size))
        rows += [dict(g=g, T=a, y=b, tau=c) for a, b, c in zip(T, y, tau)]
    rows += [dict(g=9, T=0.5, y=1.0, tau=-1.0), dict(g=9, T=0.6, y=2.0, tau=1.0)]
    lf = pl.LazyFrame(rows)
    got = (lf.group_by("g").agg(pl.col("y").glass.linear("T").alias("lin"),
                                pl.col("tau").glass.arrhenius(pl.col("T")).alias("arr"))
           .sort("g").collect())
    for row in got.iter_rows(named=True):
        sub = lf.filter(pl.col("g") == row["g"]).collect()
        T, y, tau = (sub[c].to_numpy() for c in ("T", "y", "tau"))
        lin, arr = row["lin"], row["arr"]
        ref = sps.linregress(T, y)
        assert lin["slope"] == pytest.approx(ref.slope, rel=1e-10)
        assert lin["intercept"] == pytest.approx(ref.intercept, rel=1e-10)
        assert lin["n"] == len(T)
        if row["g"] == 9:  # 2 points: exact line, no stderr; τ ≤ 0: no Arrhenius fit
            assert np.isnan(lin["slope_stderr"]) and np.isnan(arr["E"]) and arr["n"] == 2
            continue
        assert lin["slope_stderr"] == pytest.approx(ref.stderr, rel=1e-8)
        assert lin["intercept_stderr"] == pytest.approx(ref.intercept_stderr, rel=1e-8)
        ra = sps.linregress(1 / T, np.log(tau))
        assert arr["E"] == pytest.approx(ra.slope, rel=1e-10)
        assert arr["ln_tau0"] == pytest.approx(ra.intercept, rel=1e-10)
        assert arr["E_stderr"] == pytest.approx(ra.stderr, rel=1e-8)
        assert arr["ln_tau0_stderr"] == pytest.approx(ra.intercept_stderr, rel=1e-8)
    # outside group_by the expressions aggregate the whole column
    one = lf.filter(pl.col("g") == 0).select(pl.col("y").glass.linear("T")).collect()
    assert one.height == 1 and one["y"].struct.field("n")[0] == 8


# ----------------------------------------------------------------------------- SOP, correlation, elastic, P_R

def test_sop_gamma_recovers_known_slopes():
    rng = np.random.default_rng(3)
    Ts = (0.45, 0.5, 0.6, 0.7, 0.8, 1.0)
    g, g0, gp, gp0 = 0.045, 0.30, 0.06, 0.25
    rows = []
    for noise in (0.0, 0.004):
        s = "exact" if noise == 0 else "noisy"
        for T in Ts:
            for c in range(6):
                for sp in ("all", "A"):
                    rows.append(dict(system=s, T=T, config=c, species=sp, s2_mean=-3.0, e_loc_mean=-7.0,
                                     sop_macro=g0 + g * T + noise * rng.normal(),
                                     sop_mean=gp0 + gp * T + noise * rng.normal()))
    lf = table("structure_summary", rows)
    got = R.sop_gamma(lf, n_boot=300)
    assert got.filter(pl.col("system") == "exact")["parameter"].to_list() == [
        "gamma_intercept", "gamma", "gamma_prime_intercept", "gamma_prime"]
    truth = {"gamma": g, "gamma_intercept": g0, "gamma_prime": gp, "gamma_prime_intercept": gp0}
    for r in got.iter_rows(named=True):
        assert r["species"] == "all" and r["n_units"] == 36 and r["n_temperatures"] == 6
        if r["system"] == "exact":
            assert r["value"] == pytest.approx(truth[r["parameter"]], rel=1e-9)
        else:
            assert r["ci_low"] <= truth[r["parameter"]] <= r["ci_high"], r
    # the noisy values are the least-squares line through the configuration means
    for col, slope, icpt in (("sop_macro", "gamma", "gamma_intercept"),
                             ("sop_mean", "gamma_prime", "gamma_prime_intercept")):
        ref = per_config(lf.filter((pl.col("system") == "noisy") & (pl.col("species") == "all")), col, ["T"])
        Tk = sorted(ref)
        b, a = np.polyfit([t[0] for t in Tk], [ref[t].mean() for t in Tk], 1)
        v = dict(zip(*got.filter(pl.col("system") == "noisy").select("parameter", "value")))
        assert v[slope] == pytest.approx(b, rel=1e-9) and v[icpt] == pytest.approx(a, rel=1e-9)


def test_correlation_mean_over_configs():
    rng = np.random.default_rng(4)
    rows = [dict(system="KA", T=T, config=c, species=sp, L=L, quantity=q, time=x * 10 * (1 + c),
                 t_over_tau_alpha=x, c_r=float(np.clip(0.4 - 0.2 * L + rng.normal(0, 0.05), -1, 1)), n=800)
            for T in (0.45, 0.6) for c in range(5) for sp in ("A", "B") for L in (0.0, 1.0)
            for q in ("sop", "e_loc") for x in (0.1, 1.0)]
    lf = table("correlation", rows)
    got = R.correlation(lf, n_boot=200)
    keys = ["system", "T", "species", "quantity", "L", "t_over_tau_alpha"]
    assert got.columns == [*keys, "mean", "ci_low", "ci_high", "n_units", "unit"]
    ref = per_config(lf, "c_r", keys)
    assert got.height == len(ref) == 32
    for r in got.iter_rows(named=True):
        assert r["mean"] == pytest.approx(ref[tuple(r[k] for k in keys)].mean(), rel=1e-12)
        assert r["n_units"] == 5 and r["ci_low"] < r["mean"] < r["ci_high"]


def test_elastic_over_inherent_structures():
    rng = np.random.default_rng(5)
    rows = []
    for T in (0.45, 0.6):
        for c in range(3):
            for b in range(2):
                for i in range(4):
                    rows.append(dict(system="KA", T=T, config=c, batch=b, index=i, time=10.0 * i,
                                     u_is=-7.0, G=float(15 + 5 * (0.6 - T) + rng.normal()),
                                     kappa=float(20 + rng.normal()), n_pairs=1000, fire_iterations=300))
    rows[0]["G"] = float("nan")  # a failed modulus: dropped for G only
    lf = table("inherent", rows)
    got = R.elastic(lf, n_boot=400)
    assert got.columns == ["system", "T", "quantity", "mean", "ci_low", "ci_high", "n_units", "unit"]
    df = lf.collect()
    for r in got.iter_rows(named=True):
        v = df.filter(pl.col("T") == r["T"])[r["quantity"]].to_numpy()
        v = v[np.isfinite(v)]
        assert r["unit"] == "inherent structures" and r["n_units"] == len(v)
        assert r["mean"] == pytest.approx(v.mean(), rel=1e-12)
        # percentile interval of a mean over n structures ≈ ±1.96 s/√n
        half = 1.96 * v.std(ddof=0) / np.sqrt(len(v))
        assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * half, rel=0.25)
    assert got.filter((pl.col("T") == 0.45) & (pl.col("quantity") == "G"))["n_units"][0] == 23
    by_config = R.elastic(lf, unit="config", n_boot=100)
    assert set(by_config["n_units"]) == {3} and set(by_config["unit"]) == {"configurations"}


def rearrangements(Ts, n_config, P0, dE, seed, n=1000, frames=5):
    rng = np.random.default_rng(seed)
    rows = []
    for T in Ts:
        for c in range(n_config):
            for f in range(frames):
                for sp, scale in (("A", 1.0), ("B", 0.5)):
                    p = scale * P0 * np.exp(-dE / T)
                    k = rng.binomial(n, p) if seed is not None else round(p * n)
                    rows.append(dict(system="KA", T=T, config=c, frame=f, time=float(f), species=sp, n=n,
                                     n_rearranging=int(k), p_c=0.1 + 0.01 * c))
    return table("rearrangements", rows)


def test_rearrangement_fraction_against_numpy():
    lf = rearrangements((0.45, 0.5, 0.6), 4, 0.5, 1.0, seed=6)
    got = R.rearrangement_fraction(lf, n_boot=300)
    assert got.columns == ["system", "T", "species", "p_c", "mean", "ci_low", "ci_high", "n_units", "unit"]
    df = lf.collect()
    for r in got.iter_rows(named=True):
        sub = df.filter((pl.col("T") == r["T"]) & (pl.col("species") == r["species"]))
        pr = [sub.filter(pl.col("config") == c)["n_rearranging"].sum() / sub.filter(pl.col("config") == c)["n"].sum()
              for c in range(4)]
        assert r["mean"] == pytest.approx(np.mean(pr), rel=1e-12)  # mean of per-config ratios
        assert r["n_units"] == 4 and r["ci_low"] < r["mean"] < r["ci_high"]
        assert r["p_c"] == pytest.approx(np.mean([0.1 + 0.01 * c for c in range(4)]))


def test_rearrangement_arrhenius_sign_and_values():
    Ts = (0.45, 0.5, 0.6, 0.8)
    exact = R.rearrangement_arrhenius(rearrangements(Ts, 3, 0.5, 1.0, seed=None, n=10**9, frames=1), n_boot=50)
    v = {(r["species"], r["parameter"]): r["value"] for r in exact.iter_rows(named=True)}
    assert v[("A", "Delta_E")] == pytest.approx(1.0, rel=1e-6) and v[("B", "Delta_E")] == pytest.approx(1.0, rel=1e-6)
    assert v[("A", "ln_P0")] == pytest.approx(np.log(0.5), rel=1e-6)
    assert v[("B", "ln_P0")] == pytest.approx(np.log(0.25), rel=1e-6)

    lf = rearrangements(Ts, 12, 0.5, 1.0, seed=7)
    got = R.rearrangement_arrhenius(lf, species="A", n_boot=400)
    assert got["parameter"].to_list() == ["ln_P0", "Delta_E"] and set(got["species"]) == {"A"}
    frac = R.rearrangement_fraction(lf, n_boot=10).filter(pl.col("species") == "A").sort("T")
    ref = sps.linregress(1 / frac["T"].to_numpy(), np.log(frac["mean"].to_numpy()))
    r = {row["parameter"]: row for row in got.iter_rows(named=True)}
    assert r["Delta_E"]["value"] == pytest.approx(-ref.slope, rel=1e-9)
    assert r["Delta_E"]["stderr"] == pytest.approx(ref.stderr, rel=1e-8)
    assert r["ln_P0"]["value"] == pytest.approx(ref.intercept, rel=1e-9)
    assert r["Delta_E"]["ci_low"] <= 1.0 <= r["Delta_E"]["ci_high"]
    assert r["Delta_E"]["ci_low"] < r["Delta_E"]["value"] < r["Delta_E"]["ci_high"]
    assert r["Delta_E"]["warning"] == "4 temperatures: 2 degrees of freedom" and r["Delta_E"]["n_units"] == 48
