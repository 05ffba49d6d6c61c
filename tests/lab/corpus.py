"""The differential test's command corpus (tests/test_differential.py, issue #11 item 5).

What the console sends to, or tells a trainee to type on, a control-plane host:

- plan:    every host command any runbook plans in any scenario's dry run (`etcd-dr run
           RUNBOOK --drill --scenario S --dry-run`, its `    HOST$ COMMAND` lines; a refused
           dry run plans nothing);
- sent:    every command those dry runs actually sent to a host (the preflights' probes:
           `tar -tzf`, `ls`, `cat revision.json`...), as rendered for the wire;
- hint:    the commands in backticks in the scenarios' drill sections (hints, briefing,
           ideal notes, traps) that start with a program name;
- attempt: the attempt-record wrapper (tui/fleet/attempts.py wrap()) around a harmless
           command, and its probe (probe_script()).

Host addresses are replaced by `{addr:HOST}` and the commands de-duplicated per lab release
(tests/lab/lab.py's `openshift=`), so the same command planned for master-1 and master-2 runs
once. Plan lines that are prose rather than shell (`rm -f <each ... listed>`) are kept out:
the runbook builds that command at run time from what it found.

Harvesting runs the real runbooks on drills in-process (one drill per scenario, shared by its
six dry runs); it takes CPU seconds per scenario, so the test runs it in worker processes:
`python -m tests.lab.corpus --scenarios A B ... ` prints the records as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "assets" / "scenarios"
RUNBOOKS = ("backup", "encryption-on", "encryption-off", "defrag", "restore", "quorum-restore")
# what `etcd-dr run RUNBOOK --drill --dry-run` passes each runbook with no other option given
CLI_PARAMS = {
    "backup": {"host": None, "backup_dir": "/home/core/assets/backup"},
    "encryption-on": {"encryption_type": "aescbc"},
    "encryption-off": {"encryption_type": "identity"},
    "defrag": {"wait": 60.0, "compact": False},
    "restore": {"backup_dir": "/home/core/assets/backup"},
    "quorum-restore": {"backup_dir": "/home/core/assets/backup"},
}
# the drills' simulated time runs this much faster than real time: a dry run's waits for
# members that do not answer (etcdctl's timeouts, in simulated seconds) pass quickly; the
# commands planned do not depend on it
SPEED = 20.0
PLAN_LINE = re.compile(r"^    ([A-Za-z0-9_.-]+|<[^<>$]+>)\$ (.+)$")
STEP_LINE = re.compile(r"^([A-Z]+(?:-[A-Z0-9]+)+)  ")
BACKUP_TS = re.compile(r"\d{4}-\d{2}-\d{2}_\d{6}")  # snapshot_<ts>.db: differs per backup
PROSE = re.compile(r"<[^<>]*>")  # `<machine of master-1>`, `<each ... listed>`
# programs a backticked text in a scenario may start with (a trainee types it on a host)
PROGRAMS = {"sudo", "ls", "cat", "crictl", "etcdctl", "etcdutl", "pcs", "systemctl",
            "journalctl", "find", "mv", "rm", "cp", "tar", "grep", "egrep", "stat", "df", "du",
            "sha256sum", "head", "tail", "podman", "ip", "ps", "pgrep", "test", "wc", "jq",
            "oc", "crm_resource", "hostname", "whoami", "id", "date", "uptime"}
# programs that run on the cluster API, not on a host: no host command
API_PROGRAMS = {"oc", "kubectl"}


def lab_release(version: str) -> str:
    """The lab's `openshift=` for a scenario's OpenShift version: 4.12/4.13 -> "4.13",
    4.14-4.17 -> "4.16", 4.18-4.20 -> "4.18", 4.21 and later -> "4.21"."""
    minor = int(str(version).split(".")[1])
    if minor <= 13:
        return "4.13"
    if minor <= 17:
        return "4.16"
    if minor <= 20:
        return "4.18"
    return "4.21"


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))


def scenario_names() -> list[str]:
    return [yaml.safe_load(p.read_text())["name"] for p in scenario_files()]


@dataclass
class Record:
    """One command seen: where it comes from, and on which host of which scenario."""

    kind: str  # plan | sent | hint | attempt
    scenario: str
    version: str
    origin: str  # "restore RSTN-02", "hint", ...
    host: str
    command: str  # with {addr:HOST} for the scenario's host addresses

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


@dataclass
class Entry:
    """One corpus command of one release: run once on the lab and once on the drill."""

    release: str
    host: str
    command: str
    kinds: set[str] = field(default_factory=set)
    origins: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"[{self.release}] {self.host}$ {self.command}"


def normalise_addresses(text: str, addresses: dict[str, str]) -> str:
    """Host addresses -> {addr:HOST} (longest first: 127.0.3.1 is a prefix of 127.0.3.12)."""
    for name, address in sorted(addresses.items(), key=lambda kv: -len(kv[1])):
        text = re.sub(rf"(?<![\d.]){re.escape(address)}(?![\d])", f"{{addr:{name}}}", text)
    return text


def fill_addresses(text: str, addresses: dict[str, str]) -> str:
    return re.sub(r"\{addr:([A-Za-z0-9_.-]+)\}", lambda m: addresses.get(m[1], m[0]), text)


# --- dry runs ------------------------------------------------------------------------------

async def _harvest_scenario(name: str) -> list[Record]:
    from unittest import mock

    from tui.backend import Backend, BackendSpec
    from tui.fleet.batch import commands_of
    from tui.runbooks import headless

    class SharedBackend(Backend):
        """One drill for the scenario's six dry runs: run_headless's start() and close()
        find it started and keep it."""

        async def start(self, wait: bool = True) -> None:
            if self.lab is None:
                await super().start(wait=wait)

        async def close(self) -> None:
            pass

    backend = SharedBackend(BackendSpec(scenario=name, speed=SPEED))
    await backend.start(wait=True)
    records: list[Record] = []
    try:
        await _every_live_host_connected(backend)
        inventory = backend.inventory
        addresses = {h.name: h.address for h in inventory.hosts}
        version = backend.lab.cluster.api.version
        sent: list[tuple[str, str]] = []
        fleet = backend.fleet
        original = fleet.run_one  # this drill's fleet only: the scenarios run side by side

        async def recording_run_one(host, command, *a, **kw):
            # a batch (the status look's reads over one channel) is its commands: each is
            # compared on its own, and its glue is tests/test_fleet_batch.py's, on real sh
            for part in commands_of(command):
                sent.append((host, part.render(fleet.inventory.ssh.sudo)))
            return await original(host, command, *a, **kw)

        for runbook in RUNBOOKS:
            out = io.StringIO()
            sent.clear()
            with mock.patch.object(headless, "Backend", lambda spec: backend), \
                    mock.patch.object(fleet, "run_one", recording_run_one):
                try:
                    code = await headless.run_headless(
                        runbook, backend.spec, dict(CLI_PARAMS[runbook]), yes=False,
                        journal_path=None, dry_run=True, out=out)
                except Exception:  # refused (exit 2) or failed: nothing was planned
                    code = None
            if code != 0:
                continue
            step = "-"
            for line in out.getvalue().splitlines():
                m = STEP_LINE.match(line)
                if m:
                    step = m[1]
                    continue
                m = PLAN_LINE.match(line)
                if not m or m[1] == "API" or PROSE.search(m[2]):
                    continue
                # `<each NotReady node>$ ...`: any control-plane host; the first one
                host = m[1] if not m[1].startswith("<") else inventory.hosts[0].name
                records.append(Record("plan", name, version, f"{runbook} {step}", host,
                                      normalise_addresses(m[2], addresses)))
            for host, command in sent:
                records.append(Record("sent", name, version, f"{runbook} dry run", host,
                                      normalise_addresses(command, addresses)))
    finally:
        await Backend.close(backend)
    return records


async def _every_live_host_connected(backend, timeout: float = 90.0) -> None:
    """Wait until the console reaches every host the drill serves: a dry run that met a
    live host as unreachable (its handshake past the connect timeout on a loaded machine)
    plans for another cluster than the scenario's. CI at 6e1d4fa saw it: lost-two-hosts'
    restore refused, its quorum-restore planned instead. The fleet retries on its own."""
    listening = {name for name, server in backend.lab.servers.items() if server.listening}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not listening <= set(backend.fleet.connected_hosts()):
        if loop.time() > deadline:
            missing = sorted(listening - set(backend.fleet.connected_hosts()))
            raise RuntimeError(f"{backend.spec.scenario}: {missing} served but never "
                               f"connected in {timeout:g} s")
        await asyncio.sleep(0.1)


# drills harvested at once in one process: all of them at once put the handshakes above
# past their timeouts on a loaded machine
AT_ONCE = 6


async def harvest_dry_runs(names: list[str]) -> list[Record]:
    """A few scenarios at a time (their drills listen on 127.0.3.x, each on ports of its
    own): a dry run mostly waits (SSH to lost hosts, status polls), so the waits overlap."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(name: str) -> list[Record]:
        async with gate:
            return await _harvest_scenario(name)

    found = await asyncio.gather(*(one(name) for name in names))
    return [r for records in found for r in records]


