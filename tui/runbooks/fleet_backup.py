"""`etcd-dr run backup --inventory-dir DIR`: one verified backup per cluster, for a nightly job.

Each cluster runs the backup runbook itself (tui/runbooks/backup.py, BAK-0..6) with its own
backend and its own journal, then BAK-KEEP when --keep N is given; at most --parallel of them
at a time. A bad inventory file, an unreachable cluster or a failed step is that cluster's
failure, reported in the summary; it never stops the others. Exit 0 only when every cluster
was backed up and verified, 1 when any failed, 2 for bad input or a refusal (before anything
is sent).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tui.backend import Backend, BackendSpec
from tui.errors import ConfigError, EtcdDrError
from tui.inventory import load_inventory
from tui.journal import Journal
from tui.runbooks.attempts import PASS_THROUGH
from tui.runbooks.backup import BACKUP, KEEP, suggest_host
from tui.runbooks.context import RunContext, RunEvent, RunEventKind
from tui.runbooks.headless import HeadlessOperator, journal_path_for
from tui.runbooks.runner import Refused, RunAborted, Runner
from tui.secrets import RedactingWriter, redact, redact_text
from tui.status.render import human_bytes

DEFAULT_PARALLEL = 4
# the backup runbook, as `run backup` runs it, and the --keep policy after it
FLEET_BACKUP = replace(BACKUP, steps=BACKUP.steps + (KEEP,))


@dataclass
class ClusterBackup:
    """One cluster's outcome: a row of the summary."""

    inventory: str
    cluster: str | None = None
    host: str | None = None
    snapshot: str | None = None
    static_kuberesources: str | None = None
    manifest: str | None = None
    size: int | None = None
    verified: str = "-"  # yes | no (why in error) | - (not that far)
    etcd: dict = field(default_factory=dict)  # hash, revision, totalKey, totalSize
    pruned: list[str] | None = None  # timestamps removed; None: no --keep, or not that far
    kept: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    journal: str | None = None
    ok: bool = False
    error: str | None = None

    @property
    def name(self) -> str:
        return self.cluster or Path(self.inventory).name

    def to_json(self) -> dict:
        return {"inventory": self.inventory, "cluster": self.cluster, "host": self.host,
                "snapshot": self.snapshot, "static_kuberesources": self.static_kuberesources,
                "manifest": self.manifest, "size": self.size, "verified": self.verified == "yes",
                "etcd": self.etcd or None, "pruned": self.pruned, "kept": self.kept,
                "left_alone": self.left_alone, "journal": self.journal,
                "result": "ok" if self.ok else "failed", "error": self.error}


def inventory_files(directory: str | None, files: tuple[str, ...] = ()) -> list[Path]:
    """The inventories to back up: DIR's *.yaml and *.yml (not its subdirectories), sorted,
    then each --inventory. Exit 2 when there is none, or DIR is not a directory."""
    out: list[Path] = []
    if directory is not None:
        folder = Path(directory).expanduser()
        if not folder.is_dir():
            raise ConfigError("--inventory-dir is not a directory", where=str(folder),
                              hint="Give the directory that holds the inventories (*.yaml)")
        out += sorted(p for p in folder.iterdir()
                      if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
                      and p.is_file())
        if not out:
            raise ConfigError("no inventory (*.yaml, *.yml) in --inventory-dir",
                              where=str(folder), hint="Put one inventory per cluster there")
    out += [Path(f).expanduser() for f in files]
    seen: set[Path] = set()
    unique = []
    for p in out:  # the same file twice (DIR and --inventory) is backed up once
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


class _Prefixed:
    """stderr, each line prefixed with the cluster's name: the clusters' progress lines,
    interleaved, still say whose they are."""

    def __init__(self, stream, prefix: str):
        self.stream, self.prefix, self._at_start = stream, prefix, True

    def write(self, text: str) -> int:
        for part in text.splitlines(keepends=True):
            if self._at_start:
                self.stream.write(self.prefix)
            self.stream.write(part)
            self._at_start = part.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False  # no colours in a log of several clusters


def _new_journal_path(cluster: str, taken: set[Path]) -> Path:
    """The cluster's journal as `run` names it (default directory, named after the cluster),
    never one that exists already or another cluster of this run took."""
    base = journal_path_for("backup", cluster)
    path, n = base, 1
    while path.exists() or path in taken:
        n += 1
        path = base.with_name(f"{base.stem}-{n}{base.suffix}")
    taken.add(path)
    return path


