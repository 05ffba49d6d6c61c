"""The one redactor: what every output of etcd-dr passes through before anyone can read it.

stdout (headless progress, `etcd-dr status`, error messages), the journal, reports and the
console's panes all call `redact` (values) or `redact_text` (one string); a line-by-line
stream (a host's pane) uses a `StreamRedactor`, which remembers that it is inside a private
key block from one line to the next.

Two nets, applied in this order:

1. Values registered as secrets (`register`, and the per-journal / per-command secrets
   passed in): replaced wherever they appear, in any shape no pattern knows. The registry
   is process-wide: the inventory's etcdctl prefix (`register_inventory`) and the cluster's
   proxy URLs (`register_proxy`) put their credentials there when they are read, in their
   raw, percent-decoded, percent-encoded, shell-quoted and JSON-escaped forms. A value of
   4 characters or more is replaced wherever it appears; a value of 2 or 3 characters only
   where it stands alone as a whole token (not inside a longer word: a password "ab" must
   not turn "tab" into "t<redacted>"); a single character is never looked for by value (it
   would redact every word that contains it). The patterns below still catch short
   secrets in every shape they know (`--password x`, `scheme://user:x@host`).
2. Shapes of secrets, whoever wrote them: URL userinfo (`scheme://user:pass@host`,
   `scheme://token@host`; the userinfo ends at the last '@' before the host, so a password
   may hold '/', '@', ':', spaces or percent-escapes), `--password`/`--token`/`--secret`
   flags (`--flag X` and `--flag=X`) and `--user u:p`, `Authorization:` headers and bearer
   tokens, JWTs, OpenShift `sha256~` tokens, private key blocks (an unterminated block is
   redacted to the end of the text), kubeconfig `*-data` fields, `*_SECRET*`, `*_TOKEN*`,
   `*PASSWORD*`, `*_KEY` assignments (a `*_KEY` whose value is an absolute path names a key
   file and is kept), JSON/YAML `"password": "..."` and a few well-known token formats.

A value is redacted in full, quotes and spaces included: an unquoted `password: a b` loses
the rest of its line; a quoted one its whole quoted string. Host names, paths, step IDs,
member IDs, revisions and hex checksums are not secrets and stay.

Redaction is idempotent (`redact_text(redact_text(x)) == redact_text(x)`): the runner
compares a command as the journal has it with the command redacted again.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
from typing import Any, Iterable
from urllib.parse import quote, unquote

REDACTED = "<redacted>"
MIN_LENGTH = 4  # shorter registered values are replaced as whole tokens only (2-3 chars)
MIN_TOKEN_LENGTH = 2

# --- the registry ---------------------------------------------------------------------------

_lock = threading.Lock()
_registered: set[str] = set()
_version = 0  # bumped on every change: the compiled patterns follow it
_compiled: tuple[int, "re.Pattern | None", "re.Pattern | None"] = (0, None, None)


def forms(value: str) -> set[str]:
    """The shapes a secret value takes in our outputs: raw, percent-decoded and -encoded,
    shell-quoted (sh -c inside sudo quotes once more: the raw form covers what is inside),
    JSON-escaped."""
    out = {value}
    try:
        out.add(unquote(value, errors="strict"))
    except UnicodeDecodeError:
        pass
    out.add(quote(value, safe=""))
    out.add(quote(value, safe="!$&'()*+,;=:"))  # how userinfo is usually encoded
    out.add(shlex.quote(value))
    out.add(json.dumps(value, ensure_ascii=False)[1:-1])
    out.add(json.dumps(value)[1:-1])
    return {v for v in out if v and len(v) >= MIN_TOKEN_LENGTH}


def register(*values: str) -> None:
    """Never show these values (and their usual encodings) in any output of this process."""
    added = set()
    for value in values:
        if isinstance(value, str) and len(value.strip()) >= MIN_TOKEN_LENGTH \
                and value != REDACTED:
            added |= forms(value)
    global _version
    if added:
        with _lock:
            if not added <= _registered:
                _registered.update(added)
                _version += 1


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_registered)


def forget_all() -> None:
    """Empty the registry (tests; a process that opens another cluster)."""
    global _version
    with _lock:
        _registered.clear()
        _version += 1


def url_credentials(url: str) -> list[str]:
    """The secret parts of a URL's userinfo: the password (or the user alone when it is the
    only part: a token), raw and percent-decoded. '@' in a password may be unescaped: the
    userinfo ends at the last '@' before the host."""
    text = str(url).strip()
    scheme = text.find("://")
    rest = text[scheme + 3:] if scheme >= 0 else text
    # the authority ends at the first '/', '?' or '#' after the last '@' (a password may
    # contain '/'); without '@' there is no userinfo
    at = rest.rfind("@")
    if at < 0:
        return []
    userinfo = rest[:at]
    if not userinfo:
        return []
    user, colon, password = userinfo.partition(":")
    if not colon and "/" in user:
        return []  # scheme://host/path@x: an '@' in the path, no userinfo
    secrets = [password] if colon else [user]
    if colon and len(password) < MIN_TOKEN_LENGTH:
        secrets.append(userinfo)  # a very short password: the user:password pair at least
    out = []
    for s in secrets:
        if s:
            out.append(s)
            decoded = unquote(s)
            if decoded != s:
                out.append(decoded)
    return out


def register_url(url: str) -> None:
    register(*url_credentials(url))


def register_proxy(proxy: dict | None) -> None:
    """The cluster's proxy (HTTP_PROXY/HTTPS_PROXY/NO_PROXY values, or the proxy object's
    httpProxy/httpsProxy fields): their URL credentials become secrets by value."""
    for key, value in (proxy or {}).items():
        if isinstance(value, str) and key != "unknown":
            for part in value.split(","):
                register_url(part)


_SECRET_FLAGS = re.compile(r"^--?(?:[\w-]*-)?(?:password|passwd|pass|token|secret|api-?key)$",
                           re.I)


def prefix_secrets(prefix: str) -> list[str]:
    """Secret values in a shell fragment the operator wrote (the inventory's etcdctl prefix):
    --password/--token/--secret values, the password of --user u:p, NAME=VALUE assignments
    with secret-like names, URL credentials."""
    try:
        words = shlex.split(prefix)
    except ValueError:  # unbalanced quotes: split on spaces, the patterns still apply
        words = prefix.split()
    out: list[str] = []
    for i, word in enumerate(words):
        name, eq, value = word.partition("=")
        following = words[i + 1] if i + 1 < len(words) else ""
        if _SECRET_FLAGS.match(name):
            out.append(value if eq else following)
        elif name in ("--user", "-u"):
            pair = value if eq else following
            if ":" in pair:
                out.append(pair.split(":", 1)[1])
        elif eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            if re.search(r"USER$", name, re.I) and ":" in value:
                out.append(value.split(":", 1)[1])
            elif _secret_name(name) and not _kept_value(name, value):
                out.append(value)
        if "://" in word:
            for part in word.split(","):
                out.extend(url_credentials(part))
    return [s for s in out if s]


def register_inventory(inventory) -> None:
    """Secrets an inventory holds: today, only in its etcdctl prefix."""
    prefix = getattr(inventory, "etcdctl", "") or ""
    register(*prefix_secrets(prefix))


# --- the patterns ---------------------------------------------------------------------------

# a shell word: quoted parts (an unterminated quote runs to the end), escapes, plain chars
_WORD = r"""(?:'[^']*(?:'|\Z)|"(?:\\.|[^"\\])*(?:"|\Z)|\\.|[^\s'"`;|&()])+"""
_WORD_RE = re.compile(_WORD)

_PEM = re.compile(r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY)(?:-----)?(.*?)"
                  r"(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S)
PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY")
PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")

# scheme://userinfo@host. Two shapes: user:password (the user has no '/' or ':'; the password
# runs to the LAST '@' before the host, never past another URL, a newline or the end of a
# JSON string) and a lone token (no ':' or '/'; it may hold '@').
_URL = re.compile(
    r"""(?i)\b([a-z][a-z0-9+.\-]*://)"""
    r"""(?:([^/:\s'"<>]*):((?:\\["\\]|"(?!\s*[,:}\]]|\s*\Z)|(?!://)[^\n\r"])*)"""
    r"""|([^/:\s'"<>@]+(?:@[^/:\s'"<>@]+)*))@""")
_PORT = re.compile(r"\d{1,5}(?:[/\s]|\Z)")
_HOST_LIKE = re.compile(r"(?i)(?:[a-z0-9-]+\.)+[a-z0-9-]+|localhost|\[[0-9a-f:.]+\]")

# a flag inside a quoted word ('--password=a b') takes the rest of that quoted word
_IN_QUOTES = r"(?(1)(?:(?!\1)[^\n])+|" + _WORD + r")"
_FLAG = re.compile(r"(?i)(?<![\w-])(['\"])?(--?(?:[\w-]*-)?(?:password|passwd|pass|token|"
                   r"secret|api-?key))(=|[ \t]+)(" + _IN_QUOTES + r")")
_USER = re.compile(r"(?<![\w-])(['\"])?(--user(?:=|[ \t]+)|[A-Z][A-Z0-9_]*_USER=)("
                   + _IN_QUOTES + r")")

_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}")

# a secret-like key, then ':' or '=', then its value
_NAME_PARTS = (r"password|passwd|passphrase|secret|token|credential|api[_-]?key|"
               r"private[_-]?key|access[_-]?key|client-key-data|client-certificate-data|"
               r"certificate-authority-data")
_EXACT_NAMES = ("auth", "pass", "pwd", "authorization", "proxy-authorization")
_KEY = re.compile(
    r"""(?<![\w.\-/])(["']?)((?i:[\w.\-]*(?:""" + _NAME_PARTS + r""")[\w.\-]*"""
    r"""|""" + "|".join(_EXACT_NAMES) + r""")|[A-Z0-9_]*_KEY)\1"""
    r"""([ \t]*[:=][ \t]*)([^\n]*)""")
_KEPT_SUFFIX = re.compile(r"(?i)(?:file|path|dir|name|names|ref|type|kind|count|url|id|ids|"
                          r"length|ttl|expiry|expiration|seconds|mode|endpoint)$")
_QUOTED = re.compile(r"""("(?:\\.|[^"\\])*(?:"|\Z)|'[^'\n]*(?:'|\Z))""")

_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
_OPENSHIFT_TOKEN = re.compile(r"sha256~[A-Za-z0-9_\-]{8,}")
_WELL_KNOWN = re.compile(r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|"
                         r"xox[abprs]-[A-Za-z0-9\-]{10,}|glpat-[A-Za-z0-9_\-]{20,})\b")


def _secret_name(name: str) -> bool:
    low = name.lower().strip("-")
    if low in _EXACT_NAMES:
        return True
    if re.search(_NAME_PARTS, low) is None and not re.search(r"[A-Z0-9]_KEY$", name):
        return False
    return not _KEPT_SUFFIX.search(low)


def _kept_value(name: str, value: str) -> bool:
    """A *_KEY=/abs/path names a key file (ETCDCTL_KEY=/etc/kubernetes/...): kept."""
    upper = name.upper()
    return upper.endswith("KEY") and "SECRET" not in upper and "PRIVATE" not in upper \
        and value.strip("'\" ").startswith("/")


def _trailing_quotes(value: str) -> str:
    return value[len(value.rstrip("'\"")):]


def _sub_pem(m: re.Match) -> str:
    return f"{m.group(1)}-----{REDACTED}{m.group(3)}"


def _sub_url(m: re.Match) -> str:
    scheme, user, password = m.group(1), m.group(2), m.group(3)
    if user is not None and _PORT.match(password) and _HOST_LIKE.fullmatch(user) \
            and re.search(r"[/\s]", password):
        return m.group(0)  # host:8080/path?mail=a@b: a port and a path, not a password
    return f"{scheme}{REDACTED}@"


def _done(value: str) -> bool:
    """Already redacted (by an earlier pass, or a first redaction: idempotence), perhaps
    followed by the quotes the value stood in."""
    return value == REDACTED or (value.startswith(REDACTED)
                                 and value[len(REDACTED)] in "'\"")


def _sub_flag(m: re.Match) -> str:
    if _done(m.group(4)):
        return m.group(0)
    return f"{m.group(1) or ''}{m.group(2)}{m.group(3)}{REDACTED}"


def _sub_user(m: re.Match) -> str:
    value = m.group(3)
    bare = value.strip("'\"")
    if ":" not in bare or _done(value.split(":", 1)[1].rstrip("'\"") or "x"):
        return m.group(0)
    return f"{m.group(1) or ''}{m.group(2)}{value[:value.index(':') + 1]}{REDACTED}" \
        f"{_trailing_quotes(value)}"


def _sub_key(m: re.Match) -> str:
    quote_char, name, sep, value = m.group(1), m.group(2), m.group(3), m.group(4)
    if not _secret_name(name) or not value.strip():
        return m.group(0)
    rest = ""
    line_start = not m.string[m.string.rfind("\n", 0, m.start()) + 1:m.start()].strip()
    if sep == "=" and line_start:
        pass  # NAME=VALUE alone on its line (`env`, a .env file): the value is the line's rest
    elif sep == "=":  # NAME=VALUE in a command line: a shell word
        word = _WORD_RE.match(value)
        if word is None:
            return m.group(0)
        value, rest = value[:word.end()], value[word.end():]
    else:  # "key": "value", key: 'value', or key: the rest of the line
        quoted = _QUOTED.match(value)
        # (a single-quoted YAML value escapes ' as '': then it runs to the end of the line)
        if quoted is not None and not value[quoted.end():].startswith("'"):
            value, rest = value[:quoted.end()], value[quoted.end():]
    if _kept_value(name, value):
        return m.group(0)
    if value[:1] in "\"'" and len(value) > 1 and value.endswith(value[0]):
        shown = value[0] + REDACTED + value[0]
    else:
        shown = REDACTED
    return f"{quote_char}{name}{quote_char}{sep}{shown}" + (_KEY.sub(_sub_key, rest) if rest
                                                           else "")


# (trigger substrings of the lower-cased text, pattern, replacement): a pattern runs only
# when one of its triggers is in the text (most output lines have none: one `in` each)
_PASSES = (
    (("private key",), _PEM, _sub_pem),
    (("://",), _URL, _sub_url),  # (and an '@': see redact_text)
    (("pass", "token", "secret", "key"), _FLAG, _sub_flag),
    (("user",), _USER, _sub_user),
    (("bearer",), _BEARER, lambda m: m.group(1) + REDACTED),
    (("pass", "secret", "token", "auth", "cred", "key", "pwd"), _KEY, _sub_key),
    (("eyj",), _JWT, lambda m: REDACTED),
    (("sha256~",), _OPENSHIFT_TOKEN, lambda m: REDACTED),
    (("akia", "gh", "xox", "glpat-"), _WELL_KNOWN, lambda m: REDACTED),
)


def _value_patterns(values: frozenset) -> tuple["re.Pattern | None", "re.Pattern | None"]:
    long = sorted((v for v in values if len(v) >= MIN_LENGTH), key=len, reverse=True)
    short = sorted((v for v in values if MIN_TOKEN_LENGTH <= len(v) < MIN_LENGTH),
                   key=len, reverse=True)
    anywhere = re.compile("|".join(map(re.escape, long))) if long else None
    whole = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, short))
                       + r")(?![A-Za-z0-9])") if short else None
    return anywhere, whole


