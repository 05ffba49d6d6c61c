"""The restore's preflight as data: `PREFLIGHT_CHECKS`, small pure functions over one
`PreflightFacts` (preflight_facts), each giving the report's item for one question or None
when the question does not arise. Their order is the report's.

A check decides from what the run saw and shows it: what it cannot tell is not ok (a
blocking failure, or a warning that says what to confirm), never a pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from tui.versions import openshift_minor

from tui.runbooks.restore.preflight_facts import PreflightFacts

FENCING_DOC = ('Red Hat\'s "Installing a Two Node OpenShift Cluster", chapter "Two-node with '
               'Fencing", section "Manually recovering from a disruption event when automated '
               'recovery is unavailable"')


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


Check = Callable[[PreflightFacts], PreflightItem | None]


def confirmations_name_lost_hosts(facts: PreflightFacts) -> PreflightItem | None:
    """Every host the operator confirmed lost is a control-plane host of the inventory that
    does not answer: a confirmation of any other host is refused, whatever the override."""
    wrong = [f"{h}: not a control-plane host of the inventory" for h in facts.confirmed_lost
             if h not in facts.control_plane] + \
            [f"{h}: it answers over SSH, and a host that answers is not lost"
             for h in facts.confirmed_lost if h in facts.reachable]
    if not wrong:
        return None
    return PreflightItem("lost-confirmed", "Hosts confirmed lost", False,
                         "; ".join(wrong) + ": nothing is treated as lost on that "
                         "confirmation", overridable=False)


def not_two_node_fencing(facts: PreflightFacts) -> PreflightItem | None:
    """A two-node cluster with fencing (Pacemaker runs etcd) is refused outright: none of the
    static-pod procedures holds there."""
    if not facts.fencing:
        return None
    return PreflightItem(
        "topology", "Not a two-node cluster with fencing", False,
        f"{'; '.join(facts.fencing)}: this is a two-node OpenShift cluster with fencing, where "
        f"Pacemaker runs etcd (podman), not a static pod. etcd-dr does not support its "
        f"recovery yet and will not start. Follow {FENCING_DOC}.", overridable=False)


def every_host_answers_or_is_lost(facts: PreflightFacts) -> PreflightItem:
    """SSH to every control-plane host, before the API goes away. A host that does not answer
    is lost only on evidence; one that is neither blocks, with no override (RST-04 and RST-16
    refuse such hosts anyway): confirming it lost is the operator's way past."""
    if facts.unproven:
        return PreflightItem(
            "ssh", "Every control-plane host answers over SSH or is proven lost", False,
            "; ".join(f"{h}: {why}" for h, why in facts.unproven.items()), overridable=False)
    lost = facts.lost_hosts
    return PreflightItem("ssh", "SSH to every control-plane host", not lost,
                         f"open to {', '.join(facts.reachable) or 'none'}"
                         + (f"; lost: {', '.join(lost)}" if lost else ""), blocking=False)


def lost_hosts_on_evidence(facts: PreflightFacts) -> PreflightItem | None:
    """The lost hosts and the evidence for each: a warning (host steps skip them, RST-16 /
    QRS-04 replace their machines)."""
    lost = facts.lost_hosts
    if not lost:
        return None
    return PreflightItem("lost", "Lost control-plane hosts (on evidence)", False,
                         "; ".join(f"{h}: {facts.lost_evidence[h]}" for h in lost)
                         + ": host steps skip them; RST-16/QRS-04 replace their machines",
                         blocking=False)


def sudo_works(facts: PreflightFacts) -> PreflightItem:
    """`sudo -n true` succeeded on each reachable control-plane host."""
    return PreflightItem("sudo", "sudo -n works on each reachable control-plane host",
                         not facts.sudo_refusals, "; ".join(facts.sudo_refusals) or
                         f"root via sudo -n on {', '.join(facts.reachable) or 'none'}")


def recovery_host_fits(facts: PreflightFacts) -> PreflightItem:
    """The recovery host is a reachable control-plane host whose member is not a learner;
    for a quorum restore, the member with the highest raft index (blocking)."""
    candidates, recovery = facts.candidates, facts.recovery_host
    ranked = "; ".join(f"{i + 1}. {c.host}: {', '.join(c.reasons)}"
                       for i, c in enumerate(candidates))
    if recovery is None:
        return PreflightItem("recovery", "Recovery host", False,
                             f"no reachable control-plane host ({ranked})")
    if recovery not in facts.control_plane:
        return PreflightItem("recovery", "Recovery host", False,
                             f"{recovery} is not a control-plane host")
    if recovery not in facts.reachable:
        return PreflightItem("recovery", "Recovery host", False,
                             f"{recovery} is not reachable over SSH ({ranked})")
    mine = next(c for c in candidates if c.host == recovery)
    if not mine.eligible:
        return PreflightItem(
            "recovery", "Recovery host (not a learner)", False,
            f"{recovery}'s etcd member is a learner: its log is not the quorum's, so it "
            f"never recovers the cluster. Ranking: {ranked}", overridable=not facts.quorum)
    best = candidates[0].host if candidates else recovery
    if facts.quorum and best != recovery:
        return PreflightItem(
            "recovery", "Recovery host (highest raft index)", False,
            f"{recovery} ({', '.join(mine.reasons)}) is not the member with the highest "
            f"raft index, {best}: data written only to {best} would be lost. Ranking: "
            f"{ranked}")
    note = "" if best == recovery else f" (the ranking prefers {best})"
    return PreflightItem("recovery", "Recovery host", True,
                         f"{recovery}: {', '.join(mine.reasons)}{note}. Ranking: {ranked}",
                         blocking=facts.quorum)


