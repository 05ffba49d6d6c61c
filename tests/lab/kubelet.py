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
  restart under CRI-O.

One thread per host, polling every POLL seconds; the test process owns it (and the members
it starts), and Lab.stop stops it before the members.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

POLL = 0.05
STATE = "/var/lib/kubelet/etcd-dr-lab/containers.json"
RESTART_REQUEST = "/var/lib/kubelet/etcd-dr-lab/restart-requested"
IMAGE = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:"

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

    def __init__(self, host, log: Path):
        self.host = host  # a tests.lab.lab.LabHost
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
            member = self.host.etcd
            try:
                flags = etcd_flags((self.manifests / name).read_text())
            except (OSError, ValueError, yaml.YAMLError) as e:
                self._log(f"{name}: cannot start the pod: {e}")
                return pod
            if member is not None:
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
        if pod.manifest == "etcd-pod.yaml" and self.host.etcd is not None:
            member = self.host.etcd
            proc = member.proc
            if proc is not None and proc.alive:
                member.stop()  # SIGTERM by pid, SIGKILL after 5 s
                self._log(f"stopped etcd {member.name} (pid {proc.pid})")
        else:
            self._log(f"stopped {pod.containers[0].pod if pod.containers else pod.manifest}")

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
