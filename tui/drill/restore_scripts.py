"""The restore scripts on the drill's control-plane hosts.

Simulations of what the cluster-etcd-operator installs in /usr/local/bin (bindata/etcd/
disable-etcd.sh, cluster-restore.sh, quorum-restore.sh and the etcd-common-tools they source),
with their messages and exit statuses:

- every one: not root -> "This script must be run as root" (stdout), exit 1; etcd.env or
  etcd-common-tools gone -> "required dependencies not found, ...", exit 1;
- mv_static_pods: "...stopping NAME" per manifest (printed even when the manifest is already
  gone: then nothing moves), the manifest goes to /home/core/assets/manifests-stopped;
- wait_for_containers_to_stop NAME...: for each, "Waiting for container NAME to stop", a "."
  per second while `crictl ps` still shows it, "complete" (kubelet stops the containers; the
  script's sleeps are simulated time, and a frozen clock moves on while the script sleeps, as
  `sleep` does in the drill);
- disable-etcd.sh (4.18+): only the two steps above for etcd-pod.yaml and its containers
  etcd etcdctl etcd-metrics etcd-readyz etcd-rev (run again: the same lines, nothing to wait
  for);
- cluster-restore.sh DIR, every release: the usage lines when DIR is missing or not a
  directory; the last snapshot*.db and the last static_kuberesources*.tar.gz by `ls -v`
  (several backups in DIR: the newest of each, chosen independently); "etcd snapshot X does
  not exist" when there is none; dl_etcdctl (tui.drill.backup_script.get_etcdctl: podman's
  container ID and `etcdctl version`, "etcdctl is already installed" from a cache, or "Could
  neither pull etcdctl nor find it locally in cache. Aborting!", exit 1); the snapshot status
  JSON line; then by release:
  - 4.12-4.17 (one set of scripts from 4.11 to 4.17, UPSTREAM.md; the source document's
    sample output of an older script moved all four manifests at once): stops kube-apiserver, kube-controller-manager and
    kube-scheduler and waits for kube-controller-manager kube-apiserver kube-scheduler
    (skipped when ETCD_RESTORE_SKIP_MOVE_CP_STATIC_PODS is set), then etcd-pod.yaml and
    etcd etcdctl etcd-metrics etcd-readyz;
  - 4.18+: etcd only (the control-plane pods keep running), 4.18-4.20 also waiting for the
    etcd pod's etcd-backup-server container;
  then moves /var/lib/etcd/member to /var/lib/etcd-backup ("removing previous backup
  /var/lib/etcd-backup" first when one is there) BEFORE what can still fail: it extracts the
  static pod resources (no tar.gz, or one tar cannot read: tar's own error, exit 2, etcd
  stays stopped and the member stays moved), copies the snapshot to
  /var/lib/etcd-backup/snapshot.db; 4.18+ moves revision.json beside it and then checks that
  /var/lib/etcd is empty: 4.18-4.20 refuse ("folder /var/lib/etcd is not empty, please review
  and remove all files in it", exit 1, snapshot.db already copied), 4.21+ move what is left to
  /var/lib/etcd-backup/extra-data-dir-contents; "starting restore-etcd static pod" and the
  restore pod manifest in place; before 4.18 it then starts kube-apiserver,
  kube-controller-manager and kube-scheduler again from the backup's resources ("starting
  NAME" and tar's verbose line "static-pod-resources/NAME-N/NAME"); 4.21+ end with the
  SNAPSHOT RESTORE COMPLETED banner; exit 0. Run twice, it runs again (refusing a second run
  is the console's job).
- quorum-restore.sh (4.18+): refuses a host without its own etcd data, stops etcd,
  "starting restore-etcd static pod", puts the quorum-restore pod manifest in place, exit 0.

The scripts return once the restore pod's manifest is in place, as the real ones do; kubelet
then starts etcd (tui.drill.kubelet, START_DELAY later). What the restore pod does is applied
to the model when the script puts its manifest down: the member on this host becomes the only
member of a single-member cluster (the others are removed from the member list) and it leads
as soon as kubelet has started it. 4.18+ restore pods bump the revision and mark it
compacted: the restore pod by maxRaftIndex * 1.2 of the revision.json the script moved to
/var/lib/etcd-backup, the quorum-restore pod by maxRaftIndex * 0.2 of /var/lib/etcd's, each
by 1,000,000,000 only without a revision.json; before 4.18 the restore pod restores the
snapshot as it is (4.14-4.17 bump by 1,000,000,000 only when the script ran with
ETCD_ETCDCTL_RESTORE_ENABLE_BUMP set). From 4.14 on the restore pod deletes
/var/lib/etcd-backup/snapshot.db once kubelet has started it (tui.drill.kubelet). Every restore sets
cluster.restored_at; the API returns API_RETURN_DELAY simulated seconds later, once etcd has
a leader and a kube-apiserver runs (tui.drill.kubelet). When the scenario says kubelet's
certificates were rotated after the backup (options kubelet_certs_rotated), every host's
kubelet_certs becomes "stale" (nodes NotReady until the PEMs go and kubelet restarts). Lost
hosts that come back do not rejoin on their own.
"""

