"""A process that has imported the console once and forks a fresh `python -m tui.cli` per run.

The suite runs the CLI a few hundred times, and each child spent about 1.3 s of CPU
importing kubernetes, asyncssh and the drill before it did anything (bench/RESULTS.md,
2026-12-04): on two cores that was minutes of every CI run. This zygote imports them once;
for each run it forks, and the child becomes what `python -m tui.cli ARGS` would be:
its own process, with the test's stdin, stdout, stderr, environment and working directory,
`tui/cli.py` executed as `__main__` (runpy, as -m does), and the interpreter's own exit: the
exit code, a traceback on an uncaught exception, atexit handlers, flushed streams. Only
the imports are shared, and they run nothing: the console's modules read the environment
and the clock when called, not when imported; what a library keeps from its first call
(tempfile's directory, the time zone) is reset in the child, and a call whose environment
differs from the zygote's in what an interpreter or a library reads at start-up (PYTHON*,
TEXTUAL*, the locale) is run in a fresh interpreter instead (tests/cli_runner.py).

Protocol (tests/cli_runner.py is the other end): the test sends one JSON line
{"argv", "env", "cwd"} with four descriptors over the control socket (SCM_RIGHTS): stdin,
stdout, stderr and a reply socket (a SOCK_SEQPACKET pair: one message, one request). On the reply socket the zygote writes "pid N\\n" and,
when the child has exited, "exit S\\n" (S: waitpid's status). EOF on the control socket
ends the zygote.

Run as `python -m tests.cli_zygote FD` with FD the control socket.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
import tempfile
import time

PRELOAD = (
    "tui.cli", "tui.backend", "tui.app", "tui.drill.lab", "tui.drill.session",
    "tui.runbooks.runner", "tui.report", "tui.watch", "kubernetes.aio.client",
    "kubernetes.aio.config", "asyncssh", "textual.app",
    # what the commands import when they run (listed from `run`, `status`, `init` and
    # `wall` on the drill): each child imported them again, 0.4 s of its 1.1 s of CPU.
    # CustomObjectsApi is imported only by the encryption runbooks' patches since reads
    # went through ClusterApi.get_json; preloading it costs nothing a child would not pay.
    "tui.runbooks.headless", "tui.runbooks.backup", "tui.runbooks.defrag",
    "tui.runbooks.encryption", "tui.runbooks.restore", "tui.runbooks.restore_checks",
    "tui.cluster.ops", "tui.fleet.stream", "tui.quiet", "tui.taskdump", "tui.timeouts",
    "tui.initialize", "tui.discover", "tui.hostcheck", "tui.drill.fleetlab", "tui.wall.probe",
    "kubernetes.aio.client.api.custom_objects_api", "pydantic.validate_call_decorator",
    "concurrent.futures.thread",
)


def _child(request: dict, fds: list[int]) -> None:
    """In the forked child: become `python -m tui.cli ARGV`. Does not return."""
    import runpy

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote's; the rest are a fresh one's
    stdin, stdout, stderr, reply = fds
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    for fd in {stdin, stdout, stderr, reply} - {0, 1, 2}:
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    # what the imports may have read from the zygote's environment and kept, read again
    # from the call's: the temporary directory (TMPDIR: a drill's workdir and the sweep of
    # dead drills' keys) and the time zone
    tempfile.tempdir = None
    time.tzset()
    # as in `python -m tui.cli`, the module runs as __main__ only: a later `import tui.cli`
    # gets a copy of its own
    module = sys.modules.pop("tui.cli").__file__
    sys.argv = [module, *request["argv"]]
    sys.path[0] = request["cwd"]  # as -m puts the working directory first
    # from here the child is the interpreter running the module: SystemExit, an uncaught
    # exception's traceback, atexit handlers and the streams' flush are the interpreter's
    runpy.run_module("tui.cli", run_name="__main__", alter_sys=True)
    sys.exit(0)


def serve(control: socket.socket) -> None:
    for name in PRELOAD:
        __import__(name)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    replies: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    while True:
        for key, _ in selector.select():
            if key.data == "wake":
                os.read(wake_r, 512)
                _reap(replies)
                continue
            data, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
            if not data:
                return  # the test process is gone: so are we
            request = json.loads(data)
            pid = os.fork()
            if pid == 0:
                selector.close()
                control.close()
                os.close(wake_r)
                os.close(wake_w)
                for reply in replies.values():
                    reply.close()
                _child(request, fds)
            reply = socket.socket(fileno=fds[3])
            for fd in fds[:3]:
                os.close(fd)
            reply.sendall(f"pid {pid}\n".encode())
            replies[pid] = reply
            _TESTS[pid] = request["env"].get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
        _reap(replies)


_TESTS: dict[int, str] = {}  # child pid -> the test that asked for it


def _charge(pid: int, usage) -> None:
    """bench/suite_cpu.py's record of a run's CPU (this zygote's children are not the test
    process's, so its own count misses them), when the suite is measured."""
    folder = os.environ.get("ETCD_DR_SUITE_CPU")
    test = _TESTS.pop(pid, None)
    if not folder or test is None:
        return
    with open(os.path.join(folder, f"zygote-{os.getpid()}.jsonl"), "a") as out:
        out.write(json.dumps({"id": test, "zygote": usage.ru_utime + usage.ru_stime}) + "\n")


def _reap(replies: dict[int, socket.socket]) -> None:
    while replies:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _charge(pid, usage)
        reply = replies.pop(pid, None)
        if reply is not None:
            try:
                reply.sendall(f"exit {status}\n".encode())
            except OSError:
                pass
            reply.close()


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