def backup_directory_holds_one_backup(facts: PreflightFacts) -> PreflightItem | None:
    """A restore from a backup: its directory could be listed and holds exactly one snapshot
    and one tarball of the same timestamp."""
    if facts.quorum:
        return None
    if not facts.backup_listed or facts.backup is None:
        return PreflightItem("backup", "Backup directory", False,
                             f"cannot list {facts.backup_where}: {facts.backup_listing}")
    backup = facts.backup
    return PreflightItem(
        "backup", "Backup directory: one snapshot and one tarball, same timestamp",
        backup.ok, "; ".join(backup.problems) if not backup.ok else
        f"{facts.backup_where}: {backup.snapshot}, {backup.static_kuberesources}")


def snapshot_status_reads(facts: PreflightFacts) -> PreflightItem | None:
    """The backup's snapshot reads (`snapshot status`, else a non-empty file on a host
    without the tools); asked only of a usable backup on a host."""
    if facts.quorum or facts.snapshot_status is None:
        return None
    ok, detail = facts.snapshot_status
    return PreflightItem("snapshot", "Snapshot status", ok, detail)


def backup_not_dirty(facts: PreflightFacts) -> PreflightItem | None:
    """A backup cluster-backup.sh was forced to take (__POSSIBLY_DIRTY__) is a warning."""
    if facts.quorum or facts.snapshot_status is None or not facts.backup.dirty:
        return None
    return PreflightItem(
        "dirty", "Backup marked __POSSIBLY_DIRTY__", False,
        "cluster-backup.sh was forced past its checks while an operator was "
        "progressing: this backup may be inconsistent; prefer a clean one", blocking=False)


def same_z_stream(facts: PreflightFacts) -> PreflightItem | None:
    """The backup was taken on the running release (its etcd-dr manifest against the
    ClusterVersion, else the inventory). Without a manifest it cannot be checked: a warning
    that says what to confirm."""
    if facts.quorum:
        return None
    manifest = facts.manifest
    cluster_version = facts.api_version if facts.api_reachable else facts.inventory_version
    cluster_source = "ClusterVersion" if facts.api_reachable else "the inventory"
    if manifest and manifest.get("version") and cluster_version:
        same = str(manifest["version"]) == str(cluster_version)
        return PreflightItem(
            "zstream", "Backup from the same z-stream release", same,
            f"backup manifest {manifest['version']}, cluster {cluster_version} "
            f"({cluster_source})" + ("" if same else ": a backup restores only onto the "
                                                    "exact release it was taken on"))
    if facts.backup is not None and facts.backup.ok:
        return PreflightItem(
            "zstream", "Backup from the same z-stream release", False,
            f"no etcd-dr manifest beside the backup: its release cannot be checked; "
            f"confirm it was taken on "
            f"{cluster_version or facts.version or 'the running release'}", blocking=False)
    return None


def tarball_holds_encryption_config(facts: PreflightFacts) -> PreflightItem | None:
    """With etcd encryption on, the backup's tarball holds an encryption-config (else the
    restored data cannot be decrypted); a tarball that cannot be listed is a warning."""
    if facts.quorum or facts.tarball_listing is None:
        return None
    listed, seen = facts.tarball_listing
    if listed:
        has = "encryption-config" in seen
        return PreflightItem(
            "encryption", "Encryption configuration in the tarball", has,
            f"encryption {facts.encryption}: " + (
                "the tarball holds an encryption-config" if has else
                "the tarball has no encryption-config: the restored data could not be "
                "decrypted"))
    return PreflightItem(
        "encryption", "Encryption configuration in the tarball", False,
        f"encryption {facts.encryption}, but `tar -tzf` could not list {facts.tarball}: "
        f"{seen}", blocking=False)


