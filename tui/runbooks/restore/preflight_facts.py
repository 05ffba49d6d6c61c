"""What the restore's preflight reads, gathered once into one frozen `PreflightFacts`: the
hosts and the evidence on which each is lost or not, the recovery host ranking, the backup,
the version, the scripts, the API. Reads only; the checks (preflight_checks) decide from it.

Every fact is what this run saw, kept as seen (a listing, a tool's output, why a read
failed): a check that cannot tell says so and shows it, never guesses "done" or "fine"."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tui.errors import ParseError
from tui.etcd.parse import RevisionFile, parse_revision_json, parse_snapshot_status
from tui.fleet.commands import Command
from tui.runbooks.backup import ETCDCTL_BIN_DIR
from tui.runbooks.context import RunContext, RunEvent, RunEventKind
from tui.runbooks.restore_checks import (REVISION_JSON, BackupCheck, Candidate, RestorePath,
                                         best_recovery_host, check_backup_listing,
                                         rank_recovery_hosts, restore_path)
from tui.timeouts import snapshot_status_timeout

from tui.runbooks.restore.common import (DEFAULT_BACKUP_DIR, DISABLE_SCRIPT, KEEPALIVED,
                                         LOST_AFTER, NODE_LOST_AFTER, QUORUM_SCRIPT,
                                         RESTORE_SCRIPT, path_exists, node_ip, priv, probe_host)
from tui.runbooks.restore.hosts import backup_source_param, backup_listing

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- the facts --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PreflightFacts:
    """Everything the preflight's checks decide from, read once by `gather_facts`."""

    procedure: str  # "restore" | "quorum-restore"
    # the control-plane hosts of the snapshot, in inventory order, and those connected
    control_plane: tuple[str, ...]
    reachable: tuple[str, ...]
    # the operator's confirmations (host -> reason), as given
    confirmed_lost: dict[str, str]
    # hosts lost on evidence (host -> the evidence), those neither answering nor proven lost
    # (host -> what is wrong, what to do), and the real seconds until refusals alone would
    # prove every unproven host lost (0: waiting does not help)
    lost_evidence: dict[str, str]
    unproven: dict[str, str]
    lost_wait: float
    # why this looks like a two-node cluster with fencing (empty: nothing says so)
    fencing: tuple[str, ...]
    # the recovery host ranking, best first, and the host the run uses (the operator's or
    # the best candidate; None: no candidate)
    candidates: tuple[Candidate, ...]
    recovery_host: str | None
    # "host: why" for each reachable host where `sudo -n true` failed
    sudo_refusals: tuple[str, ...]
    # the backup (a restore from a backup only): where it was looked for, the listing or
    # why there is none, the listing's verdict, its snapshot status (ok, what the tool said),
    # the etcd-dr manifest beside it
    backup_host: str | None = None  # None: this machine
    backup_dir: str = DEFAULT_BACKUP_DIR
    backup_where: str = ""
    backup_listed: bool = False
    backup_listing: str = ""
    backup: BackupCheck | None = None
    snapshot_status: tuple[bool, str] | None = None  # None: not read
    manifest: dict | None = None
    # the version: the value and its source, the inventory's, the procedure it calls for
    version: str | None = None
    version_source: str = ""
    inventory_version: str | None = None
    detected_path: RestorePath | None = None
    # the operator's --path and --reason
    chosen_path: str | None = None
    chosen_reason: str = ""
    # the encryption type (the manifest's, else the API's) and the tarball's `tar -tzf`
    # (listed, its output or why not); None: not listed
    encryption: str | None = None
    tarball: str = ""
    tarball_listing: tuple[bool, str] | None = None
    # the scripts the procedure needs on the recovery host and whether each is there
    # (None: the recovery host is not reachable, nothing was looked at)
    scripts: tuple[tuple[str, bool], ...] | None = None
    keepalived_hosts: tuple[str, ...] = ()
    # the API as the snapshot saw it
    api_reachable: bool = False
    api_version: str | None = None
    api_error: str | None = None
    proxy: dict | None = None
    # each reachable host's SSH host key as the fleet saw it (None: not seen)
    host_keys: dict[str, str | None] = field(default_factory=dict)
    # each answering member's database file (host -> bytes, as its status said): what
    # RST-04e's move of /var/lib/etcd may have to copy
    db_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def quorum(self) -> bool:
        return self.procedure == "quorum-restore"

    @property
    def lost_hosts(self) -> list[str]:
        return [h for h in self.control_plane if h in self.lost_evidence]

    @property
    def path(self) -> RestorePath | None:
        """The procedure the run follows: the operator's --path when it differs from the
        detected one (or the version is unknown), else the detected one."""
        return run_path(self.quorum, self.detected_path, self.chosen_path, self.chosen_reason)


