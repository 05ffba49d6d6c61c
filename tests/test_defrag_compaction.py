"""The optional compaction before a defrag (DEF-CMP-1), headless on the drill."""

from __future__ import annotations

from tests.cli_runner import run_cli
from tui.journal import read_journal


def test_compaction_runs_only_when_chosen_and_is_journaled(tmp_path):
    def run(*extra):
        journal = tmp_path / f"j{len(extra)}.jsonl"
        r = run_cli("run", "defrag", "--drill",
                    "--speed", "60", "--wait", "1s", "--yes", "--journal", str(journal),
                    *extra, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return [x for x in read_journal(journal)]

    plain = run()
    assert ("DEF-CMP-1", "skipped") in [(r["step"], r["event"]) for r in plain]
    compacted = run("--compact")
    commands = [r["command"] for r in compacted
                if r["step"] == "DEF-CMP-1" and "command" in r and r["event"] == "finished"]
    assert any("compaction " in c for c in commands)
    done = next(r for r in compacted if r["step"] == "DEF-CMP-1" and r["event"] == "finished"
                and "command" not in r)
    assert done["detail"].startswith("history compacted to revision ")
    order = [r["step"] for r in compacted if r["event"] == "started" and "command" not in r
             and r["step"] in ("DEF-CMP-1", "DEF-MAN-2")]
    assert order.index("DEF-CMP-1") < order.index("DEF-MAN-2")


def test_read_only_refuses_a_compaction():
    from tui.etcd import etcdctl
    from tui.fleet.readonly import refusal
    from tui.inventory import parse_inventory

    inv = parse_inventory("cluster: {name: c}\nhosts:\n  - {name: m0, address: 10.0.0.5}\n")
    assert refusal(etcdctl.etcdctl(inv, inv.hosts[0], "compaction", "123")) is not None
