"""How the drill's text commands read their input: each FILE operand (or `-`) or standard
input, split into lines as coreutils does (a last line without a newline counts)."""

from __future__ import annotations

from tui.drill.programs import CommandContext, quote
from tui.drill.vfs import FsError


def read_inputs(ctx: CommandContext, prog: str, files: list[str], *, fmt: str):
    """Yield (name, text) for each operand ("-" = stdin); errors are printed with `fmt`
    (e.g. "{prog}: {name}: {err}") and yield (name, None)."""
    vfs = ctx.vfs
    for f in files or ["-"]:
        if f == "-":
            yield f, ctx.stdin.read()
            continue
        try:
            yield f, vfs.read_text(f)
        except FsError as e:
            ctx.err(fmt.format(prog=prog, name=f, q=quote(f), err=e.strerror) + "\n")
            yield f, None


def split_lines(text: str) -> list[str]:
    """Lines without their newline; a last line without one still counts."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines
