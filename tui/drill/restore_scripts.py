"""The 4.18+ restore scripts on the drill's control-plane hosts.

Simulations of what the cluster-etcd-operator installs in /usr/local/bin (bindata/etcd/
disable-etcd.sh, cluster-restore.sh, quorum-restore.sh and the etcd-common-tools they source),
with their messages and exit statuses:

- every one: not root -> "This script must be run as root" (stdout), exit 1; etcd.env or
  etcd-common-tools gone -> "required dependencies not found, ...", exit 1;
- mv_static_pods: "...stopping etcd-pod.yaml" (printed even when the manifest is already
  gone: then nothing moves), the manifest goes to /home/core/assets/manifests-stopped;
- wait_for_containers_to_stop etcd etcdctl etcd-metrics etcd-readyz etcd-rev: for each,
  "Waiting for container NAME to stop", a "." per second while `crictl ps` still shows it,
  "complete" (kubelet stops the containers; the script's sleeps are simulated time, and a
  frozen clock moves on while the script sleeps, as `sleep` does in the drill);
- disable-etcd.sh: only the two steps above (run again: the same lines, nothing to wait for);
- cluster-restore.sh DIR (4.18 and later; older releases keep the earlier stub): the usage
  lines when DIR is missing or not a directory; the last snapshot*.db and the last
  static_kuberesources*.tar.gz by `ls -v` (several backups in DIR: the newest of each, chosen
  independently); "etcd snapshot X does not exist" when there is none; etcdctl/etcdutl out
  of the etcd image (podman's container ID, `etcdctl version`), `etcdutl snapshot status`'s
  JSON line; stops etcd; moves /var/lib/etcd/member to /var/lib/etcd-backup (saying so);
  extracts the static pod resources (no tar.gz: tar's error, exit 2, etcd stays stopped);
  copies the snapshot to /var/lib/etcd-backup/snapshot.db, moves revision.json beside it;
  "starting restore-etcd static pod" and puts the restore pod manifest in place, exit 0;
- quorum-restore.sh: stops etcd, "starting restore-etcd static pod", puts the quorum-restore
  pod manifest in place, exit 0.

The scripts return once the restore pod's manifest is in place, as the real ones do; kubelet
then starts etcd (tui.drill.kubelet, START_DELAY later). What the restore pod does is applied
to the model when the script puts its manifest down: the member on this host becomes the only
member of a single-member cluster (the others are removed from the member list), its
revision is bumped by 1,000,000,000 and marked compacted, and it leads as soon as kubelet has
started it. The API returns API_RETURN_DELAY simulated seconds after the restore, once etcd
runs here and a kube-apiserver runs somewhere. Lost hosts that come back do not rejoin yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import re
import zlib

from tui.drill import kubelet
from tui.drill.backup_script import (COMMON_TOOLS, ETCD_ENV, ETCDCTL_BIN_DIR, NO_DEPENDENCIES,
                                     _json_line, _version_tuple, snapshot_status)
from tui.drill.commands import CommandContext
from tui.drill.script_base import HostScript, ScriptExit
from tui.drill.model import DrillCluster, DrillHost, EtcdMember

MANIFEST_DIR = "/etc/kubernetes/manifests"
ETCD_MANIFEST = f"{MANIFEST_DIR}/etcd-pod.yaml"
MANIFEST_STOPPED_DIR = "/home/core/assets/manifests-stopped"
ETCD_DATA_DIR = "/var/lib/etcd"
ETCD_DATA_DIR_BACKUP = "/var/lib/etcd-backup"
ETCD_REV_JSON = f"{ETCD_DATA_DIR}/revision.json"
RESTORE_POD_DIR = "/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/restore-etcd-pod"
RESTORE_ETCD_POD_YAML = f"{RESTORE_POD_DIR}/pod.yaml"
# the quorum-restore pod's path in etcd-common-tools is not verified (drill's own guess)
QUORUM_RESTORE_ETCD_POD_YAML = f"{RESTORE_POD_DIR}/quorum-restore-pod.yaml"
ETCD_STATIC_POD_CONTAINERS = ("etcd", "etcdctl", "etcd-metrics", "etcd-readyz", "etcd-rev")
REV_BUMP = 1_000_000_000  # the restore pods' --bump-revision / --force-new-cluster-bump-amount
API_RETURN_DELAY = 30.0  # simulated seconds from the restore until the API answers again
USAGE = ("Path to the directory containing backup files is required: ./cluster-restore.sh "
         "<path-to-backup>\n"
         "The backup directory is expected to be contain two files:\n"
         "        1. etcd snapshot\n"
         "        2. A copy of the Static POD resources at the time of backup\n")


def _natural_key(name: str) -> list:
    """`ls -v`: digit runs compare as numbers."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def _restore_pod_yaml(host: DrillHost, *, quorum: bool) -> str:
    flags = ("--force-new-cluster --force-new-cluster-bump-amount=1000000000" if quorum
             else "snapshot restore /var/lib/etcd-backup/snapshot.db --mark-compacted "
                  "--bump-revision 1000000000")
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n"
            f"  namespace: openshift-etcd\n  labels:\n    app: etcd\n    k8s-app: etcd\n"
            f"    etcd: \"true\"\n    revision: \"0\"\nspec:\n"
            f"  # drill stand-in for the {'quorum-restore' if quorum else 'restore-etcd'} pod "
            f"on {host.name}: {flags}\n"
            f"  containers:\n  - name: etcd\n    image: {kubelet.image_for('etcd')}\n"
            f"  hostNetwork: true\n  priorityClassName: system-node-critical\n")


