"""hadeq: hybrid analog-digital deep equilibrium models.

The fixed-point engine is importable from the top level::

    import hadeq
    z, stats = hadeq.solve(f, z0, solver="anderson", tol=1e-5)
    deq = hadeq.DEQ(solver="anderson", backward="implicit")
    z, stats = deq(hadeq.batched(lambda z, x: torch.tanh(z @ W.T + x), x), z0)
"""

from hadeq.deq import DEQ, DEQConfig, solve
from hadeq.errors import ConfigError, ConvergenceError, DataError, HadeqError
from hadeq.solvers import SolverStats, available_solvers, batched, register_solver

__version__ = "0.1.0"

__all__ = [
    "DEQ",
    "ConfigError",
    "ConvergenceError",
    "DEQConfig",
    "DataError",
    "HadeqError",
    "SolverStats",
    "__version__",
    "available_solvers",
    "batched",
    "register_solver",
    "solve",
]
