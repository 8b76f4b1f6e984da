"""Type stub for the native module ``glassrs._core`` (Rust, PyO3). Kept by hand: every
function added in ``rust/src/py/`` gets its signature here. Arrays are NumPy, float64 unless
stated; ``box_matrix`` is (3, 3) with the box vectors as columns."""

import numpy as np
import numpy.typing as npt

__version__: str

class FormatError(ValueError): ...
class ConvergenceError(RuntimeError): ...

def neighbor_list(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    r_max: float,
    half: bool = False,
) -> tuple[
    npt.NDArray[np.uint32],
    npt.NDArray[np.uint32],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    """Pairs with r < r_max: (i, j, r, dx, dy, dz), sorted by (i, j); d = r_j − r_i (min image)."""

class Model:
    """A pair model (SPEC §1)."""
    @staticmethod
    def kob_andersen() -> Model: ...
    @staticmethod
    def ka_wca() -> Model: ...
    @staticmethod
    def qp(q: float, p: float) -> Model: ...
    @staticmethod
    def wahnstrom() -> Model: ...
    @staticmethod
    def ipl10() -> Model: ...
    @staticmethod
    def lj_mixture(name: str, species: list[str], masses: list[float], eps: list[float], sigma: list[float],
                   rc: list[float], shift: str, density: float, composition: list[float]) -> Model:
        """eps, sigma, rc in upper-triangle pair order; shift in {'none', 'energy', 'force'}."""
    @staticmethod
    def table(name: str, species: list[str], masses: list[float],
              tables: list[tuple[list[float], list[float], list[float]]], density: float,
              composition: list[float]) -> Model:
        """One (r, U, dU/dr) table per pair in upper-triangle order (cubic Hermite)."""
    def pair_params(self, a: int, b: int) -> dict: ...
    @property
    def name(self) -> str: ...
    @property
    def species(self) -> list[str]: ...
    @property
    def masses(self) -> list[float]: ...
    @property
    def density(self) -> float: ...
    @property
    def composition(self) -> list[float]: ...
    def cutoff(self, a: int, b: int) -> float: ...
    def max_cutoff(self) -> float: ...
    def eval(
        self, a: int, b: int, r: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(U, U', U'') at distances r for species indices a, b."""

def forces(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    model: Model,
    n_threads: int | None = None,
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(energy, per-particle energy (N,), forces (N, 3), virial (3, 3)); see glassrs.forces."""

def fire(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    model: Model,
    params: dict | None = None,
    n_threads: int | None = None,
    progress: object | None = None,
    require_convergence: bool = True,
) -> tuple[npt.NDArray[np.float64], float, float, int, int]:
    """FIRE to max|F| < f_tol: (positions, energy, max_force, iterations, n_evals)."""

def fire_batch(
    positions: npt.NDArray[np.float64],
    boxes: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    model: Model,
    params: dict | None = None,
    n_threads: int | None = None,
    progress: object | None = None,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    list[str | None],
]:
    """FIRE over frames (F, N, 3) with boxes (F, 3, 3): (positions, energy, max_force, iterations,
    n_evals, errors) — errors[k] is None or the frame's non-convergence message."""

def maxwell_boltzmann_velocities(masses: list[float], t: float, seed: int) -> npt.NDArray[np.float64]:
    """(N, 3) velocities at temperature t, zero momentum, exactly t with N_f = 3N − 3."""

class MdSim:
    """A running MD simulation (state in Rust); see glassrs.md.Simulation."""
    def __init__(
        self,
        model: Model,
        positions: npt.NDArray[np.float64],
        box_matrix: npt.NDArray[np.float64],
        types: npt.NDArray[np.int64],
        velocities: npt.NDArray[np.float64],
        dt: float,
        ensemble_kind: str,
        t_start: float,
        t_stop: float,
        t_damp: float,
        chain: int = 3,
        skin: float = 0.3,
        seed: int = 0,
        state: dict | None = None,
        chunks: int = 8,
    ) -> None: ...
    def set_ensemble(self, ensemble_kind: str, t_start: float, t_stop: float, t_damp: float, chain: int = 3,
                     ramp: tuple[int, int] | None = None) -> None: ...
    def init_velocities(self, t: float) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def temperature(self) -> float: ...
    @property
    def n_builds(self) -> int: ...
    def positions(self) -> npt.NDArray[np.float64]: ...
    def velocities(self) -> npt.NDArray[np.float64]: ...
    def state(self) -> dict: ...
    def run(
        self,
        n_steps: int,
        output_steps: list[int],
        thermo_every: int = 0,
        n_threads: int | None = None,
        progress: object | None = None,
        velocities: bool = False,
    ) -> tuple[
        npt.NDArray[np.uint64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64] | None,
        npt.NDArray[np.float64],
    ]:
        """(steps, positions (F,N,3) unwrapped, velocities or None, thermo (R,12): step, T, U, K, P,
        conserved, Pxx, Pyy, Pzz, Pxy, Pxz, Pyz)."""

# -- dynamics (rust/src/dynamics, rust/src/py/dynamics.rs) --------------------------------------
# positions: C-contiguous (F, n, 3) unwrapped chunk; types: (n,) int64; pairs: (P, 2) int64 frame
# indices (origin, target); selections are 0 = all, 1 + s = species s.
def dynamics_pair_sums(
    positions: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    pairs: npt.NDArray[np.int64],
    a: float,
    kvecs: npt.NDArray[np.float64],
    callback: object | None = None,
) -> npt.NDArray[np.float64]:
    """(P, 1 + n_species, 4): per pair Σ|Δr|², Σ|Δr|⁴, Σ Θ(a − |Δr|) (inclusive), Σ mean_k cos(k·Δr)."""

def dynamics_group_lags(lags: npt.NDArray[np.float64], tol: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(group keys, group index of every lag); keys within tol of a group's first key join it."""

def dynamics_max_displacement(
    positions: npt.NDArray[np.float64], types: npt.NDArray[np.int64], n_species: int, pairs: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """(1 + n_species,): largest |Δr| over the pairs."""

def dynamics_displacement_histogram(
    positions: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    pairs: npt.NDArray[np.int64],
    edges: npt.NDArray[np.float64],
    log10: bool,
    callback: object | None = None,
) -> npt.NDArray[np.float64]:
    """(1 + n_species, bins): counts of |Δr| (or log10|Δr|), numpy.histogram bin convention."""

def dynamics_phop(
    positions: npt.NDArray[np.float64],
    times: npt.NDArray[np.float64],
    window: float,
    tol: float,
    callback: object | None = None,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.float64]]:
    """(frames with a full window, p_hop values (n_frames, n)) in length²."""
