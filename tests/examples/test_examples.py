"""Every script in examples/ runs in its small configuration (``--quick``) and prints what
it promises.

Each example is run as a researcher runs it: a fresh ``python examples/NN_name.py
--quick`` process from the repository root, against the installed package. A new
example must be added to ``EXAMPLES`` (a test checks that none is forgotten).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"

# script → a line its output must contain (a regular expression, searched per line)
EXAMPLES: dict[str, str] = {
    "01_deq_in_ten_lines.py": r"^solve: .* all converged: True$",
    "02_pytorch_core_on_pcm.py": r"^hybrid DEQ on PCM: +accuracy 0\.\d+, same class as ideal",
    "03_energy_of_your_model.py": r"^energy ratio digital/hybrid: \d+\.\d+×$",
    "04_spice_your_core.py": r"^verdict: pass$",
    "05_physics_aware_finetuning.py": r"^physics_aware +test accuracy .* harsh chips 0\.\d+",
    "06_custom_hardware_preset.py": r"^refused \{'weight_bits': 32\}: hardware\.weight_bits=32",
    "07_add_your_own_task.py": r"^moons: trained 3 epochs physics-aware on PCM; test accuracy",
}


def test_every_example_is_tested() -> None:
    scripts = sorted(p.name for p in EXAMPLES_DIR.glob("[0-9][0-9]_*.py"))
    assert scripts == sorted(EXAMPLES)
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    assert [s for s in scripts if f"`{s}`" not in readme] == []


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(script: str) -> None:
    if script.startswith("04_") and shutil.which("ngspice") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ngspice is required in CI: install the Debian package ngspice")
        pytest.skip("ngspice not installed (Debian package ngspice)")
    # One thread: the examples use small tensors, and on a busy machine a thread pool
    # spin-waits (the same reason tests/conftest.py sets one thread).
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLES_DIR / script), "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{output[-3000:]}"
    assert re.search(EXAMPLES[script], proc.stdout, flags=re.MULTILINE), (
        f"{script} did not print a line matching {EXAMPLES[script]!r}:\n{proc.stdout[-3000:]}")
    assert "Traceback" not in proc.stderr
