"""SPICE export and run of the analog DEQ core, against independent software references."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest
import torch

from hadeq.analog.config import HardwareConfig
from hadeq.energy import random_contractive_core
from hadeq.energy.spice import (
    build_core_netlist,
    compare_core,
    parse_raw,
    run_ngspice,
    sanitize_identifier,
    simulate_core_spice,
)
from hadeq.errors import DataError


@pytest.mark.parametrize(("n", "norm", "seed"), [(8, 0.5, 0), (32, 0.7, 1), (64, 0.9, 2)])
def test_spice_matches_software(ngspice: str, n: int, norm: float, seed: int) -> None:
    W, u, b = random_contractive_core(n, norm=norm, seed=seed)
    out = compare_core(W, u, b, executable=ngspice)
    # Equilibrium: fixed point of z = tanh(Wz + u + b) iterated to 1e-10 in torch.
    assert out["z_rel_err_fixed_point"] < 0.01
    # Settling: forward Euler (dt = τ/200) of the same ODE, same definition.
    assert out["settling_rel_err"] < 0.2
    assert 0 < out["settling_time_ns_spice"] < out["t_stop_ns"]
    # Energy: ∫ Σ G·V(t)² dt along the Euler trajectory, and V²·G at equilibrium.
    assert out["energy_rel_err_transient"] < 0.1
    assert out["energy_rel_err_hold"] < 0.1
    assert out["amplifier_energy_j"] > 0


def test_spice_ir_drop_follows_first_order_model(ngspice: str) -> None:
    n, r_wire = 8, 100.0
    W, u, b = random_contractive_core(n, norm=0.7, seed=1)
    out = compare_core(W, u, b, hardware=HardwareConfig(wire_resistance_ohm=r_wire),
                       executable=ngspice)
    assert out["r_wire_ohm"] == r_wire
    # The wires matter: SPICE departs from the ideal fixed point ...
    assert out["z_rel_err_fixed_point"] > 2e-3
    # ... and the first-order IR-drop model explains it within its documented error,
    assert out["z_rel_err_ir_model"] <= out["ir_model_error_bound"]
    # capturing most of the effect.
    assert out["z_rel_err_ir_model"] < 0.2 * out["z_rel_err_fixed_point"]
    assert out["settling_rel_err"] < 0.2


def test_names_cannot_inject_control_lines(ngspice: str, tmp_path) -> None:
    evil = "x\n.control\nshell touch " + str(tmp_path / "pwned") + "\n.endc\n"
    W, u, b = random_contractive_core(3, norm=0.5, seed=0)
    net = build_core_netlist(W, u, b, labels=[evil, evil, "ok"], title=evil, t_stop_ns=100.0)
    lines = net.text.splitlines()
    assert sum(line.strip().lower() == ".control" for line in lines) == 1  # only ours
    assert not any(line.lstrip().lower().startswith("shell") for line in lines)
    assert all(set(lab) <= set("abcdefghijklmnopqrstuvwxyz0123456789_") for lab in net.labels)
    assert len(set(net.labels)) == 3
    res = simulate_core_spice(W, u, b, labels=[evil, evil, "ok"], title=evil,
                              t_stop_ns=100.0, executable=ngspice)
    assert not (tmp_path / "pwned").exists()
    assert torch.isfinite(res.z_star).all()
    assert sanitize_identifier("9 a;b") == "n9_a_b"


def test_temporary_directory_is_removed(ngspice: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    W, u, b = random_contractive_core(4, norm=0.5, seed=0)
    simulate_core_spice(W, u, b, t_stop_ns=100.0, executable=ngspice)
    assert os.listdir(tmp_path) == []


def test_missing_ngspice_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="install the Debian package ngspice"):
        run_ngspice("t\n.end\n", "out.raw", executable="hadeq-no-such-ngspice")


def _fake(tmp_path, body: str) -> str:
    path = tmp_path / "fake-ngspice"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.mark.parametrize(
    "body",
    [
        ": > out.raw",  # empty
        "echo garbage > out.raw",  # not a raw file
        "printf 'Title: t\\nNo. Variables: 2\\nNo. Points: 5\\nVariables:\\n\\t0\\ttime\\ttime\\n"
        "\\t1\\tv(a)\\tvoltage\\nBinary:\\nabc' > out.raw",  # truncated data
        "exit 1",  # failed, nothing written
    ],
)
def test_malformed_output_is_a_data_error(tmp_path, body: str) -> None:
    exe = _fake(tmp_path, body)
    with pytest.raises(DataError):
        run_ngspice("t\n.end\n", "out.raw", executable=exe)


def test_parse_ascii_raw() -> None:
    blob = (
        b"Title: t\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: 2\n"
        b"No. Points: 2\nVariables:\n\t0\ttime\ttime\n\t1\tv(a)\tvoltage\nValues:\n"
        b" 0\t0.0\n\t1.5\n\n 1\t1e-9\n\t2.5\n"
    )
    raw = parse_raw(blob)
    assert raw["v(a)"].tolist() == [1.5, 2.5] and raw["time"].tolist() == [0.0, 1e-9]
    with pytest.raises(DataError):
        raw["v(b)"]


def test_spice_runs_a_trained_core_to_the_models_own_equilibrium(ngspice: str,
                                                                    tmp_path) -> None:
    """A core trained on digits (not a random one), driven by a real sample's injection."""
    from hadeq.tasks import get_task
    from hadeq.training import Trainer, parse_train_config

    config = parse_train_config({
        "task": "digits", "model": {"kind": "hybrid_deq", "hidden": 16, "stem_hidden": 32},
        "epochs": 2, "max_train_samples": 300, "seed": 0, "out_dir": str(tmp_path / "run"),
    })
    model = Trainer(config, progress=False).fit().model.eval()
    x = get_task("digits").load(seed=0).x_test[:2]
    with torch.no_grad():
        info = model.forward_with_info(x)
    W = model.core.weight.detach().double()
    b = model.core.bias.detach().double()
    for u, z_model in zip(info.u.double(), info.z_star.double(), strict=True):
        out = compare_core(W, u, b, executable=ngspice)
        assert out["z_rel_err_fixed_point"] < 0.01
        assert out["settling_rel_err"] < 0.2
        assert out["energy_rel_err_transient"] < 0.1
        z_spice = torch.tensor(out["z_star_spice"], dtype=torch.float64)
        # The model's own solve stopped at its tolerance (1e-4 relative).
        assert float((z_spice - z_model).norm() / z_model.norm()) < 0.01
