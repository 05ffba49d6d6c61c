"""Drill and lab agree (issue #11, item 5): the same host commands, run on a lab host (real
sshd, etcd, bash, coreutils and the lab's stand-ins of OpenShift's host scripts, which follow
../shared/reference/UPSTREAM.md) and on a drill host of the same release, print the same and
exit the same.

The corpus (tests/lab/corpus.py): every host command any runbook plans in any scenario's dry
run, every command those dry runs sent (the preflights' probes), the commands in backticks in
the scenarios' drill sections, and the attempt-record wrapper (tui/fleet/attempts.py) around
a harmless command with its probe. Each command runs on the lab release its scenario maps to
(4.12/4.13 -> "4.13", 4.14-4.17 -> "4.16", 4.18-4.20 -> "4.18", 4.21+ -> "4.21"), on the
host its plan names, against one three-host lab (etcd 3.5, kubelet stand-in) and one drill
per release, both shared by the whole module. The drill is a healthy three-host cluster of
the release (an inline scenario; its etcd is the lab's etcd version, 3.6.5 on 4.21 where
the lab has no etcd 3.6).

stdout, stderr and the exit status are compared after normalising what differs between any
two clusters: addresses, ports and URLs, member/cluster/container ids and uuids, times and
ages, data-dependent sizes, counters and the backup's timestamp, temporary paths, and the
width of tabular columns (it follows the ids). A difference fails the test unless an entry
of tests/differential_allowlist.yaml (a `command` regex, the `compare` fields it skips, a
`reason`) covers it. A command that meets "not available in this drill build" on the drill
fails outright: no allow-list entry excuses it.

Commands change state, so they run in phases, the same phases in the same order on both
sides (a state-changing command is compared in full like any other, in a scripted order):
  1. setup: /home/core/assets/backup emptied, then cluster-backup.sh into it on master-0
     (the corpus's own backup command: it is compared), so both sides hold exactly one
     backup pair, whose timestamp replaces the one in the commands that name backup files;
  2. every read-only command, concurrently (nothing has been stopped yet);
  3. the attempt-record wrapper, then its probe;
  4. the state-changing commands (moves, rm, the restore/disable/quorum scripts, systemctl
     restart, defrag, alarm disarm) and the checks planned between them (RST-04's
     `crictl ps | grep` waits), one at a time, in the order the corpus first planned them;
     a command planned for several hosts runs on the first one named.
So a destructive command is compared against the state the commands before it left, on
both sides: the lab is thrown away afterwards.

The lab runs etcdctl itself where the drill runs it in the etcdctl container (`crictl exec
... etcdctl ARGS`, which the lab's crictl stand-in does not have): the same ARGS, plain
http (the lab's etcd has no TLS), as the lab inventory's `etcdctl` prefix does. That is
the only rewrite.

Harvesting the dry runs takes CPU seconds per scenario: it runs in two worker processes
while the labs start. DIFFERENTIAL_TIMINGS=1 prints when each phase ends;
DIFFERENTIAL_DUMP=FILE writes every run, both sides, as JSON for a human to read.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import time

import asyncssh
import pytest
import yaml

from tests.lab import corpus as corpus_mod
from tests.lab.corpus import Entry, Record, fill_addresses

pytest_plugins = ["tests.lab.fixtures"]
# the module fixture starts a lab and a drill per release (about 60 s on an idle 2-core
# machine, counted in the first test): room for a loaded one
pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[1]
ALLOWLIST = Path(__file__).with_name("differential_allowlist.yaml")
RELEASES = ("4.13", "4.16", "4.18", "4.21")
# the drill of each lab release: the OpenShift version most of the corpus's scenarios run
DRILL_VERSIONS = {"4.13": "4.12.30", "4.16": "4.16.20", "4.18": "4.18.5", "4.21": "4.21.3"}
LAB_ETCD = "3.5"
DRILL_SPEED = 10.0
NOT_AVAILABLE = "not available in this drill build"
BACKUP = "/home/core/assets/backup"
BACKUP_COMMAND = f"sudo -n sh -c {shlex.quote(f'/usr/local/bin/cluster-backup.sh {BACKUP}')}"
COMMAND_TIMEOUT = 45.0
WORKERS = 2  # harvest processes

# state-changing commands (phase 4), by their text
MUTATING = re.compile(r"^(sudo (-n )?)?(sh -c ')?(mv|rm|cp|mkdir|tee|touch)\s"
                      r"|^(sudo (-n )?)?(sh -c ')?/usr/local/bin/(cluster-restore|disable-etcd|"
                      r"quorum-restore|cluster-backup)\.sh"
                      r"|systemctl\s+(restart|start|stop)\s|\sdefrag'?$|alarm\s+disarm'?$")
STEP_ORDER = re.compile(r": (backup|defrag|restore|quorum-restore) ([A-Z]+)-(?:[A-Z]+-)?(\d+)$")
RUNBOOK_ORDER = {"backup": 0, "defrag": 1, "restore": 2, "quorum-restore": 3}


def procedure_order(entry: Entry) -> tuple[int, int]:
    """Where the state-changing commands run: runbook by runbook (backup, defrag, restore,
    quorum-restore), step by step, as an operator would go through them."""
    found = [(RUNBOOK_ORDER[m[1]], int(m[3])) for m in map(STEP_ORDER.search, entry.origins)
             if m]
    return min(found) if found else (9, 0)
# read-only checks that belong between the moves (phase 4): the plan's waits for stopped pods
ORDERED_STEPS = re.compile(r": restore RST-04$")
IN_CONTAINER = re.compile(r"^crictl exec \"\$\(crictl ps --name '\^etcdctl\$' --state running "
                          r"-q \| head -n 1\)\" env -u ETCDCTL_ENDPOINTS etcdctl (.*)$", re.S)


# --- normalising ---------------------------------------------------------------------------

_NORMALISE = [
    # backup file timestamps, then dates and times
    (re.compile(r"\d{4}-\d{2}-\d{2}_\d{6}"), "<ts>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}|"
                r" [+-]\d{4}( [A-Z]{3,4})?)?"), "<time>"),
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
                r"Nov|Dec) +\d+ \d{2}:\d{2}:\d{2}( [A-Z]{3,4})? \d{4}\b"), "<time>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}\b"), "<time>"),
    (re.compile(r'"ts":\d+(\.\d+)?'), '"ts":<time>'),  # zap's epoch seconds
    (re.compile(r"\b(Less than a second|About an? (minute|hour)|\d+ (seconds?|minutes?|hours?|"
                r"days?|weeks?))( ago)?\b"), "<age>"),
    # etcd 3.5's snapshot save says how long it took as an age (humanize.Time): "now" under a
    # second, "1 second ago" on a loaded machine; how fast it ran is a race, not a behaviour
    (re.compile(r'"took":"now"'), '"took":"<age>"'),
    # uuids, ids
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{13}\b"), "<id>"),  # crictl's truncated container/pod ids
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,16}\b"), "<id>"),
    (re.compile(r'"(ID|id|member_id|cluster_id|clusterId|leader|clusterID|memberID)"'
                r"\s*:\s*\d+"), r'"\1": <id>'),
    # addresses, urls
    (re.compile(r"\bhttps?://127\.\d+\.\d+\.\d+(:\d+)?"), "<url>"),
    (re.compile(r"\b127\.\d+\.\d+\.\d+(:\d+)?\b"), "<addr>"),
    # data-dependent counters and sizes
    (re.compile(r'"(dbSize|dbSizeInUse|dbSizeQuota|raftIndex|raftAppliedIndex|raftTerm|'
                r'raft_term|revision|hash|totalKey|totalSize|maxRaftIndex|size)"\s*:\s*\d+'),
     r'"\1": <n>'),
    (re.compile(r"\b\d+(\.\d+)?\s?(B|kB|KB|KiB|MB|MiB|GB|GiB)\b"), "<size>"),
    # static pod revisions (kube-apiserver-pod-9): how many rollouts the cluster has had
    (re.compile(r"\b((?:kube-apiserver|kube-controller-manager|kube-scheduler|etcd)-pod)-\d+\b"),
     r"\1-<rev>"),
    # temporary paths
    (re.compile(r"/(var/)?tmp/(tmp|etcd-dr-)[\w.-]+"), "<tmpdir>"),
]


def _member_order(text: str) -> str:
    """etcdctl lists members (and `endpoint status --cluster` its rows) in the order of the
    members' ids, which are random: order them by name (rows: by their text). Only compact
    JSON as etcdctl prints it is reordered, and printed back byte for byte the same way."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if json.dumps(data, separators=(",", ":")) != text.strip():
        return text
    if isinstance(data, dict) and isinstance(data.get("members"), list):
        data["members"].sort(key=lambda m: str(m.get("name", "")) if isinstance(m, dict) else "")
    elif isinstance(data, list):
        data.sort(key=lambda row: _regex_normalise(json.dumps(row, separators=(",", ":"))))
    return json.dumps(data, separators=(",", ":")) + ("\n" if text.endswith("\n") else "")


