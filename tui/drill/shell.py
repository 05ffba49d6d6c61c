"""The drill hosts' shell: bash as an operator meets it over `ssh core@node 'command'`.

Each SSH exec request's command string goes to `run_script`, which tokenizes, parses and runs
it against the DrillHost model, never the real machine. The language is the subset the
recovery procedures and operators use: quoting, `$VAR`/`${VAR}`/`$?`, `$(...)`, pipelines,
`;`/`&&`/`||`/newlines, `NAME=value cmd`, redirections and `*` globs. Everything else
(if/for/while, functions, subshells, background jobs, here-documents) fails with a clear
message instead of silently doing nothing. Errors read as bash's own do: same text, same
exit status, because operators who train here must recognise them on a real node.

Each program run holds an entry in its host's process table (tui.drill.processes) while it
runs, so `pgrep -f` sees it. Pipeline stages run one after the other, except a final `tee`,
which takes the stage before it's output as it comes. A write to an SSH client that has gone
kills the writing program with SIGPIPE (status 141; the shell itself for its builtins), as on
a real host, while a program that does not write runs to its end.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from dataclasses import dataclass, field

from tui.drill import controllers, kubelet, processes
from tui.drill.commands.files import TeeStream
from tui.drill.commands.scripts import SCRIPTS
from tui.drill.expansion import Expansion, ExpansionError
from tui.drill.model import Container, DrillCluster, DrillHost
from tui.drill.programs import (BufferWriter, NullWriter, Writer, 
    COMMANDS,
    NOT_SIMULATED,
    SIGPIPE_STATUS,
    CommandContext,
    ExitShell,
    Input,
    SigPipe,
    UsageError,
    command_for_path,
)
from tui.drill.shsyntax import (
    AndOr,
    CommandList,
    Lit,
    Parser,
    Pipeline,
    Redirect,
    ShSyntaxError,
    Simple,
    Unsupported,
    literal_text,
)
from tui.drill.vfs import EACCES, EISDIR, FsError, Vfs


CORE_PATH = "/home/core/.local/bin:/home/core/bin:/usr/local/bin:/usr/bin:/usr/local/sbin:/usr/sbin"


def default_env(host: DrillHost, user: str = "core") -> dict[str, str]:
    """The environment sshd gives `core` for an exec request on RHCOS."""
    home = "/root" if user == "root" else f"/home/{user}"
    return {"HOME": home, "USER": user, "LOGNAME": user, "SHELL": "/bin/bash",
            "PATH": CORE_PATH, "HOSTNAME": host.name, "LANG": "C.UTF-8",
            "MAIL": f"/var/spool/mail/{user}", "SHLVL": "1"}


@dataclass
class ShellSession:
    cluster: DrillCluster
    host: DrillHost
    stdout: Writer
    stderr: Writer
    env: dict[str, str]  # exported variables; starts with HOME, USER=core, PATH, ...
    user: str = "core"  # "root" under sudo
    cwd: str = "/home/core"
    tty: bool = False  # the SSH client asked for a pty (crictl exec -t needs one)
    container: Container | None = None  # set for commands run by `crictl exec`
    fs: DrillHost | None = None  # the filesystem commands see; None = the host's
    vars: dict[str, str] = field(default_factory=dict)  # shell variables, not exported

    # What a program may ask of the shell that runs it (the programs sit below the shell and
    # reach it only through their session): its filesystem, a shell, another program.

    @property
    def vfs(self) -> Vfs:
        return Vfs.for_session(self)

    def shell(self, *, name: str = "bash", origin: str = "-c", args: list[str] | None = None,
              stdin: Input | None = None) -> "Interp":
        """A new shell in this session (bash -c, sh FILE, a sourced file)."""
        return Interp(self, name=name, origin=origin, args=args, stdin=stdin)

    def find_program(self, name: str, env: dict[str, str], *,
                     shell_builtins: bool) -> "Found | None":
        return find_program(self, name, env, shell_builtins=shell_builtins)

    async def run_program(self, argv: list[str], env: dict[str, str], stdin, stdout, stderr,
                          **options) -> int | None:
        return await run_program(self, argv, env, stdin, stdout, stderr, **options)


async def run_script(script: str, session: ShellSession, stdin: str = "") -> int:
    """Run `script` as `bash -c` would on the host; returns the exit status."""
    _sync(session.cluster)
    interp = Interp(session, name="bash", origin="-c", stdin=Input(stdin))
    procs = processes.table(session.host)
    proc = procs.start(["bash", "-c", script], session.user, session.cluster.clock.now())
    status = None
    try:
        status = await interp.run(script)
        return status
    finally:
        procs.end(proc, status, session.cluster.clock.now())


def _sync(cluster: DrillCluster) -> None:
    kubelet.sync_cluster(cluster)
    controllers.tick(cluster)  # machines, rollouts, CSRs: what the cluster did meanwhile


# --- errors and builtins (the syntax is tui.drill.shsyntax) ----------------------------------


# bash runs these itself: a SIGPIPE while one writes kills the shell, not a child process
BASH_BUILTINS = frozenset({"echo", "printf", "true", "false", "pwd", "cd", "export", "unset",
                           "exit", "set", "shift", "eval", "source", ".", "exec", "command",
                           "type", "test", "[", "read", ":"})


# builtins that only print or return a status: the cluster has nothing to catch up on after
# them (a batch's markers are two printfs per command: tui/fleet/batch.py)
TEXT_BUILTINS = frozenset({"echo", "printf", "true", "false", ":"})


# --- interpreter ----------------------------------------------------------------------------


class _FileOut:
    """Output redirected to a file: written to the model when the command ends."""

    def __init__(self, vfs, path: str):
        self.vfs = vfs
        self.path = path
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        if self.parts:

            try:
                self.vfs.write(self.path, "".join(self.parts).encode(), append=True)
            except FsError:
                pass
            self.parts.clear()


def sh_quote(arg: str) -> str:
    """How bash's `set -x` and sudo show an argument."""
    if arg and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


