"""BAK: back up etcd on ONE control-plane host (RUNBOOK.md BAK-0..5).

`cluster-backup.sh DIR` saves `snapshot_<ts>.db` and `static_kuberesources_<ts>.tar.gz`; the
console checks both are there with the same timestamp, flags backups the script marked
__POSSIBLY_DIRTY__, and writes a manifest beside them that a restore checks later.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone

from tui.fleet.commands import Command, Safety
from tui.fleet.stream import (Throttle, fetch_to_local, hash_command, read_command,
                              size_command)
from tui.runbooks.checks import encryption_in_progress, proxy_env
from tui import timeouts
from tui.runbooks.context import RunContext, RunEvent, RunEventKind
from tui.runbooks.model import CheckResult, Confirm, Runbook, Step, Targets
from tui.runbooks.runner import StepRun

DEFAULT_DIR = "/home/core/assets/backup"
SCRIPT = "/usr/local/bin/cluster-backup.sh"
ETCDCTL_BIN_DIR = "/etc/kubernetes/static-pod-resources/bin"  # where the script puts its tools
_FILE = re.compile(r"^(snapshot|static_kuberesources)_(\d{4}-\d{2}-\d{2}_\d{6})"
                   r"(__POSSIBLY_DIRTY__)?\.(db|tar\.gz)$")
# `snapshot status -w json`'s line; etcd 3.6 (OpenShift 4.21+) adds "version" after totalSize
_CLOSING = re.compile(r'^\{"hash":\s*\d+.*"totalSize":\s*\d+\s*(?:,\s*"version":\s*"[^"]*"\s*)?\}$')


def backup_sets(listing: str) -> dict[str, dict]:
    """Backups in a directory listing, by timestamp: which of the two files each has."""
    sets: dict[str, dict] = {}
    for name in listing.split():
        m = _FILE.match(name.rsplit("/", 1)[-1])
        if not m:
            continue
        entry = sets.setdefault(m.group(2), {"dirty": False})
        entry[m.group(1)] = name.rsplit("/", 1)[-1]
        entry["dirty"] = entry["dirty"] or bool(m.group(3))
    return sets


def _complete(sets: dict[str, dict], newer_than: str) -> list[str]:
    return sorted(ts for ts, e in sets.items()
                  if ts > newer_than and "snapshot" in e and "static_kuberesources" in e)


def _list(ctx: RunContext, host: str) -> Command:
    return Command.of("ls", "-1", ctx.params["backup_dir"], privileged=True, timeout=15)


async def _listing(ctx: RunContext, host: str) -> tuple[bool, str]:
    r = await ctx.fleet.run_one(host, _list(ctx, host), quiet=True)
    if r.ok:
        return True, r.stdout
    if r.exit_status == 2 and "No such file" in r.stderr:
        return True, ""  # no backup directory yet
    return False, r.error or r.stderr.strip() or f"exit status {r.exit_status}"


def suggest_host(snapshot) -> str | None:
    """A healthy non-leader control-plane host: the leader serves the snapshot stream, so
    backing up elsewhere keeps that load off the member that already works hardest."""
    healthy = {m.host for m in snapshot.members if m.host and not m.errors}
    usable = [h.name for h in snapshot.hosts if h.role == "control-plane" and
              h.state == "connected" and h.name in healthy]
    leader = snapshot.leader.host if snapshot.leader else None
    non_leaders = [h for h in usable if h != leader]
    return (non_leaders or usable or [None])[0]


# --- preflight: the interlocks of BAK-0 ---------------------------------------------------------

async def preflight(ctx: RunContext) -> list[str]:
    reasons = []
    host = ctx.params.get("host")
    cp = [h.name for h in ctx.inventory.control_plane]
    if host not in cp:
        reasons.append(f"a backup runs on exactly one control-plane host; {host!r} is not one "
                       f"(control-plane hosts: {', '.join(cp)})")
        return reasons
    if not ctx.fleet.status[host].state.usable:
        st = ctx.fleet.status[host]
        reasons.append(f"{host} is {st.state.value}" + (f" ({st.error})" if st.error else ""))
        return reasons
    snap = await ctx.backend.collector.collect()
    member = next((m for m in snap.members if m.host == host), None)
    if member is None or member.errors and not all(e.startswith("alarm:") for e in member.errors):
        why = "; ".join(member.errors) if member else "no etcd member found for it"
        reasons.append(f"the etcd member on {host} is not healthy ({why}): the snapshot would "
                       f"hang until it answers; choose another host")
    if member is not None and member.db_size is not None:
        ctx.params.setdefault("db_size", member.db_size)  # what BAK-4's timeout scales with
    limit = script_timeout(ctx)
    ctx.params["bak4_timeout"] = {"seconds": limit.seconds, "detail": limit.why}  # journaled
    ctx.operator.show(RunEvent(RunEventKind.NOTE, "BAK-4", limit.why, (host,)))
    busy = await encryption_in_progress(ctx)
    if busy and not ctx.params.get("override"):
        reasons.append(f"{busy}; a backup taken now would be only partly encrypted. Wait until "
                       f"it completes, or override with a typed reason")
    if ctx.params.get("proxy") is None:
        ctx.params["proxy"] = await proxy_env(ctx)
    ok, listing = await _listing(ctx, host)
    if not ok:
        reasons.append(f"cannot list {ctx.params['backup_dir']} on {host}: {listing}")
    else:
        existing = sorted(backup_sets(listing))
        ctx.params.setdefault("baseline", existing[-1] if existing else "")
    ctx.params.setdefault("started_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return reasons


# --- steps ---------------------------------------------------------------------------------

async def _check_rules(ctx: RunContext, _host) -> CheckResult:
    if ctx.params.get("override"):  # the migration may well be under way: say so
        return CheckResult(True, f"one host ({ctx.params['host']}); encryption check "
                                 f"overridden: {ctx.params['override']}")
    return CheckResult(True, f"one host ({ctx.params['host']}), no encryption migration "
                             f"under way")


async def _check_proxy(ctx: RunContext, _host) -> CheckResult:
    proxy = ctx.params.get("proxy") or {}
    if proxy.get("unknown"):
        return CheckResult(True, f"could not read proxy/cluster ({proxy['unknown']}); "
                                 f"continuing without proxy variables")
    names = sorted(k for k in proxy if k != "unknown")
    return CheckResult(True, "cluster-wide proxy on: " + ", ".join(names) if names
                       else "no cluster-wide proxy")


async def _check_root_shell(ctx: RunContext, host) -> CheckResult:
    r = await ctx.fleet.run_one(host, Command.of("id", "-u", privileged=True, timeout=15),
                                quiet=True)
    if r.ok and r.stdout.strip() == "0":
        return CheckResult(True, "root via " + ("sudo -n" if ctx.use_sudo else "ssh"))
    return CheckResult(False, r.error or f"cannot become root: {r.stderr.strip()}")


def _proxy_pairs(ctx: RunContext) -> tuple[tuple[str, str], ...]:
    proxy = ctx.params.get("proxy") or {}
    return tuple((k, v) for k, v in sorted(proxy.items()) if k != "unknown" and v)


def _db_size(ctx: RunContext) -> int | None:
    """The chosen host's member's file: from the preflight's status read, else the last one."""
    if ctx.params.get("db_size") is not None:
        return int(ctx.params["db_size"])
    collector = ctx.backend.collector
    snap = collector.last if collector is not None else None
    member = next((m for m in (snap.members if snap else []) if m.host == ctx.params.get("host")),
                  None)
    return member.db_size if member is not None else None