def _regex_normalise(text: str) -> str:
    for pattern, repl in _NORMALISE:
        text = pattern.sub(repl, text)
    return text


def normalise(text: str) -> str:
    text = _regex_normalise(_member_order(text))
    # a wait's progress dots ("Waiting for container etcd to stop" ...complete) count seconds
    text = re.sub(r"(?m)^\.+(?=complete$)", "", text)
    # tabular output (crictl's columns) is padded to its widest cell: compare the cells
    lines = [re.sub(r"[ \t]+", " ", line).rstrip() for line in text.splitlines()]
    return "\n".join(line for line in lines)


# --- running -------------------------------------------------------------------------------

@dataclass
class Ran:
    exit: int | None
    stdout: str
    stderr: str

    def norm(self) -> dict[str, object]:
        stdout, exit_status = self.stdout, self.exit
        # the attempt probe: on a real host the wrapper's outer shell may still be exiting
        # when its exit status is already recorded, so pgrep can still see it ("running",
        # exit 0) or not (exit 1): a race, not a behaviour. With rc= holding a status the
        # console reads the attempt as ended either way (tui/fleet/attempts.AttemptSeen)
        if re.search(r"(?m)^rc=\d+\nrunning$", stdout):
            stdout, exit_status = re.sub(r"(?m)^(rc=\d+)\nrunning$", r"\1", stdout), 1
        return {"exit": exit_status, "stdout": normalise(stdout),
                "stderr": normalise(self.stderr)}


