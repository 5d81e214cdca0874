"""hadeq: hybrid analog-digital deep equilibrium models."""

from hadeq.errors import ConfigError, ConvergenceError, DataError, HadeqError

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "DataError",
    "HadeqError",
    "__version__",
]
