"""MkDocs hook: pages whose content is generated from the source at build time.

A page asks for a generated block with a marker on a line of its own:

* ``<!-- hadeq:constants -->`` — every literature number of ``src/hadeq/constants.py``
  with its value and its source (the docstring under it), grouped by the section
  comments of that file;
* ``<!-- hadeq:energy-config -->`` — every field of :class:`hadeq.energy.EnergyConfig`
  with its default and the constant it comes from;
* ``<!-- hadeq:cli -->`` — the ``--help`` of ``hadeq`` and of every sub-command, from the
  parser the command itself builds.

The constants are read with :mod:`ast` (nothing is copied by hand, nothing is imported);
the CLI parser is imported, so the text is what ``hadeq COMMAND --help`` prints.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONSTANTS = ROOT / "src" / "hadeq" / "constants.py"
ENERGY_CONFIG = ROOT / "src" / "hadeq" / "energy" / "config.py"
HELP_COLUMNS = "92"

UNITS = ((r"_M_PER_S2$", "m/s²"), (r"_RAD_PER_S$", "rad/s"), (r"TOPS_PER_W", "TOPS/W"),
         (r"_PER_V$", "1/V"), (r"_OHM(_PER_CELL)?$", "Ω"), (r"_TOPS_", "TOPS"),
         (r"_US$", "µS"), (r"_NS(_EXAMPLE)?$", "ns"), (r"_S$", "s"), (r"_J$", "J"),
         (r"_V$", "V"), (r"_F$", "F"), (r"_KG$", "kg"), (r"_NM$", "N·m"), (r"_M$", "m"))
"""Units read off a constant's name suffix (the convention of constants.py)."""


# --- helpers ------------------------------------------------------------------------------
def _cell(text: str) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _value(node: ast.expr, name: str, module: Any) -> str:
    """The constant's value as the module computes it (its source if it is not a number
    or a literal container)."""
    value = getattr(module, name, None)
    if value is None:
        return f"`{ast.unparse(node)}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value!r}`"


def _unit(name: str) -> str:
    for pattern, unit in UNITS:
        if re.search(pattern, name):
            return unit
    return "–"


def _kind(doc: str) -> str:
    low = doc.lower()
    if "unverified" in low:
        return "unverified"
    if "assumption" in low or "design choice" in low or "design estimate" in low:
        return "assumption"
    return "sourced"


def _documented_assignments(tree: ast.Module) -> list[tuple[str, ast.expr, str, int]]:
    """``(name, value, docstring, line)`` of every module-level assignment."""
    out = []
    body = tree.body
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name, value = stmt.target.id, stmt.value
        elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
              and isinstance(stmt.targets[0], ast.Name)):
            name, value = stmt.targets[0].id, stmt.value
        else:
            continue
        if value is None:
            continue
        doc = ""
        nxt = body[i + 1] if i + 1 < len(body) else None
        if (isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            doc = nxt.value.value
        out.append((name, value, doc, stmt.lineno))
    return out


SECTION = re.compile(r"^---+\s*(?P<title>[^-].*?)\s*-*$")
RULE = re.compile(r"^-+$")


def _comment_blocks(lines: list[str]) -> list[tuple[int, int, str, str]]:
    """``(line, level, title, note)`` of every comment block of a module, 1-based lines.

    ``# --- Title ---`` starts a section (level 3; the comment lines under it are its
    note); any other block of comment lines introduces a group of constants (level 4,
    titled by its first words). Banners between rule lines and ``--- end ... ---``
    markers are skipped."""
    blocks: list[tuple[int, list[str]]] = []
    for i, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#") and not stripped.startswith("#!"):
            text = stripped.lstrip("#").strip()
            if blocks and blocks[-1][0] + len(blocks[-1][1]) == i:
                blocks[-1][1].append(text)
            else:
                blocks.append((i, [text]))
    out = []
    for start, texts in blocks:
        if any(RULE.match(t) for t in texts):
            continue  # a banner
        m = SECTION.match(texts[0])
        if m:
            title = m["title"].rstrip(" -")
            if title.startswith("end "):
                continue
            out.append((start, 3, title, " ".join(texts[1:])))
        else:
            title = re.split(r":|\s\(|\.(?:\s|$)", texts[0], maxsplit=1)[0]
            out.append((start, 4, title, " ".join(texts)))
    return out


# --- generated blocks -----------------------------------------------------------------------
def _constants_module() -> Any:
    """``hadeq.constants`` loaded from the source file (it imports nothing of hadeq)."""
    spec = importlib.util.spec_from_file_location("_hadeq_constants", CONSTANTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def constants_table() -> str:
    module = _constants_module()
    source = CONSTANTS.read_text(encoding="utf-8")
    blocks = _comment_blocks(source.splitlines())
    header = ["| name | value | unit | status | meaning and source |", "|---|---|---|---|---|"]
    out: list[str] = []
    current: tuple[int, int, str, str] | None = None
    count = 0
    for name, value, doc, line in _documented_assignments(ast.parse(source)):
        block = None
        for candidate in blocks:
            if candidate[0] < line:
                block = candidate
        if block != current:
            after = current[0] if current is not None else 0
            current = block
            if block is not None:
                # Sections with no constant of their own still head the groups under them.
                for start, level, title, note in blocks:
                    if after < start <= block[0] and (level == 3 or start == block[0]):
                        out += ["", f"{'#' * level} {_cell(title[:1].upper() + title[1:])}",
                                ""]
                        if note and note.rstrip(".") != title:
                            out += [_cell(note), ""]
            out += header
        count += 1
        out.append(f"| <a id=\"{name}\"></a>`{name}` | {_value(value, name, module)} "
                   f"| {_unit(name)} | {_kind(doc)} | {_cell(doc) or '–'} |")
    return "\n".join([f"*Generated from `src/hadeq/constants.py` ({count} constants).*",
                      "", *out, ""])


def energy_config_table() -> str:
    tree = ast.parse(ENERGY_CONFIG.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EnergyConfig")
    fields = _documented_assignments(ast.Module(body=cls.body, type_ignores=[]))
    constants = {name for name, *_ in _documented_assignments(
        ast.parse(CONSTANTS.read_text(encoding="utf-8")))}
    rows = ["| field | default | from | meaning |", "|---|---|---|---|"]
    for name, value, doc, _ in fields:
        source = ast.unparse(value)
        used = sorted({n.attr for n in ast.walk(value)
                       if isinstance(n, ast.Attribute) and n.attr in constants}
                      | {n.id for n in ast.walk(value)
                         if isinstance(n, ast.Name) and n.id in constants})
        if used:
            origin = ", ".join(f"[`{c}`](#{c})" for c in used)
        else:
            origin = "assumption (set here)" if "assumption" in doc.lower() else "set here"
        rows.append(f"| `{name}` | `{source}` | {origin} | {_cell(doc)} |")
    return "\n".join([f"*Generated from `src/hadeq/energy/config.py` ({len(fields)} fields).*",
                      "", *rows, ""])


def cli_help() -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS  # argparse wraps to the terminal width
    try:
        from hadeq.cli.main import build_parser

        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        blocks = ["## `hadeq`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, command in sub.choices.items():
            blocks += [f"## `hadeq {name}`", "", "```text", command.format_help().rstrip(),
                       "```", ""]
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(blocks)


GENERATORS = {
    "<!-- hadeq:constants -->": constants_table,
    "<!-- hadeq:energy-config -->": energy_config_table,
    "<!-- hadeq:cli -->": cli_help,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker, generate in GENERATORS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
