"""A command's output is never cut silently (issue 13, item 2): over its cap the result is an
error that says so; lines are split in time linear in the output's size, each cut at its own
cap with a marker; panes show a bounded line and keep redacting.

Pure unit tests of tui/fleet/output.py and of Fleet.run_one on a fake SSH process, and one
end-to-end test on a drill host over SSH."""

from __future__ import annotations

import asyncio
import os
import stat
import time
import tracemalloc

import pytest

from tests.conftest import drill_fleets
from tui.fleet.commands import Command
from tui.fleet.fleet import Fleet, HostState
from tui.fleet.output import (LINE_CAP, OUTPUT_CAP, Capture, LineSplitter, cut_line,
                              cut_marker, over_cap_error)
from tui.inventory import load_inventory
from tui.secrets import REDACTED, StreamRedactor

CHUNK = 65536


def split_all(chunks, line_cap: int = LINE_CAP) -> list[str]:
    splitter = LineSplitter(line_cap)
    lines = []
    for chunk in chunks:
        lines.extend(splitter.feed(chunk))
    return lines + splitter.finish()


def chunked(text: str, size: int = CHUNK):
    return (text[i:i + size] for i in range(0, len(text), size))


# --- line splitting -------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 3, 7, 64])
def test_lines_are_the_same_whatever_the_chunking(size):
    text = "one\ntwo\n\nthree, no newline at the end"
    assert split_all(chunked(text, size)) == text.split("\n")
    assert split_all(chunked("a\nb\n", size)) == ["a", "b"]


def test_fifty_megabytes_without_a_newline_take_linear_time_and_bounded_memory():
    piece = "x" * CHUNK
    chunks = 50 * 1024 * 1024 // CHUNK
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        splitter = LineSplitter()
        for _ in range(chunks):
            assert splitter.feed(piece) == []
            assert splitter.open_line_size <= LINE_CAP
        (line,) = splitter.finish()
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the old split (partial + chunk each time) took minutes at this size
    assert elapsed < 3, f"{elapsed:.1f}s for 50 MB with no newline"
    assert peak < 4 * LINE_CAP, f"peak {peak} bytes held for one line"
    more = 50 * 1024 * 1024 - LINE_CAP
    assert line == "x" * LINE_CAP + cut_marker(more)
    assert line.endswith("… [line cut: 51,380,224 bytes more]")


def test_a_long_line_is_cut_once_and_the_next_line_arrives_whole():
    lines = split_all(chunked("a" * 300 + "\nnext\n", 64), line_cap=100)
    assert lines == ["a" * 100 + cut_marker(200), "next"]


def test_the_cut_falls_on_a_blank_so_a_token_across_it_is_dropped_whole():
    token = "sha256~" + "Q" * 60
    line = "w" * 70 + " " + token + " tail"
    (cut,) = split_all([line + "\n"], line_cap=100)
    assert cut == "w" * 70 + " " + cut_marker(len(line) - 71)
    assert "sha256~" not in cut and "QQ" not in cut


def test_a_private_key_begun_in_the_cut_part_keeps_the_next_lines_redacted():
    body = "MIIEpAIBAAKCAQEA0" * 3
    for pad in (10, 95, 130):  # BEGIN after the cut, across it, and well past it
        text = "v" * pad + " -----BEGIN RSA PRIVATE KEY-----\n" + body + "\n" \
               "-----END RSA PRIVATE KEY-----\nafter\n"
        lines = split_all(chunked(text, 16), line_cap=100)
        shown = StreamRedactor().lines(lines)
        assert body not in "\n".join(shown), (pad, shown)
        assert shown[1] == REDACTED and shown[-1] == "after"


def test_multibyte_output_is_counted_in_bytes():
    (cut,) = split_all(["é" * 150 + "\n"], line_cap=100)
    assert cut == "é" * 100 + cut_marker(100)  # 50 characters of two bytes each


# --- the output cap -------------------------------------------------------------------------

