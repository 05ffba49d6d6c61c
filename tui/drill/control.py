"""The trainer's side of a drill served with `etcd-dr lab serve`: the control socket next to
the inventory that `etcd-dr lab inject` talks to, and the trainer's console in the serving
terminal (type an inject command, see what it did)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shlex
import socket
from datetime import datetime
from pathlib import Path
from typing import Callable

from tui.drill.inject import InjectError, execute, parse, usage
from tui.errors import ConfigError, EtcdDrError

CONTROL_FILE = "control.json"


def control_path(inventory_path: str | os.PathLike) -> Path:
    """Where `lab serve --inventory-out FILE` writes its control endpoint: FILE's `.d/`."""
    p = Path(inventory_path)
    return p.parent / (p.stem + ".d") / CONTROL_FILE


class ControlServer:
    """The lab's control port: one JSON line in ({token, words}), one out ({ok, message});
    loopback only, and only for whoever can read the 0600 control file."""

    def __init__(self, lab, path: str | os.PathLike,
                 on_inject: Callable[[str, list[str], str, bool], None] | None = None):
        self.lab = lab
        self.path = Path(path)
        self.on_inject = on_inject  # (source, words, message, ok)
        self.token = secrets.token_urlsafe(32)
        self._server: asyncio.base_events.Server | None = None
        self.address = f"{getattr(lab, 'address_base', '127.0.3')}.251"
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.address, 0,
                                                  limit=64 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"address": self.address, "port": self.port, "token": self.token,
                       "pid": os.getpid(), "cluster": self.lab.cluster.name,
                       "scenario": self.lab.cluster.scenario}, f)
            f.write("\n")
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        try:
            self.path.unlink()
        except OSError:
            pass

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            try:
                raw = await asyncio.wait_for(reader.readline(), 10)
                request = json.loads(raw)
                token, words = request["token"], request["words"]
                if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                    raise ValueError
            except (asyncio.TimeoutError, ValueError, KeyError, TypeError, asyncio.LimitOverrunError):
                return await _reply(writer, False, "malformed request")
            if not isinstance(token, str) or not secrets.compare_digest(token, self.token):
                return await _reply(writer, False, "wrong token: read it from the lab's "
                                                   "control file")
            try:
                message, ok = execute(self.lab.cluster, self.lab, words), True
            except EtcdDrError as e:
                message, ok = e.message, False
            if self.on_inject is not None and not (ok and parse(words)[0] == "list"):
                self.on_inject("lab inject", words, message, ok)  # a query is not printed
            await _reply(writer, ok, message)
        finally:
            writer.close()


async def _reply(writer: asyncio.StreamWriter, ok: bool, message: str) -> None:
    writer.write((json.dumps({"ok": ok, "message": message}) + "\n").encode())
    try:
        await writer.drain()
    except OSError:
        pass


def send_command(inventory_path: str | os.PathLike, words: list[str],
                 timeout: float = 10.0) -> str:
    """`etcd-dr lab inject`: send one action to the lab serving this inventory; returns its
    answer. ConfigError when no lab serves it; InjectError when the lab refused."""
    path = control_path(inventory_path)
    parse(words)  # a typo fails here, without the lab
    try:
        control = json.loads(path.read_text())
        address, port, token = control["address"], int(control["port"]), control["token"]
    except FileNotFoundError:
        raise ConfigError("no lab serves this inventory (its control file does not exist)",
                          where=str(path),
                          hint=f"Start one with `etcd-dr lab serve --scenario NAME "
                               f"--inventory-out {inventory_path}`") from None
    except PermissionError:
        raise ConfigError("cannot read the lab's control file", where=str(path),
                          hint="Run lab inject as the user who runs lab serve") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError("the lab's control file is damaged", where=str(path),
                          hint="Restart `etcd-dr lab serve`") from None
    if not address.startswith("127."):
        raise ConfigError("the lab's control address is not a loopback address",
                          where=str(path))
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.sendall((json.dumps({"token": token, "words": words}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except ConnectionRefusedError:
        raise ConfigError("the lab that wrote this control file is not running (connection "
                          "refused)", where=str(path),
                          hint="Start `etcd-dr lab serve` again") from None
    except OSError as e:
        raise ConfigError(f"cannot reach the lab at {address}:{port} ({e.strerror or e})",
                          where=str(path)) from None
    try:
        answer = json.loads(data)
        ok, message = bool(answer["ok"]), str(answer["message"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError("the lab's answer was not understood", where=f"{address}:{port}") \
            from None
    if not ok:
        raise InjectError(message)
    return message


def split_line(line: str) -> list[str]:
    """A line typed at the lab serve prompt, as words (shell-like quoting)."""
    try:
        return shlex.split(line)
    except ValueError as e:
        raise InjectError(f"cannot read that line ({e})") from None


class LabConsole:
    """What `etcd-dr lab serve` adds to the lab: the control port, a prompt on its terminal
    (a line per action: `drop master-1`, `help`), and a timed line for every injection."""

    def __init__(self, lab, inventory_path: str | os.PathLike,
                 echo: Callable[[str], None], *, clock: Callable[[], datetime] | None = None):
        self.lab = lab
        self.echo = echo
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.control = ControlServer(lab, control_path(inventory_path), self.report)
        self._stdin_fd: int | None = None
        self._buffer = b""

    async def start(self, stdin=None) -> None:
        await self.control.start()
        if stdin is not None and _isatty(stdin):
            self._stdin_fd = stdin.fileno()
            asyncio.get_running_loop().add_reader(self._stdin_fd, self._read_stdin)

    async def stop(self) -> None:
        if self._stdin_fd is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._stdin_fd)
            except (RuntimeError, ValueError, OSError):
                pass
            self._stdin_fd = None
        await self.control.stop()

    @property
    def reads_keys(self) -> bool:
        return self._stdin_fd is not None

    def keys_help(self) -> str:
        return ("Type a fault to inject, e.g. `drop master-1`, `fill master-0`, "
                "`ssh master-2 60`, `stall master-1 etcd`; `help` lists them all.")

    def report(self, source: str, words: list[str], message: str, ok: bool) -> None:
        """One line per injection, with the time (and the drill's time when it runs
        faster): what was asked, from where, and what happened."""
        now = self.clock()
        stamp = now.strftime("%H:%M:%S")
        clock = self.lab.cluster.clock
        if clock.speed != 1 or clock.frozen:
            stamp += f" (drill {clock.now_dt().astimezone(now.tzinfo).strftime('%H:%M:%S')})"
        text = " ".join(words)
        body = message.replace("\n", "\n    ")
        self.echo(f"{stamp} {source}: {text}: {body}" if ok else
                  f"{stamp} {source}: {text}: NOT injected: {body}")

    def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if line.lower() in ("help", "?", "h"):
            self.echo(usage())
            return
        try:
            words = split_line(line)
            message, ok = execute(self.lab.cluster, self.lab, words), True
        except EtcdDrError as e:
            words, message, ok = line.split(), e.message, False
        self.report("keyboard", words, message, ok)

    def _read_stdin(self) -> None:
        try:
            data = os.read(self._stdin_fd, 4096)
        except OSError:
            data = b""
        if not data:  # the terminal went away: the lab goes on without its prompt
            asyncio.get_running_loop().remove_reader(self._stdin_fd)
            self._stdin_fd = None
            return
        self._buffer += data
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            self.handle_line(raw.decode("utf-8", "replace"))


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
