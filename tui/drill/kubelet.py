"""What kubelet does with a drill host's static pods.

Kubelet watches /etc/kubernetes/manifests: when a manifest goes away it stops that pod's
containers (after the grace period), when one appears it starts them; a container that dies
while its manifest is present is restarted. The recovery procedures rely on exactly this
(RST-04: move etcd-pod.yaml away, wait until `crictl ps` shows no etcd containers).

The drill reconciles lazily: `sync_cluster` is called before and after every shell command
(and may be called by anything else that reads the state). It notices differences between
the manifests and the containers, remembers when it first saw each one, and applies it once
the simulated delay has passed, so a fast clock makes drills quick and a frozen clock only
moves when a test advances it.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from tui.drill.model import Container, DrillCluster, DrillHost

MANIFESTS_DIR = "/etc/kubernetes/manifests"
STOP_DELAY = 5.0  # simulated seconds: manifest gone -> containers Exited (graceful stop)
START_DELAY = 10.0  # manifest present, container missing -> Running (sandbox + start)
# simulated seconds from a restore script's run (cluster.restored_at) until the API answers
# again, once etcd has a leader and some kube-apiserver runs
API_RETURN_DELAY = 30.0
PKI_DIR = "/var/lib/kubelet/pki"
KUBELET_CLIENT_CURRENT = f"{PKI_DIR}/kubelet-client-current.pem"
ETCD_DATA = "/var/lib/etcd/member/snap/db"
IMAGE_REPO = "quay.io/openshift-release-dev/ocp-v4.0-art-dev"
# how the restore pods' manifests (tui.drill.restore_scripts) say what they are
RESTORE_POD_MARKER = "drill stand-in for the restore-etcd pod"
QUORUM_POD_MARKER = "drill stand-in for the quorum-restore pod"
RESTORE_SNAPSHOT = "/var/lib/etcd-backup/snapshot.db"
REV_JSON = "/var/lib/etcd/revision.json"
REVISION_INTERVAL = 10.0  # simulated seconds between two writes of revision.json (4.18+)


@dataclass(frozen=True)
class StaticPod:
    manifest: str  # file name in /etc/kubernetes/manifests
    pod_prefix: str  # the mirror pod is "<prefix>-<node>"
    namespace: str
    containers: tuple[str, ...]
    image_key: str  # containers of one component share its image


STATIC_PODS: dict[str, StaticPod] = {
    s.manifest: s for s in (
        StaticPod("etcd-pod.yaml", "etcd", "openshift-etcd",
                  ("etcdctl", "etcd", "etcd-metrics", "etcd-readyz"), "etcd"),
        StaticPod("kube-apiserver-pod.yaml", "kube-apiserver", "openshift-kube-apiserver",
                  ("kube-apiserver", "kube-apiserver-cert-syncer",
                   "kube-apiserver-cert-regeneration-controller",
                   "kube-apiserver-insecure-readyz", "kube-apiserver-check-endpoints"),
                  "hyperkube"),
        StaticPod("kube-controller-manager-pod.yaml", "kube-controller-manager",
                  "openshift-kube-controller-manager",
                  ("kube-controller-manager", "cluster-policy-controller",
                   "kube-controller-manager-cert-syncer",
                   "kube-controller-manager-recovery-controller"), "hyperkube"),
        StaticPod("kube-scheduler-pod.yaml", "openshift-kube-scheduler",
                  "openshift-kube-scheduler",
                  ("kube-scheduler", "kube-scheduler-cert-syncer",
                   "kube-scheduler-recovery-controller"), "hyperkube"),
        StaticPod("keepalived.yaml", "keepalived", "openshift-kni-infra",
                  ("keepalived", "keepalived-monitor"), "keepalived-ipfailover"),
    )
}


def pod_containers(cluster: DrillCluster, spec: StaticPod) -> tuple[str, ...]:
    """A static pod's containers on this cluster's release: from 4.18 the etcd pod also runs
    etcd-rev (it keeps revision.json), and on 4.18-4.20 etcd-backup-server (UPSTREAM.md: the
    4.18-4.20 cluster-restore.sh waits for it to stop)."""
    if spec.manifest != "etcd-pod.yaml" or cluster.api.release < (4, 18):
        return spec.containers
    extra = ("etcd-rev",) + (("etcd-backup-server",) if cluster.api.release < (4, 21) else ())
    return spec.containers + extra


def manifest_path(spec: StaticPod) -> str:
    return f"{MANIFESTS_DIR}/{spec.manifest}"


def pod_name(spec: StaticPod, host: DrillHost) -> str:
    return f"{spec.pod_prefix}-{host.name}"


def image_for(key: str) -> str:
    """A release-image pull spec per component (same digest every run)."""
    return f"{IMAGE_REPO}@sha256:{hashlib.sha256(('drill/' + key).encode()).hexdigest()}"


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def new_container(cluster: DrillCluster, host: DrillHost, *, name: str, pod: str,
                  namespace: str, image: str, pod_id: str | None = None, attempt: int = 0,
                  created: float | None = None) -> Container:
    """Add a Running container to the host, with IDs shaped like CRI-O's (64 hex digits;
    crictl shows the first 13)."""
    serial = len(host.containers)
    c = Container(name=name, pod=pod, image=image, state="Running",
                  container_id=_hex(f"ctr/{host.name}/{pod}/{name}/{attempt}/{serial}"),
                  pod_id=pod_id or _hex(f"pod/{host.name}/{pod}/{serial}"),
                  created=cluster.clock.now() if created is None else created,
                  attempt=attempt, namespace=namespace)
    host.containers.append(c)
    return c


def start_static_pod(cluster: DrillCluster, host: DrillHost, spec: StaticPod,
                     created: float | None = None) -> list[Container]:
    """Start every container of a static pod in a new sandbox (as kubelet does)."""
    pod = pod_name(spec, host)
    pod_id = _hex(f"pod/{host.name}/{pod}/{len(host.containers)}")
    return [new_container(cluster, host, name=n, pod=pod, namespace=spec.namespace,
                          image=image_for(spec.image_key), pod_id=pod_id, created=created)
            for n in pod_containers(cluster, spec)]


def running(host: DrillHost, spec: StaticPod, name: str) -> Container | None:
    pod = pod_name(spec, host)
    return next((c for c in host.containers
                 if c.name == name and c.pod == pod and c.state == "Running"), None)


def sync_host(cluster: DrillCluster, host: DrillHost) -> bool:
    """Bring the host's static pods one step closer to its manifests; True if anything
    changed (cluster.changed() is then called)."""
    if not host.up or not host.kubelet_running:
        return False
    # What the loop below reads, in brief: when it is what the last sync left with nothing
    # to do and nothing pending, this one has nothing to do either (sync_cluster runs
    # before every command of every drill host)
    steady = (tuple(manifest_path(spec) in host.files for spec in STATIC_PODS.values()),
              tuple((c.pod, c.name, c.state) for c in host.containers),
              frozenset(host.stalled_pods), cluster.api.release)
    if not host.kubelet_pending and host.kubelet_steady == steady:
        return False
    now = cluster.clock.now()
    touched: set[str] = set()
    # (pod, container) -> the first running one, as running() finds it: one pass over the
    # host's containers, not one per static pod container (this runs before every command)
    running_now: dict[tuple[str, str], Container] = {}
    for c in host.containers:
        if c.state == "Running":
            running_now.setdefault((c.pod, c.name), c)
    for spec in STATIC_PODS.values():
        if spec.manifest in host.stalled_pods:  # stuck (an injected fault): nothing moves,
            continue  # and the delay counts from the release
        want = manifest_path(spec) in host.files
        pod = pod_name(spec, host)
        for name in pod_containers(cluster, spec):
            key = f"{spec.manifest}/{name}"
            current = running_now.get((pod, name))
            if want == (current is not None):
                host.kubelet_pending.pop(key, None)
                continue
            since = host.kubelet_pending.setdefault(key, now)
            if now - since < (STOP_DELAY if current else START_DELAY):
                continue
            del host.kubelet_pending[key]
            if current is not None:
                current.state = "Exited"
            else:
                _start_one(cluster, host, spec, name)
            touched.add(spec.manifest)
    host.kubelet_steady = steady if not touched and not host.kubelet_pending else None
    if touched:
        apply_effects(cluster, host, touched)
        cluster.changed()
    return bool(touched)


def _start_one(cluster: DrillCluster, host: DrillHost, spec: StaticPod, name: str) -> None:
    pod = pod_name(spec, host)
    siblings = [c for c in host.containers if c.pod == pod and c.state == "Running"]
    previous = [c for c in host.containers if c.pod == pod and c.name == name]
    if siblings:
        # the sandbox is still up: restart the one container in it, next attempt
        pod_id = siblings[0].pod_id
        attempt = max((c.attempt for c in previous if c.pod_id == pod_id), default=-1) + 1
    else:
        pod_id = _hex(f"pod/{host.name}/{pod}/{len(host.containers)}")
        attempt = 0
    new_container(cluster, host, name=name, pod=pod, namespace=spec.namespace,
                  image=image_for(spec.image_key), pod_id=pod_id, attempt=attempt)


def apply_effects(cluster: DrillCluster, host: DrillHost, manifests: set[str]) -> None:
    """What a static pod starting or stopping means beyond the host: the etcd member
    answers or not, the API is reachable or not."""
    if "etcd-pod.yaml" in manifests:
        member = cluster.member_of(host)
        up = running(host, STATIC_PODS["etcd-pod.yaml"], "etcd") is not None
        if member is not None:
            # an etcd without its data directory cannot rejoin (RST-04e moved it away)
            member.running = up and ETCD_DATA in host.files
        if up:
            _restore_pod_started(cluster, host)
    if "kube-apiserver-pod.yaml" in manifests:
        spec = STATIC_PODS["kube-apiserver-pod.yaml"]
        if not any(h.up and running(h, spec, "kube-apiserver") for h in cluster.hosts):
            cluster.api.reachable = False
        elif running(host, spec, "kube-apiserver") is not None and _api_can_answer(cluster):
            cluster.api.reachable = True


def _restore_pod_started(cluster: DrillCluster, host: DrillHost) -> None:
    """The restore-etcd pod (4.14 and later) deletes /var/lib/etcd-backup/snapshot.db once
    its restore succeeded, seconds after it starts: a file the script made and the pod
    removes proves nothing about whether the restore ran."""
    manifest = host.files.get(f"{MANIFESTS_DIR}/etcd-pod.yaml", b"")
    if RESTORE_POD_MARKER.encode() not in manifest or cluster.api.release < (4, 14):
        return
    if host.files.pop(RESTORE_SNAPSHOT, None) is not None:
        for meta in (host.sizes, host.modes, host.owners, host.mtimes):
            meta.pop(RESTORE_SNAPSHOT, None)


def write_revision_json(cluster: DrillCluster, host: DrillHost, *, force: bool = False) -> None:
    """4.18+: the etcd pod's etcd-rev container keeps /var/lib/etcd/revision.json current
    while etcd runs ({"clusterId": N, "raftIndex": {URL: N}, "maxRaftIndex": N, "created":
    ...}, clusterId a JSON number), every REVISION_INTERVAL simulated seconds; a member that
    does not answer leaves the file as it was (the restore scripts and a recovery-host
    ranking read its maxRaftIndex then)."""
    if cluster.api.release < (4, 18) or "/var/lib/etcd" not in host.dirs:
        return
    member = cluster.member_of(host)
    if member is None or not member.running or not cluster.etcd.answering(member):
        return
    now = cluster.clock.now()
    last = host.mtimes.get(REV_JSON)
    if not force and REV_JSON in host.files and last is not None and \
            now - last < REVISION_INTERVAL:
        return
    answering = [m for m in cluster.etcd.members if cluster.etcd.answering(m)]
    indexes = {m.client_url: m.raft_index for m in answering} or \
        {member.client_url: member.raft_index}
    created = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = ('{"clusterId":%d,"raftIndex":{%s},"maxRaftIndex":%d,"created":"%s"}' % (
        cluster.etcd.cluster_id, ",".join(f'"{k}":{v}' for k, v in indexes.items()),
        max(indexes.values()), created))
    host.files[REV_JSON] = text.encode()
    host.sizes.pop(REV_JSON, None)
    host.modes.setdefault(REV_JSON, 0o644)
    host.mtimes[REV_JSON] = now


def _api_can_answer(cluster: DrillCluster) -> bool:
    """A kube-apiserver that starts serves once etcd has a leader, and not before
    API_RETURN_DELAY has passed since a restore (its caches, the restore pod's start)."""
    cluster.etcd.elect()
    if cluster.etcd.leader() is None:
        return False
    return cluster.restored_at is None or \
        cluster.clock.now() >= cluster.restored_at + API_RETURN_DELAY


def api_returns(cluster: DrillCluster) -> bool:
    """After a restore the API comes back on its own once it can answer (see
    _api_can_answer) and a kube-apiserver runs; True (and listeners told) when it did."""
    if cluster.api.reachable or cluster.restored_at is None:
        return False
    spec = STATIC_PODS["kube-apiserver-pod.yaml"]
    if not any(h.up and running(h, spec, "kube-apiserver") for h in cluster.hosts):
        return False
    if not _api_can_answer(cluster):
        return False
    cluster.api.reachable = True
    cluster.changed()
    return True


def sync_cluster(cluster: DrillCluster) -> bool:
    changed = False
    for host in cluster.hosts:
        changed = sync_host(cluster, host) or changed
        if host.up and host.role == "control-plane":
            write_revision_json(cluster, host)
    return api_returns(cluster) or changed


async def reconcile_forever(cluster: DrillCluster, interval: float = 0.25) -> None:
    """Keep kubelet's work going while nobody runs a command (the API then shows etcd
    pods stopping on its own); `interval` is in real seconds. Run it as a task."""
    while True:
        sync_cluster(cluster)
        await asyncio.sleep(interval)


def container_stopped(cluster: DrillCluster, host: DrillHost, container: Container) -> None:
    """`crictl stop`: the container is Exited now; kubelet restarts it later if its
    manifest is still there."""
    for spec in STATIC_PODS.values():
        if container.pod == pod_name(spec, host) and \
                container.name in pod_containers(cluster, spec):
            apply_effects(cluster, host, {spec.manifest})
            cluster.changed()
            return


def kubelet_restarted(cluster: DrillCluster, host: DrillHost) -> None:
    """`systemctl restart kubelet`: kubelet re-reads the manifests (differences seen now
    count from now). Without a client certificate (RST-09 removed the PEMs) it bootstraps:
    host.kubelet_certs "bootstrapping" until new certificates are issued (CSRs, RST-11;
    tui.drill.hostfiles.write_kubelet_pems writes them)."""
    host.kubelet_pending.clear()
    if not _exists(host, KUBELET_CLIENT_CURRENT):
        host.kubelet_certs = "bootstrapping"
        pid = 2000 + sum(map(ord, "kubelet")) % 900
        stamp = cluster.clock.now_dt().strftime("%m%d %H:%M:%S.%f")
        for where, msg in (
                ("bootstrap.go:82", '"Using bootstrap kubeconfig to generate TLS client cert, '
                                    'key and kubeconfig file"'),
                ("certificate_manager.go:356", '"Rotating certificates"'),
                ("csr.go:261", '"Waiting for client certificate to be issued"')):
            host.log.append(f"kubenswrapper[{pid}]: I{stamp} {pid:7d} {where}] {msg}")
    sync_host(cluster, host)
    cluster.changed()


def _exists(host: DrillHost, path: str, depth: int = 0) -> bool:
    """The path names a file, following symbolic links (a dangling link does not count)."""
    if path in host.files:
        return True
    target = host.links.get(path)
    if target is None or depth > 8:
        return False
    if not target.startswith("/"):
        target = path.rsplit("/", 1)[0] + "/" + target
    return _exists(host, target, depth + 1)


def container_env(cluster: DrillCluster, host: DrillHost, container: Container) -> dict[str, str]:
    """The environment a process started by `crictl exec` sees in that container: the pod
    spec's env (OpenShift's etcd pod: ETCDCTL_* for the whole cluster) plus the image's."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOSTNAME": host.name, "HOME": "/root", "TERM": "xterm"}
    if container.namespace == "openshift-etcd" and container.pod == f"etcd-{host.name}":
        endpoints = ",".join(m.client_url for m in cluster.etcd.members)
        certs = "/etc/kubernetes/static-pod-certs"
        env.update({
            "ALL_ETCD_ENDPOINTS": endpoints,
            "ETCDCTL_API": "3",
            "ETCDCTL_CACERT": f"{certs}/configmaps/etcd-serving-ca/ca-bundle.crt",
            "ETCDCTL_CERT": f"{certs}/secrets/etcd-all-certs/etcd-peer-{host.name}.crt",
            "ETCDCTL_ENDPOINTS": endpoints,
            "ETCDCTL_KEY": f"{certs}/secrets/etcd-all-certs/etcd-peer-{host.name}.key",
            "ETCD_CIPHER_SUITES": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
                                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
                                  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,"
                                  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "ETCD_DATA_DIR": "/var/lib/etcd",
            "ETCD_ELECTION_TIMEOUT": "1000",
            "ETCD_ENABLE_PPROF": "true",
            "ETCD_HEARTBEAT_INTERVAL": "100",
            "ETCD_IMAGE": container.image,
            "ETCD_INITIAL_CLUSTER_STATE": "existing",
            "ETCD_QUOTA_BACKEND_BYTES": str(cluster.etcd.quota_backend_bytes),
            "ETCD_SOCKET_REUSE_ADDRESS": "true",
        })
        for m in cluster.etcd.members:
            h = cluster.host(m.name)
            ip = m.client_url.split("//", 1)[-1].rsplit(":", 1)[0].strip("[]")
            key = "NODE_" + "".join(ch if ch.isalnum() else "_" for ch in m.name)
            env[f"{key}_ETCD_NAME"] = m.name
            env[f"{key}_ETCD_URL_HOST"] = ip
            env[f"{key}_IP"] = h.address if h else ip
        env["ETCD_STATIC_POD_VERSION"] = str(cluster.api.etcd_revision)
    return env