def _registry_patterns() -> tuple["re.Pattern | None", "re.Pattern | None"]:
    global _compiled
    compiled = _compiled
    if compiled[0] != _version:  # rare: a value was registered since the last build
        with _lock:
            compiled = _compiled = (_version, *_value_patterns(frozenset(_registered)))
    return compiled[1], compiled[2]


def _replace_values(text: str, patterns: Iterable["re.Pattern | None"]) -> str:
    active = [p for p in patterns if p is not None]
    if not active:
        return text
    # never inside an earlier <redacted>: a secret "dact" must not eat the marker
    pieces = text.split(REDACTED)
    for p in active:
        pieces = [p.sub(REDACTED, piece) for piece in pieces]
    return REDACTED.join(pieces)


def _extra_patterns(secrets: Iterable[str]) -> tuple["re.Pattern | None", "re.Pattern | None"]:
    if not secrets:
        return None, None
    values: set[str] = set()
    for s in secrets:
        if isinstance(s, str) and len(s) >= MIN_TOKEN_LENGTH and s != REDACTED:
            values |= forms(s)
    return _value_patterns(frozenset(values)) if values else (None, None)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret it holds replaced by <redacted>."""
    if not text:
        return text
    text = _replace_values(text, (*_registry_patterns(), *_extra_patterns(secrets)))
    low = text.lower()
    for triggers, pattern, replacement in _PASSES:
        if any(map(low.__contains__, triggers)) and (pattern is not _URL or "@" in text):
            new = pattern.sub(replacement, text)
            if new != text:
                text, low = new, new.lower()
    return text


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A value (str, or dicts/lists/tuples of them) with every secret redacted; a dict entry
    whose key is secret-like ("password", "token", "client-key-data"...) loses its string
    value whatever it looks like."""
    secrets = tuple(secrets)
    return _redact(value, secrets)


