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
    """Pairs with r < r_max: (i, j, r, dx, dy, dz), sorted by (i, j); d = r_j − r_i (min image).
    dx, dy, dz are column views of one (P, 3) array (not C-contiguous)."""

class Model:
    """A pair model (SPEC §1)."""
    @staticmethod
    def kob_andersen() -> Model: ...
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

class LammpsDump:
    """An indexed LAMMPS text dump (one scan at construction; frames parsed on demand, GIL
    released). Raises FormatError (file, frame, line) for malformed input, OSError for I/O."""
    def __init__(self, path: str) -> None: ...
    def __len__(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def columns(self) -> list[str]:
        """Column names of ``ITEM: ATOMS``."""
    @property
    def n_atoms(self) -> int: ...
    @property
    def steps(self) -> npt.NDArray[np.int64]: ...
    @property
    def times(self) -> npt.NDArray[np.float64] | None:
        """``ITEM: TIME`` of every frame, or None when the dump has no times."""
    def offsets(self) -> tuple[list[int], list[int]]:
        """Byte offset and 1-based line number of every frame's first line."""
    def box_of(self, k: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(matrix (3, 3), columns = box vectors; origin (3,)) of frame k."""
    def read(self, k: int) -> dict:
        """Frame k as dict(step, time, matrix (3, 3), origin (3,), ids (N,) int64 | None,
        types (N,) int64 | None, positions (N, 3), unwrapped (N, 3) | None,
        images (N, 3) int64 | None, velocities (N, 3) | None); atoms sorted by id."""
    def read_many(self, frames: list[int]) -> list[dict]:
        """Several frames parsed in parallel (dicts as ``read``)."""

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
