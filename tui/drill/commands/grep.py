"""GNU grep on a drill host (grep, egrep, fgrep), with POSIX basic and extended regular
expressions translated to Python's, bracket classes included."""

from __future__ import annotations

import re

from tui.drill.commands.inputs import read_inputs, split_lines
from tui.drill.programs import CommandContext, UsageError, command, gnu_getopt

_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z",
            "lower": "a-z", "space": r" \t\n\r\f\v", "blank": r" \t", "punct": r"!-/:-@\[-`{-~",
            "xdigit": "0-9A-Fa-f", "print": r" -~", "graph": r"!-~", "cntrl": r"\x00-\x1f\x7f"}


def _bracket(p: str, i: int) -> tuple[str, int]:
    """Translate a POSIX bracket expression starting at p[i] == '['."""
    j = i + 1
    out = ["["]
    if j < len(p) and p[j] == "^":
        out.append("^")
        j += 1
    first = True
    while j < len(p):
        c = p[j]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), j + 1
        first = False
        if c == "[" and p[j + 1:j + 2] == ":":
            end = p.find(":]", j + 2)
            if end > 0:
                name = p[j + 2:end]
                out.append(_CLASSES.get(name, ""))
                j = end + 2
                continue
        if c in "\\[]^":
            out.append("\\" + c)
        else:
            out.append(c)
        j += 1
    raise re.error("brackets ([ ]) not balanced")


