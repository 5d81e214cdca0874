"""The convolutional hybrid DEQ: digital conv stem → analog conv fixed-point core → ADC →
digital head, for fields (PDE solution operators) and images."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadeq.analog import AnalogConv2d, AnalogMVM
from hadeq.analog.loop import Noise
from hadeq.analog.spectral import AnalogSpectralMix
from hadeq.deq import DEQ
from hadeq.errors import ConfigError
from hadeq.models.config import ConvHybridDEQConfig
from hadeq.models.core import ACTIVATIONS, AnalogCoreDEQ, deq_config, loop_hardware
from hadeq.models.interface import ModelOutput


def conv_norm_fft(kernel: Tensor, grid: int) -> Tensor:
    """Spectral norm of the *circular* convolution by ``kernel`` ``(C_out, C_in, k, k)`` on
    an ``M × M`` torus, ``M = grid + k − 1``.

    The circular convolution is block-diagonalised by the 2-D DFT: at frequency ω it acts
    as the ``C_out × C_in`` matrix ``K̂(ω) = Σ_{a,b} K[:, :, a, b]·e^{−2πi(ω₁a + ω₂b)/M}``,
    so its norm is ``max_ω ‖K̂(ω)‖₂`` (real kernels: ``K̂(−ω) = conj K̂(ω)``, so half the
    frequencies suffice). A zero-padded convolution on an H × W grid with H, W ≤ ``grid``
    is this operator restricted to (and read on) the H × W corner of the torus, so its
    norm is at most this value.
    """
    k = kernel.shape[-1]
    m = grid + k - 1
    spectrum = torch.fft.rfft2(kernel, s=(m, m))  # (C_out, C_in, M, M//2 + 1)
    blocks = spectrum.permute(2, 3, 0, 1)
    return torch.linalg.matrix_norm(blocks, ord=2).amax()


def conv_norm_taps(kernel: Tensor) -> Tensor:
    """``Σ_taps ‖K[:, :, a, b]‖₂``: a conv is the sum of k² shifted channel mixes, each
    shift has norm ≤ 1, so this bounds its operator norm on every grid."""
    taps = kernel.permute(2, 3, 0, 1)
    return torch.linalg.matrix_norm(taps, ord=2).sum()


class ConvHybridDEQ(AnalogCoreDEQ):
    """Convolutional hybrid analog-digital deep equilibrium model.

    * digital stem: ``u = Q(D(x))``, one or two 3×3 convs ``in_channels → C`` (ReLU
      between), optional int8-style fake quantization ``Q`` (one range per sample), then
      the DACs (``hardware.input_bits``, one range per sample);
    * analog core: a ``k × k`` convolution ``W`` with C channels and zero padding (an
      :class:`~hadeq.analog.AnalogConv2d`: every pixel's receptive field is one crossbar
      input vector) with digital bias ``b``, in a loop with the amplifiers' σ, settles at
      ``z* = σ(W ⋆ z* + S z* + u + b)`` — no DAC or ADC inside the loop. ``S`` is the
      optional global spectral path (``spectral_modes > 0``, an
      :class:`~hadeq.analog.spectral.AnalogSpectralMix`; otherwise ``S = 0``);
    * one ADC read of ``z*`` (``hardware.output_bits``), then a digital head: 1×1 convs
      to ``out_features`` channels per pixel (``field``) or pooling + linear (``classes``).

    With the ``ideal`` hardware preset this *is* the digital conv DEQ (one code path).
    Training modes, proxies and evaluation behave exactly as in :class:`HybridDEQ`. The
    loop is a contraction when ``‖W⋆‖₂ + ‖S‖₂ < 1`` (σ is 1-Lipschitz);
    :meth:`project_contractive_` keeps an upper bound of it (see
    :attr:`ConvHybridDEQConfig.norm_bound`; ``‖S‖₂`` is exact) at ``≤ 1 − margin``,
    scaling both paths alike.
    """

    def __init__(self, config: ConvHybridDEQConfig, *, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(config, ConvHybridDEQConfig):
            raise ConfigError("config", type(config).__name__, "a ConvHybridDEQConfig")
        self.config = config
        c = config
        stem_in = c.in_channels + (2 if c.coordinates else 0)
        if c.stem_hidden is None:
            self.stem: nn.Module = nn.Conv2d(stem_in, c.channels, 3, padding=1)
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(stem_in, c.stem_hidden, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c.stem_hidden, c.channels, 3, padding=1),
            )
        self.core = AnalogConv2d(c.channels, c.channels, c.kernel_size,
                                 padding=c.kernel_size // 2, bias=True,
                                 hardware=loop_hardware(c.hardware), seed=seed)
        with torch.no_grad():
            # Start well inside the contraction region (as HybridDEQ does).
            self.core.weight.mul_(0.5)
        self.spectral: AnalogSpectralMix | None = None
        if c.spectral_modes and c.channels > c.hardware.tile_rows:
            raise ConfigError("channels", c.channels, f"at most tile_rows="
                              f"{c.hardware.tile_rows} with spectral_modes > 0 (every mode's "
                              "mixing reads its channels on one tile)")
        if c.spectral_modes:
            self.spectral = AnalogSpectralMix(c.channels, c.channels, c.spectral_modes,
                                              hardware=loop_hardware(c.hardware), seed=seed + 1)
        self.head = self._make_head(c)
        self.deq = DEQ(deq_config(c))
        self.sigma = ACTIVATIONS[c.activation]
        self._finish_init()

    @staticmethod
    def _make_head(c: ConvHybridDEQConfig) -> nn.Module:
        if c.head == "field":
            if c.head_hidden is None:
                return nn.Conv2d(c.channels, c.out_features, 1)
            return nn.Sequential(nn.Conv2d(c.channels, c.head_hidden, 1), nn.ReLU(),
                                 nn.Conv2d(c.head_hidden, c.out_features, 1))
        n_in = c.channels * c.pool_size**2
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(c.pool_size), nn.Flatten()]
        if c.head_hidden is None:
            layers.append(nn.Linear(n_in, c.out_features))
        else:
            layers += [nn.Linear(n_in, c.head_hidden), nn.ReLU(),
                       nn.Linear(c.head_hidden, c.out_features)]
        return nn.Sequential(*layers)

    # --- the core -------------------------------------------------------------------------
    def loop_layers(self) -> tuple[AnalogMVM, ...]:
        return (self.core,) if self.spectral is None else (self.core, self.spectral)

    @torch.no_grad()
    def operator_norm_bound(self) -> float:
        """The configured upper bound of ``‖W⋆‖₂`` for the current float kernel, plus the
        exact ``‖S‖₂`` of the spectral path."""
        w = self.core.weight.detach()
        if self.config.norm_bound == "taps":
            bound = float(conv_norm_taps(w))
        else:
            bound = float(conv_norm_fft(w, self.config.contraction_grid))
        return bound + (0.0 if self.spectral is None else self.spectral.operator_norm())

    # --- the maps whose fixed point is z* -------------------------------------------------
    def _hardware_map(self, z: Tensor, u: Tensor) -> Tensor:
        s = 0.0 if self.spectral is None else self.spectral(z)
        return self.sigma(self.core(z) + s + u)

    def _clean_map(self, z: Tensor, u: Tensor) -> Tensor:
        s = 0.0 if self.spectral is None else self.spectral.ideal_forward(z)
        return self.sigma(self.core.ideal_forward(z) + s + u)

    def loop_operator(self) -> Callable[[Tensor], Tensor]:
        core, path = self.core, self.spectral
        weight, offset = core.static_operands()
        kernel = weight.reshape(core.weight.shape)
        bias = core.bias if offset is None else core.bias + offset

        def current(z: Tensor) -> Tensor:
            out = F.conv2d(z, kernel, bias, core.stride, core.padding, core.dilation)
            return out if path is None else out + path.frozen_forward(z)
        return current

    def _path_noise_source(self) -> Noise | None:
        """The spectral path's read noise: white current noise on every mode's output
        node at the mode's fixed full scale (calibrated), taken to the field by the
        (exact) synthesis transform."""
        calib, path = self.loop_calibration, self.spectral
        if path is None or calib is None or calib.mode_full_scale is None:
            return None
        hw = self.hardware
        if hw.read_noise == 0.0:
            return None
        m, c_out = path.modes, path.out_channels
        scale = path.effective_tiles()[1]
        scale = scale.reshape(m, m, c_out).permute(2, 0, 1) if scale.dim() else scale
        std = hw.read_noise * calib.mode_full_scale * scale  # (C_out, m, m)

        def noise(a: Tensor, generator: torch.Generator | None) -> Tensor:
            eps = torch.randn((a.shape[0], c_out, m, m), generator=generator, dtype=a.dtype,
                              device=a.device)
            return path.synthesis(eps * std.to(a.dtype), *a.shape[-2:])
        return noise

    def _path_amplifiers(self, z: Tensor) -> int:
        if self.spectral is None:
            return 0
        return self.spectral.intermediate_nodes(*z.shape[-2:])

    def _calibrate_paths(self, z_star: Tensor) -> Tensor | None:
        """Per mode, the largest coefficient magnitude of the equilibria ``z_star``: the
        fixed full scale of every mode crossbar's input (``(1, m, m)``)."""
        if self.spectral is None:
            return None
        c = self.spectral.analysis(z_star)  # (B, C, m, m)
        return c.abs().amax(dim=(0, 1)).clamp_min(torch.finfo(c.dtype).tiny).unsqueeze(0)

    # --- forward ------------------------------------------------------------------------
    def injection(self, x: Tensor) -> Tensor:
        """Digital stem output after fake quantization and the DACs, ``(B, C, H, W)``."""
        if x.dim() == 3 and self.config.in_channels == 1:
            x = x.unsqueeze(1)  # a bare single-channel field
        if self.config.coordinates:
            b, _, h, w = x.shape
            ys = torch.linspace(0, 1, h, dtype=x.dtype, device=x.device)
            xs = torch.linspace(0, 1, w, dtype=x.dtype, device=x.device)
            grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")).expand(b, 2, h, w)
            x = torch.cat([x, grid], dim=1)
        return self.quantize_injection(self.stem(x))

    def _check_input(self, x: Tensor) -> None:
        c = self.config
        if x.dim() != 4 or x.shape[0] == 0 or x.shape[1] != c.in_channels:
            raise ConfigError("x.shape", tuple(x.shape),
                              f"(batch, {c.in_channels}, H, W) with batch ≥ 1")
        h, w = x.shape[-2:]
        if h == 0 or w == 0:
            raise ConfigError("x.shape", tuple(x.shape), "H and W must be ≥ 1")
        if (c.norm_bound == "fft" and c.contraction_margin > 0
                and max(h, w) > c.contraction_grid):
            raise ConfigError("x.shape", tuple(x.shape),
                              f"H, W ≤ contraction_grid={c.contraction_grid} (raise "
                              "contraction_grid so the contraction projection covers them)")

    def forward_with_info(self, x: Tensor) -> ModelOutput:
        """Everything one forward pass computes; ``z``/``z_star``/``u`` are
        ``(B, C, H, W)``, ``output`` is ``(B, out, H, W)`` or ``(B, out)``.

        A single-channel field may come without its channel dimension, ``(B, H, W)``;
        a ``field`` head with one output then answers ``(B, H, W)`` too.
        """
        bare = x.dim() == 3 and self.config.in_channels == 1
        if bare:
            x = x.unsqueeze(1)
        self._check_input(x)
        out = self.equilibrium(self.injection(x))
        if bare and self.config.head == "field" and self.config.out_features == 1:
            out.output = out.output[:, 0]
        return out
