"""Accounting functions against hand-computed values."""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import replace

import pytest
import torch

from hadeq.analog.config import HardwareConfig
from hadeq.energy import (
    BUCKETS,
    PARTS,
    DEQWorkload,
    EnergyBreakdown,
    EnergyConfig,
    LayerSpec,
    amdahl_breakdown,
    analog_feedforward_energy,
    analog_layer_energy,
    average_reports,
    calibrated_energy_config,
    compare_deq,
    digital_core_iteration,
    digital_deq_energy,
    hybrid_deq_energy,
    tops_per_w,
    weight_placement,
)
from hadeq.energy.accounting import core_weight_energy_j
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
    # n = 4, in = 3, out = 2, int8 MACs (0.3 pJ at 45 nm, where the node scale is 1),
    # Picard, iterations mean 3. All 44 weight bytes fit the buffer: weight-stationary,
    # every layer's weights are read from SRAM once per inference.
    cfg = EnergyConfig(nonlinearity_ops=1, solver_precision="fp32", node_nm=45.0)
    assert cfg.energy_scale() == 1.0
    w = DEQWorkload.dense(4, 3, 2)
    rep = digital_deq_energy(w, [2, 4], cfg, solver="picard", history=0)
    mac8, mac32, sram = 0.3 * PJ, 4.6 * PJ, 10 * PJ / 64  # per bit
    inj = 12 * mac8 + sram * (12 * 8 + 3 * 8 + 4 * 8)  # weights, in, out
    head = 8 * mac8 + sram * (8 * 8 + 4 * 8 + 2 * 8)
    core = (16 + 4) * mac8 + sram * (4 * 8 + 4 * 8)  # W z + tanh, z in, f(z) out
    core_weights = sram * 16 * 8  # once per inference
    picard = 2 * 4 * mac32  # residual and its norm
    expected = inj + head + 3 * (core + picard) + core_weights
    assert rep.total_j == pytest.approx(expected, rel=1e-12)
    assert rep.counts["iterations_mean"] == 3 and rep.counts["iterations_max"] == 4
    assert rep.counts["weight_bytes"] == 12 + 16 + 8
    # Latency: ⌈MACs/256⌉ cycles at 1 GHz per layer / iteration.
    assert rep.latency_ns == pytest.approx(1 + 1 + 3 * 1)
    # Re-reading the weights at every use (no weight-stationary dataflow) adds two reads.
    per_use = digital_deq_energy(w, [2, 4], replace(cfg, weight_reuse="use"), solver="picard",
                                 history=0)
    assert per_use.total_j - rep.total_j == pytest.approx(2 * core_weights, rel=1e-9)
    # Anderson (m = 2) adds g (n), the Gram row and the mixing (2·m·n), the ridge scale
    # and diagonal (2m + 1), the 2 × 2 LU solve (6) and α's normalisation (2m − 1) MACs,
    # and reads 2·m·n + writes 2·n values per iteration.
    rep_a = digital_deq_energy(w, [2, 4], cfg, solver="anderson", history=2)
    extra = (4 + 2 * 2 * 4 + 5 + 6 + 3) * mac32 + 32 * sram * (2 * 2 * 4 + 2 * 4)
    assert rep_a.total_j - rep.total_j == pytest.approx(3 * extra, rel=1e-9)


def test_solver_and_layer_precisions() -> None:
    cfg = EnergyConfig(node_nm=45.0)
    w = DEQWorkload.dense(8, 8, 8)
    fp16 = digital_deq_energy(w, 5, replace(cfg, solver_precision="fp16"))
    bf16 = digital_deq_energy(w, 5, replace(cfg, solver_precision="bf16"))
    fp32 = digital_deq_energy(w, 5, replace(cfg, solver_precision="fp32"))
    int8 = digital_deq_energy(w, 5, replace(cfg, solver_precision="int8"))
    assert bf16.total_j == pytest.approx(fp16.total_j)  # Horowitz has no bf16: priced as fp16
    assert int8.total_j < fp16.total_j < fp32.total_j
    assert cfg.e_mac_j("bf16") == pytest.approx(1.1 * PJ + 0.4 * PJ)


def test_node_scales_digital_energy_by_stillmaker_and_baas() -> None:
    # P_N(V) = a V² + b V + c (Integration 2017, HP rows): 45 nm at 0.9 V, 14 nm at 0.8 V.
    p45 = 1.018 * 0.81 - 0.3107 * 0.9 + 0.1539
    p14 = 0.2363 * 0.64 - 0.09675 * 0.8 + 0.02239
    w = DEQWorkload.dense(16, 16, 4)
    at45 = digital_deq_energy(w, 7, EnergyConfig(node_nm=45.0))
    at14 = digital_deq_energy(w, 7, EnergyConfig(node_nm=14.0))
    assert EnergyConfig().node_nm == 14.0
    assert at14.total_j == pytest.approx(at45.total_j * p14 / p45, rel=1e-12)
    # DRAM is an off-chip interface cost and is not scaled.
    assert EnergyConfig().e_memory_bits_j(64, "dram") == pytest.approx(1.3e-9)


