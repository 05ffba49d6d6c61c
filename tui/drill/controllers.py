"""The drill cluster's in-cluster controllers, moved on by the simulated clock.

What a real cluster's controllers do after a restore, reduced to what the procedures wait
for (all times are simulated seconds, so `--speed` scales them and a frozen clock only moves
when a test advances it):

- machine API: a deleted Machine stays Deleting MACHINE_DELETE_SECONDS (its instance goes
  away: the host is down, its Node deleted), then (except control-plane machines on
  installer-provisioned bare metal) a replacement (new name) is Provisioning,
  Provisioned after PROVISION_SECONDS, and BOOT_SECONDS later Running: its host is up again,
  fresh (kubelet runs, static pods but no etcd manifest nor data), and its Node registers.
- Nodes: a deleted Node stays away until its host's kubelet starts again (restart or
  re-provision); Ready needs the host up, kubelet running and valid kubelet certificates.
- kubelet certificates: a host whose kubelet restarted without PEMs ("bootstrapping") asks
  by CSR when the cluster has workers (a node-bootstrapper client CSR; once approved, after
  CSR_SERVING_DELAY a serving CSR from system:node:<name>; once that is approved the
  certificates are written, CERTS_DELAY later); without workers it gets them
  BOOTSTRAP_SECONDS after the restart (nothing to approve, as RST-11 says).
- static-pod operators (etcds, kubeapiservers, kubecontrollermanagers, kubeschedulers): a
  new revision (forceRedeploymentReason changed, or etcd membership) installs node by node,
  ROLLOUT_NODE_SECONDS each, on control-plane nodes that exist and are up.
- etcd operator: installing etcd on a control-plane host with no running member writes
  etcd-pod.yaml and fresh data and adds a learner with a new member ID; kubelet starts it;
  PROMOTE_SECONDS after it runs it is promoted. After a restore this scale-up happens on its
  own on 4.18+ (a new revision as soon as a host lacks etcd), and before 4.18 only in a
  rollout forced (forceRedeploymentReason) after the restore with the quorum guard off.
- cluster operators settle (tui.drill.conditions) once every control-plane host runs a voting
  etcd member again (and no revision is rolling out).
- OVN-Kubernetes pods deleted come back under a new name, Pending for
  OVN_POD_START_SECONDS, unless a failurePolicy Fail admission webhook rejects pods in the
  namespace; the ovnkube-master DaemonSet keeps a deleted node's IP DS_IP_LAG_SECONDS.

`tick(cluster)` applies what is due; it is called before every shell command, by the API
and `oc` before they answer, and by the drill's background activity (tui.drill.faults.tick).
"""

from __future__ import annotations

import hashlib
import re
import zlib

from tui.drill import hostfiles, hostpods, kubelet, objects, script_files
from tui.drill.conditions import settle
from tui.drill.hostfiles import write_kubelet_pems
from tui.drill.model import (
    Csr,
    DrillCluster,
    DrillHost,
    EtcdMember,
    Machine,
    OperatorState,
    PodRecord,
)

MACHINE_DELETE_SECONDS = 30.0
PROVISION_SECONDS = 90.0
BOOT_SECONDS = 60.0
BOOTSTRAP_SECONDS = 20.0
CSR_SERVING_DELAY = 5.0
CERTS_DELAY = 3.0
ROLLOUT_NODE_SECONDS = 60.0
PROMOTE_SECONDS = 10.0
OVN_POD_START_SECONDS = 20.0
DS_IP_LAG_SECONDS = 240.0

CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
BOOTSTRAPPER = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"

_busy: set[int] = set()


def tick(cluster: DrillCluster, now: float | None = None) -> bool:
    """Apply what is due by simulated time `now` (default: the clock's). True when anything
    changed (the cluster's listeners were told)."""
    if id(cluster) in _busy:
        return False
    _busy.add(id(cluster))
    try:
        now = cluster.clock.now() if now is None else now
        changed = False
        for _ in range(10):  # one event may make the next one due (chains of phases)
            step = False
            serving = objects.api_serving(cluster)
            if serving:
                step = _machines(cluster, now) or step
                step = _nodes(cluster, now) or step
                step = _certs(cluster, now) or step
                step = _etcd_scale_trigger(cluster, now) or step
                for op in list(cluster.api.operators.values()):
                    step = _rollout(cluster, op, now) or step
                step = _learners(cluster, now) or step
                step = _ovn(cluster, now) or step
            step = settle(cluster, now) or step
            if not step:
                break
            changed = True
        if changed:
            cluster.changed()
        return changed
    finally:
        _busy.discard(id(cluster))


