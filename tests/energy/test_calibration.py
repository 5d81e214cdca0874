"""Both sides against silicon: the analog model against IBM HERMES (9.76 TOPS/W one-phase,
within 20 %), the digital accelerator against published int8 edge accelerators (within 2×)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hadeq import constants as K
from hadeq.energy import (
    EnergyConfig,
    calibrated_energy_config,
    calibration_report,
    digital_tops_per_w,
    hermes_like_config,
    hermes_mvm_report,
    hermes_tops_per_w,
)
from hadeq.energy.calibration import fit_column_periphery_power_w


def test_hermes_within_twenty_percent() -> None:
    tops = hermes_tops_per_w()
    ratio = tops / K.HERMES_TOPS_PER_W_ONE_PHASE
    assert 0.8 <= ratio <= 1.2, f"model {tops:.2f} TOPS/W vs HERMES 9.76"


def test_the_stored_periphery_constant_is_the_current_fit() -> None:
    # The one fitted knob: recomputing the fit reproduces the stored constant, so a change
    # of the component model cannot leave a stale calibration behind.
    fit = fit_column_periphery_power_w()
    assert fit == pytest.approx(K.HERMES_COLUMN_PERIPHERY_POWER_W_CALIBRATED, rel=0.01)
    # Without it the component model alone is far too optimistic (what the fit is for).
    bare = hermes_tops_per_w(hermes_like_config(EnergyConfig()))
    assert bare > 1.5 * K.HERMES_TOPS_PER_W_ONE_PHASE


def test_hermes_mvm_uses_its_cco_adcs_and_counts_two_ops_per_mac() -> None:
    cfg = hermes_like_config()
    assert cfg.node_nm == K.HERMES_NODE_NM and cfg.adc_architecture == "integrating"
    assert cfg.adc_conversion_ns() == pytest.approx(256 * 0.3)  # 300 ps/LSB, 8 bits
    rep = hermes_mvm_report(cfg)
    assert rep.counts["analog_macs"] == 256 * 256
    assert rep.counts["adc_conversions"] == 256 and rep.counts["dac_conversions"] == 256
    # DAC + read window (the CCO converts inside it) span the 133 ns MVM (+ the digital
    # column correction).
    assert rep.latency_ns == pytest.approx(K.HERMES_MVM_NS, abs=3.0)
    ops = 2 * 256 * 256
    assert hermes_tops_per_w() == pytest.approx(ops / rep.total_j / 1e12)


def test_digital_within_a_factor_two_of_edge_accelerators() -> None:
    tops = digital_tops_per_w()
    assert 0.5 <= tops / K.HAILO8_TOPS_PER_W <= 2.0, f"model {tops:.2f} TOPS/W vs Hailo-8"
    metis = digital_tops_per_w(replace(calibrated_energy_config(), node_nm=12.0))
    assert 0.5 <= metis / K.AXELERA_METIS_TOPS_PER_W <= 2.0
    # By hand at 45 nm (scale 1): 65,536 int8 MACs of 0.3 pJ, 64 KiB of weights, 256 inputs
    # and outputs through SRAM at 10 pJ per 64 bits.
    e = 65536 * 0.3e-12 + (65536 + 256 + 256) * 8 * 10e-12 / 64
    assert digital_tops_per_w(EnergyConfig(node_nm=45.0)) == pytest.approx(
        2 * 65536 / e / 1e12)


def test_calibration_report_is_json_ready_and_within() -> None:
    report = json.loads(json.dumps(calibration_report()))
    for side in ("digital", "analog"):
        entry = report[side]
        assert entry["within"] is True
        assert entry["ratio"] == pytest.approx(
            entry["model_tops_per_w"] / entry["reference_tops_per_w"])
    assert report["analog"]["periphery_is_fitted"] is True
    assert report["digital"]["also"][0]["within"] is True
    # The headline configuration is the calibrated one, at the requested node.
    cfg = calibrated_energy_config(node_nm=7.0)
    assert cfg.node_nm == 7.0
    assert cfg.periphery_power_per_column_w == K.HERMES_COLUMN_PERIPHERY_POWER_W_CALIBRATED
