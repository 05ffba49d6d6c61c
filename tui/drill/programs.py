"""The registry of the programs a drill host's shell can run, and what a program gets.

It imports nothing from the drill, so every layer may use it: the shell looks programs up
here, the program families (tui.drill.commands) register into it, and the host files
(tui.drill.hostfiles) put a binary on disk for each. Every command is
`async def cmd(ctx, argv) -> int`, registered in `COMMANDS` under the name the shell looks
up. They act only on the drill model (never on the real machine) and fail
the way the real program does: same stderr text, same exit status, so an operator who
trains here meets the same messages on a real node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

if TYPE_CHECKING:  # the shell imports this module, not the other way round
    from tui.drill.shell import ShellSession
    from tui.drill.vfs import Vfs


# --- where a program's output goes ----------------------------------------------------------


class Writer(Protocol):
    """Where a command's output goes; text may arrive in several pieces."""

    def write(self, text: str) -> None: ...


class BufferWriter:
    """Collects output: pipes between commands, command substitution, tests."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


class NullWriter:
    def write(self, text: str) -> None:
        pass


class Input:
    """A command's standard input. Reading consumes it, as reading a pipe or file does, so
    the second of two commands that share the shell's stdin sees nothing."""

    def __init__(self, text: str = ""):
        self._text = text

    def read(self) -> str:
        text, self._text = self._text, ""
        return text

    def peek(self) -> str:
        return self._text


@dataclass
class CommandContext:
    session: "ShellSession"
    stdin: Input
    stdout: "Writer"
    stderr: "Writer"
    env: dict[str, str]  # the command's own environment (exported vars + NAME=value prefixes)
    shell_name: str = "bash"  # for bash-style messages ("bash: line 1: ...")
    line: int = 1
    interp: object = None  # the calling shell (tui.drill.shell.Interp), for builtins

    def out(self, text: str) -> None:
        if text:
            self.stdout.write(text)

    def err(self, text: str) -> None:
        if text:
            self.stderr.write(text)

    @property
    def is_root(self) -> bool:
        return self.session.user == "root"

    @property
    def vfs(self) -> "Vfs":
        return self.session.vfs

    @property
    def cluster(self):
        return self.session.cluster

    @property
    def host(self):
        return self.session.host

    def builtin_error(self, name: str, message: str) -> None:
        """A shell builtin's complaint: `bash: line 1: cd: /x: No such file or directory`."""
        self.err(f"{self.shell_name}: line {self.line}: {name}: {message}\n")


CommandFunc = Callable[[CommandContext, list[str]], Awaitable[int]]


@dataclass
class Command:
    name: str
    func: CommandFunc
    path: str | None  # where the program lives; None = a shell builtin with no binary
    in_host: bool = True  # installed on RHCOS itself
    in_container: bool = False  # present inside the etcd containers' image
    aliases_paths: list[str] = field(default_factory=list)


COMMANDS: dict[str, Command] = {}

# Programs that exist on a real RHCOS node but that this drill does not simulate. They fail
# with a clear message instead of "command not found", which would teach the wrong thing.
NOT_SIMULATED = {
    "awk", "gawk", "sed", "xargs", "jq", "vi", "vim", "nano", "less", "more", "gzip",
    "gunzip", "chmod", "chown", "curl", "wget", "podman", "ps", "kill", "pkill", "top",
    "kubectl", "rsync", "scp", "ssh", "diff", "mount", "umount", "lsblk", "openssl",
    "nmcli", "ss", "netstat", "rpm-ostree", "rpm", "dnf", "yum", "python3", "perl", "watch",
    "timeout", "nohup", "md5sum", "sha1sum", "realpath", "yes", "printenv",
    "column", "ionice", "nice", "chroot", "su", "passwd", "reboot", "shutdown", "poweroff",
    "halt", "runc", "crio", "kubelet", "ostree",
}


def command(name: str, *, path: str | None = "/usr/bin", host: bool = True,
            container: bool = False, extra_paths: tuple[str, ...] = (),
            ) -> Callable[[CommandFunc], CommandFunc]:
    """Register a command. `path` is its directory (None for shell-only builtins); `host` and
    `container` say where it is installed (the etcd image has etcdctl, RHCOS does not)."""

    def register(func: CommandFunc) -> CommandFunc:
        full = f"{path}/{name}" if path else None
        COMMANDS[name] = Command(name, func, full, host, container,
                                 [f"{p}/{name}" for p in extra_paths])
        return func

    return register


