"""`/usr/local/bin/cluster-backup.sh` on the drill's control-plane hosts.

A simulation of the script the cluster-etcd-operator installs (bindata/etcd/cluster-backup.sh
and the etcd-common-tools it sources, as of OpenShift 4.11 and later), step by step and with
its messages, streams and exit statuses:

- not root: "This script must be run as root", exit 1 (the script checks $EUID first);
- `[--force] DIR`: no DIR, or DIR is an existing file: the usage line, exit 1; DIR is
  created with `mkdir -p`; `--force` skips the rollout checks and names both files
  `..._<ts>__POSSIBLY_DIRTY__...`;
- it sources etcd.env and etcd-common-tools from the etcd-certs configmaps ("required
  dependencies not found, ..." when they are gone), finds the etcd CA the way the script
  does ("Certificate ... is missing. Checking in different directory"), and for each of
  kube-apiserver, kube-controller-manager, kube-scheduler and etcd reads the static pod
  manifest ("error finding manifests for the etcd pod. please check if it is running." when
  it was moved away), asks `oc get co` whether the operator is progressing (it refuses
  during a rollout, and when the API does not answer) and prints `found latest ...`;
- it tars the four resource directories into static_kuberesources_<ts>.tar.gz (mode 0600),
  fetches etcdctl out of the etcd image with podman (the container ID and `etcdctl version`
  lines; before 4.14 a cached binary prints "etcdctl is already installed"), runs
  `etcdctl snapshot save` against this host's member (the zap log lines of the member's
  etcd version on stderr, "Snapshot saved at ..."), checks the snapshot with `snapshot
  status -w json` (the closing {"hash":...} line; before 4.14 through etcdctl 3.5, which
  warns on stderr that etcdutl does this now) and says where it saved both.

etcdctl comes from `get_etcdctl` (etcd-common-tools' dl_etcdctl, shared with the restore
scripts; `pulls_etcdctl_first` is the one place that decides the 4.14 generation, late
4.12/4.13 z-streams included): when podman cannot pull the etcd image (no pull secret in
/var/lib/kubelet/config.json, or the scenario's `restore: {etcdctl_unavailable: true}`) and
nothing is cached, "Could neither pull etcdctl nor find it locally in cache. Aborting!" is a
plain exit 1 that skips the ERR trap: the static_kuberesources_*.tar.gz stays behind.

A member that does not answer (its container down, or defragmenting) makes `etcdctl
snapshot save` wait, as the real one does (it has no timeout: the .part file stays and the
command hangs until the member answers or the operator interrupts it). Losing quorum does
not stop a snapshot (a member serves it from its own database), but it stops the API, so
without --force the operator check fails first, after the request times out.

The two files are written into the host's files with their real modes and logical sizes
(the snapshot is the member's in-use database plus etcd's 32-byte checksum), so `ls -l`,
`stat` and `sha256sum` see them. Output goes out line by line, paced by the simulated clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import zlib
from datetime import datetime, timezone

from tui.drill import kubelet
from tui.drill.gofmt import GoFloat, human_bytes, zap_json
from tui.drill.hostfiles import BINARY_STUB
from tui.drill.model import DrillCluster, DrillHost, EtcdMember
from tui.drill.programs import CommandContext
from tui.drill.script_base import HostScript, ScriptExit
from tui.drill.script_files import COMMON_TOOLS, ETCD_ENV, env_key
from tui.drill.vfs import FsError
from tui.versions import openshift_release, release_of

PATH = "/usr/local/bin/cluster-backup.sh"
CONFIG_FILE_DIR = "/etc/kubernetes"
ETCDCTL_BIN_DIR = "/etc/kubernetes/static-pod-resources/bin"
KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
              "node-kubeconfigs/localhost.kubeconfig")
RESOURCES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
DIRTY = "__POSSIBLY_DIRTY__"
USAGE = "Path to backup dir required: ./cluster-backup.sh [--force] <path-to-backup-dir>\n"
NO_DEPENDENCIES = ("required dependencies not found, please ensure this script is run on a "
                   "node with a functional etcd static pod\n")
SNAPSHOT_RATE = 100e6  # bytes per simulated second the member streams a snapshot at
CHECKSUM = 32  # etcd appends a sha256 of the database to a snapshot


# --- formatting ----------------------------------------------------------------------------


def humanize_time(seconds: float) -> str:
    """go-humanize's Time() for a moment `seconds` ago (etcd 3.5 logs "took" with it)."""
    if seconds < 1:
        return "now"
    if seconds < 2:
        return "1 second ago"
    if seconds < 60:
        return f"{int(seconds)} seconds ago"
    if seconds < 120:
        return "1 minute ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes ago"
    if seconds < 7200:
        return "1 hour ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} hours ago"
    if seconds < 2 * 86400:
        return "1 day ago"
    return f"{int(seconds // 86400)} days ago"


