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