def procedure_fits_the_version(facts: PreflightFacts) -> PreflightItem:
    """The procedure: the one the version calls for, or the operator's --path with a reason.
    A quorum restore needs 4.18 or later (no override); an unknown version asks."""
    version, source, detected = facts.version, facts.version_source, facts.detected_path
    chosen = facts.chosen_path
    if facts.quorum:
        minor = openshift_minor(version)
        if minor is not None and minor < (4, 18):
            return PreflightItem("path", "Quorum restore needs 4.18 or later", False,
                                 f"{source} says {version}: quorum-restore.sh exists from "
                                 f"4.18 on; restore from a backup instead", overridable=False)
        return PreflightItem("path", "Procedure", minor is not None,
                             f"QRS (quorum restore): {source} says {version}: "
                             f"quorum-restore.sh is there from 4.18 on" if detected else
                             f"the version is unknown ({source}): the preflight checks "
                             f"that quorum-restore.sh exists instead", blocking=False)
    if chosen and chosen != (detected.key if detected else None):
        reason = facts.chosen_reason
        return PreflightItem(
            "path", "Procedure", bool(reason),
            f"{chosen} chosen by the operator" + (f" ({reason})" if reason else
                                                  ": a reason is required")
            + (f"; detected: {detected.key} ({detected.why})" if detected else
               f"; version unknown ({source})"),
            blocking=not reason)
    if detected is None:
        return PreflightItem("path", "Procedure", False,
                             f"the cluster version is unknown ({source}): choose the "
                             f"procedure (--path with --reason)")
    return PreflightItem("path", "Procedure", True, detected.why)


def scripts_on_the_recovery_host(facts: PreflightFacts) -> PreflightItem | None:
    """The host scripts the procedure runs are on the recovery host (looked for only when it
    answers)."""
    if facts.scripts is None:
        return None
    recovery = facts.recovery_host
    names = [s for s, _ in facts.scripts]
    missing = [s for s, there in facts.scripts if not there]
    return PreflightItem("scripts", "Restore scripts on the recovery host", not missing,
                         f"missing on {recovery}: {', '.join(missing)}" if missing else
                         f"{', '.join(names)} on {recovery}")


def keepalived_hosts(facts: PreflightFacts) -> PreflightItem:
    """Which hosts run keepalived static pods (baremetal VIPs): RST-04f/RST-06 apply there."""
    keepalived = facts.keepalived_hosts
    return PreflightItem("keepalived", "keepalived static pods", True,
                         f"on {', '.join(keepalived)}: RST-04f/RST-06 apply there"
                         if keepalived else "none (no VIP steps)", blocking=False)


def cluster_api(facts: PreflightFacts) -> PreflightItem:
    """Whether the API answers; when not, API steps go through oc on the recovery host
    (RST-18): a warning."""
    return PreflightItem("api", "Cluster API", facts.api_reachable,
                         f"reachable ({facts.api_version})" if facts.api_reachable else
                         f"not reachable ({facts.api_error}): API steps will run oc on the "
                         f"recovery host with its recovery kubeconfig (RST-18)",
                         blocking=False)


def recovery_host_is_one_machine(facts: PreflightFacts) -> PreflightItem | None:
    """The recovery host's identity is its SSH host key: another inventory name presenting
    the same key is the same machine, and RST-04 would stop etcd on the recovery host
    itself (no override)."""
    recovery = facts.recovery_host
    if recovery not in facts.reachable:
        return None
    key = facts.host_keys.get(recovery)
    if not key:  # no key seen: whether another name is this machine is unknown, not "no"
        return PreflightItem(
            "identity", "The recovery host is one machine under one name", False,
            f"{recovery}'s SSH host key was not seen on this run, so it is unknown whether "
            f"another inventory name is the same machine (RST-04 would then stop etcd on the "
            f"recovery host itself). Check again once the host is connected, or override with a "
            f"reason")
    twins = [h for h in facts.reachable if h != recovery
             and facts.host_keys.get(h) == key]
    return PreflightItem(
        "identity", "The recovery host is one machine under one name", not twins,
        f"{', '.join(twins)} and {recovery} present the same SSH host key ({key}): one "
        f"machine under two inventory names; RST-04 would stop etcd on the recovery host "
        f"itself. Fix the inventory" if twins else
        f"{recovery}'s host key {key} is no other host's",
        blocking=bool(twins), overridable=False)


PREFLIGHT_CHECKS: tuple[Check, ...] = (
    confirmations_name_lost_hosts,
    not_two_node_fencing,
    every_host_answers_or_is_lost,
    lost_hosts_on_evidence,
    sudo_works,
    recovery_host_fits,
    backup_directory_holds_one_backup,
    snapshot_status_reads,
    backup_not_dirty,
    same_z_stream,
    tarball_holds_encryption_config,
    procedure_fits_the_version,
    scripts_on_the_recovery_host,
    keepalived_hosts,
    cluster_api,
    recovery_host_is_one_machine,
)


def run_checks(facts: PreflightFacts) -> list[PreflightItem]:
    """The report's items: each check's, in PREFLIGHT_CHECKS' order."""
    return [item for check in PREFLIGHT_CHECKS if (item := check(facts)) is not None]