# --- nodes ------------------------------------------------------------------------------------


def node_deleted(cluster: DrillCluster, host: DrillHost) -> None:
    """`oc delete node`: the Node goes; the pods bound to it are garbage-collected."""
    api = cluster.api
    api.node_deleted[host.name] = cluster.clock.now()
    for rec in api.pods.values():
        if rec.node == host.name and rec.name:
            objects.stop_pod_containers(host, rec.name)
            rec.name = ""
            rec.running_at = None
    cluster.changed()


def _register(cluster: DrillCluster, host: DrillHost, now: float) -> None:
    api = cluster.api
    api.node_deleted.pop(host.name, None)
    api.node_created[host.name] = now
    for app in objects.ovn_apps(cluster, host):
        rec = api.pods.get((app, host.name))
        if rec is None:
            rec = PodRecord(app, host.name, "", now)
            api.pods[(app, host.name)] = rec
        _recreate(cluster, rec, now)


def _nodes(cluster: DrillCluster, now: float) -> bool:
    changed = False
    for name, when in list(cluster.api.node_deleted.items()):
        h = cluster.host(name)
        if h is None:
            continue
        if h.up and h.kubelet_running and h.kubelet_since > when:
            _register(cluster, h, max(now, h.kubelet_since))
            changed = True
    return changed


def ovn_master_ips(cluster: DrillCluster) -> list[str]:
    """The control-plane IPs the ovnkube-master DaemonSet lists: nodes that exist, and
    deleted ones for DS_IP_LAG_SECONDS (the network operator re-renders it late)."""
    now = cluster.clock.now()
    out = []
    for h in cluster.control_plane():
        deleted = cluster.api.node_deleted.get(h.name)
        if deleted is None or now - deleted < DS_IP_LAG_SECONDS:
            out.append(h.address)
    return out


# --- kubelet certificates -----------------------------------------------------------------


def _write_pems(cluster: DrillCluster, host: DrillHost) -> None:
    write_kubelet_pems(cluster, host)
    host.kubelet_certs = "valid"


def _csr(cluster: DrillCluster, host: DrillHost, signer: str, when: float) -> Csr:
    if signer == CLIENT_SIGNER:
        c = Csr(name=objects.new_name(cluster, "csr-"), signer=signer,
                        username=BOOTSTRAPPER,
                        groups=["system:serviceaccounts",
                                "system:serviceaccounts:openshift-machine-config-operator",
                                "system:authenticated"],
                        usages=["digital signature", "client auth"], created=when,
                        node=host.name)
    else:
        c = Csr(name=objects.new_name(cluster, "csr-"), signer=signer,
                        username=f"system:node:{host.name}",
                        groups=["system:nodes", "system:authenticated"],
                        usages=["digital signature", "server auth"], created=when,
                        node=host.name)
    cluster.api.csrs.append(c)
    return c


def _certs(cluster: DrillCluster, now: float) -> bool:
    api = cluster.api
    changed = False
    workers = any(h.role == "worker" for h in cluster.hosts)
    for h in cluster.hosts:
        if h.kubelet_certs != "bootstrapping":
            api.bootstrap_since.pop(h.name, None)
            continue
        if not (h.up and h.kubelet_running):
            continue
        since = api.bootstrap_since.setdefault(h.name, max(h.kubelet_since, 0.0) or now)
        if not workers:
            if now >= since + BOOTSTRAP_SECONDS:
                _write_pems(cluster, h)
                api.bootstrap_since.pop(h.name, None)
                changed = True
            continue
        mine = [c for c in api.csrs if c.node == h.name and c.created >= since]
        client = next((c for c in mine if c.signer == CLIENT_SIGNER), None)
        serving = next((c for c in mine if c.signer == SERVING_SIGNER), None)
        if client is None:
            _csr(cluster, h, CLIENT_SIGNER, max(since, min(now, since + 1.0)))
            changed = True
        elif client.approved_at is not None and serving is None:
            due = client.approved_at + CSR_SERVING_DELAY
            if now >= due:
                _csr(cluster, h, SERVING_SIGNER, due)
                changed = True
        elif serving is not None and serving.approved_at is not None:
            if now >= serving.approved_at + CERTS_DELAY:
                _write_pems(cluster, h)
                api.bootstrap_since.pop(h.name, None)
                changed = True
    return changed