@dataclass
class Side:
    """One side (the lab or the drill) of a release: SSH connections per host, and how a
    corpus command is filled in for it."""

    name: str
    addresses: dict[str, str]
    conns: dict[str, asyncssh.SSHClientConnection] = field(default_factory=dict)
    backup_ts: str = ""
    etcdctl: str | None = None  # the lab: run etcdctl itself (no etcdctl container)

    def text(self, command: str) -> str:
        text = fill_addresses(command, self.addresses)
        text = re.sub(r"\d{4}-\d{2}-\d{2}_\d{6}", self.backup_ts or r"\g<0>", text)
        if self.etcdctl is not None:
            text = self._direct_etcdctl(text)
        return text

    def _direct_etcdctl(self, text: str) -> str:
        words = shlex.split(text)
        if words[:4] != ["sudo", "-n", "sh", "-c"] or len(words) != 5:
            return text
        m = IN_CONTAINER.match(words[4])
        if not m:
            return text
        args = m[1].replace("https://", "http://")
        return f"sudo -n sh -c {shlex.quote(f'ETCDCTL_API=3 {self.etcdctl} {args}')}"

    async def run(self, host: str, command: str, timeout: float = COMMAND_TIMEOUT) -> Ran:
        conn = self.conns.get(host)
        if conn is None:
            return Ran(None, "", f"(no host {host} on the {self.name})")
        try:
            r = await asyncio.wait_for(conn.run(self.text(command), check=False), timeout)
        except asyncio.TimeoutError:
            return Ran(None, "", f"(timed out after {timeout:g}s on the {self.name})")
        except (OSError, asyncssh.Error) as e:
            return Ran(None, "", f"(ssh to {host} on the {self.name} failed: {e})")
        return Ran(r.exit_status, str(r.stdout or ""), str(r.stderr or ""))


