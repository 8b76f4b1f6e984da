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
