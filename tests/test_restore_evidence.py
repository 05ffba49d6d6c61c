"""Every "already done?" answer of a destructive restore command is evidence tied to this run
(tui/runbooks/attempts.py): this run's journal, or the host's record of this run's attempt.
Three answers: done, not done, unknown; unknown is the operator's to decide, and headless it
stops with exit 2, the commands to look with and the flag to continue.

The attempt record's wrapper runs here under real `sh` (its directory moved into tmp_path);
the steps run on a fake fleet that keeps attempt records as a host would.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from tui.fleet.attempts import ATTEMPTS_DIR, AttemptSeen, probe_script, wrap
from tui.fleet.commands import Command
from tui.fleet.fleet import HostState, HostStatus, RunResult
from tui.inventory import Host, Inventory
from tui.journal import Journal, read_journal
from tui.runbooks.attempts import UnknownDecision, UnknownOutcome
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.headless import HeadlessOperator
from tui.runbooks.model import Runbook
from tui.runbooks.restore import restore_runbook
from tui.runbooks.runner import RunAborted, Runner

SCRIPT = "/usr/local/bin/cluster-restore.sh /home/core/assets/backup"


# --- the wrapper, under a real shell ---------------------------------------------------------

def _sh(text: str, tmp_path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", text.replace(ATTEMPTS_DIR, str(tmp_path / "attempts"))],
                          capture_output=True, text=True, timeout=30, **kw)


def test_the_wrapper_records_start_output_and_exit_status(tmp_path):
    ok = _sh(wrap("a1-ok", "echo moved; echo warn >&2"), tmp_path)
    assert ok.returncode == 0 and ok.stdout.splitlines() == ["moved", "warn"]
    att = tmp_path / "attempts"
    assert (att / "a1-ok.start").read_text() == "a1-ok\n"
    assert (att / "a1-ok.rc").read_text() == "0\n"
    assert (att / "a1-ok.log").read_text() == "moved\nwarn\n"
    bad = _sh(wrap("a2-bad", f"ls {tmp_path}/no-such-dir"), tmp_path)
    assert bad.returncode == 2 and (att / "a2-bad.rc").read_text() == "2\n"
    assert "No such file or directory" in (att / "a2-bad.log").read_text()
    seen = AttemptSeen.parse("a2-bad", _sh(probe_script("a2-bad"), tmp_path).stdout)
    assert seen == AttemptSeen(started=True, exit_status=2, running=False)
    never = AttemptSeen.parse("a3-none", _sh(probe_script("a3-none"), tmp_path).stdout)
    assert never == AttemptSeen(started=False, exit_status=None, running=False)


def test_a_command_outlives_the_console_that_sent_it(tmp_path):
    """The reader goes away (the SSH channel of a killed console): the command is not killed
    by SIGPIPE, it ends, and its exit status is recorded; while it runs the probe says so."""
    text = wrap("a4-long", "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.2; done; "
                           "echo finished")
    proc = subprocess.Popen(["sh", "-c", text.replace(ATTEMPTS_DIR, str(tmp_path / "attempts"))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout.readline() == b"line 1\n"
    proc.stdout.close()  # the console dies
    deadline = time.monotonic() + 5
    running = AttemptSeen.parse("a4-long", _sh(probe_script("a4-long"), tmp_path).stdout)
    assert running.started and running.exit_status is None and running.running
    while not (tmp_path / "attempts" / "a4-long.rc").exists():
        assert time.monotonic() < deadline, "the command did not finish after its reader left"
        time.sleep(0.05)
    proc.wait(timeout=5)
    assert (tmp_path / "attempts" / "a4-long.rc").read_text() == "0\n"
    assert (tmp_path / "attempts" / "a4-long.log").read_text().endswith("line 6\nfinished\n")
    done = AttemptSeen.parse("a4-long", _sh(probe_script("a4-long"), tmp_path).stdout)
    assert done == AttemptSeen(started=True, exit_status=0, running=False)


def test_the_probe_never_finds_itself():
    text = probe_script("a5-x")
    assert "attempts/[a]5-x\\.rc" in text and "a5-x.rc" in text  # cat names the file...
    # ...but the pattern pgrep is given does not match the probe's own command line
    pattern = re.search(r"pgrep -f '([^']+)'", text).group(1)
    assert not re.search(pattern, text)
    assert re.search(pattern, wrap("a5-x", "true"))


@pytest.mark.parametrize("bad", ["A-upper", "a b", "a;rm", "../x", "a$(x)"])
def test_attempt_ids_are_checked(bad):
    with pytest.raises(ValueError):
        Command.of("true", attempt=bad).script()


# --- the steps, on a fake fleet with attempt records -----------------------------------------

class Hosts:
    """A fleet whose hosts keep attempt records: `outcome(host, script)` -> (status, out)
    for a recorded command; `records` may be seeded (an earlier, killed console's attempts)."""

    def __init__(self, outcome=None, files=None, lost_reader=False):
        self.status = {h: HostStatus(HostState.CONNECTED)
                       for h in ("master-0", "master-1", "master-2")}
        self.outcome = outcome or (lambda host, script: (0, "ok\n"))
        self.records: dict[tuple[str, str], dict] = {}
        self.files = files if files is not None else {}
        self.sent: list[tuple[str, str]] = []
        self.probes = 0

    def seed(self, host, attempt, rc=None, running=False, log=""):
        self.records[(host, attempt)] = {"rc": rc, "running": running, "log": log}

    async def run_one(self, host, command, timeout=None, on_line=None, quiet=False):
        text = command.plain_script()
        if command.attempt:
            self.sent.append((host, text))
            status, out = self.outcome(host, text)
            self.records[(host, command.attempt)] = {"rc": status, "running": False,
                                                      "log": out}
            return RunResult(host, status, out, "", 0.01)
        m = re.search(r"attempts/(\S+)\.start 2>/dev/null; echo", text)
        if m:
            self.probes += 1
            rec = self.records.get((host, m.group(1)))
            if rec is None:
                return RunResult(host, 1, "rc=\n", "", 0.01)
            out = f"{m.group(1)}\nrc={'' if rec['rc'] is None else rec['rc']}\n" + \
                ("running\n" if rec["running"] else "")
            if rec["running"]:
                rec["running"] = False  # it ends while the console waits
                rec["rc"] = rec.get("then", 0)
            return RunResult(host, 0 if rec["running"] else 1, out, "", 0.01)
        m = re.search(r"tail -n \d+ \S+/(\S+)\.log", text)
        if m:
            rec = self.records.get((host, m.group(1))) or {}
            return RunResult(host, 0, rec.get("log", ""), "", 0.01)
        if text.startswith("ls -A "):
            return RunResult(host, 0, self.files.get((host, text.split()[-1]), ""), "", 0.01)
        return RunResult(host, 0, "", "", 0.01)


class Operator:
    def __init__(self, unknown=UnknownDecision.ABORT):
        self.unknown = unknown
        self.questions, self.events = [], []

    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        self.failure = error
        return Decision("abort")

    async def on_unknown(self, step, question):
        self.questions.append(question)
        return self.unknown, "looked at the host"

    def show(self, event):
        self.events.append(event)


class Backend:
    def __init__(self, fleet):
        self.inventory = Inventory(cluster_name="prod", hosts=tuple(
            Host(f"master-{i}", f"10.0.0.{5 + i}") for i in range(3)))
        self.fleet, self.api, self.collector, self.read_only, self.lab = fleet, None, None, \
            False, None


def context(tmp_path, fleet, operator, path="4.18+"):
    return RunContext(backend=Backend(fleet), journal=Journal(tmp_path / "j.jsonl", "restore"),
                      operator=operator,
                      params={"recovery_host": "master-0", "backup_dir": "/home/core/assets/backup",
                              "path": path, "lost_hosts": []}, time_scale=1e6)


async def run_step(ctx, step_id, path="4.18+"):
    step = restore_runbook(path).step(step_id)
    await Runner(Runbook("restore", "t", (step,)), ctx).run()


def journal(tmp_path):
    return read_journal(tmp_path / "j.jsonl")


def killed_mid_script(tmp_path, step_id="RSTN-04", attempt="20261203000000-deadbeef"):
    """A journal whose console died just after sending the restore script."""
    j = Journal(tmp_path / "j.jsonl", "restore")
    j.write(step_id, "started", ["master-0"])
    j.write(step_id, "started", ["master-0"], command=f"sudo -n sh -c '{SCRIPT}'",
            attempt=attempt)
    j.close()
    return attempt


def script_runs(fleet):
    return [s for h, s in fleet.sent if "cluster-restore.sh" in s]


async def test_the_script_runs_once_and_a_second_run_finds_it_done_in_the_journal(tmp_path):
    fleet, op = Hosts(), Operator()
    await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert script_runs(fleet) == [SCRIPT]
    sent = [r for r in journal(tmp_path) if r.get("attempt") and r["event"] == "started"]
    assert sent and sent[0]["command"] == f"sudo -n sh -c '{SCRIPT}'"  # the command itself
    await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert len(script_runs(fleet)) == 1
    last = [r for r in journal(tmp_path) if r["step"] == "RSTN-04" and "command" not in r][-1]
    assert last["event"] == "already-done" and "exited 0 (journal)" in last["detail"]
    assert not op.questions


async def test_killed_after_the_pod_deleted_snapshot_db_the_record_says_done(tmp_path):
    """The restore pod deletes /var/lib/etcd-backup/snapshot.db seconds after it succeeds:
    the answer comes from the host's record of this run's attempt, not from that file."""
    attempt = killed_mid_script(tmp_path)
    fleet, op = Hosts(), Operator()
    fleet.seed("master-0", attempt, rc=0, log="starting restore-etcd static pod\n")
    await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert script_runs(fleet) == []
    lines = journal(tmp_path)
    assert any(r.get("attempt") == attempt and r["event"] == "finished" and
               r["exit_status"] == 0 and r["evidence"] == "attempt record" for r in lines)
    assert lines[-2]["event"] == "already-done" and "recorded on master-0" in lines[-2]["detail"]


async def test_killed_while_the_script_still_runs_waits_for_its_end(tmp_path):
    attempt = killed_mid_script(tmp_path)
    fleet, op = Hosts(), Operator()
    fleet.seed("master-0", attempt, running=True)
    await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert script_runs(fleet) == [] and fleet.probes >= 2 and not op.questions


async def test_killed_as_it_was_sent_with_an_old_restore_left_on_the_host_runs_it(tmp_path):
    """The command never reached the host (no record): an /var/lib/etcd-backup/member left by
    an earlier restore is no evidence; the script is sent, once, without a rerun question."""
    killed_mid_script(tmp_path, "RST-08")
    fleet, op = Hosts(files={("master-0", "/var/lib/etcd-backup"): "member\n"}), Operator()
    await run_step(context(tmp_path, fleet, op, "4.12-4.13"), "RST-08", "4.12-4.13")
    assert script_runs(fleet) == [SCRIPT] and not op.questions
    lines = journal(tmp_path)
    assert any("never started there" in (r.get("error") or "") for r in lines)
    assert not [r for r in lines if r["event"] == "already-done"]


async def test_a_script_that_died_without_an_exit_status_is_unknown_and_asked(tmp_path):
    attempt = killed_mid_script(tmp_path)
    fleet = Hosts()
    fleet.seed("master-0", attempt, rc=None, running=False,
               log="Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup\n")
    op = Operator(UnknownDecision.ABORT)
    with pytest.raises(Exception) as stopped:
        await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert "unknown whether" in str(stopped.value)
    [q] = op.questions
    assert q.step_id == "RSTN-04" and q.host == "master-0"
    assert "left no exit status" in q.detail
    assert any("Moving etcd data-dir" in line for line in q.seen)
    assert any(f"{attempt}.log" in c and c.startswith("ssh core@10.0.0.5") for c in q.inspect)
    assert script_runs(fleet) == []
    lines = journal(tmp_path)
    assert not [r for r in lines if r["event"] == "already-done"]
    assert lines[-1]["step"] == "-" and lines[-1]["event"] == "failed"


@pytest.mark.parametrize("answer, runs", [(UnknownDecision.DONE, 0), (UnknownDecision.RUN, 1)])
async def test_the_operators_answer_to_unknown_is_followed_and_journaled(tmp_path, answer, runs):
    attempt = killed_mid_script(tmp_path)
    fleet = Hosts()
    fleet.seed("master-0", attempt, rc=None, running=False)
    op = Operator(answer)
    await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert len(script_runs(fleet)) == runs
    lines = journal(tmp_path)
    if answer == UnknownDecision.DONE:
        [o] = [r for r in lines if r["event"] == "override"]
        assert o["reason"] == "looked at the host" and o["decision"] == "done"
        assert o["evidence"]["attempt"] == attempt
    else:
        assert [r for r in lines if r["event"] == "confirmed"
                and r.get("kind") == "assume-not-done"]


async def test_headless_yes_stops_with_exit_2_and_says_how_to_look_and_go_on(tmp_path):
    attempt = killed_mid_script(tmp_path)
    fleet = Hosts()
    fleet.seed("master-0", attempt, rc=None, running=False)
    op = HeadlessOperator(yes=True, interactive=False, out=open(os.devnull, "w"),
                          err=open(os.devnull, "w"))
    ctx = context(tmp_path, fleet, op)
    op.ctx = ctx
    with pytest.raises(UnknownOutcome) as stopped:
        await run_step(ctx, "RSTN-04")
    assert stopped.value.exit_code == 2
    text = stopped.value.message
    assert "Add --yes" not in text
    assert f"ssh core@10.0.0.5 'sudo cat /var/lib/etcd-dr/attempts/{attempt}.log'" in text
    assert "--assume RSTN-04=done" in text and "--assume RSTN-04=not-done" in text
    assert script_runs(fleet) == []
    # the same run again with --assume RSTN-04=done: not sent, journaled as an override
    op2 = HeadlessOperator(yes=True, interactive=False, out=open(os.devnull, "w"),
                           assume={"RSTN-04": "done"})
    ctx2 = context(tmp_path, fleet, op2)
    op2.ctx = ctx2
    await run_step(ctx2, "RSTN-04")
    assert script_runs(fleet) == []
    assert [r for r in journal(tmp_path) if r["event"] == "override"
            and r["reason"] == "--assume RSTN-04=done"]


@pytest.mark.parametrize("path, log, listing, advice", [
    ("4.14-4.17", "tar: Unexpected EOF in archive",
     {"/var/lib/etcd": "", "/var/lib/etcd-backup": "member\n"},
     "had already moved etcd's data to /var/lib/etcd-backup/member"),
    ("4.18+", "folder /var/lib/etcd is not empty, please review and remove all files in it",
     {"/var/lib/etcd": "stray.txt\n", "/var/lib/etcd-backup": "snapshot.db\n"},
     "stopped at its empty-directory check"),
])
async def test_a_failed_script_is_never_done_and_says_where_it_stopped(tmp_path, path, log,
                                                                       listing, advice):
    """Killed console, the script went on and failed at one of its failure points: the
    record's exit status is a failure (not already-done), with the host's state and what to
    do; a retry sends it again."""
    step_id = "RSTN-04" if path == "4.18+" else "RST-08"
    attempt = killed_mid_script(tmp_path, step_id)
    fleet = Hosts(files={("master-0", k): v for k, v in listing.items()})
    fleet.seed("master-0", attempt, rc=1, log=log + "\n")
    op = Operator()
    with pytest.raises(RunAborted):
        await run_step(context(tmp_path, fleet, op, path), step_id, path)
    assert advice in op.failure and log in op.failure
    assert "exited 1 (recorded on the host" in op.failure
    lines = journal(tmp_path)
    assert not [r for r in lines if r["event"] == "already-done"]
    assert any(r.get("attempt") == attempt and r["event"] == "failed" and r["exit_status"] == 1
               for r in lines)
    # retried (the same journal, run again): a new attempt is sent
    await run_step(context(tmp_path, fleet, Operator(), path), step_id, path)
    assert script_runs(fleet) == [SCRIPT]


async def test_rst04_never_guesses_a_move_it_did_not_make(tmp_path):
    """No record in this run and the manifest already gone: unknown, asked; not 'already in
    /tmp' on a guess."""
    present = {"/var/lib/etcd", "/etc/kubernetes/manifests/kube-apiserver-pod.yaml"}

    class Files(Hosts):
        async def run_one(self, host, command, timeout=None, on_line=None, quiet=False):
            text = command.plain_script()
            if text.startswith("test -e "):
                return RunResult(host, 0 if text.split()[-1] in present else 1, "", "", 0.01)
            if text.startswith("crictl"):
                return RunResult(host, 1, "", "", 0.01)
            return await super().run_one(host, command, timeout, on_line, quiet)

    fleet, op = Files(), Operator(UnknownDecision.DONE)
    ctx = context(tmp_path, fleet, op, "4.12-4.13")
    ctx.params["lost_hosts"] = ["master-2"]
    ctx.params["lost_evidence"] = {"master-2": "confirmed lost by the operator: --lost"}
    await run_step(ctx, "RST-04", "4.12-4.13")
    [q] = op.questions
    assert q.step_id == "RST-04a" and q.host == "master-1"
    assert "/etc/kubernetes/manifests/etcd-pod.yaml: missing" in q.seen
    assert [s for h, s in fleet.sent] == [
        "mv -v /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp",
        "mv -v /var/lib/etcd/ /tmp"]


def test_a_recorded_exit_status_ends_the_attempt_whatever_pgrep_saw():
    """The wrapper's outer shell can still be exiting after it wrote the status."""
    seen = AttemptSeen.parse("a6-x", "a6-x\nrc=0\nrunning\n")
    assert seen == AttemptSeen(started=True, exit_status=0, running=False)
    assert AttemptSeen.parse("a6-x", "a6-x\nrc=\nrunning\n").running


async def test_a_script_whose_output_went_over_the_cap_fails_the_step(tmp_path):
    # issue 13: exit 0 with its output cut is never a silent success, under an attempt
    # record too; the cap's message reaches the operator
    class Flood(Hosts):
        async def run_one(self, host, command, timeout=None, on_line=None, quiet=False):
            result = await super().run_one(host, command, timeout, on_line, quiet)
            if command.attempt:
                from dataclasses import replace as _replace
                result = _replace(result, error="output over 16 MiB (cap): cut", over_cap=True)
            return result

    fleet, op = Flood(), Operator()
    with pytest.raises(RunAborted):
        await run_step(context(tmp_path, fleet, op), "RSTN-04")
    assert "output over 16 MiB (cap)" in op.failure
    assert len(script_runs(fleet)) == 1
