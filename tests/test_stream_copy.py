"""The streamed copy's commands, timeout, progress and read-only refusal (pure, no hosts)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings, strategies as st

from tui.fleet.commands import Safety
from tui.fleet.readonly import refusal
from tui.fleet.stream import (COPY_TIMEOUT_TEXT, PART_SUFFIX, StreamProgress, Throttle,
                              copy_timeout, hash_command, part_name, read_command,
                              remove_command, rename_command, size_command, write_command)


def words(command, sudo=True) -> list[str]:
    """What the host's shell runs, word by word (sudo -n sh -c SCRIPT unwrapped)."""
    outer = shlex.split(command.render(sudo))
    assert outer[:4] == ["sudo", "-n", "sh", "-c"]
    return shlex.split(outer[4])


paths = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                min_size=1, max_size=40).map(lambda s: "/backup/" + s)


@settings(max_examples=60, deadline=None)
@given(path=paths, offset=st.integers(0, 10 ** 10))
def test_any_file_name_reaches_the_host_as_one_word(path, offset):
    read = words(read_command(path, offset))
    if offset == 0:
        assert read == ["cat", "--", path]
    else:  # tail counts from 1: byte `offset` (0-based) is the first one sent
        assert read == ["tail", "-c", f"+{offset + 1}", "--", path]
    write = words(write_command(part_name(path)))
    assert write[:2] == ["sh", "-c"] and write[3:] == ["sh", path + PART_SUFFIX]
    assert '"$1"' in write[2] and path not in write[2]  # the name is an argument, not text
    assert words(rename_command(part_name(path), path)) == \
        ["mv", "-f", "--", path + PART_SUFFIX, path]
    assert words(hash_command(path))[-1] == path
    assert words(size_command(path)) == ["stat", "-c", "%s", "--", path]


def test_the_write_side_keeps_the_file_private_and_appends():
    script = words(write_command("/b/x.etcd-dr-part"))[2]
    assert script == 'touch -- "$1" && chmod 600 -- "$1" && cat >> "$1"'


@pytest.mark.parametrize("command", [write_command("/b/x.part"),
                                     rename_command("/b/x.part", "/b/x"),
                                     remove_command("/b/x.part")])
def test_read_only_refuses_every_side_that_changes_the_target(command):
    assert command.safety == Safety.MUTATING
    assert refusal(command) is not None


def test_the_timeout_scales_with_the_size_and_says_how():
    # tui/timeouts.py's copy rule: 60 s floor plus the bytes at 10 MiB/s (a slow link)
    assert copy_timeout(0) == 60
    assert copy_timeout(20 * 1024 * 1024) == 62
    assert copy_timeout(8 * 1024 ** 3) == 880  # an 8 GiB database: 14m 40s
    assert COPY_TIMEOUT_TEXT == "60 s plus 1 s per 10 MiB"
    assert read_command("/f", 0, 2 * 10 ** 9).timeout == write_command("/p", 2 * 10 ** 9).timeout \
        == copy_timeout(2 * 10 ** 9) == 251


def test_progress_says_bytes_rate_and_time_left_counting_only_what_this_copy_sent():
    mib = 1024 * 1024
    p = StreamProgress("master-1", "master-0", "/b/snapshot.db", done=600 * mib,
                       total=1024 * mib, resumed_from=400 * mib, elapsed=2.0)
    assert p.rate == 100 * mib
    assert p.eta == pytest.approx(4.24, abs=0.01)
    assert p.text() == "snapshot.db: 600.0 MiB of 1.0 GiB (59%), 104.9 MB/s, 4s left"
    done = StreamProgress("a", "b", "/b/f", 5, 5, 0, 1.0)
    assert done.text() == "f: 5 B of 5 B (100%), 0.0 MB/s"
    assert StreamProgress("a", "b", "/f", 0, 10, 0, 0.0).eta is None


def test_progress_lines_are_throttled_but_the_last_always_shows(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("tui.fleet.stream.time.monotonic", lambda: clock[0])
    shown = []
    throttle = Throttle(shown.append, every=1.0)
    for i in range(32):  # 32 chunks in 2 s
        throttle(i)
        clock[0] += 0.0625
    throttle("last", final=True)
    assert shown == [0, 16, "last"]