def ensure_host_files(cluster: DrillCluster, host: DrillHost) -> None:
    """The restore pod manifests the etcd operator renders into the etcd-certs configmaps
    (kept if already there)."""
    if host.role != "control-plane":
        return
    when = cluster.clock.now() - 3 * 86400
    for path, quorum in ((RESTORE_ETCD_POD_YAML, False), (QUORUM_RESTORE_ETCD_POD_YAML, True)):
        if path in host.files:
            continue
        host.files[path] = _restore_pod_yaml(host, quorum=quorum).encode()
        host.modes.setdefault(path, 0o644)
        host.mtimes.setdefault(path, when)
        d = posixpath.dirname(path)
        while d not in host.dirs and d != "/":
            host.dirs.add(d)
            d = posixpath.dirname(d)


class _Run(HostScript):
    # -- plumbing

    async def pause(self, sim_seconds: float) -> None:
        if self.clock.frozen:
            self.clock.advance(sim_seconds)  # the script's own time passes, as `sleep` does
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(self.clock.real_seconds(sim_seconds))

    def mkdir_p(self, path: str) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if not self.is_dir(d):
                self.vfs.mkdir(d)

    def rm_rf(self, path: str) -> None:
        h = self.host
        prefix = path.rstrip("/") + "/"
        for coll in (h.files, h.links):
            for p in [p for p in coll if p == path or p.startswith(prefix)]:
                del coll[p]
        for p in [p for p in h.dirs if p == path or p.startswith(prefix)]:
            h.dirs.discard(p)

    async def main(self, body) -> int:
        return await self.run_body(body)

    # -- what the scripts share

    def preamble(self) -> None:
        if not self.ctx.is_root:
            self.out("This script must be run as root\n")
            raise ScriptExit(1)
        for path in (ETCD_ENV, COMMON_TOOLS):
            if not self.is_file(path):
                self.out(NO_DEPENDENCIES)
                raise ScriptExit(1)
        ensure_host_files(self.cluster, self.host)

    def mv_static_pods(self) -> None:
        if not self.is_dir(MANIFEST_STOPPED_DIR):
            self.mkdir_p(MANIFEST_STOPPED_DIR)
        self.out("...stopping etcd-pod.yaml\n")
        if not self.is_file(ETCD_MANIFEST):
            return
        self.vfs.rename(ETCD_MANIFEST, f"{MANIFEST_STOPPED_DIR}/etcd-pod.yaml")
        kubelet.sync_host(self.cluster, self.host)  # kubelet notices the manifest is gone

    def _running(self, name: str) -> bool:
        return any(c.name == name and c.state == "Running" for c in self.host.containers)

    async def wait_for_containers_to_stop(self) -> None:
        for name in ETCD_STATIC_POD_CONTAINERS:
            self.out(f"Waiting for container {name} to stop\n")
            while True:
                kubelet.sync_host(self.cluster, self.host)
                if not self._running(name):
                    break
                self.out(".")
                await self.pause(1.0)
            self.out("complete\n")

    async def stop_etcd(self) -> None:
        self.mv_static_pods()
        await self.wait_for_containers_to_stop()

    def start_pod(self, source: str) -> None:
        self.out("starting restore-etcd static pod\n")
        if not self.is_file(source):
            self.err(f"cp: cannot stat '{source}': No such file or directory\n")
            raise ScriptExit(1)
        self.vfs.copy_file(source, ETCD_MANIFEST, preserve=True)
        kubelet.sync_host(self.cluster, self.host)

    # -- disable-etcd.sh

    async def disable(self) -> None:
        self.preamble()
        await self.stop_etcd()

    # -- cluster-restore.sh

    def _last(self, directory: str, prefix: str, suffix: str) -> str:
        """`ls -vd DIR/PREFIX*SUFFIX | tail -1` (ls complains on stderr when none match)."""
        names = [n for n in self.vfs.listdir(directory)
                 if n.startswith(prefix) and n.endswith(suffix)]
        if not names:
            self.err(f"ls: cannot access '{directory}/{prefix}*{suffix}': No such file or "
                     "directory\n")
            return ""
        return f"{directory}/{sorted(names, key=_natural_key)[-1]}"

    async def dl_etcdctl(self) -> str:
        from tui.drill.hostfiles import BINARY_STUB

        await self.pause(2.5)  # podman create/mount, cp etcdctl and etcdutl, umount
        ctr = hashlib.sha256(f"podman/{self.host.name}/{self.clock.now()}".encode()).hexdigest()
        self.out(ctr + "\n")
        self.mkdir_p(ETCDCTL_BIN_DIR)
        for tool in ("etcdctl", "etcdutl"):
            path = f"{ETCDCTL_BIN_DIR}/{tool}"
            self.vfs.write(path, BINARY_STUB)
            self.host.modes[path] = 0o755
            self.host.sizes[path] = 22_000_000
        member = self.cluster.member_of(self.host)
        version = member.version if member else (
            self.cluster.etcd.members[0].version if self.cluster.etcd.members else "3.5.9")
        self.out(f"etcdctl version: {version}\nAPI version: "
                 f"{'.'.join(version.split('.')[:2])}\n")
        return version

    def _snapshot_revision(self, snapshot: str) -> int:
        text = self.vfs.read(snapshot).decode("utf-8", "replace")
        m = re.search(r"revision (\d+)", text)
        if m:
            return int(m.group(1))
        # a stand-in without one: the cluster's revision less the writes since it was taken
        age = max(0.0, self.clock.now() - self.vfs.mtime(snapshot))
        return max(1, self.cluster.etcd.revision - int(age * 40))

    async def restore(self) -> None:
        self.preamble()
        args = self.argv[1:]
        backup_dir = args[0] if args else ""
        if not backup_dir or not self.is_dir(backup_dir):
            self.out(USAGE)
            raise ScriptExit(1)
        backup_dir = backup_dir.rstrip("/") or "/"
        backup_file = self._last(backup_dir, "static_kuberesources", ".tar.gz")
        snapshot_file = self._last(backup_dir, "snapshot", ".db")
        if not snapshot_file or not self.is_file(snapshot_file):
            self.out(f"etcd snapshot {snapshot_file} does not exist\n")
            raise ScriptExit(1)
        await self.dl_etcdctl()
        await self.pause(0.3)
        member = self.cluster.member_of(self.host)
        revision = self._snapshot_revision(snapshot_file)
        status = snapshot_status(self.cluster, member, revision) if member else {
            "hash": zlib.crc32(snapshot_file.encode()), "revision": revision,
            "totalKey": 7000, "totalSize": self.vfs.size(snapshot_file)}
        self.out(_json_line(status))
        await self.stop_etcd()
        if not self.is_dir(ETCD_DATA_DIR_BACKUP):
            self.mkdir_p(ETCD_DATA_DIR_BACKUP)
        if self.is_dir(f"{ETCD_DATA_DIR}/member"):
            if self.is_dir(f"{ETCD_DATA_DIR_BACKUP}/member"):
                self.out(f"removing previous backup {ETCD_DATA_DIR_BACKUP}/member\n")
                self.rm_rf(f"{ETCD_DATA_DIR_BACKUP}/member")
            self.out(f"Moving etcd data-dir {ETCD_DATA_DIR}/member to {ETCD_DATA_DIR_BACKUP}\n")
            self.vfs.rename(f"{ETCD_DATA_DIR}/member", f"{ETCD_DATA_DIR_BACKUP}/member")
        # tar -C /etc/kubernetes -xzf BACKUP_FILE static-pod-resources
        await self.pause(0.5)
        if not backup_file or not self.is_file(backup_file):
            self.err(f"tar: {backup_file}: Cannot open: No such file or directory\n"
                     "tar: Error is not recoverable: exiting now\n")
            raise ScriptExit(2)
        self.vfs.copy_file(snapshot_file, f"{ETCD_DATA_DIR_BACKUP}/snapshot.db", preserve=True)
        if self.is_file(ETCD_REV_JSON):
            self.vfs.rename(ETCD_REV_JSON, f"{ETCD_DATA_DIR_BACKUP}/revision.json")
        for name in self.vfs.listdir(ETCD_DATA_DIR):
            if name.startswith("etcd_perf"):
                self.rm_rf(f"{ETCD_DATA_DIR}/{name}")
        if self.vfs.listdir(ETCD_DATA_DIR):
            self.out(f"folder {ETCD_DATA_DIR} is not empty, please review and remove all files "
                     "in it\n")
            raise ScriptExit(1)
        self.start_pod(RESTORE_ETCD_POD_YAML)
        if member is not None:
            restored_from_snapshot(self.cluster, self.host, member, status)

    # -- quorum-restore.sh

    async def quorum_restore(self) -> None:
        self.preamble()
        await self.stop_etcd()
        self.start_pod(QUORUM_RESTORE_ETCD_POD_YAML)
        member = self.cluster.member_of(self.host)
        if member is not None:
            forced_new_cluster(self.cluster, self.host, member)


