"""EnergyConfig: sourced defaults, derived component figures by hand, validation."""

from __future__ import annotations

import math

import pytest

from hadeq.analog.config import HardwareConfig
from hadeq.energy import EnergyConfig, technology
from hadeq.energy.config import HARDWARE_FIELDS, with_overrides
from hadeq.errors import ConfigError


def test_amplifier_power_matches_first_order_formula() -> None:
    cfg = EnergyConfig()
    # P = V_DD · 2π·GBW·C_L / (gm/ID), GBW = 10 / 10 ns = 1 GHz (FACTS: ≈ 34 µW).
    expected = 0.8 * 2 * math.pi * 1e9 * 100e-15 / 15.0
    assert cfg.amp_power_per_amp_w(10.0) == pytest.approx(expected, rel=1e-12)
    assert 30e-6 < expected < 36e-6
    # GBW tied to τ: halving τ doubles the power; an explicit power replaces the estimate.
    assert cfg.amp_power_per_amp_w(5.0) == pytest.approx(2 * expected)
    assert EnergyConfig(amp_power_w=1e-6).amp_power_per_amp_w(10.0) == 1e-6


def test_component_figures_by_hand() -> None:
    cfg = EnergyConfig(node_nm=45.0)  # Horowitz's node: scale 1
    assert cfg.e_adc_j() == pytest.approx(3.1e-3 / 1.2e9)  # the SAR design point, 8 bits
    assert cfg.adc_conversion_ns() == pytest.approx(1 / 1.2)  # 8 cycles at 9.6 GHz
    assert cfg.e_dac_j() == pytest.approx(2e-15 * 2**8)
    assert cfg.e_mac_j("int8") == pytest.approx(0.2e-12 + 0.1e-12)  # int8 mult + int32 add
    assert cfg.e_mac_j("fp32") == pytest.approx(3.7e-12 + 0.9e-12)
    assert cfg.e_mac_j("fp16") == pytest.approx(1.1e-12 + 0.4e-12)
    # V²·G·t example of FACTS: 0.2 V, 25 µS, 128 ns → 128 fJ per cell at g_max.
    full = EnergyConfig(g_mean_fraction=1.0, input_activity=1.0)
    assert full.crossbar_power_w(1, 25.0) * 128e-9 == pytest.approx(128e-15)
    assert cfg.e_memory_bits_j(128, "sram") == pytest.approx(20e-12)
    assert cfg.e_memory_bits_j(64, "dram") == pytest.approx(1.3e-9)
    assert cfg.digital_latency_ns(257) == pytest.approx(2.0)  # ⌈257/256⌉ cycles at 1 GHz


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"adc_bits": 0}, "adc_bits"),
        ({"adc_energy_ref_j": -1e-15}, "adc_energy_ref_j"),
        ({"digital_precision": "int4"}, "digital_precision"),
        ({"input_activity": 1.5}, "input_activity"),
        ({"weight_reuse": "flash"}, "weight_reuse"),
        ({"node_nm": 5.0}, "node_nm"),
        ({"adc_architecture": "flash"}, "adc_architecture"),
        ({"onchip_buffer_bytes": -1}, "onchip_buffer_bytes"),
        ({"sram_array_efficiency": 0.0}, "sram_array_efficiency"),
        ({"digital_vdd_v": 0.1}, "digital_vdd_v"),
    ],
)
def test_invalid_values_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        EnergyConfig(**kwargs)
    assert info.value.field == field


def test_from_mapping_and_overrides() -> None:
    with pytest.raises(ConfigError, match="adc_bit"):
        EnergyConfig.from_mapping({"adc_bit": 8})
    cfg = EnergyConfig.from_mapping({"adc_bits": 6, "adc_energy_ref_j": 4e-12})
    assert cfg.e_adc_j() == pytest.approx(4e-12 / 4)
    over = EnergyConfig().with_overrides(["adc_bits=6", "digital_precision=fp16"])
    assert (over.adc_bits, over.digital_precision) == (6, "fp16")
    for bad in (["adc_bits"], ["adc_bits=x"], ["nope=1"], ["adc_bits=99"], ["tau_ns=20"]):
        with pytest.raises(ConfigError):
            EnergyConfig().with_overrides(bad)
    assert set(EnergyConfig().to_dict()) >= {"adc_energy_ref_j", "amp_gbw_tau_product",
                                             "node_nm", "onchip_buffer_bytes"}
    assert EnergyConfig().with_overrides(["node_nm=7"]).node_nm == 7.0


def test_circuit_parameters_live_in_the_hardware_config_only() -> None:
    energy_fields = set(EnergyConfig().to_dict())
    hardware_fields = set(HardwareConfig().to_dict())
    assert set(HARDWARE_FIELDS) <= hardware_fields
    assert not set(HARDWARE_FIELDS) & energy_fields
    cfg, hw = with_overrides(["adc_bits=6", "tau_ns=20", "tile_rows=64"], EnergyConfig(),
                             HardwareConfig())
    assert (cfg.adc_bits, hw.tau_ns, hw.tile_rows) == (6, 20.0, 64)
    for bad, field in ((["tau_ns=0"], "tau_ns"), (["tau_ns=inf"], "tau_ns"),
                       (["read_noise=0.1"], "read_noise")):
        with pytest.raises(ConfigError, match=field):
            with_overrides(bad, EnergyConfig(), HardwareConfig())


def test_technology_scaling_by_hand() -> None:
    # Stillmaker & Baas (Integration 2017): E ∝ a V² + b V + c per node (HP rows).
    p = {45.0: (1.018, -0.3107, 0.1539), 14.0: (0.2363, -0.09675, 0.02239),
         7.0: (0.1776, -0.09097, 0.02447)}

    def poly(node: float, v: float) -> float:
        a, b, c = p[node]
        return a * v * v + b * v + c

    assert technology.energy_scale(45, 0.9, 14, 0.8) == pytest.approx(poly(14, 0.8) / poly(45, 0.9))
    assert technology.energy_scale(45, 0.9, 7, 0.7) == pytest.approx(poly(7, 0.7) / poly(45, 0.9))
    assert EnergyConfig().energy_scale() == pytest.approx(poly(14, 0.8) / poly(45, 0.9))
    assert EnergyConfig(node_nm=14.0, digital_vdd_v=0.7).energy_scale() == pytest.approx(
        poly(14, 0.7) / poly(45, 0.9))
    # Area: the published 45 nm row (14 nm: 0.17 of 45 nm; 32 nm: 0.46).
    assert technology.area_scale(45, 14) == pytest.approx(0.17)
    assert technology.area_scale(32, 14) == pytest.approx(0.17 / 0.46)
    # Between tabulated nodes: log-linear, monotone, equal at the ends.
    scales = [technology.energy_scale(45, 0.9, n, technology.nominal_vdd_v(n))
              for n in (7.0, 10.0, 12.0, 14.0, 16.0, 20.0, 32.0, 45.0)]
    assert scales == sorted(scales) and scales[-1] == pytest.approx(1.0)
    assert technology.nominal_vdd_v(14.0) == 0.8
    with pytest.raises(ConfigError):
        technology.area_scale(45, 5)
