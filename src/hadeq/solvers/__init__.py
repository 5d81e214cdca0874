"""Fixed-point solvers on batched tensors.

``iterate(solver, f, z0, options)`` runs any registered method with per-sample stopping,
noise-floor (stagnation) stopping and NaN detection, and returns ``(z, SolverStats)``.
Built in (:data:`BUILTIN_SOLVERS`): ``picard``, ``anderson``, ``broyden`` and
``analog_relaxation`` (:class:`AnalogRelaxation`, the settling of an analog feedback loop);
add your own with :func:`register_solver`.
"""

from hadeq.solvers.anderson import Anderson
from hadeq.solvers.base import FixedPointSolver, State
from hadeq.solvers.batched import BatchedMap, batched
from hadeq.solvers.broyden import Broyden
from hadeq.solvers.loop import iterate, residual
from hadeq.solvers.options import IterateOptions
from hadeq.solvers.picard import Picard
from hadeq.solvers.registry import (
    BUILTIN_SOLVERS,
    available_solvers,
    get_solver_class,
    make_solver,
    register_solver,
)
from hadeq.solvers.relaxation import AnalogRelaxation, settling_time_from_trace
from hadeq.solvers.stats import SolverStats

__all__ = [
    "BUILTIN_SOLVERS",
    "AnalogRelaxation",
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
    "settling_time_from_trace",
]