def test_capture_keeps_up_to_its_cap_and_counts_the_rest():
    kept = Capture(cap=10)
    for chunk in ("12345", "67890", "abc"):
        kept.add(chunk)
    assert kept.text == "1234567890" and kept.size == 13 and kept.over_cap
    exact = Capture(cap=10)
    exact.add("1234567890")
    assert not exact.over_cap and exact.text == "1234567890"


def test_the_over_cap_error_says_what_was_cut_where_and_what_to_do():
    kept = Capture(cap=OUTPUT_CAP)
    kept.size = 38_888_896
    text = over_cap_error("stdout", kept, 0)
    assert text.startswith("output over 16 MiB (cap): the command's stdout was cut at "
                           "16,777,216 of 38,888,896 bytes (the command ran to its end")
    assert "stream it to a file" in text


class FakeReader:
    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self.reads = 0

    async def read(self, n):
        self.reads += 1
        return next(self._chunks, "")


class FakeProcess:
    def __init__(self, stdout_chunks, stderr_chunks=(), exit_status=0):
        self.stdout, self.stderr = FakeReader(stdout_chunks), FakeReader(stderr_chunks)
        self.exit_status = exit_status

    async def wait(self, check=False):
        class Completed:
            exit_signal = None
        done = Completed()
        done.exit_status = self.exit_status
        return done

    def close(self):
        pass


class FakeConnection:
    def __init__(self, process):
        self.process = process

    async def create_process(self, *args, **kw):
        return self.process

    def is_closed(self):
        return False


