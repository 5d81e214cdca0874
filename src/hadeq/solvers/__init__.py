"""Fixed-point solvers on batched tensors.

``iterate(solver, f, z0, options)`` runs any registered method with per-sample stopping,
noise-floor (stagnation) stopping and NaN detection, and returns ``(z, SolverStats)``.
Built in: ``picard``, ``anderson``, ``broyden``; add your own with :func:`register_solver`.
"""

from hadeq.solvers.anderson import Anderson
from hadeq.solvers.base import FixedPointSolver, State
from hadeq.solvers.batched import BatchedMap, batched
from hadeq.solvers.broyden import Broyden
from hadeq.solvers.loop import iterate, residual
from hadeq.solvers.options import IterateOptions
from hadeq.solvers.picard import Picard
from hadeq.solvers.registry import (
    available_solvers,
    get_solver_class,
    make_solver,
    register_solver,
    solver_option_names,
)
from hadeq.solvers.stats import SolverStats

for _cls in (Picard, Anderson, Broyden):
    register_solver(_cls.name, _cls)

__all__ = [
    "Anderson",
    "BatchedMap",
    "Broyden",
    "FixedPointSolver",
    "IterateOptions",
    "Picard",
    "SolverStats",
    "State",
    "available_solvers",
    "batched",
    "get_solver_class",
    "iterate",
    "make_solver",
    "register_solver",
    "residual",
    "solver_option_names",
]