from __future__ import annotations

import json
import posixpath
import re
import zlib

from tui.drill import kubelet
from tui.drill.backup_script import (
    NO_DEPENDENCIES,
    etcd_line,
    get_etcdctl,
    json_line,
    pulls_etcdctl_first,
    snapshot_status,
)
from tui.drill.model import DrillCluster, DrillHost
from tui.drill.programs import CommandContext
from tui.drill.restored import (
    ETCD_DATA_DIR,
    REV_BUMP,
    after_restore,
    forced_new_cluster,
    restored_from_snapshot,
)
from tui.drill.script_base import HostScript, ScriptExit
from tui.drill.script_files import COMMON_TOOLS, ETCD_ENV, place_missing
from tui.drill.tarballs import tar_damage, tar_members
from tui.versions import release_of

MANIFEST_DIR = "/etc/kubernetes/manifests"
ETCD_MANIFEST = f"{MANIFEST_DIR}/etcd-pod.yaml"
MANIFEST_STOPPED_DIR = "/home/core/assets/manifests-stopped"
ETCD_DATA_DIR_BACKUP = "/var/lib/etcd-backup"
ETCD_REV_JSON = f"{ETCD_DATA_DIR}/revision.json"
RESTORE_POD_DIR = "/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/restore-etcd-pod"
RESTORE_ETCD_POD_YAML = f"{RESTORE_POD_DIR}/pod.yaml"
# the quorum-restore pod's path in etcd-common-tools is not verified (drill's own guess)
QUORUM_RESTORE_ETCD_POD_YAML = f"{RESTORE_POD_DIR}/quorum-restore-pod.yaml"
ETCD_STATIC_POD_CONTAINERS = ("etcd", "etcdctl", "etcd-metrics", "etcd-readyz", "etcd-rev")
# the older cluster-restore.sh (4.12-4.17) also stops the other control-plane static pods
AUX_STATIC_POD_LIST = ("kube-apiserver-pod.yaml", "kube-controller-manager-pod.yaml",
                       "kube-scheduler-pod.yaml")
# 4.12-4.13: one loop over the list and etcd-pod.yaml, one wait over these
# 4.14-4.17: the control-plane pods first, then etcd
AUX_STATIC_POD_CONTAINERS = ("kube-controller-manager", "kube-apiserver", "kube-scheduler")
ETCD_STATIC_POD_CONTAINERS_414 = ("etcd", "etcdctl", "etcd-metrics", "etcd-readyz")
CONFIG_FILE_DIR = "/etc/kubernetes"
# 4.18+: the restore pod bumps by maxRaftIndex * 1.2 of the revision.json the script moved to
# /var/lib/etcd-backup, the quorum-restore pod by maxRaftIndex * 0.2 of /var/lib/etcd's
RESTORE_BUMP_TENTHS = 12
QUORUM_BUMP_TENTHS = 2
ETCD_BACKUP_SERVER = "etcd-backup-server"  # 4.18-4.20 etcd pods (automated backups)
EXTRA_DATA_DIR = f"{ETCD_DATA_DIR_BACKUP}/extra-data-dir-contents"  # 4.21+
# 4.21+: the script's last lines (the drill and the lab word the lines around the banner
# alike; UPSTREAM.md gives the banner's words only)
COMPLETED_BANNER = ("#############################################################\n"
                    "###              SNAPSHOT RESTORE COMPLETED               ###\n"
                    "#############################################################\n"
                    f"the restore-etcd pod now restores {ETCD_DATA_DIR_BACKUP}/snapshot.db on "
                    "this host\n")