async def until_nothing_found(side: Side, host: str, command: str,
                              timeout: float = 30.0) -> Ran:
    """A wait the plan makes between the moves (`crictl ps | grep etcd ...` until it finds
    nothing): run it until it exits non-zero, as the runbook polls, and keep the last run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ran = await side.run(host, command)
        if ran.exit != 0 or loop.time() > deadline:
            return ran
        await asyncio.sleep(0.5)


ETCD_BACK = ("sudo -n sh -c " + shlex.quote(
    "test -f /var/lib/etcd/member/snap/db && "
    "crictl ps --name '^etcd$' --state running -q | grep -q ."))


async def until_etcd_runs(side: Side, host: str, timeout: float = 30.0) -> None:
    """Until the host's member has its data back and runs (the restore pod restores, then
    the member starts, seconds after the script ended)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if (await side.run(host, ETCD_BACK)).exit == 0:
            return
        await asyncio.sleep(0.5)


@dataclass
class Compared:
    entry: Entry
    lab: Ran
    drill: Ran
    phase: str

    def differences(self) -> set[str]:
        a, b = self.lab.norm(), self.drill.norm()
        return {k for k in ("exit", "stdout", "stderr") if a[k] != b[k]}

    def show(self, fields: set[str]) -> str:
        a, b = self.lab.norm(), self.drill.norm()
        lines = [f"{self.entry}  ({self.phase}; from {'; '.join(self.entry.origins[:3])})"]
        for k in sorted(fields):
            # from a little before where they part: a long stderr differs past any limit
            start = max(0, _common_prefix(repr(a[k]), repr(b[k])) - 120)
            lines.append(f"  {k}: lab {_short(a[k], start)} | drill {_short(b[k], start)}")
        return "\n".join(lines)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _short(value: object, start: int = 0, limit: int = 400) -> str:
    text = repr(value)
    head = "'..." if start else ""
    text = head + text[start:]
    return text if len(text) <= limit else text[:limit] + "...'"


# --- the allow-list ------------------------------------------------------------------------

@dataclass
class Allowed:
    command: re.Pattern
    compare: set[str]
    reason: str
    releases: set[str] | None
    used: int = 0
    matched: int = 0

    def covers(self, entry: Entry) -> bool:
        return bool(self.command.search(entry.command)) and (
            self.releases is None or entry.release in self.releases)


def load_allowlist() -> list[Allowed]:
    data = yaml.safe_load(ALLOWLIST.read_text()) or []
    out = []
    keys = {"command", "compare", "reason", "releases"}
    for i, item in enumerate(data):
        assert set(item) <= keys, f"allow-list entry {i}: unknown keys {sorted(set(item) - keys)}"
        assert item.get("reason", "").strip(), f"allow-list entry {i} has no reason"
        compare = set(item.get("compare") or ())
        assert compare and compare <= {"exit", "stdout", "stderr"}, \
            f"allow-list entry {i}: compare must list exit, stdout and/or stderr"
        releases = item.get("releases")
        out.append(Allowed(re.compile(item["command"]), compare, item["reason"].strip(),
                           {str(r) for r in releases} if releases else None))
    return out


# --- the module's labs, drills and runs ----------------------------------------------------

def inline_scenario(release: str, etcd_version: str) -> str:
    version = DRILL_VERSIONS[release]
    etcd = "3.6.5" if release == "4.21" else etcd_version
    return yaml.safe_dump({
        "name": f"differential-{release}",
        "description": f"Three healthy control-plane hosts on OpenShift {version}: the "
                       f"drill side of tests/test_differential.py.",
        "version": version, "control_plane": 3, "workers": 0,
        "etcd": {"version": etcd, "leader": "master-1", "db_size_mb": 1, "in_use_mb": 1},
        "api": {"network_type": "OVNKubernetes", "platform": "AWS", "machines": True},
    }, sort_keys=False)