# --- machines -------------------------------------------------------------------------------


def machine_deleted(cluster: DrillCluster, m: Machine) -> None:
    now = cluster.clock.now()
    m.phase = "Deleting"
    m.phase_since = now
    if m.role == "master":
        infra = objects.infra_name(cluster)
        m.replacement = objects.new_name(cluster, f"{infra}-master-")
    else:
        m.replacement = objects.new_name(cluster, m.name.rsplit("-", 1)[0] + "-")
    cluster.changed()


def _take_down(cluster: DrillCluster, host: DrillHost) -> None:
    host.up = False
    host.kubelet_running = False
    member = cluster.member_of(host)
    if member:
        member.running = False
    for hook in list(cluster.host_hooks):
        hook(host)


def _machines(cluster: DrillCluster, now: float) -> bool:
    api = cluster.api
    changed = False
    for m in list(api.machines):
        h = cluster.host(m.host)
        if m.phase == "Deleting" and now >= m.phase_since + MACHINE_DELETE_SECONDS:
            due = m.phase_since + MACHINE_DELETE_SECONDS
            api.machines.remove(m)
            if h is not None:
                if h.up:
                    _take_down(cluster, h)
                if objects.node_exists(cluster, h):
                    node_deleted(cluster, h)
            changed = True
            if api.platform == "BareMetal" and m.role == "master":
                continue  # installer-provisioned bare metal: machines are not recreated
            new = Machine(name=m.replacement or objects.new_name(cluster, m.name + "-"),
                          host=m.host, role=m.role, phase="Provisioning", created=due,
                          phase_since=due, instance=_instance(cluster, m.host, due))
            api.machines.append(new)
        elif m.phase == "Provisioning" and now >= m.phase_since + PROVISION_SECONDS:
            m.phase = "Provisioned"
            m.phase_since += PROVISION_SECONDS
            changed = True
        elif m.phase == "Provisioned" and now >= m.phase_since + BOOT_SECONDS:
            m.phase_since += BOOT_SECONDS
            if h is not None:
                reprovision(cluster, h, m.phase_since)
            m.phase = "Running"
            changed = True
    return changed


def _instance(cluster: DrillCluster, host: str, when: float) -> str:
    return "i-0" + hashlib.sha256(f"{cluster.name}/{host}/{when}".encode()).hexdigest()[:16]


def reprovision(cluster: DrillCluster, host: DrillHost, when: float) -> None:
    """The machine's new instance boots: a fresh host under the same name and address,
    kubelet running with new certificates, the static pods but etcd's (no manifest, no data:
    the etcd operator adds it back), and its Node registered."""
    etcd = cluster.etcd
    old = cluster.member_of(host)
    if old is not None and len(etcd.members) > 1:
        etcd.members.remove(old)
        if etcd.leader_id == old.member_id:
            etcd.leader_id = None
    for coll in (host.files, host.links, host.modes, host.owners, host.mtimes, host.sizes,
                 host.kubelet_pending):
        coll.clear()
    host.dirs.clear()
    host.containers.clear()
    host.ip_addresses = [("br-ex", f"{host.address}/24")]
    host.up = True
    host.kubelet_running = True
    host.kubelet_since = when
    host.kubelet_certs = "valid"
    host.log.append(f"re-provisioned by the machine API at {objects.stamp(cluster, when)}")
    hostfiles.populate_host(cluster, host)
    if host.role == "control-plane":
        script_files.install_host_files(cluster, host)
        spec = kubelet.STATIC_PODS["etcd-pod.yaml"]
        host.files.pop(kubelet.manifest_path(spec), None)
        host.containers = [c for c in host.containers if c.pod != kubelet.pod_name(spec, host)]
        for p in [p for p in list(host.files) if p.startswith("/var/lib/etcd/")]:
            del host.files[p]
        for d in [d for d in list(host.dirs) if d.startswith("/var/lib/etcd/")]:
            host.dirs.discard(d)
        for plural, op in cluster.api.operators.items():
            op.node_revisions[host.name] = 0 if plural == "etcds" else op.latest
    for hook in list(cluster.host_hooks):
        hook(host)
    _register(cluster, host, when)


