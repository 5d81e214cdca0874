"""Bad-input catalogue: every user-facing mistake gives one line, exit status 2 and
nothing half-written (the contract in DESIGN.md, "Contracts other code relies on").

Each CLI case runs ``hadeq.cli.main.main`` in-process (a few run the installed ``hadeq``
executable in a subprocess) and checks, independently of the code under test:

* the exit status is 2;
* stderr is exactly one line, holds no "Traceback" and names the field (or file) and what
  is allowed;
* the output location is absent afterwards, or byte-for-byte what it was before.

API cases check that the public objects raise :class:`hadeq.HadeqError` subclasses (never
a bare ``RuntimeError`` / ``TypeError`` / ``IndexError`` from deep inside torch).
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import pickle
import shutil
import stat
import struct
import subprocess
import sys
from collections.abc import Callable

import pytest
import torch
import yaml

import hadeq
from hadeq.analog import AnalogLinear, HardwareConfig
from hadeq.cli.main import main
from hadeq.errors import ConfigError, ConvergenceError, HadeqError
from hadeq.models import HybridDEQ, HybridDEQConfig
from hadeq.training import Trainer, parse_train_config

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

TINY: dict = {
    "task": "digits",
    "model": {"kind": "hybrid_deq", "hidden": 8, "stem_hidden": None,
              "hardware": {"preset": "hermes_pcm_8bit", "weight_bits": 8, "read_noise": 0.05}},
    "optimizer": {"lr": 0.01},
    "epochs": 1,
    "batch_size": 32,
    "max_train_samples": 64,
    "max_test_samples": 32,
    "seed": 1,
}


# ------------------------------------------------------------------------------ helpers
def snapshot(path: pathlib.Path) -> dict[str, bytes] | None:
    """Every file under ``path`` (relative name → bytes), or None when it does not exist."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """stderr of the last command: exactly one line and no traceback."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def expect_cli_error(capsys: pytest.CaptureFixture[str], argv: list[str],
                     needles: tuple[str, ...], watch: pathlib.Path | None = None) -> str:
    """Run ``hadeq ARGV``: exit status 2, one stderr line holding every needle, and
    ``watch`` (the output location) unchanged."""
    before = snapshot(watch) if watch is not None else None
    capsys.readouterr()
    assert main(argv) == 2
    line = one_error_line(capsys)
    for needle in needles:
        assert needle in line, (needle, line)
    if watch is not None:
        assert snapshot(watch) == before, f"{watch} changed"
    return line