@pytest.fixture
def fake_fleet(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("cluster: {name: caps}\nhosts:\n"
                    "  - {name: master-0, address: 127.0.0.1, role: control-plane}\n")

    def build(process) -> Fleet:
        fleet = Fleet(load_inventory(path), reconnect=False)
        fleet.status["master-0"].state = HostState.CONNECTED
        fleet._conns["master-0"] = FakeConnection(process)
        return fleet

    return build


async def test_output_over_the_cap_is_an_error_not_exit_zero_and_is_read_to_the_end(fake_fleet):
    process = FakeProcess(["0123456789\n"] * 10)  # 110 bytes
    fleet = fake_fleet(process)
    seen = []
    fleet.subscribe(seen.append)
    result = await fleet.run_one("master-0", Command.of("seq", "1", "10", max_output=50))
    assert not result.ok and result.exit_status == 0 and result.over_cap
    assert result.error.startswith("output over 50 bytes (cap): the command's stdout was cut "
                                   "at 50 of 110 bytes (the command ran to its end")
    assert result.stdout == ("0123456789\n" * 10)[:50] and result.stdout_bytes == 110
    assert process.stdout.reads == 11  # drained: every chunk read, then the end
    # the pane still saw every line
    assert [l for e in seen if e.kind == "output" for l in e.lines] == ["0123456789"] * 10
    assert seen[-1].kind == "result" and seen[-1].text.startswith("failed: output over")


async def test_stderr_over_the_cap_and_a_failed_exit_are_both_said(fake_fleet):
    fleet = fake_fleet(FakeProcess(["ok\n"], ["e" * 40 + "\n"] * 3, exit_status=3))
    result = await fleet.run_one("master-0", Command.of("false", max_output=100))
    assert not result.ok and result.exit_status == 3
    assert "the command's stderr was cut at 100 of 123 bytes (the command exited 3" \
        in result.error
    assert result.stdout == "ok\n" and "stdout was cut" not in result.error


async def test_output_within_the_cap_is_ok_and_whole(fake_fleet):
    fleet = fake_fleet(FakeProcess(["a\n", "b\n"]))
    result = await fleet.run_one("master-0", Command.of("seq", "2", max_output=4))
    assert result.ok and result.stdout == "a\nb\n" and not result.over_cap


async def test_output_to_a_file_keeps_all_of_it_out_of_memory(fake_fleet, tmp_path):
    chunks = [f"{i:09d}\n" * 1000 for i in range(30)]  # 300 kB
    target = tmp_path / "listing.txt"
    fleet = fake_fleet(FakeProcess(chunks))
    lines = []
    result = await fleet.run_one("master-0", Command.of("seq", "9", max_output=1000,
                                                        output_to=str(target)),
                                 on_line=lambda stream, text: lines.append(text))
    assert result.ok and result.stdout == "" and result.stdout_bytes == 300_000
    assert target.read_text() == "".join(chunks)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert len(lines) == 30_000


async def test_an_output_file_that_cannot_be_written_runs_nothing(fake_fleet, tmp_path):
    process = FakeProcess(["x\n"])
    fleet = fake_fleet(process)
    where = tmp_path / "no-such-dir" / "out.txt"
    result = await fleet.run_one("master-0", Command.of("seq", "1", output_to=str(where)))
    assert not result.ok and str(where) in result.error and "nothing was run" in result.error
    assert process.stdout.reads == 0


async def test_a_150_megabyte_line_reaches_listeners_cut_in_seconds(fake_fleet):
    piece = "y" * CHUNK
    count = 150 * 1024 * 1024 // CHUNK
    fleet = fake_fleet(FakeProcess(piece for _ in range(count)))
    lines = []
    t0 = time.perf_counter()
    result = await fleet.run_one("master-0", Command.of("cat", "big"), timeout=60,
                                 on_line=lambda stream, text: lines.append(text))
    assert time.perf_counter() - t0 < 10
    assert result.over_cap and len(result.stdout) == OUTPUT_CAP
    (line,) = lines
    assert line == "y" * LINE_CAP + cut_marker(count * CHUNK - LINE_CAP)


# --- panes ------------------------------------------------------------------------------------

def test_a_pane_line_is_bounded_and_cutting_again_changes_nothing():
    from tui.widgets.redacted_log import LINE_LENGTH, bounded

    line = "z" * LINE_CAP + cut_marker(149 * 1024 * 1024)
    (shown,) = bounded([line])
    assert len(shown) <= LINE_LENGTH
    # the count says what the line lost in all: the fleet's cut and the pane's
    assert shown == "z" * (LINE_LENGTH - 80) + cut_marker(149 * 1024 * 1024 + LINE_CAP
                                                          - (LINE_LENGTH - 80))
    assert cut_line(shown, LINE_LENGTH) == shown
    assert bounded(["short"]) == ["short"]


async def test_a_host_pane_flooded_past_a_key_begin_still_redacts_its_body():
    from textual.app import App

    from tui.widgets.host_log import MAX_LINES, HostLog

    class Panes(App):
        def compose(self):
            yield HostLog("master-0")

    app = Panes()
    async with app.run_test():
        pane = app.query_one(HostLog)
        pane.add_lines(["-----BEGIN PRIVATE KEY-----"])
        # the BEGIN line scrolls away unseen before the next flush; the body must not show
        pane.add_lines(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"] * (MAX_LINES + 5))
        pane.add_lines(["x" * 200_000])
        pane.flush()
        shown = list(pane.lines)
        assert all("MIIE" not in line for line in shown)
        assert max(len(line) for line in shown) <= 4096


# --- end to end: a drill host over SSH ------------------------------------------------------

async def test_a_drill_command_over_its_cap_fails_with_the_cap_in_its_error(tmp_path):
    async with drill_fleets(tmp_path) as start:
        lab, fleet = await start()
        result = await fleet.run_one("master-0",
                                     Command.of("seq", "1", "200000", max_output=256 * 1024),
                                     timeout=60)
        total = sum(len(f"{i}\n") for i in range(1, 200_001))
        assert not result.ok and result.exit_status == 0 and result.over_cap
        assert f"cut at 262,144 of {total:,} bytes" in result.error
        assert len(result.stdout) == 256 * 1024 and result.stdout_bytes == total
        # the session is still usable: the command was read to its end, not abandoned
        again = await fleet.run_one("master-0", Command.of("seq", "3"))
        assert again.ok and again.stdout == "1\n2\n3\n"
