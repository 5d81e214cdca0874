"""What `hadeq energy` and `hadeq spice` tell a reader: the inputs behind a ratio and why
it differs from the bench's; a pass/fail verdict against stated tolerances."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hadeq.cli import spice as spice_cli
from hadeq.cli.main import main
from hadeq.energy import DEQWorkload, EnergyConfig, digital_deq_energy, hybrid_deq_energy
from hadeq.energy.measure import measure_random_core


def _energy_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["energy", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_energy_reports_the_inputs_its_ratio_came_from(capsys) -> None:
    data = _energy_json(capsys, "--neurons", "16", "--samples", "4", "--seed", "2")
    m = measure_random_core(16, samples=4, seed=2)
    inputs = data["inputs"]
    assert inputs["sources"] == {"iterations": "random core", "settling": "random core"}
    assert inputs["iterations_mean"] == pytest.approx(sum(m.iterations) / 4)
    assert inputs["iterations_max"] == max(m.iterations)
    assert inputs["settling_time_ns_mean"] == pytest.approx(sum(m.settling_time_ns) / 4)
    assert inputs["samples"] == {"iterations": 4, "settling": 4}
    assert inputs["workload"]["core_macs"] == 16 * 16
    assert inputs["workload"]["injection"] == [[64, 16]]
    assert inputs["workload"]["head"] == [[16, 10]]
    assert inputs["hardware_fields"]["tau_ns"] == 10.0 and inputs["hardware_preset"] == "ideal"
    # The ratio is the energy functions applied to exactly these inputs (numbers unchanged).
    work, config = DEQWorkload.dense(16, 64, 10), EnergyConfig(**data["config"])
    ratio = (digital_deq_energy(work, m.iterations, config).total_j
             / hybrid_deq_energy(work, m.settling_time_ns, config).total_j)
    assert data["energy_ratio_digital_over_hybrid"] == pytest.approx(ratio, rel=1e-12)
    assert "random contractive core" in data["vs_bench"] and "hadeq bench" in data["vs_bench"]

    assert main(["energy", "--neurons", "16", "--samples", "4", "--seed", "2"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the explanation is wrapped
    for needle in ("inputs:", "digital iterations", "analog settling", "tau_ns=10",
                   "injection 64->16", "hadeq bench", "random contractive core",
                   f"{data['energy_ratio_digital_over_hybrid']:.2f}"):
        assert needle in text, needle


def test_energy_with_given_numbers_says_so(capsys) -> None:
    data = _energy_json(capsys, "--iterations", "6.3", "--settling-time-ns", "79",
                        "--solver", "picard")
    assert data["inputs"]["sources"] == {"iterations": "given", "settling": "given"}
    assert data["inputs"]["iterations_mean"] == pytest.approx(6.3)  # a bench mean is accepted
    assert "random" not in data["vs_bench"]
    assert "given on the command line" in data["vs_bench"]
    assert "prices the digital DEQ as picard (history 6)" in data["vs_bench"]
    mixed = _energy_json(capsys, "--iterations", "6", "--samples", "2")
    assert mixed["inputs"]["sources"] == {"iterations": "given", "settling": "random core"}
    assert "The settling times here come from a random" in mixed["vs_bench"]


def _fake_result(settling_rel_err: float) -> dict[str, Any]:
    split = {"crossbar": 1e-12, "amplifiers": 1e-11}
    return {"neurons": 4, "w_norm2": 0.7, "tau_ns": 10.0, "g_max_us": 25.0, "v_read_v": 0.2,
            "r_wire_ohm": 0.0, "tol": 1e-3, "t_stop_ns": 200.0, "spice_runtime_s": 0.25,
            "spice_points": 300,
            "amplifier": {"count": 8, "gbw_hz": 1e9, "dc_gain": 1e3, "rail_v": 0.4,
                          "power_w": 3.35e-5},
            "z_rel_err_fixed_point": 1e-4, "trajectory_max_abs_err": 0.005,
            "settling_time_ns_spice": 50.0,
            "settling_time_ns_hadeq": 50.0 / (1 + settling_rel_err),
            "settling_rel_err": settling_rel_err, "crossbar_energy_j_spice": 1e-12,
            "crossbar_energy_j_model": 1e-12, "energy_rel_err_transient": 0.01,
            "energy_rel_err_hold": 0.02,
            "energy_settle_j": {
                "spice": {**split, "dac": 1e-15, "total": 1.1e-11},
                "model": {**split, "total": 1.1e-11, "g_mean_fraction": 0.1,
                          "input_activity": 0.3},
                "model_default": {**split, "total": 1.2e-11}},
            "core_energy_rel_err": 0.01, "core_energy_rel_err_default": 0.09}


def test_spice_verdict_and_check_flag(capsys, monkeypatch, tmp_path) -> None:
    """The verdict follows the stated tolerances; --check turns a fail into exit 1."""
    result = _fake_result(settling_rel_err=0.35)
    monkeypatch.setattr(spice_cli, "compare_core", lambda *a, **k: dict(result))
    assert main(["spice", "--neurons", "4", "--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "FAIL" in lines["verdict:"] and "5 of 6" in lines["verdict:"]
    settling = next(line for line in text.splitlines() if "settling time vs" in line)
    assert settling.rstrip().endswith("FAIL") and "35 %" in settling and "<= 5 %" in settling
    assert "wall time 0.25 s" in text
    saved = json.loads((tmp_path / "a" / "spice.json").read_text())
    assert saved["verdict"] == "fail"
    assert {c["name"]: c["pass"] for c in saved["checks"]} == {
        "equilibrium": True, "trajectory": True, "settling": False, "energy": True,
        "power": True, "core_energy": True}
    assert {c["name"]: c["tolerance"] for c in saved["checks"]} == {
        "equilibrium": spice_cli.EQUILIBRIUM_TOL, "trajectory": spice_cli.TRAJECTORY_TOL,
        "settling": spice_cli.SETTLING_TOL, "energy": spice_cli.ENERGY_TOL,
        "power": spice_cli.ENERGY_TOL, "core_energy": spice_cli.ENERGY_TOL}
    assert main(["spice", "--neurons", "4", "--check", "--out", str(tmp_path / "b")]) == 1
    capsys.readouterr()

    result.update(settling_rel_err=0.04, settling_time_ns_hadeq=50.0 / 1.04)
    assert main(["spice", "--neurons", "4", "--check", "--out", str(tmp_path / "c")]) == 0
    assert "verdict: PASS (6 of 6" in capsys.readouterr().out
    # a trajectory off by more than 0.02 of full scale fails
    result.update(trajectory_max_abs_err=0.03)
    assert main(["spice", "--neurons", "4", "--check", "--out", str(tmp_path / "d")]) == 1
    # a non-finite error (e.g. hadeq's loop never settled) fails
    result.update(trajectory_max_abs_err=0.005, settling_rel_err=float("inf"))
    assert main(["spice", "--neurons", "4", "--check", "--out", str(tmp_path / "e")]) == 1


def test_spice_with_wires_checks_against_the_ir_model_bound() -> None:
    result = {**_fake_result(0.01), "r_wire_ohm": 2.0, "z_rel_err_fixed_point": 0.05,
              "z_rel_err_ir_model": 1e-4, "ir_model_error_bound": 2e-4}
    checks = {c["name"]: c for c in spice_cli.spice_checks(result)}
    assert checks["equilibrium"]["pass"] and checks["equilibrium"]["tolerance"] == 2e-4
    result["z_rel_err_ir_model"] = 3e-4
    assert not spice_cli.spice_checks(result)[0]["pass"]


def test_spice_real_run_passes(ngspice: str, capsys, tmp_path) -> None:
    assert main(["spice", "--neurons", "8", "--seed", "1", "--check", "--out",
                 str(tmp_path)]) == 0
    text = capsys.readouterr().out
    data = json.loads((tmp_path / "spice.json").read_text())
    assert "verdict: PASS (6 of 6 checks within tolerance)" in text
    assert f"SPICE wall time {data['spice_runtime_s']:.2f} s" in text
    # The energy split until settled, SPICE's and the model's.
    spice, model = data["energy_settle_j"]["spice"], data["energy_settle_j"]["model"]
    assert f"crossbar {spice['crossbar']:.4e} + amplifiers {spice['amplifiers']:.4e}" in text
    assert f"crossbar {model['crossbar']:.4e} + amplifiers {model['amplifiers']:.4e}" in text