# a script's parse depends on its text alone: the same few scripts (a status look's etcdctl,
# a hundred clusters over) are parsed once, not at every run. Long texts (a heredoc with a
# file's content) are parsed each time rather than kept.
PARSE_CACHE_TEXT_MAX = 16 * 1024


def parsed(text: str) -> tuple[tuple[CommandList, ...], ShSyntaxError | Unsupported | None]:
    """The script's complete commands in order, and the error its parse stops at (None at
    the end of the text). The nodes are never changed by running them."""
    if len(text) > PARSE_CACHE_TEXT_MAX:
        return _parse(text)
    return _parse_cached(text)


def _parse(text: str) -> tuple[tuple[CommandList, ...], ShSyntaxError | Unsupported | None]:
    parser = Parser(text)
    nodes: list[CommandList] = []
    try:
        while (node := parser.parse_command_line()) is not None:
            nodes.append(node)
    except (ShSyntaxError, Unsupported) as e:
        e.__traceback__ = None  # kept in the cache: no frames held with it
        return tuple(nodes), e
    return tuple(nodes), None


_parse_cached = functools.lru_cache(maxsize=2048)(_parse)


class Interp(Expansion):
    """One running shell (bash -c, sh -c, a script file, or a command substitution)."""

    def __init__(self, session: ShellSession, *, name: str = "bash", origin: str = "-c",
                 args: list[str] | None = None, stdin=None):
        self.s = session
        self.name = name  # $0: prefixes runtime messages
        self.origin = origin  # "-c", or the script's path
        self.positional = list(args or [])
        self.stdin = stdin if stdin is not None else Input("")
        self.status = 0
        self.line = 1
        self.errexit = False
        self.nounset = False
        self.pipefail = False
        self.xtrace = False
        self._cmdsub_status: int | None = None
        self.exited = False  # `exit` (or set -e) ended this shell

    # -- messages

    def prefix(self, line: int | None = None) -> str:
        line = self.line if line is None else line
        if self.origin == "-c":
            return f"{self.name}: line {line}: "
        return f"{self.origin}: line {line}: "

    def _syntax_prefix(self, line: int) -> str:
        if self.origin == "-c":
            return f"{self.name}: -c: line {line}: "
        return f"{self.origin}: line {line}: "

    def _report_syntax(self, e: ShSyntaxError, text: str) -> None:
        p = self._syntax_prefix
        if e.kind == "token":
            lines = text.split("\n")
            src = lines[e.line - 1] if 0 < e.line <= len(lines) else ""
            self.s.stderr.write(f"{p(e.line)}syntax error near unexpected token `{e.token}'\n"
                                f"{p(e.line)}`{src}'\n")
        elif e.kind == "match":
            self.s.stderr.write(f"{p(e.line)}unexpected EOF while looking for matching "
                                f"`{e.token}'\n{p(e.line + 1)}syntax error: unexpected end of file\n")
        else:
            self.s.stderr.write(f"{p(e.line)}syntax error: unexpected end of file\n")

    # -- running

    async def run(self, text: str) -> int:
        nodes, error = parsed(text)
        try:
            # bash parses a command, runs it, then parses the next: a syntax error is
            # reported after the commands before it ran, and so it is here
            for node in nodes:
                await self.exec_list(node)
            if isinstance(error, ShSyntaxError):
                self._report_syntax(error, text)
                self.status = 2
                return 2
            if isinstance(error, Unsupported):
                self.s.stderr.write(f"{self._syntax_prefix(error.line)}{error.what} not "
                                    "supported by the drill shell\n")
                self.status = 2
                return 2
        except ExitShell as e:
            self.status = e.code
            self.exited = True
        except SigPipe:  # this shell wrote to a reader that is gone (a builtin's output)
            self.status = SIGPIPE_STATUS
            self.exited = True
        return self.status

    async def exec_list(self, node: CommandList) -> int:
        for item in node.items:
            await self.exec_and_or(item)
        return self.status

    async def exec_and_or(self, node: AndOr) -> int:
        status = await self.exec_pipeline(node.first)
        checked = bool(node.rest) or node.first.negate
        for i, (op, pl) in enumerate(node.rest):
            if (op == "&&") == (status == 0):
                status = await self.exec_pipeline(pl)
                checked = i < len(node.rest) - 1 or pl.negate
            else:
                checked = True
        self.status = status
        # set -e ignores failures that are tested by && / || or negated with !
        if self.errexit and status != 0 and not checked:
            raise ExitShell(status)
        return status

    async def exec_pipeline(self, pl: Pipeline) -> int:
        if len(pl.commands) == 1:
            status = await self.exec_simple(pl.commands[0], self.stdin, self.s.stdout,
                                            self.s.stderr)
        else:
            # stages run one after the other; each reads what the previous one wrote. A
            # final `tee` runs alongside the stage before it (its output, and its files,
            # follow that stage's output as it comes, as a real pipe's reader does)
            tee = await self._live_tee(pl.commands[-1])
            stages = pl.commands[:-1] if tee else pl.commands
            inp = self.stdin
            statuses = []
            try:
                for i, cmd in enumerate(stages):
                    last = i == len(stages) - 1
                    if last and tee is not None:
                        out = tee[0]
                        err = out if pl.pipe_stderr[i] else self.s.stderr
                    else:
                        out = self.s.stdout if last else BufferWriter()
                        err = out if pl.pipe_stderr[i] and not last else self.s.stderr
                    statuses.append(await self.exec_simple(cmd, inp, out, err))
                    if not last:
                        inp = Input(out.getvalue())
            finally:
                if tee is not None:
                    statuses.append(tee[1]())
            status = statuses[-1]
            if self.pipefail:
                status = next((s for s in reversed(statuses) if s), 0)
        if pl.negate:
            status = 0 if status else 1
        self.status = status
        return status

    async def _live_tee(self, cmd: Simple):
        """(writer, finish) for a pipeline's last stage when it is a plain `tee ...`, else
        None (then it runs as any other stage, after the one before it)."""
        if cmd.assigns or cmd.redirects or not cmd.words or \
                literal_text(cmd.words[0]) not in ("tee", "/usr/bin/tee", "/bin/tee"):
            return None
        found = find_program(self.s, literal_text(cmd.words[0]), self.s.env, shell_builtins=True)
        if found is None or found.kind != "command" or \
                getattr(found.command, "name", "") != "tee" or "tee" in NOT_SIMULATED:
            return None
        try:
            argv: list[str] = []
            for w in cmd.words:
                argv.extend(await self.expand_fields(w))
        except ExpansionError:
            return None
        ctx = CommandContext(session=self.s, stdin=Input(""), stdout=self.s.stdout,
                             stderr=self.s.stderr, env=dict(self.s.env), shell_name=self.name,
                             line=cmd.line, interp=self)
        try:
            stream = TeeStream(ctx, argv)
        except UsageError:
            return None  # run as a stage: tee prints its usage error itself
        procs = processes.table(self.s.host)
        proc = procs.start(argv, self.s.user, self.s.cluster.clock.now())

        def finish() -> int:
            status = stream.finish()
            procs.end(proc, status, self.s.cluster.clock.now())
            self.line = cmd.line
            return status

        return stream, finish

    async def exec_simple(self, cmd: Simple, stdin, stdout, stderr) -> int:
        self.line = cmd.line
        self._cmdsub_status = None
        try:
            argv: list[str] = []
            for w in cmd.words:
                argv.extend(await self.expand_fields(w))
            assigns = [(n, await self.expand_string(w)) for n, w in cmd.assigns]
        except ExpansionError as e:
            stderr.write(e.message)
            if e.fatal:
                raise ExitShell(1)
            self.status = 1
            return 1
        if self.xtrace:
            shown = [f"{n}={sh_quote(v)}" for n, v in assigns] + [sh_quote(a) for a in argv]
            stderr.write("+ " + " ".join(shown) + "\n")

        fds: dict[int, object] = {0: stdin, 1: stdout, 2: stderr}
        opened: list[_FileOut] = []
        vfs = Vfs.for_session(self.s)
        try:
            for r in cmd.redirects:
                try:
                    targets = await self.expand_fields(r.target)
                except ExpansionError as e:
                    fds[2].write(e.message)
                    return 1
                if r.op == "<<<":
                    fds[0] = Input(await self.expand_string(r.target) + "\n")
                    continue
                if len(targets) != 1:
                    raw = "".join(p.text if isinstance(p, Lit) else "$" + getattr(p, "name", "(...)")
                                  for p in r.target)
                    fds[2].write(f"{self.prefix()}{raw}: ambiguous redirect\n")
                    return 1
                target = targets[0]
                if r.op in (">&", "<&") and (target.isdigit() or target == "-"):
                    if target == "-":
                        fds[r.fd] = NullWriter() if r.fd else Input("")
                        continue
                    src = int(target)
                    if src not in fds:
                        fds[2].write(f"{self.prefix()}{src}: Bad file descriptor\n")
                        return 1
                    fds[r.fd] = fds[src]
                    continue
                if r.op == ">&" and r.fd == 1:
                    r = Redirect(1, "&>", r.target)  # `>&file` means `&>file`
                if r.op in ("<", "<&"):
                    if target == "/dev/stdin":
                        continue
                    try:
                        data = vfs.read(target)
                    except FsError as e:
                        fds[2].write(f"{self.prefix()}{target}: {e.strerror}\n")
                        return 1
                    fds[r.fd] = Input(data.decode("utf-8", "replace"))
                    continue
                # output
                if target in ("/dev/null", "/dev/zero"):
                    w: object = NullWriter()
                elif target == "/dev/stdout":
                    w = fds[1]
                elif target == "/dev/stderr":
                    w = fds[2]
                else:
                    try:
                        append = r.op in (">>", "&>>")
                        vfs.write(target, b"", append=True)
                        if not append:
                            path = vfs.resolve(target)
                            vfs.host.files[path] = b""
                            vfs.host.sizes.pop(path, None)
                    except FsError as e:
                        fds[2].write(f"{self.prefix()}{target}: {e.strerror}\n")
                        return 1
                    w = _FileOut(vfs, target)
                    opened.append(w)
                if r.op in ("&>", "&>>"):
                    fds[1] = fds[2] = w
                else:
                    fds[r.fd] = w

            if not argv:
                for n, v in assigns:
                    self.set_var(n, v)
                return self._cmdsub_status or 0
            env = dict(self.s.env)
            env.update(assigns)
            status = await run_program(self.s, argv, env, fds[0], fds[1], fds[2],
                                       shell_builtins=True, interp=self)
            if status is None:
                status = 127
            return status
        finally:
            for f in opened:
                f.flush()
            if not (argv and argv[0] in TEXT_BUILTINS and not opened):
                _sync(self.s.cluster)


