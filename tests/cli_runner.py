"""`etcd-dr` as a child process, the way the tests run the CLI.

One helper for every test that runs `python -m tui.cli`: a child that overruns its timeout
is asked for its asyncio tasks' stacks (SIGUSR2, tui/taskdump.py) before it is killed, and
the test fails with them and the child's output, instead of a bare TimeoutExpired or
pytest-timeout's dump of an idle event loop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tui.taskdump import ENV

# When the running test will be stopped by pytest-timeout (time.monotonic(); set by
# tests/conftest.py's hang_watchdog): a child is given up on a few seconds before that, so
# its dump reaches the report. None: no limit but the caller's.
TEST_DEADLINE: float | None = None


def run_cli(*args, timeout: float = 100, env: dict | None = None, input: str | None = None,
            stdin=None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "tui.cli", *map(str, args)]
    if TEST_DEADLINE is not None:
        timeout = max(1.0, min(timeout, TEST_DEADLINE - time.monotonic() - 5))
    env = {**(os.environ if env is None else env), ENV: "1"}
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
            raise AssertionError(
                f"`etcd-dr {' '.join(map(str, args))}` did not end in {timeout:g} s\n"
                f"--- stdout (end)\n{out[-3000:]}\n--- stderr (end)\n{err[-12000:]}") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)
