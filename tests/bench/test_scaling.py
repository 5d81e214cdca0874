"""The scaling suite: its plan and CLI checks, a reduced run (structure, the energy model
recomputed by hand, ratios moving the right way with an assumption), the loop's settling
against the first-order solution, and the crossover states."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest
import torch

from hadeq.analog import HardwareConfig
from hadeq.analog.loop import sampling_time_ns
from hadeq.bench.assemble import DigitalDesign, design_config
from hadeq.bench.scaling import (
    AXES,
    EQUAL_AREA,
    FIT_NETWORK,
    RATIOS,
    SCHEMA,
    SCOPES,
    ScalingConfig,
    _buffer_bytes,
    core_seed,
    crossing,
    headline_chip,
    measure_chip,
    measure_core,
    plot_name,
    random_core,
    run_scaling,
    settle_tol,
    workload,
)
from hadeq.cli.main import main
from hadeq.energy import (
    DEQWorkload,
    calibrated_energy_config,
    digital_deq_energy,
    hybrid_deq_energy,
)
from hadeq.errors import ConfigError

REDUCED = ScalingConfig(
    sizes=(16, 32), seeds=(0, 1), inputs=8,
    tau_ns=(3.0, 10.0, 30.0), amp_power_w=(0.0, 1e-4), columns_per_adc=(1, 16),
    digital_precision=("int8", "fp16"), digital_solver=("best", "picard", "anderson"),
    weight_reuse=("inference", "use"), digital_macs_per_cycle=(256, EQUAL_AREA),
    onchip_buffer_bytes=(1 << 20, 4 << 20),
)


@pytest.fixture(scope="module")
def reduced_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("scaling"))
    results = run_scaling(REDUCED, root, progress=False)
    return os.path.join(root, "scaling"), results


def _point(results, label):
    return next(p for p in results["points"] if p["label"] == label)


def _per_seed(point, n):
    return next(s for s in point["sizes"] if s["n"] == n)["per_seed"]


def test_dry_run_lists_the_cores_and_assumptions_and_writes_nothing(capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["bench", "--suite", "scaling", "--dry-run", "--seeds", "4", "5",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "suite scaling: 12 cores" in text
    assert "core n=1024 seed=5" in text and "core n=32 seed=4" in text
    assert "assumption default" in text
    assert "assumption digital_macs_per_cycle=equal_area" in text
    assert "assumption tau_ns=100" in text
    assert not out.exists()


@pytest.mark.parametrize("extra, field", [
    (["--tasks", "digits"], "tasks"), (["--jobs", "2"], "jobs"),
    (["--executor", "ray"], "executor"), (["--data-path", "/tmp"], "data-path"),
    (["--seeds", "1", "1"], "scaling.seeds"), (["--seeds", "-1"], "seeds"),
])
def test_options_that_do_not_apply_are_refused_in_one_line(capsys, extra, field):
    assert main(["bench", "--suite", "scaling", "--dry-run", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"error: {field}=" in err


@pytest.mark.parametrize("data, field", [
    ({"sizes": [64, 32]}, "scaling.sizes"),
    ({"sizes": [1]}, "scaling.sizes"),
    ({"target_radius": 1.0}, "scaling.target_radius"),
    ({"inputs": 0}, "scaling.inputs"),
    ({"digital_solver": ["broyden"]}, "scaling.digital_solver"),
    ({"digital_macs_per_cycle": [256, "equal-area"]}, "scaling.digital_macs_per_cycle"),
    ({"digital_precision": ["int4"]}, "scaling.digital_precision"),
    ({"tau_ns": []}, "scaling.tau_ns"),
    ({"size": [32]}, "scaling.size"),
    ({"wire_resistance_ohm": -1.0}, "scaling.wire_resistance_ohm"),
])
def test_a_bad_config_names_its_field(data, field):
    with pytest.raises(ConfigError) as info:
        ScalingConfig.parse(data)
    assert info.value.field == field


def test_lists_parse_to_the_same_config_as_tuples():
    parsed = ScalingConfig.parse({"sizes": [16, 32], "digital_macs_per_cycle": [64, EQUAL_AREA]})
    assert parsed == dataclasses.replace(ScalingConfig(), sizes=(16, 32),
                                         digital_macs_per_cycle=(64, EQUAL_AREA))


def test_results_report_and_plots_are_written_with_their_provenance(reduced_run):
    out_dir, _ = reduced_run
    with open(os.path.join(out_dir, "results.json"), encoding="utf-8") as fh:
        saved = json.load(fh)
    assert saved["schema"] == SCHEMA and saved["suite"] == "scaling"
    assert saved["config"]["sizes"] == [16, 32] and saved["seeds"] == [0, 1]
    env = saved["environment"]
    assert "git_commit" in env and env["libraries"]["torch"]
    assert len(saved["measurements"]) == 4
    n_points = 1 + sum(len(getattr(REDUCED, axis)) for axis in AXES)
    assert len(saved["points"]) == n_points
    for point in saved["points"]:
        for size in point["sizes"]:
            assert [p["seed"] for p in size["per_seed"]] == [0, 1]
            for scope in SCOPES:
                for ratio in RATIOS:
                    assert size[scope][ratio]["n"] in (0, 2)
        for scope in SCOPES:
            for ratio in ("energy_ratio", "time_ratio"):
                assert point["crossover"][scope][ratio]["state"] in (
                    "from", "until", "always", "never", "n/a")
    for m in saved["measurements"]:
        # every input settled, every solver converged, the core as built
        assert m["settling"]["settled_fraction"] == 1.0
        assert all(s["converged_fraction"] == 1.0 for s in m["iterations"].values())
        assert m["core"]["feedback_norm"] < 1.0
        assert m["core"]["jacobian_radius"] == pytest.approx(0.9, abs=0.02) \
            or m["core"]["feedback_norm"] > 0.99
    with open(os.path.join(out_dir, "report.md"), encoding="utf-8") as fh:
        report = fh.read()
    for heading in ("## The cores and what was measured",
                    "## Ratios under the default assumptions",
                    "## Crossover n under each assumption"):
        assert heading in report
    for name in ["scaling_default.png", "scaling_measured.png",
                 *(plot_name(a) for a in AXES)]:
        path = os.path.join(out_dir, name)
        assert os.path.getsize(path) > 10_000, name
        assert name in report


def test_the_default_energy_ratio_is_the_energy_model_recomputed_by_hand(reduced_run):
    _, results = reduced_run
    energy = calibrated_energy_config()
    chip = headline_chip()
    m = next(m for m in results["measurements"] if m["n"] == 32 and m["seed"] == 1)
    work = workload(32, m["core"], REDUCED)
    # The hybrid charged for the sampling instant measured at the chip's τ (10 ns).
    hybrid = hybrid_deq_energy(work, m["settling"]["sample_time_ns"], energy, hardware=chip)
    digital = {s: digital_deq_energy(work, m["iterations"][s]["mean"],
                                     design_config(energy, DigitalDesign(s, "int8")), solver=s)
               for s in REDUCED.solvers}
    best = min(digital, key=lambda s: digital[s].total_j)
    priced = _per_seed(_point(results, "default"), 32)[1]
    assert priced["solver"] == best
    assert priced["end_to_end"]["energy_ratio"] == pytest.approx(
        digital[best].total_j / hybrid.total_j, rel=1e-9)
    assert priced["end_to_end"]["time_ratio"] == pytest.approx(
        digital[best].latency_ns / hybrid.latency_ns, rel=1e-9)
    # τ = 30 ns: the same loop three times slower, the hybrid's latency by 2·t_s(10 ns)
    slow = _per_seed(_point(results, "tau_ns=30"), 32)[1]
    assert digital[best].latency_ns / slow["end_to_end"]["time_ratio"] == pytest.approx(
        hybrid.latency_ns + 2 * m["settling"]["sample_time_ns"], rel=1e-9)


def test_ratios_move_the_right_way_with_an_assumption(reduced_run):
    _, results = reduced_run
    for n in REDUCED.sizes:
        def ratios(label, scope, ratio, n=n):
            return [p[scope][ratio] for p in _per_seed(_point(results, label), n)]

        for scope in SCOPES:
            # A slower loop: the hybrid takes longer, the time ratio falls.
            fast, mid, slow = (ratios(f"tau_ns={t:g}", scope, "time_ratio")
                               for t in REDUCED.tau_ns)
            assert all(a > b > c for a, b, c in zip(fast, mid, slow, strict=True))
            # Outputs sharing an ADC are read one after another: the hybrid is slower.
            assert all(a > b for a, b in zip(ratios("columns_per_adc=1", scope, "time_ratio"),
                                             ratios("columns_per_adc=16", scope, "time_ratio"),
                                             strict=True))
            # Weights re-read at every iteration: the digital DEQ spends more.
            assert all(a < b for a, b in zip(
                ratios("weight_reuse=inference", scope, "energy_ratio"),
                ratios("weight_reuse=use", scope, "energy_ratio"), strict=True))
            # Biasing amplifiers harder costs the hybrid energy, not time.
            hot = ratios("amp_power_w=0.0001", scope, "energy_ratio")
            assert all(a < b for a, b in zip(hot, ratios("default", scope, "energy_ratio"),
                                             strict=True))
            # Equal silicon: the areas match to within one PE.
            for area in ratios("digital_macs_per_cycle=equal_area", scope, "area_ratio"):
                assert area is None or area == pytest.approx(1.0, abs=0.05)


def test_ir_drop_bites_a_full_tile_and_spares_a_small_core():
    """The programmed chip without read noise: without wire resistance both variants are
    the same chip; on ideal devices without it the chip is exact (infinite SNR); at
    1 Ω per cell IR drop lowers the crossbar's and the equilibrium's SNR on a core that
    fills a 256-column tile by more than a dB, and moves a 32-neuron core's by less than
    half a dB (the drop grows with the cells a word line drives)."""
    config = dataclasses.replace(ScalingConfig(), inputs=16)
    chip = headline_chip()
    tol = settle_tol(chip)
    w, u, _ = random_core(32, 0, config, tol)
    off = measure_chip(w, u, dataclasses.replace(config, wire_resistance_ohm=0.0), chip,
                       core_seed(32, 0), tol)
    assert off["ir_drop"] == off["no_ir_drop"]
    exact = measure_chip(w, u, dataclasses.replace(config, wire_resistance_ohm=0.0),
                         HardwareConfig.preset("ideal"), 0, tol)
    assert math.isinf(exact["no_ir_drop"]["crossbar_snr_db"])
    assert math.isinf(exact["no_ir_drop"]["z_snr_db"])
    small = measure_chip(w, u, config, chip, core_seed(32, 0), tol)
    w, u, _ = random_core(256, 0, config, tol)
    full = measure_chip(w, u, config, chip, core_seed(256, 0), tol)
    for key in ("crossbar_snr_db", "z_snr_db"):
        assert abs(small["ir_drop"][key] - small["no_ir_drop"][key]) < 0.5
        assert full["ir_drop"][key] < full["no_ir_drop"][key] - 1.0


def test_a_core_without_feedback_settles_as_the_first_order_loop_and_solves_in_two_steps():
    """With W = 0 the loop is τ·da/dt = −a + u: a_i(t) = u_i·(1 − e^{−t/τ}), so component
    i is within tol of tanh(u_i) from t_i = −τ·ln(1 − atanh(|tanh u_i| − tol)/|u_i|); an
    input has settled at max_i t_i, and t_s is the 99th percentile over inputs. Picard and
    Anderson reach the constant map's fixed point tanh(u) in one step (two evaluations)."""
    chip = headline_chip()
    tol, tau = settle_tol(chip), chip.tau_ns
    u = torch.randn(32, 8, generator=torch.Generator().manual_seed(3)) * 0.8
    config = dataclasses.replace(REDUCED, inputs=32)
    measured = measure_core(torch.zeros(8, 8), u, config, tol, tau)
    z = u.double().tanh().abs()
    a = torch.atanh((z - tol).clamp_min(0.0))
    t_i = torch.where(z > tol, -tau * torch.log1p(-a / u.double().abs()), torch.zeros_like(z))
    expected = sampling_time_ns(t_i.amax(dim=1), REDUCED.quantile)
    assert measured["settling"]["sample_time_ns"] == pytest.approx(expected, rel=1e-3)
    assert measured["core"]["jacobian_radius"] == 0.0
    for solver in REDUCED.solvers:
        assert measured["iterations"][solver]["mean"] == 2.0