def script_timeout(ctx: RunContext) -> timeouts.Timeout:
    """BAK-4's timeout: the operator's --timeout, else the snapshot of the member's file at
    the rule's rate plus the script's other work (etcdctl snapshot save itself has none: an
    etcd that stops answering would hang it for good)."""
    return timeouts.backup_timeout(_db_size(ctx), override=ctx.params.get("timeout"))


def _backup_command(ctx: RunContext, host: str) -> list[Command]:
    return [Command.of(SCRIPT, ctx.params["backup_dir"], privileged=True,
                       timeout=script_timeout(ctx).seconds, env=_proxy_pairs(ctx),
                       safety=Safety.MUTATING)]


def _read_closing_line(ctx: RunContext, host: str, result) -> None:
    for line in reversed(result.stdout.splitlines()):
        if _CLOSING.match(line.strip()):
            try:
                ctx.facts["snapshot"] = json.loads(line)
            except ValueError:
                pass
            return


async def _check_backup_made(ctx: RunContext, host) -> CheckResult:
    ok, listing = await _listing(ctx, host)
    if not ok:
        return CheckResult(False, listing)
    sets = backup_sets(listing)
    baseline = ctx.params.get("baseline", "")
    new = _complete(sets, baseline)
    if not new:
        same = (f"; the newest pair is still snapshot_{baseline}, which was there before: "
                f"cluster-backup.sh names a pair by the second it starts, and a backup started "
                f"in the same second as that one writes the same names over it. Run it "
                f"again" if baseline and baseline in _complete(sets, "") else "")
        return CheckResult(False, f"no new snapshot_<ts>.db + static_kuberesources_<ts>.tar.gz "
                                  f"pair in {ctx.params['backup_dir']}{same}")
    ts = new[-1]
    ctx.facts["backup_ts"] = ts
    ctx.facts["backup_files"] = sets[ts]
    return CheckResult(True, f"{sets[ts]['snapshot']} and {sets[ts]['static_kuberesources']}")


