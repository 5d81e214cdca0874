"""Fault test: SIGKILL a real ``hadeq train`` process at random moments and resume it.

After every kill the committed checkpoint (if any) must load and pass its SHA-256
checks; after the last resume the weights must equal, bit for bit, those of an
uninterrupted run of the same config, and so must every epoch's metrics (wall times
aside). The uninterrupted reference is trained in-process with one thread; the
subprocesses run with ``OMP_NUM_THREADS=1`` so their arithmetic is the same.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import torch
import yaml

from hadeq.training import Trainer, load_checkpoint, parse_train_config
from hadeq.training.checkpoint import sha256_file

CONFIG: dict[str, Any] = {
    "task": "digits",
    "model": {"kind": "hybrid_deq", "hidden": 16, "stem_hidden": None,
              "hardware": {"preset": "hermes_pcm_8bit", "weight_bits": 8, "read_noise": 0.05}},
    "optimizer": {"lr": 0.01},
    "epochs": 10,
    "batch_size": 32,
    "max_train_samples": 128,
    "max_test_samples": 48,
    "programming_resample": "batch",
    "seed": 5,
}
KILLS = 5
SEED = 20240611


def _command(config_path: str, resume: bool) -> list[str]:
    # The hadeq script of the Python running the tests (a virtual environment's one even
    # when it is not on PATH).
    exe = os.path.join(os.path.dirname(sys.executable), "hadeq")
    base = [exe] if os.path.isfile(exe) else [sys.executable, "-m", "hadeq.cli.main"]
    # Not --quiet: the progress bar on stderr tells when training has begun.
    return [*base, "train", config_path, *(["--resume"] if resume else [])]


def _drain(proc: subprocess.Popen[bytes]) -> tuple[threading.Event, list[bytes]]:
    """Read ``proc``'s stderr in a thread; the event is set at its first byte."""
    started = threading.Event()
    chunks: list[bytes] = []

    def read() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(4096):
            chunks.append(chunk)
            started.set()
        started.set()
        proc.stderr.close()

    threading.Thread(target=read, daemon=True).start()
    return started, chunks


def _check_committed(out_dir: str) -> int:
    """The epoch of the committed checkpoint (0 if none), after verifying it loads and
    that the files it names hash to the recorded SHA-256 (recomputed here)."""
    if not os.path.exists(os.path.join(out_dir, "checkpoint.json")):
        return 0
    ckpt = load_checkpoint(out_dir)  # raises DataError on any mismatch
    with open(os.path.join(out_dir, "checkpoint.json"), encoding="utf-8") as fh:
        record = json.load(fh)
    for entry in record["files"].values():
        assert sha256_file(os.path.join(out_dir, entry["name"])) == entry["sha256"]
    return ckpt.epoch


def _without_times(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.endswith("_time_s")}


def test_sigkill_at_random_points_then_resume_matches_uninterrupted(tmp_path) -> None:
    reference_dir = tmp_path / "reference"
    reference = Trainer(parse_train_config({**CONFIG, "out_dir": str(reference_dir)}),
                        progress=False).fit()
    out_dir = str(tmp_path / "killed")
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump({**CONFIG, "out_dir": out_dir}))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    rng = random.Random(SEED)
    kills: list[tuple[float, int]] = []  # (delay s after training began, committed epoch)
    resume, rounds = False, 0
    while len(kills) < KILLS:
        rounds += 1
        assert rounds <= 4 * KILLS, f"could not place {KILLS} kills: {kills}"
        delay = rng.uniform(0.0, 2.5)
        proc = subprocess.Popen(_command(str(config_path), resume), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started, stderr = _drain(proc)
        started.wait(timeout=120)  # the progress bar appears: imports done, training begins
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if proc.returncode == 0:  # finished before the kill: a full run, start over
            shutil.rmtree(out_dir)
            resume = False
            continue
        assert proc.returncode == -signal.SIGKILL, b"".join(stderr).decode()
        kills.append((delay, _check_committed(out_dir)))
        resume = True
    # The kills hit both before the first commit and between later ones.
    assert any(epoch > 0 for _, epoch in kills), kills

    start = time.perf_counter()
    done = subprocess.run(_command(str(config_path), True), env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - start < 120

    assert _check_committed(out_dir) == CONFIG["epochs"]
    ckpt = load_checkpoint(out_dir)
    expected = reference.model.state_dict()
    assert set(ckpt.model_state) == set(expected)
    for name, value in expected.items():
        assert torch.equal(ckpt.model_state[name], value), name
    with open(os.path.join(out_dir, "metrics.jsonl"), encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    assert len(records) == CONFIG["epochs"]
    ref_records = json.loads(json.dumps(reference.history))
    assert [_without_times(r) for r in records] == [_without_times(r) for r in ref_records]
    # No leftover tensor files of other epochs next to the committed ones.
    names = sorted(n for n in os.listdir(out_dir) if n.endswith(".safetensors"))
    assert names == [f"state-e{CONFIG['epochs']:05d}.safetensors",
                     f"weights-e{CONFIG['epochs']:05d}.safetensors"], names
    # Temporaries of interrupted writes are cleared on resume.
    assert not [n for n in os.listdir(out_dir) if n.startswith(".tmp-")]
    print("kills (delay s, committed epoch):", kills)
