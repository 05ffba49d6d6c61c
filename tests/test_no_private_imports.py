"""No module of the console imports another module's private name (issue 15 item 3): what a
module shares is public; a leading underscore means "only this module uses it". The restore
package once imported 60 private names across its parts; they are public now."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_module_imports_a_private_name_of_another():
    found = []
    for path in sorted([*ROOT.glob("tui/**/*.py"), *ROOT.glob("screens/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in ("tui", "screens"):
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} "
                          f"import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, "\n".join(found)


def _is_project_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_no_module_reaches_a_private_name_through_another_module():
    """`from tui.drill import objects` then `objects._stamp(...)` couples the two modules as
    much as importing `_stamp` does."""
    found = []
    for path in sorted([*ROOT.glob("tui/**/*.py"), *ROOT.glob("screens/**/*.py")]):
        tree = ast.parse(path.read_text(), str(path))
        modules: set[str] = set()  # the local names bound to the project's modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in ("tui", "screens"):
                modules |= {a.asname or a.name for a in node.names
                            if _is_project_module(f"{node.module}.{a.name}")}
            elif isinstance(node, ast.Import):
                modules |= {a.asname for a in node.names
                            if a.asname and _is_project_module(a.name)}
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}"
                  for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id in modules and node.attr.startswith("_")
                  and not node.attr.startswith("__")]
    assert not found, "\n".join(found)
