"""SPICE export and run of the analog DEQ core — crossbar and behavioural amplifiers — against
hadeq's loop integrator and energy model, and against independent software references."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest
import torch

from hadeq import constants as C
from hadeq.analog.config import HardwareConfig
from hadeq.energy import (
    EnergyConfig,
    ir_drop_weights_first_order,
    random_contractive_core,
    software_fixed_point,
)
from hadeq.energy.spice import (
    OpAmpModel,
    build_core_netlist,
    compare_core,
    parse_raw,
    run_ngspice,
    sanitize_identifier,
    simulate_core_spice,
)
from hadeq.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def trained_core(tmp_path_factory) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                            torch.Tensor]:
    """A 16-neuron core trained on digits (two short epochs, seeded), a real test sample's
    injection u, and the model's own equilibrium for it: (W, u, b, z*)."""
    from hadeq.tasks import get_task
    from hadeq.training import Trainer, parse_train_config

    config = parse_train_config({
        "task": "digits", "model": {"kind": "hybrid_deq", "hidden": 16, "stem_hidden": 32},
        "epochs": 2, "max_train_samples": 300, "seed": 0,
        "out_dir": str(tmp_path_factory.mktemp("trained") / "run"),
    })
    model = Trainer(config, progress=False).fit().model.eval()
    x = get_task("digits").load(seed=0).x_test[:1]
    with torch.no_grad():
        info = model.forward_with_info(x)
    return (model.core.weight.detach().double(), info.u.double()[0],
            model.core.bias.detach().double(), info.z_star.double()[0])


def _held_out(name: str, trained: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if name == "trained16":
        return trained[:3]
    n, seed = {"random64": (64, 11), "random128": (128, 12)}[name]
    return random_contractive_core(n, norm=0.7, seed=seed)


@pytest.mark.parametrize("core", ["trained16", "random64", "random128"])
def test_spice_with_amplifiers_agrees_with_hadeq(ngspice: str, trained_core, core: str) -> None:
    """The whole core in ngspice (crossbar, GBW-limited amplifiers drawing their quiescent
    current) against hadeq's loop integrator and energy model, on held-out cores."""
    W, u, b = _held_out(core, trained_core)
    out = compare_core(W, u, b, executable=ngspice)
    n = W.shape[0]
    # Equilibrium: fixed point of z = tanh(Wz + u + b) iterated to 1e-10 in torch (the
    # amplifiers' finite DC gain leaves ~0.2 %).
    assert out["z_rel_err_fixed_point"] < 0.01
    # Trajectory: max over neurons and hadeq's steps of |z_spice − z_hadeq|, full scale 1.
    assert out["trajectory_max_abs_err"] <= 0.02
    # Settling: hadeq.analog.loop.settle of the same ODE, same definition.
    assert out["settling_rel_err"] <= 0.05
    assert 0 < out["settling_time_ns_spice"] < out["t_stop_ns"]
    # Crossbar: ∫ Σ G·V(t)² dt along hadeq's trajectory, and V²·G at equilibrium.
    assert out["energy_rel_err_transient"] < 0.1
    assert out["energy_rel_err_hold"] < 0.1
    # The whole core (every source in the circuit) against hadeq's energy model.
    assert out["core_energy_rel_err"] <= 0.1
    spice = out["energy_settle_j"]["spice"]
    assert spice["total"] == pytest.approx(spice["crossbar"] + spice["amplifiers"]
                                           + spice["dac"])
    amp = out["amplifier"]
    assert amp["count"] == 2 * n
    assert amp["gbw_hz"] == pytest.approx(C.AMP_GBW_TAU_PRODUCT / (out["tau_ns"] * 1e-9))
    assert amp["power_w"] == pytest.approx(EnergyConfig().amp_power_per_amp_w(out["tau_ns"]))
    # The amplifiers' energy holds their supply's (quiescent) energy and a little load.
    quiescent_j = amp["count"] * amp["power_w"] * out["settling_time_ns_spice"] * 1e-9
    assert quiescent_j < spice["amplifiers"] < 1.1 * quiescent_j
    if core == "trained16":
        # The model's own solve stopped at its tolerance (1e-4 relative).
        z_model = trained_core[3]
        z_spice = torch.tensor(out["z_star_spice"], dtype=torch.float64)
        assert float((z_spice - z_model).norm() / z_model.norm()) < 0.01


def test_disagreement_is_the_amplifiers_bandwidth(ngspice: str) -> None:
    """What remains between SPICE and hadeq is the amplifiers' finite GBW: far above the
    design rule (GBW·τ = 1000) SPICE follows hadeq's loop closely; far below it
    (GBW·τ = 2) the check catches the lag."""
    W, u, b = random_contractive_core(16, norm=0.7, seed=3)
    fast = compare_core(W, u, b, energy_config=EnergyConfig(amp_gbw_tau_product=1000.0),
                        executable=ngspice)
    assert fast["trajectory_max_abs_err"] < 0.004
    assert fast["settling_rel_err"] < 0.005
    slow = compare_core(W, u, b, energy_config=EnergyConfig(amp_gbw_tau_product=2.0),
                        executable=ngspice)
    assert slow["trajectory_max_abs_err"] > 0.02
    assert slow["settling_rel_err"] > 0.05
    # Far below the rule the amplifiers' lag would exceed τ/2: refused.
    with pytest.raises(ConfigError, match="gbw_hz"):
        build_core_netlist(W, u, b, amplifier=OpAmpModel(gbw_hz=5e7, quiescent_a=1e-6))


def test_spice_ir_drop_follows_first_order_model(ngspice: str) -> None:
    n, r_wire = 8, 100.0
    W, u, b = random_contractive_core(n, norm=0.7, seed=1)
    out = compare_core(W, u, b, hardware=HardwareConfig(wire_resistance_ohm=r_wire),
                       executable=ngspice)
    assert out["r_wire_ohm"] == r_wire
    no_wire = simulate_core_spice(W, u, b, t_stop_ns=out["t_stop_ns"], executable=ngspice)
    # The wires' own effect in SPICE (the amplifiers' gain error cancels in the
    # difference) against the first-order IR-drop model's.
    dz_spice = torch.tensor(out["z_star_spice"], dtype=torch.float64) - no_wire.z_star
    W_ir = ir_drop_weights_first_order(W, HardwareConfig().g_max_us, r_wire)
    dz_model = software_fixed_point(W_ir, u, b) - software_fixed_point(W, u, b)
    # The wires matter ...
    assert float(dz_spice.norm() / no_wire.z_star.norm()) > 2e-3
    # ... the first-order model captures most of their effect,
    assert float((dz_spice - dz_model).norm() / dz_spice.norm()) < 0.2
    # and SPICE's z* is within the model's documented error.
    assert out["z_rel_err_ir_model"] <= out["ir_model_error_bound"]
    assert out["settling_rel_err"] <= 0.05


def test_netlist_refuses_rows_beyond_the_rails() -> None:
    W, u, b = random_contractive_core(3, norm=0.5, seed=0)
    with pytest.raises(ConfigError, match="v_read_v"):
        build_core_netlist(W, u, b, v_read_v=0.5)  # rails ±0.4 V at V_DD = 0.8 V


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
