"""The drill shell's language: its syntax tree, lexer and parser (tui.drill.shell runs it).

The subset the recovery procedures and operators use: quoting, `$VAR`/`${VAR}`/`$?`,
`$(...)`, pipelines, `;`/`&&`/`||`/newlines, `NAME=value cmd`, redirections and `*` globs.
Everything else (if/for/while, functions, subshells, background jobs, here-documents) is
refused with bash's own wording, because operators who train here must recognise it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Lit:
    text: str
    quoted: bool


@dataclass
class Param:
    name: str
    quoted: bool
    op: str | None = None  # ":-", "-", ":=", "=", ":+", "+", ":?", "?"
    arg: list | None = None  # the word after op
    length: bool = False  # ${#name}


@dataclass
class CmdSub:
    src: str
    quoted: bool
    line: int


Word = list  # of Lit | Param | CmdSub


@dataclass
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&", "<&", "&>", "&>>", "<<<", ">|"
    target: Word


@dataclass
class Simple:
    assigns: list[tuple[str, Word]]
    words: list[Word]
    redirects: list[Redirect]
    line: int


@dataclass
class Pipeline:
    commands: list[Simple]
    pipe_stderr: list[bool]  # `|&` after command i
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]


@dataclass
class CommandList:
    items: list[AndOr]


class ShSyntaxError(Exception):
    """kind: "token" (near unexpected token), "match" (EOF looking for a closing quote or
    paren), "eof" (unexpected end of file)."""

    def __init__(self, kind: str, line: int, token: str = ""):
        super().__init__(f"{kind} {token}")
        self.kind = kind
        self.line = line
        self.token = token


class Unsupported(Exception):
    def __init__(self, what: str, line: int):
        super().__init__(what)
        self.what = what
        self.line = line


META = set(" \t\n;&|()<>")


OPERATORS = sorted(["&&", "||", ";;", "|&", ">>", ">&", "<&", "<<<", "<<", "<>", ">|", "&>>",
                    "&>", "|", "&", ";", "(", ")", "<", ">"], key=len, reverse=True)


REDIRECT_OPS = {">", ">>", "<", ">&", "<&", "&>", "&>>", "<<<", ">|", "<<", "<>"}


SPECIAL_PARAMS = set("?$#@*!-0")


NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")


@dataclass
class Token:
    kind: str  # WORD, OP, IO_NUMBER, NEWLINE, EOF, CLOSE
    value: object
    line: int
    pos: int = 0


class Lexer:
    def __init__(self, text: str, pos: int = 0, line: int = 1, nested: bool = False):
        self.text = text
        self.pos = pos
        self.line = line
        self.nested = nested  # inside $( ... ): a lone ")" ends it
        self.depth = 0
        self._peeked: Token | None = None

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._next()
        return self._peeked

    def next(self) -> Token:
        t = self.peek()
        self._peeked = None
        return t

    def _next(self) -> Token:
        text = self.text
        while True:
            if self.pos >= len(text):
                return Token("EOF", None, self.line, self.pos)
            c = text[self.pos]
            if c in " \t\r":
                self.pos += 1
                continue
            if c == "\\" and text.startswith("\n", self.pos + 1):
                self.pos += 2
                self.line += 1
                continue
            if c == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
                continue
            if c == "\n":
                self.pos += 1
                self.line += 1
                return Token("NEWLINE", "\n", self.line - 1, self.pos - 1)
            if self.nested and c == ")" and self.depth == 0:
                return Token("CLOSE", ")", self.line, self.pos)
            for op in OPERATORS:
                if text.startswith(op, self.pos):
                    if op == "(":
                        self.depth += 1
                    elif op == ")":
                        self.depth -= 1
                    start = self.pos
                    self.pos += len(op)
                    return Token("OP", op, self.line, start)
            m = re.match(r"\d+(?=[<>])", text[self.pos:self.pos + 12])
            if m:
                start = self.pos
                self.pos += len(m.group())
                return Token("IO_NUMBER", int(m.group()), self.line, start)
            start, line = self.pos, self.line
            word = self._read_parts(stop=META, in_dq=False)
            return Token("WORD", word, line, start)

    def _read_parts(self, stop: set[str] | str, in_dq: bool) -> Word:
        """Read one word up to an unquoted character in `stop`."""
        text = self.text
        parts: Word = []

        def lit(s: str, quoted: bool) -> None:
            if parts and isinstance(parts[-1], Lit) and parts[-1].quoted == quoted and s:
                parts[-1].text += s
            else:
                parts.append(Lit(s, quoted))

        while self.pos < len(text):
            c = text[self.pos]
            if c in stop:
                break
            if c == "\\":
                nxt = text[self.pos + 1:self.pos + 2]
                if nxt == "\n":
                    self.pos += 2
                    self.line += 1
                elif not nxt:
                    lit("\\", True)
                    self.pos += 1
                elif in_dq and nxt not in '$`"\\}':
                    lit("\\", True)
                    self.pos += 1
                else:
                    lit(nxt, True)
                    self.pos += 2
            elif c == "'" and not in_dq:
                end = text.find("'", self.pos + 1)
                if end < 0:
                    raise ShSyntaxError("match", self.line, "'")
                chunk = text[self.pos + 1:end]
                self.line += chunk.count("\n")
                parts.append(Lit(chunk, True)) if not chunk else lit(chunk, True)
                self.pos = end + 1
            elif c == '"' and not in_dq:
                self.pos += 1
                parts.extend(self._read_dquoted())
            elif c == "$":
                part = self._read_dollar(quoted=in_dq)
                if isinstance(part, Lit):
                    lit(part.text, part.quoted)
                else:
                    parts.append(part)
            elif c == "`":
                parts.append(self._read_backtick(quoted=in_dq))
            else:
                if c == "\n":
                    self.line += 1
                lit(c, in_dq)
                self.pos += 1
        return parts

    def _read_dquoted(self) -> Word:
        text = self.text
        parts: Word = [Lit("", True)]  # "" is still a (empty) word
        while True:
            if self.pos >= len(text):
                raise ShSyntaxError("match", self.line, '"')
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                if len(parts) > 1 and parts[0].text == "":
                    parts.pop(0)  # only kept so that "" alone is an empty word
                return parts
            if c == "\\":
                nxt = text[self.pos + 1:self.pos + 2]
                if nxt == "\n":
                    self.pos += 2
                    self.line += 1
                    continue
                if nxt in ('$', '`', '"', '\\'):
                    self._append(parts, nxt)
                    self.pos += 2
                    continue
                self._append(parts, "\\")
                self.pos += 1
            elif c == "$":
                part = self._read_dollar(quoted=True)
                if isinstance(part, Lit):
                    self._append(parts, part.text)
                else:
                    parts.append(part)
            elif c == "`":
                parts.append(self._read_backtick(quoted=True))
            else:
                if c == "\n":
                    self.line += 1
                self._append(parts, c)
                self.pos += 1

    @staticmethod
    def _append(parts: Word, s: str) -> None:
        if parts and isinstance(parts[-1], Lit) and parts[-1].quoted:
            parts[-1].text += s
        else:
            parts.append(Lit(s, True))

    def _read_dollar(self, quoted: bool):
        text = self.text
        nxt = text[self.pos + 1:self.pos + 2]
        if nxt == "(":
            if text.startswith("((", self.pos + 1):
                raise Unsupported("arithmetic expansion $((...)) is", self.line)
            line = self.line
            sub = Lexer(text, self.pos + 2, self.line, nested=True)
            start = self.pos + 2
            while True:
                t = sub.next()
                if t.kind == "CLOSE":
                    break
                if t.kind == "EOF":
                    raise ShSyntaxError("match", sub.line, ")")
            self.pos = t.pos + 1
            self.line = sub.line
            return CmdSub(text[start:t.pos], quoted, line)
        if nxt == "{":
            return self._read_braced(quoted)
        if nxt and (nxt.isalpha() or nxt == "_"):
            m = NAME_RE.match(text, self.pos + 1)
            self.pos = m.end()
            return Param(m.group(), quoted)
        if nxt and (nxt.isdigit() or nxt in SPECIAL_PARAMS):
            self.pos += 2
            return Param(nxt, quoted)
        if nxt == "'" and not quoted:
            raise Unsupported("$'...' quoting is", self.line)
        self.pos += 1
        return Lit("$", quoted)

    def _read_braced(self, quoted: bool):
        text = self.text
        start = self.pos
        self.pos += 2
        length = False
        if text.startswith("#", self.pos) and not text.startswith("#}", self.pos):
            length = True
            self.pos += 1
        m = NAME_RE.match(text, self.pos)
        if m:
            name = m.group()
        elif self.pos < len(text) and (text[self.pos].isdigit() or text[self.pos] in SPECIAL_PARAMS):
            m2 = re.compile(r"\d+|.").match(text, self.pos)
            name = m2.group()
            m = m2
        else:
            end = text.find("}", self.pos)
            if end < 0:
                raise ShSyntaxError("match", self.line, "}")
            raise Unsupported(f"the expansion `{text[start:end + 1]}' is", self.line)
        self.pos = m.end()
        if text.startswith("}", self.pos):
            self.pos += 1
            return Param(name, quoted, length=length)
        if not length:
            for op in (":-", ":=", ":+", ":?", "-", "=", "+", "?"):
                if text.startswith(op, self.pos):
                    self.pos += len(op)
                    arg = self._read_parts(stop="}", in_dq=quoted)
                    if not text.startswith("}", self.pos):
                        raise ShSyntaxError("match", self.line, "}")
                    self.pos += 1
                    return Param(name, quoted, op=op, arg=arg)
        end = text.find("}", self.pos)
        if end < 0:
            raise ShSyntaxError("match", self.line, "}")
        raise Unsupported(f"the expansion `{text[start:end + 1]}' is", self.line)

    def _read_backtick(self, quoted: bool) -> CmdSub:
        text = self.text
        line = self.line
        i = self.pos + 1
        out = []
        while True:
            if i >= len(text):
                raise ShSyntaxError("match", self.line, "`")
            c = text[i]
            if c == "\\" and i + 1 < len(text) and text[i + 1] in "`$\\":
                out.append(text[i + 1])
                i += 2
                continue
            if c == "`":
                break
            if c == "\n":
                self.line += 1
            out.append(c)
            i += 1
        self.pos = i + 1
        return CmdSub("".join(out), quoted, line)


RESERVED_BAD = {"then", "else", "elif", "fi", "do", "done", "esac", "}", "in"}


RESERVED_UNSUPPORTED = {"if": "`if' compound commands are", "for": "`for' loops are",
                        "while": "`while' loops are", "until": "`until' loops are",
                        "case": "`case' statements are", "select": "`select' is",
                        "function": "function definitions are", "{": "`{ ...; }' groups are",
                        "[[": "`[[ ... ]]' tests are (use [ ... ])", "time": "`time' is",
                        "coproc": "`coproc' is"}


def literal_text(word: Word) -> str | None:
    """The text of a word made only of unquoted literal characters, else None."""
    if len(word) == 1 and isinstance(word[0], Lit) and not word[0].quoted:
        return word[0].text
    return None


_BRACE_RE = re.compile(r"\{[^{}\s]*,[^{}\s]*\}|\{(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])\}")


def _brace_expansion(word: Word) -> bool:
    """True if bash would brace-expand this word (only unquoted text counts)."""
    text = "".join(p.text if isinstance(p, Lit) and not p.quoted else "\0" for p in word)
    return bool(_BRACE_RE.search(text))


class Parser:
    def __init__(self, text: str):
        self.lx = Lexer(text)

    def _syntax(self, t: Token) -> ShSyntaxError:
        if t.kind == "EOF":
            return ShSyntaxError("eof", t.line)
        if t.kind == "NEWLINE":
            return ShSyntaxError("token", t.line, "newline")
        if t.kind == "WORD":
            return ShSyntaxError("token", t.line, literal_text(t.value) or "word")
        if t.kind == "IO_NUMBER":
            return ShSyntaxError("token", t.line, str(t.value))
        return ShSyntaxError("token", t.line, str(t.value))

    def _is_op(self, t: Token, *ops: str) -> bool:
        return t.kind == "OP" and t.value in ops

    def _linebreak(self) -> None:
        while self.lx.peek().kind == "NEWLINE":
            self.lx.next()

    def parse_command_line(self) -> CommandList | None:
        """The next complete command (bash runs each before it parses the next line)."""
        self._linebreak()
        if self.lx.peek().kind == "EOF":
            return None
        node = self._list()
        t = self.lx.peek()
        if t.kind == "NEWLINE":
            self.lx.next()
        elif t.kind != "EOF":
            raise self._syntax(t)
        return node

    def _list(self) -> CommandList:
        items = [self._and_or()]
        while self._is_op(self.lx.peek(), ";", "&"):
            t = self.lx.next()
            if t.value == "&":
                raise Unsupported("background jobs (&) are", t.line)
            nxt = self.lx.peek()
            if nxt.kind in ("NEWLINE", "EOF"):
                break
            items.append(self._and_or())
        return CommandList(items)

    def _and_or(self) -> AndOr:
        first = self._pipeline()
        rest = []
        while self._is_op(self.lx.peek(), "&&", "||"):
            op = self.lx.next().value
            self._linebreak()
            rest.append((op, self._pipeline()))
        return AndOr(first, rest)

    def _pipeline(self) -> Pipeline:
        negate = False
        t = self.lx.peek()
        if t.kind == "WORD" and literal_text(t.value) == "!":
            self.lx.next()
            negate = True
        cmds = [self._command()]
        errs = []
        while self._is_op(self.lx.peek(), "|", "|&"):
            errs.append(self.lx.next().value == "|&")
            self._linebreak()
            cmds.append(self._command())
        errs.append(False)
        return Pipeline(cmds, errs, negate)

    def _command(self) -> Simple:
        t = self.lx.peek()
        if self._is_op(t, "("):
            raise Unsupported("subshells ( ... ) are", t.line)
        if t.kind == "WORD":
            w = literal_text(t.value)
            if w in RESERVED_BAD:
                raise ShSyntaxError("token", t.line, w)
            if w in RESERVED_UNSUPPORTED:
                raise Unsupported(RESERVED_UNSUPPORTED[w], t.line)
        line = t.line
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            t = self.lx.peek()
            if t.kind == "WORD":
                self.lx.next()
                a = self._assignment(t.value) if not words else None
                if a:
                    assigns.append(a)
                else:
                    if _brace_expansion(t.value):
                        raise Unsupported("brace expansion ({a,b} or {1..3}) is", t.line)
                    words.append(t.value)
                    if len(words) == 1 and self._is_op(self.lx.peek(), "("):
                        raise Unsupported("function definitions are", t.line)
            elif t.kind == "IO_NUMBER":
                self.lx.next()
                op = self.lx.next()
                redirects.append(self._redirect(op, t.value))
            elif t.kind == "OP" and t.value in REDIRECT_OPS:
                self.lx.next()
                redirects.append(self._redirect(t, None))
            else:
                break
        if not (assigns or words or redirects):
            raise self._syntax(t)
        return Simple(assigns, words, redirects, line)

    @staticmethod
    def _assignment(word: Word) -> tuple[str, Word] | None:
        if not word or not isinstance(word[0], Lit) or word[0].quoted:
            return None
        m = ASSIGN_RE.match(word[0].text)
        if not m:
            return None
        rest = word[0].text[m.end():]
        value: Word = ([Lit(rest, False)] if rest else []) + list(word[1:])
        return m.group(1), value

    def _redirect(self, op: Token, fd: int | None) -> Redirect:
        if op.kind != "OP" or op.value not in REDIRECT_OPS:
            raise self._syntax(op)
        if op.value == "<<":
            raise Unsupported("here-documents (<<) are", op.line)
        if op.value == "<>":
            raise Unsupported("<> redirections are", op.line)
        target = self.lx.next()
        if self._is_op(target, "(") and op.value in ("<", ">"):
            raise Unsupported("process substitution <(...) is", op.line)
        if target.kind != "WORD":
            raise self._syntax(target)
        if fd is None:
            fd = 0 if op.value in ("<", "<&", "<<<") else 1
        return Redirect(fd, op.value, target.value)
