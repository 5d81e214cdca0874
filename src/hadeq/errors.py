"""Errors hadeq raises on purpose.

Every user-facing mistake (a bad option, an out-of-range value, a missing file) becomes a
:class:`ConfigError` whose message is one line naming the field, the value and what is
allowed. The CLI turns it into that line on stderr and exit status 2.
"""

from __future__ import annotations


class HadeqError(Exception):
    """Base class of the errors hadeq raises deliberately."""


class ConfigError(HadeqError, ValueError):
    """A configuration field, option or input has a value that is not allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={value!r} is not allowed: {allowed}")

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, object, str]]:
        # Rebuilt from its three fields: an error raised in a worker process (a bench
        # cell) reaches the parent as itself, not as an unpicklable exception.
        return type(self), (self.field, self.value, self.allowed)

    def prefixed(self, prefix: str) -> ConfigError:
        """This error with its field named ``prefix.field`` (a leading class name such as
        ``HardwareConfig.`` is dropped; a field already under ``prefix`` is kept)."""
        if self.field == prefix or self.field.startswith(prefix + "."):
            return self
        field = self.field.split(".", 1)[1] if self.field[:1].isupper() and "." in self.field \
            else self.field
        return ConfigError(f"{prefix}.{field}", self.value, self.allowed)


class DataError(HadeqError, ValueError):
    """A data file, checkpoint or external program output is missing or malformed."""


class ConvergenceError(HadeqError, RuntimeError):
    """A solver was asked to raise when it could not reach a fixed point."""
