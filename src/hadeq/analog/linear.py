"""Analog fully connected layer."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hadeq.analog.config import HardwareConfig
from hadeq.analog.layer import AnalogMVM
from hadeq.errors import ConfigError
from hadeq.validation import check_int


class AnalogLinear(AnalogMVM):
    """``y = W x + b`` with ``W x`` computed on analog crossbar tiles, ``b`` added digitally.

    Parameters are initialised like :class:`torch.nn.Linear`. Inputs may have any number of
    leading dimensions ``(..., in_features)``. See :class:`hadeq.analog.layer.AnalogMVM` for
    the hardware model, training/inference behaviour and the operation counters.

    Args:
        in_features: size of each input vector (crossbar rows).
        out_features: size of each output vector (crossbar columns).
        bias: add a digital bias.
        hardware: the :class:`HardwareConfig` (default: exact float).
        seed: seed of the initial :meth:`program`.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 hardware: HardwareConfig | None = None, *, seed: int = 0,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        check_int("in_features", in_features, 1)
        check_int("out_features", out_features, 1)
        super().__init__(in_features, out_features, hardware, seed)
        self.in_features, self.out_features = in_features, out_features
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **kw))
        self.bias = nn.Parameter(torch.empty(out_features, **kw)) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def weight_matrix(self) -> Tensor:
        return self.weight

    def _empty_like(self, hardware: HardwareConfig, seed: int) -> AnalogLinear:
        return AnalogLinear(self.in_features, self.out_features, self.bias is not None,
                            hardware, seed=seed, device=self.weight.device,
                            dtype=self.weight.dtype)

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Hardware output for ``x`` of shape ``(..., in_features)``."""
        if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError("x.shape", got, f"(..., {self.in_features}): the last dimension "
                              "must be in_features")
        if x.dtype != self.weight.dtype:
            raise ConfigError("x.dtype", x.dtype, f"{self.weight.dtype}, the dtype of the "
                              "layer's weights (convert x or the layer with .to())")
        if self.hardware.is_exact:
            # The same kernel as nn.Linear (fused bias), so the result is bit-identical.
            self._count(x.numel() // self.in_features)
            return nn.functional.linear(x, self.weight, self.bias)
        if x.dim() == 2:  # (N, in) already: no reshapes (a few µs each, per solver step)
            return self.analog_matmul(x, generator, bias=self.bias)
        y = self.analog_matmul(x.reshape(-1, self.in_features), generator, bias=self.bias)
        return y.reshape(*x.shape[:-1], self.out_features)

    def ideal_forward(self, x: Tensor) -> Tensor:
        """The float output ``W x + b`` (what :class:`torch.nn.Linear` computes)."""
        return nn.functional.linear(x, self.weight, self.bias)

    @classmethod
    def from_linear(cls, layer: nn.Linear, hardware: HardwareConfig | None = None, *,
                    seed: int = 0) -> AnalogLinear:
        """An analog copy of ``layer`` (weights and bias copied, same device/dtype)."""
        new = cls(layer.in_features, layer.out_features, layer.bias is not None, hardware,
                  seed=seed, device=layer.weight.device, dtype=layer.weight.dtype)
        return new._copy_parameters_from(layer)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, tiles={self.n_row_tiles}x{self.n_col_tiles}")
