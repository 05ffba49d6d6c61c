"""Text filters: grep (with POSIX basic/extended regular expressions), head, tail, wc, sort,
uniq, cut, tr; GNU behaviour and messages."""

from __future__ import annotations

import asyncio
import base64 as b64
import binascii
import re

from tui.drill.commands.builtins import expand_escapes
from tui.drill.programs import CommandContext, UsageError, command, gnu_getopt, quote
from tui.drill.vfs import FsError


def _inputs(ctx: CommandContext, prog: str, files: list[str], *, fmt: str):
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


# --- regular expressions ---------------------------------------------------------------------

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
    for fname, text in _inputs(ctx, p_name, operands,
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


# --- head / tail -----------------------------------------------------------------------------


def _count_arg(p_name: str, v: str, what: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise UsageError(f"{p_name}: invalid number of {what}: {quote(v)}\n") from None


def _legacy_count(args: list[str]) -> list[str]:
    # head -5 / tail -5 / tail +5 are old forms of -n
    out = []
    for a in args:
        if re.fullmatch(r"-\d+", a):
            out += ["-n", a[1:]]
        else:
            out.append(a)
    return out


@command("head", container=True)
async def head(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, files = gnu_getopt(p_name, _legacy_count(argv[1:]), "n:c:qv",
                             {"lines": True, "bytes": True, "quiet": False, "verbose": False})
    lines, nbytes = 10, None
    for o, v in opts:
        if o in ("-n", "--lines"):
            lines = _count_arg(p_name, v, "lines")
        elif o in ("-c", "--bytes"):
            nbytes = _count_arg(p_name, v, "bytes")
    status = 0
    multi = len(files) > 1
    first = True
    for fname, text in _inputs(ctx, p_name, files,
                               fmt="{prog}: cannot open {q} for reading: {err}"):
        if text is None:
            status = 1
            continue
        if multi:
            ctx.out(("" if first else "\n") + f"==> {fname if fname != '-' else 'standard input'} <==\n")
        first = False
        if nbytes is not None:
            ctx.out(text[:nbytes] if nbytes >= 0 else text[:nbytes or None])
            continue
        parts = text.splitlines(keepends=True)
        ctx.out("".join(parts[:lines] if lines >= 0 else parts[:lines or None]))
    return status


@command("tail", container=True)
async def tail(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    args = []
    for a in argv[1:]:
        if re.fullmatch(r"\+\d+", a) and not args:
            args += ["-n", a]
        else:
            args.append(a)
    opts, files = gnu_getopt(p_name, _legacy_count(args), "n:c:fFqv",
                             {"lines": True, "bytes": True, "follow": False, "quiet": False,
                              "verbose": False})
    spec, nbytes = "10", None
    for o, v in opts:
        if o in ("-f", "-F", "--follow"):
            ctx.err(f"{p_name}: following a file (-f) is not available in this drill build\n")
            return 1
        if o in ("-n", "--lines"):
            spec = v
        elif o in ("-c", "--bytes"):
            nbytes = v
    status = 0
    multi = len(files) > 1
    first = True
    for fname, text in _inputs(ctx, p_name, files,
                               fmt="{prog}: cannot open {q} for reading: {err}"):
        if text is None:
            status = 1
            continue
        if multi:
            ctx.out(("" if first else "\n") + f"==> {fname if fname != '-' else 'standard input'} <==\n")
        first = False
        if nbytes is not None:
            if nbytes.startswith("+"):
                ctx.out(text[_count_arg(p_name, nbytes[1:], "bytes") - 1:])
            else:
                n = abs(_count_arg(p_name, nbytes, "bytes"))
                ctx.out(text[-n:] if n else "")
            continue
        parts = text.splitlines(keepends=True)
        if spec.startswith("+"):
            start = max(_count_arg(p_name, spec[1:], "lines") - 1, 0)
            ctx.out("".join(parts[start:]))
        else:
            n = abs(_count_arg(p_name, spec, "lines"))
            ctx.out("".join(parts[-n:]) if n else "")
    return status


# --- wc / sort / uniq / cut / tr -------------------------------------------------------------


@command("wc", container=True)
async def wc(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, files = gnu_getopt(p_name, argv[1:], "lwcmL",
                             {"lines": False, "words": False, "bytes": False, "chars": False,
                              "max-line-length": False})
    alias = {"--lines": "-l", "--words": "-w", "--bytes": "-c", "--chars": "-m",
             "--max-line-length": "-L"}
    chosen = {alias.get(o, o) for o, _ in opts} or {"-l", "-w", "-c"}
    order = [f for f in ("-l", "-w", "-m", "-c", "-L") if f in chosen]
    rows = []
    status = 0
    for fname, text in _inputs(ctx, p_name, files, fmt="{prog}: {name}: {err}"):
        if text is None:
            status = 1
            continue
        counts = {"-l": text.count("\n"), "-w": len(text.split()), "-m": len(text),
                  "-c": len(text.encode()),
                  "-L": max((len(x) for x in text.split("\n")), default=0)}
        rows.append(([counts[f] for f in order], "" if fname == "-" and not files else fname))
    if len(rows) > 1:
        rows.append(([sum(r[0][i] for r in rows) for i in range(len(order))], "total"))
    if len(order) == 1 and len(rows) == 1:
        width = 1
    elif not files:
        width = 7
    else:
        width = max(len(str(max((r[0][i] for r in rows), default=0))) for i in range(len(order)))
        width = max(width, 1)
    for counts, name in rows:
        line = " ".join(f"{c:>{width}}" for c in counts)
        ctx.out(line + (f" {name}" if name else "") + "\n")
    return status


def _sort_key_field(line: str, spec: str, sep: str | None) -> str:
    m = re.fullmatch(r"(\d+)(?:\.\d+)?[a-zA-Z]*(?:,(\d+)(?:\.\d+)?[a-zA-Z]*)?", spec)
    if not m:
        return line
    start = int(m.group(1)) - 1
    end = int(m.group(2)) if m.group(2) else None
    if sep is None:
        fields = re.findall(r"\s*\S+", line)
        chosen = fields[start:end]
        return "".join(chosen).lstrip() if chosen else ""
    fields = line.split(sep)
    return sep.join(fields[start:end])


def _numeric(s: str) -> float:
    m = re.match(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)", s)
    return float(m.group()) if m else 0.0


_HUMAN = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def _human_num(s: str) -> float:
    m = re.match(r"\s*([+-]?\d+(?:\.\d*)?)([KMGT]?)", s)
    return float(m.group(1)) * _HUMAN[m.group(2)] if m else 0.0


@command("sort", container=True)
async def sort(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, files = gnu_getopt(p_name, argv[1:], "rnuk:t:fhVb",
                             {"reverse": False, "numeric-sort": False, "unique": False,
                              "key": True, "field-separator": True, "ignore-case": False,
                              "human-numeric-sort": False, "version-sort": False})
    names = {o for o, _ in opts}
    reverse = bool(names & {"-r", "--reverse"})
    numeric = bool(names & {"-n", "--numeric-sort"})
    hnum = bool(names & {"-h", "--human-numeric-sort"})
    unique = bool(names & {"-u", "--unique"})
    fold = bool(names & {"-f", "--ignore-case"})
    key = next((v for o, v in opts if o in ("-k", "--key")), None)
    sep = next((v for o, v in opts if o in ("-t", "--field-separator")), None)
    lines: list[str] = []
    status = 0
    for _, text in _inputs(ctx, p_name, files, fmt="{prog}: cannot read: {name}: {err}"):
        if text is None:
            return 2
        lines.extend(split_lines(text))

    def k(line: str):
        s = _sort_key_field(line, key, sep) if key else line
        if numeric:
            return (_numeric(s), line.encode())
        if hnum:
            return (_human_num(s), line.encode())
        return ((s.lower() if fold else s).encode(), line.encode())

    lines.sort(key=k, reverse=reverse)
    if unique:
        seen = set()
        out = []
        for line in lines:
            kk = k(line)[0]
            if kk in seen:
                continue
            seen.add(kk)
            out.append(line)
        lines = out
    ctx.out("".join(line + "\n" for line in lines))
    return status


@command("uniq", container=True)
async def uniq(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, files = gnu_getopt(p_name, argv[1:], "cdui", {"count": False, "repeated": False,
                                                       "unique": False, "ignore-case": False})
    names = {o for o, _ in opts}
    count = bool(names & {"-c", "--count"})
    repeated = bool(names & {"-d", "--repeated"})
    only_unique = bool(names & {"-u", "--unique"})
    icase = bool(names & {"-i", "--ignore-case"})
    _, text = next(_inputs(ctx, p_name, files[:1], fmt="{prog}: {name}: {err}"))
    if text is None:
        return 1
    groups: list[list] = []
    for line in split_lines(text):
        k = line.lower() if icase else line
        if groups and groups[-1][0] == k:
            groups[-1][2] += 1
        else:
            groups.append([k, line, 1])
    out = []
    for _, line, n in groups:
        if repeated and n < 2 or only_unique and n > 1:
            continue
        out.append(f"{n:7d} {line}\n" if count else line + "\n")
    ctx.out("".join(out))
    return 0


def _ranges(p_name: str, spec: str) -> list[tuple[int, int | None]]:
    out = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d*)-(\d*)|(\d+)", part)
        if not m or part == "-":
            raise UsageError(f"{p_name}: invalid field value {quote(part)}\nTry '{p_name} "
                             "--help' for more information.\n")
        if m.group(3):
            n = int(m.group(3))
            if n == 0:
                raise UsageError(f"{p_name}: fields are numbered from 1\nTry '{p_name} --help' "
                                 "for more information.\n")
            out.append((n, n))
        else:
            out.append((int(m.group(1) or 1), int(m.group(2)) if m.group(2) else None))
    return out


def _select(items: list[str], ranges) -> list[str]:
    keep = []
    for i, item in enumerate(items, 1):
        if any(a <= i and (b is None or i <= b) for a, b in ranges):
            keep.append(item)
    return keep


@command("cut", container=True)
async def cut(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, files = gnu_getopt(p_name, argv[1:], "d:f:c:b:s",
                             {"delimiter": True, "fields": True, "characters": True,
                              "bytes": True, "only-delimited": False})
    delim = "\t"
    fields = chars = None
    only = False
    for o, v in opts:
        if o in ("-d", "--delimiter"):
            if len(v) != 1:
                raise UsageError(f"{p_name}: the delimiter must be a single character\nTry "
                                 f"'{p_name} --help' for more information.\n")
            delim = v
        elif o in ("-f", "--fields"):
            fields = _ranges(p_name, v)
        elif o in ("-c", "--characters", "-b", "--bytes"):
            chars = _ranges(p_name, v)
        elif o in ("-s", "--only-delimited"):
            only = True
    if fields is None and chars is None:
        raise UsageError(f"{p_name}: you must specify a list of bytes, characters, or fields\n"
                         f"Try '{p_name} --help' for more information.\n")
    status = 0
    out = []
    for _, text in _inputs(ctx, p_name, files, fmt="{prog}: {name}: {err}"):
        if text is None:
            status = 1
            continue
        for line in split_lines(text):
            if chars is not None:
                out.append("".join(_select(list(line), chars)) + "\n")
            elif delim not in line:
                if not only:
                    out.append(line + "\n")
            else:
                out.append(delim.join(_select(line.split(delim), fields)) + "\n")
    ctx.out("".join(out))
    return status


def _tr_set(s: str) -> list[str]:
    classes = {"upper": [chr(c) for c in range(65, 91)], "lower": [chr(c) for c in range(97, 123)],
               "digit": list("0123456789"), "space": list(" \t\n\r\f\v"), "blank": [" ", "\t"],
               "alpha": [chr(c) for c in range(65, 91)] + [chr(c) for c in range(97, 123)],
               "alnum": list("0123456789") + [chr(c) for c in range(65, 91)]
               + [chr(c) for c in range(97, 123)],
               "punct": [chr(c) for c in range(33, 127) if not chr(c).isalnum()]}
    out: list[str] = []
    i = 0
    s = expand_escapes(s)[0]
    while i < len(s):
        m = re.match(r"\[:(\w+):\]", s[i:])
        if m and m.group(1) in classes:
            out.extend(classes[m.group(1)])
            i += m.end()
            continue
        if i + 2 < len(s) and s[i + 1] == "-":
            a, b = ord(s[i]), ord(s[i + 2])
            out.extend(chr(c) for c in range(a, b + 1))
            i += 3
            continue
        out.append(s[i])
        i += 1
    return out


@command("tr", container=True)
async def tr(ctx: CommandContext, argv: list[str]) -> int:
    p_name = argv[0]
    opts, sets = gnu_getopt(p_name, argv[1:], "dsc", {"delete": False, "squeeze-repeats": False,
                                                      "complement": False})
    names = {o for o, _ in opts}
    delete = bool(names & {"-d", "--delete"})
    squeeze = bool(names & {"-s", "--squeeze-repeats"})
    hint = f"Try '{p_name} --help' for more information.\n"
    if not sets:
        raise UsageError(f"{p_name}: missing operand\n{hint}")
    if not delete and not squeeze and len(sets) < 2:
        raise UsageError(f"{p_name}: missing operand after {quote(sets[0])}\nTwo strings must be "
                         f"given when translating.\n{hint}")
    text = ctx.stdin.read()
    s1 = _tr_set(sets[0])
    if delete:
        text = "".join(c for c in text if c not in s1)
        squeeze_set = _tr_set(sets[1]) if len(sets) > 1 else []
    elif len(sets) > 1:
        s2 = _tr_set(sets[1])
        if s2:
            s2 = s2 + [s2[-1]] * (len(s1) - len(s2))
            table = {a: b for a, b in zip(s1, s2)}
            text = "".join(table.get(c, c) for c in text)
        squeeze_set = s2
    else:
        squeeze_set = s1
    if squeeze:
        out = []
        for c in text:
            if out and out[-1] == c and c in squeeze_set:
                continue
            out.append(c)
        text = "".join(out)
    ctx.out(text)
    return 0


@command("seq")
async def seq(ctx: CommandContext, argv: list[str]) -> int:
    """seq [FIRST [INCREMENT]] LAST, integers only (what operators use it for)."""
    args = argv[1:]
    if not args:
        ctx.err("seq: missing operand\nTry 'seq --help' for more information.\n")
        return 1
    if len(args) > 3:
        ctx.err(f"seq: extra operand '{args[3]}'\nTry 'seq --help' for more information.\n")
        return 1
    try:
        nums = [int(a) for a in args]
    except ValueError:
        bad = next(a for a in args if not a.lstrip("-").isdigit())
        ctx.err(f"seq: invalid floating point argument: '{bad}'\n"
                f"Try 'seq --help' for more information.\n")
        return 1
    first, step, last = (1, 1, nums[0]) if len(nums) == 1 else \
        (nums[0], 1, nums[1]) if len(nums) == 2 else tuple(nums)
    if step == 0:
        ctx.err(f"seq: invalid Zero increment value: '{args[1]}'\n"
                f"Try 'seq --help' for more information.\n")
        return 1
    values = range(first, last + (1 if step > 0 else -1), step)
    # stream in chunks, as a real process fills its pipe, so long runs reach panes early
    for start in range(0, len(values), 4096):
        ctx.out("".join(f"{v}\n" for v in values[start:start + 4096]))
        await asyncio.sleep(0)
    return 0


# --- base64 ----------------------------------------------------------------------------------


@command("base64")
async def base64_(ctx: CommandContext, argv: list[str]) -> int:
    """GNU base64: encode FILE (or stdin) wrapped at -w COLS (76; 0 = no wrapping), or -d
    decode. The drill's files hold text, so decoded bytes are written back as text."""
    p_name = argv[0]
    opts, files = gnu_getopt(p_name, argv[1:], "dw:i",
                             {"decode": False, "wrap": True, "ignore-garbage": False})
    decode = any(o in ("-d", "--decode") for o, _ in opts)
    width = 76
    for o, v in opts:
        if o in ("-w", "--wrap"):
            if not (v or "").isdigit():
                ctx.err(f"{p_name}: invalid wrap size: {quote(v or '')}\n")
                return 1
            width = int(v)
    if len(files) > 1:
        ctx.err(f"{p_name}: extra operand {quote(files[1])}\n")
        return 1
    name = files[0] if files else "-"
    try:
        data = ctx.stdin.read().encode() if name == "-" else ctx.vfs.read(name)
    except FsError as e:
        ctx.err(f"{p_name}: {name}: {e.strerror}\n")
        return 1
    if decode:
        try:
            ctx.out(b64.b64decode(b"".join(data.split()), validate=True).decode(
                "utf-8", "surrogateescape"))
        except (binascii.Error, ValueError):
            ctx.err(f"{p_name}: invalid input\n")
            return 1
        return 0
    text = b64.b64encode(data).decode()
    if width:
        text = "\n".join(text[i:i + width] for i in range(0, len(text), width))
    ctx.out(text + "\n" if text and width else text)
    return 0