# --- what the restore pods do to the cluster ----------------------------------------------


def _single_member(cluster: DrillCluster, member: EtcdMember, revision: int) -> None:
    etcd = cluster.etcd
    etcd.members = [member]
    etcd.revision = revision
    etcd.compact_revision = revision  # --mark-compacted: older revisions are gone
    etcd.leader_id = member.member_id
    etcd.alarms = []
    etcd.leader_move_at = None
    member.is_learner = False
    member.defragging = False
    member.defrag_window = None


def _api_returns_after(cluster: DrillCluster, host: DrillHost, member_id: int,
                       when: float) -> None:
    """The API comes back once etcd runs here, `when` (simulated) has come and some
    kube-apiserver is running to serve it."""
    spec = kubelet.STATIC_PODS["kube-apiserver-pod.yaml"]

    def listener() -> None:
        if cluster.api.reachable:
            _drop(listener)
            return
        member = cluster.etcd.member(member_id)
        if member is None or not member.running or cluster.clock.now() < when:
            return
        if not any(h.up and kubelet.running(h, spec, "kube-apiserver") for h in cluster.hosts):
            return
        _drop(listener)
        cluster.api.reachable = True
        cluster.changed()

    def _drop(fn) -> None:
        if fn in cluster.listeners:
            cluster.listeners.remove(fn)

    cluster.listeners.append(listener)