API_RETURN_DELAY = kubelet.API_RETURN_DELAY  # simulated seconds from the restore to the API
# etcdctl 3.5's warning on `etcdctl snapshot status` (the 4.12-4.13 check_snapshot_status)
ETCDCTL_SNAPSHOT_DEPRECATED = "Deprecated: Use `etcdutl snapshot status` instead.\n\n"
USAGE = ("Path to the directory containing backup files is required: ./cluster-restore.sh "
         "<path-to-backup>\n"
         "The backup directory is expected to be contain two files:\n"
         "        1. etcd snapshot\n"
         "        2. A copy of the Static POD resources at the time of backup\n")


def _natural_key(name: str) -> list:
    """`ls -v`: digit runs compare as numbers."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def script_generation(cluster: DrillCluster) -> str:
    """Which generation of cluster-etcd-operator's host scripts the cluster's release runs
    (tui.versions.RELEASES): "4.11-4.17", "4.18-4.20" or "4.21+" ("4.21.3", "4.22.0-rc.1"
    and later releases all read as 4.21+)."""
    row = release_of(cluster.api.version)
    if row is not None:
        return row.scripts
    version = cluster.api.release
    return "4.21+" if version >= (4, 21) else "4.18-4.20" if version >= (4, 18) else \
        "4.11-4.17"


def etcd_containers_to_stop(cluster: DrillCluster) -> tuple[str, ...]:
    """What disable-etcd.sh, quorum-restore.sh and the 4.18+ cluster-restore.sh wait for:
    the etcd pod's containers, with etcd-backup-server on 4.18-4.20 only."""
    if script_generation(cluster) == "4.18-4.20":
        return ETCD_STATIC_POD_CONTAINERS + (ETCD_BACKUP_SERVER,)
    return ETCD_STATIC_POD_CONTAINERS


def max_raft_index(host: DrillHost, path: str) -> int | None:
    """maxRaftIndex of a revision.json on the host (None: no file, or not readable)."""
    data = host.files.get(path)
    if data is None:
        return None
    try:
        value = json.loads(data.decode("utf-8", "replace"))["maxRaftIndex"]
        return int(value) if not isinstance(value, bool) else None
    except (ValueError, KeyError, TypeError):
        return None


def bump_amount(host: DrillHost, path: str, tenths: int) -> int:
    """The 4.18+ restore pods' revision bump: maxRaftIndex * tenths / 10 of the revision.json
    at `path`, REV_BUMP without one."""
    index = max_raft_index(host, path)
    return REV_BUMP if index is None else index * tenths // 10


def _restore_pod_yaml(host: DrillHost, *, quorum: bool,
                      version: tuple[int, int] = (4, 18)) -> str:
    if quorum:
        flags = ("snapshot restore /var/lib/etcd/member/snap/db --skip-hash-check "
                 "--bump-revision <maxRaftIndex * 0.2 of /var/lib/etcd/revision.json> "
                 "--mark-compacted")
    elif version >= (4, 18):
        flags = ("snapshot restore /var/lib/etcd-backup/snapshot.db --bump-revision "
                 "<maxRaftIndex * 1.2 of /var/lib/etcd-backup/revision.json> --mark-compacted; "
                 "rm -f /var/lib/etcd-backup/snapshot.db")
    elif version >= (4, 14):
        # cluster-restore.sh seds "false" to "true" when ETCD_ETCDCTL_RESTORE_ENABLE_BUMP is set
        flags = ("snapshot restore /var/lib/etcd-backup/snapshot.db; "
                 'export ETCD_ETCDCTL_RESTORE_ENABLE_BUMP="false"; '
                 "rm -f /var/lib/etcd-backup/snapshot.db")
    else:
        flags = "snapshot restore /var/lib/etcd-backup/snapshot.db"
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n"
            f"  namespace: openshift-etcd\n  labels:\n    app: etcd\n    k8s-app: etcd\n"
            f"    etcd: \"true\"\n    revision: \"0\"\nspec:\n"
            f"  # {kubelet.QUORUM_POD_MARKER if quorum else kubelet.RESTORE_POD_MARKER} on "
            f"{host.name}: {flags}\n"
            f"  containers:\n  - name: etcd\n    image: {kubelet.image_for('etcd')}\n"
            f"  hostNetwork: true\n  priorityClassName: system-node-critical\n")