# --- finding and running programs -----------------------------------------------------------


@dataclass
class Found:
    kind: str  # command | script | file | error
    command: object = None
    path: str | None = None
    error: str = ""
    status: int = 0


def find_program(session: ShellSession, name: str, env: dict[str, str], *,
                 shell_builtins: bool) -> Found | None:
    """What running `name` executes in this session, or None if nothing is found."""
    in_container = session.container is not None

    def installed(cmd) -> bool:
        if cmd.path is None:
            return shell_builtins
        return cmd.in_container if in_container else cmd.in_host

    vfs = Vfs.for_session(session)
    if "/" in name:
        p = vfs.abspath(name)
        try:
            rp, kind = vfs.stat(name)
        except FsError as e:
            cmd = command_for_path(p)
            if cmd is not None and installed(cmd):
                return Found("command", cmd, p)
            return Found("error", path=p, error=e.strerror,
                         status=126 if e.strerror == EACCES else 127)
        if kind == "dir":
            return Found("error", path=rp, error=EISDIR, status=126)
        if not in_container and rp in SCRIPTS:
            if not vfs.can_exec(rp):
                return Found("error", path=rp, error=EACCES, status=126)
            return Found("script", path=rp)
        cmd = command_for_path(rp)
        if cmd is not None and installed(cmd):
            return Found("command", cmd, rp)
        if not vfs.can_exec(rp) and not vfs.can_read(rp):
            return Found("error", path=rp, error=EACCES, status=126)
        return Found("file", path=rp)
    cmd = COMMANDS.get(name)
    if cmd is not None and installed(cmd):
        return Found("command", cmd, cmd.path)
    if in_container:
        return None
    for d in env.get("PATH", "").split(":"):
        if not d.startswith("/"):
            continue
        p = f"{d}/{name}"
        if p in SCRIPTS and p in session.host.files:
            return Found("script", path=p)
        if p in session.host.files and vfs.exists(p):
            return Found("file", path=p)
    return None


