"""The campaign dataset: one folder per quantity, hive-partitioned below it, typed schemas.

Layout (``DIR`` is the campaign's output directory)::

    DIR/manifest.json                                   plan, version, seeds, per-task status + hashes
    DIR/<quantity>/system=<name>/T=<value>/config=<k>/part-<task>.parquet
    DIR/<quantity>/system=<name>/T=<value>/part-<task>.parquet     (per-state-point quantities)
    DIR/<quantity>/system=<name>/part-<task>.parquet               (per-system quantities)
    DIR/state/system=<name>/T=<value>/config=<k>/<what>.npz        (configurations, trajectories)

The partition columns are typed explicitly (``system`` String, ``T`` Float64, ``config``
Int64) so that ``T`` reads back as a float. Every quantity below lists its own columns and
units; all lengths are in σ, times in τ, energies in ε, temperatures in ε/k_B (reduced units of
the model).
"""

from __future__ import annotations

import polars as pl

#: Hive partition columns, in folder order.
PARTITIONS: dict[str, pl.DataType] = {"system": pl.String(), "T": pl.Float64(), "config": pl.Int64()}

F, I, S, B = pl.Float64(), pl.Int64(), pl.String(), pl.Boolean()

#: quantity → (partition depth, column schema). Depth 1 = system, 2 = system/T, 3 = system/T/config.
QUANTITIES: dict[str, tuple[int, dict[str, pl.DataType]]] = {
    # thermodynamics of every MD stage of a configuration (per particle: U/N, K/N, conserved/N)
    "thermo": (3, {"stage": S, "step": I, "time": F, "temperature": F, "potential": F, "kinetic": F,
                   "pressure": F, "conserved": F}),
    # τ_α used to size runs given in units of τ_α (pilot run per state point)
    "tau_reference": (2, {"tau_alpha": F, "pilot_steps": I, "dt": F, "n_frames": I}),
    # time correlations per lag (glassrs.dynamics.correlations)
    "dynamics": (3, {"species": S, "lag": F, "n_origins": I, "msd": F, "overlap": F, "chi4": F, "fs": F,
                     "alpha2": F}),
    # per-configuration relaxation summary: τ_α (overlap = 1/e), τ_α of F_s, D, α2 peak, p_c
    "relaxation": (3, {"species": S, "tau_alpha": F, "tau_fs": F, "D": F, "alpha2_peak_time": F,
                       "alpha2_peak": F, "msd_at_peak": F}),
    "rdf": (3, {"pair": S, "r": F, "g": F}),
    "sq": (3, {"pair": S, "q": F, "s": F}),
    # integration windows of the SOP, shared by all temperatures of a system (from its lowest T)
    "windows": (1, {"pair": S, "r_lo": F, "r_hi": F, "from_T": F}),
    # per-particle structure of the configuration at the start of production (= isoconf start)
    "local": (3, {"frame": I, "particle": I, "species": S, "beta_phi": F, "sop": F, "s2": F, "e_loc": F, "e_pair": F}),
    # macroscopic SOP and means of the local columns per configuration
    "structure_summary": (3, {"species": S, "sop_macro": F, "sop_mean": F, "s2_mean": F, "e_loc_mean": F}),
    # p_hop rearrangement statistics: fraction of particles with p_hop > p_c per frame
    "rearrangements": (3, {"frame": I, "time": F, "species": S, "n": I, "n_rearranging": I, "p_c": F}),
    # isoconfigurational batch partial sums (one file per batch of runs)
    "isoconf_batches": (3, {"batch": I, "time": F, "particle": I, "sum_disp": F, "sum_disp2": F,
                            "sum_overlap": I, "n_runs": I}),
    # per-particle isoconfigurational mobility μ_j(t), overlap q_j(t), msd (run averages)
    "mobility": (3, {"time": F, "t_over_tau_alpha": F, "particle": I, "species": S, "mobility": F,
                     "overlap": F, "msd": F}),
    # Spearman C_R(X(L), μ(t)) per configuration
    "correlation": (3, {"species": S, "L": F, "quantity": S, "time": F, "t_over_tau_alpha": F, "c_r": F,
                        "n": I}),
    # one row per inherent structure: energy, athermal shear modulus, mean dipole stiffness
    "inherent": (3, {"batch": I, "index": I, "time": F, "u_is": F, "G": F, "kappa": F, "n_pairs": I,
                     "fire_iterations": I}),
}


def columns(quantity: str) -> dict[str, pl.DataType]:
    """Column schema of ``quantity`` (without partition columns)."""
    try:
        return QUANTITIES[quantity][1]
    except KeyError:
        raise ValueError(f"unknown campaign quantity '{quantity}'; known: {sorted(QUANTITIES)}") from None


def partitions(quantity: str) -> dict[str, pl.DataType]:
    """Partition columns of ``quantity`` (system[, T[, config]])."""
    depth = QUANTITIES[quantity][0]
    return dict(list(PARTITIONS.items())[:depth])


def full_schema(quantity: str) -> dict[str, pl.DataType]:
    """Partition columns followed by the quantity's columns: the schema of its LazyFrame."""
    return {**partitions(quantity), **columns(quantity)}