# --- static-pod operators and the etcd membership ---------------------------------------------


def new_revision(cluster: DrillCluster, op: OperatorState, *, forced: bool) -> None:
    """A new revision to roll out (forceRedeploymentReason changed, or membership)."""
    now = cluster.clock.now()
    op.latest += 1
    if op.installing is None:
        op.next_start = now
    if op.plural == "etcds":
        cluster.api.etcd_revision = op.latest
    if forced:
        op.force_changed_at = now
        if op.plural == "etcds" and objects.quorum_guard_off(cluster):
            op.scale_up = True


def scale_up_allowed(cluster: DrillCluster) -> bool:
    """May the etcd operator add members now? Always on a cluster never restored and on
    4.18+; before 4.18, after a restore, only in a rollout forced after it with the quorum
    guard off (RST-17, RST-19)."""
    if cluster.restored_at is None or cluster.api.release >= (4, 18):
        return True
    op = cluster.api.operators.get("etcds")
    return bool(op and op.scale_up and op.force_changed_at is not None
                and op.force_changed_at >= cluster.restored_at)


def _has_member(cluster: DrillCluster, host: DrillHost) -> bool:
    m = cluster.member_of(host)
    return m is not None and m.running


def _installable(cluster: DrillCluster, host: DrillHost) -> bool:
    return host.up and host.kubelet_running and objects.node_exists(cluster, host)


def _needs_etcd(cluster: DrillCluster, host: DrillHost) -> bool:
    spec = kubelet.STATIC_PODS["etcd-pod.yaml"]
    return (kubelet.manifest_path(spec) not in host.files
            and kubelet.running(host, spec, "etcd") is None
            and not _has_member(cluster, host))


def _etcd_scale_trigger(cluster: DrillCluster, now: float) -> bool:
    """4.18+: after a restore the operator rolls etcd out again as soon as a control-plane
    host that is up lacks etcd (the hosts that ran disable-etcd.sh, new machines)."""
    if cluster.restored_at is None or cluster.api.release < (4, 18) or _pacemaker_etcd(cluster):
        return False
    op = cluster.api.operators.get("etcds")
    if op is None or op.installing is not None:
        return False
    if any(op.node_revisions.get(h.name, 0) != op.latest for h in cluster.control_plane()
           if _installable(cluster, h)):
        return False  # a rollout is under way and will reach it
    if any(_installable(cluster, h) and _needs_etcd(cluster, h) for h in cluster.control_plane()):
        new_revision(cluster, op, forced=False)
        return True
    return False


def _rollout(cluster: DrillCluster, op: OperatorState, now: float) -> bool:
    nodes = [h for h in cluster.control_plane() if objects.node_exists(cluster, h)]
    changed = False
    if op.installing is not None:
        h = cluster.host(op.installing)
        if h is None or not objects.node_exists(cluster, h):
            op.installing = None
            changed = True
        elif _installable(cluster, h) and now >= op.installing_since + ROLLOUT_NODE_SECONDS \
                and _install_done(cluster, op, h):
            _finish_install(cluster, op, h)
            op.node_revisions[h.name] = op.latest
            op.installing = None
            if op.plural != "etcds":  # etcd's end is when its member runs: seen late
                op.next_start = op.installing_since + ROLLOUT_NODE_SECONDS
            changed = True
        else:
            return False
    behind = [h for h in nodes if op.node_revisions.get(h.name, 0) != op.latest
              and _installable(cluster, h)]
    for h in behind:
        if op.plural == "etcds" and not _has_member(cluster, h) and \
                not scale_up_allowed(cluster):
            continue  # the quorum guard keeps a restored single member alone
        op.installing = h.name
        op.installing_since = now if op.next_start is None else min(max(op.next_start, 0), now)
        op.next_start = None
        _start_install(cluster, op, h)
        return True
    return changed