def _core_only(n: int) -> DEQWorkload:
    return DEQWorkload(neurons=n, injection=(), head=())


def test_weight_stationary_switches_to_dram_exactly_at_the_buffer_size() -> None:
    n, k = 8, 5  # 64 int8 core weights = 64 bytes, 5 iterations
    sram_bit, dram_bit = 10 * PJ / 64, 1.3e-9 / 64
    base = EnergyConfig(node_nm=45.0)
    fits = digital_deq_energy(_core_only(n), k, replace(base, onchip_buffer_bytes=64))
    over = digital_deq_energy(_core_only(n), k, replace(base, onchip_buffer_bytes=63))
    assert weight_placement(64, 64, replace(base, onchip_buffer_bytes=64)) == "resident"
    assert weight_placement(64, 64, replace(base, onchip_buffer_bytes=63)) == "streamed"
    # Fits: read from SRAM once per inference. One byte short: from DRAM every iteration.
    assert over.total_j - fits.total_j == pytest.approx(
        k * 64 * 8 * dram_bit - 64 * 8 * sram_bit, rel=1e-12)
    assert fits.counts["core_weights_resident"] == 1.0
    assert over.counts["core_weights_resident"] == 0.0
    # The network (stem + core + head) does not fit but the core does: loaded from DRAM
    # once per inference; with per-use reads it is also written to SRAM and read k times.
    w = DEQWorkload.dense(n, 8, 8)  # 64 + 64 + 64 bytes
    cfg = replace(base, onchip_buffer_bytes=100)
    assert weight_placement(64, 192, cfg) == "loaded"
    assert core_weight_energy_j(w, k, cfg) == pytest.approx(64 * 8 * dram_bit)
    assert core_weight_energy_j(w, k, replace(cfg, weight_reuse="use")) == pytest.approx(
        64 * 8 * (dram_bit + sram_bit + k * sram_bit))
    assert core_weight_energy_j(w, k, replace(base, onchip_buffer_bytes=192)) == \
        pytest.approx(64 * 8 * sram_bit)


def test_stem_and_head_follow_the_same_buffer_rule_on_the_hybrid() -> None:
    # The hybrid's digital layers: stem 10 × 8 and head 8 × 2 int8 = 96 bytes.
    w = DEQWorkload.dense(8, 10, 2)
    sram_bit, dram_bit = 10 * PJ / 64, 1.3e-9 / 64
    base = EnergyConfig(node_nm=45.0)
    fits = hybrid_deq_energy(w, 50.0, replace(base, onchip_buffer_bytes=96))
    over = hybrid_deq_energy(w, 50.0, replace(base, onchip_buffer_bytes=95))
    # Each layer alone fits 95 bytes: loaded from DRAM once (one use) instead of SRAM.
    assert over.energy.memory_j - fits.energy.memory_j == pytest.approx(
        96 * 8 * (dram_bit - sram_bit), rel=1e-12)
    tiny = hybrid_deq_energy(w, 50.0, replace(base, onchip_buffer_bytes=15))
    assert tiny.energy.memory_j == pytest.approx(over.energy.memory_j)  # streamed once
    with pytest.raises(ConfigError):
        weight_placement(-1.0, 10, base)


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
    cfg = EnergyConfig(other_fraction=0.0, node_nm=45.0)
    n, t_s = 4, 50.0
    w = DEQWorkload(neurons=n, injection=(), head=())
    rep = hybrid_deq_energy(w, [40.0, 60.0], cfg)
    # One SAR conversion: 8 bit-cycles of 1/(1.2 GHz · 8) (Kull et al. ISSCC 2013).
    t_adc = 8 * (1 / 1.2 / 8)
    t_on = (t_s + t_adc) * 1e-9  # settling + one ADC conversion (one ADC per column)
    p_amp = 0.8 * 2 * math.pi * 1e9 * 100e-15 / 15.0
    e = rep.energy
    assert e.dac_j == pytest.approx(n * 2e-15 * 256)
    assert e.adc_j == pytest.approx(n * 3.1e-3 / 1.2e9)  # 2.6 pJ per 8-bit conversion
    xbar = 2 * n * n * 0.25 * 25e-6 * 0.2**2 * 0.5 * t_on
    bitline = 2 * n * n * 0.1e-15 * 0.2**2
    assert e.array_j == pytest.approx(xbar + bitline)
    assert e.amplifier_j == pytest.approx(n * 2 * p_amp * t_on)
    assert e.memory_j == pytest.approx(10e-12 / 64 * (n * 8 + n * 8))
    assert e.digital_compute_j == 0 and e.accumulation_j == 0 and e.other_j == 0
    assert rep.latency_ns == pytest.approx(1.0 + t_s + t_adc)  # DAC + settle + ADC
    # The circuit is the hardware's: a loop twice as fast needs twice the amplifier
    # bandwidth (power), and the crossbar draws in proportion to g_max.
    fast = hybrid_deq_energy(w, [40.0, 60.0], cfg,
                             hardware=HardwareConfig(tau_ns=5.0, g_max_us=50.0)).energy
    assert fast.amplifier_j == pytest.approx(2 * e.amplifier_j)
    assert fast.array_j == pytest.approx(2 * xbar + bitline)
    # The column periphery (the HERMES fit) draws its power per column for t_on.
    periph = hybrid_deq_energy(w, [40.0, 60.0], replace(cfg, periphery_power_per_column_w=1e-4))
    assert periph.energy.other_j == pytest.approx(n * 1e-4 * t_on)