def ensure_host_files(cluster: DrillCluster, host: DrillHost) -> None:
    """The restore pod manifests the etcd operator renders into the etcd-certs configmaps
    (kept if already there)."""
    if host.role != "control-plane":
        return
    when = cluster.clock.now() - 3 * 86400
    version = cluster.api.release
    pods = [(RESTORE_ETCD_POD_YAML, False)]
    if version >= (4, 18):
        pods.append((QUORUM_RESTORE_ETCD_POD_YAML, True))
    for path, quorum in pods:
        if path not in host.files:
            place_missing(host, path, _restore_pod_yaml(host, quorum=quorum, version=version),
                          when)


class _Run(HostScript):
    # -- plumbing

    async def pause(self, sim_seconds: float) -> None:
        # the script's own time passes, as `sleep` does (skipping ahead: SimClock.sleep)
        await self.clock.sleep(sim_seconds)

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

    @property
    def version(self) -> tuple[int, int]:
        return self.cluster.api.release

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

    def mv_static_pods(self, names: tuple[str, ...] = ("etcd-pod.yaml",)) -> None:
        if not self.is_dir(MANIFEST_STOPPED_DIR):
            self.mkdir_p(MANIFEST_STOPPED_DIR)
        moved = False
        for name in names:
            self.out(f"...stopping {name}\n")
            if not self.is_file(f"{MANIFEST_DIR}/{name}"):
                continue
            self.vfs.rename(f"{MANIFEST_DIR}/{name}", f"{MANIFEST_STOPPED_DIR}/{name}")
            moved = True
        if moved:
            kubelet.sync_host(self.cluster, self.host)  # kubelet notices the manifests are gone

    def _running(self, name: str) -> bool:
        return any(c.name == name and c.state == "Running" for c in self.host.containers)

    async def wait_for_containers_to_stop(
            self, names: tuple[str, ...] = ETCD_STATIC_POD_CONTAINERS) -> None:
        for name in names:
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
        await self.wait_for_containers_to_stop(etcd_containers_to_stop(self.cluster))

    def start_pod(self, source: str, *, bump: bool = False) -> None:
        self.out("starting restore-etcd static pod\n")
        if not self.is_file(source):
            self.err(f"cp: cannot stat '{source}': No such file or directory\n")
            raise ScriptExit(1)
        if bump:  # sed "s/...ENABLE_BUMP=\"false\"/...=\"true\"/" POD > MANIFEST
            text = self.vfs.read_text(source).replace(
                'ETCD_ETCDCTL_RESTORE_ENABLE_BUMP="false"',
                'ETCD_ETCDCTL_RESTORE_ENABLE_BUMP="true"')
            self.vfs.write(ETCD_MANIFEST, text.encode())
        else:
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

    def _etcd_version(self) -> str:
        member = self.cluster.member_of(self.host)
        if member is not None:
            return member.version
        return self.cluster.etcd.members[0].version if self.cluster.etcd.members else "3.5.9"

    async def dl_etcdctl(self) -> str:
        """etcd-common-tools' dl_etcdctl, shared with cluster-backup.sh
        (tui.drill.backup_script.get_etcdctl): aborts the script when it gets none."""
        if not await get_etcdctl(self, self.pause):
            raise ScriptExit(1)
        return self._etcd_version()

    def _snapshot_revision(self, snapshot: str) -> int:
        text = self.vfs.read(snapshot).decode("utf-8", "replace")
        m = re.search(r"revision (\d+)", text)
        if m:
            return int(m.group(1))
        # a stand-in without one: the cluster's revision less the writes since it was taken
        age = max(0.0, self.clock.now() - self.vfs.mtime(snapshot))
        return max(1, self.cluster.etcd.revision - int(age * 40))

    def _usage_and_files(self) -> tuple[str, str]:
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
        return backup_file, snapshot_file

    async def _check_snapshot_status(self, snapshot_file: str) -> dict:
        await self.pause(0.3)
        if not pulls_etcdctl_first(self.cluster):
            self.err(ETCDCTL_SNAPSHOT_DEPRECATED)  # etcdctl, not etcdutl, checks it there
        member = self.cluster.member_of(self.host)
        revision = self._snapshot_revision(snapshot_file)
        status = snapshot_status(self.cluster, member, revision) if member else {
            "hash": zlib.crc32(snapshot_file.encode()), "revision": revision,
            "totalKey": 7000, "totalSize": self.vfs.size(snapshot_file)}
        self.out(json_line(status, etcd_line(self.cluster)))
        return status

    def _move_data_dir(self) -> None:
        """Moves the member directory aside (a backup left by an earlier run goes first)."""
        if self.is_dir(f"{ETCD_DATA_DIR}/member"):
            if self.is_dir(ETCD_DATA_DIR_BACKUP):
                self.out(f"removing previous backup {ETCD_DATA_DIR_BACKUP}\n")
                self.rm_rf(ETCD_DATA_DIR_BACKUP)
            self.mkdir_p(ETCD_DATA_DIR_BACKUP)
            self.out(f"Moving etcd data-dir {ETCD_DATA_DIR}/member to {ETCD_DATA_DIR_BACKUP}\n")
            self.vfs.rename(f"{ETCD_DATA_DIR}/member", f"{ETCD_DATA_DIR_BACKUP}/member")
        if not self.is_dir(ETCD_DATA_DIR_BACKUP):
            self.mkdir_p(ETCD_DATA_DIR_BACKUP)

    def _tar_members(self, backup_file: str) -> list[str]:
        """What the drill's stand-in tarball holds (tui.drill.tarballs.tar_members)."""
        return tar_members(self.vfs, backup_file, self.cluster)

    async def _extract_resources(self, backup_file: str) -> list[str]:
        """tar -C /etc/kubernetes -xzf BACKUP_FILE static-pod-resources"""
        await self.pause(0.5)
        if not backup_file or not self.is_file(backup_file):
            self.err(f"tar: {backup_file}: Cannot open: No such file or directory\n"
                     "tar: Error is not recoverable: exiting now\n")
            raise ScriptExit(2)
        damage = tar_damage(self.cluster, self.vfs, backup_file)
        if damage is not None:  # tar's own words; the member was moved already
            self.err(damage[0])
            raise ScriptExit(damage[1])
        members = self._tar_members(backup_file)
        for rel in members:
            path = f"{CONFIG_FILE_DIR}/{rel}"
            if self.is_file(path):
                continue  # the drill keeps what is on disk (same contents as the backup's)
            self.mkdir_p(posixpath.dirname(path))
            stopped = f"{MANIFEST_STOPPED_DIR}/{posixpath.basename(path)}"
            data = self.vfs.read(stopped) if self.is_file(stopped) else (
                f"drill stand-in for {rel}, extracted from {backup_file}\n").encode()
            self.vfs.write(path, data)
            self.host.modes[path] = 0o600
        return members

    def _restore_static_pods(self, backup_file: str, members: list[str]) -> None:
        """restore_static_pods BACKUP_FILE AUX_STATIC_POD_LIST: each manifest comes back from
        the backup's resources (`tar -xvf ... --strip-components=2 -C MANIFEST_DIR`)."""
        for name in AUX_STATIC_POD_LIST:
            found = [m for m in members if m.endswith(name)]
            if not found:
                self.out(f"{name} does not exist in {backup_file}\n")
                raise ScriptExit(1)
            self.out(f"starting {name}\n")
            rel = found[0]
            self.out(f"{rel}\n")  # tar -v names what it extracts
            source = f"{CONFIG_FILE_DIR}/{rel}"
            self.vfs.copy_file(source, f"{MANIFEST_DIR}/{name}", preserve=True)
        kubelet.sync_host(self.cluster, self.host)

    async def restore(self) -> None:
        self.preamble()
        backup_file, snapshot_file = self._usage_and_files()
        await self.dl_etcdctl()
        status = await self._check_snapshot_status(snapshot_file)
        version = self.version
        generation = script_generation(self.cluster)
        env = self.ctx.env
        skip_aux = bool(env.get("ETCD_RESTORE_SKIP_MOVE_CP_STATIC_PODS"))
        if version >= (4, 18):
            await self.stop_etcd()
        else:
            # 4.11-4.17 share one set of scripts (UPSTREAM.md): the control-plane pods first,
            # then etcd's
            if not skip_aux:
                self.mv_static_pods(AUX_STATIC_POD_LIST)
                await self.wait_for_containers_to_stop(AUX_STATIC_POD_CONTAINERS)
            self.mv_static_pods()
            await self.wait_for_containers_to_stop(ETCD_STATIC_POD_CONTAINERS_414)
        # the member goes aside BEFORE anything below can still fail (4.12-4.17: the tar
        # extraction; 4.18-4.20: the empty-dir check, after snapshot.db was copied)
        self._move_data_dir()
        members = await self._extract_resources(backup_file)
        self.vfs.copy_file(snapshot_file, f"{ETCD_DATA_DIR_BACKUP}/snapshot.db", preserve=True)
        if version >= (4, 18):
            if self.is_file(ETCD_REV_JSON):
                self.vfs.rename(ETCD_REV_JSON, f"{ETCD_DATA_DIR_BACKUP}/revision.json")
            for name in self.vfs.listdir(ETCD_DATA_DIR):
                if name.startswith("etcd_perf"):
                    self.rm_rf(f"{ETCD_DATA_DIR}/{name}")
            left = self.vfs.listdir(ETCD_DATA_DIR)
            if left and generation == "4.21+":
                self.out(f"moving the files left in {ETCD_DATA_DIR} to {EXTRA_DATA_DIR}\n")
                self.mkdir_p(EXTRA_DATA_DIR)
                for name in left:
                    target = f"{EXTRA_DATA_DIR}/{name}"
                    if self.is_dir(target):
                        self.rm_rf(target)  # mv -f: what an earlier run left there goes
                    self.vfs.rename(f"{ETCD_DATA_DIR}/{name}", target)
            elif left:
                self.out(f"folder {ETCD_DATA_DIR} is not empty, please review and remove all "
                         "files in it\n")
                raise ScriptExit(1)
        bump = version >= (4, 18) or (
            version >= (4, 14) and bool(env.get("ETCD_ETCDCTL_RESTORE_ENABLE_BUMP")))
        self.start_pod(RESTORE_ETCD_POD_YAML, bump=(4, 14) <= version < (4, 18) and bump)
        member = self.cluster.member_of(self.host)
        if member is not None:
            amount = bump_amount(self.host, f"{ETCD_DATA_DIR_BACKUP}/revision.json",
                                 RESTORE_BUMP_TENTHS) if version >= (4, 18) else REV_BUMP
            restored_from_snapshot(self.cluster, self.host, member, status,
                                   bump=amount if bump else 0)
        after_restore(self.cluster)
        if version < (4, 18) and not skip_aux:
            self._restore_static_pods(backup_file, members)
        if generation == "4.21+":
            self.out(COMPLETED_BANNER)

    # -- quorum-restore.sh

    async def quorum_restore(self) -> None:
        self.preamble()
        if not self.is_file(f"{ETCD_DATA_DIR}/member/snap/db"):
            # the drill's and the lab's words: UPSTREAM.md gives none for this case
            self.out(f"no etcd data of this member in {ETCD_DATA_DIR}/member, nothing to "
                     "restore from\n")
            raise ScriptExit(1)
        await self.stop_etcd()
        amount = bump_amount(self.host, ETCD_REV_JSON, QUORUM_BUMP_TENTHS)
        self.start_pod(QUORUM_RESTORE_ETCD_POD_YAML)
        member = self.cluster.member_of(self.host)
        if member is not None:
            forced_new_cluster(self.cluster, self.host, member, bump=amount)
        after_restore(self.cluster)


# --- what the restore pods do to the cluster ----------------------------------------------


# --- the scripts ---------------------------------------------------------------------------


async def disable_etcd(ctx: CommandContext, argv: list[str]) -> int:
    """/usr/local/bin/disable-etcd.sh (see the module docstring)."""
    run = _Run(ctx, argv)
    return await run.main(run.disable)


async def cluster_restore(ctx: CommandContext, argv: list[str]) -> int:
    """/usr/local/bin/cluster-restore.sh of the cluster's release (see the module
    docstring)."""
    run = _Run(ctx, argv)
    return await run.main(run.restore)


async def quorum_restore(ctx: CommandContext, argv: list[str]) -> int:
    """/usr/local/bin/quorum-restore.sh (see the module docstring)."""
    run = _Run(ctx, argv)
    return await run.main(run.quorum_restore)
