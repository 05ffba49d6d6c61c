"""Two-node OpenShift with fencing on the drill's hosts (Infrastructure
status.controlPlaneTopology "DualReplica").

There etcd is not a static pod: Pacemaker runs it (podman, through its podman-etcd resource
agent) beside kubelet, and fences a host that stops answering through its BMC. What a host
shows of that, as far as the drill models it: no etcd-pod.yaml in /etc/kubernetes/manifests
and no etcd pod in `crictl ps` (no quorum guard either), corosync's configuration, and a
`pcs` program (tui.drill.commands.pcs) whose status follows the drill's hosts and members.
etcd-dr does not restore this topology; the drill teaches to recognise it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tui.drill.model import DrillCluster, DrillHost

DUAL_REPLICA = "DualReplica"
PCS = "/usr/sbin/pcs"
COROSYNC_CONF = "/etc/corosync/corosync.conf"
CLUSTER_NAME = "TNF"
PACEMAKER_VERSION = "2.1.9-1.el9-49aab9983"
PCS_VERSION = "0.11.9"
ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd-pod.yaml"


def is_pacemaker_cluster(cluster: DrillCluster) -> bool:
    return cluster.api.topology == DUAL_REPLICA


def prepare_hosts(cluster: DrillCluster) -> None:
    """Turn freshly populated control-plane hosts into two-node-with-fencing ones."""
    installed = cluster.clock.now() - 12 * 86400
    for host in cluster.control_plane():
        host.files.pop(ETCD_MANIFEST, None)
        for meta in (host.mtimes, host.modes, host.sizes, host.owners):
            meta.pop(ETCD_MANIFEST, None)
        etcd_pods = {f"etcd-{host.name}", f"etcd-guard-{host.name}"}
        host.containers = [c for c in host.containers if c.pod not in etcd_pods]
        _file(host, PCS, b"\x7fELF\x02\x01\x01\x00 drill stand-in for pcs\n", 0o755, installed)
        _file(host, COROSYNC_CONF, corosync_conf(cluster).encode(), 0o644, installed)


def _file(host: DrillHost, path: str, data: bytes, mode: int, when: float) -> None:
    parts = path.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        host.dirs.add("/" + "/".join(parts[:i]))
    host.files[path] = data
    host.modes[path] = mode
    host.owners[path] = "root"
    host.mtimes[path] = when


def corosync_conf(cluster: DrillCluster) -> str:
    nodes = "".join(
        f"    node {{\n        ring0_addr: {h.address}\n        name: {h.name}\n"
        f"        nodeid: {i + 1}\n    }}\n\n"
        for i, h in enumerate(cluster.control_plane()))
    return (f"totem {{\n    version: 2\n    cluster_name: {CLUSTER_NAME}\n"
            "    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n}\n\n"
            f"nodelist {{\n{nodes.rstrip()}\n}}\n\n"
            "quorum {\n    provider: corosync_votequorum\n    two_node: 1\n}\n\n"
            "logging {\n    to_logfile: yes\n    logfile: /var/log/cluster/corosync.log\n"
            "    to_syslog: yes\n    timestamp: on\n}\n")


def _ctime(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%a %b %e %H:%M:%S %Y")


def _etcd_started(cluster: DrillCluster, host: DrillHost) -> bool:
    member = cluster.member_of(host)
    return host.up and member is not None and member.running


def _clone(name: str, started: list[str], stopped: list[str]) -> list[str]:
    out = [f"  * Clone Set: {name}-clone [{name}]:"]
    if started:
        out.append(f"    * Started: [ {' '.join(started)} ]")
    if stopped:
        out.append(f"    * Stopped: [ {' '.join(stopped)} ]")
    return out


def resources(cluster: DrillCluster) -> list[str]:
    """The `Full List of Resources` lines: kubelet and etcd clones, one fence device per
    node (run from the other node, so it can fence this one)."""
    hosts = cluster.control_plane()
    online = [h.name for h in hosts if h.up]
    kubelet_on = [h.name for h in hosts if h.up and h.kubelet_running]
    etcd_on = [h.name for h in hosts if _etcd_started(cluster, h)]
    lines = _clone("kubelet", kubelet_on, [n.name for n in hosts if n.name not in kubelet_on])
    for h in hosts:
        runner = next((o for o in online if o != h.name), None)
        where = f"Started {runner}" if runner else "Stopped"
        lines.append(f"  * {h.name}_redfish\t(stonith:fence_redfish):\t {where}")
    lines += _clone("etcd", etcd_on, [n.name for n in hosts if n.name not in etcd_on])
    return lines


def status_text(cluster: DrillCluster, host: DrillHost) -> str:
    """What `pcs status` prints on `host`."""
    hosts = cluster.control_plane()
    online = [h.name for h in hosts if h.up]
    offline = [h.name for h in hosts if not h.up]
    now = _ctime(cluster.clock.now())
    changed = _ctime(cluster.api.installed_at or cluster.clock.now())
    dc = online[0] if online else host.name
    # corosync's two_node mode: the survivor keeps quorum (it fenced the other first)
    lines = [f"Cluster name: {CLUSTER_NAME}", "Cluster Summary:",
             "  * Stack: corosync (Pacemaker is running)",
             f"  * Current DC: {dc} (version {PACEMAKER_VERSION}) - partition with quorum",
             f"  * Last updated: {now} on {host.name}",
             f"  * Last change:  {changed} by root via root on {dc}",
             f"  * {len(hosts)} nodes configured",
             f"  * {3 * len(hosts)} resource instances configured", "", "Node List:"]
    if online:
        lines.append(f"  * Online: [ {' '.join(online)} ]")
    if offline:
        lines.append(f"  * OFFLINE: [ {' '.join(offline)} ]")
    lines += ["", "Full List of Resources:", *resources(cluster), "", "Daemon Status:",
              "  corosync: active/enabled", "  pacemaker: active/enabled",
              "  pcsd: active/enabled"]
    return "\n".join(lines) + "\n"
