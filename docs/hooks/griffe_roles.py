"""Griffe extension: turn the reST roles of hadeq's docstrings into cross-references.

hadeq's docstrings name other objects with Sphinx roles (``:class:`HardwareConfig```,
``:func:`~hadeq.analog.crossbar.ir_drop_factor```). mkdocstrings renders Markdown, so this
extension rewrites every role, once the package is loaded, into an *optional* autorefs
reference: a link where the target is rendered somewhere in the site, plain code where it
is not (a private helper, a submodule the reference does not render). Names are resolved
in the scope of the object whose docstring holds them, as Sphinx would; a target given
through a package's public name (``hadeq.analog.HardwareConfig``) is linked to where the
API reference renders it.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?P<role>class|func|meth|attr|data|mod|exc|obj|const):`(?P<tilde>~?)"
                  r"(?P<target>[\w.]+)(?P<call>\(\))?`")

# reST introduces a literal block with "text::"; in Markdown the indented block is code
# already, so "text::" becomes "text:" (a lone "Example::" is kept from being read as a
# Google-style section).
LITERAL = re.compile(r"^(?P<indent>[ \t]*)(?P<text>.*?)::[ \t]*$", flags=re.MULTILINE)

# Packages whose public names (``__all__``) the API reference renders.
PUBLIC_PACKAGES = ("hadeq", "hadeq.solvers", "hadeq.deq", "hadeq.analog", "hadeq.models",
                   "hadeq.energy", "hadeq.energy.spice", "hadeq.tasks", "hadeq.training")


class RolesToAutorefs(griffe.Extension):
    """Rewrite ``:role:`target``` in every docstring of the package (see the module)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader,
                   **kwargs: Any) -> None:
        self.collection = loader.modules_collection
        self.public = self._public_names()
        self.resolved = 0
        self.unresolved: set[str] = set()
        for obj in _walk(pkg):
            if obj.docstring is not None:
                text = ROLE.sub(lambda m, o=obj: self._replace(m, o), obj.docstring.value)
                obj.docstring.value = LITERAL.sub(_literal_intro, text)

    # --- names ---------------------------------------------------------------------------
    def _public_names(self) -> dict[str, str]:
        """Canonical path → the public path the API reference renders it under."""
        names: dict[str, str] = {}
        for package in PUBLIC_PACKAGES:
            try:
                mod = self.collection.get_member(package)
            except Exception:  # a package that is not loaded: nothing to map
                continue
            for name, member in mod.members.items():
                if name.startswith("_") and name != "__version__":
                    continue
                try:
                    final = member.final_target if member.is_alias else member
                except Exception:  # an alias to outside the package
                    continue
                if final.is_module:
                    continue  # a submodule, or a function shadowed by its module's name
                canonical = final.path
                names.setdefault(canonical, f"{package}.{name}")
        return names

    def _exists(self, path: str) -> bool:
        try:
            self.collection.get_member(path)
        except Exception:
            return False
        return True

    def _resolve(self, target: str, scope: griffe.Object) -> str | None:
        """The full path of ``target`` seen from ``scope``, or None."""
        if target.startswith("hadeq.") or target == "hadeq":
            return target if self._exists(target) else None
        head, _, rest = target.partition(".")
        for candidate in (scope, *_parents(scope)):
            try:
                base = candidate.resolve(head)
            except Exception:  # not a name in that scope
                continue
            path = f"{base}.{rest}" if rest else base
            if self._exists(path):
                return path
        return None

    def _public(self, path: str) -> str:
        """``path`` with its longest canonical prefix replaced by its public name."""
        try:
            member = self.collection.get_member(path)
            if member.is_alias:
                path = member.final_target.path
        except Exception:
            pass
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in self.public:
                return ".".join([self.public[prefix], *parts[i:]])
        return path

    def _inner(self, path: str) -> str:
        """``hadeq.deq.solve`` names a module *and* the function ``solve`` the package
        exports from it; a role that is not ``:mod:`` means the function."""
        try:
            member = self.collection.get_member(path)
            final = member.final_target if member.is_alias else member
        except Exception:
            return path
        name = final.path.rsplit(".", 1)[-1]
        if final.is_module and name in final.members:
            return f"{final.path}.{name}"
        return path

    # --- rewriting -----------------------------------------------------------------------
    def _replace(self, match: re.Match[str], scope: griffe.Object) -> str:
        target = match["target"]
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        code = f"<code>{html.escape(shown)}{match['call'] or ''}</code>"
        path = self._resolve(target, scope)
        if path is not None and match["role"] != "mod":
            path = self._inner(path)
        if path is None:
            self.unresolved.add(target)
            return code
        self.resolved += 1
        return f'<autoref identifier="{html.escape(self._public(path))}" optional>{code}</autoref>'


def _literal_intro(match: re.Match[str]) -> str:
    text = match["text"]
    if not text.strip():
        return ""
    if " " not in text.strip():
        return f"{match['indent']}*{text.strip()}:*"
    return f"{match['indent']}{text}:"


def _parents(obj: griffe.Object) -> list[griffe.Object]:
    out = []
    while obj.parent is not None:
        obj = obj.parent
        out.append(obj)
    return out


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)