def run_path(quorum: bool, detected: RestorePath | None, chosen: str | None,
             reason: str) -> RestorePath | None:
    if quorum or not chosen or chosen == (detected.key if detected else None):
        return detected
    return RestorePath(chosen, "RSTN" if chosen == "4.18+" else "RST",
                       f"chosen by the operator: {reason}")


def scripts_needed(quorum: bool, path: RestorePath | None) -> list[str]:
    """The host scripts the procedure runs on the recovery host."""
    if quorum:
        return [QUORUM_SCRIPT]
    return [RESTORE_SCRIPT] + ([DISABLE_SCRIPT] if path is not None and path.key == "4.18+"
                               else [])


# --- reading the hosts and the API ------------------------------------------------------------

READING_NOTE = "reading the cluster (etcd without quorum answers slowly)..."
_FAILURE_WORDS = {"refused": "connection refused", "no-route": "no route to host",
                  "network-unreachable": "network unreachable"}
CONFIRM_HINT = "confirm it lost (--lost HOST, or 'confirm lost' in the restore screen)"


def confirmed_lost(ctx: RunContext) -> dict[str, str]:
    """The operator's confirmations: host -> reason (--lost HOST, the screen's 'confirm
    lost'); journaled with the plan."""
    given = ctx.params.get("confirmed_lost") or {}
    if isinstance(given, (list, tuple)):
        given = {h: "" for h in given}
    return {str(h): str(r or "").strip() for h, r in given.items()}


def _drill_time(ctx: RunContext, real: float) -> str:
    scaled = real * max(ctx.time_scale, 1e-6)
    return f"{scaled:.0f} s" + ("" if ctx.time_scale == 1 else
                                f" of drill time ({real:.1f} s real at --speed "
                                f"{ctx.time_scale:g})")


def _since(stamp: str | None, now: Clock) -> float | None:
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (now() - when).total_seconds()


async def api_lost_evidence(ctx: RunContext, snap, hosts: list[str],
                            now: Clock = utc_now) -> dict[str, str]:
    """What the API says of hosts that do not answer over SSH: its Node NotReady for longer
    than NODE_LOST_AFTER, its Machine Failed or being deleted, or its Machine's Node gone.
    Empty when the API does not answer (a cluster without quorum has none)."""
    if not hosts or ctx.api is None or not snap.api.reachable:
        return {}
    from tui.cluster.ops import MACHINES_PATH
    from tui.runbooks.restore.machines import machine_matches, machine_phase

    try:
        nodes = (await ctx.api.get_json("/api/v1/nodes")).get("items") or []
    except Exception:  # an API that stops answering now gives no evidence
        return {}
    try:
        machines = (await ctx.api.get_json(MACHINES_PATH)).get("items") or []
    except Exception:
        machines = []
    names = {(n.get("metadata") or {}).get("name") for n in nodes}
    out: dict[str, str] = {}
    for host in hosts:
        address = ctx.inventory.host(host).address
        node = next((n for n in nodes if (n.get("metadata") or {}).get("name") == host
                     or node_ip(n) == address), None)
        machine = next((m for m in machines if machine_matches(ctx, m, host)), None)
        why = []
        if node is not None:
            ready = next((c for c in (node.get("status") or {}).get("conditions") or []
                          if c.get("type") == "Ready"), None)
            age = _since(ready.get("lastTransitionTime"), now) if ready else None
            if ready is not None and ready.get("status") != "True" and age is not None and \
                    age * max(ctx.time_scale, 1e-6) >= NODE_LOST_AFTER:
                why.append(f"Node {node['metadata']['name']} NotReady for "
                           f"{age * max(ctx.time_scale, 1e-6) / 60:.0f} min")
        if machine is not None:
            name = (machine.get("metadata") or {}).get("name")
            phase = machine_phase(machine)
            ref = ((machine.get("status") or {}).get("nodeRef") or {}).get("name")
            if phase in ("Failed", "Deleting"):
                why.append(f"Machine {name} is {phase}")
            elif ref and ref not in names and nodes:
                why.append(f"Machine {name}'s Node {ref} is deleted")
        if why:
            out[host] = "the API says " + "; ".join(why)
    return out


