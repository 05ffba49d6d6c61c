"""A batch (tui/fleet/batch.py): several read commands over one SSH channel, cut back into
one result per command, as if each had run alone.

- Property, on the real `sh`: any outputs (no trailing newline, empty, the marker of another
  batch, text that looks like ours), any exit statuses: each command's stdout, stderr and
  exit status from the batch are those it gives alone.
- A run cut anywhere (timeout, lost connection): a command has an exit status only when its
  own marker came back; the first unfinished one carries the run's error and what it printed
  so far; the later ones ran not at all. Never a guessed "finished".
- On a drill, through the fleet: the status look's three reads batched give what each gives
  alone, over one channel.
"""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.backend import Backend, BackendSpec
from tui.etcd import etcdctl
from tui.fleet.batch import Batch
from tui.fleet.commands import Command
from tui.fleet.events import FleetEventKind, RunResult

BODY = 'printf %s "$1"; printf %s "$2" >&2; exit "$3"'


def cmd(out: str, err: str = "", code: int = 0) -> Command:
    return Command.of("sh", "-c", BODY, "sh", out, err, str(code))


def sh(text: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", text], capture_output=True, text=True, timeout=10,
                          check=False)


def alone(c: Command) -> tuple[str, str, int]:
    p = sh(c.render(False))
    return p.stdout, p.stderr, p.returncode


def batched(batch: Batch) -> list[RunResult]:
    p = sh(batch.render(False))
    return batch.split(RunResult("h", p.returncode, p.stdout, p.stderr, 0.1))


TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=40),
    st.sampled_from(["", "\n", "a\n\n", "@@etcd-dr-", "\n@@etcd-dr-0123456789abcdef 0 0\n",
                     "x\n@@etcd-dr-", "%s %d \\n"]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, st.integers(0, 255)), min_size=1, max_size=4))
def test_each_command_of_a_batch_gives_what_it_gives_alone(specs):
    commands = tuple(cmd(*s) for s in specs)
    results = batched(Batch(commands))
    assert [(r.stdout, r.stderr, r.exit_status, r.error) for r in results] == \
        [(*alone(c), None) for c in commands]


def test_a_batch_cut_anywhere_never_reports_an_unfinished_command_as_finished():
    batch = Batch((cmd("one\n", "e1", 0), cmd("two", "", 3), cmd("three\n", "e3\n", 0)))
    p = sh(batch.render(False))
    for cut in range(len(p.stdout) + 1):
        whole = RunResult("h", None, p.stdout[:cut], p.stderr, 15.0,
                          error="timed out after 15s", timed_out=True)
        results = batch.split(whole)
        finished = [r for r in results if r.exit_status is not None]
        assert [r.exit_status for r in finished] == [0, 3, 0][:len(finished)]
        assert all(r.error is None for r in finished)
        unfinished = results[len(finished):]
        assert all(r.error == "timed out after 15s" and r.exit_status is None
                   for r in unfinished)
        assert all(r.stdout == "" for r in unfinished[1:])  # never started
        if unfinished:  # what it printed so far, nothing of a marker
            assert "@@etcd-dr" not in unfinished[0].stdout
            assert ["one\n", "two", "three\n"][len(finished)].startswith(unfinished[0].stdout)
    # the host refused the whole (no marker at all): every command carries that error
    denied = batch.split(RunResult("h", 1, "", "sudo: a password is required\n", 0.1,
                                   error="sudo-denied"))
    assert [(r.exit_status, r.error) for r in denied] == [(None, "sudo-denied")] * 3


def test_only_plain_commands_batch():
    with pytest.raises(ValueError):
        Batch(())
    for bad in (Command.of("true", attempt="a1"), Command.of("cat", stdin="x"),
                Command.of("true", env=(("A", "b"),)), Command.of("true", output_to="/tmp/x")):
        with pytest.raises(ValueError):
            Batch((Command.of("true"), bad))
    with pytest.raises(ValueError):  # one sudo for all, or none
        Batch((Command.of("true"), Command.of("true", privileged=True)))


async def test_the_status_looks_three_reads_over_one_channel_on_a_drill():
    backend = Backend(BackendSpec(scenario="nospace", read_only=True))
    await backend.start()
    try:
        fleet, inv = backend.fleet, backend.fleet.inventory
        host = inv.host("master-0")
        reads = (etcdctl.member_list(inv, host), etcdctl.alarm_list(inv, host),
                 Command.of("stat", "-c", "%s %n", "/nonexistent", privileged=True))
        each = [await fleet.run_one("master-0", c, quiet=True) for c in reads]
        commands: list[str] = []
        fleet.subscribe(lambda e: commands.append(e.text)
                        if e.kind is FleetEventKind.COMMAND else None)
        together = await fleet.run_batch("master-0", Batch(reads))
        assert len(commands) == 1  # one channel
        for a, b in zip(each, together):
            assert (b.stdout, b.stderr, b.exit_status, b.error) == \
                   (a.stdout, a.stderr, a.exit_status, a.error)
        assert "NOSPACE" in together[1].stdout
        # a failing command's status and stderr stay its own
        assert together[2].exit_status == 1 and "No such file" in together[2].stderr
    finally:
        await backend.close()
