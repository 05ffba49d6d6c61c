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
