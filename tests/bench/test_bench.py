"""The benchmark pipeline end to end on a micro suite: schema, internal consistency of
the headline with the energy model, caching, the report, and the CLI's checks."""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
from types import MappingProxyType as Frozen

import pytest

from hadeq.analog import HardwareConfig
from hadeq.bench.assemble import workload_from
from hadeq.bench.run import plan_cells, run_suite
from hadeq.bench.schema import HYBRID, SCHEMA, STANDARD, retention
from hadeq.bench.suites import SuiteConfig, TaskPlan
from hadeq.cli.main import main
from hadeq.energy import calibrated_energy_config, digital_deq_energy, hybrid_deq_energy
from hadeq.errors import ConfigError

MICRO = SuiteConfig(
    name="micro",
    tasks=(
        TaskPlan(task="digits",
                 hybrid=Frozen({"kind": "hybrid_deq", "hidden": 16, "stem_hidden": 32}),
                 train=Frozen({"epochs": 2, "batch_size": 64, "lr": 3e-3,
                               "max_train_samples": 400, "max_test_samples": 120}),
                 baselines=Frozen({"analog_mlp": {"kind": "analog_mlp", "hidden": [32]}}),
                 regularizers=True, train_at_corners=("bits=4,io=4",)),
        TaskPlan(task="pendulum",
                 hybrid=Frozen({"kind": "hybrid_deq", "hidden": 8, "stem_hidden": 16}),
                 train=Frozen({"n_uniform_states": 500, "n_expert_rollouts": 2,
                               "dagger_rounds": 0, "epochs_per_round": 1,
                               "batch_size": 256}),
                 task_options=Frozen({"n_episodes": 2}), sweep_episodes=2),
    ),
    seeds=(0,),
    weight_bits=(4, 8),
    read_noise=(0.01, 0.1),
    corners=Frozen({"snr=20dB": Frozen({"mvm_snr_db": 20.0}),
                    "noise=1.0": Frozen({"read_noise": 1.0}),
                    "bits=4,io=4": Frozen({"weight_bits": 4, "input_bits": 4,
                                           "output_bits": 4})}),
    regularizer_weights=Frozen({"sparsity": 1e-2}),
    train_snr_db=20.0,
    sensitivity=Frozen({"tau_ns": (5.0, 10.0), "digital_macs_per_cycle": (256, 1024)}),
)


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("bench"))
    first = run_suite(MICRO, root, progress=False)
    second = run_suite(MICRO, root, progress=False)
    return root, first, second


def test_results_follow_the_schema_and_record_their_provenance(micro_run):
    root, results, _ = micro_run
    with open(os.path.join(root, "micro", "results.json"), encoding="utf-8") as fh:
        on_disk = json.load(fh)
    assert on_disk["schema"] == SCHEMA == results["schema"]
    assert on_disk["seeds"] == [0]
    env = on_disk["environment"]
    assert set(env) >= {"hadeq", "libraries", "blas", "cpu", "torch_threads", "python",
                        "git_commit"}
    assert {"torch", "numpy", "scipy", "scikit-learn", "gymnasium"} <= set(env["libraries"])
    assert env["libraries"]["scipy"] is not None
    assert on_disk["config"]["name"] == "micro"
    for name in ("digits", "pendulum"):
        task = on_disk["tasks"][name]
        assert set(task["models"]) >= {"digital_deq", "hybrid_physics_aware",
                                       "hybrid_standard"}
        head = task["headline"]
        for key in ("energy_ratio", "time_ratio", "retention", "snr_db",
                    "digital_quality", "hybrid_quality"):
            assert isinstance(head[key], float) and math.isfinite(head[key]), key
        assert task["ablations"]["weight_bits"]["values"] == [4, 8]
        assert len(task["ablations"]["read_noise"]["physics_aware"]) == 2
    assert "regularizers" in on_disk["tasks"]["digits"]["ablations"]
    assert "analog_mlp" in on_disk["tasks"]["digits"]["models"]


