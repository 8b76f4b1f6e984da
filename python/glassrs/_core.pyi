"""Type stub for the native module ``glassrs._core`` (Rust, PyO3). Kept by hand: every
function added in ``rust/src/py/`` gets its signature here. Arrays are NumPy, float64 unless
stated; ``box_matrix`` is (3, 3) with the box vectors as columns."""

import numpy as np
import numpy.typing as npt

__version__: str


def set_num_threads(n: int | None = None) -> None:
    """Process default thread count of every kernel (None: all cores); ValueError unless None or 1..8·cores."""

def get_num_threads() -> int:
    """Threads a kernel called with n_threads=None runs on."""

def num_threads_setting() -> int | None:
    """The process default as set: None (all cores) or the count given to set_num_threads."""


def neighbor_list(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    r_max: float,
    half: bool = False,
    n_threads: int | None = None,
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
    """A pair model (definitions §1)."""
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
    def sticky_spheres(xc: float) -> Model: ...
    @staticmethod
    def stillinger_weber(lam: float) -> Model: ...
    def three_body_params(self) -> dict | None: ...
    @property
    def many_body(self) -> bool: ...
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

class LammpsDump:
    """An indexed LAMMPS text dump, plain, gzip or zstd (one scan at construction; frames parsed
    on demand, GIL released; compressed files decompressed as a stream). Raises FormatError
    (file, frame, line) for malformed input, OSError (with errno and filename) for I/O."""
    def __init__(self, path: str, drop_truncated: bool = False) -> None: ...
    @property
    def dropped(self) -> tuple[int, str | None]:
        """Unfinished frames left out at the end (0 or 1, with ``drop_truncated``) and why."""
    @property
    def compression(self) -> str:
        """"none", "gzip" or "zstd"."""
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

def maxwell_boltzmann_velocities(masses: list[float], t: float, seed: int, dim: int = 3) -> npt.NDArray[np.float64]:
    """(N, 3) velocities at temperature t, zero momentum, exactly t with N_f = dN − d (v_z = 0 when dim = 2)."""

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
        propulsion: tuple[float, list[int], int, int] | None = None,
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
    def propulsion_forces(self) -> npt.NDArray[np.float64]: ...
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

class Hessian:
    """Sparse Hessian of one structure (definitions §6.2) with its cached solvers (``glassrs.elastic``)."""
    def __init__(
        self,
        positions: npt.NDArray[np.float64],
        types: npt.NDArray[np.int64],
        box_matrix: npt.NDArray[np.float64],
        model: Model,
        n_threads: int | None = None,
        max_factor_gb: float = 1.6,
    ) -> None: ...
    @property
    def n_particles(self) -> int: ...
    @property
    def energy(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def n_pairs(self) -> int: ...
    def forces(self) -> npt.NDArray[np.float64]:
        """Residual forces (N, 3)."""
    def max_force(self) -> tuple[int, float]: ...
    def check_minimum(self, force_tol: float) -> None: ...
    def check_rattlers(self) -> None: ...
    def pairs(self) -> tuple[
        npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.float64], npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """Interacting pairs i < j: (i, j, r, U', U'')."""
    def csr(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """Scalar CSR (indptr, indices, data) of the 3N × 3N matrix."""
    def matvec(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def shear_terms(self, alpha: int, beta: int) -> tuple[float, npt.NDArray[np.float64], float]:
        """(Born/V, Ξ (3N,), stress (1/V)∂U/∂γ) for the shear x_alpha += γ x_beta."""
    def prepare(self, method: str = "auto", rtol: float = 1e-12, max_iter: int = 0, n_threads: int | None = None) -> str: ...
    def solver_info(
        self, method: str = "auto", rtol: float = 1e-12, max_iter: int = 0, n_threads: int | None = None
    ) -> tuple[str, int]: ...
    def solve(
        self, b: npt.NDArray[np.float64], method: str = "auto", rtol: float = 1e-12, max_iter: int = 0,
        n_threads: int | None = None,
    ) -> npt.NDArray[np.float64]:
        """z = M⁺ b for b of shape (m, 3N), each row free of net force."""
    def shear_modulus(
        self, planes: list[tuple[int, int]], method: str = "auto", rtol: float = 1e-12, max_iter: int = 0,
        n_threads: int | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(G, Born) per plane, ε/σ³."""
    def dipole_stiffness(
        self, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64], method: str = "auto", rtol: float = 1e-12,
        max_iter: int = 0, batch: int = 0, n_threads: int | None = None, progress: object = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint64], str]:
        """(κ_ij, CG iterations, method) for the pairs (i[k], j[k])."""
    def dipole_response(
        self, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64], method: str = "auto", rtol: float = 1e-12,
        max_iter: int = 0,
    ) -> npt.NDArray[np.float64]:
        """z = M⁺ d̂ for each pair, shape (m, 3N)."""
# -- structure (definitions §2) ---------------------------------------------------------------------------
def rdf_sum(
    positions: npt.NDArray[np.float64],  # (F, N, 3)
    boxes: npt.NDArray[np.float64],  # (F, 3, 3)
    types: npt.NDArray[np.int64],
    n_species: int,
    r_max: float,
    n_bins: int,
    n_threads: int | None = None,
    progress: object | None = None,
) -> npt.NDArray[np.float64]:
    """Σ over frames of the per-frame partial g_uv, flat (n_species, n_species, n_bins)."""

def sq_shells(
    positions: npt.NDArray[np.float64],
    boxes: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    q_max: float,
    dq: float,
    stride: int = 1,
    n_threads: int | None = None,
    progress: object | None = None,
    chunk_particles: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
    """(Σ S_uv flat (ns, ns, n_bins), number of (vector, frame) terms per shell, Σ|q| per shell).

    Particles are processed in chunks of ``chunk_particles`` (default: a phase table of about
    1 MiB, at least 64 particles); the result does not depend on the chunk size."""

def local_frame(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    windows: npt.NDArray[np.float64],  # (n_species², 2), row u*ns+v
    delta: float,
    dr: float,
    r_s: float,
    closure: str,
    temperature: float | None = None,
    model: Model | None = None,
    species_map: npt.NDArray[np.int64] | None = None,
    curves: npt.NDArray[np.int64] | None = None,
    n_threads: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64],
           npt.NDArray[np.float64]]:
    """(beta_phi, s2, e_loc (NaN without model), grid r_k, curves flat (P, ns, K)) for one frame."""

def coarse_grain(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    x: npt.NDArray[np.float64],
    ls: list[float],
    r_cg: float,
    species_mask: list[bool] | None = None,
    n_threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """X̄_i(L) flat (len(ls), N); NaN marks undefined values."""

def radial_structure_functions(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_types: int,
    mus: list[float],
    width: float,
    r_max: float,
    n_threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """G_X(i; μ) = Σ_j exp(−(r_ij − μ)²/(2 width²)) over j of species X within r_max, shape (N, n_types, M)."""

def angular_structure_functions(
    positions: npt.NDArray[np.float64],
    box_matrix: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_types: int,
    xis: list[float],
    lambdas: list[float],
    zetas: list[float],
    r_max: float,
    n_threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """Ψ_XY(i; ξ, λ, ζ) per unordered species pair and grid combination, shape (N, n_types(n_types+1)/2, C)."""

def caging_potential(q: list[float], s: list[float], x: list[float], rho: float, dr: list[float],
                     paper_units: bool = False) -> npt.NDArray[np.float64]:
    """βΦ(Δr) on the grid dr from S_uv(q) (flat (nq, ns, ns))."""

def mfpt(dr: list[float], beta_phi: list[float]) -> tuple[float, int]:
    """(τ_mfpt with D0 = 1, index of the maximum of βΦ)."""

# -- dynamics (rust/src/dynamics, rust/src/py/dynamics.rs) --------------------------------------
# positions: C-contiguous (F, n, 3) unwrapped chunk; types: (n,) int64; pairs: (P, 2) int64 frame
# indices (origin, target); selections are 0 = all, 1 + s = species s.
def dynamics_fft_sums(
    positions: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    n_lags: int,
    msd: bool,
    kvecs: npt.NDArray[np.float64] | None = None,
    hinv: npt.NDArray[np.float64] | None = None,
    nvecs: npt.NDArray[np.int64] | None = None,
    callback: object | None = None,
    n_threads: int | None = None,
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """FFT sums of a linear schedule (every frame an origin) over particles and origins, each
    (1 + n_species, n_lags) or None: Σ |Δr|² (if msd) and Σ (1/K) Σ_k cos(k·Δr) for kvecs (K, 3)
    or for the reciprocal-lattice vectors 2π H⁻ᵀ n (hinv = H⁻¹ (3, 3), nvecs the integer n (K, 3)).
    positions (F, n, 3) unwrapped."""

def dynamics_pair_sums(
    positions: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    pairs: npt.NDArray[np.int64],
    a: float,
    kvecs: npt.NDArray[np.float64],
    callback: object | None = None,
    n_threads: int | None = None,
    moments4: bool = True,
    overlap: bool = True,
) -> npt.NDArray[np.float64]:
    """(P, 1 + n_species, 4): per pair Σ|Δr|², Σ|Δr|⁴, Σ Θ(a − |Δr|) (inclusive), Σ mean_k cos(k·Δr);
    Σ|Δr|⁴ only with ``moments4`` and the overlap count only with ``overlap`` (0 otherwise)."""

def dynamics_lag_sums(
    positions: npt.NDArray[np.float64],
    types: npt.NDArray[np.int64],
    n_species: int,
    n_lags: int,
    a: float,
    callback: object | None = None,
    n_threads: int | None = None,
    moments4: bool = True,
    overlap: bool = True,
    pair_counts: bool = False,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64] | None]:
    """((n_lags, 1 + n_species, 3), (n_lags, 1 + n_species, 2) or None): per lag m (frames) of a
    linear schedule with every frame an origin, Σ over particles and origins t0 < F − m of |Δr|²,
    |Δr|⁴ (with ``moments4``) and Θ(a − |Δr|) (with ``overlap``; 0 for a column not asked for);
    with ``pair_counts`` also Σ C and Σ C² over the origins of each lag, C the overlap count of the
    selection in the pair (t0, t0 + m) (exact integers: what χ4 needs)."""

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
    n_threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """(1 + n_species, bins): counts of |Δr| (or log10|Δr|), numpy.histogram bin convention."""