def _redact(value: Any, secrets: tuple) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and isinstance(v, str) and v and _secret_name(k) \
                    and not _kept_value(k, v):
                out[k] = REDACTED
            else:
                out[k] = _redact(v, secrets)
        return out
    if isinstance(value, (list, tuple)):
        return [_redact(v, secrets) for v in value]
    return value


class StreamRedactor:
    """Redacts a stream line by line (a host's pane): a private key block that begins on
    one line is redacted on the following lines too, until its END line."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = tuple(secrets)
        self.in_key = False

    def line(self, line: str) -> str:
        if self.in_key:
            end = PEM_END.search(line)
            if end is None:
                return REDACTED
            self.in_key = False
            return REDACTED + redact_text(line[end.start():], self.secrets)
        begin = PEM_BEGIN.search(line)
        if begin is not None and PEM_END.search(line, begin.end()) is None:
            self.in_key = True
        return redact_text(line, self.secrets)

    def lines(self, lines: Iterable[str]) -> list[str]:
        return [self.line(line) for line in lines]


class RedactingWriter:
    """A text stream (stdout, stderr, a file) that redacts every line written to it. Lines
    are held until their newline, so a secret split over two write() calls is still seen
    whole; flush() writes out a pending partial line (redacted as it stands)."""

    def __init__(self, stream, secrets: Iterable[str] = ()):
        self.stream = stream
        self._redactor = StreamRedactor(secrets)
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            self.stream.write("".join(self._redactor.line(line) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.stream.write(self._redactor.line(self._pending))
            self._pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return getattr(self.stream, "isatty", lambda: False)()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
