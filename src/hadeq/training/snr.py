"""The hardware point of a given crossbar SNR, found by measurement, and training there.

The proposal's robustness threshold is a crossbar SNR (≥ 20 dB), not a read noise: how
much read noise a chip may have before its crossbars reach it depends on the trained
weights and on the chip's static errors. :func:`read_noise_for_snr` finds it for one
model on one chip; :func:`retune_read_noise` moves a model in training there (the trainer
does it at every epoch with ``train_snr_db``, so that the chip's read noise follows the
weights).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from hadeq.analog import HardwareConfig
from hadeq.models import HadeqModel


def crossbar_snr_db(model: HadeqModel, x: Tensor, hardware: HardwareConfig, seed: int) -> float:
    """The model's crossbar SNR on the chip (``hardware``, programmed with ``seed``),
    :meth:`~hadeq.models.HadeqModel.crossbar_snr_db` (for a hybrid DEQ the bench's
    ``mvm_snr_db``: its core's output ``W z*`` at the chip's own equilibria against the
    float product), measured on a copy; read noise from a stream seeded by ``seed``."""
    chip = model.clone()
    chip.set_hardware(hardware, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return chip.crossbar_snr_db(x)


def read_noise_for_snr(model: HadeqModel, x: Tensor, hardware: HardwareConfig,
                       target_db: float, seed: int, tol_db: float = 0.25,
                       max_steps: int = 4) -> dict[str, Any]:
    """The read noise at which the model's crossbar SNR on the chip
    (:func:`crossbar_snr_db`) is ``target_db``: the hardware point of a given SNR, found
    by measurement.

    The read's error power, relative to the signal's, is a static part ``P_0`` (weights,
    converters, drift; measured without read noise) plus ``c·σ²`` (the read noise is
    independent of the rest). From a measurement at ``σ_k``, ``c = (P(σ_k) − P_0)/σ_k²``
    and the next ``σ = √((P_target − P_0)/c)``; this stops within ``tol_db`` of the target
    (the equilibria move a little with σ, so ``c`` is re-measured). The search starts at
    ``hardware``'s read noise (0.05 if it has none). When the static errors alone bring
    the SNR below the target, σ is 0 (``reachable`` False).

    Returns ``read_noise`` (σ, fraction of full scale), ``snr_db`` (measured there),
    ``static_snr_db`` (at σ = 0), ``target_db`` and ``reachable``."""
    def error_power(db: float) -> float:
        return 10.0 ** (-db / 10.0)

    static = crossbar_snr_db(model, x, hardware.replace(read_noise=0.0), seed)
    out: dict[str, Any] = {"target_db": target_db, "static_snr_db": static,
                           "read_noise": 0.0, "snr_db": static, "reachable": False}
    if not static > target_db:
        return out
    sigma = hardware.read_noise if hardware.read_noise > 0.0 else 0.05
    snr = crossbar_snr_db(model, x, hardware.replace(read_noise=sigma), seed)
    for _ in range(max_steps):
        if abs(snr - target_db) <= tol_db:
            break
        c = (error_power(snr) - error_power(static)) / sigma**2
        if not c > 0.0:  # read noise does not show in the error: nothing to solve
            break
        sigma = math.sqrt((error_power(target_db) - error_power(static)) / c)
        snr = crossbar_snr_db(model, x, hardware.replace(read_noise=sigma), seed)
    out.update(read_noise=sigma, snr_db=snr, reachable=abs(snr - target_db) <= tol_db)
    return out


def retune_read_noise(model: HadeqModel, x: Tensor, hardware: HardwareConfig,
                      target_db: float, seed: int) -> dict[str, Any]:
    """Set ``model``'s read noise where its crossbars measure ``target_db`` for inputs
    ``x`` on chip ``hardware`` programmed with ``seed`` (:func:`read_noise_for_snr`, whose
    search starts from ``hardware``'s read noise: pass the last value found to need fewer
    steps; 0 when the static errors alone are below the target); returns what it found.
    Nothing else of the model changes."""
    found = read_noise_for_snr(model, x, hardware, target_db, seed)
    model.set_read_noise(found["read_noise"])
    return found
