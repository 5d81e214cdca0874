"""The model interface: what training, evaluation, the bench and the CLI may rely on.

Every hadeq model is a :class:`HadeqModel`. Other layers talk to a model only through
the methods below and the :class:`ModelOutput` record it returns, never by probing its
attributes. Models whose output is the fixed point of an analog loop (the hybrid DEQs)
are :class:`EquilibriumModel` s and add what equilibrium measurements need.

=============================  ===========================================================
``forward(x)``                 the output tensor
``clone()``                    an independent copy (same config, weights and mode)
``forward_with_info(x)``       a :class:`ModelOutput` (solves, equilibria, backward stats)
``hardware``                   the chip the model runs on (the ``ideal`` preset: digital)
``set_hardware(hw, seed)``     the same weights on another chip, programmed with ``seed``
``set_read_noise(σ)``          the same chip with another read noise (nothing rebuilt)
``program(seed)``              draw the chip's static non-idealities again
``analog_layers()``            every analog layer, in programming order
``project_contractive_()``     after an optimizer step: restore the model's constraints;
                               returns the feedback operator's norm bound (None: none)
``uses_hardware()``            whether this forward pass runs through the hardware model
``has_equilibrium``            whether the output is the fixed point of a loop; then
``set_eval_solver(s, opts)``   solves with ``s`` in evaluation mode from now on
``has_physical_loop``          whether the loop can be simulated as the circuit; then
``calibrate_loop(x, sampling)`` fixes its ranges and sampling instant ``t_s`` from
                               inputs ``x``; evaluation on hardware then runs the circuit
``adopt_loop_calibration(c)``  reuses one made on the same chip (any read noise)
``crossbar_snr_db(x)``         SNR of the model's crossbars on its chip, on inputs ``x``
=============================  ===========================================================

The hybrid DEQs (:class:`hadeq.models.core.AnalogCoreDEQ`) add what equilibrium
measurements need: ``loop_layers()``, ``injection(x)``, ``maps(u)``, ``workload(x)`` and
``feedback(z)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from hadeq.analog import AnalogMVM, HardwareConfig
from hadeq.errors import ConfigError
from hadeq.solvers import SolverStats
from hadeq.validation import check_range


@dataclass
class ModelOutput:
    """Everything one forward pass of a model computed."""

    output: Tensor
    """The model's output (logits, regression values or a field)."""

    solves: tuple[SolverStats, ...] = ()
    """Statistics of every forward fixed-point solve, in order (empty: feed-forward)."""

    z_star: Tensor | None = None
    """The core's equilibrium before the ADC (differentiable); None without a core."""

    z: Tensor | None = None
    """The equilibrium as the ADC read it."""

    u: Tensor | None = None
    """The injection into the core after quantization and the DACs."""

    states: tuple[Tensor, ...] = ()
    """Intermediate results: every analog layer's output (feed-forward networks) or
    every energy block's equilibrium as read by its ADC (ff-EBM)."""

    backward: list[SolverStats] = field(default_factory=list)
    """Statistics of the adjoint solves, appended when ``loss.backward()`` runs them."""

    @property
    def stats(self) -> SolverStats:
        """The statistics of the only forward solve."""
        if len(self.solves) != 1:
            raise ValueError(f"this output holds {len(self.solves)} solves; use .solves")
        return self.solves[0]


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class HadeqModel(nn.Module):
    """Base class and written interface of every hadeq model (see the module docstring).

    Subclasses set ``config`` (a frozen dataclass with a ``hardware`` field and a
    ``mode``) and implement :meth:`forward_with_info`. Moving to other hardware is done
    here, once for all models: every analog layer is replaced by
    :meth:`~hadeq.analog.AnalogMVM.on_hardware` on :meth:`layer_hardware`, and
    :meth:`_hardware_changed` lets a model rebuild what depends on its config.
    """

    config: Any
    has_equilibrium: ClassVar[bool] = False
    """True when the output is computed from the fixed point of a loop."""
    has_physical_loop: ClassVar[bool] = False
    """True when that loop is an analog circuit :meth:`calibrate_loop` can set up."""
    standard_modes: ClassVar[tuple[str, ...]] = ("standard",)
    """Values of ``config.mode`` that train on the ideal float model."""

    # --- to be provided by subclasses ---------------------------------------------------
    def forward_with_info(self, x: Tensor) -> ModelOutput:
        raise NotImplementedError

    def layer_hardware(self, hardware: HardwareConfig) -> HardwareConfig:
        """The hardware the analog layers are built with (loops: without converters)."""
        return hardware

    def _hardware_changed(self) -> None:
        """Called after :meth:`set_hardware` with the new ``config``."""

    # --- the interface --------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_info(x).output

    @property
    def hardware(self) -> HardwareConfig:
        return self.config.hardware

    def uses_hardware(self) -> bool:
        """Standard training runs the ideal float model; everything else (physics- or
        hardware-aware training, and evaluation) runs through the hardware model."""
        return not (self.training and self.config.mode in self.standard_modes)

    def clone(self) -> HadeqModel:
        """An independent copy (same config, weights, buffers, dtype and mode), rebuilt as
        ``type(self)(self.config)`` (configs holding mapping proxies cannot be
        deep-copied). The caller's random state is left as it was."""
        like = next(self.parameters())
        with torch.random.fork_rng(devices=[]):
            copied = type(self)(self.config).to(device=like.device, dtype=like.dtype)
        copied.load_state_dict(self.state_dict())
        # The programming seed is not a buffer: keep it, so the copy is the same chip.
        for mine, theirs in zip(self.analog_layers(), copied.analog_layers(), strict=True):
            theirs.seed = mine.seed
        return copied.train(self.training)

    def analog_layers(self) -> tuple[AnalogMVM, ...]:
        """Every analog layer, in registration order (the order of :meth:`program`)."""
        return tuple(layer for _, _, layer in self._analog_slots())

    def program(self, seed: int) -> None:
        """Sample the static non-idealities of the model's chip; the ``i``-th analog layer
        gets ``seed + i`` so that no two arrays share their draws."""
        for i, layer in enumerate(self.analog_layers()):
            layer.program(seed + i)

    def set_hardware(self, hardware: HardwareConfig | str | dict[str, Any],
                     seed: int | None = None) -> None:
        """Run the same weights on ``hardware`` (a config, preset name or mapping),
        programmed with ``seed`` (layer ``i`` gets ``seed + i``; None keeps each layer's
        seed)."""
        hardware = HardwareConfig.parse(hardware)
        self.config = dataclasses.replace(self.config, hardware=hardware)
        layer_hw = self.layer_hardware(hardware)
        for i, (parent, name, layer) in enumerate(list(self._analog_slots())):
            setattr(parent, name, layer.on_hardware(layer_hw, None if seed is None else seed + i))
        self._hardware_changed()

    def set_read_noise(self, read_noise: float) -> None:
        """The same chip with read noise ``read_noise`` (σ, fraction of full scale): the
        read noise is drawn afresh at every read, so nothing is reprogrammed and every
        analog layer keeps its parameters (an optimizer's references stay valid) and its
        programmed draws."""
        check_range("read_noise", read_noise, 0.0, None)
        hardware = self.hardware.replace(read_noise=float(read_noise))
        self.config = dataclasses.replace(self.config, hardware=hardware)
        for layer in self.analog_layers():
            layer.hardware = layer.hardware.replace(read_noise=float(read_noise))
        self._hardware_changed()

    def set_eval_solver(self, solver: Any, options: dict[str, Any] | None = None) -> None:
        """Solve the model's fixed points with ``solver`` (a name or a solver object)
        and ``options`` in evaluation mode from now on (models with an equilibrium)."""
        raise ConfigError("solver", solver, f"a model with an equilibrium "
                          f"({type(self).__name__} has none)")

    def calibrate_loop(self, x: Tensor, sampling: Any = None) -> Any:
        """Fix the analog loop's ranges and sampling instant from inputs ``x`` (models with
        a physical loop, see :class:`hadeq.models.core.AnalogCoreDEQ`)."""
        raise ConfigError("model", type(self).__name__, "a model with a physical analog loop")

    def adopt_loop_calibration(self, calibration: Any) -> None:
        """Reuse a calibration of this programmed chip's loop (models with a physical
        loop, see :class:`hadeq.models.core.AnalogCoreDEQ`)."""
        raise ConfigError("model", type(self).__name__, "a model with a physical analog loop")

    def energy_report(self, config: Any = None) -> Any:
        """The model's own energy and latency per inference at default assumptions (an
        :class:`~hadeq.energy.EnergyReport`): the baselines price themselves, while the
        hybrid DEQs are priced by the bench from their measured iterations and settling."""
        raise ConfigError("model", type(self).__name__, "a baseline (the hybrid DEQs are "
                          "priced from measured iterations and settling by the bench)")

    @torch.no_grad()
    def crossbar_snr_db(self, x: Tensor) -> float:
        """SNR (dB) of the model's crossbars on its chip, for one inference of ``x`` in
        evaluation mode: every analog layer's output against the float product of the same
        inputs, pooled over the layers and their calls, ``10·log10(Σ Var[clean] /
        Σ Var[error])`` (each variance over a call's elements, weighted by their count; one
        layer called once gives :func:`hadeq.analog.snr_db`). The read noise comes from the
        current random state; the operation counters are left as they were. The hybrid
        DEQs measure their core crossbar at the equilibrium instead
        (:meth:`hadeq.models.core.AnalogCoreDEQ.crossbar_snr_db`)."""
        powers = torch.zeros(2, dtype=torch.float64)  # Σ n·Var[clean], Σ n·Var[error]

        def record(layer: nn.Module, args: tuple[Any, ...], noisy: Tensor) -> None:
            clean = layer.ideal_forward(args[0]).double()  # type: ignore[operator]
            err = noisy.double() - clean
            powers.add_(torch.stack([clean.var(unbiased=False), err.var(unbiased=False)])
                        * clean.numel())

        with self._counters_kept(), _evaluating(self):
            hooks = [layer.register_forward_hook(record) for layer in self.analog_layers()]
            try:
                self.forward(x)
            finally:
                for hook in hooks:
                    hook.remove()
        if not hooks:
            raise ConfigError("model", type(self).__name__, "a model with analog layers")
        signal, noise = powers.tolist()
        return _snr_from_powers(signal, noise)

    @torch.no_grad()
    def project_contractive_(self) -> float | None:
        """Restore the model's constraints after an optimizer step; returns the norm bound
        of the feedback operator afterwards (None: the model has no feedback)."""
        return None

    # --- helpers --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _counters_kept(self) -> Iterator[None]:
        """Restore every analog layer's operation counters on exit (a measurement is not
        an inference to be priced)."""
        saved = [(layer, layer.counters()) for layer in self.analog_layers()]
        try:
            yield
        finally:
            for layer, counts in saved:
                for name, value in counts.items():
                    setattr(layer, name, value)

    def _analog_slots(self) -> Iterator[tuple[nn.Module, str, AnalogMVM]]:
        """``(parent, attribute, layer)`` of every analog layer, in registration order."""
        def visit(module: nn.Module) -> Iterator[tuple[nn.Module, str, AnalogMVM]]:
            for name, child in module.named_children():
                if isinstance(child, AnalogMVM):
                    yield module, name, child
                else:
                    yield from visit(child)
        return visit(self)

    def check_features(self, x: Tensor, in_features: int) -> None:
        """Refuse an input that is not ``(batch ≥ 1, ...)`` with ``in_features`` values
        per sample in the weights' dtype."""
        if (not isinstance(x, Tensor) or x.dim() < 2 or x.shape[0] == 0
                or x[0].numel() != in_features):
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError("x.shape", got, f"(batch ≥ 1, ...) with {in_features} features "
                              "per sample")
        dtype = next(self.parameters()).dtype
        if x.dtype != dtype:
            raise ConfigError("x.dtype", x.dtype, f"{dtype}, the dtype of the model's weights "
                              "(convert x or the model with .to())")


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """``model`` in evaluation mode inside, in its own mode again on exit."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _snr_from_powers(signal: float, noise: float) -> float:
    """``10·log10(signal / noise)`` with :func:`hadeq.analog.snr_db`'s limits."""
    if noise <= 0.0:
        return math.inf
    if signal <= 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)
