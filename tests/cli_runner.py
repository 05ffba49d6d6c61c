"""`etcd-dr` as a child process, the way the tests run the CLI.

One helper for every test that runs `python -m tui.cli`: a child that overruns its timeout
is asked for its asyncio tasks' stacks (SIGUSR2, tui/taskdump.py) before it is killed, and
the test fails with them and the child's output, instead of a bare TimeoutExpired or
pytest-timeout's dump of an idle event loop.

Each run is a process of its own, forked from a zygote that imported the console once
(tests/cli_zygote.py): a fresh `python -m tui.cli` spent most of a short run importing.
ETCD_DR_TEST_FORK=0 starts every run as `python -m tui.cli` instead; the two must agree
(tests/test_cli.py runs the same commands both ways).
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tui.taskdump import ENV

# When the running test will be stopped by pytest-timeout (time.monotonic(); set by
# tests/conftest.py's hang_watchdog): a child is given up on a few seconds before that, so
# its dump reaches the report. None: no limit but the caller's.
TEST_DEADLINE: float | None = None


FORK = os.environ.get("ETCD_DR_TEST_FORK", "1") != "0"
ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, timeout: float = 100, env: dict | None = None, input: str | None = None,
            stdin=None, fork: bool | None = None) -> subprocess.CompletedProcess:
    """`python -m tui.cli ARGS`: its exit code, stdout and stderr. `fork`: from the zygote
    (default: unless ETCD_DR_TEST_FORK=0), or False for a fresh interpreter."""
    argv = [sys.executable, "-m", "tui.cli", *map(str, args)]
    if TEST_DEADLINE is not None:
        timeout = max(1.0, min(timeout, TEST_DEADLINE - time.monotonic() - 5))
    env = {**(os.environ if env is None else env), ENV: "1"}
    if (FORK if fork is None else fork) and not _read_at_start_up_differs(env):
        return _Zygote.run(argv, [str(a) for a in args], env, input, stdin, timeout)
    if input is not None:
        stdin = subprocess.PIPE
    with subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR2)
            try:
                out, err = proc.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            raise _overran(args, timeout, out, err) from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


# what an interpreter or a library reads from the environment once, at start-up or import:
# a child forked from the zygote would keep the zygote's
_START_UP = ("PYTHON", "TEXTUAL", "LANG", "LC_", "NO_COLOR", "COLORTERM", "FORCE_COLOR")


def _read_at_start_up_differs(env: dict) -> bool:
    def picked(environ) -> dict:
        return {k: v for k, v in environ.items() if k.startswith(_START_UP)}

    return picked(env) != picked(_Zygote.environ())


def _overran(args, timeout: float, out: str, err: str) -> AssertionError:
    return AssertionError(
        f"`etcd-dr {' '.join(map(str, args))}` did not end in {timeout:g} s\n"
        f"--- stdout (end)\n{out[-3000:]}\n--- stderr (end)\n{err[-12000:]}")


def _text(data: bytes) -> str:
    """As Popen(text=True) decodes a stream: the locale's encoding, universal newlines."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _Zygote:
    """This test process's zygote (tests/cli_zygote.py), started by pid at the first run
    and stopped by pid when the process ends."""

    proc: subprocess.Popen | None = None
    control: socket.socket | None = None
    lock = threading.Lock()
    _environ: dict | None = None

    @classmethod
    def environ(cls) -> dict:
        """The environment the zygote starts (or started) with: this process's, first seen."""
        if cls._environ is None:
            cls._environ = dict(os.environ)
        return cls._environ

    @classmethod
    def _started(cls) -> socket.socket:
        with cls.lock:
            if cls.proc is None or cls.proc.poll() is not None:
                mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                cls.proc = subprocess.Popen(
                    [sys.executable, "-m", "tests.cli_zygote", str(theirs.fileno())],
                    pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, cwd=ROOT, env=cls.environ())
                theirs.close()
                cls.control = mine
                atexit.register(cls.stop)
            return cls.control

    @classmethod
    def stop(cls) -> None:
        if cls.proc is None:
            return
        cls.control.close()  # EOF: the zygote returns
        try:
            cls.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.proc = None

    @classmethod
    def run(cls, argv, args, env, input, stdin, timeout) -> subprocess.CompletedProcess:
        control = cls._started()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_w = None
        if input is not None or stdin == subprocess.PIPE:
            in_r, in_w = os.pipe()
        elif stdin == subprocess.DEVNULL:
            in_r = os.open(os.devnull, os.O_RDONLY)
        elif stdin is None:
            in_r = os.dup(0)
        else:
            raise ValueError(f"run_cli: stdin={stdin!r} is not supported")
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = {"argv": args, "env": dict(env), "cwd": os.getcwd()}
        try:
            socket.send_fds(control, [json.dumps(request).encode()],
                            [in_r, out_w, err_w, theirs.fileno()])
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            theirs.close()
        with reply:
            pid = int(_reply_line(reply, "pid"))
            out, err, overran = _communicate(pid, in_w, input, out_r, err_r, timeout)
            reply.settimeout(30)
            status = int(_reply_line(reply, "exit"))
        if overran:
            raise _overran(args, timeout, _text(out), _text(err))
        return subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status), _text(out),
                                           _text(err))


def _reply_line(sock: socket.socket, word: str) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(64)
        if not chunk:
            raise AssertionError(f"the CLI zygote ended before it said {word!r}")
        data += chunk
    said, _, value = data.decode().strip().partition(" ")
    assert said == word, data
    return value


def _communicate(pid: int, in_w, input: str | None, out_r: int, err_r: int,
                 timeout: float) -> tuple[bytes, bytes, bool]:
    """Feed `input`, read stdout and stderr to their ends; past `timeout` the child is sent
    SIGUSR2 (its tasks' stacks, tui/taskdump.py), given 3 s, then killed."""
    chunks = {out_r: [], err_r: []}
    pending = (input or "").encode()
    selector = selectors.DefaultSelector()
    for fd in chunks:
        selector.register(fd, selectors.EVENT_READ)
    if in_w is not None:
        if pending:
            os.set_blocking(in_w, False)
            selector.register(in_w, selectors.EVENT_WRITE)
        else:
            os.close(in_w)
    deadline = time.monotonic() + timeout
    overran, killed = False, False
    try:
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                if not overran:
                    overran = True
                    _signal(pid, signal.SIGUSR2)
                    deadline = time.monotonic() + 3
                    continue
                if not killed:
                    killed = True
                    _signal(pid, signal.SIGKILL)
                    deadline = time.monotonic() + 5
                    continue
                break  # something the child started still holds its pipes
            for key, _ in selector.select(left):
                fd = key.fd
                if fd == in_w:
                    try:
                        sent = os.write(fd, pending[:65536])
                    except BrokenPipeError:
                        sent = len(pending)
                    pending = pending[sent:]
                    if not pending:
                        selector.unregister(fd)
                        os.close(fd)
                    continue
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    selector.unregister(fd)
    finally:
        for fd in list(selector.get_map()):
            selector.unregister(fd)
            if fd == in_w:
                os.close(fd)
        selector.close()
        os.close(out_r)
        os.close(err_r)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r]), overran


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