async def harvest() -> list[Record]:
    names = corpus_mod.scenario_names()
    chunks = [names[i::WORKERS] for i in range(WORKERS)]
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.lab.corpus", "--scenarios", *chunk, cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for chunk in chunks]
    records: list[Record] = []
    for proc in procs:
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise AssertionError(f"harvesting the dry runs failed ({proc.returncode}):\n"
                                 f"{err.decode(errors='replace')[-3000:]}")
        records += [Record(**json.loads(line)) for line in out.decode().splitlines() if line]
    order = {name: i for i, name in enumerate(names)}  # the corpus's order: the scenarios'
    return sorted(records, key=lambda r: order[r.scenario])  # (stable within a scenario)


def phase_of(entry: Entry) -> str:
    if entry.command == BACKUP_COMMAND:
        return "setup"
    if "attempt" in entry.kinds:
        return "attempt"
    if MUTATING.search(entry.command):
        return "ordered"
    if any(ORDERED_STEPS.search(o) for o in entry.origins):
        return "wait"
    return "read-only"


async def connect(address: str, port: int, user: str, key: str, known_hosts: str):
    return await asyncssh.connect(address, port=port, username=user, client_keys=[key],
                                  known_hosts=known_hosts, config=None, connect_timeout=10)


async def compare_release(release: str, entries: list[Entry], lab, drill_lab, inventory
                          ) -> list[Compared]:
    from tests.lab.lab import etcd_binaries

    lab_side = Side("lab", {h.name: h.address for h in lab.hosts},
                    etcdctl=etcd_binaries(lab.etcd)[1])
    drill_side = Side("drill", {h.name: h.address for h in inventory.hosts})
    for h in lab.hosts:
        lab_side.conns[h.name] = await connect(h.address, lab.port, "root", str(lab.key_path),
                                               str(lab.known_hosts_path))
    for h in inventory.hosts:
        drill_side.conns[h.name] = await connect(h.address, h.port, inventory.ssh.user,
                                                 inventory.ssh.identity_file,
                                                 inventory.ssh.known_hosts)
    results: list[Compared] = []
    try:
        # 1. setup: one backup pair on both sides
        for side in (lab_side, drill_side):
            await side.run("master-0", f"sudo -n sh -c {shlex.quote(f'rm -rf {BACKUP}')}")
        # on master-0 whichever host planned it: the restore's commands read it there
        backup_entry = next((e for e in entries if e.command == BACKUP_COMMAND),
                            Entry(release, "master-0", BACKUP_COMMAND, {"setup"}, ["setup"]))
        backup_entry.host = "master-0"
        _mark(f"{release}: backup start")
        lab_run, drill_run = await asyncio.gather(
            lab_side.run("master-0", BACKUP_COMMAND, 90), drill_side.run("master-0",
                                                                         BACKUP_COMMAND, 90))
        if backup_entry in entries:
            results.append(Compared(backup_entry, lab_run, drill_run, "setup"))
        for side in (lab_side, drill_side):
            listing = await side.run("master-0", f"ls -1 {BACKUP}")
            stamps = re.findall(r"snapshot_(\d{4}-\d{2}-\d{2}_\d{6})\.db", listing.stdout)
            side.backup_ts = stamps[-1] if stamps else ""

        _mark(f"{release}: backup done")
        # 2. read-only commands, concurrently
        limit = asyncio.Semaphore(6)

        async def both(entry: Entry, phase: str) -> Compared:
            run = until_nothing_found if phase == "wait" else Side.run
            async with limit:
                a, b = await asyncio.gather(run(lab_side, entry.host, entry.command),
                                            run(drill_side, entry.host, entry.command))
            return Compared(entry, a, b, phase)

        reads = [e for e in entries if phase_of(e) == "read-only"]
        results += await asyncio.gather(*(both(e, "read-only") for e in reads))
        # 3. the attempt record, then its probe; 4. the state-changing commands, in order
        _mark(f"{release}: reads done")
        for e in (e for e in entries if phase_of(e) == "attempt"):
            results.append(await both(e, "attempt"))
        ordered = [e for e in entries if phase_of(e) in ("ordered", "wait")]
        previous: Entry | None = None
        for e in sorted(ordered, key=procedure_order):  # stable: the plan's order in a step
            if previous is not None and procedure_order(e)[0] != procedure_order(previous)[0]:
                # the next runbook starts once the last one's work is done: its host's etcd
                # member runs again (the restore pod restores seconds after the script ends)
                await asyncio.gather(*(until_etcd_runs(side, previous.host)
                                       for side in (lab_side, drill_side)))
            results.append(await both(e, phase_of(e)))
            previous = e
            _mark(f"{release}: {phase_of(e)} {e.command[:70]}")
    finally:
        for side in (lab_side, drill_side):
            for conn in side.conns.values():
                conn.close()
    return results