def write_config(tmp_path: pathlib.Path, data: dict, name: str = "run.yaml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if name.endswith(".yaml") else json.dumps(data))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The output directory of a finished 1-epoch run (never modified by the tests)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    Trainer(parse_train_config({**TINY, "out_dir": str(out)}), progress=False).fit()
    return out


@pytest.fixture
def run_copy(trained: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    """A private copy of the trained run to corrupt."""
    dest = tmp_path / "run"
    shutil.copytree(trained, dest)
    return dest


def tensor_file(run: pathlib.Path, kind: str) -> pathlib.Path:
    (path,) = run.glob(f"{kind}-e*.safetensors")
    return path


def fake_ngspice(folder: pathlib.Path, body: str) -> pathlib.Path:
    """A shell script called ``ngspice`` in ``folder`` that runs ``body`` in ngspice's
    working directory; ``$RAW`` is the raw file the netlist's ``write`` line names."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "ngspice"
    exe.write_text("#!/bin/sh\nRAW=$(awk '/^write /{print $2}' core.cir)\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def ascii_raw(names: list[str], rows: list[list[str]]) -> str:
    """An ngspice ASCII raw file (as printf text) with the given vectors and values."""
    head = ("Title: t\\nPlotname: Transient Analysis\\nFlags: real\\n"
            f"No. Variables: {len(names)}\\nNo. Points: {len(rows)}\\nVariables:\\n")
    head += "".join(f"\\t{i}\\t{n}\\tvoltage\\n" for i, n in enumerate(names))
    body = "Values:\\n" + "".join(
        f" {k}" + "".join(f"\\t{v}\\n" for v in row) for k, row in enumerate(rows))
    return head + body


# ------------------------------------------------------------------ train: config errors
@pytest.mark.parametrize(("override", "needles"), [
    # out-of-range hardware bits and noise
    ("model.hardware.weight_bits=0", ("model.hardware.weight_bits", "[1, 16]")),
    ("model.hardware.weight_bits=17", ("model.hardware.weight_bits", "[1, 16]")),
    ("model.hardware.input_bits=4.5", ("model.hardware.input_bits", "integer")),
    ("model.hardware.read_noise=-0.1", ("read_noise", "[0, inf)")),
    ("model.hardware.gain_mismatch=1.5", ("gain_mismatch", "[0, 1)")),
    # out-of-range solver tolerances, misspelt solver options and names
    ("model.deq.solver_options.tol=-1", ("tol", "(0, inf)")),
    ("model.deq.solver_options.max_iter=0", ("max_iter", "[1,")),
    ("model.deq.solver_options.tool=1e-3", ("tool", "did you mean 'tol'")),
    ("model.deq.solver=newton", ("solver", "'anderson'")),
    ("model.deq.phantom_damping=0", ("phantom_damping", "(0, 1]")),
    # misspelt keys at several depths
    ("model.hardware.read_noize=0.1", ("model.hardware.read_noize", "did you mean 'read_noise'")),
    ("optimiser.lr=0.1", ("optimiser", "did you mean 'optimizer'")),
    ("physics.sparsity=-1", ("physics.sparsity", "[0, inf)")),
    ("eval_hardware=hermes", ("eval_hardware", "'hermes'", "hermes_pcm_8bit")),
    ("max_train_samples=0", ("max_train_samples", "[1, inf)")),
])
def test_train_config_values(tmp_path, capsys, override: str, needles: tuple[str, ...]) -> None:
    cfg = write_config(tmp_path, {**TINY, "out_dir": str(tmp_path / "out")})
    expect_cli_error(capsys, ["train", str(cfg), "--set", override], needles,
                     watch=tmp_path / "out")


def test_unknown_top_level_key_in_file(tmp_path, capsys) -> None:
    cfg = write_config(tmp_path, {**TINY, "learning_rate": 0.1, "out_dir": str(tmp_path / "o")})
    expect_cli_error(capsys, ["train", str(cfg)], ("learning_rate", "known options"),
                     watch=tmp_path / "o")


def test_analog_relaxation_tau_is_the_hardwares(tmp_path, capsys) -> None:
    data = {**TINY, "out_dir": str(tmp_path / "o")}
    data["model"] = {**TINY["model"], "deq": {"solver": "analog_relaxation",
                                              "solver_options": {"tau_ns": 5.0}}}
    cfg = write_config(tmp_path, data)
    expect_cli_error(capsys, ["train", str(cfg)],
                     ("model.deq.solver_options.tau_ns", "hardware.tau_ns"),
                     watch=tmp_path / "o")


def test_loop_tau_out_of_range(tmp_path, capsys) -> None:
    data = {**TINY, "out_dir": str(tmp_path / "o")}
    data["model"] = {**TINY["model"], "hardware": {"tau_ns": -1.0}}
    cfg = write_config(tmp_path, data)
    expect_cli_error(capsys, ["train", str(cfg)], ("model.hardware.tau_ns", "(0, inf)"),
                     watch=tmp_path / "o")


def test_nan_noise_in_a_yaml_file(tmp_path, capsys) -> None:
    cfg = tmp_path / "nan.yaml"
    data = {**TINY, "out_dir": str(tmp_path / "o")}
    cfg.write_text(yaml.safe_dump(data).replace("read_noise: 0.05", "read_noise: .nan"))
    expect_cli_error(capsys, ["train", str(cfg)], ("read_noise", "finite"), watch=tmp_path / "o")


@pytest.mark.parametrize(("text", "needles"), [
    ("- task: digits\n", ("must hold a mapping",)),
    ('{"task": "digits",', ("not valid JSON",)),
])
def test_malformed_config_files(tmp_path, capsys, text: str, needles: tuple[str, ...]) -> None:
    path = tmp_path / ("c.yaml" if text.startswith("-") else "c.json")
    path.write_text(text)
    expect_cli_error(capsys, ["train", str(path)], needles)


@pytest.mark.parametrize(("argv", "needles"), [
    (["train", "CFG", "--resmue"], ("unrecognized arguments: --resmue", "--help")),
    (["energy", "--nuerons", "4"], ("unrecognized arguments: --nuerons",)),
    (["energy", "--solver", "newton"], ("--solver", "invalid choice", "'anderson'")),
    (["spice", "--neurons", "four"], ("--neurons", "invalid int value")),
])
def test_misspelt_or_malformed_flags_are_one_line(tmp_path, capsys, argv: list[str],
                                                  needles: tuple[str, ...]) -> None:
    cfg = write_config(tmp_path, {**TINY, "out_dir": str(tmp_path / "o")})
    argv = [str(cfg) if a == "CFG" else a for a in argv]
    before = sorted(os.listdir(tmp_path))
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_error_line(capsys)
    for needle in needles:
        assert needle in line, line
    assert sorted(os.listdir(tmp_path)) == before


# ------------------------------------------------------------------ data set paths / files
def test_missing_data_set_directory(tmp_path, capsys) -> None:
    cfg = write_config(tmp_path, {**TINY, "task": "fashion_mnist", "out_dir": str(tmp_path / "o"),
                                  "task_options": {"root": str(tmp_path / "nowhere")}})
    expect_cli_error(capsys, ["train", str(cfg)], ("Fashion-MNIST not found", "nowhere"),
                     watch=tmp_path / "o")


def test_truncated_idx_file(tmp_path, capsys) -> None:
    root = tmp_path / "fmnist"
    root.mkdir()
    images = struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 4, 28, 28) + bytes(100)
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (root / (stem + ".gz")).write_bytes(gzip.compress(images))
    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (root / (stem + ".gz")).write_bytes(gzip.compress(struct.pack(">HBBI", 0, 8, 1, 4)
                                                          + bytes(4)))
    cfg = write_config(tmp_path, {**TINY, "task": "fashion_mnist", "out_dir": str(tmp_path / "o"),
                                  "task_options": {"root": str(root)}})
    expect_cli_error(capsys, ["train", str(cfg)], ("train-images-idx3-ubyte", "header promises"),
                     watch=tmp_path / "o")


def test_data_pickle_that_runs_code_is_refused(tmp_path, capsys) -> None:
    root = tmp_path / "imagenet32"
    root.mkdir()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    for name in ["train_data_batch_1", "val_data"]:
        (root / name).write_bytes(pickle.dumps({"data": Evil(), "labels": [1]}))
    cfg = write_config(tmp_path, {**TINY, "task": "imagenet32", "out_dir": str(tmp_path / "o"),
                                  "task_options": {"root": str(root), "n_train_batches": 1}})
    expect_cli_error(capsys, ["train", str(cfg)], ("refusing to unpickle", "system"),
                     watch=tmp_path / "o")
    assert not marker.exists()


# ------------------------------------------------------------------ unwritable outputs
# A path *under a regular file* cannot be created even by root (chmod would not stop root).
def test_train_output_under_a_file(tmp_path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("keep me\n")
    cfg = write_config(tmp_path, TINY)
    expect_cli_error(capsys, ["train", str(cfg), "--out", str(blocker / "sub")],
                     ("out_dir", "not a directory"), watch=blocker)


def test_energy_output_under_a_file(tmp_path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("keep me\n")
    expect_cli_error(capsys, ["energy", "--iterations", "3", "--settling-time-ns", "5",
                              "--out", str(blocker / "sub" / "e.json")],
                     ("--out", "not a directory"), watch=blocker)


def test_spice_output_under_a_file(tmp_path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("keep me\n")
    expect_cli_error(capsys, ["spice", "--neurons", "2", "--out", str(blocker / "sub")],
                     ("--out", "not a directory"), watch=blocker)


def test_bench_output_under_a_file(tmp_path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("keep me\n")
    expect_cli_error(capsys, ["bench", "--tasks", "pendulum", "--seeds", "0", "--no-progress",
                              "--out", str(blocker / "sub")], ("out", "not a directory"),
                     watch=blocker)


# Permission bits say yes for root on /proc, where nothing can be created: the check must
# try, before any work (train included), and leave nothing behind.
UNCREATABLE = pathlib.Path("/proc/hadeq-nope")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
@pytest.mark.parametrize(("argv", "field"), [
    (["energy", "--iterations", "3", "--settling-time-ns", "5", "--out",
      str(UNCREATABLE / "e.json")], "--out"),
    (["spice", "--neurons", "2", "--out", str(UNCREATABLE)], "--out"),
    (["bench", "--tasks", "pendulum", "--seeds", "0", "--no-progress", "--out",
      str(UNCREATABLE)], "out"),
])
def test_outputs_on_a_pseudo_file_system(capsys, argv: list[str], field: str) -> None:
    expect_cli_error(capsys, argv, (field, "/proc"))
    assert not UNCREATABLE.exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
def test_train_on_a_pseudo_file_system_fails_before_training(tmp_path) -> None:
    """The issue's reproduction, as a user runs it: one line, exit 2, no epoch trained
    (a whole epoch would print its line and take far longer than loading the data)."""
    cfg = write_config(tmp_path, {**TINY, "max_train_samples": 4096, "epochs": 5})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([*_hadeq_exe(), "train", str(cfg), "--set",
                           f"out_dir={UNCREATABLE}"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "out_dir" in proc.stderr and str(UNCREATABLE) in proc.stderr
    assert "epoch" not in proc.stderr and proc.stdout == ""


def test_output_check_leaves_nothing_behind(tmp_path) -> None:
    from hadeq.io import check_output_dir

    check_output_dir("out", tmp_path)
    check_output_dir("out", tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ NaN / Inf on the CLI
@pytest.mark.parametrize(("argv", "needles"), [
    (["energy", "--iterations", "3", "--settling-time-ns", "nan"], ("settling_time_ns", "finite")),
    (["energy", "--iterations", "3", "--settling-time-ns", "3", "--set", "tau_ns=inf"],
     ("tau_ns", "finite")),
    (["energy", "--norm", "inf"], ("--norm", "finite")),
    (["spice", "--tau-ns", "nan"], ("tau", "finite")),
    (["spice", "--v-read-v", "inf"], ("v_read_v", "finite")),
    (["spice", "--tol", "0"], ("--tol", "(0, 0.5]")),
])
def test_non_finite_and_out_of_range_numbers(tmp_path, capsys, argv: list[str],
                                             needles: tuple[str, ...]) -> None:
    out = tmp_path / "never"
    expect_cli_error(capsys, [*argv, "--out", str(out / "x.json") if argv[0] == "energy"
                              else str(out)], needles)
    assert not out.exists()


# ------------------------------------------------------------------ checkpoints
def test_evaluate_truncated_weights(run_copy, capsys) -> None:
    path = tensor_file(run_copy, "weights")
    path.write_bytes(path.read_bytes()[:-17])
    expect_cli_error(capsys, ["evaluate", str(run_copy)], ("weights file", "truncated"),
                     watch=run_copy)


def test_evaluate_corrupted_state_file(run_copy, capsys) -> None:
    path = tensor_file(run_copy, "state")
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    expect_cli_error(capsys, ["evaluate", str(run_copy)], ("state file", "SHA-256"),
                     watch=run_copy)


def test_evaluate_truncated_record(run_copy, capsys) -> None:
    record = run_copy / "checkpoint.json"
    record.write_text(record.read_text()[:200])
    expect_cli_error(capsys, ["evaluate", str(run_copy)], ("checkpoint.json", "not valid JSON"),
                     watch=run_copy)


def test_evaluate_other_schema_version(run_copy, capsys) -> None:
    record = run_copy / "checkpoint.json"
    data = json.loads(record.read_text())
    data["schema"] = "hadeq.checkpoint/0"
    record.write_text(json.dumps(data))
    expect_cli_error(capsys, ["evaluate", str(run_copy)], ("hadeq.checkpoint/0",
                                                            "hadeq.checkpoint/1"), watch=run_copy)


def test_evaluate_checkpoint_of_another_model(run_copy, tmp_path, capsys) -> None:
    # The weights of a 12-neuron model under the record (and checksums) of the 8-neuron run.
    other = tmp_path / "other"
    Trainer(parse_train_config({**TINY, "out_dir": str(other),
                                "model": {**TINY["model"], "hidden": 12}}), progress=False).fit()
    record = json.loads((run_copy / "checkpoint.json").read_text())
    foreign = json.loads((other / "checkpoint.json").read_text())
    for path in run_copy.glob("*.safetensors"):
        path.unlink()
    for path in other.glob("*.safetensors"):
        shutil.copy(path, run_copy / path.name)
    record["files"] = foreign["files"]
    (run_copy / "checkpoint.json").write_text(json.dumps(record))
    expect_cli_error(capsys, ["evaluate", str(run_copy)], ("weight", "shape", "the model needs"),
                     watch=run_copy)


def test_resume_with_another_config(run_copy, tmp_path, capsys) -> None:
    cfg = write_config(tmp_path, {**TINY, "epochs": 2, "out_dir": str(run_copy),
                                  "optimizer": {"lr": 0.02}})
    expect_cli_error(capsys, ["train", str(cfg), "--resume"],
                     ("another config", "optimizer.lr"), watch=run_copy)


def test_fresh_run_into_a_finished_run(run_copy, tmp_path, capsys) -> None:
    cfg = write_config(tmp_path, {**TINY, "out_dir": str(run_copy)})
    expect_cli_error(capsys, ["train", str(cfg)], ("out_dir", "resume it"), watch=run_copy)


def test_evaluate_bad_hardware_override(run_copy, capsys) -> None:
    expect_cli_error(capsys, ["evaluate", str(run_copy), "--set", "hardware.weight_bits=99"],
                     ("hardware.weight_bits", "[1, 16]"), watch=run_copy)


# ------------------------------------------------------------------ SPICE output
@pytest.fixture
def no_env_ngspice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HADEQ_NGSPICE", raising=False)


def test_ngspice_missing_from_path(tmp_path, capsys, monkeypatch, no_env_ngspice) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    expect_cli_error(capsys, ["spice", "--neurons", "2", "--out", str(tmp_path / "o")],
                     ("ngspice", "not found on PATH", "apt-get install ngspice"))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("body", "needles"), [
    (": > \"$RAW\"", ("empty raw file",)),
    ("echo garbage > \"$RAW\"", ("malformed",)),
    ("echo 'Error: singular matrix' >&2; exit 1", ("exit status 1", "singular matrix")),
    ("printf '" + ascii_raw(["time", "v(x)"], [["0", "nan"], ["1e-9", "nan"]]) + "' > \"$RAW\"",
     ("non-finite",)),
    ("printf '" + ascii_raw(["time", "v(x)"], [["0", "0.1"], ["1e-9", "0.2"]]) + "' > \"$RAW\"",
     ("stopped at t=1 ns",)),  # a transient that ended early
    ("printf '" + ascii_raw(["time", "v(x)"], [["0", "0.1"], ["1e-3", "0.2"]]) + "' > \"$RAW\"",
     ("has no vector",)),  # the vectors the netlist asked for are missing
])
def test_malformed_spice_output(tmp_path, capsys, monkeypatch, no_env_ngspice, body: str,
                                needles: tuple[str, ...]) -> None:
    fake_ngspice(tmp_path / "bin", body)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ["PATH"])
    expect_cli_error(capsys, ["spice", "--neurons", "2", "--out", str(tmp_path / "o")], needles)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ the real executable
def _hadeq_exe() -> list[str]:
    """The ``hadeq`` script of the Python running the tests (a virtual environment's when
    the tests run in one, even if it is not on PATH), else ``python -m hadeq.cli.main``."""
    exe = os.path.join(os.path.dirname(sys.executable), "hadeq")
    return [exe] if os.path.isfile(exe) else [sys.executable, "-m", "hadeq.cli.main"]


def test_subprocess_missing_config_and_missing_ngspice(tmp_path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([*_hadeq_exe(), "train", str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "cannot read config file" in proc.stderr and "missing.yaml" in proc.stderr
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {k: v for k, v in env.items() if k != "HADEQ_NGSPICE"}
    proc = subprocess.run([*_hadeq_exe(), "spice", "--neurons", "2", "--out",
                           str(tmp_path / "o")], capture_output=True, text=True,
                          env={**env, "PATH": str(bare)}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "ngspice" in proc.stderr and not (tmp_path / "o").exists()


# ------------------------------------------------------------------ public API
def _layer() -> AnalogLinear:
    return AnalogLinear(4, 3, hardware=HardwareConfig(weight_bits=4, read_noise=0.01))


def _model() -> HybridDEQ:
    return HybridDEQ(HybridDEQConfig(in_features=8, out_features=3, hidden=8,
                                     hardware="hermes_pcm_8bit")).eval()


@pytest.mark.parametrize(("call", "error", "needles"), [
    (lambda: _layer()(torch.randn(2, 5)), ConfigError, ("x.shape", "(..., 4)")),
    (lambda: AnalogLinear(4, 3)(torch.randn(2, 5)), ConfigError, ("x.shape",)),
    (lambda: _layer()(torch.ones(2, 4, dtype=torch.long)), ConfigError, ("x.dtype", "float32")),
    (lambda: _model()(torch.randn(2, 9)), ConfigError, ("x.shape", "8 features")),
    (lambda: _model()(torch.randn(0, 8)), ConfigError, ("x.shape", "batch ≥ 1")),
    (lambda: _model()(torch.randn(2, 8, dtype=torch.float64)), ConfigError, ("x.dtype",)),
    (lambda: hadeq.DEQ()(lambda z: 0.5 * z, torch.ones(2, 3, dtype=torch.long)), ConfigError,
     ("z0.dtype", "floating-point")),
    (lambda: hadeq.solve(lambda z: z[:, :2], torch.ones(2, 3)), ConfigError,
     ("f(z) must return a tensor shaped like z",)),
    (lambda: hadeq.solve(lambda z: 0.5 * z, torch.ones(2, 3), tolerance=1e-3), ConfigError,
     ("tolerance", "known options")),
    (lambda: hadeq.solve(lambda z: 0.5 * z, torch.ones(2, 3), tol=float("nan")), ConfigError,
     ("tol", "finite")),
    (lambda: hadeq.solve(lambda z: 0.5 * z, torch.full((2, 3), float("nan")),
                         on_nonfinite="raise"), ConvergenceError, ("NaN/Inf",)),
    (lambda: HardwareConfig.parse(["read_noise", 0.1]), ConfigError, ("mapping",)),
    (lambda: HardwareConfig(weight_bits=0), ConfigError, ("weight_bits", "[1, 16]")),
    (lambda: HardwareConfig(read_noise=float("inf")), ConfigError, ("read_noise", "finite")),
])
def test_api_bad_input(call: Callable[[], object], error: type[HadeqError],
                       needles: tuple[str, ...]) -> None:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_nan_input_is_flagged_not_hidden() -> None:
    """NaN in the input of a solve: the samples are flagged non-finite and not converged,
    the finite samples are unaffected, and the returned iterate holds no NaN."""
    z0 = torch.zeros(3, 4)
    x = torch.ones(3, 4)
    x[1, 2] = float("nan")
    with pytest.warns(RuntimeWarning, match="NaN/Inf"):
        z, stats = hadeq.solve(lambda z: torch.tanh(0.5 * z + x), z0, solver="picard",
                               tol=1e-6, max_iter=200)
    assert stats.nonfinite.tolist() == [False, True, False]
    assert stats.converged.tolist() == [True, False, True]
    assert torch.isfinite(z).all()
    ref = torch.zeros(4)
    for _ in range(200):
        ref = torch.tanh(0.5 * ref + 1.0)
    torch.testing.assert_close(z[0], ref, atol=1e-5, rtol=0)


def test_abbreviated_flags_are_refused(capsys):
    """``--resum`` must not silently mean ``--resume`` (nor ``--dry`` ``--dry-run``)."""
    from hadeq.cli.main import main

    with pytest.raises(SystemExit) as stop:  # argparse exits on usage errors
        main(["bench", "--dry"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--dry" in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_evaluate_refuses_a_sampling_instant_that_is_not_a_positive_time(
        run_copy, capsys, value: str) -> None:
    expect_cli_error(capsys, ["evaluate", str(run_copy), "--sample-time-ns", value],
                     ("--sample-time-ns", "> 0"))