def _install_done(cluster: DrillCluster, op: OperatorState, host: DrillHost) -> bool:
    if op.plural != "etcds":
        return True
    m = cluster.member_of(host)
    return m is not None and m.running and not m.is_learner


def _pacemaker_etcd(cluster: DrillCluster) -> bool:
    """Two nodes with fencing: Pacemaker runs etcd, the operator writes no etcd-pod.yaml
    and adds no member (tui.drill.pacemaker)."""
    return cluster.api.topology == "DualReplica"


def _start_install(cluster: DrillCluster, op: OperatorState, host: DrillHost) -> None:
    if op.plural != "etcds" or _pacemaker_etcd(cluster):
        return
    if _has_member(cluster, host):
        _write_manifest(cluster, host, "etcd-pod.yaml", op.latest, keep=False)
        return
    _add_member(cluster, host, op.latest)


def _finish_install(cluster: DrillCluster, op: OperatorState, host: DrillHost) -> None:
    if op.plural == "etcds":
        return
    manifest = objects.OPERATOR_MANIFESTS[op.plural]
    _write_manifest(cluster, host, manifest, op.latest, keep=True)


def _write_manifest(cluster: DrillCluster, host: DrillHost, manifest: str, rev: int, *,
                    keep: bool) -> None:
    """The installer pod puts the revision's manifest in place (and in
    static-pod-resources/<pod>-<rev>/)."""
    path = f"{kubelet.MANIFESTS_DIR}/{manifest}"
    if keep and path in host.files:
        return
    name = manifest[:-len(".yaml")]
    text = _manifest_text(cluster, host, manifest, rev)
    now = cluster.clock.now()
    res = f"/etc/kubernetes/static-pod-resources/{name}-{rev}"
    for d in ("/etc/kubernetes/static-pod-resources", res, kubelet.MANIFESTS_DIR):
        host.dirs.add(d)
    host.files[f"{res}/{manifest}"] = text
    host.mtimes[f"{res}/{manifest}"] = now
    host.files[path] = text
    host.mtimes[path] = now
    host.modes[path] = 0o600


def _manifest_text(cluster: DrillCluster, host: DrillHost, manifest: str, rev: int) -> bytes:
    name = manifest[:-len(".yaml")]
    # the newest earlier revision's copy on this host, with the revision label moved on
    prefix = f"/etc/kubernetes/static-pod-resources/{name}-"
    found = []
    for p in host.files:
        if p.startswith(prefix) and p.endswith("/" + manifest):
            tail = p[len(prefix):].split("/", 1)[0]
            if tail.isdigit():
                found.append((int(tail), p))
    if found:
        text = host.files[max(found)[1]].decode("utf-8", "replace")

        text = re.sub(r'revision: "\d+"', f'revision: "{rev}"', text)
        if text.strip():
            return text.encode()
    if manifest == "etcd-pod.yaml":
        try:

            return hostpods.etcd_pod(cluster, host, rev, kubelet.image_for("etcd"),
                                       kubelet.image_for("cluster-etcd-operator")).encode()
        except (ImportError, AttributeError, TypeError):
            pass

    spec = kubelet.STATIC_PODS[manifest]
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {spec.pod_prefix}\n"
            f"  namespace: {spec.namespace}\n  labels:\n    revision: \"{rev}\"\nspec:\n"
            f"  containers:\n" + "".join(f"  - name: {c}\n    image: "
                                         f"{kubelet.image_for(spec.image_key)}\n"
                                         for c in kubelet.pod_containers(cluster, spec))
            + "  hostNetwork: true\n  priorityClassName: system-node-critical\n").encode()


