"""A kubelet stand-in for one lab host: static pods from /etc/kubernetes/manifests.

What the real kubelet does with static pod manifests, reduced to what the restore procedure
relies on:

- a known manifest (etcd-pod.yaml, kube-apiserver-pod.yaml, kube-controller-manager-pod.yaml,
  kube-scheduler-pod.yaml) that appears in the host's manifests directory starts its pod;
  one that leaves it stops its pod; one whose content changes restarts it;
- the etcd pod's `etcd` container is the host's real etcd member, started and stopped by pid
  (EtcdMember.start / stop) with the flags the manifest's `etcd` command names
  (--name, --initial-cluster, --initial-cluster-token, --initial-cluster-state), its data
  directory that host's /var/lib/etcd; the pod's other containers (etcdctl, etcd-metrics,
  etcd-readyz, etcd-rev) and the API server, controller-manager and scheduler containers
  have no process: they run while their pod runs;
- pods the operators manage are always there, as on a real control-plane node: the
  etcd-guard and kube-apiserver-guard pods' `guard` containers, so `crictl ps | grep etcd`
  is never empty and the procedure's `egrep -v "operator|etcd-guard"` matters;
- what runs is written to the host's /var/lib/kubelet/etcd-dr-lab/containers.json, which
  the host's `crictl` stand-in (tests/lab/crictl) reads: `crictl ps` on that host lists it;
- it never restarts a container on its own: a member the test stops (a lost host) shows
  Exited and stays stopped;
- `systemctl restart kubelet` on the host (tests/lab/systemctl) leaves a request file; the
  stand-in counts the restart and keeps its pods running, as static pods survive a kubelet
  restart under CRI-O;
- OpenShift 4.18 to 4.20 etcd pods also have an `etcd-backup-server` container (no process);
- from 4.18 on, while the etcd container runs, the pod's etcd-rev container keeps
  /var/lib/etcd/revision.json current ({"clusterId": N, "raftIndex": {URL: N},
  "maxRaftIndex": N, "created": ...}, clusterId a JSON number); the lab asks the host's own
  member only (the real etcd-rev asks every member and keeps the highest index);
- the restore pods: an etcd-pod.yaml annotated `etcd-dr.lab/restore: snapshot` (the
  restore-etcd pod cluster-restore.sh puts in place) or `quorum` (quorum-restore.sh's) runs
  the restore its etcd container does before it runs etcd, RESTORE_POD_DELAY seconds after
  the manifest appeared (a pod takes that long to start), so the script has ended by then:
  - snapshot: `etcdutl snapshot restore /var/lib/etcd-backup/snapshot.db` (etcd 3.4:
    `etcdctl snapshot restore`) into /var/lib/etcd/restore-<uuid> as a new single-member
    cluster of this host, moved into /var/lib/etcd; 4.18 and later with
    `--bump-revision B --mark-compacted`, B = maxRaftIndex * 1.2 of
    /var/lib/etcd-backup/revision.json (where the script moved it), 1,000,000,000 when there
    is none, and only when that etcdutl has the flags (etcd 3.5.1's has not: the pod's log
    then says it restored without); 4.14 and later, it deletes
    /var/lib/etcd-backup/snapshot.db once the restore succeeded;
  - quorum (4.18+): the same restore of this host's own /var/lib/etcd/member/snap/db with
    --skip-hash-check and B = maxRaftIndex * 0.2 of /var/lib/etcd/revision.json; the old
    member directory goes to /var/lib/etcd-backup/member (an older one there is removed);
  then the member starts from the restored data. What the pod printed is in the host's
  /var/lib/kubelet/etcd-dr-lab/<restore|quorum-restore>-etcd-pod.log; a failed restore
  leaves the etcd container Exited (the lab does not crash-loop it).

One thread per host, polling every POLL seconds; the test process owns it (and the members
it starts), and Lab.stop stops it before the members.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

POLL = 0.05
STATE = "/var/lib/kubelet/etcd-dr-lab/containers.json"
RESTART_REQUEST = "/var/lib/kubelet/etcd-dr-lab/restart-requested"
IMAGE = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:"
RESTORE_ANNOTATION = "etcd-dr.lab/restore"  # on a restore pod's manifest: snapshot | quorum
RESTORE_POD_DELAY = 1.0  # seconds from a restore pod's manifest to its restore
REVISION_INTERVAL = 0.5  # seconds between two writes of revision.json (4.18+)
REV_JSON = "/var/lib/etcd/revision.json"
DEFAULT_BUMP = 1_000_000_000  # the restore pods' bump without a revision.json

# manifest -> (namespace, pod name prefix, containers; the first one of etcd-pod.yaml is etcd)
STATIC_PODS = {
    "etcd-pod.yaml": ("openshift-etcd", "etcd",
                      ("etcd", "etcdctl", "etcd-metrics", "etcd-readyz", "etcd-rev")),
    "kube-apiserver-pod.yaml": ("openshift-kube-apiserver", "kube-apiserver",
                                ("kube-apiserver", "kube-apiserver-cert-syncer",
                                 "kube-apiserver-cert-regeneration-controller",
                                 "kube-apiserver-insecure-readyz",
                                 "kube-apiserver-check-endpoints")),
    "kube-controller-manager-pod.yaml": ("openshift-kube-controller-manager",
                                         "kube-controller-manager",
                                         ("kube-controller-manager", "cluster-policy-controller",
                                          "kube-controller-manager-cert-syncer",
                                          "kube-controller-manager-recovery-controller")),
    "kube-scheduler-pod.yaml": ("openshift-kube-scheduler", "openshift-kube-scheduler",
                                ("kube-scheduler", "kube-scheduler-cert-syncer",
                                 "kube-scheduler-recovery-controller")),
}
# pods no manifest of the node's own starts (the operators' guard pods)
ALWAYS = (("openshift-etcd", "etcd-guard", "guard"),
          ("openshift-kube-apiserver", "kube-apiserver-guard", "guard"))


def _hex(n: int) -> str:
    return "".join(random.choice("0123456789abcdef") for _ in range(n))


@dataclass
class Container:
    id: str
    name: str
    image: str
    created: float
    pod: str
    pod_id: str
    namespace: str
    state: str = "Running"  # Running | Exited
    attempt: int = 0
    finished: float | None = None
    pid: int | None = None

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "image": self.image, "created": self.created,
                "state": self.state, "attempt": self.attempt, "pod": self.pod,
                "pod_id": self.pod_id, "namespace": self.namespace, "pid": self.pid,
                "finished": self.finished}


@dataclass
class Pod:
    manifest: str
    fingerprint: str
    containers: list[Container] = field(default_factory=list)
    # a restore pod: (kind, the etcd flags of its manifest, when its restore runs)
    pending: tuple[str, dict, float] | None = None


def restore_kind(text: str) -> str | None:
    """`snapshot` or `quorum` for a restore pod's manifest, None for an ordinary etcd pod."""
    doc = yaml.safe_load(text) or {}
    kind = ((doc.get("metadata") or {}).get("annotations") or {}).get(RESTORE_ANNOTATION)
    return kind if kind in ("snapshot", "quorum") else None


