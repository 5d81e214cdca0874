"""Untrusted files: nothing in hadeq unpickles except the documented data-set loader, and
no user text can add lines or commands to a SPICE netlist.

tests/training/test_checkpoint.py checks the training package only; this scans the whole
source tree. tests/energy/test_spice.py checks one hand-written injection attempt (and
needs ngspice); the property below throws random text at the netlist builder and runs
without ngspice.
"""

from __future__ import annotations

import pathlib
import re

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hadeq
from hadeq.energy.spice import build_core_netlist

SRC = pathlib.Path(hadeq.__file__).parent
ALLOWED_UNPICKLER = SRC / "tasks" / "safe_pickle.py"
# Calls that deserialize (or serialize) arbitrary Python objects.
BANNED = re.compile(
    r"\bimport\s+(c?pickle|dill|joblib|shelve|marshal)\b|\bfrom\s+(c?pickle|dill|joblib|shelve)\b"
    r"|\bpickle\.|\btorch\.(load|save)\s*\(|\bnp\.load\s*\([^)]*allow_pickle\s*=\s*True"
    r"|\bnumpy\.load\s*\([^)]*allow_pickle\s*=\s*True|\bmarshal\.loads?\s*\("
)


def _code_lines(path: pathlib.Path) -> list[tuple[int, str]]:
    """Lines of ``path`` outside docstrings and comments (a simple triple-quote scan)."""
    out, in_doc = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        quotes = stripped.count('"""') + stripped.count("'''")
        if in_doc:
            in_doc = quotes % 2 == 0
            continue
        if stripped.startswith(('"""', "'''", "r\"\"\"")):
            in_doc = quotes % 2 == 1
            continue
        out.append((number, line.split("#", 1)[0]))
    return out


def test_scanner_sees_what_it_should() -> None:
    """The pattern flags the calls it is meant to flag (so the scan below can fail)."""
    for bad in ("import pickle", "obj = pickle.loads(b)", "torch.load(path)", "torch.save(m, p)",
                "np.load(p, allow_pickle=True)", "from dill import loads"):
        assert BANNED.search(bad), bad
    for fine in ("np.load(p, allow_pickle=False)", "safetensors.torch.load_file(p)",
                 "load_pickle(path)"):
        assert not BANNED.search(fine), fine


def test_only_the_documented_loader_unpickles() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50 and ALLOWED_UNPICKLER in files
    offenders = [f"{p.relative_to(SRC)}:{n}: {line.strip()}"
                 for p in files if p != ALLOWED_UNPICKLER
                 for n, line in _code_lines(p) if BANNED.search(line)]
    assert offenders == []
    # The one allowed module unpickles only through a restricted Unpickler.
    text = ALLOWED_UNPICKLER.read_text(encoding="utf-8")
    assert "class RestrictedUnpickler(pickle.Unpickler)" in text and "def find_class" in text
    assert not re.search(r"pickle\.loads?\s*\(", text)


IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.text(max_size=40), min_size=3, max_size=3), title=st.text(max_size=120))
def test_netlist_identifiers_are_sanitized(labels: list[str], title: str) -> None:
    W = torch.tensor([[0.1, -0.2, 0.0], [0.3, 0.0, 0.1], [0.0, 0.2, -0.1]], dtype=torch.float64)
    u = torch.tensor([0.1, -0.1, 0.2], dtype=torch.float64)
    b = torch.zeros(3, dtype=torch.float64)
    net = build_core_netlist(W, u, b, labels=labels, title=title, t_stop_ns=100.0)
    assert len(net.labels) == 3 and len(set(net.labels)) == 3
    assert all(IDENT.match(label) for label in net.labels), net.labels
    lines = net.text.splitlines()
    directives = [line.strip().lower() for line in lines if line.strip().startswith(".")]
    assert directives.count(".control") == 1 and directives.count(".endc") == 1
    assert not any(line.lstrip().lower().startswith(("shell", "system", "source", "exec"))
                   for line in lines)
    # The title is the first line, alone; nothing the user wrote reaches any other line
    # except through the sanitized labels.
    assert re.fullmatch(r"[A-Za-z0-9 _\-.,]+", lines[0]), lines[0]
    assert net.text.isascii()