def _iso_ms(t: float) -> str:
    dt = datetime.fromtimestamp(t, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _iso_us(t: float) -> str:
    """Go's RFC3339 with microseconds, trailing zeros trimmed (zap in etcd 3.5.12+)."""
    dt = datetime.fromtimestamp(t, timezone.utc)
    frac = f"{dt.microsecond:06d}".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3]) or (0,)


class SnapshotLog:
    """The zap lines `etcdctl snapshot save` prints, as each etcd release words them.

    3.4 (as in the OpenShift 4.8 documentation's example), 3.5.0-3.5.4 (epoch timestamps),
    3.5.5-3.5.11 (ISO timestamps in milliseconds, new line numbers) and 3.5.12+
    (microseconds, `v3@v3.5.N/` callers) differ in timestamps, callers and "took".
    """

    def __init__(self, version: str):
        self.version = version
        v = version_tuple(version)
        if v[:2] <= (3, 4):
            self.flavor = "3.4"
        elif v < (3, 5, 5):
            self.flavor = "3.5-early"
        elif v < (3, 5, 12):
            self.flavor = "3.5-mid"
        else:
            self.flavor = "3.5-late"

    def _snap_ts(self, t: float) -> object:
        if self.flavor in ("3.4", "3.5-early"):
            return GoFloat(round(t, 7))
        return _iso_ms(t) if self.flavor == "3.5-mid" else _iso_us(t)

    def _line(self, t: float, caller: str, msg: str, *, client: bool = False, **fields) -> str:
        entry: dict[str, object] = {"level": "info"}
        if self.flavor == "3.4":
            entry["ts"] = _iso_ms(t) if client else GoFloat(round(t, 7))
        else:
            entry["ts"] = self._snap_ts(t)
            if client:
                entry["logger"] = "client"
        entry["caller"] = caller
        entry["msg"] = msg
        entry.update(fields)
        return zap_json(entry) + "\n"

    def _snapshot_caller(self, step: int) -> str:
        lines = {"3.4": (119, 127, 142, 152), "3.5-early": (68, 76, 91, 100)}.get(
            self.flavor, (65, 73, 88, 97))
        return f"snapshot/v3_snapshot.go:{lines[step]}"

    def _client_caller(self, step: int) -> str:
        if self.flavor == "3.4":
            return f"clientv3/maintenance.go:{(200, 208)[step]}"
        if self.flavor == "3.5-late":
            return f"v3@v{self.version}/maintenance.go:{(212, 220)[step]}"
        return f"v3/maintenance.go:{(211, 219)[step]}"

    def created(self, t: float, part: str) -> str:
        return self._line(t, self._snapshot_caller(0), "created temporary db file", path=part)

    def opened(self, t: float) -> str:
        return self._line(t, self._client_caller(0), "opened snapshot stream; downloading",
                          client=True)

    def fetching(self, t: float, endpoint: str) -> str:
        return self._line(t, self._snapshot_caller(1), "fetching snapshot", endpoint=endpoint)

    def completed(self, t: float) -> str:
        return self._line(t, self._client_caller(1), "completed snapshot read; closing",
                          client=True)

    def fetched(self, t: float, endpoint: str, size: int, took: float) -> str:
        took_value: object = GoFloat(round(took, 9)) if self.flavor == "3.4" \
            else humanize_time(took)
        return self._line(t, self._snapshot_caller(2), "fetched snapshot", endpoint=endpoint,
                          size=human_bytes(size), took=took_value)

    def saved(self, t: float, path: str) -> str:
        return self._line(t, self._snapshot_caller(3), "saved", path=path)