def bump_amount(revision_json: Path, factor_tenths: int) -> tuple[int, str]:
    """(the revision bump, where it came from): maxRaftIndex * factor_tenths / 10 of a
    revision.json, DEFAULT_BUMP when there is none (or it cannot be read)."""
    try:
        index = int(json.loads(revision_json.read_text())["maxRaftIndex"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_BUMP, "no readable revision.json"
    return index * factor_tenths // 10, f"maxRaftIndex {index} * {factor_tenths / 10:g}"


_FLAG_SUPPORT: dict[str, bool] = {}


def supports_bump(tool: list[str]) -> bool:
    """Whether this etcdutl (etcdctl) `snapshot restore` has --bump-revision."""
    key = tool[0]
    if key not in _FLAG_SUPPORT:
        help_text = subprocess.run([*tool, "snapshot", "restore", "--help"],
                                   capture_output=True, text=True, timeout=30)
        _FLAG_SUPPORT[key] = "--bump-revision" in help_text.stdout + help_text.stderr
    return _FLAG_SUPPORT[key]


def etcd_flags(text: str) -> dict[str, str]:
    """--flag=value of the `etcd` container's command in an etcd pod manifest."""
    doc = yaml.safe_load(text) or {}
    for c in (doc.get("spec") or {}).get("containers") or []:
        if c.get("name") != "etcd":
            continue
        out = {}
        for arg in list(c.get("command") or []) + list(c.get("args") or []):
            if isinstance(arg, str) and arg.startswith("--") and "=" in arg:
                key, value = arg[2:].split("=", 1)
                out[key] = value
        return out
    raise ValueError("no etcd container in the manifest")


class Kubelet:
    """The kubelet stand-in of one lab host (see the module docstring)."""

    def __init__(self, host, log: Path, openshift: str = "4.16"):
        self.host = host  # a tests.lab.lab.LabHost
        self.minor = int(openshift.split(".")[1])
        self.etcd_containers = STATIC_PODS["etcd-pod.yaml"][2]
        if 18 <= self.minor <= 20:
            self.etcd_containers += ("etcd-backup-server",)
        self._revision_written = 0.0
        self.manifests = host.path("/etc/kubernetes/manifests")
        self.state_path = host.path(STATE)
        self.restart_request = host.path(RESTART_REQUEST)
        self.log_path = log
        self.pods: dict[str, Pod] = {}
        self.always: list[Container] = []
        self.restarts = 0
        self._written = ""
        self.events: list[str] = []  # what it did, for the test's eyes
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        created = time.time() - 3 * 3600
        for namespace, pod, name in ALWAYS:
            self.always.append(Container(_hex(64), name, IMAGE + _hex(64), created,
                                         f"{pod}-{host.name}", _hex(64), namespace))

    # -- lifecycle

    def start(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self.sync()  # the pods whose manifests are there start now, before the lab waits
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"kubelet {self.host.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the pods' processes are left to Lab.stop, which stops by pid)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.sync()
            except Exception as e:  # keep watching; the log says what went wrong
                self._log(f"sync failed: {type(e).__name__}: {e}")

    def _log(self, text: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {self.host.name}: {text}"
        self.events.append(text)
        with open(self.log_path, "a") as f:
            f.write(line + "\n")

    # -- the sync

    def _present(self) -> dict[str, str]:
        out = {}
        try:
            names = os.listdir(self.manifests)
        except OSError:
            return out
        for name in names:
            if name not in STATIC_PODS:
                continue
            try:
                data = (self.manifests / name).read_bytes()
            except OSError:
                continue
            out[name] = hashlib.sha256(data).hexdigest()
        return out

    def sync(self) -> None:
        with self._lock:
            if self.restart_request.exists():
                self.restart_request.unlink(missing_ok=True)
                self.restarts += 1
                self._log("kubelet restarted (static pods keep running)")
            present = self._present()
            for name, pod in list(self.pods.items()):
                if present.get(name) != pod.fingerprint:
                    self._stop_pod(pod)
                    del self.pods[name]
            for name, fingerprint in present.items():
                if name not in self.pods:
                    self.pods[name] = self._start_pod(name, fingerprint)
            for pod in self.pods.values():
                if pod.pending is not None and time.time() >= pod.pending[2]:
                    self._run_restore_pod(pod)
            self._write_revision_json()
            proc = self.host.etcd.proc if self.host.etcd is not None else None
            live = proc.pid if proc is not None and proc.alive else None
            for pod in self.pods.values():
                for c in pod.containers:
                    if c.pid is not None and c.state == "Running" and c.pid != live:
                        c.state, c.finished = "Exited", time.time()
                        self._log(f"container {c.name} of {c.pod} exited (not restarted)")
            self._write_state()

    def _start_pod(self, name: str, fingerprint: str) -> Pod:
        namespace, prefix, names = STATIC_PODS[name]
        pod = Pod(name, fingerprint)
        pod_name, pod_id, now = f"{prefix}-{self.host.name}", _hex(64), time.time()
        pid = None
        if name == "etcd-pod.yaml":
            names = self.etcd_containers
            member = self.host.etcd
            try:
                text = (self.manifests / name).read_text()
                flags = etcd_flags(text)
                kind = restore_kind(text)
            except (OSError, ValueError, yaml.YAMLError) as e:
                self._log(f"{name}: cannot start the pod: {e}")
                return pod
            if kind is not None:
                # its etcd container restores first (see the module docstring), then runs etcd
                pod.pending = (kind, flags, now + RESTORE_POD_DELAY)
                self._log(f"started the {kind} restore pod")
            elif member is not None:
                member.initial_cluster = flags.get("initial-cluster", member.initial_cluster)
                member.token = flags.get("initial-cluster-token", member.token)
                member.start()
                pid = member.proc.pid
                self._log(f"started etcd {flags.get('name', member.name)} (pid {pid}, "
                          f"initial cluster {member.initial_cluster})")
        else:
            self._log(f"started {pod_name}")
        for i, cname in enumerate(names):
            pod.containers.append(Container(_hex(64), cname, IMAGE + _hex(64), now, pod_name,
                                            pod_id, namespace, pid=pid if i == 0 else None))
        return pod

    def _stop_pod(self, pod: Pod) -> None:
        if pod.pending is not None:
            self._log(f"stopped the {pod.pending[0]} restore pod before its restore")
            return
        if pod.manifest == "etcd-pod.yaml" and self.host.etcd is not None:
            member = self.host.etcd
            proc = member.proc
            if proc is not None and proc.alive:
                member.stop()  # SIGTERM by pid, SIGKILL after 5 s
                self._log(f"stopped etcd {member.name} (pid {proc.pid})")
        else:
            self._log(f"stopped {pod.containers[0].pod if pod.containers else pod.manifest}")

    # -- the restore pods (see the module docstring)

    def _restore_tool(self) -> tuple[list[str], dict]:
        member = self.host.etcd
        etcdutl = Path(member.etcdctl_binary).with_name("etcdutl")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}
        if etcdutl.exists():
            return [str(etcdutl)], env
        env["ETCDCTL_API"] = "3"
        return [member.etcdctl_binary], env

    def _run_restore_pod(self, pod: Pod) -> None:
        kind, flags, _ = pod.pending
        pod.pending = None
        member = self.host.etcd
        if member is None:
            return
        log_path = self.host.path(f"/var/lib/kubelet/etcd-dr-lab/"
                                  f"{'quorum-restore' if kind == 'quorum' else 'restore'}"
                                  f"-etcd-pod.log")
        lines: list[str] = []
        ok = False
        try:
            ok = self._restore(kind, flags, lines)
        except (OSError, subprocess.SubprocessError) as e:
            lines.append(f"restore failed: {type(e).__name__}: {e}")
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text("".join(line.rstrip("\n") + "\n" for line in lines))
        except OSError:
            pass
        etcd = next((c for c in pod.containers if c.name == "etcd"), None)
        if not ok:
            if etcd is not None:
                etcd.state, etcd.finished = "Exited", time.time()
            self._log(f"the {kind} restore pod failed ({log_path}): "
                      f"{lines[-1] if lines else ''}")
            return
        member.initial_cluster = flags.get("initial-cluster", member.initial_cluster)
        member.token = flags.get("initial-cluster-token", member.token)
        member.start()
        if etcd is not None:
            etcd.pid = member.proc.pid
        self._log(f"the {kind} restore pod restored etcd ({log_path})")
        self._log(f"started etcd {flags.get('name', member.name)} (pid {member.proc.pid}, "
                  f"initial cluster {member.initial_cluster})")

    def _restore(self, kind: str, flags: dict, lines: list[str]) -> bool:
        member = self.host.etcd
        data = self.host.path("/var/lib/etcd")
        backup = self.host.path("/var/lib/etcd-backup")
        if kind == "snapshot":
            source, shown = backup / "snapshot.db", "/var/lib/etcd-backup/snapshot.db"
            revision_json, tenths = backup / "revision.json", 12
        else:
            source, shown = data / "member" / "snap" / "db", "/var/lib/etcd/member/snap/db"
            revision_json, tenths = data / "revision.json", 2
        if not source.is_file():
            lines.append(f"cannot find {shown}: nothing to restore")
            return False
        tool, env = self._restore_tool()
        name = flags.get("name", member.name)
        restore_dir = data / f"restore-{uuid.uuid4()}"
        argv = [*tool, "snapshot", "restore", str(source), "--name", name,
                "--initial-cluster", flags.get("initial-cluster", member.initial_cluster),
                "--initial-cluster-token", flags.get("initial-cluster-token", member.token),
                "--initial-advertise-peer-urls", member.peer_url,
                "--data-dir", str(restore_dir)]
        if kind == "quorum":
            argv.append("--skip-hash-check")
        if self.minor >= 18:
            bump, why = bump_amount(revision_json, tenths)
            if supports_bump(tool):
                argv += ["--bump-revision", str(bump), "--mark-compacted"]
                lines.append(f"bumping the revision by {bump} ({why})")
            else:
                lines.append(f"would bump the revision by {bump} ({why}): "
                             f"{Path(tool[0]).name} has no --bump-revision, restoring without")
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        lines += (proc.stdout + proc.stderr).splitlines()
        if proc.returncode != 0:
            shutil.rmtree(restore_dir, ignore_errors=True)
            lines.append(f"snapshot restore failed (exit {proc.returncode})")
            return False
        if kind == "quorum":
            old = backup / "member"
            backup.mkdir(parents=True, exist_ok=True)
            if old.exists():
                shutil.rmtree(old)
            os.rename(data / "member", old)
            lines.append("moved /var/lib/etcd/member to /var/lib/etcd-backup/member")
        for entry in os.listdir(restore_dir):
            os.rename(restore_dir / entry, data / entry)  # fails on a non-empty target
        restore_dir.rmdir()
        if kind == "snapshot" and self.minor >= 14:
            source.unlink()
            lines.append(f"removed {shown}")
        return True

    # -- revision.json (4.18+), as the etcd-rev container keeps it

    def _write_revision_json(self) -> None:
        if self.minor < 18 or time.time() - self._revision_written < REVISION_INTERVAL:
            return
        pod = self.pods.get("etcd-pod.yaml")
        member = self.host.etcd
        if pod is None or pod.pending is not None or member is None or not member.running:
            return
        self._revision_written = time.time()
        try:
            request = urllib.request.Request(f"{member.client_url}/v3/maintenance/status",
                                             data=b"{}", method="POST")
            with urllib.request.urlopen(request, timeout=0.5) as r:
                status = json.loads(r.read())
            index = int(status["raftIndex"])
            cluster_id = int(status["header"]["cluster_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # not answering now: the file keeps its last values
        doc = {"clusterId": cluster_id, "raftIndex": {member.client_url: index},
               "maxRaftIndex": index,
               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        path = self.host.path(REV_JSON)
        tmp = path.with_name(".revision.json.tmp")
        try:
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, path)
        except OSError:
            pass  # the host's /var/lib/etcd went away (RST-04e): next time

    def _write_state(self) -> None:
        containers = list(self.always)
        for pod in self.pods.values():
            containers += pod.containers
        text = json.dumps({"node": self.host.name, "restarts": self.restarts,
                           "containers": [c.as_json() for c in containers]}, indent=1)
        if text == self._written and self.state_path.exists():
            return
        tmp = self.state_path.with_suffix(".tmp")
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text)
            os.replace(tmp, self.state_path)
            self._written = text
        except OSError:
            pass  # the host's /var/lib/kubelet went away: next time

    # -- views for tests

    def running_containers(self) -> list[str]:
        with self._lock:
            return [c.name for p in self.pods.values() for c in p.containers
                    if c.state == "Running"]