# --- hints, briefings ----------------------------------------------------------------------

def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def hint_records() -> list[Record]:
    """Backticked commands in the scenarios' drill sections (and descriptions: the briefing
    shows them), on the host the text names (master-0 when it names none)."""
    out = []
    for path in scenario_files():
        data = yaml.safe_load(path.read_text())
        texts = _strings(data.get("drill", {})) + [data.get("description", "")]
        for text in texts:
            for span in re.findall(r"`([^`]+)`", text):
                words = shlex.split(span)
                program = words[1] if words[:1] == ["sudo"] and len(words) > 1 else words[0]
                if program not in PROGRAMS or program in API_PROGRAMS:
                    continue
                named = re.findall(r"\b(master-\d+|worker-\d+)\b", text)
                out.append(Record("hint", data["name"], str(data["version"]),
                                  "drill text", named[0] if named else "master-0", span))
    return out


# --- attempt records -----------------------------------------------------------------------

ATTEMPT_ID = "dfx-attempt-1"
ATTEMPT_INNER = "echo 'hello from an attempt'; ls -d /etc/kubernetes"


def attempt_records(versions: dict[str, str]) -> list[Record]:
    """The wrapper around a harmless command, then its probe, once per release (the probe
    after the wrapper: it reads what the wrapper left), both as the console sends them to a
    host with ssh.sudo on (`sudo -n sh -c '...'`, tui/fleet/commands.py)."""
    from tui.fleet.attempts import probe_script, wrap

    out = []
    for version in versions.values():
        out.append(Record("attempt", "-", version, "attempt wrap()", "master-0",
                          f"sudo -n sh -c {shlex.quote(wrap(ATTEMPT_ID, ATTEMPT_INNER))}"))
        out.append(Record("attempt", "-", version, "attempt probe_script()", "master-0",
                          f"sudo -n sh -c {shlex.quote(probe_script(ATTEMPT_ID))}"))
    return out


# --- the corpus ----------------------------------------------------------------------------

def build_corpus(records: list[Record]) -> dict[str, list[Entry]]:
    """release -> entries, de-duplicated on the command (host names normalised: the same
    command for master-1 and master-2 is one entry, run on the first host that named it)."""
    corpus: dict[str, dict[str, Entry]] = {}
    for r in records:
        release = lab_release(r.version)
        key = re.sub(r"\{addr:[^}]+\}", "{addr}", r.command)
        key = BACKUP_TS.sub("{backup_ts}", key)
        entries = corpus.setdefault(release, {})
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = Entry(release, r.host, r.command)
        entry.kinds.add(r.kind)
        origin = f"{r.scenario}: {r.origin}" if r.scenario != "-" else r.origin
        if origin not in entry.origins:
            entry.origins.append(origin)
    return {release: list(entries.values()) for release, entries in sorted(corpus.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="*", default=None,
                        help="scenario names (default: all)")
    args = parser.parse_args(argv)
    names = args.scenarios if args.scenarios is not None else scenario_names()
    import logging

    logging.disable(logging.CRITICAL)
    records = asyncio.run(harvest_dry_runs(names))
    for r in records:
        sys.stdout.write(r.to_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