def test_headline_matches_the_energy_model_recomputed_from_the_cells(micro_run):
    root, results, _ = micro_run
    cells = {}
    for name in os.listdir(os.path.join(root, "micro", "cells")):
        with open(os.path.join(root, "micro", "cells", name), encoding="utf-8") as fh:
            cell = json.load(fh)
        cells[(cell["cell"]["task"], cell["cell"]["role"])] = cell
    config = calibrated_energy_config()  # what the bench charges by default
    for task in ("digits", "pendulum"):
        digital, physics = cells[(task, "digital")], cells[(task, "physics_aware")]
        # The best digital design, chosen again by hand from the cell's grid: the cheapest
        # solver × precision within 0.5 % of fp32 Anderson's quality.
        grid = {(p["solver"], p["precision"]): p for p in digital["digital_grid"]}
        assert len(grid) == 9
        ref = grid[("anderson", "fp32")]["quality"]
        higher = results["tasks"][task]["higher_is_better"]
        energies = {}
        for (solver, precision), point in grid.items():
            q = point["quality"]
            if (q < ref - 0.005 * abs(ref)) if higher else (q > ref + 0.005 * abs(ref)):
                continue
            priced = dataclasses.replace(
                config, digital_precision=precision,
                solver_precision="fp16" if precision == "int8" else precision)
            energies[(solver, precision)] = digital_deq_energy(
                workload_from(digital["workload"]), point["iterations_mean"], priced,
                solver=solver).total_j
        best = min(energies, key=energies.__getitem__)
        design = results["tasks"][task]["digital_design"]
        assert (design["solver"], design["precision"]) == best
        e_d = energies[best]
        e_h = hybrid_deq_energy(workload_from(physics["workload"]),
                                physics["settling"]["sample_time_ns"], config,
                                hardware=HardwareConfig.parse(dict(MICRO.headline_hardware))
                                ).total_j
        head = results["tasks"][task]["headline"]
        assert head["energy_ratio"] == pytest.approx(e_d / e_h, rel=1e-9)
        for scope in ("core_only", "end_to_end"):
            assert {"energy_ratio", "time_ratio", "area_ratio"} <= set(head[scope])
        assert head["end_to_end"]["energy_ratio"] == pytest.approx(e_d / e_h, rel=1e-9)
        calibration = results["calibration"]
        assert calibration["digital"]["within"] and calibration["analog"]["within"]
        assert head["hybrid_settling_time_ns"] == pytest.approx(
            physics["settling"]["settling_time_ns"])
        # The charged sampling instant covers 99 % of the calibration inputs, so it is
        # at least their mean settling time; the hybrid is charged for it.
        settle = physics["settling"]
        assert settle["sample_time_ns"] >= settle["calibration_settling_ns_mean"]
        assert head["hybrid_sample_time_ns"] == pytest.approx(settle["sample_time_ns"])
        assert head["time_ratio"] == pytest.approx(
            results["tasks"][task]["models"]["digital_deq"]["core_time_ns"]
            / settle["sample_time_ns"])


def test_sensitivity_to_tau_scales_the_time_ratio_inversely(micro_run):
    _, results, _ = micro_run
    sens = results["tasks"]["digits"]["sensitivity"]["tau_ns"]
    fast, slow = sens["time_ratio"]
    assert fast == pytest.approx(2 * slow, rel=1e-9)  # τ 5 ns vs 10 ns


def test_rerun_is_served_from_the_cache(micro_run):
    _, first, second = micro_run
    assert first["cells"]["cached"] == 0
    assert second["cells"]["cached"] == second["cells"]["total"] == len(plan_cells(MICRO))
    assert second["tasks"]["digits"]["headline"] == first["tasks"]["digits"]["headline"]


