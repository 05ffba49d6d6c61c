"""Text filters: grep (with POSIX basic/extended regular expressions), head, tail, wc, sort,
uniq, cut, tr; GNU behaviour and messages."""

from __future__ import annotations

import asyncio
import base64 as b64
import binascii
import re

from tui.drill.commands.builtins import expand_escapes
from tui.drill.commands.inputs import read_inputs, split_lines
from tui.drill.programs import CommandContext, UsageError, command, gnu_getopt, quote
from tui.drill.vfs import FsError

# --- regular expressions ---------------------------------------------------------------------


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
    for fname, text in read_inputs(ctx, p_name, files,
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
    for fname, text in read_inputs(ctx, p_name, files,
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
    for fname, text in read_inputs(ctx, p_name, files, fmt="{prog}: {name}: {err}"):
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
    for _, text in read_inputs(ctx, p_name, files, fmt="{prog}: cannot read: {name}: {err}"):
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
    _, text = next(read_inputs(ctx, p_name, files[:1], fmt="{prog}: {name}: {err}"))
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
    for _, text in read_inputs(ctx, p_name, files, fmt="{prog}: {name}: {err}"):
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