@pytest.mark.parametrize("ratios, state, n", [
    ([0.25, 0.5, 2.0, 4.0], "from", 2 ** 2.5),   # log-linear: crosses at the midpoint
    ([4.0, 2.0, 0.5, 0.25], "until", 2 ** 2.5),
    ([2.0, 3.0, 4.0, 5.0], "always", None),
    ([0.2, 0.3, 0.4, 0.5], "never", None),
    ([None, 0.5, math.nan, 2.0], "from", 8.0),   # missing ratios are skipped
    ([None, None, None, None], "n/a", None),
])
def test_crossing_names_where_and_which_way_the_ratio_crosses_one(ratios, state, n):
    found = crossing([2, 4, 8, 16], ratios)
    assert found["state"] == state
    if n is None:
        assert found["n"] is None
    else:
        assert found["n"] == pytest.approx(n)


def test_the_default_buffer_holds_the_digital_network_at_its_precision():
    """784 → 1024 stem, a dense 1024² core and a 1024 → 10 head: 1.79 MB of int8 weights
    need a 2 MiB buffer, 3.58 MB of fp16 ones 4 MiB; an explicit size is kept."""
    energy = calibrated_energy_config()
    work = DEQWorkload.dense(1024, 784, 10)
    fit = {"onchip_buffer_bytes": FIT_NETWORK}
    assert _buffer_bytes({**fit, "digital_precision": "int8"}, work, energy) == 2 << 20
    assert _buffer_bytes({**fit, "digital_precision": "fp16"}, work, energy) == 4 << 20
    small = DEQWorkload.dense(32, 784, 10)
    assert _buffer_bytes({**fit, "digital_precision": "int8"}, small, energy) == 1 << 20
    assert _buffer_bytes({"onchip_buffer_bytes": 12345, "digital_precision": "int8"},
                         work, energy) == 12345
    with pytest.raises(ConfigError, match="onchip_buffer_bytes"):
        ScalingConfig(onchip_buffer_bytes=("huge",))
