"""The preflight of every restore procedure: version and procedure, recovery host ranking,
lost hosts, the backup, and the report applied to the run's parameters."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from tui.errors import ParseError
from tui.etcd.parse import RevisionFile, parse_revision_json, parse_snapshot_status
from tui.fleet.commands import Command
from tui.runbooks.backup import ETCDCTL_BIN_DIR
from tui.runbooks.context import RunContext, RunEvent, RunEventKind
from tui.runbooks.restore_checks import (REVISION_JSON, BackupCheck, Candidate, RestorePath,
                                         best_recovery_host, check_backup_listing,
                                         rank_recovery_hosts, restore_path)
from tui.versions import openshift_minor
from tui.timeouts import snapshot_status_timeout

from tui.runbooks.restore.common import (DEFAULT_BACKUP_DIR, DISABLE_SCRIPT, KEEPALIVED,
                                         LOST_AFTER, NODE_LOST_AFTER, QUORUM_SCRIPT,
                                         RESTORE_SCRIPT, path_exists, node_ip, priv, probe_host)
from tui.runbooks.restore.hosts import backup_source_param, backup_listing


# --- the preflight --------------------------------------------------------------------------

@dataclass(frozen=True)
class PreflightItem:
    key: str
    title: str
    ok: bool
    detail: str = ""
    blocking: bool = True
    overridable: bool = True  # False: no typed reason lets the run start

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class PreflightReport:
    items: list[PreflightItem]
    path: RestorePath | None
    version: str | None
    version_source: str
    candidates: list[Candidate]
    procedure: str  # "restore" | "quorum-restore"
    recovery_host: str | None = None
    lost_hosts: list[str] = field(default_factory=list)
    keepalived_hosts: list[str] = field(default_factory=list)
    backup: BackupCheck | None = None
    manifest: dict | None = None
    api_reachable: bool = False
    lost_evidence: dict[str, str] = field(default_factory=dict)  # host -> why it is lost
    # hosts neither answering nor proven lost -> what is wrong and what the operator can do
    unproven: dict[str, str] = field(default_factory=dict)
    # seconds (real) until every unproven host would be proven lost by its refusals alone
    # (0: waiting does not help, or nothing to wait for)
    lost_wait: float = 0.0
    # the procedure the version calls for, whatever the operator chose instead (`path` is the
    # one the run follows): what a screen suggests, never the operator's own choice fed back
    detected_path: RestorePath | None = None
    # the cluster-wide proxy's variables RST-07 exports for the restore script (tui.runbooks.
    # checks.proxy_env; {"unknown": why} when the API cannot say): read here, so the plan the
    # wizard shows before its start and the dry run's both have it (issue #14 item 3)
    proxy: dict | None = None

    @property
    def blocking_failures(self) -> list[PreflightItem]:
        return [i for i in self.items if i.blocking and not i.ok]

    @property
    def green(self) -> bool:
        return not self.blocking_failures


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


def _since(stamp: str | None) -> float | None:
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).total_seconds()


async def api_lost_evidence(ctx: RunContext, snap, hosts: list[str]) -> dict[str, str]:
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
            age = _since(ready.get("lastTransitionTime")) if ready else None
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


async def classify_hosts(ctx: RunContext, snap, cp_views) -> tuple[dict[str, str],
                                                                    dict[str, str], float]:
    """Which control-plane hosts are lost, on what evidence: (lost: host -> evidence,
    unproven: host -> what is wrong and what to do, wait: real seconds until refusals alone
    would prove every unproven host lost, 0 when waiting would not help).

    Lost only on evidence: the operator confirmed it, the API says its Node or Machine is
    gone, or every connection was refused / found no route for LOST_AFTER seconds. A timeout,
    an auth failure, a host key problem or sudo denied is a host to fix, never lost."""
    confirmed = confirmed_lost(ctx)
    down = [h.name for h in cp_views if h.state != "connected"]
    api = await api_lost_evidence(ctx, snap, down)
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
FENCING_DOC = ('Red Hat\'s "Installing a Two Node OpenShift Cluster", chapter "Two-node with '
               'Fencing", section "Manually recovering from a disruption event when automated '
               'recovery is unavailable"')


async def _read_manifest(ctx: RunContext, host: str | None, directory: str,
                         ts: str | None) -> dict | None:
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


async def _snapshot_status(ctx: RunContext, host: str, path: str) -> tuple[bool, str]:
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


async def detect_version(ctx: RunContext) -> tuple[str | None, str]:
    """The cluster's version and where it came from: the API's ClusterVersion when it
    answers, else the backup manifest, else the inventory's cluster.version, else (None, ...)
    (the operator chooses)."""
    snap = await ctx.api.snapshot() if ctx.api is not None else None
    host, directory = backup_source_param(ctx)
    # no recovery host chosen yet: the backup may be on any reachable control-plane host
    hosts = [host] if host is not None else [
        h.name for h in ctx.inventory.control_plane if ctx.fleet.status[h.name].state.usable]
    manifest = None
    for host in hosts:
        if manifest is not None:
            break
        if ctx.fleet.status.get(host) and ctx.fleet.status[host].state.usable:
            ok, listing = await backup_listing(ctx, host, directory)
            check = check_backup_listing(listing, directory) if ok else None
            manifest = await _read_manifest(ctx, host, directory,
                                            check.timestamp if check and check.ok else None)
    return _pick_version(ctx, snap, manifest)


def _pick_version(ctx, snap, manifest) -> tuple[str | None, str]:
    if snap is not None and snap.reachable and snap.version:
        return snap.version, "the API's ClusterVersion"
    if manifest and manifest.get("version"):
        return str(manifest["version"]), "the backup manifest"
    if ctx.inventory.cluster_version:
        return ctx.inventory.cluster_version, "the inventory's cluster.version"
    return None, "no source (API down, no backup manifest, no cluster.version)"


async def preflight_report(ctx: RunContext, procedure: str | None = None) -> PreflightReport:
    """The restore's preflight (below); its time is the console's work, not the operator's
    (tui.pace: a drill's fair clock does not count it)."""
    with ctx.pace.working():
        return await _preflight_report(ctx, procedure)


async def _preflight_report(ctx: RunContext, procedure: str | None = None) -> PreflightReport:
    """Everything the restore starts from, checked before the API goes away. Reads only."""
    procedure = procedure or ctx.params.get("procedure") or "restore"
    quorum = procedure == "quorum-restore"
    items: list[PreflightItem] = []
    # without quorum, every etcd read in collect() runs into its timeout (5-15 s of silence);
    # a dry run's output is the change ticket alone
    if not ctx.dry_run:
        ctx.operator.show(RunEvent(RunEventKind.NOTE, "-", READING_NOTE))
    snap = await ctx.backend.collector.collect()
    cp_views = [h for h in snap.hosts if h.role == "control-plane"]
    lost_evidence, unproven, lost_wait = await classify_hosts(ctx, snap, cp_views)
    lost = [h.name for h in cp_views if h.name in lost_evidence]
    reachable = [h.name for h in cp_views if h.state == "connected"]
    names = {h.name for h in cp_views}
    wrong = [f"{h}: not a control-plane host of the inventory" for h in confirmed_lost(ctx)
             if h not in names] + \
            [f"{h}: it answers over SSH, and a host that answers is not lost"
             for h in confirmed_lost(ctx) if h in reachable]
    if wrong:
        items.append(PreflightItem("lost-confirmed", "Hosts confirmed lost", False,
                                   "; ".join(wrong) + ": nothing is treated as lost on that "
                                   "confirmation", overridable=False))
    fencing = await detect_fencing(ctx, snap, reachable)
    if fencing:
        items.append(PreflightItem(
            "topology", "Not a two-node cluster with fencing", False,
            f"{'; '.join(fencing)}: this is a two-node OpenShift cluster with fencing, where "
            f"Pacemaker runs etcd (podman), not a static pod. etcd-dr does not support its "
            f"recovery yet and will not start. Follow {FENCING_DOC}.", overridable=False))
    # a member that does not answer (stopped by disable-etcd.sh, or without quorum) is
    # ranked by its revision.json; on a fencing host the static-pod reading means nothing
    stopped = {} if fencing else await read_stopped_members(ctx, snap, reachable)
    candidates = rank_recovery_hosts(snap, stopped)
    if not quorum and _backup_on_the_candidates(ctx):
        # one ranking for both front ends: the console's wizard names a recovery host (and
        # its own directory as the source) before its first check; `run restore` names none
        candidates = await _rank_with_backup(ctx, candidates, reachable)
    recovery = ctx.params.get("recovery_host") or best_recovery_host(candidates)

    # SSH to every control-plane host, before the API goes away; lost only on evidence
    if unproven:
        # no override: RST-04 and RST-16 refuse such hosts anyway; confirming one lost is
        # the operator's way past this
        items.append(PreflightItem(
            "ssh", "Every control-plane host answers over SSH or is proven lost", False,
            "; ".join(f"{h}: {why}" for h, why in unproven.items()), overridable=False))
    else:
        items.append(PreflightItem("ssh", "SSH to every control-plane host", not lost,
                                   f"open to {', '.join(reachable) or 'none'}"
                                   + (f"; lost: {', '.join(lost)}" if lost else ""),
                                   blocking=False))
    if lost:
        items.append(PreflightItem("lost", "Lost control-plane hosts (on evidence)", False,
                                   "; ".join(f"{h}: {lost_evidence[h]}" for h in lost)
                                   + ": host steps skip them; RST-16/QRS-04 replace their "
                                     "machines", blocking=False))
    # sudo -n on each reachable host
    sudo_bad = []
    for host in reachable:
        r = await probe_host(ctx, host, priv("true", timeout=15))
        if not r.ok:
            sudo_bad.append(f"{host}: {r.error or r.stderr.strip() or r.exit_status}")
    items.append(PreflightItem("sudo", "sudo -n works on each reachable control-plane host",
                               not sudo_bad, "; ".join(sudo_bad) or
                               f"root via sudo -n on {', '.join(reachable) or 'none'}"))
    # the recovery host
    ranked = "; ".join(f"{i + 1}. {c.host}: {', '.join(c.reasons)}"
                       for i, c in enumerate(candidates))
    if recovery is None:
        items.append(PreflightItem("recovery", "Recovery host", False,
                                   f"no reachable control-plane host ({ranked})"))
    elif recovery not in [h.name for h in cp_views]:
        items.append(PreflightItem("recovery", "Recovery host", False,
                                   f"{recovery} is not a control-plane host"))
    elif recovery not in reachable:
        items.append(PreflightItem("recovery", "Recovery host", False,
                                   f"{recovery} is not reachable over SSH ({ranked})"))
    elif not next(c for c in candidates if c.host == recovery).eligible:
        items.append(PreflightItem(
            "recovery", "Recovery host (not a learner)", False,
            f"{recovery}'s etcd member is a learner: its log is not the quorum's, so it "
            f"never recovers the cluster. Ranking: {ranked}", overridable=not quorum))
    else:
        best = candidates[0].host if candidates else recovery
        mine = next(c for c in candidates if c.host == recovery)
        if quorum and best != recovery:
            items.append(PreflightItem(
                "recovery", "Recovery host (highest raft index)", False,
                f"{recovery} ({', '.join(mine.reasons)}) is not the member with the highest "
                f"raft index, {best}: data written only to {best} would be lost. Ranking: "
                f"{ranked}"))
        else:
            note = "" if best == recovery else f" (the ranking prefers {best})"
            items.append(PreflightItem("recovery", "Recovery host", True,
                                       f"{recovery}: {', '.join(mine.reasons)}{note}. "
                                       f"Ranking: {ranked}", blocking=quorum))
    # the backup
    manifest, backup = None, None
    source_host, source_dir = backup_source_param(ctx)
    if not ctx.params.get("backup_source"):
        source_host = recovery
    if not quorum:
        where = f"{source_host}:{source_dir}" if source_host else f"{source_dir} (this machine)"
        listing_ok, listing = False, ""
        if source_host is None:
            import os

            try:
                listing, listing_ok = "\n".join(os.listdir(source_dir)), True
            except OSError as e:
                listing = e.strerror or str(e)
        elif ctx.fleet.status[source_host].state.usable:
            listing_ok, listing = await backup_listing(ctx, source_host, source_dir)
        else:
            listing = f"{source_host} is not reachable"
        if not listing_ok:
            items.append(PreflightItem("backup", "Backup directory", False,
                                       f"cannot list {where}: {listing}"))
        else:
            backup = check_backup_listing(listing, source_dir)
            items.append(PreflightItem(
                "backup", "Backup directory: one snapshot and one tarball, same timestamp",
                backup.ok, "; ".join(backup.problems) if not backup.ok else
                f"{where}: {backup.snapshot}, {backup.static_kuberesources}"))
        if backup is not None and backup.ok and source_host is not None:
            path = f"{source_dir.rstrip('/')}/{backup.snapshot}"
            ok, detail = await _snapshot_status(ctx, source_host, path)
            items.append(PreflightItem("snapshot", "Snapshot status", ok, detail))
            if backup.dirty:
                items.append(PreflightItem(
                    "dirty", "Backup marked __POSSIBLY_DIRTY__", False,
                    "cluster-backup.sh was forced past its checks while an operator was "
                    "progressing: this backup may be inconsistent; prefer a clean one",
                    blocking=False))
            manifest = await _read_manifest(ctx, source_host, source_dir, backup.timestamp)
    # the version, the z-stream, the path
    version, source = _pick_version(ctx, snap.api, manifest)
    if not quorum:
        cluster_version = snap.api.version if snap.api.reachable else \
            ctx.inventory.cluster_version
        cluster_source = "ClusterVersion" if snap.api.reachable else "the inventory"
        if manifest and manifest.get("version") and cluster_version:
            same = str(manifest["version"]) == str(cluster_version)
            items.append(PreflightItem(
                "zstream", "Backup from the same z-stream release", same,
                f"backup manifest {manifest['version']}, cluster {cluster_version} "
                f"({cluster_source})" + ("" if same else ": a backup restores only onto the "
                                                        "exact release it was taken on")))
        elif backup is not None and backup.ok:
            items.append(PreflightItem(
                "zstream", "Backup from the same z-stream release", False,
                f"no etcd-dr manifest beside the backup: its release cannot be checked; "
                f"confirm it was taken on {cluster_version or version or 'the running release'}",
                blocking=False))
        encryption = (manifest or {}).get("encryption")
        if encryption is None and snap.api.reachable:
            encryption = snap.api.encryption_type
        if encryption not in (None, "", "identity") and backup is not None and backup.ok \
                and source_host is not None:
            tarball = f"{source_dir.rstrip('/')}/{backup.static_kuberesources}"
            r = await probe_host(ctx, source_host, priv("tar", "-tzf", tarball, timeout=120))
            if r.ok:
                has = "encryption-config" in r.stdout
                items.append(PreflightItem(
                    "encryption", "Encryption configuration in the tarball", has,
                    f"encryption {encryption}: " + ("the tarball holds an encryption-config"
                                                    if has else "the tarball has no "
                                                    "encryption-config: the restored data "
                                                    "could not be decrypted")))
            else:
                items.append(PreflightItem(
                    "encryption", "Encryption configuration in the tarball", False,
                    f"encryption {encryption}, but `tar -tzf` could not list {tarball}: "
                    f"{(r.stderr or r.error or '').strip()}", blocking=False))
    path = detected = restore_path(version, source)
    chosen = ctx.params.get("path")
    if quorum:
        minor = openshift_minor(version)
        if minor is not None and minor < (4, 18):
            items.append(PreflightItem("path", "Quorum restore needs 4.18 or later", False,
                                       f"{source} says {version}: quorum-restore.sh exists from "
                                       f"4.18 on; restore from a backup instead",
                                       overridable=False))
        else:
            items.append(PreflightItem("path", "Procedure", minor is not None,
                                       f"QRS (quorum restore): {source} says {version}: "
                                       f"quorum-restore.sh is there from 4.18 on" if path else
                                       f"the version is unknown ({source}): the preflight checks "
                                       f"that quorum-restore.sh exists instead",
                                       blocking=False))
    elif chosen and chosen != (path.key if path else None):
        reason = ctx.params.get("path_reason") or ""
        items.append(PreflightItem(
            "path", "Procedure", bool(reason),
            f"{chosen} chosen by the operator" + (f" ({reason})" if reason else
                                                  ": a reason is required")
            + (f"; detected: {path.key} ({path.why})" if path else f"; version unknown "
                                                                   f"({source})"),
            blocking=not reason))
        path = RestorePath(chosen, "RSTN" if chosen == "4.18+" else "RST",
                           f"chosen by the operator: {reason}")
    elif path is None:
        items.append(PreflightItem("path", "Procedure", False,
                                   f"the cluster version is unknown ({source}): choose the "
                                   f"procedure (--path with --reason)"))
    else:
        items.append(PreflightItem("path", "Procedure", True, path.why))
    # the scripts the procedure needs, on the recovery host
    if recovery in reachable:
        scripts = [QUORUM_SCRIPT] if quorum else [RESTORE_SCRIPT] + (
            [DISABLE_SCRIPT] if path is not None and path.key == "4.18+" else [])
        missing = [s for s in scripts if not await path_exists(ctx, recovery, s)]
        items.append(PreflightItem("scripts", "Restore scripts on the recovery host",
                                   not missing, f"missing on {recovery}: {', '.join(missing)}"
                                   if missing else f"{', '.join(scripts)} on {recovery}"))
    # keepalived (baremetal VIPs), the API
    keepalived = [h for h in reachable if await path_exists(ctx, h, KEEPALIVED)]
    items.append(PreflightItem("keepalived", "keepalived static pods", True,
                               f"on {', '.join(keepalived)}: RST-04f/RST-06 apply there"
                               if keepalived else "none (no VIP steps)", blocking=False))
    items.append(PreflightItem("api", "Cluster API", snap.api.reachable,
                               f"reachable ({snap.api.version})" if snap.api.reachable else
                               f"not reachable ({snap.api.error}): API steps will run oc on the "
                               f"recovery host with its recovery kubeconfig (RST-18)",
                               blocking=False))
    from tui.runbooks.checks import proxy_env

    proxy = await proxy_env(ctx) if snap.api.reachable else \
        {"unknown": "the API is not reachable"}
    # the recovery host's identity is its host key: one machine, one name
    if recovery in reachable:
        key = getattr(ctx.fleet.status[recovery], "server_key", None)
        twins = [h for h in reachable if h != recovery
                 and getattr(ctx.fleet.status[h], "server_key", None) == key] if key else []
        items.append(PreflightItem(
            "identity", "The recovery host is one machine under one name", not twins,
            f"{', '.join(twins)} and {recovery} present the same SSH host key ({key}): one "
            f"machine under two inventory names; RST-04 would stop etcd on the recovery host "
            f"itself. Fix the inventory" if twins else
            f"{recovery}'s host key {key or '(not seen)'} is no other host's",
            blocking=bool(twins), overridable=False))
    return PreflightReport(items=items, path=path, detected_path=detected, version=version,
                           version_source=source,
                           candidates=candidates, procedure=procedure, recovery_host=recovery,
                           lost_hosts=lost, keepalived_hosts=keepalived, backup=backup,
                           manifest=manifest, api_reachable=snap.api.reachable,
                           lost_evidence={h: lost_evidence[h] for h in lost},
                           unproven=unproven, lost_wait=lost_wait, proxy=proxy)


def _backup_on_the_candidates(ctx: RunContext) -> bool:
    """The backup is read where the recovery host will be (no source, or the chosen host's
    own directory as the source): holding it counts in the ranking. A backup on another host
    or on this machine is copied in RST-03 wherever the restore runs."""
    source = ctx.params.get("backup_source") or ""
    host, sep, _ = source.partition(":")
    return not source or bool(sep) and host == ctx.params.get("recovery_host")


async def _rank_with_backup(ctx: RunContext, candidates: list[Candidate],
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


def apply_report(ctx: RunContext, report: PreflightReport) -> None:
    """What the run keeps from its preflight (journaled with the plan, so a resume uses the
    same): the recovery host, lost hosts, keepalived hosts, path, version, the results."""
    p = ctx.params
    if not p.get("recovery_host") and report.recovery_host:
        p["recovery_host"] = report.recovery_host
        best = next((c for c in report.candidates if c.host == report.recovery_host), None)
        if not ctx.dry_run:
            ctx.operator.show(RunEvent(RunEventKind.NOTE,
                                       "-", f"recovery host: {report.recovery_host} "
                                       f"(the preflight's best candidate: "
                                       f"{'; '.join(best.reasons) if best else 'reachable'}; "
                                       f"choose another with --host)"))
    p["lost_hosts"] = list(report.lost_hosts)
    p["lost_evidence"] = {h: report.lost_evidence[h] for h in report.lost_hosts
                          if h in report.lost_evidence}
    p["keepalived_hosts"] = list(report.keepalived_hosts)
    if not p.get("proxy") and report.proxy is not None:
        p["proxy"] = dict(report.proxy)  # RST-07 and the restore script's environment
    p.setdefault("backup_dir", DEFAULT_BACKUP_DIR)
    if report.path is not None and report.procedure == "restore":
        p.setdefault("path", report.path.key)
        p.setdefault("path_reason", report.path.why)
    elif report.procedure == "quorum-restore":
        p.setdefault("path", "4.18+")
    p["version"], p["version_source"] = report.version, report.version_source
    p["candidates"] = [{"host": c.host, "reasons": list(c.reasons)} for c in report.candidates]
    p["preflight"] = [i.to_json() for i in report.items]
    p.setdefault("redeploy_stamp", datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S"))
    if report.backup is not None and report.backup.ok:
        p["backup_ts"] = report.backup.timestamp


def _planned_as_lost(report: PreflightReport) -> PreflightReport:
    """For a dry run's ticket: hosts whose refusals will prove them lost by the time the run
    has waited (report.lost_wait) are planned as lost, and the ticket says so. The run itself
    decides again, after its wait."""
    from dataclasses import replace

    pending = {h: f"not proven yet ({why.split(';')[0]}); the run waits {report.lost_wait:.0f} "
                  f"s for that, then treats it as lost if it still refuses (or --lost HOST)"
               for h, why in report.unproven.items()}
    evidence = {**report.lost_evidence, **pending}
    lost = list(report.lost_hosts) + [h for h in pending if h not in report.lost_hosts]
    items = [i for i in report.items if i.key not in ("ssh", "lost")]
    items.insert(0, PreflightItem("lost", "Lost control-plane hosts (planned)", False,
                                  "; ".join(f"{h}: {evidence[h]}" for h in lost),
                                  blocking=False))
    return replace(report, items=items, lost_hosts=lost, lost_evidence=evidence)


def run_preflight(procedure: str, path_key: str | None = None):
    async def preflight(ctx: RunContext) -> list[str]:
        report = ctx.restore_report
        if report is None or report.procedure != procedure:
            report = await preflight_report(ctx, procedure)
        ctx.restore_report = None  # used once: a retry reads the cluster again
        others = [i for i in report.items if not i.ok and i.blocking and i.key != "ssh"
                  and not (i.overridable and ctx.params.get("override"))]
        if report.lost_wait > 0 and not ctx.dry_run and not others:
            # every host that does not answer refuses (or has no route) but not for long
            # enough to be lost, and nothing else blocks: wait until it would be, look again
            ctx.operator.show(RunEvent(RunEventKind.NOTE, "-", (
                f"waiting {report.lost_wait:.0f} s: " + "; ".join(
                    f"{h}: {why}" for h, why in report.unproven.items()))))
            await asyncio.sleep(report.lost_wait + 0.5)
            report = await preflight_report(ctx, procedure)
        elif report.lost_wait > 0 and not others:
            report = _planned_as_lost(report)  # a dry run: the plan of the run after its wait
        apply_report(ctx, report)
        if not ctx.params.get("proxy"):  # read by the preflight, applied by apply_report
            from tui.runbooks.checks import proxy_env

            ctx.params["proxy"] = report.proxy if report.proxy is not None else \
                await proxy_env(ctx) if report.api_reachable else \
                {"unknown": "the API is not reachable"}
        items = list(report.items)
        if path_key is not None and ctx.params.get("path") != path_key:
            items.append(PreflightItem("path", "Procedure", False,
                                       f"this runbook is the {path_key} procedure but the run "
                                       f"is for {ctx.params.get('path')}", overridable=False))
        if not ctx.dry_run:
            for item in items:
                mark = "ok  " if item.ok else ("FAIL" if item.blocking else "warn")
                ctx.operator.show(RunEvent(RunEventKind.NOTE,
                                           "-", f"preflight {mark} {item.title}: "
                                                         f"{item.detail}"))
        hard = [i for i in items if not i.ok and i.blocking and not i.overridable]
        soft = [i for i in items if not i.ok and i.blocking and i.overridable]
        if ctx.dry_run:
            # the ticket shows hosts not proven lost (the run itself will block on them)
            return [f"{i.title}: {i.detail}" for i in hard if i.key != "ssh"]
        if ctx.params.get("override"):
            return [f"{i.title}: {i.detail}" for i in hard]
        return [f"{i.title}: {i.detail}" for i in hard + soft]
    return preflight
