"""What every hybrid DEQ shares: an analog core in a loop, its hardware and its maps.

:class:`AnalogCoreDEQ` holds the logic common to the dense :class:`~hadeq.models.HybridDEQ`
and the convolutional :class:`~hadeq.models.ConvHybridDEQ`: the loop's hardware (no DAC
or ADC inside it), the solvers, the contraction projection, the equilibrium solve and
the three maps whose fixed point is ``z*``:

* hardware map — ``σ(core(z) + u)`` through the hardware model (quantized, programmed
  conductances, fresh read noise at every read);
* clean map — ``σ(W z + b + u)`` with the float weights;
* frozen map — the programmed effective weights without read noise (the frozen noise
  sample), which the ``analog_relaxation`` solver also integrates (it adds the loop's
  read noise, ``hardware.read_noise``, itself, per time step).

Subclasses build ``stem``, ``core`` (an analog layer with ``bias``), ``head``, ``sigma``
and ``config`` (with ``hardware``, ``deq``, ``mode``, ``proxy``, ``injection_bits`` and
``contraction_margin``), and implement :meth:`_frozen_map`,
:meth:`operator_norm_bound` and :meth:`forward_with_info`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadeq.analog import AnalogMVM, HardwareConfig
from hadeq.analog.quant import quantize_ste
from hadeq.deq import DEQ, DEQConfig
from hadeq.energy import DEQWorkload, LayerSpec
from hadeq.errors import ConfigError
from hadeq.models.config import RELAXATION, check_loop_solvers
from hadeq.models.interface import HadeqModel, ModelOutput
from hadeq.models.precision import apply_digital_precision, fake_quantize, round_state
from hadeq.solvers import FixedPointSolver, SolverStats, batched, make_solver

Map = Callable[[Tensor], Tensor]


def loop_hardware(hardware: HardwareConfig) -> HardwareConfig:
    """The core's hardware inside the loop: no DAC or ADC (the loop is analog)."""
    return hardware.replace(input_bits=None, input_range=None, output_bits=None,
                            output_range=None)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"tanh": torch.tanh,
                                                     "hardtanh": F.hardtanh}
"""The amplifiers' saturating nonlinearities σ (both 1-Lipschitz, range [−1, 1])."""

def loop_solver(name: str | FixedPointSolver, options: Any, hardware: HardwareConfig, *,
                read_noise: bool = True) -> tuple[str | FixedPointSolver, dict[str, Any]]:
    """``(solver, loop options)`` for a loop on ``hardware``: ``analog_relaxation`` is
    built with the circuit's time constant ``hardware.tau_ns`` and (``read_noise``) its
    read noise; other solvers are returned as given. A loop whose map already reads the
    noisy hardware at every step passes ``read_noise=False``."""
    if name != RELAXATION:
        return name, dict(options)
    method, loop = make_solver(name, options)
    method = dataclasses.replace(method, tau_ns=hardware.tau_ns,
                                 read_noise=hardware.read_noise if read_noise else 0.0)
    return method, dataclasses.asdict(loop)


def deq_config(config: Any) -> DEQConfig:
    """The model's DEQ options with the loop's solvers built for its hardware."""
    deq: DEQConfig = config.deq
    hw = config.hardware
    solver, options = loop_solver(deq.solver, deq.solver_options, hw)
    eval_solver, eval_options = loop_solver(deq.eval_solver or deq.solver,
                                            deq.eval_solver_options, hw)
    return dataclasses.replace(deq, solver=solver, solver_options=options,
                               eval_solver=eval_solver, eval_options=eval_options)


