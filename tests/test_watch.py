"""`etcd-dr watch JOURNAL` and `etcd-dr report JOURNAL --follow`: follow a journal while
another thread or process writes it, read-only; a torn last line waits for its newline; the
follow ends at the runbook-level finished/failed line (or a drill session's score), and Ctrl-C
ends it without a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tui.journal import Journal, read_journal
from tui.watch import JournalFollower, follow, format_record


def etcd_dr(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=timeout)


def popen(*args) -> subprocess.Popen:
    # Ctrl-C must reach the child even when the test itself runs in the background
    return subprocess.Popen([sys.executable, "-m", "tui.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def write_slowly(path: Path, torn_at: int = 3, pause: float = 0.15) -> threading.Thread:
    """A run written line by line; line `torn_at` arrives in two halves."""

    def run():
        time.sleep(pause)
        j = Journal(path, "defrag")
        j.write("-", "planned", params={"wait": 2.0}, steps=["DEF-MAN-1", "DEF-MAN-2"])
        time.sleep(pause)
        j.write("DEF-MAN-1", "started", ["master-0"])
        time.sleep(pause)
        j.write("DEF-MAN-1", "finished", ["master-0"], detail="leader master-0")
        j.close()
        raw = json.dumps({"time": "2026-11-27T10:00:00.000+00:00", "runbook": "defrag",
                          "step": "DEF-MAN-2", "event": "started", "hosts": ["master-1"],
                          "command": "etcdctl defrag"}) + "\n"
        with open(path, "ab", buffering=0) as f:
            f.write(raw[:30].encode())
            time.sleep(pause * 3)  # a watcher polls several times while the line is torn
            f.write(raw[30:].encode())
        j = Journal(path, "defrag")
        time.sleep(pause)
        j.write("DEF-MAN-2", "finished", ["master-1"], command="etcdctl defrag",
                exit_status=0, duration=0.2)
        j.write("DEF-MAN-2", "override", [], reason="short wait on purpose")
        time.sleep(pause)
        j.write("-", "finished")
        time.sleep(pause)
        j.write("-", "resumed")  # after the end: never shown, the follow has ended
        j.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_follow_renders_each_line_as_it_is_appended_and_ends_at_finished(tmp_path):
    path = tmp_path / "j.jsonl"
    writer = write_slowly(path)
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    end = follow(path, lambda text: seen.append((time.monotonic() - start, text)),
                 interval=0.05, timeout=20)
    writer.join(5)
    assert end is not None and end["event"] == "finished" and end["step"] == "-"
    texts = [t for _, t in seen]
    assert texts[0].startswith("(waiting for")  # started before the file existed
    body = texts[1:]
    assert len(body) == 7  # every line up to the end, the torn one once, whole
    assert "PLANNED defrag" in body[0]
    assert "$ [master-1] etcdctl defrag" in body[3]
    assert "exit 0 in 200ms [master-1]" in body[4]
    assert "OVERRIDE: short wait on purpose" in body[5]
    assert "FINISHED defrag" in body[6]
    assert not any("not JSON" in t for t in texts)
    # rendered as they came, not all at the end
    assert seen[-1][0] - seen[1][0] > 0.5


def test_the_follower_waits_for_a_torn_line_and_never_writes(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"time": "t", "runbook": "r", "step": "-", "event": "planned"}\n'
                    '{"time": "t", "runbook": "r", "st')
    os.chmod(path, 0o400)  # read-only: a follower needs no more
    before = path.read_bytes()
    f = JournalFollower(path)
    assert [r["event"] for r in f.poll()] == ["planned"]
    assert f.poll() == []
    os.chmod(path, 0o600)
    with open(path, "ab") as out:
        out.write(b'ep": "S-1", "event": "started"}\n')
    assert [r["step"] for r in f.poll()] == ["S-1"]
    assert path.read_bytes().startswith(before)


def test_watch_follows_a_run_in_another_process_and_exits_with_it(tmp_path):
    journal = tmp_path / "j.jsonl"
    watch = popen("watch", journal)
    time.sleep(0.5)
    run = etcd_dr("run", "defrag", "--drill", "--speed", "60", "--wait", "2s", "--yes",
                  "--journal", journal, timeout=300)
    assert run.returncode == 0, run.stderr
    out, err = watch.communicate(timeout=30)
    assert watch.returncode == 0, err
    assert "Traceback" not in err and "read-only" in err
    records = read_journal(journal)
    stamped = [line for line in out.splitlines() if line[:2].isdigit()]
    assert stamped == [format_record(r) for r in records]
    last = out.splitlines()[-1]
    assert last.startswith("-- time to recovery") and "4 command(s) sent, 0 failed" in last


def test_watch_exits_1_on_a_failed_run_and_report_follow_prints_the_report(tmp_path):
    journal = tmp_path / "j.jsonl"
    run = etcd_dr("run", "defrag", "--drill", "--scenario", "nospace", "--speed", "60",
                  "--wait", "2s", "--yes", "--journal", journal, timeout=300)
    assert run.returncode == 1
    r = etcd_dr("watch", journal)
    assert r.returncode == 1 and "FAILED defrag" in r.stdout and "not recovered" in r.stdout
    r = etcd_dr("report", journal, "--follow", "--format", "json")
    assert r.returncode == 0 and "FAILED defrag" in r.stderr  # the stream on stderr
    assert json.loads(r.stdout)["status"] == "failed"  # the report alone on stdout


def test_ctrl_c_stops_following_without_a_traceback(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text('{"time": "2026-11-27T10:00:00.000+00:00", "runbook": "backup", '
                       '"step": "-", "event": "planned", "hosts": []}\n')
    for args in (["watch", journal], ["report", journal, "--follow"]):
        p = popen(*args)
        time.sleep(2.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
        assert "Traceback" not in err and "stopped following" in err
        assert "PLANNED backup" in (out + err)
        if args[0] == "report":
            assert out.startswith("# backup: unfinished")


def _raw(path: Path, step: str, event: str, **extra) -> None:
    with open(path, "a") as f:
        f.write(json.dumps({"time": "2026-11-27T10:00:01.000+00:00", "runbook": "restore",
                            "step": step, "event": event, "hosts": [], **extra}) + "\n")


@pytest.mark.parametrize("scored", [True, False])
def test_a_drill_session_is_followed_to_its_score(tmp_path, scored):
    """As a drill session writes its journal: the session line after `planned`, the score
    just after the runbook's end; a runbook that ends no session ends the follow after a
    grace period."""
    path = tmp_path / "j.jsonl"

    def run():
        j = Journal(path, "restore")
        j.write("-", "planned")
        time.sleep(0.1)
        _raw(path, "-", "session", scenario="lost-two-hosts", objective="restore")
        time.sleep(0.1)
        _raw(path, "-", "mistake", kind="wrong-recovery-host", detail="no backup there",
             at_step="RST-01")
        j.write("-", "finished")
        time.sleep(0.3)
        if scored:
            _raw(path, "-", "score", score=90, reason="the restore runbook finished")
        j.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    lines: list[str] = []
    began = time.monotonic()
    end = follow(path, lines.append, interval=0.05, timeout=20, score_grace=1.0)
    t.join(5)
    assert end is not None
    assert any("DRILL SESSION" in x for x in lines)
    assert any("MISTAKE (wrong-recovery-host) at RST-01: no backup there" in x for x in lines)
    if scored:
        assert end["event"] == "score" and "SCORE 90 (the restore runbook finished)" in lines[-1]
    else:
        assert end["event"] == "finished" and "FINISHED restore" in lines[-1]
        assert time.monotonic() - began >= 1.0


@pytest.mark.parametrize("args", [["watch", "/nonexistent-dir/j.jsonl"]])
def test_a_journal_in_no_directory_is_refused_plainly(args):
    r = etcd_dr(*args)
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


async def test_the_tui_view_follows_the_journal_and_shows_the_totals(tmp_path):
    from textual.widgets import RichLog, Static

    from screens.watch import WatchApp

    path = tmp_path / "j.jsonl"
    app = WatchApp(path, interval=0.05)
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        assert "waiting for lines" in str(app.query_one("#watch-head", Static).render())
        writer = write_slowly(path, pause=0.05)
        for _ in range(100):
            await pilot.pause(0.05)
            if app.ended is not None:
                break
        writer.join(5)
        assert app.ended is not None and app.ended["event"] == "finished"
        log = app.query_one("#watch-log", RichLog)
        text = "\n".join(line.text for line in log.lines)
        assert "PLANNED defrag" in text and "FINISHED defrag" in text
        assert "OVERRIDE: short wait on purpose" in text
        head = str(app.query_one("#watch-head", Static).render())
        assert "FINISHED" in head and "commands 1 (0 failed)" in head and "overrides 1" in head
        assert len(app.records) == 7  # the line after the end is not read
        await pilot.press("q")


async def test_the_tui_view_stops_at_the_end_when_later_lines_come_in_the_same_read(tmp_path):
    """A journal read in one go (opened after the run, or a slow poll) holds the end and a
    line after it: the view stops at the end, as the followed run did."""
    from screens.watch import WatchApp

    path = tmp_path / "j.jsonl"
    write_slowly(path, pause=0).join(5)  # the whole run, and a line after its end
    app = WatchApp(path, interval=0.05)
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        assert app.ended is not None and app.ended["event"] == "finished"
        assert [r["event"] for r in app.records][-1] == "finished"
        assert not any(r["event"] == "resumed" for r in app.records)
        await pilot.press("q")


@pytest.mark.parametrize("command", ["watch", "report"])
def test_a_reader_that_goes_away_is_no_error(tmp_path, command):
    journal = tmp_path / "j.jsonl"
    with Journal(journal, "backup") as j:
        j.write("-", "planned")
        for i in range(3000):
            j.write(f"BAK-{i}", "started", ["master-0"], detail="x" * 50)
        j.write("-", "finished")
    r = subprocess.run(f"{sys.executable} -m tui.cli {command} {journal} | head -n 1",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert len(r.stdout.splitlines()) == 1
    assert "error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