def test_report_has_the_headline_table_and_real_plots(micro_run):
    root, results, _ = micro_run
    folder = os.path.join(root, "micro")
    with open(os.path.join(folder, "report.md"), encoding="utf-8") as fh:
        report = fh.read()
    ratio = results["tasks"]["digits"]["headline"]["energy_ratio"]
    assert f"{ratio:.3g}×" in report
    assert "proposal expects" in report
    for png in ("quality_vs_noise.png", "quality_vs_bits.png", "energy_breakdown.png",
                "convergence.png"):
        with open(os.path.join(folder, png), "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_retention_is_higher_is_better_for_every_metric_kind():
    assert retention(0.9, 1.0, higher_is_better=True) == pytest.approx(0.9)
    assert retention(0.02, 0.01, higher_is_better=False) == pytest.approx(0.5)  # error doubled
    assert retention(-170.0, -150.0, higher_is_better=True) == pytest.approx(150 / 170)


def test_cli_dry_run_and_bad_input(capsys, tmp_path):
    assert main(["bench", "--dry-run", "--tasks", "fashion_mnist", "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    assert "fashion_mnist/digital/seed3" in out and "pendulum" not in out
    assert main(["bench", "--suite", "huge"]) == 2
    assert "suite='huge'" in capsys.readouterr().err
    assert main(["bench", "--suite", "imagenet32", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "data-path" in err
    assert main(["bench", "--suite", "imagenet32", "--dry-run", "--data-path",
                 str(tmp_path)]) == 0
    assert "needs a GPU" in capsys.readouterr().out
    assert main(["bench", "--jobs", "0", "--dry-run"]) == 2
    assert "jobs=0" in capsys.readouterr().err


def test_every_task_reports_what_the_equilibrium_adds_and_quality_against_time(micro_run):
    """The feed-forward control is trained and scored per seed, every DEQ carries its
    local contraction and amplifier slope, and both tasks (classification and control)
    have the hybrid's quality against sampling time and the digital DEQ's against
    iterations, the hybrid scored as the circuit at its calibrated t_s."""
    _, results, _ = micro_run
    for name in ("digits", "pendulum"):
        task = results["tasks"][name]
        control = task["models"]["feedforward_control"]
        gain = task["headline"]["equilibrium_gain"]
        assert gain["seeds"] == [0]
        assert gain["control_quality"] == pytest.approx(control["quality_mean"])
        sign = 1 if task["higher_is_better"] else -1
        assert gain["gain"]["mean"] == pytest.approx(
            sign * (gain["deq_quality"] - gain["control_quality"]))
        deq = task["models"]["hybrid_standard"]
        assert 0 <= deq["jacobian_radius"] < 1 and 0 < deq["mean_slope"] <= 1
        hybrid = task["anytime"]["hybrid"]
        assert len(hybrid["time_ns"]) == len(hybrid["quality"]) >= 2
        t_s = task["models"]["hybrid_physics_aware"]["sample_time_ns"]
        # the curve passes through t_s (seed 0's t_s, the only seed)
        assert any(t == pytest.approx(t_s) for t in hybrid["time_ns"])
        curve = task["anytime"]["digital_anderson"]
        assert curve["iterations"][0] == 1 and len(curve["quality"]) == len(
            curve["iterations"])


def test_the_quality_energy_front_holds_every_undominated_design(micro_run):
    from hadeq.bench.pareto import dominates

    _, results, _ = micro_run
    for task in results["tasks"].values():
        fronts, hib = task["fronts"], task["higher_is_better"]
        names = {p["design"] for p in fronts["points"]}
        assert {"hybrid_physics_aware", "hybrid_standard", "feedforward_control"} <= names
        assert len([n for n in names if n.startswith("digital DEQ")]) == 9  # 3 × 3 designs
        # The control, a digital feed-forward network on the charged design: the digital
        # DEQ without its feedback weights and iterations, but with its stem and head.
        control, digital = task["models"]["feedforward_control"], task["models"]["digital_deq"]
        assert 0 < control["energy_j"] < digital["energy_j"]
        for key, cost in (("energy", "energy_j"), ("latency", "latency_ns")):
            front = fronts[key]
            for p in fronts["points"]:
                beaten = any(dominates(q, p, cost, "quality", hib) for q in fronts["points"])
                assert (p in front) == (not beaten)


def test_harsh_corners_report_the_standard_loss_and_what_physics_aware_recovers(micro_run):
    """Each corner's loss is the digital DEQ's float quality minus the standard hybrid's
    at the corner (signed so that > 0 is a loss), from the cells themselves."""
    root, results, _ = micro_run
    chips_differ = []
    for name, task in results["tasks"].items():
        corners = {c["corner"]: c for c in task["ablations"]["corners"]}
        assert set(corners) == {"snr=20dB", "noise=1.0", "bits=4,io=4"}
        sign = 1 if task["higher_is_better"] else -1
        for label, c in corners.items():
            digital = task["models"]["digital_deq"]
            ideal = _cell(root, name, "digital")["evaluations"]
            std = ideal[f"corner:{label}"]["quality"]
            assert c["standard"]["mean"] == pytest.approx(std)
            # each seed's score is the mean over the suite's programmed chips
            per_chip = ideal[f"corner:{label}"]["quality_per_chip"]
            assert c["chips"] == len(per_chip) == MICRO.corner_chips == 3
            assert std == pytest.approx(sum(per_chip) / len(per_chip))
            assert c["separated"] is False  # one seed: no interval to compare
            assert c["standard_loss"]["mean"] == pytest.approx(
                sign * (ideal["ideal"]["quality"] - std))
            assert digital["quality_mean"] is not None
            chips_differ.append(len(set(per_chip)) > 1)
            if c["recovered"] is not None:
                assert c["recovered"] == pytest.approx(
                    c["physics_aware_gain"]["mean"] / c["standard_loss"]["mean"])
    assert any(chips_differ)  # the chips are programmed differently


def test_a_hybrid_trained_at_a_corner_is_scored_there_against_the_standard_one(micro_run):
    root, results, _ = micro_run
    corners = {c["corner"]: c for c in results["tasks"]["digits"]["ablations"]["corners"]}
    assert "trained_at_corner" not in corners["noise=1.0"]
    at = corners["bits=4,io=4"]["trained_at_corner"]
    cell = _cell(root, "digits", "physics_aware@bits=4,io=4")
    hardware = HardwareConfig.parse(cell["cell"]["model"]["hardware"])
    assert (hardware.weight_bits, hardware.input_bits, hardware.output_bits) == (4, 4, 4)
    assert cell["cell"]["model"]["mode"] == "physics_aware"
    scored = cell["evaluations"]["corner:bits=4,io=4"]
    assert len(scored["quality_per_chip"]) == 3 and scored["loop"] is not None  # the circuit
    assert at["quality"]["mean"] == pytest.approx(scored["quality"])
    digital = _cell(root, "digits", "digital")["evaluations"]
    standard = digital["corner:bits=4,io=4"]["quality"]
    loss = digital["ideal"]["quality"] - standard
    assert at["gain"]["mean"] == pytest.approx(scored["quality"] - standard)
    assert at["recovered"] == (pytest.approx(at["gain"]["mean"] / loss) if loss > 0 else None)
    with open(os.path.join(root, "micro", "report.md"), encoding="utf-8") as fh:
        assert "| trained at the corner | its recovered fraction |" in fh.read()


def test_training_at_an_unknown_corner_is_refused_before_any_work():
    # snr=20dB is known, but its read noise exists only once a model is trained.
    for label in ("bits=2", "snr=20dB"):
        plan = dataclasses.replace(MICRO.tasks[0], train_at_corners=(label,))
        with pytest.raises(ConfigError, match="train_at_corners"):
            plan_cells(dataclasses.replace(MICRO, tasks=(plan,)))


def test_the_snr_corner_scores_each_model_where_its_crossbar_has_that_snr(micro_run):
    """The read noise is found per trained model; the cell records how, and the corners
    table carries it; the other corners keep their fixed hardware."""
    root, results, _ = micro_run
    for name, task in results["tasks"].items():
        row = next(c for c in task["ablations"]["corners"] if c["corner"] == "snr=20dB")
        found = {}
        for role, side in (("digital", "standard"), ("physics_aware", "physics_aware")):
            entry = _cell(root, name, role)["evaluations"]["corner:snr=20dB"]
            cal = entry["snr_calibration"]
            assert cal["target_db"] == 20.0
            if cal["reachable"]:
                assert abs(cal["snr_db"] - 20.0) <= 0.25 and cal["read_noise"] > 0.0
                assert cal["static_snr_db"] > 20.0
            else:
                assert cal["read_noise"] == 0.0 and cal["static_snr_db"] <= 20.0
            found[side] = cal["read_noise"]
            assert "snr_calibration" not in _cell(root, name, role)["evaluations"][
                "corner:noise=1.0"]
        assert row["read_noise"] == pytest.approx(found)
    with open(os.path.join(root, "micro", "report.md"), encoding="utf-8") as fh:
        assert "`snr=20dB`: the read noise at which each trained model's core" in fh.read()


def test_the_headline_scores_every_analog_model_at_its_own_crossbar_snr(micro_run):
    """At the headline every analog model (both hybrids and the baseline) is scored on the
    headline chip with the read noise where its own crossbars measure the suite's 20 dB,
    found per trained model and recorded in its cell; for the hybrids that is the same
    measurement as their snr=20dB corner's; the model rows and the report carry it. With
    the suite's train_snr_db the models trained on the chip were trained at that SNR."""
    root, results, _ = micro_run
    assert MICRO.headline_snr_db == MICRO.train_snr_db == 20.0
    for name, task in results["tasks"].items():
        roles = {"digital": STANDARD, "physics_aware": HYBRID,
                 **{b: b for b in task["models"] if b == "analog_mlp"}}
        for role, model in roles.items():
            evaluations = _cell(root, name, role)["evaluations"]
            cal = evaluations["headline"]["snr_calibration"]
            assert cal["target_db"] == 20.0
            if cal["reachable"]:
                assert abs(cal["snr_db"] - 20.0) <= 0.25 and cal["read_noise"] > 0.0
            else:
                assert cal["read_noise"] == 0.0 and cal["static_snr_db"] <= 20.0
            if role != model:  # a hybrid: its 20 dB corner found the same read noise
                assert evaluations["corner:snr=20dB"]["snr_calibration"] == cal
            row = task["models"][model]
            assert row["read_noise"] == pytest.approx(cal["read_noise"])
            assert row["snr_db"] == pytest.approx(cal["snr_db"])
        assert "analog_mlp" in roles or name == "pendulum"
        # Trained there too: the last epoch's read noise puts the crossbars at 20 dB (or
        # is 0 where the static errors alone are below it); the float DEQ has none.
        for role in roles:
            final = _cell(root, name, role)["train_final"]
            if role == "digital":
                assert "train/read_noise" not in final
            elif final["train/read_noise"] > 0.0:
                assert abs(final["train/snr_db"] - 20.0) <= 0.25
            else:
                assert final["train/snr_db"] <= 20.0
    with open(os.path.join(root, "micro", "report.md"), encoding="utf-8") as fh:
        assert "scored where its crossbars measure the proposal's 20 dB" in fh.read()


def _cell(root, task, role):
    for path in glob.glob(os.path.join(root, "micro", "cells", "*.json")):
        with open(path, encoding="utf-8") as fh:
            cell = json.load(fh)
        if cell["cell"]["task"] == task and cell["cell"]["role"] == role:
            return cell
    raise KeyError((task, role))
