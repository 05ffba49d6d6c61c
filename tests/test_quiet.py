"""Libraries' logs: off the operator's terminal, and free when their level is off."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from asyncssh.logging import logger as ssh_logger

from tui.quiet import skip_disabled_ssh_logs


class _NotText:
    def __str__(self) -> str:
        raise AssertionError("an argument of a disabled record was turned into text")


@pytest.fixture
def asyncssh_records():
    logger = logging.getLogger("asyncssh")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    skip_disabled_ssh_logs()
    skip_disabled_ssh_logs()  # twice is once
    yield logger, records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_disabled_record_is_dropped_before_its_arguments_become_text(asyncssh_records):
    logger, records = asyncssh_records
    logger.setLevel(logging.WARNING)
    ssh_logger.debug1("opening a channel to %s", _NotText())
    ssh_logger.info("%s", _NotText())
    assert records == []


def test_an_enabled_record_is_logged_as_asyncssh_formats_it(asyncssh_records):
    logger, records = asyncssh_records
    logger.setLevel(logging.DEBUG)
    ssh_logger.debug1("Connecting to %s", ("master-0", 22))
    ssh_logger.info("got %s and %s", b"bytes", ["a", b"b"])
    ssh_logger.warning("listening on %s", ("", 2222))
    assert records == ["Connecting to master-0, port 22", "got bytes and a,b",
                       "listening on port 2222"]


def test_asyncssh_dsa_deprecation_warnings_stay_off_stderr():
    """cryptography 51 deprecates DSA, and importing asyncssh warned five times on stderr
    before every command (the CI's fresh install had it; tui/__init__.py filters it). Other
    warnings, asyncssh's included, still show. A fresh interpreter, as an operator's."""
    code = ("import tui, warnings\n"
            "warnings.warn_explicit('DSA is deprecated and support will be removed in a future "
            "release.', UserWarning, 'misc.py', 32, module='asyncssh.crypto.misc')\n"
            "warnings.warn_explicit('another warning', UserWarning, 'connection.py', 1, "
            "module='asyncssh.connection')\n"
            "import asyncssh\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "DSA" not in r.stderr and "another warning" in r.stderr, r.stderr