def command_for_path(path: str) -> Command | None:
    """The program a path names (/usr/bin/ls, /bin/ls, /usr/sbin/ip, ...)."""
    for cmd in COMMANDS.values():
        if cmd.path is None:
            continue
        candidates = [cmd.path, *cmd.aliases_paths]
        # /bin, /sbin and /usr/sbin are links into /usr on RHCOS
        for c in list(candidates):
            if c.startswith("/usr/bin/"):
                candidates.append("/bin/" + c[len("/usr/bin/"):])
            if c.startswith("/usr/sbin/"):
                candidates.append("/sbin/" + c[len("/usr/sbin/"):])
        if path in candidates:
            return cmd
    return None


class UsageError(Exception):
    """Bad options: the program prints `message` (already formatted) and exits `status`."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


def gnu_getopt(prog: str, args: list[str], short: str, long: dict[str, bool | None] | None = None,
               *, permute: bool = True, help_hint: bool = True,
               ) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Parse options as GNU getopt_long does (coreutils, grep, ...).

    short: "vfn:" style (":" = takes a value). long: {"name": takes_value}, takes_value None
    for an optional value (`--name=VALUE` only, as getopt_long's optional_argument); a long option
    may also be given as any unambiguous prefix. Returns ([(option, value)], operands) where
    option is "-x" or "--name". Options may follow operands unless `permute` is False.
    Raises UsageError with the real messages.
    """
    long = long or {}
    opts: list[tuple[str, str | None]] = []
    operands: list[str] = []
    hint = f"Try '{prog} --help' for more information.\n" if help_hint else ""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            operands.extend(args[i + 1:])
            break
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            matches = [n for n in long if n == name] or [n for n in long if n.startswith(name)]
            if len(matches) != 1:
                if len(matches) > 1:
                    raise UsageError(f"{prog}: option '{a}' is ambiguous\n{hint}")
                raise UsageError(f"{prog}: unrecognized option '{a}'\n{hint}")
            name = matches[0]
            if long[name] is None:  # an optional argument: only as --name=VALUE
                opts.append(("--" + name, value if eq else None))
            elif long[name]:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise UsageError(f"{prog}: option '--{name}' requires an argument\n{hint}")
                    value = args[i]
                opts.append(("--" + name, value))
            else:
                if eq:
                    raise UsageError(f"{prog}: option '--{name}' doesn't allow an argument\n{hint}")
                opts.append(("--" + name, None))
        elif a.startswith("-") and a != "-":
            j = 1
            while j < len(a):
                c = a[j]
                k = short.find(c)
                if k < 0 or c == ":":
                    raise UsageError(f"{prog}: invalid option -- '{c}'\n{hint}")
                if k + 1 < len(short) and short[k + 1] == ":":
                    value = a[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(args):
                            raise UsageError(
                                f"{prog}: option requires an argument -- '{c}'\n{hint}")
                        value = args[i]
                    opts.append(("-" + c, value))
                    break
                opts.append(("-" + c, None))
                j += 1
        else:
            if not permute:
                operands.extend(args[i:])
                break
            operands.append(a)
        i += 1
    return opts, operands


def quote(name: str) -> str:
    """coreutils' quoting of file names in messages ('name', or shell-escaped if odd)."""
    if name and all(c.isalnum() or c in "/._-+:,@%=" for c in name):
        return f"'{name}'"
    if "'" not in name:
        return f"'{name}'"
    return "'" + name.replace("'", "'\\''") + "'"


# --- what a program and its shell tell each other --------------------------------------------


class ExitShell(Exception):
    """`exit N` (or a fatal error under `set -e`): the shell running it ends with status N."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class SigPipe(Exception):
    """A write to a reader that went away (the SSH client closed its channel): the writing
    process dies of SIGPIPE, as on a real host, exit status 141. Raised by writers that know
    their reader is gone (tui.drill.sshserver's channel writer, a dead `tee`)."""


SIGPIPE_STATUS = 128 + 13


def installed_paths() -> list[str]:
    """Where each registered program sits on a host's disk (/usr/bin/ls, ...), for the host
    files to put a binary there. Fails loudly when no program family is loaded: a host built
    then would have no binaries, and every command would be "not found"."""
    if not COMMANDS:
        raise RuntimeError("no drill programs are registered: import tui.drill.commands first")
    return [cmd.path for cmd in COMMANDS.values() if cmd.path and cmd.in_host]