async def backup_one(row: ClusterBackup, params: dict, *, journal_path: Path,
                     log) -> ClusterBackup:
    """Run the backup runbook (and BAK-KEEP) on one cluster; every failure ends in the row."""
    operator = HeadlessOperator(yes=True, out=log, err=log, interactive=False)
    backend = journal = ctx = None
    try:
        backend = Backend(BackendSpec(inventory_path=row.inventory))
        journal = Journal(journal_path, "backup")
        row.journal = str(journal_path)
        await backend.start(wait=True)
        ctx = RunContext(backend=backend, journal=journal, operator=operator,
                         params=dict(params))
        operator.ctx = ctx
        snapshot = await backend.collector.collect()
        host = suggest_host(snapshot)
        if host is None:
            seen = "; ".join(f"{h.name} {h.state}" + (f" ({h.error})" if h.error else "")
                             for h in snapshot.hosts if h.role == "control-plane")
            raise Refused(f"no healthy control-plane host to take the backup on ({seen})",
                          hint=f"Check `etcd-dr status --inventory {row.inventory}`")
        ctx.params["host"] = row.host = host
        operator.show(RunEvent(RunEventKind.NOTE, "-", f"backup host: {host} (a healthy "
                                                       f"non-leader); journal: {journal_path}"))
        await Runner(FLEET_BACKUP, ctx).run()
        _read_facts(row, ctx)
        problem = _unverified(ctx)
        row.verified = "no" if problem else "yes"
        row.ok, row.error = problem is None, problem
    except (RunAborted, *PASS_THROUGH) as e:  # the runner journaled where and why
        row.error = e.message
    except EtcdDrError as e:
        row.error = e.message
        _journal_failure(journal, e.message)
    except Exception as e:  # noqa: BLE001 - one cluster's bug must not stop the others
        row.error = f"unexpected internal error: {e.__class__.__name__}: {e}"
        _journal_failure(journal, row.error)
    finally:
        if ctx is not None and not row.ok:
            _read_facts(row, ctx)  # how far it got: the pair may be there, verified
            if row.verified == "-" and "manifest" in ctx.facts:
                row.verified = "no" if _unverified(ctx) else "yes"
        if journal is not None:
            journal.close()
        if backend is not None:
            try:
                await backend.close()
            except Exception:  # closing must not hide the outcome
                logging.getLogger(__name__).debug("closing %s", row.inventory, exc_info=True)
    if row.error:
        row.error = redact_text(row.error)
    return row


def _journal_failure(journal: Journal | None, message: str) -> None:
    """A failure before the runner journaled one (the cluster unreachable, no host, an
    interlock): the cluster's journal says it too. No `planned` line: nothing to resume."""
    if journal is None or journal.closed:
        return
    try:
        journal.write("-", "failed", error=message)
    except EtcdDrError:
        pass


def _read_facts(row: ClusterBackup, ctx: RunContext) -> None:
    facts = ctx.facts
    files = facts.get("backup_files") or {}
    row.snapshot = files.get("snapshot") or row.snapshot
    row.static_kuberesources = files.get("static_kuberesources") or row.static_kuberesources
    manifest = facts.get("manifest")
    if manifest:
        row.manifest = f"etcd-dr-manifest_{manifest['timestamp']}.json"
        row.size = (manifest.get("sizes") or {}).get(row.snapshot)
        row.etcd = dict(manifest.get("etcd") or {})
    if "pruned" in facts:
        row.pruned, row.kept = list(facts["pruned"]), list(facts.get("kept") or [])
        row.left_alone = list(facts.get("left_alone") or [])


def _unverified(ctx: RunContext) -> str | None:
    """Why this run's backup does not count as verified, or None: BAK-5 found the pair
    complete and not empty and wrote the manifest; `snapshot status` (the script's closing
    line, or read again) gave the snapshot's hash and revision; the script did not mark it
    __POSSIBLY_DIRTY__."""
    manifest = ctx.facts.get("manifest")
    if not manifest:
        return "the backup was not verified (no manifest written)"
    if (manifest.get("etcd") or {}).get("hash") is None:
        return ("snapshot status could not be read: the snapshot's hash and revision are "
                "unknown")
    if manifest.get("possibly_dirty"):
        return ("the backup is marked __POSSIBLY_DIRTY__: take another once the cluster is "
                "stable")
    return None


def confirm_fleet(rows: list[ClusterBackup], *, keep: int | None, err, ask) -> bool:
    """One typed confirmation for the whole fleet, on a terminal."""
    runnable = [r for r in rows if r.error is None]
    expected = f"backup {len(runnable)} cluster{'' if len(runnable) == 1 else 's'}"
    print(f"A backup (cluster-backup.sh on one healthy control-plane host each) on "
          f"{len(runnable)} cluster(s):", file=err)
    for r in runnable:
        print(f"    {r.cluster}  ({r.inventory})", file=err)
    for r in rows:
        if r.error is not None:
            print(f"not backed up (reported as failed): {r.error}", file=err)
    if keep:
        print(f"then, on the host that made each backup, the pairs older than the newest "
              f"{keep} are removed (BAK-KEEP).", file=err)
    err.flush()
    answer = ask(f"Type {expected} to go ahead: ")
    return (answer or "").strip() == expected