TIMINGS: dict[str, float] = {}
_T0 = time.monotonic()


def _mark(what: str) -> None:
    TIMINGS[what] = round(time.monotonic() - _T0, 2)
    if os.environ.get("DIFFERENTIAL_TIMINGS"):
        print(f"[differential {TIMINGS[what]:7.2f}s] {what}", file=sys.stderr, flush=True)


async def run_everything(tmp: Path) -> dict:
    from tests.lab.fixtures import require_lab
    from tests.lab.lab import Lab, LabError, etcd_binaries
    from tui.drill.lab import DrillLab
    from tui.drill.model import SimClock

    require_lab(LAB_ETCD)
    loop = asyncio.get_running_loop()
    labs: dict[str, Lab] = {}
    drills: dict[str, DrillLab] = {}
    pool = ThreadPoolExecutor(max_workers=len(RELEASES))

    def start_lab(release: str) -> Lab:
        lab = Lab(hosts_count=3, etcd=LAB_ETCD, kubelet=True, openshift=release,
                  label=f"dfx{release.replace('.', '')}")
        labs[release] = lab
        return lab.start()

    try:
        harvesting = asyncio.ensure_future(harvest())
        starting = [loop.run_in_executor(pool, start_lab, r) for r in RELEASES]
        # the drill's members run the lab's etcd version, so version strings compare
        probe = await asyncio.create_subprocess_exec(
            etcd_binaries(LAB_ETCD)[0], "--version", stdout=asyncio.subprocess.PIPE)
        version_out, _ = await probe.communicate()
        found = re.search(r"etcd Version: (\S+)", version_out.decode())
        etcd_version = found[1] if found else "3.5.1"
        inventories = {}
        for release in RELEASES:
            path = tmp / f"differential-{release}.yaml"
            path.write_text(inline_scenario(release, etcd_version))
            # simulated time 10x: the drill's kubelet stops containers in simulated seconds
            drills[release] = DrillLab(str(path), workdir=tmp / f"drill-{release}",
                                       address_base="127.0.3", speed=DRILL_SPEED,
                                       clock=SimClock(DRILL_SPEED))
            inventories[release] = await drills[release].start()
        _mark("drills started")
        try:
            await asyncio.gather(*starting)
            _mark("labs started")
        except LabError as e:
            pytest.fail(f"a lab did not start: {e}", pytrace=False)
        records = await harvesting
        _mark("harvested")
        records += corpus_mod.hint_records()
        records += corpus_mod.attempt_records(DRILL_VERSIONS)
        corpus = corpus_mod.build_corpus(records)
        compared = await asyncio.gather(*(
            compare_release(r, corpus.get(r, []), labs[r], drills[r], inventories[r])
            for r in RELEASES))
        results = dict(zip(RELEASES, compared))
        dump = os.environ.get("DIFFERENTIAL_DUMP")
        if dump:  # every run, both sides, for a human to read: DIFFERENTIAL_DUMP=file.json
            Path(dump).write_text(json.dumps([
                {"release": r, "host": c.entry.host, "command": c.entry.command,
                 "phase": c.phase, "origins": c.entry.origins, "differs": sorted(c.differences()),
                 "lab": c.lab.__dict__, "drill": c.drill.__dict__}
                for r, cs in results.items() for c in cs], indent=1))
        return {"records": records, "corpus": corpus, "results": results}
    finally:
        for drill in drills.values():
            await drill.stop()
        for lab in labs.values():
            await loop.run_in_executor(pool, lab.stop)
        pool.shutdown(wait=False)