def snapshot_status(cluster: DrillCluster, member: EtcdMember, revision: int) -> dict:
    """What `etcdctl snapshot status -w json` reports for a snapshot taken now."""
    total_size = -(-max(member.db_size_in_use, 4096) // 4096) * 4096  # whole bbolt pages
    seed = f"{cluster.etcd.cluster_id}/{revision}/{total_size}"
    return {
        "hash": zlib.crc32(seed.encode()),
        "revision": revision,
        "totalKey": 7000 + zlib.crc32(cluster.name.encode()) % 6000 + revision % 997,
        "totalSize": total_size,
    }


# --- etcdctl for the scripts ---------------------------------------------------------------

PULL_SECRET = "/var/lib/kubelet/config.json"  # what podman pulls the etcd image with
NO_ETCDCTL = "Could neither pull etcdctl nor find it locally in cache. Aborting!\n"
# The drill's own assumption of the first 4.12/4.13 z-streams with the 4.14 backup script
# (the backports merged 2023-10/11, UPSTREAM.md; tui.versions pins no z-stream, so the console
# treats those releases as "maybe"). A scenario's `restore: {backup_pulls_etcdctl: BOOL}`
# overrides it.
DRILL_LATE_PODMAN_Z = {(4, 12): 45, (4, 13): 21}


def pulls_etcdctl_first(cluster: DrillCluster) -> bool:
    """Whether the cluster's release runs the 4.14 generation of etcd-common-tools'
    dl_etcdctl and check_snapshot_status (podman pull of the etcd image first, etcdctl and
    etcdutl both, the snapshot checked with etcdutl): 4.14 and later, and the late 4.12/4.13
    z-streams that got the backport. The one place the drill decides it."""
    chosen = cluster.options.get("backup_pulls_etcdctl")
    row = release_of(cluster.api.version)
    if row is not None and row.backup_pulls_etcdctl is not None:
        return row.backup_pulls_etcdctl
    if isinstance(chosen, bool):
        return chosen
    parsed = openshift_release(cluster.api.version)
    if parsed is None:
        return False
    first_z = DRILL_LATE_PODMAN_Z.get(parsed[:2])
    if first_z is None:
        return parsed[:2] >= (4, 14)
    return parsed[2] is not None and parsed[2] >= first_z


def can_pull_etcd_image(cluster: DrillCluster, host: DrillHost) -> bool:
    """podman can pull the etcd image here: the host has its pull secret and the scenario
    does not make the registry unreachable (`restore: {etcdctl_unavailable: true}`)."""
    return PULL_SECRET in host.files and not cluster.options.get("etcdctl_unavailable")


async def get_etcdctl(run: HostScript, pause) -> bool:
    """etcd-common-tools' dl_etcdctl: before the 4.14 generation a cached etcdctl on the PATH
    wins ("etcdctl is already installed"), else it is pulled; from 4.14 it is pulled first
    (podman's container ID and `etcdctl version`) and the cached copy in ETCDCTL_BIN_DIR is
    the fallback. Neither: "Could neither pull etcdctl nor find it locally in cache.
    Aborting!" and False (the caller exits 1 at once, skipping any ERR trap)."""
    cluster, host = run.cluster, run.host
    pulls_first = pulls_etcdctl_first(cluster)
    path_dirs = run.ctx.env.get("PATH", "").split(":") + [ETCDCTL_BIN_DIR]
    if not pulls_first and any(f"{d}/etcdctl" in host.files for d in path_dirs if d):
        run.out("etcdctl is already installed\n")
        return True
    if can_pull_etcd_image(cluster, host):
        await pause(2.5)  # podman create/mount, cp etcdctl (and etcdutl), umount, podman rm
        ctr = hashlib.sha256(f"podman/{host.name}/{cluster.clock.now()}".encode()).hexdigest()
        run.out(ctr + "\n")
        if not run.is_dir(ETCDCTL_BIN_DIR):
            run.vfs.mkdir(ETCDCTL_BIN_DIR)
        for tool in ("etcdctl", "etcdutl") if pulls_first else ("etcdctl",):
            path = f"{ETCDCTL_BIN_DIR}/{tool}"
            run.vfs.write(path, BINARY_STUB)
            host.modes[path] = 0o755
            host.owners[path] = "root"
            host.mtimes[path] = cluster.clock.now()
            host.sizes[path] = 22_000_000
        await pause(0.1)
        version = etcdctl_version(cluster, host)
        run.out(f"etcdctl version: {version}\nAPI version: "
                f"{'.'.join(version.split('.')[:2])}\n")
        return True
    if pulls_first and f"{ETCDCTL_BIN_DIR}/etcdctl" in host.files:
        run.out("etcdctl is already installed\n")
        return True
    run.out(NO_ETCDCTL)
    return False


def etcdctl_version(cluster: DrillCluster, host: DrillHost) -> str:
    """The etcd image's version: this host's member's, else the cluster's first."""
    member = cluster.member_of(host)
    if member is not None:
        return member.version
    return cluster.etcd.members[0].version if cluster.etcd.members else "3.5.9"


# --- the script ----------------------------------------------------------------------------


class _BackupRun(HostScript):
    def __init__(self, ctx: CommandContext, argv: list[str]):
        super().__init__(ctx, argv)
        self.t = self.clock.now()  # the script's own simulated time (moves with a frozen clock)
        self.trap_files: list[str] = []  # `trap 'rm -f ...' ERR`

    # -- plumbing

    def now(self) -> float:
        self.t = max(self.t, self.clock.now())
        return self.t

    async def pause(self, sim_seconds: float) -> None:
        self.t = self.now() + sim_seconds
        # the script's own clock (self.t) moves; a frozen cluster clock stays where it is
        began = self.clock.now()
        real = self.clock.real_seconds(sim_seconds)
        await asyncio.sleep(real if real > 0 else 0)
        self.clock._count("commands", began, began + sim_seconds)

    def version(self) -> tuple[int, ...]:
        return version_tuple(self.cluster.api.version)

    def fail(self, status: int) -> None:
        """A failing command under `set -o errexit`: the ERR trap runs, then the script exits."""
        for path in self.trap_files:
            try:
                self.vfs.unlink(path)
            except FsError:
                pass
        raise ScriptExit(status)

    def write(self, path: str, data: bytes, *, size: int, mode: int = 0o600) -> str:
        self.vfs.write(path, data)
        real = self.vfs.resolve(path)
        h = self.host
        h.modes[real] = mode
        h.owners[real] = "root"
        h.mtimes[real] = self.now()
        h.sizes[real] = size
        return real

    # -- the script, top to bottom

    async def main(self) -> int:
        return await self.run_body(self._run)

    async def _run(self) -> None:
        if not self.ctx.is_root:
            self.out("This script must be run as root\n")
            raise ScriptExit(1)
        args = self.argv[1:]
        dirty = ""
        if args and args[0] == "--force":
            dirty = DIRTY
            args = args[1:]
        backup_dir = args[0] if args else ""
        if not backup_dir or self.is_file(backup_dir):
            self.out(USAGE)
            raise ScriptExit(1)
        if not self.is_dir(backup_dir):
            await self._mkdir(backup_dir)
        datestring = datetime.fromtimestamp(self.now(), timezone.utc).strftime("%Y-%m-%d_%H%M%S")
        tar_file = f"{backup_dir}/static_kuberesources_{datestring}{dirty}.tar.gz"
        snapshot_file = f"{backup_dir}/snapshot_{datestring}{dirty}.db"
        self.trap_files = [tar_file, snapshot_file]
        env = self._source(ETCD_ENV)
        self._source(COMMON_TOOLS)
        self._find_ca(env)
        dirs = []
        for resource in RESOURCES:
            dirs.append(await self._latest_resource(resource, check=not dirty))
        await self._tar(tar_file, dirs)
        await self._dl_etcdctl()
        endpoint = f"https://{env.get(env_key(self.host.name) + '_IP') or self.host.address}:2379"
        status = await self._snapshot_save(snapshot_file, endpoint)
        self.out(json_line(status, etcd_line(self.cluster)))
        await self.pause(0.05)
        self.out(f"snapshot db and kube resources are successfully saved to {backup_dir}\n")

    async def _mkdir(self, path: str) -> None:
        status = await self.ctx.session.run_program(["mkdir", "-p", path], dict(self.ctx.env),
                                   self.ctx.stdin, self.ctx.stdout, self.ctx.stderr)
        if status:
            raise ScriptExit(status)  # before the ERR trap is set

    def _source(self, path: str) -> dict[str, str]:
        if not self.is_file(path):
            self.out(NO_DEPENDENCIES)
            raise ScriptExit(1)
        env = {}
        for line in self.vfs.read_text(path).splitlines():
            m = re.match(r'\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=("?)(.*?)\2\s*$', line)
            if m:
                env[m.group(1)] = m.group(3)
        return env

    def _find_ca(self, env: dict[str, str]) -> None:
        """The script's fallback from the etcd pod's cert paths to the host's."""
        cacert = env.get("ETCDCTL_CACERT", "")
        if self.is_file(cacert):
            return
        self.out(f"Certificate {cacert} is missing. Checking in different directory\n")
        cacert = cacert.replace("static-pod-certs", "static-pod-resources/etcd-certs", 1)
        if not self.is_file(cacert):
            self.out(f"Certificate {cacert} is also missing in the second directory. "
                     "Exiting!\n")
            raise ScriptExit(1)
        self.out(f"Certificate {cacert} found!\n")

    async def _latest_resource(self, resource: str, *, check: bool) -> str:
        manifest = f"/etc/kubernetes/manifests/{resource}-pod.yaml"
        if not self.is_file(manifest):
            self.out(f"error finding manifests for the {resource} pod. please check if it is "
                     "running.\n")
            raise ScriptExit(1)
        text = self.vfs.read_text(manifest)
        prefix = "/etc/kubernetes/static-pod-resources/"
        m = re.search(re.escape(f"{prefix}{resource}-pod-") + r"[0-9]*", text)
        latest = m.group() if m else ""
        if not latest:
            # the drill's kube-scheduler manifest names its resource directory after the pod
            # (openshift-kube-scheduler-pod-N); the directory on disk is kube-scheduler-pod-N
            m = re.search(re.escape(f"{prefix}openshift-{resource}-pod-") + r"([0-9]+)", text)
            latest = f"{prefix}{resource}-pod-{m.group(1)}" if m else ""
        if not latest:
            self.out(f"error finding static-pod-resources for the {resource} pod. please check "
                     "if it is running.\n")
            raise ScriptExit(1)
        if check:
            await self._check_operator(resource)
        self.out(f"found latest {resource}: {latest}\n")
        return latest

    async def _check_operator(self, operator: str) -> None:
        """check_if_operator_is_progressing: `oc get co OPERATOR` through localhost:6443."""
        if not self.is_file(KUBECONFIG):
            self.out("Valid kubeconfig is not found in kube-apiserver-certs. Exiting!\n")
            raise ScriptExit(1)
        await self.pause(0.3)
        api = self.cluster.api
        local_api = self.host.container("kube-apiserver") is not None
        progressing = ""
        if not api.reachable or not local_api:
            self.err("The connection to the server localhost:6443 was refused - did you "
                     "specify the right host or port?\n")
        elif not self.cluster.etcd.has_quorum():
            await self.pause(60.0)  # the API server's request timeout
            self.err("Error from server (Timeout): the server was unable to return a response "
                     "in the time allotted, but may still be processing the request (get "
                     f"clusteroperators.config.openshift.io {operator})\n")
        else:
            busy = operator == "kube-apiserver" and api.rollout_in_progress
            progressing = "True" if busy else "False"
        if progressing == "":
            self.out(f"Could not find the status of the {operator}. Check if the API server is "
                     "running. Pass the --force flag to skip checks.\n")
            raise ScriptExit(1)
        if progressing != "False":
            self.out(f"Currently the {operator} operator is progressing. A reliable backup "
                     "requires that a rollout is not in progress.  Aborting!\n")
            raise ScriptExit(1)

    async def _tar(self, tar_file: str, dirs: list[str]) -> None:
        """tar -cpzf FILE -C /etc/kubernetes DIRS...; chmod 600 FILE."""
        await self.pause(0.4)
        members: list[str] = []
        size = 0
        missing = []
        for d in dirs:
            rel = d[len(CONFIG_FILE_DIR) + 1:] if d.startswith(CONFIG_FILE_DIR + "/") else d
            if not self.is_dir(d):
                missing.append(rel)
                continue
            prefix = d.rstrip("/") + "/"
            for path in sorted(self.host.files):
                if path.startswith(prefix):
                    members.append(path[len(CONFIG_FILE_DIR) + 1:])
                    size += self.host.sizes.get(path, len(self.host.files[path]))
        try:
            self.write(tar_file, b"", size=0)
        except FsError as e:
            self.err(f"tar (child): {tar_file}: Cannot open: {e.strerror}\n"
                     "tar (child): Error is not recoverable: exiting now\n")
            self.fail(2)
        if missing:
            for rel in missing:
                self.err(f"tar: {rel}: Cannot stat: No such file or directory\n")
            self.err("tar: Exiting with failure status due to previous errors\n")
            self.fail(2)
        encrypted = self.cluster.api.encryption_type in ("aescbc", "aesgcm")
        listing = "".join(f"{m}\n" for m in members)
        if encrypted:
            listing += "".join(f"{d[len(CONFIG_FILE_DIR) + 1:]}/secrets/encryption-config/"
                               "encryption-config\n" for d in dirs if "kube-apiserver-pod-" in d)
        text = (f"drill stand-in for a gzip'd tar of the static pod resources "
                f"(made {datetime.fromtimestamp(self.now(), timezone.utc).isoformat()}):\n"
                + listing)
        logical = 48_000 + size // 3 + (24_000 if encrypted else 0) + 512 * len(members)
        self.write(tar_file, text.encode(), size=logical)

    async def _dl_etcdctl(self) -> None:
        if not await get_etcdctl(self, self.pause):
            raise ScriptExit(1)  # a plain exit: the ERR trap does not run, the tarball stays

    def _etcdctl_version(self) -> str:
        return etcdctl_version(self.cluster, self.host)

    def _member(self, endpoint: str) -> EtcdMember | None:
        return self.cluster.etcd.member_by_client_url(endpoint)

    def _answers(self, member: EtcdMember | None) -> bool:
        if member is None:
            return False
        host = self.cluster.host(member.name)
        return (host is None or host.up) and member.running and not member.defragging

    async def _snapshot_save(self, snapshot_file: str, endpoint: str) -> dict:
        log = SnapshotLog(self._etcdctl_version())
        part = snapshot_file + ".part"
        await self.pause(0.05)
        try:
            self.write(part, b"", size=0)
        except FsError as e:
            self.err(f"Error: could not open {part} ({e.path or part}: {e.strerror.lower()})\n")
            self.fail(5)
        self.err(log.created(self.now(), part))
        started = self.now()
        # the stream waits for the member (gRPC WaitForReady, no deadline): a member that
        # does not answer makes the script hang here, as the real one does
        while not self._answers(self._member(endpoint)):
            kubelet.sync_cluster(self.cluster)
            await asyncio.sleep(0.05)
        member = self._member(endpoint)
        assert member is not None
        revision = self.cluster.etcd.revision
        status = snapshot_status(self.cluster, member, revision)
        size = status["totalSize"] + CHECKSUM
        await self.pause(0.01)
        self.err(log.opened(self.now()))
        self.err(log.fetching(self.now(), endpoint))
        await self.pause(size / SNAPSHOT_RATE)
        self.err(log.completed(self.now()))
        await self.pause(0.1 + size / 1e9)  # fsync
        took = self.now() - started
        self.err(log.fetched(self.now(), endpoint, size, took))
        data = (f"drill stand-in for an etcd snapshot of member {member.name} "
                f"(cluster {self.cluster.etcd.cluster_id:x}, revision {revision}, "
                f"hash {status['hash']})\n").encode()
        self.write(part, data, size=size)
        self.vfs.rename(part, snapshot_file)
        self.err(log.saved(self.now(), snapshot_file))
        self.out(f"Snapshot saved at {snapshot_file}\n")
        await self.pause(0.3)
        # check_snapshot_status: `etcdctl snapshot status FILE -w json`; etcdctl 3.5 warns
        # that etcdutl does this now (later releases' etcd-common-tools use etcdutl)
        if log.flavor != "3.4" and not pulls_etcdctl_first(self.cluster):
            self.err("Deprecated: Use `etcdutl snapshot status` instead.\n\n")
        return status


def etcd_line(cluster) -> str:
    """The etcd version the cluster's members run (their etcdctl/etcdutl prints its shapes)."""
    return next((m.version for m in cluster.etcd.members if m.version), "")


def json_line(status: dict, etcd_version: str = "") -> str:
    """`snapshot status -w json` as the cluster's etcd prints it: etcd 3.6 (OpenShift 4.21+)
    adds the snapshot's storage "version" after totalSize (tests/fixtures/etcdctl/3.6)."""
    text = ('{"hash":%d,"revision":%d,"totalKey":%d,"totalSize":%d'
            % (status["hash"], status["revision"], status["totalKey"], status["totalSize"]))
    if etcd_version.startswith("3.6"):
        text += ',"version":"3.6.0"'
    return text + "}\n"


async def cluster_backup(ctx: CommandContext, argv: list[str]) -> int:
    """The drill's /usr/local/bin/cluster-backup.sh (see the module docstring)."""
    return await _BackupRun(ctx, argv).main()
