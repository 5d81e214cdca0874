"""The hybrid analog-digital DEQ: digital stem → analog fixed-point core → ADC → head."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadeq.analog import AnalogLinear
from hadeq.deq import DEQ
from hadeq.errors import ConfigError
from hadeq.models.config import HybridDEQConfig
from hadeq.models.core import ACTIVATIONS, AnalogCoreDEQ, deq_config, loop_hardware
from hadeq.models.interface import ModelOutput


class HybridDEQ(AnalogCoreDEQ):
    """Hybrid analog-digital deep equilibrium model.

    * digital stem: ``u = Q(D(x))``, an MLP with optional int8-style fake quantization
      ``Q`` of its output, then the DACs (``hardware.input_bits``);
    * analog core: the crossbar ``W`` (an :class:`~hadeq.analog.AnalogLinear` with bias
      ``b``) in a loop with the amplifiers' nonlinearity σ settles at
      ``z* = σ(W z* + u + b)``;
    * one ADC read of ``z*`` (``hardware.output_bits``), then a digital linear head.

    With the ``ideal`` hardware preset this *is* the digital DEQ: one code path.

    Training (``mode``): ``physics_aware`` solves the fixed point through the hardware
    model and back-propagates with the implicit adjoint through a differentiable proxy at
    that ``z*``; ``standard`` trains on the ideal float map. Evaluation (``.eval()``)
    always runs the hardware. The core weight is kept contractive by
    :meth:`project_contractive_`, which the trainer calls after every optimizer step.
    """

    def __init__(self, config: HybridDEQConfig, *, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(config, HybridDEQConfig):
            raise ConfigError("config", type(config).__name__, "a HybridDEQConfig")
        self.config = config
        c = config
        if c.stem_hidden is None:
            self.stem: nn.Module = nn.Linear(c.in_features, c.hidden)
        else:
            self.stem = nn.Sequential(
                nn.Linear(c.in_features, c.stem_hidden), nn.ReLU(),
                nn.Linear(c.stem_hidden, c.hidden),
            )
        self.core = AnalogLinear(c.hidden, c.hidden, bias=True,
                                 hardware=loop_hardware(c.hardware), seed=seed)
        with torch.no_grad():
            # Start well inside the contraction region: a DEQ that begins slow to settle
            # learns slowly (and costs the analog loop settling time).
            self.core.weight.mul_(0.5)
        self.head = nn.Linear(c.hidden, c.out_features)
        self.deq = DEQ(deq_config(c))
        self.sigma = ACTIVATIONS[c.activation]
        self._finish_init()

    # --- the core -------------------------------------------------------------------------
    @torch.no_grad()
    def operator_norm_bound(self) -> float:
        """``‖W‖₂`` of the float feedback weight (exact)."""
        return float(torch.linalg.matrix_norm(self.core.weight, ord=2))

    def loop_operator(self) -> Callable[[Tensor], Tensor]:
        weight, offset = self.core.static_operands()
        bias = self.core.bias if offset is None else self.core.bias + offset
        return lambda z: F.linear(z, weight, bias)

    # --- forward ------------------------------------------------------------------------
    def injection(self, x: Tensor) -> Tensor:
        """Digital stem output after fake quantization and the DACs, ``(B, hidden)``."""
        return self.quantize_injection(self.stem(x.reshape(x.shape[0], -1)))

    def forward_with_info(self, x: Tensor) -> ModelOutput:
        """The head's output ``(B, out_features)`` with ``z``, ``z_star``, ``u`` of shape
        ``(B, hidden)`` and the solve's statistics."""
        self.check_features(x, self.config.in_features)
        return self.equilibrium(self.injection(x))
