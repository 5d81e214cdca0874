"""Calibration of the component model against IBM HERMES (9.76 TOPS/W, one-phase, 8-bit)."""

from __future__ import annotations

import pytest

from hadeq import constants as K
from hadeq.energy import hermes_like_config, hermes_mvm_report, hermes_tops_per_w


def test_hermes_within_factor_two() -> None:
    tops = hermes_tops_per_w()
    ratio = tops / K.HERMES_TOPS_PER_W_ONE_PHASE
    assert 0.5 <= ratio <= 2.0, f"model {tops:.2f} TOPS/W vs HERMES 9.76"


def test_hermes_mvm_is_133_ns_and_counts_two_ops_per_mac() -> None:
    cfg = hermes_like_config()
    rep = hermes_mvm_report(cfg)
    assert rep.counts["analog_macs"] == 256 * 256
    assert rep.counts["adc_conversions"] == 256 and rep.counts["dac_conversions"] == 256
    # DAC + read window + ADC span the 133 ns MVM (plus the digital column correction).
    assert rep.latency_ns == pytest.approx(K.HERMES_MVM_NS, abs=3.0)
    ops = 2 * 256 * 256
    assert hermes_tops_per_w() == pytest.approx(ops / rep.total_j / 1e12)