def restored_from_snapshot(cluster: DrillCluster, host: DrillHost, member: EtcdMember,
                           status: dict) -> None:
    """The restore pod: `etcdutl snapshot restore --bump-revision 1000000000
    --mark-compacted` into a fresh /var/lib/etcd, a new single-member cluster."""
    now = cluster.clock.now()
    size = int(status.get("totalSize") or member.db_size_in_use)
    files = {
        f"{ETCD_DATA_DIR}/member/snap/db": (size, "drill stand-in for the bbolt database "
                                                  f"of etcd member {host.name} (restored)\n"),
        f"{ETCD_DATA_DIR}/member/wal/0000000000000000-0000000000000000.wal":
            (64_000_000, "drill stand-in for a write-ahead log segment\n"),
    }
    for d in (ETCD_DATA_DIR, f"{ETCD_DATA_DIR}/member", f"{ETCD_DATA_DIR}/member/snap",
              f"{ETCD_DATA_DIR}/member/wal"):
        host.dirs.add(d)
        host.modes[d] = 0o700
        host.owners[d] = "root"
        host.mtimes[d] = now
    for path, (fsize, text) in files.items():
        host.files[path] = text.encode()
        host.sizes[path] = fsize
        host.modes[path] = 0o600
        host.owners[path] = "root"
        host.mtimes[path] = now
    cluster.etcd.cluster_id = zlib.crc32(f"{cluster.name}/restored/{now}".encode()) << 31 | 0x89ab
    cluster.etcd.raft_term = 2
    member.raft_index = member.raft_applied_index = 4
    member.db_size = member.db_size_in_use = size
    _single_member(cluster, member, int(status["revision"]) + REV_BUMP)
    _api_returns_after(cluster, host, member.member_id, now + API_RETURN_DELAY)
    cluster.changed()