async def run_fleet_backup(files: list[Path], params: dict, *, keep: int | None,
                           parallel: int, yes: bool, read_only: bool, as_json: bool,
                           out=None, err=None, interactive: bool | None = None,
                           ask=None) -> int:
    out = RedactingWriter(out or sys.stdout)
    err = RedactingWriter(err or sys.stderr)
    if read_only:
        raise Refused("the backup runbook changes the hosts (it writes a backup, and --keep "
                      "removes old ones) and --read-only sends nothing that changes anything",
                      hint="Run it without --read-only")
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if not yes and not interactive:
        raise Refused("a fleet backup changes every cluster of the inventories and asks for "
                      "one confirmation first, but there is no terminal to ask on",
                      hint="Add --yes to confirm in advance (a nightly job does), or run it "
                           "in a terminal")
    rows = _load(files)
    if not yes and any(r.error is None for r in rows):
        ask = ask or _ask_on_terminal
        if not confirm_fleet(rows, keep=keep, err=err, ask=ask):
            raise RunAborted("not confirmed: nothing was sent to any cluster",
                             hint="Run again and type the words asked for, or add --yes")
    started = datetime.now(UTC)
    params = {**params, **({"keep": keep} if keep else {})}
    gate = asyncio.Semaphore(max(1, parallel))
    taken: set[Path] = set()

    async def one(row: ClusterBackup) -> None:
        async with gate:
            log = _Prefixed(err, f"{row.cluster}: ")
            await backup_one(row, params, journal_path=_new_journal_path(row.cluster, taken),
                             log=log)
            err.flush()

    await asyncio.gather(*(one(r) for r in rows if r.error is None))
    if as_json:
        doc = {"started_at": started.isoformat(timespec="seconds"),
               "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "keep": keep, "parallel": parallel,
               "succeeded": sum(r.ok for r in rows),
               "failed": sum(not r.ok for r in rows),
               "clusters": [r.to_json() for r in rows]}
        print(json.dumps(redact(doc), indent=2), file=out)
    else:
        print_summary(rows, out, keep=keep)
    out.flush()
    return 0 if rows and all(r.ok for r in rows) else 1


def _ask_on_terminal(prompt: str) -> str:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline()


def _load(files: list[Path]) -> list[ClusterBackup]:
    """Each file's inventory, read now: a bad one is its row's failure (file, line, key), and
    two inventories of one cluster name are both refused (one backup per cluster, and the
    name names its journal)."""
    rows = []
    for path in files:
        row = ClusterBackup(inventory=str(path))
        try:
            row.cluster = load_inventory(str(path)).cluster_name
        except EtcdDrError as e:
            row.error = e.message
        except Exception as e:  # noqa: BLE001 - a file we cannot read is that row's failure
            row.error = f"{path}: cannot read the inventory ({e.__class__.__name__}: {e})"
        rows.append(row)
    by_name: dict[str, list[ClusterBackup]] = {}
    for row in rows:
        if row.cluster is not None and row.error is None:
            by_name.setdefault(row.cluster, []).append(row)
    for name, same in by_name.items():
        if len(same) > 1:
            where = ", ".join(r.inventory for r in same)
            for row in same:
                row.error = (f"{row.inventory}: cluster.name {name!r} is named by "
                             f"{len(same)} inventories ({where}); one backup per cluster: "
                             f"give each cluster its own name")
    return rows


COLUMNS = ("CLUSTER", "HOST", "SNAPSHOT", "SIZE", "VERIFIED", "PRUNED", "JOURNAL", "RESULT")


def summary_rows(rows: list[ClusterBackup], keep: int | None) -> list[tuple[str, ...]]:
    out = []
    for r in rows:
        if r.pruned is not None:
            pruned = str(len(r.pruned)) + (f" (+{len(r.left_alone)} lone left)"
                                           if r.left_alone else "")
        else:
            pruned = "-"
        out.append((r.name, r.host or "-", r.snapshot or "-",
                    human_bytes(r.size) if r.size is not None else "-", r.verified, pruned,
                    r.journal or "-", "ok" if r.ok else "FAILED"))
    return out


def print_summary(rows: list[ClusterBackup], out, *, keep: int | None) -> None:
    table = [COLUMNS, *summary_rows(rows, keep)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip(), file=out)
    failed = [r for r in rows if not r.ok]
    notes = [r for r in rows if r.ok and r.left_alone]
    if failed or notes:
        print(file=out)
    for r in failed:
        print(f"{r.name}: FAILED: {r.error}", file=out)
    for r in notes:
        print(f"{r.name}: left alone on {r.host}, their pair incomplete: "
              f"{', '.join(r.left_alone)}", file=out)
    good = len(rows) - len(failed)
    print(f"{good} of {len(rows)} cluster(s) backed up and verified"
          + (f", older pairs pruned to the newest {keep}" if keep and good else "")
          + (f"; {len(failed)} FAILED" if failed else "") + ".", file=out)
