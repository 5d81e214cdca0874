"""Device models: how programmed conductances deviate from their targets.

All functions work on conductances in µS and take standard-normal draws sampled once by
``program(seed)``, so the static non-idealities are frozen per programmed instance while
staying differentiable functions of the target conductances.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hadeq import constants as C


def pcm_programming_noise_us(g_us: Tensor, g_max_us: float) -> Tensor:
    """Nandakumar et al. (2019) programming-noise std in µS of a PCM device at ``g_us``:
    ``σ = max(c2·ĝ² + c1·ĝ + c0, 0)`` with ``ĝ = g/g_max``. The coefficients are for
    g_max = 25 µS; for another g_max the std is scaled by ``g_max / 25 µS``."""
    c2, c1, c0 = C.PCM_PROG_NOISE_COEFFS_US
    g_hat = g_us / g_max_us
    sigma = (c2 * g_hat * g_hat + c1 * g_hat + c0).clamp_min(0.0)
    return sigma * (g_max_us / C.PCM_G_MAX_US)


def pcm_drift_exponent_moments(g_hat: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and std ``(μ_ν, σ_ν)`` of the Gaussian behind the drift exponent
    ``ν = |N(μ_ν, σ_ν)|`` at normalised conductance ``ĝ`` (Nandakumar et al. 2019)."""
    log_g = torch.log(g_hat.clamp_min(torch.finfo(g_hat.dtype).tiny))
    a_mu, b_mu = C.PCM_DRIFT_MU_COEFFS
    a_sd, b_sd = C.PCM_DRIFT_SIGMA_COEFFS
    mu = (a_mu * log_g + b_mu).clamp(*C.PCM_DRIFT_MU_CLIP)
    sd = (a_sd * log_g + b_sd).clamp(*C.PCM_DRIFT_SIGMA_CLIP)
    return mu, sd


def pcm_drift(g_prog_us: Tensor, g_hat: Tensor, xi: Tensor, t_s: float) -> Tensor:
    """Conductance at time ``t_s`` after programming: ``g·(t/t0)^(−ν)`` for t > t0 = 20 s
    (no drift before the reference time), ``ν = |μ_ν(ĝ) + σ_ν(ĝ)·ξ|``."""
    if t_s <= C.PCM_DRIFT_T0_S:
        return g_prog_us
    mu, sd = pcm_drift_exponent_moments(g_hat)
    nu = (mu + sd * xi).abs()
    return g_prog_us * torch.exp(-nu * math.log(t_s / C.PCM_DRIFT_T0_S))


def pcm_read_noise_us(g_us: Tensor, g_hat: Tensor, t_s: float) -> Tensor:
    """Std in µS of the 1/f read noise accumulated up to ``t_s``:
    ``σ = g·Q_s·sqrt(ln((t + t_read)/(2 t_read)))``, ``Q_s = min(a/ĝ^p, Q_max)``; zero
    while ``t ≤ t_read`` (the logarithm would be negative)."""
    t_read = C.PCM_READ_NOISE_T_READ_S
    log_term = math.log((t_s + t_read) / (2.0 * t_read))
    if log_term <= 0.0:
        return torch.zeros_like(g_us)
    a, p = C.PCM_READ_NOISE_QS_COEFFS
    q_s = (a / g_hat.clamp_min(torch.finfo(g_hat.dtype).tiny) ** p).clamp_max(
        C.PCM_READ_NOISE_QS_MAX)
    return g_us * q_s * math.sqrt(log_term)


def pcm_conductance_us(
    g_target_us: Tensor,
    g_max_us: float,
    t_s: float,
    noise_scale: float,
    xi_prog: Tensor,
    xi_drift: Tensor,
    xi_read: Tensor,
) -> tuple[Tensor, Tensor]:
    """Programmed and read-time conductances ``(g_prog, g_t)`` of PCM devices (µS).

    ``g_prog = max(g_T + noise_scale·σ_prog(g_T)·ξ_prog, 0)``; ``g_t`` drifts ``g_prog``
    to ``t_s`` and adds the accumulated 1/f read noise (frozen: it is the noise *history*
    up to the read time), clipped at 0. The noise stds are not differentiated (detached),
    so the gradient with respect to ``g_T`` is that of an additive/multiplicative
    perturbation.
    """
    sigma = pcm_programming_noise_us(g_target_us.detach(), g_max_us)
    g_prog = (g_target_us + noise_scale * sigma * xi_prog).clamp_min(0.0)
    g_hat = (g_prog / g_max_us).detach()
    g_t = pcm_drift(g_prog, g_hat, xi_drift, t_s)
    read_sd = pcm_read_noise_us(g_t.detach(), g_hat, t_s)
    g_t = (g_t + noise_scale * read_sd * xi_read).clamp_min(0.0)
    return g_prog, g_t