async def classify_hosts(ctx: RunContext, snap, cp_views, now: Clock = utc_now
                         ) -> tuple[dict[str, str], dict[str, str], float]:
    """Which control-plane hosts are lost, on what evidence: (lost: host -> evidence,
    unproven: host -> what is wrong and what to do, wait: real seconds until refusals alone
    would prove every unproven host lost, 0 when waiting would not help).

    Lost only on evidence: the operator confirmed it, the API says its Node or Machine is
    gone, or every connection was refused / found no route for LOST_AFTER seconds. A timeout,
    an auth failure, a host key problem or sudo denied is a host to fix, never lost."""
    confirmed = confirmed_lost(ctx)
    down = [h.name for h in cp_views if h.state != "connected"]
    api = await api_lost_evidence(ctx, snap, down, now)
    scale = max(ctx.time_scale, 1e-6)
    lost: dict[str, str] = {}
    unproven: dict[str, str] = {}
    waits: list[float | None] = []
    for h in cp_views:
        if h.state == "connected":
            continue
        if h.name in confirmed:
            reason = confirmed[h.name]
            lost[h.name] = "confirmed lost by the operator" + (f": {reason}" if reason else "")
            continue
        if h.name in api:
            lost[h.name] = api[h.name]
            continue
        failing = getattr(ctx.fleet, "unreachable_for", lambda name: None)(h.name)
        if failing is not None:
            kind, seconds = failing
            word = _FAILURE_WORDS.get(kind, kind)
            if seconds * scale >= LOST_AFTER:
                lost[h.name] = (f"{word} on every SSH connection for "
                                f"{_drill_time(ctx, seconds)} (lost after {LOST_AFTER:g} s)")
                continue
            left = LOST_AFTER / scale - seconds
            waits.append(left)
            unproven[h.name] = (f"{word} for {_drill_time(ctx, seconds)} only; a host is lost "
                                f"after {LOST_AFTER:g} s of that: wait and check again, or "
                                f"{CONFIRM_HINT}")
            continue
        waits.append(None)
        what = h.state + (f" ({h.error})" if h.error else "")
        unproven[h.name] = (f"{what}: not proof that it is lost (a timeout, a host key, login "
                            f"or sudo problem is a host to fix): fix it, or {CONFIRM_HINT}")
    wait = max(waits) if waits and None not in waits else 0.0
    return lost, unproven, max(0.0, wait)


# Two-node OpenShift with fencing (UPSTREAM.md): Pacemaker runs etcd under podman, not as a
# static pod, and cluster-restore.sh/disable-etcd.sh are Pacemaker variants there. Nothing in
# the static-pod procedures holds on such hosts, and "no etcd-pod.yaml, no etcd container in
# crictl" proves nothing about etcd there: refuse before any step can conclude anything.
DUAL_REPLICA = "DualReplica"
PCS = "/usr/sbin/pcs"
INFRASTRUCTURE = "/apis/config.openshift.io/v1/infrastructures/cluster"

