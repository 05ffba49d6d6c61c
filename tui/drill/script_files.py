"""The files OpenShift's host scripts source, as the etcd operator puts them on a
control-plane host (its etcd-scripts configmap): etcd.env and etcd-common-tools.

They are host files, so the machine API's re-provisioning (tui.drill.controllers) and a
scenario's build put them in place; the scripts themselves (tui.drill.backup_script,
tui.drill.restore_scripts) only read them.
"""

from __future__ import annotations

import posixpath

from tui.drill import kubelet
from tui.drill.model import DrillCluster, DrillHost

SCRIPTS_DIR = "/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts"
ETCD_ENV = f"{SCRIPTS_DIR}/etcd.env"
COMMON_TOOLS = f"{SCRIPTS_DIR}/etcd-common-tools"


def env_key(node: str) -> str:
    return "NODE_" + "".join(ch if ch.isalnum() else "_" for ch in node)


def etcd_env(cluster: DrillCluster, host: DrillHost) -> str:
    """etcd.env as the etcd operator renders it into the etcd-scripts configmap."""
    certs = "/etc/kubernetes/static-pod-certs"
    endpoints = ",".join(m.client_url for m in cluster.etcd.members)
    lines = [
        ("ALL_ETCD_ENDPOINTS", endpoints),
        ("ETCDCTL_API", "3"),
        ("ETCDCTL_CACERT", f"{certs}/configmaps/etcd-serving-ca/ca-bundle.crt"),
        ("ETCDCTL_CERT", f"{certs}/secrets/etcd-all-certs/etcd-peer-{host.name}.crt"),
        ("ETCDCTL_ENDPOINTS", endpoints),
        ("ETCDCTL_KEY", f"{certs}/secrets/etcd-all-certs/etcd-peer-{host.name}.key"),
        ("ETCD_DATA_DIR", "/var/lib/etcd"),
        ("ETCD_ELECTION_TIMEOUT", "1000"),
        ("ETCD_HEARTBEAT_INTERVAL", "100"),
        ("ETCD_IMAGE", kubelet.image_for("etcd")),
        ("ETCD_INITIAL_CLUSTER_STATE", "existing"),
        ("ETCD_QUOTA_BACKEND_BYTES", str(cluster.etcd.quota_backend_bytes)),
    ]
    for m in cluster.etcd.members:
        h = cluster.host(m.name)
        ip = m.client_url.split("//", 1)[-1].rsplit(":", 1)[0].strip("[]")
        key = env_key(m.name)
        lines += [(f"{key}_ETCD_NAME", m.name), (f"{key}_ETCD_URL_HOST", ip),
                  (f"{key}_IP", h.address if h else ip)]
    return "".join(f'export {k}="{v}"\n' for k, v in lines)


COMMON_TOOLS_TEXT = """\
# Common environment variables
ASSET_DIR="/home/core/assets"
CONFIG_FILE_DIR="/etc/kubernetes"
MANIFEST_DIR="${CONFIG_FILE_DIR}/manifests"
ETCD_DATA_DIR="/var/lib/etcd"
ETCD_DATA_DIR_BACKUP="/var/lib/etcd-backup"
MANIFEST_STOPPED_DIR="${ASSET_DIR}/manifests-stopped"
ETCDCTL_BIN_DIR="${CONFIG_FILE_DIR}/static-pod-resources/bin"
PATH=${PATH}:${ETCDCTL_BIN_DIR}
KUBECONFIG="/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost.kubeconfig"
export KUBECONFIG

# dl_etcdctl, exec_etcdctl, check_snapshot_status: the drill runs its own simulation
"""


def install_host_files(cluster: DrillCluster, host: DrillHost) -> None:
    """Put what cluster-backup.sh sources on a control-plane host (kept if already there)."""
    if host.role != "control-plane":
        return
    when = cluster.clock.now() - 3 * 86400
    for path, text in ((ETCD_ENV, etcd_env(cluster, host)), (COMMON_TOOLS, COMMON_TOOLS_TEXT)):
        place_missing(host, path, text, when)


def place_missing(host: DrillHost, path: str, text: str, when: float) -> None:
    """Put a file the operator's tooling installed long ago (0644, its parent directories
    too), unless the host already has it."""
    if path in host.files:
        return
    host.files[path] = text.encode()
    host.modes.setdefault(path, 0o644)
    host.mtimes.setdefault(path, when)
    d = posixpath.dirname(path)
    while d not in host.dirs and d != "/":
        host.dirs.add(d)
        d = posixpath.dirname(d)