@pytest.fixture(scope="module")
def differential():
    with tempfile.TemporaryDirectory(prefix="etcd-dr-differential-") as tmp:
        yield asyncio.run(run_everything(Path(tmp)))


# --- the tests -----------------------------------------------------------------------------

def test_the_corpus_covers_every_runbook_scenario_hint_and_the_attempt_record(differential):
    records = differential["records"]
    planned = {(r.scenario, r.origin.split()[0]) for r in records if r.kind == "plan"}
    # the scenarios whose dry runs plan host commands (the others are refused, or API-only)
    assert ("healthy", "backup") in planned
    assert ("nospace", "defrag") in planned
    assert ("lost-two-hosts", "restore") in planned
    assert ("lost-two-hosts-4.16", "restore") in planned
    assert ("lost-two-hosts-4.21", "restore") in planned
    assert ("quorum-lost-4.21", "quorum-restore") in planned
    commands = {e.command for entries in differential["corpus"].values() for e in entries}
    assert "sudo /usr/local/bin/cluster-restore.sh /home/core/assets/backup" in commands
    assert "sudo /usr/local/bin/disable-etcd.sh" in commands
    # the preflights' probes, as sent: the backup's snapshot status, the scripts' presence
    assert any(r.kind == "sent" and "snapshot status" in r.command for r in records)
    assert any(r.kind == "sent" and "test -e /usr/local/bin/disable-etcd.sh" in r.command
               for r in records)
    assert any(r.kind == "hint" and r.command == "sudo pcs status" for r in records)
    assert {r.origin for r in records if r.kind == "attempt"} == {
        "attempt wrap()", "attempt probe_script()"}
    assert set(differential["corpus"]) == set(RELEASES)


def test_no_command_meets_a_command_the_drill_does_not_have(differential):
    missing = [c.show({"stdout", "stderr"}) for results in differential["results"].values()
               for c in results if NOT_AVAILABLE in c.drill.stdout + c.drill.stderr]
    assert not missing, ("the drill does not have what these commands use (no allow-list "
                         "for this):\n" + "\n".join(missing))


@pytest.mark.parametrize("release", RELEASES)
def test_drill_and_lab_agree(differential, release):
    allowlist = load_allowlist()
    failures = []
    for c in differential["results"][release]:
        diff = c.differences()
        for allowed in allowlist:
            if allowed.covers(c.entry):
                diff -= allowed.compare
        if diff:
            failures.append(c.show(diff))
    assert not failures, (f"{len(failures)} command(s) differ between the {release} lab and "
                          f"drill (fix the drill, or list the difference with its reason in "
                          f"{ALLOWLIST.name}):\n\n" + "\n\n".join(failures))


def test_every_allow_list_entry_is_needed(differential):
    """An entry that covers no corpus command, or excuses no difference, hides nothing today
    and would hide a regression tomorrow: it goes."""
    stale = []
    for allowed in load_allowlist():
        covered = [c for results in differential["results"].values() for c in results
                   if allowed.covers(c.entry)]
        if not covered:
            stale.append(f"{allowed.command.pattern}: matches no corpus command")
        elif not any(c.differences() & allowed.compare for c in covered):
            stale.append(f"{allowed.command.pattern}: excuses no difference "
                         f"({', '.join(sorted(allowed.compare))})")
    assert not stale, "allow-list entries to remove:\n" + "\n".join(stale)
