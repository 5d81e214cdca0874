"""Options shared by every solver: tolerances, stopping rules and bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hadeq.validation import check_choice, check_int, check_range

StopMode = Literal["abs", "rel", "mixed"]
NonfinitePolicy = Literal["warn", "raise"]


@dataclass(frozen=True)
class IterateOptions:
    """How the generic loop decides that a sample is done.

    The residual of an iterate ``z`` is ``r = f(z) − z``, measured per sample over all
    non-batch dimensions.
    """

    tol: float = 1e-4
    """Tolerance. ``abs``: ``‖r‖₂ ≤ tol``. ``rel``: ``‖r‖₂ / max(‖f(z)‖₂, ‖z‖₂) ≤ tol``.
    ``mixed``: the absolute part ``atol`` of ``|r_i| ≤ atol + rtol·|z_i|`` for every element."""

    stop_mode: StopMode = "rel"
    """``abs``, ``rel`` or ``mixed`` (elementwise ``atol + rtol·|z|``, as in optimistix)."""

    rtol: float = 1e-4
    """Relative part of the ``mixed`` criterion; unused by ``abs`` and ``rel``."""

    max_iter: int = 50
    """Most evaluations of ``f`` per sample (the first, at ``z0``, included)."""

    per_sample: bool = True
    """Stop each sample on its own and stop computing it. ``False`` keeps every sample
    iterating until all are done (the behaviour of torchdeq), for comparisons."""

    stagnation_window: int = 20
    """Noise-floor stopping: a sample whose best residual fell by less than
    ``stagnation_decrease`` (relative) over the last ``stagnation_window`` iterations is
    stopped and marked ``stagnated``. 0 turns it off."""

    stagnation_decrease: float = 0.01
    """Relative decrease of the best residual required over one window, in (0, 1)."""

    noise_floor: float = 0.0
    """Noise-floor stopping from a known noise level ``ρ`` (≥ 0; 0 turns it off): the std
    of the noise in every element of ``f(z)`` is at most ``ρ·max_i |z_i|`` — what an
    analog crossbar read with a dynamic input range produces, ``ρ = read_noise·w_scale·√R``
    (see :meth:`hadeq.analog.AnalogMVM.read_noise_level`). That noise alone gives, at the
    exact fixed point, a residual of about ``ν = ρ·max|z|·√d`` (``abs``; divided by
    ``max(‖f(z)‖, ‖z‖)`` for ``rel``; ``ρ·max|z|·√(2 ln d)/(tol + rtol·min|z|)`` for
    ``mixed``). An iterate is built from earlier noisy evaluations, so its own residual
    stays at ``≈ ν`` (a step that averages evaluations) to ``√2·ν`` and above (one that
    takes a single earlier evaluation): a sample whose residual is at most ``2ν`` and fell
    by less than half in its last iteration is at its floor, where iterating cannot help;
    it stops at once, marked ``stagnated``, with ``ν`` in ``stats.extras["noise_floor"]``."""

    on_nonfinite: NonfinitePolicy = "warn"
    """What to do when ``f`` returns NaN/Inf: always flag the sample in ``nonfinite`` and
    stop it; ``warn`` also emits a warning, ``raise`` raises ``ConvergenceError``."""

    def __post_init__(self) -> None:
        check_range("tol", self.tol, 0.0, None, low_open=True)
        check_choice("stop_mode", self.stop_mode, ("abs", "rel", "mixed"))
        check_range("rtol", self.rtol, 0.0, None)
        check_int("max_iter", self.max_iter, 1, 1_000_000)
        check_choice("per_sample", self.per_sample, (True, False))
        check_int("stagnation_window", self.stagnation_window, 0, 1_000_000)
        check_range("stagnation_decrease", self.stagnation_decrease, 0.0, 1.0,
                    low_open=True, high_open=True)
        check_range("noise_floor", self.noise_floor, 0.0, None)
        check_choice("on_nonfinite", self.on_nonfinite, ("warn", "raise"))

    @property
    def threshold(self) -> float:
        """The value the per-sample residual is compared with."""
        return 1.0 if self.stop_mode == "mixed" else self.tol