def _add_member(cluster: DrillCluster, host: DrillHost, rev: int) -> None:
    """The etcd operator scales etcd up onto `host`: fresh data, the manifest, a learner
    with a new member ID (started by kubelet, promoted once it runs)."""
    etcd = cluster.etcd
    now = cluster.clock.now()
    stale = cluster.member_of(host)
    if stale is not None:
        etcd.members.remove(stale)
    leader = etcd.leader()
    # the old data directory goes (the etcd pod's init container archives a stale one)
    for p in [p for p in list(host.files) if p.startswith("/var/lib/etcd/")]:
        del host.files[p]
        host.sizes.pop(p, None)
    for d in [d for d in list(host.dirs) if d.startswith("/var/lib/etcd/")]:
        host.dirs.discard(d)
    size = leader.db_size_in_use if leader else 100 * 1024 * 1024
    for d in ("/var/lib/etcd", "/var/lib/etcd/member", "/var/lib/etcd/member/snap",
              "/var/lib/etcd/member/wal"):
        host.dirs.add(d)
        host.modes[d] = 0o700
        host.mtimes[d] = now
    for path, fsize, text in (
            ("/var/lib/etcd/member/snap/db", size,
             f"drill stand-in for the bbolt database of etcd member {host.name}\n"),
            ("/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal", 64_000_000,
             "drill stand-in for a write-ahead log segment\n")):
        host.files[path] = text.encode()
        host.sizes[path] = fsize
        host.modes[path] = 0o600
        host.mtimes[path] = now
    member_id = (zlib.crc32(f"{cluster.name}/{host.name}/{now}".encode()) << 32) | \
        zlib.crc32(f"{host.name}/{rev}".encode())
    version = leader.version if leader else (etcd.members[0].version if etcd.members else "3.5.9")
    member = EtcdMember(name=host.name, member_id=member_id,
                        peer_url=f"https://{host.address}:2380",
                        client_url=f"https://{host.address}:2379", version=version,
                        db_size=size, db_size_in_use=size,
                        raft_index=leader.raft_index if leader else 1,
                        raft_applied_index=leader.raft_index if leader else 1,
                        is_learner=True, running=False)
    etcd.members.append(member)
    _write_manifest(cluster, host, "etcd-pod.yaml", rev, keep=False)
    spec = kubelet.STATIC_PODS["etcd-pod.yaml"]
    for name in kubelet.pod_containers(cluster, spec):  # kubelet sees the manifest now
        host.kubelet_pending.setdefault(f"{spec.manifest}/{name}", now)


def _learners(cluster: DrillCluster, now: float) -> bool:
    api = cluster.api
    changed = False
    leader = cluster.etcd.leader()
    for m in cluster.etcd.members:
        if not m.is_learner:
            api.learner_running_since.pop(m.member_id, None)
            continue
        if not m.running:
            continue
        since = api.learner_running_since.setdefault(m.member_id, now)
        if now >= since + PROMOTE_SECONDS:
            m.is_learner = False
            if leader is not None:
                m.raft_index = m.raft_applied_index = leader.raft_index
            api.learner_running_since.pop(m.member_id, None)
            changed = True
    return changed


# --- OVN pods -------------------------------------------------------------------------------


def _recreate(cluster: DrillCluster, rec: PodRecord, now: float) -> None:
    if objects.pods_blocked(cluster, objects.OVN_NS):
        rec.name = ""
        rec.running_at = None
        return
    rec.name = objects.replacement_pod_name(cluster, rec)
    rec.created = now
    rec.running_at = now + OVN_POD_START_SECONDS


def _ovn(cluster: DrillCluster, now: float) -> bool:
    changed = False
    for rec in cluster.api.pods.values():
        h = cluster.host(rec.node)
        if h is None or not objects.node_exists(cluster, h):
            continue
        if not rec.name:
            if not objects.pods_blocked(cluster, objects.OVN_NS):
                _recreate(cluster, rec, now)
                changed = True
            continue
        if rec.running_at is None or now < rec.running_at or not (h.up and h.kubelet_running):
            continue
        if not any(c.pod == rec.name and c.state == "Running" for c in h.containers):
            objects.start_pod_containers(cluster, h, rec)
            changed = True
    return changed


# --- cluster operators --------------------------------------------------------------------


