"""Area model (mm²) against hand counts, and the equal-area / equal-power accelerators."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from hadeq import constants as K
from hadeq.energy import (
    DEQWorkload,
    EnergyConfig,
    amdahl_breakdown,
    deq_area_mm2,
    hybrid_deq_energy,
)
from hadeq.energy.area import (
    adc_area_mm2,
    analog_core_area_mm2,
    area_summary,
    deq_core_area_mm2,
    digital_accelerator_area_mm2,
    equal_area_macs_per_cycle,
    equal_power_macs_per_cycle,
    mac_area_mm2,
    matched_accelerators,
    sram_area_mm2,
)
from hadeq.errors import ConfigError


def test_digital_areas_by_hand() -> None:
    cfg45 = EnergyConfig(node_nm=45.0)
    # int8 PE at 45 nm: 8-bit multiplier 282 µm² + 32-bit adder 137 µm² (Horowitz) and
    # 8 + 8 + 32 register bits of 5.98 µm² at 40 nm, scaled 40 → 45 nm.
    reg = 48 * 5.98 * cfg45.area_scale(40.0)
    assert mac_area_mm2("int8", cfg45) == pytest.approx((282 + 137 + reg) * 1e-6)
    # The same PE at 14 nm: the published 45 → 14 nm area factor 0.17 on the logic.
    cfg14 = EnergyConfig()
    reg14 = 48 * 5.98 * cfg14.area_scale(40.0)
    assert mac_area_mm2("int8", cfg14) == pytest.approx((0.17 * 419 + reg14) * 1e-6)
    # 1 MiB at 14 nm: 2^23 bits of 0.064 µm² at 70 % array efficiency.
    assert sram_area_mm2(1 << 20, cfg14) == pytest.approx((1 << 23) * 0.064 / 0.7 * 1e-6)
    acc = digital_accelerator_area_mm2(cfg14)
    assert acc == pytest.approx(256 * mac_area_mm2("int8", cfg14)
                                + sram_area_mm2(K.EDGE_NPU_SRAM_BYTES, cfg14))


def test_analog_core_area_with_adc_sharing() -> None:
    cfg = EnergyConfig()
    # The SAR design point: 1200 µm² at 32 nm, moved to 14 nm by 0.17 / 0.46.
    assert adc_area_mm2(cfg) == pytest.approx(1200 * 0.17 / 0.46 * 1e-6)
    parts = analog_core_area_mm2(devices=1000, inputs=10, outputs=10, amplifiers=20,
                                 config=replace(cfg, columns_per_adc=4))
    assert parts["adc"] == pytest.approx(3 * adc_area_mm2(cfg))  # ⌈10 / 4⌉ ADCs
    assert parts["array"] == pytest.approx(1000 * cfg.cell_area_per_device_um2 * 1e-6)
    assert parts["amplifier"] == pytest.approx(20 * 50e-6)
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"))
    # The HERMES-derived device area reproduces the core area for 256² 4-device weights.
    hermes = 256 * 256 * 4 * cfg.cell_area_per_device_um2 * 1e-6
    assert hermes == pytest.approx(K.HERMES_CORE_AREA_MM2)
    core_mm2 = 2 * 256**2 / 133e-9 / 1e12 / 1.59  # throughput / (1.59 TOPS/mm²)
    assert core_mm2 == pytest.approx(K.HERMES_CORE_AREA_MM2)


@pytest.mark.parametrize(("neurons", "node_nm"), [(64, 14.0), (256, 14.0), (128, 7.0)])
def test_equal_area_accelerator_has_the_analog_core_area(neurons: int, node_nm: float) -> None:
    cfg = EnergyConfig(node_nm=node_nm)
    w = DEQWorkload.dense(neurons, 32, 10)
    core = deq_core_area_mm2(w, cfg)["total"]
    buffer = neurons * neurons  # int8 core weights
    macs = equal_area_macs_per_cycle(core, node_nm, cfg, buffer_bytes=buffer)
    area = digital_accelerator_area_mm2(cfg, macs_per_cycle=macs, buffer_bytes=buffer)
    assert area == pytest.approx(core, rel=0.01)
    assert area_summary(w, cfg)["equal_area_macs_per_cycle"] == macs
    # A buffer larger than the analog core cannot be matched.
    with pytest.raises(ConfigError):
        equal_area_macs_per_cycle(core, node_nm, cfg, buffer_bytes=1 << 30)


def test_equal_power_and_scopes() -> None:
    cfg = EnergyConfig()
    e_mac = cfg.e_mac_j("int8")
    # 1 mW at 1 GHz buys 1e-3 / (E_mac · 1e9) MACs per cycle.
    assert equal_power_macs_per_cycle(1e-3, cfg) == round(1e-3 / (e_mac * 1e9))
    assert equal_power_macs_per_cycle(1e-3, cfg, energy_per_mac_j=1e-12) == 1
    w = DEQWorkload.dense(64, 32, 10)
    areas = deq_area_mm2(w, cfg)
    core = deq_core_area_mm2(w, cfg)["total"]
    acc = digital_accelerator_area_mm2(cfg)
    assert areas["hybrid"]["core_only"] == pytest.approx(core)
    assert areas["hybrid"]["end_to_end"] == pytest.approx(core + acc)
    assert areas["digital"]["end_to_end"] == pytest.approx(acc)
    assert areas["digital"]["core_only"] == pytest.approx(
        digital_accelerator_area_mm2(cfg, buffer_bytes=64 * 64))
    assert math.isfinite(areas["digital"]["core_only"] / core)


def test_matched_accelerators() -> None:
    cfg = EnergyConfig()
    w = DEQWorkload.dense(64, 32, 10)
    hybrid = hybrid_deq_energy(w, 80.0, cfg)
    m = matched_accelerators(w, hybrid, cfg)
    core = amdahl_breakdown(hybrid)["core_only"]
    power = core["energy_j"] / (core["latency_ns"] * 1e-9)
    assert m["analog_core_power_w"] == pytest.approx(power)
    assert m["equal_power"] == equal_power_macs_per_cycle(power, cfg)
    assert m["equal_area"] == equal_area_macs_per_cycle(
        deq_core_area_mm2(w, cfg)["total"], None, cfg, buffer_bytes=64 * 64)
