"""What every hybrid DEQ shares: an analog core in a loop, its hardware and its maps.

:class:`AnalogCoreDEQ` holds the logic common to the dense :class:`~hadeq.models.HybridDEQ`
and the convolutional :class:`~hadeq.models.ConvHybridDEQ`: the loop's hardware (no DAC
or ADC inside it), swapping hardware and solvers on trained weights, the contraction
projection, and the three maps whose fixed point is ``z*``:

* hardware map — ``σ(core(z) + u)`` through the hardware model (quantized, programmed
  conductances, fresh read noise at every read);
* clean map — ``σ(W z + b + u)`` with the float weights;
* frozen map — the programmed effective weights without read noise (the frozen noise
  sample), which the ``analog_relaxation`` solver also integrates (it adds the read
  noise itself, per time step).

Subclasses build ``stem``, ``core`` (an analog layer with ``bias``), ``head``, ``sigma``
and ``config`` (with ``hardware``, ``deq``, ``mode``, ``proxy`` and
``contraction_margin``), and implement :meth:`_new_core`, :meth:`_frozen_map` and
:meth:`operator_norm_bound`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from hadeq.analog import HardwareConfig
from hadeq.analog.base import AnalogMVM
from hadeq.analog.quant import quantize_ste
from hadeq.deq import DEQ, DEQConfig
from hadeq.solvers import batched

Map = Callable[[Tensor], Tensor]


def fake_quantize(x: Tensor, bits: int) -> Tensor:
    """Symmetric ``bits``-bit quantization of each sample with its own max-abs range over
    all its values (straight-through gradient)."""
    flat = x.reshape(x.shape[0], -1)
    scale = flat.detach().abs().amax(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    return (quantize_ste(flat / scale, bits) * scale).reshape(x.shape)


def loop_hardware(hardware: HardwareConfig) -> HardwareConfig:
    """The core's hardware inside the loop: no DAC or ADC (the loop is analog)."""
    return hardware.replace(input_bits=None, input_range=None, output_bits=None,
                            output_range=None)


def deq_config(config: Any) -> DEQConfig:
    """The model's DEQ options, with the loop's read noise handed to ``analog_relaxation``."""
    deq: DEQConfig = config.deq
    noise = {"read_noise": config.hardware.read_noise}
    changes: dict[str, object] = {}
    if deq.solver == "analog_relaxation":
        changes["solver_options"] = {**noise, **deq.solver_options}
    if (deq.eval_solver or deq.solver) == "analog_relaxation":
        changes["eval_options"] = {**noise, **deq.eval_solver_options}
    return dataclasses.replace(deq, **changes) if changes else deq


class AnalogCoreDEQ(nn.Module):
    """Base class of the hybrid DEQs (see the module docstring)."""

    config: Any
    core: AnalogMVM
    sigma: Callable[[Tensor], Tensor]

    # --- to be provided by subclasses ---------------------------------------------------
    def _new_core(self, hardware: HardwareConfig, seed: int) -> AnalogMVM:
        """An empty core of the same shape on ``hardware`` (weights are copied after)."""
        raise NotImplementedError

    def _frozen_map(self, z: Tensor, u: Tensor) -> Tensor:
        raise NotImplementedError

    def operator_norm_bound(self) -> float:
        """An upper bound of the feedback operator's norm ‖W‖₂ (float weights)."""
        raise NotImplementedError

    # --- hardware and solvers -----------------------------------------------------------
    @property
    def hardware(self) -> HardwareConfig:
        return self.config.hardware

    def _rebuild_deq(self) -> None:
        # A new module starts in training mode: keep the model's mode.
        self.deq = DEQ(deq_config(self.config)).train(self.training)

    def set_hardware(self, hardware: HardwareConfig, seed: int | None = None) -> None:
        """Run the same weights on other hardware (and program it with ``seed``)."""
        self.config = dataclasses.replace(self.config, hardware=hardware)
        self._rebuild_deq()
        old = self.core
        self.core = self._new_core(loop_hardware(hardware), old.seed if seed is None else seed)
        with torch.no_grad():
            self.core.weight.copy_(old.weight)  # type: ignore[operator]
            self.core.bias.copy_(old.bias)  # type: ignore[union-attr,operator]
        self.core.train(old.training)

    def set_eval_solver(self, solver: str, options: dict[str, object] | None = None) -> None:
        """Solve with ``solver`` (and ``options``) in evaluation mode from now on, e.g.
        ``analog_relaxation`` to simulate the settling physics of trained weights."""
        deq = dataclasses.replace(self.config.deq, eval_solver=solver, eval_options=options)
        self.config = dataclasses.replace(self.config, deq=deq)
        self._rebuild_deq()

    def loop_layers(self) -> tuple[AnalogMVM, ...]:
        """The analog layers inside the loop (the energy model counts their MACs)."""
        return (self.core,)

    def program(self, seed: int) -> None:
        """Sample the static non-idealities (programming noise, drift, mismatch) of the
        loop's arrays; the ``i``-th layer of :meth:`loop_layers` gets ``seed + i`` so that
        no two arrays share their draws."""
        for i, layer in enumerate(self.loop_layers()):
            layer.program(seed + i)

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
    def _converters_on(self) -> bool:
        """Standard training runs the ideal map: no converters until evaluation."""
        return not (self.training and self.config.mode == "standard")

    def quantize_injection(self, u: Tensor) -> Tensor:
        """The digital injection's int-style fake quantization, then the DACs."""
        if self.config.injection_bits is not None:
            u = fake_quantize(u, self.config.injection_bits)
        bits = self.hardware.input_bits
        if bits is not None and self._converters_on():
            u = fake_quantize(u, bits)
        return u

    def adc_read(self, z: Tensor) -> Tensor:
        """One ADC conversion of each neuron output (σ's range [−1, 1] is full scale)."""
        bits = self.hardware.output_bits
        if bits is None or not self._converters_on():
            return z
        return quantize_ste(z, bits)

    # --- the maps whose fixed point is z* -----------------------------------------------
    def _hardware_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.core(z) + u)

    def _clean_map(self, z: Tensor, u: Tensor) -> Tensor:
        return self.sigma(self.core.ideal_forward(z) + u)  # type: ignore[operator]

    def maps(self, u: Tensor) -> tuple[Map, Map]:
        """``(solved, differentiated)`` maps for injection ``u`` in the current mode."""
        c = self.config
        if self.training and c.mode == "standard":
            clean = batched(self._clean_map, u)
            return clean, clean
        solver = c.deq.solver if self.training else (c.deq.eval_solver or c.deq.solver)
        if solver == "analog_relaxation":
            solved = batched(self._frozen_map, u)
        else:
            solved = batched(self._hardware_map, u)
        proxy = self._frozen_map if c.proxy == "frozen" else self._clean_map
        return solved, batched(proxy, u)
