"""The wall's backup probe (tui/wall/backups.py) against hosts' answers, without SSH: what
it concludes from each answer, and that an answer it cannot read is unknown, never good."""

from __future__ import annotations

import asyncio
import json

import pytest

from tui.fleet.events import RunResult
from tui.fleet.readonly import refusal
from tui.inventory import Host, Inventory
from tui.wall.backups import RESTAT_S, BackupProbe

DIR = "/home/core/assets/backup"
TS = "2026-12-05_010000"
SNAP, TAR = f"snapshot_{TS}.db", f"static_kuberesources_{TS}.tar.gz"
NOW = 1_800_000_000
TAKEN = NOW - 7200
STATUS_JSON = '{"hash":1,"revision":2,"totalKey":3,"totalSize":4096}\n'
MANIFEST = json.dumps({"made_by": "etcd-dr", "encryption": "aescbc",
                       "sizes": {SNAP: 4096, TAR: 500}})
ENC_LISTING = ("static-pod-resources/kube-apiserver-pod-9/\n"
               "static-pod-resources/kube-apiserver-pod-9/secrets/encryption-config/"
               "encryption-config\n")
PLAIN_LISTING = "static-pod-resources/etcd-pod-7/\nstatic-pod-resources/etcd-pod-7/x\n"


def ok(stdout: str = "") -> RunResult:
    return RunResult("h", 0, stdout, "", 0.01)


def fail(status: int, stderr: str) -> RunResult:
    return RunResult("h", status, "", stderr, 0.01)


NOT_THERE = fail(127, "sh: line 1: /etc/kubernetes/static-pod-resources/bin/etcdutl: No such "
                      "file or directory\n")


class FakeFleet:
    """Answers by the command's program (and, for ls, by host); records what was sent."""

    def __init__(self, answers: dict, connected=("master-0", "master-1", "master-2"),
                 delays: dict | None = None):
        self.inventory = Inventory("c", tuple(Host(f"master-{i}", f"10.0.0.{i}")
                                              for i in range(3)))
        self.answers = answers
        self.connected = list(connected)
        self.sent = []
        self.delays = delays or {}

    def connected_hosts(self, role=None):
        return list(self.connected)

    async def run_one(self, host, command, quiet=False):
        self.sent.append((host, command))
        program = command.stages[0][0].rsplit("/", 1)[-1]
        if program in self.delays:
            await asyncio.sleep(self.delays[program])
        answer = self.answers.get((program, host), self.answers.get(program))
        if answer is None:
            return fail(127, f"{program}: not found")
        return answer


def answers(by_host: dict | None = None, **by_program) -> dict:
    """The default answers: a verified, encrypted pair on master-0, nothing elsewhere."""
    base = {("ls", "master-0"): ok(f"{SNAP}\n{TAR}\n"),
            "ls": ok(""),
            "date": ok(f"{NOW}\n"),
            "stat": ok(f"{TAKEN} 4096 {DIR}/{SNAP}\n{TAKEN} 500 {DIR}/{TAR}\n"),
            "etcdutl": ok(STATUS_JSON), "etcdctl": NOT_THERE,
            "cat": ok(MANIFEST), "tar": ok(ENC_LISTING)}
    base.update(by_program)
    base.update(by_host or {})
    return base


CASES = [
    # (what, answers, expected facts)
    ("a verified pair with its encryption config", answers(),
     {"newest": TS, "host": "master-0", "age_s": 7200.0, "verified": True,
      "verified_by": "etcdutl snapshot status", "encryption_config": True,
      "manifest_encryption": "aescbc"}),
    ("etcdutl missing, etcdctl reads it", answers(etcdutl=NOT_THERE, etcdctl=ok(STATUS_JSON)),
     {"verified": True, "verified_by": "etcdctl snapshot status"}),
    ("no tool: the manifest's sizes match", answers(etcdutl=NOT_THERE),
     {"verified": True, "verified_by": "etcd-dr manifest"}),
    ("no tool, the snapshot shorter than the manifest says",
     answers(etcdutl=NOT_THERE,
             stat=ok(f"{TAKEN} 1024 {DIR}/{SNAP}\n{TAKEN} 500 {DIR}/{TAR}\n")),
     {"verified": False}),
    ("no tool, no manifest: unknown", answers(etcdutl=NOT_THERE, cat=fail(1, "No such file")),
     {"verified": None, "verified_by": None}),
    ("the tool says the snapshot is broken",
     answers(etcdutl=fail(1, "Error: snapshot file integrity check failed")),
     {"verified": False}),
    ("the tool prints something unreadable: the manifest decides",
     answers(etcdutl=ok("garbage\n")), {"verified": True, "verified_by": "etcd-dr manifest"}),
    ("the tool prints something unreadable, no manifest: unknown",
     answers(etcdutl=ok("garbage\n"), cat=fail(1, "No such file")), {"verified": None}),
    ("an empty snapshot",
     answers(stat=ok(f"{TAKEN} 0 {DIR}/{SNAP}\n{TAKEN} 500 {DIR}/{TAR}\n")),
     {"verified": False}),
    ("a tarball without the encryption config", answers(tar=ok(PLAIN_LISTING)),
     {"encryption_config": False}),
    ("a tarball that cannot be listed", answers(tar=fail(2, "gzip: stdin: not in gzip format")),
     {"encryption_config": None}),
    ("the host's clock unreadable: age unknown", answers(date=fail(1, "date: broken")),
     {"age_s": None, "verified": True}),
    ("nothing on any host", answers({("ls", "master-0"): ok("")}),
     {"newest": None, "listed": ("master-0", "master-1", "master-2")}),
    ("no backup directory anywhere",
     {"ls": fail(2, f"ls: cannot access '{DIR}': No such file or directory")},
     {"newest": None, "listed": ("master-0", "master-1", "master-2")}),
    ("listing refused everywhere: unknown",
     {"ls": fail(1, "sudo: a password is required")}, {"newest": None, "listed": ()}),
    ("a snapshot without its tarball is no pair",
     answers({("ls", "master-0"): ok(f"{SNAP}\n")}), {"newest": None}),
    ("the newest pair on another host",
     answers({("ls", "master-2"): ok("snapshot_2026-12-05_020000.db\n"
                                     "static_kuberesources_2026-12-05_020000.tar.gz\n")}),
     {"newest": "2026-12-05_020000", "host": "master-2"}),
    ("a possibly dirty pair",
     answers({("ls", "master-0"): ok(f"snapshot_{TS}__POSSIBLY_DIRTY__.db\n"
                                     f"static_kuberesources_{TS}__POSSIBLY_DIRTY__.tar.gz\n")}),
     {"newest": TS, "dirty": True}),
]