def test_adc_sharing_serialises_conversions() -> None:
    n, k = 10, 4
    w = DEQWorkload(neurons=n, injection=(), head=())
    cfg = EnergyConfig(node_nm=45.0)
    one = hybrid_deq_energy(w, 50.0, cfg)
    shared = hybrid_deq_energy(w, 50.0, replace(cfg, columns_per_adc=k))
    t_conv = cfg.adc_conversion_ns()
    assert shared.latency_ns - one.latency_ns == pytest.approx((k - 1) * t_conv)
    assert shared.counts["adcs"] == 3 and one.counts["adcs"] == n  # ⌈10 / 4⌉
    assert shared.energy.adc_j == pytest.approx(one.energy.adc_j)  # same conversions
    # Energy and latency of the ADC come from one design point: SAR = bits · cycle,
    # integrating = 2^bits · cycle, energy ∝ 2^(bits − ref) at a constant figure of merit.
    six = replace(cfg, adc_bits=6)
    assert six.adc_conversion_ns() == pytest.approx(6 * cfg.adc_cycle_ns)
    assert six.e_adc_j() == pytest.approx(cfg.e_adc_j() / 4)
    cco = replace(cfg, adc_architecture="integrating", adc_cycle_ns=0.3)
    assert cco.adc_conversion_ns() == pytest.approx(256 * 0.3)


def test_amdahl_parts_add_up_and_scopes_by_hand() -> None:
    w = DEQWorkload.dense(16, 32, 4)
    cfg = replace(EnergyConfig(node_nm=45.0), other_fraction=0.1)
    d = digital_deq_energy(w, [6, 8], cfg)
    h = hybrid_deq_energy(w, [60.0, 80.0], cfg)
    for rep in (d, h):
        ab = amdahl_breakdown(rep)
        assert set(ab["energy_j"]) == set(PARTS)
        assert sum(ab["energy_j"].values()) == pytest.approx(rep.total_j, rel=1e-12)
        assert sum(ab["latency_ns"].values()) == pytest.approx(rep.latency_ns, rel=1e-12)
        assert ab["end_to_end"]["energy_j"] == pytest.approx(rep.total_j)
        assert json.loads(json.dumps(rep.to_dict()))["parts"]["energy_j"]["core"] > 0
    # Digital core-only: 7 iterations of the core and its solver, the weights once, ×1.1.
    e_it, t_it, _ = digital_core_iteration(w, cfg)
    weights = 16 * 16 * 8 * 10 * PJ / 64
    core = amdahl_breakdown(d)["core_only"]
    assert core["energy_j"] == pytest.approx(1.1 * (7 * e_it.total_j + weights), rel=1e-12)
    assert core["latency_ns"] == pytest.approx(7 * t_it)
    assert amdahl_breakdown(d)["energy_j"]["converters"] == 0
    # Hybrid core-only: DAC, settling, ADC; converters = DAC + ADC energy.
    hc = amdahl_breakdown(h)
    assert hc["core_only"]["latency_ns"] == pytest.approx(1.0 + 70.0 + cfg.adc_conversion_ns())
    assert hc["energy_j"]["converters"] == pytest.approx(h.energy.dac_j + h.energy.adc_j)
    ratios = compare_deq(d, h)
    assert ratios["end_to_end"]["energy_ratio"] == pytest.approx(d.total_j / h.total_j)
    assert ratios["core_only"]["area_ratio"] is None
    with pytest.raises(ConfigError):
        amdahl_breakdown(analog_feedforward_energy([LayerSpec(8, 8)], cfg))
    avg = average_reports([d, d])
    assert avg.parts["energy_j"]["core"] == pytest.approx(d.parts["energy_j"]["core"])


def test_feedforward_tiles_and_accumulation() -> None:
    cfg, hw = EnergyConfig(node_nm=45.0), HardwareConfig(tile_rows=256, tile_cols=256)
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


def test_fair_baseline_lowers_the_ratio() -> None:
    """Each step toward the fair digital baseline lowers digital ÷ hybrid energy: the
    calibrated analog periphery, then Picard (no Anderson overhead), then int8 solver
    arithmetic; all ratios stay positive and finite."""
    w = DEQWorkload.dense(32, 64, 10)
    ratios = []
    for cfg, solver in ((EnergyConfig(), "anderson"), (calibrated_energy_config(), "anderson"),
                        (calibrated_energy_config(), "picard"),
                        (replace(calibrated_energy_config(), solver_precision="int8"),
                         "picard")):
        d = digital_deq_energy(w, [20] * 8, cfg, solver=solver)
        h = hybrid_deq_energy(w, [80.0] * 8, cfg)
        ratios.append(d.total_j / h.total_j)
    assert ratios == sorted(ratios, reverse=True) and 0 < ratios[-1] < math.inf


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
