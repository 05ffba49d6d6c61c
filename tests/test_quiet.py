"""Libraries' logs: off the operator's terminal, and free when their level is off."""

from __future__ import annotations

import logging

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
