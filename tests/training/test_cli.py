"""`hadeq train` and `hadeq evaluate` end to end through hadeq.cli.main.main."""

from __future__ import annotations

import json

import pytest
import yaml

from hadeq.cli.main import main
from tests.training.conftest import small_mapping


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """One CLI training run (1 epoch, solver capped at 3 iterations) shared by the tests."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "run.yaml"
    config.write_text(yaml.safe_dump(small_mapping(root / "from_config")))
    out = root / "run"
    return config, out


TRAIN_ONE_EPOCH = ["--set", "epochs=1", "--set", "optimizer.lr=3e-3",
                   "--set", "model.deq.solver_options.max_iter=3"]


def _ensure_trained(config, out, capsys) -> None:
    """Train the shared run if an earlier test has not (a test run alone must not skip)."""
    if not (out / "checkpoint.json").exists():
        assert main(["train", str(config), "--out", str(out), "--quiet",
                     *TRAIN_ONE_EPOCH]) == 0
        capsys.readouterr()


def test_train_then_evaluate(trained, capsys) -> None:
    config, out = trained
    code = main(["train", str(config), "--out", str(out), "--json", "--quiet",
                 *TRAIN_ONE_EPOCH])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["out_dir"] == str(out)
    assert summary["epochs_run"] == 1
    final = summary["final"]
    assert 0.0 <= final["test/accuracy"] <= 1.0
    # a 3-iteration cap leaves samples unconverged: counted in metrics.jsonl
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert record["train/solver/nonconverged"] > 0
    assert record["train/solver/iterations_max"] <= 3
    for key in ("train/solver/stagnated", "test/solver/nonconverged", "train_time_s"):
        assert key in record
    stored = json.loads((out / "config.json").read_text())
    assert stored["optimizer"]["lr"] == 3e-3 and stored["out_dir"] == str(out)

    code = main(["evaluate", str(out), "--set", "hardware.read_noise=0.1", "--seed", "7",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["hardware"]["read_noise"] == 0.1
    assert result["hardware"]["weight_bits"] == 8
    assert result["programming_seed"] == 7
    assert result["epoch"] == 1
    assert set(result["metrics"]) >= {"accuracy"}
    assert "accuracy" in result["ideal_metrics"]
    assert isinstance(result["core_snr_db"], float) and result["core_snr_db"] < 40
    assert result["solver"]["samples"] == 96

    # the same seed gives the same numbers; the table form prints them
    assert main(["evaluate", str(out), "--set", "hardware.read_noise=0.1", "--seed", "7",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"] == result["metrics"]
    assert main(["evaluate", str(out), "--set", "hardware=ideal"]) == 0
    table = capsys.readouterr().out
    assert "accuracy" in table and "solver iterations" in table


def test_resume_via_cli_continues(trained, capsys) -> None:
    config, out = trained
    _ensure_trained(config, out, capsys)
    code = main(["train", str(config), "--out", str(out), "--json", "--quiet", "--resume",
                 "--set", "epochs=2", "--set", "optimizer.lr=3e-3",
                 "--set", "model.deq.solver_options.max_iter=3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["epochs_run"] == 1
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    return err


def test_unknown_key_in_the_config_file_names_its_path(tmp_path, capsys) -> None:
    data = small_mapping(tmp_path / "out")
    data["model"]["hidden_size"] = 32
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["train", str(path)]) == 2
    err = _one_error_line(capsys)
    assert "model.hidden_size" in err and "did you mean 'hidden'" in err
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize(("override", "needle"), [
    ("optimizer.lrr=0.1", "optimizer.lrr"),
    ("epoch=3", "did you mean 'epochs'"),
    ("model.hardware.read_noize=0.1", "model.hardware.read_noize"),
    ("optimizer.lr=-1", "lr"),
    ("programming_resample=sometimes", "programming_resample"),
    ("model.kind=transformer", "model.kind"),
    ("nonsense", "KEY=VALUE"),
])
def test_bad_overrides_exit_2_with_one_line(tmp_path, capsys, override: str,
                                            needle: str) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(small_mapping(tmp_path / "out")))
    assert main(["train", str(path), "--set", override]) == 2
    assert needle in _one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_bad_files_exit_2(tmp_path, capsys) -> None:
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read config file" in _one_error_line(capsys)
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: [digits\n")
    assert main(["train", str(broken)]) == 2
    assert "not valid YAML" in _one_error_line(capsys)
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "no checkpoint" in _one_error_line(capsys)


def test_evaluate_refuses_non_hardware_overrides(trained, capsys) -> None:
    config, out = trained
    _ensure_trained(config, out, capsys)
    assert main(["evaluate", str(out), "--set", "epochs=3"]) == 2
    assert "hardware.FIELD=VALUE" in _one_error_line(capsys)
    assert main(["evaluate", str(out), "--set", "hardware.read_noise=-1"]) == 2
    assert "read_noise" in _one_error_line(capsys)


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_help_describes_the_command(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--set" in text and "--json" in text
    assert ("checkpoint" in text) and len(text) > 800


def test_evaluate_reports_time_to_equilibrium_in_ns(trained, capsys) -> None:
    config, out = trained
    _ensure_trained(config, out, capsys)
    assert main(["evaluate", str(out), "--json", "--settle-samples", "16"]) == 0
    t = json.loads(capsys.readouterr().out)["time_to_equilibrium"]
    a, d = t["settling"], t["digital"]
    # both sides to the ADC's output precision: half an LSB of the 8-bit ADC
    assert t["samples"] == 16 and t["tol"] == pytest.approx(1 / 254) and a["tau_ns"] == 10.0
    assert a["settled_fraction"] == 1.0
    # the calibrated sampling instant covers the calibration inputs' 99th percentile
    assert a["sample_time_ns"] > 0 and 0 < a["covered_fraction"] <= 1
    assert 0 < a["settling_time_ns_mean"] <= a["settling_time_ns_p99"]
    assert a["settling_time_ns_p99"] <= a["settling_time_ns_max"]
    assert d["solver"] == "anderson" and d["iterations_mean"] >= 1
    # The loop obeys tau da/dt = -a + W sigma(a) + u: on a chip twice as slow it settles
    # twice as late (the integration step is tau, so the simulation scales exactly).
    assert main(["evaluate", str(out), "--json", "--settle-samples", "16",
                 "--set", "hardware.tau_ns=20"]) == 0
    slow = json.loads(capsys.readouterr().out)["time_to_equilibrium"]
    assert slow["settling"]["settling_time_ns_mean"] == pytest.approx(
        2 * a["settling_time_ns_mean"], rel=1e-6)
    assert slow["digital"] == d  # the digital DEQ does not depend on the chip

    assert main(["evaluate", str(out), "--settle-samples", "16"]) == 0
    table = capsys.readouterr().out
    settling = next(line for line in table.splitlines() if line.startswith("analog settling"))
    assert f"mean {a['settling_time_ns_mean']:.1f} ns" in settling
    assert f"p99 {a['settling_time_ns_p99']:.1f} ns" in settling and "16 test inputs" in settling
    assert "Anderson iterations" in table
    assert main(["evaluate", str(out), "--json", "--settle-samples", "0"]) == 0
    assert "time_to_equilibrium" not in json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(out), "--settle-samples", "-1"]) == 2
    assert "--settle-samples" in _one_error_line(capsys)


def test_energy_of_a_checkpoint_says_where_its_inputs_came_from(trained, capsys) -> None:
    config, out = trained
    _ensure_trained(config, out, capsys)
    assert main(["energy", "--checkpoint", str(out), "--samples", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    inputs = data["inputs"]
    assert inputs["sources"] == {"iterations": "checkpoint", "settling": "checkpoint"}
    assert inputs["workload"]["neurons"] == 16 and inputs["hardware_preset"] is None
    assert inputs["iterations_mean"] == pytest.approx(data["measured"]["iterations_mean"])
    assert inputs["settling_time_ns_mean"] == pytest.approx(
        data["measured"]["settling_time_ns"])
    assert "this one checkpoint" in data["vs_bench"] and "first 4 test inputs" in data["vs_bench"]
