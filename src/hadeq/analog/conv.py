"""Analog 2-D convolution: im2col onto crossbar tiles."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from hadeq.analog.config import HardwareConfig
from hadeq.analog.layer import AnalogMVM
from hadeq.errors import ConfigError
from hadeq.validation import check_int

IntPair = int | tuple[int, int]


class AnalogConv2d(AnalogMVM):
    """2-D convolution whose kernel is a ``(out_channels, in_channels·kh·kw)`` crossbar
    matrix: every output pixel's receptive field (one ``unfold`` column) is one input
    vector of the analog MVM; the bias is added digitally.

    Only ``groups = 1`` and zero padding are supported (``padding`` an int, a pair or
    ``'valid'``). Counters count one vector per output pixel and batch element.
    Parameters are initialised like :class:`torch.nn.Conv2d`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair,
                 stride: IntPair = 1, padding: IntPair | str = 0, dilation: IntPair = 1,
                 bias: bool = True, hardware: HardwareConfig | None = None, *,
                 seed: int = 0, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        check_int("in_channels", in_channels, 1)
        check_int("out_channels", out_channels, 1)
        self.kernel_size = _pair(kernel_size)
        self.stride, self.dilation = _pair(stride), _pair(dilation)
        if padding == "valid":
            padding = 0
        if isinstance(padding, str):
            raise ConfigError("padding", padding, "an int, a pair of ints or 'valid'")
        self.padding = _pair(padding)
        kh, kw = self.kernel_size
        super().__init__(in_channels * kh * kw, out_channels, hardware, seed)
        self.in_channels, self.out_channels = in_channels, out_channels
        kw_ = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw, **kw_))
        self.bias = nn.Parameter(torch.empty(out_channels, **kw_)) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def weight_matrix(self) -> Tensor:
        return self.weight.reshape(self.out_channels, -1)

    def _empty_like(self, hardware: HardwareConfig, seed: int) -> AnalogConv2d:
        return AnalogConv2d(self.in_channels, self.out_channels, self.kernel_size,
                            self.stride, self.padding, self.dilation, self.bias is not None,
                            hardware, seed=seed, device=self.weight.device,
                            dtype=self.weight.dtype)

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Hardware output for ``x`` of shape ``(B, in_channels, H, W)``."""
        if self.hardware.is_exact:
            self._count(x.shape[0] * self._n_pixels(x))
            return self.ideal_forward(x)
        b, _, h, w = x.shape
        oh, ow = self._out_size(h, w)
        cols = _Patches.apply(x, self.kernel_size, self.stride, self.padding, self.dilation,
                              (oh, ow))
        y = self.analog_matmul(cols, generator, bias=self.bias)
        # A channels-last view: copying it to (B, C, H, W) would cost a strided pass.
        return y.view(b, oh, ow, self.out_channels).permute(0, 3, 1, 2)

    def _out_size(self, h: int, w: int) -> tuple[int, int]:
        sizes = []
        for n, k, s, p, d in zip((h, w), self.kernel_size, self.stride, self.padding,
                                 self.dilation, strict=True):
            sizes.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
        return sizes[0], sizes[1]

    def _n_pixels(self, x: Tensor) -> int:
        oh, ow = self._out_size(x.shape[-2], x.shape[-1])
        return oh * ow

    def ideal_forward(self, x: Tensor) -> Tensor:
        """The float output (what :class:`torch.nn.Conv2d` computes)."""
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    @classmethod
    def from_conv(cls, layer: nn.Conv2d, hardware: HardwareConfig | None = None, *,
                  seed: int = 0) -> AnalogConv2d:
        """An analog copy of ``layer``; raises :class:`ConfigError` for grouped convs or
        non-zero padding modes."""
        if layer.groups != 1:
            raise ConfigError("groups", layer.groups, "only 1 is supported")
        if layer.padding_mode != "zeros":
            raise ConfigError("padding_mode", layer.padding_mode, "only 'zeros' is supported")
        padding: IntPair | str = layer.padding  # type: ignore[assignment]
        if padding == "same":
            k, d = layer.kernel_size, layer.dilation
            if any((d[i] * (k[i] - 1)) % 2 for i in range(2)):
                raise ConfigError("padding", "same", "'same' needs odd effective kernels here")
            padding = (d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2)
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size,  # type: ignore[arg-type]
                  layer.stride, padding, layer.dilation,  # type: ignore[arg-type]
                  layer.bias is not None, hardware, seed=seed,
                  device=layer.weight.device, dtype=layer.weight.dtype)
        return new._copy_parameters_from(layer)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"tiles={self.n_row_tiles}x{self.n_col_tiles}")


class _Patches(torch.autograd.Function):
    """im2col in pixel-major order: ``(B, C, H, W)`` → ``(B·oh·ow, C·kh·kw)``, the rows of
    ``F.unfold(x).transpose(1, 2)`` (the same values and order), built by one strided
    copy per kernel offset into a ``(B, oh, ow, C, kh, kw)`` buffer. Transposing
    ``unfold``'s ``(B, C·kh·kw, L)`` output instead is a gather with a long inner stride,
    several times slower on CPU. Backward: one strided add per kernel offset (what
    ``F.fold`` computes), itself differentiable."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, kernel: tuple[int, int],  # type: ignore[override]
                stride: tuple[int, int], padding: tuple[int, int],
                dilation: tuple[int, int], out_size: tuple[int, int]) -> Tensor:
        ctx.geometry = (x.shape, kernel, stride, padding, dilation, out_size)
        xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
        b, c = x.shape[:2]
        out = x.new_empty(b, *out_size, c, *kernel)
        slots = out.permute(0, 3, 4, 5, 1, 2)  # (B, C, kh, kw, oh, ow) view
        for i, j, window in _windows(kernel, stride, dilation, out_size):
            slots[:, :, i, j] = xp[window]
        return out.view(b * out_size[0] * out_size[1], -1)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        shape, kernel, stride, padding, dilation, out_size = ctx.geometry
        b, c, h, w = shape
        g = grad.view(b, *out_size, c, *kernel).permute(0, 3, 4, 5, 1, 2)
        grad_xp = grad.new_zeros(b, c, h + 2 * padding[0], w + 2 * padding[1])
        for i, j, window in _windows(kernel, stride, dilation, out_size):
            grad_xp[window] += g[:, :, i, j]
        grad_x = grad_xp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
        return grad_x, None, None, None, None, None


def _windows(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
             out_size: tuple[int, int]) -> list[tuple[int, int, tuple[slice, ...]]]:
    """``(i, j, index)`` per kernel offset: ``index`` selects, in the padded input, the
    pixel that offset ``(i, j)`` reads for every output pixel."""
    rows = [slice(i * dilation[0], i * dilation[0] + stride[0] * (out_size[0] - 1) + 1,
                  stride[0]) for i in range(kernel[0])]
    cols = [slice(j * dilation[1], j * dilation[1] + stride[1] * (out_size[1] - 1) + 1,
                  stride[1]) for j in range(kernel[1])]
    return [(i, j, (slice(None), slice(None), rows[i], cols[j]))
            for i in range(kernel[0]) for j in range(kernel[1])]
