"""The runbook engine on the drill: checks before acting, failures stop, the journal is safe."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tui.backend import Backend, BackendSpec
from tui.fleet.commands import Command, Safety
from tui.journal import Journal, JournalState, read_journal, redact
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.model import CheckResult, Confirm, Runbook, Step, Targets
from tui.runbooks.runner import Refused, RunAborted, Runner


class ScriptedOperator:
    """Answers like an operator would, from a script; records what it was shown."""

    def __init__(self, confirm=True, decisions=()):
        self._confirm = confirm
        self.decisions = list(decisions)
        self.events = []
        self.requests = []

    async def confirm(self, request):
        self.requests.append(request)
        return self._confirm

    async def on_failure(self, step, error):
        return self.decisions.pop(0) if self.decisions else Decision("abort")

    def show(self, event):
        self.events.append(event)


@pytest.fixture
async def backend():
    b = Backend(BackendSpec(scenario="healthy"))
    await b.start()
    yield b
    await b.close()


def _file_exists(path):
    async def check(ctx, host):
        r = await ctx.fleet.run_one(host, Command.of("test", "-e", path, privileged=True),
                                    quiet=True)
        return CheckResult(r.exit_status == 0, f"{path} exists" if r.exit_status == 0
                           else f"{path} missing")
    return check


def touch_runbook(path="/var/lib/etcd/marker"):
    return Runbook(name="touch", title="Touch a marker", steps=(
        Step("T-1", "Look", "read only", targets=Targets.CONTROL_PLANE,
             commands=lambda ctx, h: [Command.of("hostname")]),
        Step("T-2", "Touch", "make the marker", targets=Targets.CHOSEN_HOST,
             commands=lambda ctx, h: [Command.of("touch", path, privileged=True,
                                                 safety=Safety.MUTATING)],
             check=_file_exists(path), safety=Safety.MUTATING, confirm=Confirm.TYPE_HOST),
    ))


def _ctx(backend, tmp_path, operator, **params):
    journal = Journal(tmp_path / "j.jsonl", "touch")
    return RunContext(backend=backend, journal=journal, operator=operator,
                      params={"host": "master-0", **params})


async def test_a_step_whose_postcondition_holds_is_already_done_and_does_not_act(backend,
                                                                                 tmp_path):
    op = ScriptedOperator()
    ctx = _ctx(backend, tmp_path, op)
    await Runner(touch_runbook(), ctx).run()
    assert "/var/lib/etcd/marker" not in backend.lab.cluster.host("master-1").files
    assert "/var/lib/etcd/marker" in backend.lab.cluster.host("master-0").files
    assert [r.kind for r in op.requests] == [Confirm.TYPE_HOST]
    assert op.requests[0].expected == "master-0"
    assert any("touch /var/lib/etcd/marker" in c for c in op.requests[0].commands)
    # second run: the check holds before acting
    op2 = ScriptedOperator()
    ctx2 = _ctx(backend, tmp_path, op2)
    await Runner(touch_runbook(), ctx2).run()
    events = [(r["step"], r["event"]) for r in read_journal(tmp_path / "j.jsonl")]
    assert events.count(("T-2", "already-done")) == 1
    assert op2.requests == []  # nothing to confirm: nothing is sent
    touches = [r for r in read_journal(tmp_path / "j.jsonl")
               if "command" in r and "touch" in r["command"] and r["event"] == "finished"]
    assert len(touches) == 1


async def test_a_failed_step_stops_the_run_and_abort_is_journaled(backend, tmp_path):
    rb = Runbook(name="touch", title="Fail", steps=(
        Step("F-1", "Break", "fails", targets=Targets.CHOSEN_HOST,
             commands=lambda ctx, h: [Command.of("mv", "/nonexistent", "/tmp",
                                                 privileged=True, safety=Safety.MUTATING)],
             check=_file_exists("/tmp/nonexistent"), safety=Safety.MUTATING),
        Step("F-2", "Never", "must not run", targets=Targets.CHOSEN_HOST,
             commands=lambda ctx, h: [Command.of("touch", "/tmp/never")]),
    ))
    op = ScriptedOperator()
    with pytest.raises(RunAborted, match="stopped at F-1"):
        await Runner(rb, _ctx(backend, tmp_path, op)).run()
    records = read_journal(tmp_path / "j.jsonl")
    failed = [r for r in records if r["event"] == "failed" and "command" in r]
    assert failed[0]["exit_status"] == 1
    assert ("F-2", "started") not in [(r["step"], r["event"]) for r in records]
    assert "/tmp/never" not in backend.lab.cluster.host("master-0").files
    assert records[-1]["step"] == "-" and records[-1]["event"] == "failed"


async def test_retry_then_skip_with_a_typed_reason_is_an_override(backend, tmp_path):
    rb = Runbook(name="touch", title="Fail", steps=(
        Step("F-1", "Break", "fails", targets=Targets.CHOSEN_HOST,
             commands=lambda ctx, h: [Command.of("false")]),
        Step("F-2", "Then", "runs", targets=Targets.CHOSEN_HOST,
             commands=lambda ctx, h: [Command.of("true")]),
    ))
    op = ScriptedOperator(decisions=[Decision("retry"), Decision("skip", "known bad probe")])
    await Runner(rb, _ctx(backend, tmp_path, op)).run()
    events = [(r["step"], r["event"]) for r in read_journal(tmp_path / "j.jsonl")
              if "command" not in r]
    assert events.count(("F-1", "failed")) == 2
    assert ("F-1", "override") in events and ("F-2", "finished") in events
    override = next(r for r in read_journal(tmp_path / "j.jsonl") if r["event"] == "override")
    assert override["reason"] == "known bad probe"


async def test_read_only_refuses_a_mutating_runbook_before_any_step(tmp_path):
    b = Backend(BackendSpec(scenario="healthy", read_only=True))
    await b.start()
    try:
        ctx = _ctx(b, tmp_path, ScriptedOperator())
        with pytest.raises(Refused, match="read-only") as e:
            await Runner(touch_runbook(), ctx).run()
        assert e.value.exit_code == 2
        assert read_journal(tmp_path / "j.jsonl") == []
    finally:
        await b.close()


async def test_resume_checks_the_in_flight_step_instead_of_acting_again(backend, tmp_path):
    # a first run acted on T-2 and died before writing "finished"
    backend.lab.cluster.host("master-0").files["/var/lib/etcd/marker"] = b""
    j = Journal(tmp_path / "j.jsonl", "touch")
    j.write("-", "planned", params={"host": "master-0"}, steps=["T-1", "T-2"])
    j.write("T-1", "started", ["master-0"])
    j.write("T-1", "finished", ["master-0"])
    j.write("T-2", "started", ["master-0"])
    j.close()
    state = JournalState.from_records(read_journal(tmp_path / "j.jsonl"))
    assert state.in_flight == "T-2" and state.done == {"T-1"}
    op = ScriptedOperator()
    ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "touch"),
                     operator=op, params=state.params)
    await Runner(touch_runbook(), ctx, resume=state).run()
    events = [(r["step"], r["event"]) for r in read_journal(tmp_path / "j.jsonl")
              if "command" not in r]
    assert ("T-2", "already-done") in events and events[-1] == ("-", "finished")
    assert ("-", "resumed") in events
    assert not any("touch" in (r.get("command") or "") for r in read_journal(tmp_path / "j.jsonl"))
    assert op.requests == []


def test_journal_lines_are_fsyncd_mode_0600_and_redacted(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    path = tmp_path / "state" / "j.jsonl"
    j = Journal(path, "backup", secrets={"hunter2-very-secret"})
    j.write("BAK-4", "started", ["master-0"],
            command="sudo -E sh -c 'export HTTPS_PROXY=http://user:pw123456@proxy:3128; x'",
            detail="token: sha256~abcdefghijklmnopqrstuvwxyz0123456789 and hunter2-very-secret")
    before = len(synced)
    j.write("BAK-4", "finished", ["master-0"])
    assert len(synced) == before + 1  # every line is fsync'd before write() returns
    j.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "hunter2" not in text and "sha256~abc" not in text and "pw123456" not in text
    first = json.loads(text.splitlines()[0])
    assert {"time", "runbook", "step", "event", "hosts"} <= first.keys()
    assert first["hosts"] == ["master-0"]


def test_a_torn_last_line_is_ignored_but_a_damaged_middle_is_an_error(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path, "backup")
    j.write("-", "planned", params={})
    j.write("BAK-0", "started")
    j.close()
    with open(path, "ab") as f:
        f.write(b'{"time": "2026-')
    assert [r["event"] for r in read_journal(path)] == ["planned", "started"]
    path.write_text('{"x": 1}\n{"time": 1}\n')
    from tui.errors import ConfigError

    with pytest.raises(ConfigError, match="line 1"):
        read_journal(path)


def test_redact_handles_nested_values():
    out = redact({"a": ["Bearer abcdefghijk", {"b": "password: hunter22"}]})
    assert "abcdefghijk" not in json.dumps(out) and "hunter22" not in json.dumps(out)


# --- countdowns and warnings ------------------------------------------------------------------


async def test_every_countdown_is_in_the_operators_time_with_its_unit(backend):
    """The runner's own polls and a custom action's wait both count down in drill seconds:
    at --speed 120 a two-minute wait starts at ~120, not at the 1 s it takes for real."""
    from tui.runbooks.model import Wait
    from tui.runbooks.runner import countdown

    async def never(ctx, host):
        return CheckResult(False, "not yet")

    async def pause(ctx, run):
        await run.wait(120, "a custom wait")
        return "paused"

    rb = Runbook(name="waits", title="Waits", steps=(
        Step("W-1", "Custom wait", "waits", action=pause),
        Step("W-2", "Poll", "polls", check=never, wait=Wait(interval=30, timeout=120)),
    ))
    op = ScriptedOperator()
    ctx = RunContext(backend=backend, journal=None, operator=op, time_scale=120)
    with pytest.raises(RunAborted) as stopped:
        await Runner(rb, ctx).run()
    for step in ("W-1", "W-2"):
        left = [e.remaining for e in op.events if e.kind == "waiting" and e.step == step]
        assert left and 100 < left[0] <= 120, (step, left)
    assert "still not done after 2m 00s (drill time, x120): not yet" in stopped.value.message
    assert countdown(250, 600) == "4m 10s left (drill time, x600)"
    assert countdown(41.6) == "42s left" and countdown(3900) == "1h 05m left"


def test_headless_shows_countdowns_with_their_unit_and_warnings_on_stderr():
    import io

    from tui.runbooks.context import RunEvent
    from tui.runbooks.headless import HeadlessOperator

    out, err = io.StringIO(), io.StringIO()
    op = HeadlessOperator(yes=True, out=out, err=err, interactive=False, time_scale=600)
    op.show(RunEvent("waiting", "RST-09", "the API to answer", remaining=250))
    op.show(RunEvent("warning", "RST-25", "WARNING: THE QUORUM GUARD IS STILL OFF"))
    op.show(RunEvent("note", "RST-25", "PV-1 check the volumes"))
    assert out.getvalue().splitlines() == [
        "[RST-09] waiting: the API to answer (4m 10s left (drill time, x600))",
        "[RST-25] PV-1 check the volumes"]
    assert err.getvalue() == "[RST-25] WARNING: THE QUORUM GUARD IS STILL OFF\n"


def _custom_action_runbook():
    """A destructive custom action (no step.commands): it decides as it goes, its preview
    says what it expects to send on each host."""
    from tui.fleet.commands import Command as Cmd

    script = "/usr/local/bin/disable-etcd.sh"

    async def act(ctx, run):
        for host in ("master-0", "master-1"):
            await run.run(host, Cmd.of("true"))
        return "disabled"

    return Runbook(name="custom", title="Custom", steps=(
        Step("C-1", "Disable etcd", "moves the etcd manifest away", action=act,
             targets=Targets.CONTROL_PLANE, safety=Safety.DESTRUCTIVE, confirm=Confirm.YES_NO,
             preview=lambda ctx: [(h, Cmd.of(script, privileged=True,
                                             safety=Safety.DESTRUCTIVE))
                                  for h in ("master-0", "master-1")]),
    ))


async def test_headless_confirmation_of_a_custom_action_shows_its_planned_commands(
        backend, monkeypatch):
    """`etcd-dr run` at a terminal: the prompt of a step without step.commands lists what
    its preview says it will send, host by host, before the operator answers."""
    import builtins
    import io

    from tui.runbooks.headless import HeadlessOperator

    out = io.StringIO()
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": prompts.append(prompt) or "y")
    op = HeadlessOperator(yes=False, out=out, interactive=True)
    ctx = RunContext(backend=backend, journal=None, operator=op)
    await Runner(_custom_action_runbook(), ctx).run()
    lines = out.getvalue().splitlines()
    asked = lines.index(next(l for l in lines if l.startswith("C-1 Disable etcd on ")))
    assert lines[asked + 1:asked + 3] == [
        "    master-0: sudo -n sh -c /usr/local/bin/disable-etcd.sh",
        "    master-1: sudo -n sh -c /usr/local/bin/disable-etcd.sh"], lines
    assert prompts == ["Go ahead? [y/N] "]
    assert "[C-1] done: disabled" in lines
