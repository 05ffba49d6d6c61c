"""The headless core imports no Textual (also enforced by import-linter in the test command)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = ["tui.errors", "tui.durations", "tui.inventory", "tui.fleet.fleet", "tui.fleet.commands",
        "tui.fleet.readonly", "tui.etcd.parse", "tui.etcd.etcdctl", "tui.cluster.api",
        "tui.status.collect", "tui.status.render", "tui.drill.lab", "tui.drill.shell",
        "tui.backend", "tui.cli", "tui.discover", "tui.hostcheck", "tui.initialize"]


def test_core_modules_import_without_textual():
    code = ("import sys\n"
            f"for m in {CORE!r}: __import__(m)\n"
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"the core pulled in Textual: {out.stdout.strip()}"


def test_import_linter_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    lint = subprocess.run([str(lint_imports)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_console_waits_with_asyncio_timeout_not_wait_for():
    """On Python 3.11 asyncio.wait_for loses a cancellation that arrives as its inner await
    completes (gh-86296): a closing fleet then waited forever (tests/test_fleet_drill.py).
    Outside the drill's own servers, the console uses asyncio.timeout."""
    root = Path(__file__).resolve().parent.parent
    found = [f"{path.relative_to(root)}:{n}"
             for folder in ("tui", "screens") for path in sorted((root / folder).rglob("*.py"))
             if "drill" not in path.relative_to(root).parts
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if "asyncio.wait_for(" in line]
    assert not found, found


def _python_files(*folders: str):
    root = Path(__file__).resolve().parent.parent
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            yield path.relative_to(root), path.read_text()


def test_the_drill_imports_at_module_level():
    """The drill's layers (pyproject's import-linter contract) leave no cycle to dodge, so
    every import sits at the top of its module, where a reader sees what a module needs. An
    import inside a function is allowed only to save start-up time, with a comment that
    says so ("start-up") on its line or the line above."""
    found = []
    for rel, text in _python_files("tui/drill"):
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    near = " ".join(lines[max(inner.lineno - 2, 0):inner.lineno])
                    if "start-up" not in near:
                        found.append(f"{rel}:{inner.lineno}: {ast.unparse(inner)}")
    assert not found, "imports inside functions:\n" + "\n".join(found)

