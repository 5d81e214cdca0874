"""Signal-to-noise ratio of analog outputs."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hadeq.errors import ConfigError


def snr_db(clean: Tensor, noisy: Tensor) -> float:
    """``10·log10(Var[clean] / Var[noisy − clean])`` in dB, over all elements.

    For noise of std ``η·FS`` on a signal uniform over ``[−FS, FS]`` (variance FS²/3) this
    is ``20·log10(1/(√3·η))``. Returns ``inf`` when ``noisy == clean``.
    """
    if clean.shape != noisy.shape:
        raise ConfigError("noisy.shape", tuple(noisy.shape), f"the shape of clean, "
                          f"{tuple(clean.shape)}")
    clean64, err = clean.detach().double(), (noisy.detach() - clean.detach()).double()
    noise_var = float(err.var(unbiased=False))
    signal_var = float(clean64.var(unbiased=False))
    if noise_var == 0.0:
        return math.inf
    if signal_var == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_var / noise_var)


def measure_snr_db(layer: nn.Module, inputs: Tensor) -> float:
    """SNR in dB of ``layer``'s hardware output against its float output on ``inputs``.

    ``layer`` must have ``ideal_forward`` (every analog layer does). Runs without
    gradients and leaves the operation counters unchanged.
    """
    ideal = getattr(layer, "ideal_forward", None)
    if ideal is None:
        raise ConfigError("layer", type(layer).__name__, "an analog layer with ideal_forward")
    saved = layer.counters() if hasattr(layer, "counters") else None
    with torch.no_grad():
        clean, noisy = ideal(inputs), layer(inputs)
    if saved is not None:
        for name, value in saved.items():
            setattr(layer, name, value)
    return snr_db(clean, noisy)