async def run_program(session: ShellSession, argv: list[str], env: dict[str, str], stdin,
                      stdout, stderr, *, shell_builtins: bool = False, interp: Interp | None = None,
                      not_found: str = "bash") -> int | None:
    """Run argv in `session`. Returns None when nothing by that name is installed (the
    caller prints its own "command not found"), unless `not_found` == "bash" when the
    bash message is printed here and 127 returned."""
    name = argv[0]
    shell_name = interp.name if interp else "bash"
    line = interp.line if interp else 1
    prefix = interp.prefix() if interp else f"{shell_name}: line {line}: "
    found = find_program(session, name, env, shell_builtins=shell_builtins)
    if found is None:
        if session.container is None and name in NOT_SIMULATED:
            stderr.write(f"{name}: not available in this drill build (the drill simulates "
                         "only the commands the etcd procedures use)\n")
            return 126
        if not_found == "bash":
            if name == "":
                stderr.write(f"{prefix}: command not found\n")
            else:
                stderr.write(f"{prefix}{name}: command not found\n")
            return 127
        return None
    if found.kind == "error":
        stderr.write(f"{prefix}{name}: {found.error}\n")
        return found.status
    ctx = CommandContext(session=session, stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                         shell_name=shell_name, line=line, interp=interp)
    if interp is not None and shell_builtins and name in BASH_BUILTINS:
        # the shell runs it itself: no process of its own, and a SIGPIPE kills the shell
        return await _run_found(session, found, ctx, argv, env, stdin, stdout, stderr, prefix,
                                name)

    procs = processes.table(session.host)
    proc = procs.start(argv, session.user, session.cluster.clock.now())
    status: int | None = None
    try:
        status = await _run_found(session, found, ctx, argv, env, stdin, stdout, stderr,
                                  prefix, name)
    except SigPipe:
        status = SIGPIPE_STATUS  # it wrote to a reader that is gone: SIGPIPE killed it
    finally:
        procs.end(proc, status, session.cluster.clock.now())
    return status


async def _run_found(session: ShellSession, found: Found, ctx, argv: list[str],
                     env: dict[str, str], stdin, stdout, stderr, prefix: str,
                     name: str) -> int:
    try:
        if found.kind == "command":
            return await found.command.func(ctx, argv)
        if found.kind == "script":
            return await SCRIPTS[found.path](ctx, argv)
        # a plain file: bash runs text files as shell scripts

        try:
            text = Vfs.for_session(session).read_text(found.path)
        except FsError as e:
            stderr.write(f"{prefix}{name}: {e.strerror}\n")
            return 126
        child = dataclasses.replace(session, env=dict(env), vars={}, stdout=stdout,
                                    stderr=stderr)
        return await Interp(child, name="bash", origin=name, args=argv[1:], stdin=stdin).run(text)
    except UsageError as e:
        stderr.write(e.message)
        return e.status
    except FsError as e:
        # a file error a command did not word itself: still reads like a failed program
        stderr.write(f"{basename(name)}: {e.path or name}: {e.strerror}\n")
        return 1


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) or path