async def read_manifest(ctx: RunContext, host: str | None, directory: str,
                        ts: str | None) -> dict | None:
    """The etcd-dr manifest beside the backup of timestamp `ts`; None when there is none or
    it cannot be read as a JSON object."""
    if host is None or ts is None:
        return None
    r = await probe_host(ctx, host, priv("cat", f"{directory.rstrip('/')}/etcd-dr-manifest_{ts}.json",
                                         timeout=15))
    if not r.ok:
        return None
    try:
        data = json.loads(r.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def snapshot_status(ctx: RunContext, host: str, path: str) -> tuple[bool, str]:
    """(readable, what the tool said): the snapshot's `snapshot status`, else its size."""
    # etcdutl first: etcdctl 3.5 calls its own `snapshot status` deprecated, 3.6 dropped it
    # (it reads the whole file; its size is not known yet: the rule takes the 8 GB quota)
    limit = snapshot_status_timeout(None, override=ctx.params.get("timeout")).seconds
    for tool in ("etcdutl", "etcdctl"):
        r = await probe_host(ctx, host, priv(f"{ETCDCTL_BIN_DIR}/{tool}", "snapshot", "status",
                                          path, "-w", "json", timeout=limit))
        if r.ok:
            try:
                status = parse_snapshot_status(r.stdout)
            except ParseError:
                continue
            storage = f", storage version {status.version}" if status.version else ""
            return True, (f"{tool} snapshot status: hash {status.hash}, revision "
                          f"{status.revision}, {status.total_key} keys{storage}")
        elif r.exit_status not in (126, 127) and "No such file" not in (r.stderr or "") \
                and "not found" not in (r.stderr or ""):
            return False, f"{tool} snapshot status failed: {(r.stderr or r.error or '').strip()}"
    r = await probe_host(ctx, host, priv("stat", "-c", "%s", path, timeout=15))
    size = int(r.stdout.strip()) if r.ok and r.stdout.strip().isdigit() else 0
    if size > 0:
        return True, f"{size} bytes (no etcdutl/etcdctl on the host to read its status)"
    return False, f"the snapshot is empty or unreadable: {r.stderr.strip() or r.error or size}"


async def read_stopped_members(ctx: RunContext, snap, hosts: list[str]
                               ) -> dict[str, RevisionFile | str]:
    """For each reachable control-plane host whose etcd did not answer: its
    /var/lib/etcd/revision.json (4.18+), or why it could not be read."""
    answering = {m.host for m in snap.members if m.host and m.raft_index is not None}
    out: dict[str, RevisionFile | str] = {}
    for host in hosts:
        if host in answering:
            continue
        r = await probe_host(ctx, host, priv("cat", REVISION_JSON, timeout=15))
        if r.ok:
            try:
                out[host] = parse_revision_json(r.stdout)
            except ParseError as e:
                out[host] = str(e)
        elif "No such file" in (r.stderr or ""):
            out[host] = f"no {REVISION_JSON} (OpenShift writes it from 4.18 on)"
        else:
            out[host] = (f"cannot read {REVISION_JSON}: "
                         f"{(r.stderr or r.error or '').strip() or r.exit_status}")
    return out


async def detect_fencing(ctx: RunContext, snap, hosts: list[str]) -> list[str]:
    """Why this looks like a two-node cluster with fencing (empty: it does not): the API's
    Infrastructure topology, or Pacemaker's pcs program or service on a reachable host.
    Read-only probes only (`test -e`, `systemctl is-active`)."""
    evidence = []
    topology = ctx.facts.get("topology")
    if snap.api.reachable and ctx.api is not None:
        try:
            infra = await ctx.api.get_json(INFRASTRUCTURE)
            topology = ((infra or {}).get("status") or {}).get("controlPlaneTopology") \
                or topology
        except Exception:  # an unreadable Infrastructure: the hosts still tell
            pass
    if topology == DUAL_REPLICA:
        evidence.append(f"Infrastructure status.controlPlaneTopology is {DUAL_REPLICA}")
    for host in hosts:
        r = await probe_host(ctx, host, priv("test", "-e", PCS, timeout=15))
        if r.exit_status == 0 and not r.error:
            evidence.append(f"{host} has Pacemaker's {PCS}")
        r = await probe_host(ctx, host, Command.of("systemctl", "is-active", "pacemaker",
                                               timeout=15))
        if r.exit_status == 0 and not r.error and r.stdout.strip() == "active":
            evidence.append(f"{host}: systemctl is-active pacemaker says active")
    return evidence


def pick_version(ctx, snap, manifest) -> tuple[str | None, str]:
    """The version and its source: the API's ClusterVersion, else the backup manifest, else
    the inventory's cluster.version, else (None, why none)."""
    if snap is not None and snap.reachable and snap.version:
        return snap.version, "the API's ClusterVersion"
    if manifest and manifest.get("version"):
        return str(manifest["version"]), "the backup manifest"
    if ctx.inventory.cluster_version:
        return ctx.inventory.cluster_version, "the inventory's cluster.version"
    return None, "no source (API down, no backup manifest, no cluster.version)"


def backup_on_the_candidates(ctx: RunContext) -> bool:
    """The backup is read where the recovery host will be (no source, or the chosen host's
    own directory as the source): holding it counts in the ranking. A backup on another host
    or on this machine is copied in RST-03 wherever the restore runs."""
    source = ctx.params.get("backup_source") or ""
    host, sep, _ = source.partition(":")
    return not source or bool(sep) and host == ctx.params.get("recovery_host")


async def rank_with_backup(ctx: RunContext, candidates: list[Candidate],
                           reachable: list[str]) -> list[Candidate]:
    """For a restore from a backup, a reachable host that already holds a usable backup in
    the backup directory ranks first (no copy needed), the ranking otherwise kept."""
    directory = ctx.params.get("backup_dir") or DEFAULT_BACKUP_DIR
    ranked = []
    for c in candidates:
        holds = False
        if c.host in reachable:
            ok, listing = await backup_listing(ctx, c.host, directory)
            holds = ok and check_backup_listing(listing, directory).ok
        reasons = c.reasons + ((f"holds the backup in {directory}",) if holds else ())
        ranked.append(Candidate(c.host, (c.score[0], holds and c.eligible) + tuple(c.score[1:]),
                                reasons, c.eligible))
    return sorted(ranked, key=lambda c: c.score, reverse=True)


# --- gathering --------------------------------------------------------------------------------

async def gather_facts(ctx: RunContext, procedure: str, now: Clock = utc_now
                       ) -> PreflightFacts:
    """Read everything the preflight's checks need, in the order the checks come (what is
    read depends on what was found: no snapshot status without a usable backup). `now`
    dates what the API reports (a Node NotReady since when)."""
    quorum = procedure == "quorum-restore"
    # without quorum, every etcd read in collect() runs into its timeout (5-15 s of silence);
    # a dry run's output is the change ticket alone
    if not ctx.dry_run:
        ctx.operator.show(RunEvent(RunEventKind.NOTE, "-", READING_NOTE))
    snap = await ctx.backend.collector.collect()
    cp_views = [h for h in snap.hosts if h.role == "control-plane"]
    lost_evidence, unproven, lost_wait = await classify_hosts(ctx, snap, cp_views, now)
    reachable = [h.name for h in cp_views if h.state == "connected"]
    fencing = await detect_fencing(ctx, snap, reachable)
    # a member that does not answer (stopped by disable-etcd.sh, or without quorum) is
    # ranked by its revision.json; on a fencing host the static-pod reading means nothing
    stopped = {} if fencing else await read_stopped_members(ctx, snap, reachable)
    candidates = rank_recovery_hosts(snap, stopped)
    if not quorum and backup_on_the_candidates(ctx):
        # one ranking for both front ends: the console's wizard names a recovery host (and
        # its own directory as the source) before its first check; `run restore` names none
        candidates = await rank_with_backup(ctx, candidates, reachable)
    recovery = ctx.params.get("recovery_host") or best_recovery_host(candidates)
    sudo_refusals = []
    for host in reachable:
        r = await probe_host(ctx, host, priv("true", timeout=15))
        if not r.ok:
            sudo_refusals.append(f"{host}: {r.error or r.stderr.strip() or r.exit_status}")
    backup = {} if quorum else await gather_backup(ctx, recovery)
    version, source = pick_version(ctx, snap.api, backup.get("manifest"))
    encryption = tarball = None
    tarball_listing = None
    if not quorum:
        encryption, tarball, tarball_listing = await gather_encryption(ctx, snap, backup)
    detected = restore_path(version, source)
    chosen, reason = ctx.params.get("path"), ctx.params.get("path_reason") or ""
    scripts = None
    if recovery in reachable:
        needed = scripts_needed(quorum, run_path(quorum, detected, chosen, reason))
        scripts = tuple([(s, await path_exists(ctx, recovery, s)) for s in needed])
    keepalived = [h for h in reachable if await path_exists(ctx, h, KEEPALIVED)]
    from tui.runbooks.checks import proxy_env

    proxy = await proxy_env(ctx) if snap.api.reachable else \
        {"unknown": "the API is not reachable"}
    keys = {h: getattr(ctx.fleet.status[h], "server_key", None) for h in reachable}
    return PreflightFacts(
        procedure=procedure, control_plane=tuple(h.name for h in cp_views),
        reachable=tuple(reachable), confirmed_lost=confirmed_lost(ctx),
        lost_evidence=lost_evidence, unproven=unproven, lost_wait=lost_wait,
        fencing=tuple(fencing), candidates=tuple(candidates), recovery_host=recovery,
        sudo_refusals=tuple(sudo_refusals), **backup, version=version, version_source=source,
        inventory_version=ctx.inventory.cluster_version, detected_path=detected,
        chosen_path=chosen, chosen_reason=reason, encryption=encryption,
        tarball=tarball or "", tarball_listing=tarball_listing, scripts=scripts,
        keepalived_hosts=tuple(keepalived), api_reachable=snap.api.reachable,
        api_version=snap.api.version, api_error=snap.api.error, proxy=proxy, host_keys=keys,
        db_sizes={m.host: m.db_size for m in snap.members
                  if m.host and m.db_size is not None})


async def gather_backup(ctx: RunContext, recovery: str | None) -> dict:
    """The backup's facts (PreflightFacts' backup_* fields, snapshot_status, manifest): its
    directory's listing where it is (the recovery host's unless --backup-source says), and
    when that holds one usable backup, its snapshot status and etcd-dr manifest."""
    source_host, source_dir = backup_source_param(ctx)
    if not ctx.params.get("backup_source"):
        source_host = recovery
    where = f"{source_host}:{source_dir}" if source_host else f"{source_dir} (this machine)"
    listing_ok, listing = False, ""
    if source_host is None:
        try:
            listing, listing_ok = "\n".join(os.listdir(source_dir)), True
        except OSError as e:
            listing = e.strerror or str(e)
    elif ctx.fleet.status[source_host].state.usable:
        listing_ok, listing = await backup_listing(ctx, source_host, source_dir)
    else:
        listing = f"{source_host} is not reachable"
    backup = check_backup_listing(listing, source_dir) if listing_ok else None
    status = manifest = None
    if backup is not None and backup.ok and source_host is not None:
        snapshot = f"{source_dir.rstrip('/')}/{backup.snapshot}"
        status = await snapshot_status(ctx, source_host, snapshot)
        manifest = await read_manifest(ctx, source_host, source_dir, backup.timestamp)
    return {"backup_host": source_host, "backup_dir": source_dir, "backup_where": where,
            "backup_listed": listing_ok, "backup_listing": listing, "backup": backup,
            "snapshot_status": status, "manifest": manifest}


async def gather_encryption(ctx: RunContext, snap, backup: dict
                            ) -> tuple[str | None, str | None, tuple[bool, str] | None]:
    """(the encryption type: the manifest's, else the API's; the tarball; its `tar -tzf`
    as (listed, the listing or why not), None when not listed: no encryption, or no usable
    backup on a host)."""
    manifest, check = backup.get("manifest"), backup.get("backup")
    encryption = (manifest or {}).get("encryption")
    if encryption is None and snap.api.reachable:
        encryption = snap.api.encryption_type
    host, directory = backup.get("backup_host"), backup.get("backup_dir", DEFAULT_BACKUP_DIR)
    if encryption in (None, "", "identity") or check is None or not check.ok or host is None:
        return encryption, None, None
    tarball = f"{directory.rstrip('/')}/{check.static_kuberesources}"
    r = await probe_host(ctx, host, priv("tar", "-tzf", tarball, timeout=120))
    return encryption, tarball, (True, r.stdout) if r.ok else \
        (False, (r.stderr or r.error or '').strip())
