"""Accounting functions against hand-computed values."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from hadeq.analog.config import HardwareConfig
from hadeq.energy import (
    BUCKETS,
    DEQWorkload,
    EnergyBreakdown,
    EnergyConfig,
    LayerSpec,
    analog_feedforward_energy,
    analog_layer_energy,
    digital_deq_energy,
    hybrid_deq_energy,
    tops_per_w,
)
from hadeq.errors import ConfigError

PJ = 1e-12


def test_breakdown_total_and_dict() -> None:
    e = EnergyBreakdown(adc_j=1.0, array_j=2.0, other_j=0.5)
    assert e.total_j == 3.5
    d = e.to_dict()
    assert list(d) == [*BUCKETS, "total"] and d["total"] == 3.5
    assert (e + e).total_j == 7.0 and e.scaled(2).adc_j == 2.0
    assert e.with_other(0.1).other_j == pytest.approx(0.5 + 0.3)


def test_digital_deq_by_hand() -> None:
    # n = 4, in = 3, out = 2, int8 MACs (0.3 pJ), Picard, iterations mean 3.
    cfg = EnergyConfig(nonlinearity_ops=1, solver_precision="fp32")
    w = DEQWorkload.dense(4, 3, 2)
    rep = digital_deq_energy(w, [2, 4], cfg, solver="picard", history=0)
    mac8, mac32, sram = 0.3 * PJ, 4.6 * PJ, 10 * PJ / 64  # per bit
    inj = 12 * mac8 + sram * (12 * 8 + 3 * 8 + 4 * 8)
    head = 8 * mac8 + sram * (8 * 8 + 4 * 8 + 2 * 8)
    core = (16 + 4) * mac8 + sram * (16 * 8 + 4 * 8 + 4 * 8)  # W z + tanh, weights, in, out
    picard = 2 * 4 * mac32  # residual and its norm
    expected = inj + head + 3 * (core + picard)
    assert rep.total_j == pytest.approx(expected, rel=1e-12)
    assert rep.counts["iterations_mean"] == 3 and rep.counts["iterations_max"] == 4
    # Latency: ⌈MACs/256⌉ cycles at 1 GHz per layer / iteration.
    assert rep.latency_ns == pytest.approx(1 + 1 + 3 * 1)
    # Anderson (m = 2) adds g (n), the Gram row and the mixing (2·m·n), the ridge scale
    # and diagonal (2m + 1), the 2 × 2 LU solve (6) and α's normalisation (2m − 1) MACs,
    # and reads 2·m·n + writes 2·n values per iteration.
    rep_a = digital_deq_energy(w, [2, 4], cfg, solver="anderson", history=2)
    extra = (4 + 2 * 2 * 4 + 5 + 6 + 3) * mac32 + 32 * sram * (2 * 2 * 4 + 2 * 4)
    assert rep_a.total_j - rep.total_j == pytest.approx(3 * extra, rel=1e-9)


def test_digital_deq_accepts_tensors_and_rejects_bad_counts() -> None:
    w = DEQWorkload.dense(8, 8, 8)
    a = digital_deq_energy(w, torch.tensor([10, 30]))
    b = digital_deq_energy(w, 20)
    assert a.total_j == pytest.approx(b.total_j)
    assert digital_deq_energy(w, 40).total_j > b.total_j
    for bad in ([-1], [], [math.nan], "x"):
        with pytest.raises(ConfigError):
            digital_deq_energy(w, bad)
    with pytest.raises(ConfigError):
        digital_deq_energy(w, 10, solver="newton")


def test_hybrid_deq_by_hand() -> None:
    cfg = EnergyConfig(other_fraction=0.0)
    n, t_s = 4, 50.0
    w = DEQWorkload(neurons=n, injection=(), head=())
    rep = hybrid_deq_energy(w, [40.0, 60.0], cfg)
    t_on = (t_s + 1.0) * 1e-9  # settling + one ADC conversion (one ADC per column)
    p_amp = 0.8 * 2 * math.pi * 1e9 * 100e-15 / 15.0
    e = rep.energy
    assert e.dac_j == pytest.approx(n * 2e-15 * 256)
    assert e.adc_j == pytest.approx(n * 20e-15 * 256)
    xbar = 2 * n * n * 0.25 * 25e-6 * 0.2**2 * 0.5 * t_on
    bitline = 2 * n * n * 0.1e-15 * 0.2**2
    assert e.array_j == pytest.approx(xbar + bitline)
    assert e.amplifier_j == pytest.approx(n * 2 * p_amp * t_on)
    assert e.memory_j == pytest.approx(10e-12 / 64 * (n * 8 + n * 8))
    assert e.digital_compute_j == 0 and e.accumulation_j == 0
    assert rep.latency_ns == pytest.approx(1.0 + t_s + 1.0)  # DAC + settle + ADC
    # The circuit is the hardware's: a loop twice as fast needs twice the amplifier
    # bandwidth (power), and the crossbar draws in proportion to g_max.
    fast = hybrid_deq_energy(w, [40.0, 60.0], cfg,
                             hardware=HardwareConfig(tau_ns=5.0, g_max_us=50.0)).energy
    assert fast.amplifier_j == pytest.approx(2 * e.amplifier_j)
    assert fast.array_j == pytest.approx(2 * xbar + bitline)


def test_feedforward_tiles_and_accumulation() -> None:
    cfg, hw = EnergyConfig(), HardwareConfig(tile_rows=256, tile_cols=256)
    rep = analog_feedforward_energy([LayerSpec(600, 300, activation=False)], cfg, hardware=hw)
    # 3 row blocks × 2 column blocks.
    assert rep.counts["dac_conversions"] == 600 * 2
    assert rep.counts["adc_conversions"] == 300 * 3
    assert rep.counts["accumulation_adds"] == 2 * 300
    assert rep.energy.adc_j == pytest.approx(900 * cfg.e_adc_j())
    acc = 600 * 0.1e-12 + 2 * 900 * 32 * 10e-12 / 64
    assert rep.energy.accumulation_j == pytest.approx(acc)
    # Every layer of a feed-forward net converts in and out.
    two = analog_feedforward_energy([LayerSpec(64, 64), LayerSpec(64, 10)], cfg, hardware=hw)
    assert two.counts["dac_conversions"] == 128 and two.counts["adc_conversions"] == 74
    # Smaller tiles of the hardware: 10 × 5 blocks of 64 × 64.
    small = analog_feedforward_energy([LayerSpec(600, 300, activation=False)], cfg,
                                      hardware=HardwareConfig(tile_rows=64, tile_cols=64))
    assert small.counts["tiles"] == 50 and small.counts["adc_conversions"] == 300 * 10
    with pytest.raises(ConfigError):
        analog_feedforward_energy([], cfg)


def test_tops_per_w() -> None:
    assert tops_per_w(1e12, 2.0) == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        tops_per_w(1, 0.0)


def test_hybrid_beats_digital_at_default_assumptions() -> None:
    w = DEQWorkload.dense(32, 64, 10)
    d = digital_deq_energy(w, [20] * 8)
    h = hybrid_deq_energy(w, [80.0] * 8)
    assert d.total_j / h.total_j > 10


def test_analog_linear_counters() -> None:
    analog = importlib.import_module("hadeq.analog")
    layer = analog.AnalogLinear(300, 40)
    layer(torch.randn(5, 300))
    rep = analog_layer_energy(layer)
    single = analog_feedforward_energy([LayerSpec(300, 40, activation=False)])
    assert rep.counts["n_vectors"] == 5
    assert rep.total_j == pytest.approx(5 * single.total_j, rel=1e-12)
    # A layer is priced on its own hardware's tiles.
    hw = HardwareConfig(tile_rows=64, tile_cols=16)
    small = analog.AnalogLinear(300, 40, hardware=hw)
    small(torch.randn(5, 300))
    single = analog_feedforward_energy([LayerSpec(300, 40, activation=False)], hardware=hw)
    assert analog_layer_energy(small).total_j == pytest.approx(5 * single.total_j, rel=1e-12)
    with pytest.raises(ConfigError):
        analog_layer_energy(object())