def _manifest(ctx: RunContext, ts: str, files: dict) -> dict:
    snap = ctx.facts.get("snapshot") or {}
    api_snapshot = ctx.facts.get("api_snapshot")
    encryption = ctx.facts.get("encryption_type")
    return {
        "made_by": "etcd-dr",
        "cluster": ctx.inventory.cluster_name,
        "version": ctx.facts.get("cluster_version") or ctx.inventory.cluster_version,
        "host": ctx.params["host"],
        "directory": ctx.params["backup_dir"],
        "timestamp": ts,
        "snapshot": files.get("snapshot"),
        "static_kuberesources": files.get("static_kuberesources"),
        "possibly_dirty": bool(files.get("dirty")),
        "etcd": {k: snap.get(k) for k in ("hash", "revision", "totalKey", "totalSize")},
        "encryption": encryption,
        "api_reachable": api_snapshot,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def manifest_path(ctx: RunContext, ts: str) -> str:
    return f"{ctx.params['backup_dir'].rstrip('/')}/etcd-dr-manifest_{ts}.json"


async def _check_verified(ctx: RunContext, host) -> CheckResult:
    """BAK-5: the pair is there, non-empty, and a manifest sits beside it."""
    if "backup_ts" not in ctx.facts:
        made = await _check_backup_made(ctx, host)
        if not made.ok:
            return made
    ts, files = ctx.facts["backup_ts"], ctx.facts["backup_files"]
    directory = ctx.params["backup_dir"].rstrip("/")
    paths = [f"{directory}/{files['snapshot']}", f"{directory}/{files['static_kuberesources']}"]
    r = await ctx.fleet.run_one(host, Command.of("stat", "-c", "%s %n", *paths,
                                                 privileged=True, timeout=15), quiet=True)
    if not r.ok:
        return CheckResult(False, f"cannot stat the backup files: {r.stderr.strip() or r.error}")
    sizes = {}
    for line in r.stdout.splitlines():
        size, _, name = line.partition(" ")
        sizes[name] = int(size) if size.isdigit() else 0
    empty = [p for p in paths if sizes.get(p, 0) <= 0]
    if empty:
        return CheckResult(False, "empty backup file(s): " + ", ".join(empty))
    lost = (ctx.facts.get("snapshot") or {}).get("hash") is None
    if lost:  # a console killed while the script ran never read its closing line
        status = await _read_snapshot_status(ctx, host, paths[0], sizes[paths[0]])
        if status is not None:
            ctx.facts["snapshot"] = status
    await _enrich_from_api(ctx)
    manifest = _manifest(ctx, ts, files)
    manifest["sizes"] = {p.rsplit("/", 1)[-1]: sizes[p] for p in paths}
    text = json.dumps(manifest, indent=2) + "\n"
    w = await ctx.fleet.run_one(host, Command.of("tee", manifest_path(ctx, ts), privileged=True,
                                                 stdin=text, timeout=15,
                                                 safety=Safety.MUTATING), quiet=True)
    if not w.ok:
        return CheckResult(False, f"cannot write the manifest: {w.stderr.strip() or w.error}")
    ctx.facts["manifest"] = manifest
    notes = [f"{files['snapshot']} ({sizes[paths[0]]} bytes), "
             f"{files['static_kuberesources']} ({sizes[paths[1]]} bytes), "
             f"manifest {manifest_path(ctx, ts).rsplit('/', 1)[-1]}"]
    if lost:
        notes.append("the script's closing line was lost (the console stopped while it ran): "
                     + ("hash and revision read from the snapshot itself"
                        if ctx.facts.get("snapshot") else
                        f"the snapshot's hash is unknown ({ETCDCTL_BIN_DIR} has no etcdctl "
                        f"that reads it)"))
    if files.get("dirty"):
        notes.append("this backup is marked __POSSIBLY_DIRTY__ (cluster-backup.sh was forced "
                     "past its checks while an operator was progressing): take another once "
                     "the cluster is stable")
    if manifest["encryption"] not in (None, "", "identity"):
        notes.append("encryption is on: store static_kuberesources (it holds the encryption "
                     "keys) apart from the snapshot, and keep both: a restore needs both")
    return CheckResult(True, "; ".join(notes))


async def _read_snapshot_status(ctx: RunContext, host: str, path: str,
                                size: int | None = None) -> dict | None:
    """`snapshot status -w json` of a saved snapshot (`size` bytes: it reads it all), by the
    etcdutl or etcdctl the script itself ran (its dl_etcdctl leaves them in ETCDCTL_BIN_DIR)."""
    limit = timeouts.snapshot_status_timeout(size, override=ctx.params.get("timeout")).seconds
    for tool in ("etcdutl", "etcdctl"):
        r = await ctx.fleet.run_one(host, Command.of(f"{ETCDCTL_BIN_DIR}/{tool}", "snapshot",
                                                     "status", path, "-w", "json",
                                                     privileged=True, timeout=limit), quiet=True)
        if not r.ok:
            continue
        for line in reversed(r.stdout.splitlines()):
            if _CLOSING.match(line.strip()):
                try:
                    return json.loads(line)
                except ValueError:
                    break
    return None


async def _enrich_from_api(ctx: RunContext) -> None:
    snap = await ctx.api.snapshot()
    ctx.facts["api_snapshot"] = snap.reachable
    if snap.reachable:
        ctx.facts["encryption_type"] = snap.encryption_type
        ctx.facts["cluster_version"] = snap.version


# --- BAK-6 (etcd-dr): a copy on the operator's machine -----------------------------------------

def fetch_dir(ctx: RunContext) -> str:
    """--fetch-to DIR: the pair goes to DIR/<cluster name>/ (names carry the timestamp)."""
    return os.path.join(ctx.params["fetch_to"], ctx.inventory.cluster_name or "cluster")


def _fetched_names(ctx: RunContext) -> list[str]:
    files, ts = ctx.facts.get("backup_files") or {}, ctx.facts.get("backup_ts")
    names = [files.get("snapshot"), files.get("static_kuberesources")]
    if ts:
        names.append(manifest_path(ctx, ts).rsplit("/", 1)[-1])
    return [n for n in names if n]


def _fetch_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    host = ctx.params.get("host") or "?"
    each = f"{ctx.params.get('backup_dir', DEFAULT_DIR).rstrip('/')}/<each file of the pair>"
    # what fetch_to_local sends, in its order: the size, the host's sha256, the bytes
    return [(host, size_command(each)), (host, hash_command(each)), (host, read_command(each))]


async def _fetch(ctx: RunContext, run: StepRun) -> str:
    host = ctx.params["host"]
    if "backup_ts" not in ctx.facts:  # resumed after BAK-5: find the pair again
        made = await _check_backup_made(ctx, host)
        if not made.ok:
            run.fail(made.detail)
    directory, local = ctx.params["backup_dir"].rstrip("/"), fetch_dir(ctx)
    names = _fetched_names(ctx)
    run.show(RunEventKind.NOTE,
             f"fetching {', '.join(names)} from {host}:{directory} to {local} on this "
                     f"machine (streamed, 0600, renamed once sha256 matches {host}'s)", [host])
    lines = Throttle(lambda text: run.show(RunEventKind.NOTE, text, [host]))

    def journal(event: str, on: str, command: Command, extra: dict) -> None:
        run.journal(event, [on], command=command.redacted(ctx.use_sudo), **extra)

    sums, total = {}, 0
    for name in names:
        result = await fetch_to_local(
            ctx.fleet, host, f"{directory}/{name}", os.path.join(local, name), run=run.run,
            on_stream=journal, on_progress=lambda p: lines(p.text(), final=p.done >= p.total))
        if not result.ok:
            run.fail(result.error)
        sums[name] = result.sha256
        total += result.size
    ctx.facts["fetched"] = {"directory": local, "sha256": sums}
    run.journal("finished", [host], command=f"(fetch) {host}:{directory} -> {local}",
                exit_status=0, sha256=sums, bytes=total)
    return f"{len(names)} file(s), {total} bytes, in {local}; sha256 matches {host}'s"


async def _check_fetched(ctx: RunContext, host) -> CheckResult:
    """After BAK-6: each file is in the local directory with the sha256 the fetch proved."""
    fetched = ctx.facts.get("fetched")
    if not fetched:
        return CheckResult(False, "not fetched in this run")
    missing = [n for n in fetched["sha256"]
               if not os.path.isfile(os.path.join(fetched["directory"], n))]
    if missing:
        return CheckResult(False, f"missing in {fetched['directory']}: {', '.join(missing)}")
    return CheckResult(True, f"{', '.join(fetched['sha256'])} in {fetched['directory']}, "
                             f"sha256 verified against {ctx.params['host']}")


BACKUP = Runbook(
    name="backup",
    title="Back up etcd",
    params=("host", "backup_dir"),
    preflight=preflight,
    steps=(
        Step("BAK-0", "Check the rules",
             "A backup runs on one control-plane host only, never on each, and never while "
             "encryption or decryption is in progress.",
             check=_check_rules),
        Step("BAK-1", "Check the cluster-wide proxy",
             "Read proxy/cluster: when a proxy is set, the backup script needs its variables.",
             targets=Targets.API, check=_check_proxy),
        Step("BAK-2", "Root shell on the host",
             "Check that commands on the host run as root (sudo -n), as the script needs.",
             targets=Targets.CHOSEN_HOST, check=_check_root_shell),
        Step("BAK-3", "Export the proxy variables",
             "HTTP_PROXY, HTTPS_PROXY and NO_PROXY are exported for the script (sudo -E).",
             targets=Targets.CHOSEN_HOST,
             skip_if=lambda ctx: None if _proxy_pairs(ctx) else "no cluster-wide proxy",
             check=_check_proxy),
        Step("BAK-4", "Run cluster-backup.sh",
             "Save an etcd snapshot and the static pod resources into the backup directory "
             "(a wrapper of etcdctl snapshot save; the member serves it, which loads it). Its "
             "timeout grows with the member's file (shown before it runs).",
             targets=Targets.CHOSEN_HOST, commands=_backup_command, check=_check_backup_made,
             safety=Safety.MUTATING, confirm=Confirm.YES_NO, on_output=_read_closing_line),
        Step("BAK-5", "Verify the backup",
             "Both files are there with the same timestamp and are not empty; write a "
             "manifest beside them for a later restore to check.",
             targets=Targets.CHOSEN_HOST, check=_check_verified, safety=Safety.MUTATING),
        Step("BAK-6", "Fetch the backup to this machine",
             "etcd-dr's addition, with --fetch-to DIR: stream the pair and its manifest to "
             "DIR/<cluster>/ on the operator's machine for safekeeping (0600; temporary names "
             "renamed once the sha256 equals the host's; an interrupted fetch continues).",
             targets=Targets.CHOSEN_HOST, action=_fetch, preview=_fetch_preview,
             check=_check_fetched, precheck=False,
             skip_if=lambda ctx: None if ctx.params.get("fetch_to") else "no --fetch-to"),
    ),
)


# --- BAK-KEEP (etcd-dr): keep the newest N pairs on the host ------------------------------------
# Not a step of BACKUP itself: `etcd-dr run backup --keep N` (tui/runbooks/fleet_backup.py)
# runs BACKUP with this step after BAK-6.

def prune_plan(sets: dict[str, dict], keep: int, taken: str) -> dict[str, list[str]]:
    """Which backups a --keep N policy keeps and removes, from `backup_sets` of a listing:
    the newest `keep` complete pairs stay, and so does `taken` (this run's) whatever its
    place; older complete pairs go; a lone file (its pair incomplete: a failed or running
    backup) is never removed, only reported."""
    complete = sorted(ts for ts, e in sets.items()
                      if "snapshot" in e and "static_kuberesources" in e)
    kept = set(complete[-keep:]) | ({taken} if taken in complete else set())
    return {"kept": sorted(kept),
            "remove": [ts for ts in complete if ts not in kept],
            "lone": sorted(e.get("snapshot") or e.get("static_kuberesources")
                           for ts, e in sets.items() if ts not in complete)}


def _pair_files(sets: dict[str, dict], ts: str, listing: set[str]) -> list[str]:
    """A pair's files and its manifest (when there is one), as named in the listing."""
    entry = sets[ts]
    names = [entry["snapshot"], entry["static_kuberesources"]]
    manifest = f"etcd-dr-manifest_{ts}.json"
    return names + ([manifest] if manifest in listing else [])


def _prune_preview(ctx: RunContext) -> list[tuple[str, Command]]:
    host = ctx.params.get("host") or "?"
    directory = ctx.params.get("backup_dir", DEFAULT_DIR).rstrip("/")
    older = f"{directory}/<each file of the pairs older than the newest {ctx.params.get('keep')}>"
    return [(host, _list(ctx, host)),
            (host, Command.of("rm", "--", older, privileged=True, timeout=60,
                              safety=Safety.DESTRUCTIVE))]


async def _prune(ctx: RunContext, run: StepRun) -> str:
    host, keep = ctx.params["host"], int(ctx.params["keep"])
    directory = ctx.params["backup_dir"].rstrip("/")
    if "backup_ts" not in ctx.facts:  # resumed after BAK-5: find this run's pair again
        made = await _check_backup_made(ctx, host)
        if not made.ok:
            run.fail(f"no backup of this run to keep: {made.detail}")
    taken = ctx.facts["backup_ts"]
    listed = await run.run(host, _list(ctx, host))
    if not listed.ok:
        run.fail(f"cannot list {directory} on {host}: "
                 f"{listed.error or listed.stderr.strip() or listed.exit_status}")
    names = set(listed.stdout.split())
    sets = backup_sets(listed.stdout)
    plan = prune_plan(sets, keep, taken)
    if taken not in plan["kept"]:
        run.fail(f"this run's pair ({taken}) is no longer complete in {directory}: nothing "
                 f"was removed")
    doomed = [f"{directory}/{n}" for ts in plan["remove"] for n in _pair_files(sets, ts, names)]
    if doomed:
        removed = await run.run(host, Command.of("rm", "--", *doomed, privileged=True,
                                                 timeout=60, safety=Safety.DESTRUCTIVE))
        if not removed.ok:
            run.fail(f"rm on {host}: {removed.error or removed.stderr.strip()}")
    after = await run.run(host, _list(ctx, host))
    if not after.ok:
        run.fail(f"cannot list {directory} on {host} after pruning: "
                 f"{after.error or after.stderr.strip()}")
    now = set(after.stdout.split())
    still = [p for p in doomed if p.rsplit("/", 1)[-1] in now]
    if still:
        run.fail("still there after rm: " + ", ".join(still))
    missing = [n for ts in plan["kept"] for n in _pair_files(sets, ts, names) if n not in now]
    if f"etcd-dr-manifest_{taken}.json" not in now:
        missing.append(f"etcd-dr-manifest_{taken}.json")
    if missing:
        run.fail("missing after pruning: " + ", ".join(sorted(set(missing))))
    ctx.facts["kept"], ctx.facts["pruned"] = plan["kept"], plan["remove"]
    ctx.facts["left_alone"] = plan["lone"]
    detail = (f"kept the newest {len(plan['kept'])} pair(s) ({', '.join(plan['kept'])}); "
              + (f"removed {len(plan['remove'])} older pair(s) ({', '.join(plan['remove'])})"
                 if plan["remove"] else "nothing older to remove"))
    if plan["lone"]:
        detail += (f"; left alone {len(plan['lone'])} file(s) whose pair is incomplete "
                   f"({', '.join(plan['lone'])}): a failed or unfinished backup, not counted")
    return detail


KEEP = Step("BAK-KEEP", "Keep the newest backups",
            "etcd-dr's addition, with --keep N: on the host that made this backup, remove "
            "the pairs (and their manifests) older than the newest N complete ones; this "
            "run's pair always stays, a lone file whose pair is incomplete is never removed "
            "(it is reported). The directory is listed again to check.",
            targets=Targets.CHOSEN_HOST, action=_prune, preview=_prune_preview,
            safety=Safety.DESTRUCTIVE, confirm=Confirm.YES_NO,
            skip_if=lambda ctx: None if ctx.params.get("keep") else "no --keep")