def forced_new_cluster(cluster: DrillCluster, host: DrillHost, member: EtcdMember) -> None:
    """The quorum-restore pod: etcd on the local data with --force-new-cluster and a
    revision bump; the member list shrinks to this member, the cluster ID stays."""
    now = cluster.clock.now()
    cluster.etcd.raft_term += 1
    _single_member(cluster, member, cluster.etcd.revision + REV_BUMP)
    _api_returns_after(cluster, host, member.member_id, now + API_RETURN_DELAY)
    cluster.changed()


# --- the scripts ---------------------------------------------------------------------------


async def disable_etcd(ctx: CommandContext, argv: list[str]) -> int:
    """/usr/local/bin/disable-etcd.sh (see the module docstring)."""
    run = _Run(ctx, argv)
    return await run.main(run.disable)


async def cluster_restore(ctx: CommandContext, argv: list[str], older=None) -> int:
    """/usr/local/bin/cluster-restore.sh, the 4.18 script; before 4.18 `older` (what was
    registered for the path before), else the drill's not-yet stub."""
    if _version_tuple(ctx.cluster.api.version)[:2] < (4, 18):
        if older is None:
            from tui.drill.commands.scripts import _not_yet as older
        return await older(ctx, argv)
    run = _Run(ctx, argv)
    return await run.main(run.restore)


async def quorum_restore(ctx: CommandContext, argv: list[str]) -> int:
    """/usr/local/bin/quorum-restore.sh (see the module docstring)."""
    run = _Run(ctx, argv)
    return await run.main(run.quorum_restore)