@pytest.mark.parametrize("what,given,expected", CASES, ids=[c[0] for c in CASES])
async def test_backup_probe(what, given, expected):
    fleet = FakeFleet(given)
    facts = await BackupProbe(fleet, DIR).look()
    for key, value in expected.items():
        assert getattr(facts, key) == value, (key, facts)
    assert fleet.sent and all(refusal(command) is None for _, command in fleet.sent)


async def test_a_pair_is_checked_once_its_age_at_every_look():
    """The checks once; the pair's stat and the host's clock once per RESTAT_S; its age at
    every look, on the host's clock (here ten minutes of console time, the host's clock
    five seconds behind the console's)."""
    now = [NOW + 5.0]  # the console's clock
    fleet = FakeFleet(answers())
    probe = BackupProbe(fleet, DIR, clock=lambda: now[0], monotonic=lambda: now[0])
    facts = await probe.look()
    assert facts.age_s == 7200.0 and facts.verified is True
    first = len(fleet.sent)
    now[0] += 300
    facts = await probe.look()
    programs = [c.stages[0][0].rsplit("/", 1)[-1] for _, c in fleet.sent[first:]]
    assert sorted(set(programs)) == ["ls"]  # a look at a known pair: its listing only
    assert facts.age_s == 7500.0 and facts.verified is True
    # past RESTAT_S, the pair is stat'ed and the host's clock read again
    second = len(fleet.sent)
    now[0] += RESTAT_S
    fleet.answers["date"] = ok(f"{int(NOW + 300 + RESTAT_S)}\n")
    facts = await probe.look()
    programs = [c.stages[0][0].rsplit("/", 1)[-1] for _, c in fleet.sent[second:]]
    assert sorted(set(programs)) == ["date", "ls", "stat"]
    assert facts.age_s == 7500.0 + RESTAT_S and facts.verified is True


async def test_hosts_not_connected_are_said_and_not_asked():
    fleet = FakeFleet(answers(), connected=("master-0",))
    facts = await BackupProbe(fleet, DIR).look()
    assert facts.listed == ("master-0",) and facts.unlisted == ("master-1", "master-2")
    assert {host for host, _ in fleet.sent} == {"master-0"}


async def test_a_slow_check_goes_on_across_looks_that_run_out_of_time():
    """`snapshot status` of a big snapshot outlasts one look: the look ends at its limit,
    the check goes on, and a later look takes its result without sending it again."""
    fleet = FakeFleet(answers(), delays={"etcdutl": 0.5})
    probe = BackupProbe(fleet, DIR)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await probe.look()
    await asyncio.sleep(0.5)
    facts = await probe.look()
    assert facts.verified is True and facts.verified_by == "etcdutl snapshot status"
    assert [c.stages[0][0] for _, c in fleet.sent].count(
        "/etc/kubernetes/static-pod-resources/bin/etcdutl") == 1
    probe.close()


async def test_a_listing_already_read_is_used_and_not_asked_again():
    """A host whose listing rode in the status batch (`listings`) is not asked again; the
    others are, and what was read counts as if the probe had asked."""
    fleet = FakeFleet(answers())
    probe = BackupProbe(fleet, DIR)
    assert refusal(probe.listing_command()) is None
    facts = await probe.look({"master-0": ok(f"{SNAP}\n{TAR}\n")})
    asked = [host for host, c in fleet.sent if c.stages[0][0] == "ls"]
    assert sorted(asked) == ["master-1", "master-2"]
    assert facts.newest == TS and facts.host == "master-0" and facts.verified is True
    assert facts.listed == ("master-0", "master-1", "master-2")
    # a listing that failed on its host is that host's failure, as if asked
    fleet.sent.clear()
    facts = await BackupProbe(fleet, DIR).look(
        {"master-1": fail(1, "sudo: a password is required")})
    assert facts.unlisted == ("master-1",) and facts.newest == TS
    assert sorted(host for host, c in fleet.sent if c.stages[0][0] == "ls") == [
        "master-0", "master-2"]
