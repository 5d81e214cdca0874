"""Analog spectral mixing: a global linear operator on fields, one crossbar per mode.

For a field ``z`` with channels ``(C_in, H, W)`` the layer computes

    S z = Φ_Hᵀ · R̂ · (Φ_H z Φ_Wᵀ) · Φ_W,

where ``Φ_n`` is the ``m × n`` matrix of the ``m`` lowest orthonormal sine modes
(DST-I) ``Φ_n[p, i] = √(2/(n+1))·sin(π (p+1)(i+1)/(n+1))`` and ``R̂`` mixes the
channels of every mode ``(p, q)`` with its own learned ``C_out × C_in`` matrix
``R_pq``. It is the Fourier layer of FNO (Li et al. 2021) in the sine basis, which
vanishes on the boundary (the zero Dirichlet condition of the PDEs it serves) and keeps
everything real, so that every stage is a matrix a crossbar can hold.

Hardware mapping. The sine transforms are fixed matrices, programmed once; they are
modelled as exact (no device errors or read noise), while their crossbar cells are
counted in the energy model (``n_macs``) and every intermediate node gets an amplifier
(:meth:`intermediate_nodes`), biased while the loop runs; the transform stages' delay,
about one amplifier lag ``1/(π·GBW)`` each (≈ 1.3 ns for the four stages at τ = 10 ns,
GBW·τ = 10), is not simulated. The learned mixing is the analog part: the ``m²``
matrices ``R_pq`` sit side by side in the columns of the tiles (an ``(m²·C_out) × C_in``
matrix, every mode a block of ``C_out`` columns sharing the ``C_in`` rows), and the
coefficient vector of mode ``(p, q)`` is read against its own block only. Each read goes
through the same stages as :class:`~hadeq.analog.layer.AnalogMVM`: quantized and
programmed conductances with the device model and IR drop (its effective tiles), and the
read chain of :mod:`hadeq.analog.converters` — DAC (or, without DAC, the per-vector
dynamic range), amplifier mismatch, fresh read noise and the ADC. ``C_in`` must fit the
rows of one tile.

Because ``Φ_n`` has orthonormal rows, ``‖S‖₂ = max_pq ‖R_pq‖₂`` (:meth:`operator_norm`),
on every grid with ``H, W ≥ m``.

Counters count one input vector per mode and sample; ``n_macs`` adds the MACs of the
fixed transforms (``C_in·m·(H·W + m·W)`` in, ``C_out·m·(H·W + m·H)`` out per sample) to
those of the mixing, so the energy model sees the whole operator.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hadeq.analog.config import HardwareConfig, WeightScale
from hadeq.analog.converters import adc, add_read_noise, amplifier_errors, dac
from hadeq.analog.layer import AnalogMVM
from hadeq.errors import ConfigError
from hadeq.validation import check_int


def sine_basis(n: int, modes: int, *, dtype: torch.dtype = torch.float32,
               device: torch.device | str | None = None) -> Tensor:
    """The ``modes × n`` matrix of the lowest orthonormal DST-I modes on ``n`` points."""
    i = torch.arange(1, n + 1, dtype=torch.float64)
    p = torch.arange(1, modes + 1, dtype=torch.float64)
    phi = math.sqrt(2.0 / (n + 1)) * torch.sin(math.pi * p[:, None] * i[None, :] / (n + 1))
    return phi.to(dtype=dtype, device=device)


class AnalogSpectralMix(AnalogMVM):
    """Global spectral mixing ``S z`` on crossbars (see the module docstring).

    ``weight`` has shape ``(modes, modes, out_channels, in_channels)``; there is no bias.
    Initialised uniformly in ``±1/√in_channels`` (as a linear layer), scaled by 1/2.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int,
                 hardware: HardwareConfig | None = None, *, seed: int = 0,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        check_int("in_channels", in_channels, 1)
        check_int("out_channels", out_channels, 1)
        check_int("modes", modes, 1, 4096)
        super().__init__(in_channels, modes * modes * out_channels, hardware, seed)
        if self.n_row_tiles != 1:
            raise ConfigError("in_channels", in_channels,
                              f"at most tile_rows={self.hardware.tile_rows} (one row tile)")
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        self.weight = nn.Parameter(torch.empty(modes, modes, out_channels, in_channels,
                                               device=device, dtype=dtype))
        self.bias = None
        self.reset_parameters()
        self._basis: dict[tuple[int, torch.dtype, torch.device], Tensor] = {}

    def reset_parameters(self) -> None:
        bound = 0.5 / math.sqrt(self.in_channels)
        nn.init.uniform_(self.weight, -bound, bound)

    def weight_matrix(self) -> Tensor:
        return self.weight.reshape(-1, self.in_channels)

    def _empty_like(self, hardware: HardwareConfig, seed: int) -> AnalogSpectralMix:
        return AnalogSpectralMix(self.in_channels, self.out_channels, self.modes, hardware,
                                 seed=seed, device=self.weight.device, dtype=self.weight.dtype)

    @torch.no_grad()
    def operator_norm(self) -> float:
        """``‖S‖₂ = max_pq ‖R_pq‖₂`` of the float weights."""
        return float(torch.linalg.matrix_norm(self.weight.detach(), ord=2).amax())

    # --- transforms ---------------------------------------------------------------------
    def basis(self, n: int, like: Tensor) -> Tensor:
        key = (n, like.dtype, like.device)
        if key not in self._basis:
            self._basis[key] = sine_basis(n, self.modes, dtype=like.dtype, device=like.device)
        return self._basis[key]

    def analysis(self, z: Tensor) -> Tensor:
        """Sine coefficients ``Φ_H z Φ_Wᵀ``: ``(B, C, H, W)`` → ``(B, C, m, m)``."""
        h, w = z.shape[-2:]
        if min(h, w) < self.modes:
            raise ConfigError("x.shape", tuple(z.shape),
                              f"H and W ≥ spectral modes={self.modes}")
        return self.basis(h, z) @ z @ self.basis(w, z).t()

    def synthesis(self, c: Tensor, h: int, w: int) -> Tensor:
        """The field ``Φ_Hᵀ c Φ_W`` of coefficients ``(B, C, m, m)``."""
        return self.basis(h, c).t() @ c @ self.basis(w, c)

    # --- the operator -------------------------------------------------------------------
    def ideal_forward(self, z: Tensor) -> Tensor:
        """The float ``S z``."""
        c = torch.einsum("bipq,pqoi->bopq", self.analysis(z), self.weight)
        return self.synthesis(c, *z.shape[-2:])

    def frozen_forward(self, z: Tensor) -> Tensor:
        """``S z`` with the programmed effective weights, without read noise, mismatch or
        converters (what the ``analog_relaxation`` solver integrates)."""
        w = self.effective_weight().reshape(self.weight.shape)
        c = torch.einsum("bipq,pqoi->bopq", self.analysis(z), w)
        return self.synthesis(c, *z.shape[-2:])

    def forward(self, z: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Hardware output for ``z`` of shape ``(B, in_channels, H, W)``."""
        b, _, h, w = z.shape
        self._count_modes(b, h, w)
        if self.hardware.is_exact:
            return self.ideal_forward(z)
        m, c_in, c_out = self.modes, self.in_channels, self.out_channels
        x = self.analysis(z).permute(2, 3, 0, 1).reshape(m * m, b, c_in)
        y = self._mode_matmul(x, generator if generator is not None else self.read_generator)
        return self.synthesis(y.reshape(m, m, b, c_out).permute(2, 3, 0, 1), h, w)

    def _mode_matmul(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        """``R_k x_k`` for every mode ``k`` through the hardware: ``(m², N, C_in)`` →
        ``(m², N, C_out)``. The stages and units are those of
        :meth:`AnalogMVM.analog_matmul` (one row tile), in the autograd (FS-unit) form of
        :mod:`hadeq.analog.converters`."""
        hw = self.hardware
        k, c_in, c_out = self.modes**2, self.in_channels, self.out_channels
        tiles, scale = self.effective_tiles()
        w = tiles[0, :c_in, : k * c_out].reshape(c_in, k, c_out).transpose(0, 1)
        x_hat, x_range = dac(x, hw)
        y = torch.bmm(x_hat, w.to(x.dtype))  # units of FS
        xi = self.xi_amplifiers[:, 0, : k * c_out]
        xi = xi.reshape(xi.shape[0], k, 1, c_out)
        gain, offset = amplifier_errors(xi, hw, x.dtype)
        if gain is not None:
            y = y * gain
        if offset is not None:
            y = y + offset
        y = adc(add_read_noise(y, hw, generator), hw)
        if hw.weight_scale == WeightScale.COLUMN:
            scale = scale.reshape(k, 1, c_out)
        return y * (x_range * scale.to(x.dtype))

    def intermediate_nodes(self, h: int, w: int) -> int:
        """Nodes between the field and the field on an ``h × w`` grid, each an amplifier:
        the half-analysed field ``Φ_H z`` (``C_in·m·W``), the coefficients driving the
        mode crossbars (``C_in·m²``), the mode crossbars' outputs (``C_out·m²``) and the
        half-synthesised field (``C_out·H·m``); the last stage sums into the neurons."""
        m = self.modes
        return (self.in_channels * m * (w + m) + self.out_channels * m * (m + h))

    def read_noise_level(self) -> float | None:
        """``ρ`` with which the read noise of ``S z`` is at most ``ρ·max|z|`` in every
        element (see :meth:`AnalogMVM.read_noise_level`; None with a fixed input range, 0
        without noise): ``ρ = 2·min(m, √C_in)·w_scale·σ_u``, ``σ_u² = read_noise² +
        lsb²/12`` the variance of one read in FS units.

        Why. Mode ``k = (p, q)`` of sample ``n`` is read with full scale
        ``r_k·w_scale``, ``r_k = max_i |c_k,i|`` (the DAC's dynamic range over the
        channels), so its output carries noise of std ``s_k ≤ r_k·w_scale·σ_u``, and the
        synthesis spreads it over the field: ``Var ε(h, w) = Σ_k φ_p(h)²·φ_q(w)²·s_k²``.
        With ``φ_p(h)² ≤ 2/(H+1)`` and ``Σ_p φ_p(h)² ≤ 2m/(H+1)`` this is at most
        ``4/((H+1)(W+1))·min(m²·max_k s_k², Σ_k s_k²)``; Cauchy–Schwarz gives
        ``|c_k,i| ≤ ‖z_i‖₂ ≤ √(HW)·max|z|`` for the first, Parseval
        ``Σ_k max_i c_k,i² ≤ Σ_i ‖z_i‖₂² ≤ C_in·HW·max|z|²`` for the second, and
        ``HW < (H+1)(W+1)``. The bound is reached by smooth fields, whose energy sits in a
        few low modes; rough ones stay well below it."""
        var = self._read_variance_fs()
        if var is None or var == 0.0:
            return var
        width = min(float(self.modes), math.sqrt(self.in_channels))
        return 2.0 * width * self._max_weight_scale() * math.sqrt(var)

    def _count_modes(self, batch: int, h: int, w: int) -> None:
        n, m = batch * self.modes**2, self.modes
        self.n_vectors += n
        self.n_mvms += n  # one tile read per vector: its block sits in one tile
        self.n_macs += n * self.in_channels * self.out_channels + batch * m * (
            self.in_channels * (h * w + m * w) + self.out_channels * (h * w + m * h))
        self.n_dac_conversions += n * self.in_channels
        self.n_adc_conversions += n * self.out_channels

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, modes={self.modes}, "
                f"tiles={self.n_row_tiles}x{self.n_col_tiles}")