class AnalogCoreDEQ(HadeqModel):
    """Base class of the hybrid DEQs (see the module docstring)."""

    has_equilibrium: ClassVar[bool] = True
    state_rounding: str = "fp32"
    """Precision the loop state is rounded to after every map evaluation (a digital DEQ
    run at ``config.digital_precision``, see :mod:`hadeq.models.precision`)."""
    core: AnalogMVM
    stem: nn.Module
    head: nn.Module
    sigma: Callable[[Tensor], Tensor]

    # --- to be provided by subclasses ---------------------------------------------------
    def _frozen_map(self, z: Tensor, u: Tensor) -> Tensor:
        raise NotImplementedError

    def operator_norm_bound(self) -> float:
        """An upper bound of the feedback operator's norm ‖W‖₂ (float weights)."""
        raise NotImplementedError

    def injection(self, x: Tensor) -> Tensor:
        """The digital stem's output after fake quantization and the DACs."""
        raise NotImplementedError

    # --- hardware and solvers -----------------------------------------------------------
    def layer_hardware(self, hardware: HardwareConfig) -> HardwareConfig:
        """The loop's arrays have no DAC or ADC (the loop is analog)."""
        return loop_hardware(hardware)

    def _hardware_changed(self) -> None:
        self._rebuild_deq()

    def set_hardware(self, hardware: Any, seed: int | None = None) -> None:
        if self.config.digital_precision != "fp32":
            raise ConfigError("digital_precision", self.config.digital_precision,
                              "fp32 to move the model to other hardware (quantize after)")
        super().set_hardware(hardware, seed)

    def _finish_init(self) -> None:
        """The end of every subclass's ``__init__``: the loop starts contractive, and a
        digital precision other than fp32 is applied."""
        self.project_contractive_()
        apply_digital_precision(self, self.config.digital_precision)

    def _rebuild_deq(self) -> None:
        # A new module starts in training mode: keep the model's mode.
        self.deq = DEQ(deq_config(self.config)).train(self.training)

    def set_eval_solver(self, solver: Any, options: dict[str, Any] | None = None) -> None:
        """Solve with ``solver`` (and ``options``) in evaluation mode from now on, e.g.
        ``analog_relaxation`` to simulate the settling physics of trained weights."""
        deq = dataclasses.replace(self.config.deq, eval_solver=solver, eval_options=options)
        check_loop_solvers(deq)
        self.config = dataclasses.replace(self.config, deq=deq)
        self._rebuild_deq()

    def loop_layers(self) -> tuple[AnalogMVM, ...]:
        """The analog layers inside the loop (the energy model counts their MACs)."""
        return (self.core,)

    @torch.no_grad()
    def project_contractive_(self) -> float:
        """Scale the loop's weights so that ``‖W‖₂ ≤ 1 − margin`` (by
        :meth:`operator_norm_bound`) if it left that ball; returns the norm afterwards."""
        margin = self.config.contraction_margin
        norm = self.operator_norm_bound()
        if margin > 0 and norm > 1.0 - margin:
            for layer in self.loop_layers():
                layer.weight.mul_((1.0 - margin) / norm)  # type: ignore[operator]
            return 1.0 - margin
        return norm

    # --- converters ---------------------------------------------------------------------
    def quantize_injection(self, u: Tensor) -> Tensor:
        """The digital injection's int-style fake quantization, then the DACs."""
        if self.config.injection_bits is not None:
            u = fake_quantize(u, self.config.injection_bits)
        bits = self.hardware.input_bits
        if bits is not None and self.uses_hardware():
            u = fake_quantize(u, bits)
        return u

    def adc_read(self, z: Tensor) -> Tensor:
        """One ADC conversion of each neuron output (σ's range [−1, 1] is full scale)."""
        bits = self.hardware.output_bits
        if bits is None or not self.uses_hardware():
            return z
        return quantize_ste(z, bits)

    # --- the maps whose fixed point is z* -----------------------------------------------
    def _hardware_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.core(z) + u)

    def _digital_map(self, z: Tensor, u: Tensor) -> Tensor:
        """The hardware map with the state rounded as a digital accelerator holds it."""
        return round_state(self._hardware_map(z, u), self.state_rounding)

    def _clean_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.core.ideal_forward(z) + u)  # type: ignore[operator]

    def maps(self, u: Tensor) -> tuple[Map, Map]:
        """``(solved, differentiated)`` maps for injection ``u`` in the current mode."""
        c = self.config
        if not self.uses_hardware():
            clean = batched(self._clean_map, u)
            return clean, clean
        solver = c.deq.solver if self.training else (c.deq.eval_solver or c.deq.solver)
        if solver == RELAXATION:
            solved = batched(self._frozen_map, u)
        elif self.state_rounding != "fp32":
            solved = batched(self._digital_map, u)
        else:
            solved = batched(self._hardware_map, u)
        proxy = self._frozen_map if c.proxy == "frozen" else self._clean_map
        return solved, batched(proxy, u)

    def _noise_floor(self) -> float | None:
        """The read-noise level ``ρ`` of the solved hardware map (its loop layers' in
        quadrature; σ is 1-Lipschitz), so the solve stops at the floor it sets; None when
        the solved map has no read noise of that form (the float map, or the
        ``analog_relaxation`` solver, which adds the loop's noise itself)."""
        c = self.config
        solver = c.deq.solver if self.training else (c.deq.eval_solver or c.deq.solver)
        if not self.uses_hardware() or solver == RELAXATION:
            return None
        levels = [layer.read_noise_level() for layer in self.loop_layers()]
        if any(level is None for level in levels):
            return None
        return math.sqrt(sum(level * level for level in levels))  # type: ignore[operator]

    def equilibrium(self, u: Tensor) -> ModelOutput:
        """Solve for ``z*`` with injection ``u`` and read it with the ADC; the record's
        ``output`` is the head's output."""
        solved, proxy = self.maps(u)
        adjoint: list[SolverStats] = []
        z_star, stats = self.deq(solved, torch.zeros_like(u), proxy=proxy,
                                 on_backward=adjoint.append, noise_floor=self._noise_floor())
        z = self.adc_read(z_star)
        return ModelOutput(self.head(z), solves=(stats,), z_star=z_star, z=z, u=u,
                           backward=adjoint)

    # --- measurements ---------------------------------------------------------------------
    @torch.no_grad()
    def feedback(self, z: Tensor) -> Tensor:
        """``W z`` of every loop layer with the float weights, without the bias."""
        total = sum(layer.ideal_forward(z) for layer in self.loop_layers())
        bias = self.core.bias.view(1, -1, *([1] * (z.dim() - 2)))  # type: ignore[union-attr]
        return total - bias

    def workload(self, x: Tensor) -> DEQWorkload:
        """The per-inference work: stem, core and head MACs, measured on one sample of
        ``x`` (hooks on the stem's and head's layers while the model computes its
        injection and read-out; the loop layers' MAC counters over one evaluation of the
        core map). The model is left as it was."""
        was_training = self.training
        counters = [layer.counters() for layer in self.loop_layers()]
        self.eval()
        try:
            x1 = x[:1]
            stem, u = _layer_specs(self.stem, lambda: self.injection(x1), "stem")
            for layer in self.loop_layers():
                layer.reset_counters()
            with torch.no_grad():
                solved, _ = self.maps(torch.zeros_like(u))
                z = solved(torch.zeros_like(u))
            core_macs = sum(int(layer.n_macs) for layer in self.loop_layers())
            head, _ = _layer_specs(self.head, lambda: self.head(z), "head")
        finally:
            self.train(was_training)
            for layer, saved in zip(self.loop_layers(), counters, strict=True):
                layer.__dict__.update(saved)
        neurons = int(z[0].numel())
        stem[-1] = dataclasses.replace(stem[-1], out_features=neurons)
        head[0] = dataclasses.replace(head[0], in_features=neurons)
        return DEQWorkload(neurons=neurons, injection=tuple(stem), head=tuple(head),
                           core_macs=core_macs,
                           core_weights=sum(int(layer.weight.numel())  # type: ignore[union-attr]
                                            for layer in self.loop_layers()))


def _layer_specs(module: nn.Module, run: Callable[[], Tensor],
                 name: str) -> tuple[list[LayerSpec], Tensor]:
    """Call ``run()`` (one sample) and describe the linear/conv layers of ``module`` it
    passes through, with their MACs."""
    specs: list[LayerSpec] = []

    def hook(layer: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        out = output[0].numel()
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.in_channels // layer.groups * math.prod(layer.kernel_size)
        else:
            fan_in = layer.in_features
        specs.append(LayerSpec(inputs[0][0].numel(), out, name=f"{name}{len(specs)}",
                               activation=False, macs=out * fan_in,
                               weights=layer.weight.numel()))

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, nn.Linear | nn.Conv2d)]
    try:
        with torch.no_grad():
            out = run()
    finally:
        for h in handles:
            h.remove()
    return specs, out