def posix_regex(pattern: str, extended: bool) -> str:
    """A POSIX BRE/ERE (GNU flavour) as a Python regular expression."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    at_start = True
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            d = pattern[i + 1]
            i += 2
            if not extended and d in "(){}|+?":
                out.append(d)
            elif d == "<":
                out.append(r"\b(?=\w)")
            elif d == ">":
                out.append(r"\b(?<=\w)")
            elif d in "wWsSbB":
                out.append("\\" + d)
            elif d.isdigit():
                out.append("\\" + d)
            else:
                out.append(re.escape(d))
            at_start = d == "(" and not extended
            continue
        if c == "[":
            text, i = _bracket(pattern, i)
            out.append(text)
            at_start = False
            continue
        if not extended and c in "(){}|+?":
            out.append("\\" + c)
        elif c == "*" and at_start:
            out.append(r"\*")
        elif extended and c == "{" and not re.match(r"\{\d*(,\d*)?\}", pattern[i:]):
            out.append(r"\{")
        else:
            out.append(c)
        at_start = (c == "^" and at_start) or (extended and c in "(|")
        i += 1
    return "".join(out)


GREP_LONG = {"invert-match": False, "extended-regexp": False, "fixed-strings": False,
             "basic-regexp": False, "quiet": False, "silent": False, "ignore-case": False,
             "count": False, "line-number": False, "only-matching": False,
             "files-with-matches": False, "files-without-match": False, "no-filename": False,
             "with-filename": False, "no-messages": False, "word-regexp": False,
             "line-regexp": False, "regexp": True, "max-count": True, "color": False,
             "colour": False}


@command("grep", container=True)
async def grep(ctx: CommandContext, argv: list[str], *, forced: str | None = None,
               name: str | None = None) -> int:
    p_name = name or argv[0]
    args = [a for a in argv[1:] if not re.match(r"--colou?r(=.*)?$", a)]
    try:
        opts, operands = gnu_getopt(p_name, args, "vEFGqsicnolLhHwxe:m:", GREP_LONG)
    except UsageError as e:
        msg = e.message.replace(f"Try '{p_name} --help'", f"Usage: {p_name} [OPTION]... "
                                f"PATTERNS [FILE]...\nTry '{p_name} --help'")
        raise UsageError(msg, 2)
    flags = set()
    patterns: list[str] = []
    max_count = None
    alias = {"--invert-match": "-v", "--extended-regexp": "-E", "--fixed-strings": "-F",
             "--basic-regexp": "-G", "--quiet": "-q", "--silent": "-q", "--ignore-case": "-i",
             "--count": "-c", "--line-number": "-n", "--only-matching": "-o",
             "--files-with-matches": "-l", "--files-without-match": "-L",
             "--no-filename": "-h", "--with-filename": "-H", "--no-messages": "-s",
             "--word-regexp": "-w", "--line-regexp": "-x", "--regexp": "-e",
             "--max-count": "-m"}
    mode = forced or "G"
    for o, v in opts:
        o = alias.get(o, o)
        if o == "-e":
            patterns.extend(v.split("\n"))
        elif o == "-m":
            max_count = int(v) if v.lstrip("-").isdigit() else None
            if max_count is None:
                ctx.err(f"{p_name}: invalid max count\n")
                return 2
        elif o in ("-E", "-F", "-G"):
            mode = o[1]
        else:
            flags.add(o)
    if not patterns:
        if not operands:
            ctx.err(f"Usage: {p_name} [OPTION]... PATTERNS [FILE]...\n"
                    f"Try '{p_name} --help' for more information.\n")
            return 2
        patterns = operands.pop(0).split("\n")
    try:
        parts = []
        for p in patterns:
            if mode == "F":
                rx = re.escape(p)
            else:
                rx = posix_regex(p, extended=mode == "E")
            if "-w" in flags:
                rx = rf"(?<!\w)(?:{rx})(?!\w)"
            if "-x" in flags:
                rx = rf"^(?:{rx})$"
            parts.append(f"(?:{rx})")
        regex = re.compile("|".join(parts), re.IGNORECASE if "-i" in flags else 0)
    except re.error as e:
        msg = {"missing ), unterminated subpattern": "Unmatched ( or \\(",
               "unbalanced parenthesis": "Unmatched ) or \\)"}.get(
            str(e).split(" at position")[0], str(e).split(" at position")[0])
        if "bracket" in msg or "brackets" in msg or "unterminated character set" in msg:
            msg = "Unmatched [, [^, [:, [., or [="
        ctx.err(f"{p_name}: {msg}\n")
        return 2
    invert = "-v" in flags
    multi = len(operands) > 1
    show_name = ("-H" in flags or multi) and "-h" not in flags
    quiet = "-q" in flags
    any_selected = False
    error = False
    for fname, text in read_inputs(ctx, p_name, operands,
                               fmt="{prog}: {name}: {err}"):
        if text is None:
            if "-s" in flags:
                pass
            error = True
            continue
        shown = "(standard input)" if fname == "-" else fname
        count = 0
        out: list[str] = []
        for no, line in enumerate(split_lines(text), 1):
            found = regex.search(line) is not None
            if found == invert:
                continue
            count += 1
            any_selected = True
            if quiet:
                return 0
            if "-l" in flags or "-L" in flags or "-c" in flags:
                if max_count is not None and count >= max_count:
                    break
                continue
            prefix = (f"{shown}:" if show_name else "") + (f"{no}:" if "-n" in flags else "")
            if "-o" in flags and not invert:
                for m in regex.finditer(line):
                    if m.group():
                        out.append(prefix + m.group() + "\n")
            elif "-o" not in flags:
                out.append(prefix + line + "\n")
            if max_count is not None and count >= max_count:
                break
        if "-l" in flags:
            if count:
                out = [shown + "\n"]
        elif "-L" in flags:
            out = [shown + "\n"] if not count else []
        elif "-c" in flags:
            out = [(f"{shown}:" if show_name else "") + f"{count}\n"]
        ctx.out("".join(out))
    if error and not (quiet and any_selected):
        return 2
    return 0 if any_selected else 1


@command("egrep", container=True)
async def egrep(ctx: CommandContext, argv: list[str]) -> int:
    # RHEL's egrep is `exec grep -E "$@"`: grep's own name shows in messages
    return await grep(ctx, argv, forced="E", name="grep")


@command("fgrep", container=True)
async def fgrep(ctx: CommandContext, argv: list[str]) -> int:
    return await grep(ctx, argv, forced="F", name="grep")
