"""glassrs — structure, dynamics and elasticity of glass-forming liquids.

Rust core (rayon, GIL released) with a Polars interface. Reduced units of the model
throughout (σ_AA, ε_AA, m, k_B = 1). Every quantity is defined on the definitions page of
the documentation (docs/definitions.md); "definitions §N" in a docstring points at its section N.

>>> import glassrs as gr
>>> traj = gr.read("run.lammpstrj")
>>> gr.neighbors(traj[0], r_max=2.5)
"""

from glassrs import campaign, datasets, dynamics, elastic, fits, isoconf, md, minimize, ml, models, stats, structure
from glassrs import tables as _tables  # registers the ``df.glass`` namespace
from glassrs._core import __version__
from glassrs.box import Box
from glassrs.errors import ConvergenceError, FormatError
from glassrs.forces import forces
from glassrs.io import read
from glassrs.neighbors import neighbors
from glassrs.parallel import get_num_threads, set_num_threads, threads
from glassrs.tables import params, read_parquet, write_parquet
from glassrs.trajectory import Frame, Trajectory

__all__ = [
    "campaign", "datasets", "dynamics", "elastic", "fits", "forces", "isoconf", "md", "minimize", "ml", "models", "stats",
    "structure",
    "Box", "ConvergenceError", "FormatError", "Frame", "Trajectory", "__version__", "neighbors",
    "params", "read", "read_parquet", "write_parquet", "get_num_threads", "set_num_threads", "threads",
]
