"""What a drill host holds on disk and runs, as a real RHCOS node of an OpenShift cluster
does: the files and containers the etcd procedures look at or touch.

Control-plane hosts get the static pod manifests, their resources and certificates, etcd's
data directory, kubelet's certificates, the /usr/local/bin recovery scripts and the running
containers `crictl ps` lists; workers get kubelet and node-level pods only. Contents are short
stand-ins shaped like the real files; sizes that matter (the etcd database) are recorded
apart in `host.sizes`.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
from datetime import datetime, timezone

from tui.drill import kubelet
from tui.drill.hostpods import (
    DAY,
    control_plane_containers,
    etcd_pod,
    kas_pod,
    kubeconfig_text,
    node_containers,
    recovery_kubeconfig,
    simple_pod,
)
from tui.drill.model import DrillCluster, DrillHost
from tui.drill.programs import installed_paths

PKI_DIR = kubelet.PKI_DIR
RECOVERY_KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
                       "node-kubeconfigs/localhost-recovery.kubeconfig")
OVN_DB_DIR_412 = "/var/lib/ovn/etc"  # 4.12-4.13, control-plane hosts (ovnkube-master)
OVN_DB_DIR_414 = "/var/lib/ovn-ic/etc"  # 4.14+ (OVN interconnect), every node
OVN_DBS = ("ovnnb_db.db", "ovnsb_db.db")
BINARY_STUB = b"\x7fELF\x02\x01\x01\x00 drill stand-in for a binary\n"


def _pem(kind: str, seed: str, lines: int = 12) -> bytes:
    raw = b"".join(hashlib.sha512(f"{seed}/{i}".encode()).digest() for i in range(lines))
    body = base64.b64encode(raw).decode()
    wrapped = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{wrapped}\n-----END {kind}-----\n".encode()


def _cert(seed: str) -> bytes:
    return _pem("CERTIFICATE", seed)


def _key(seed: str) -> bytes:
    return _pem("RSA PRIVATE KEY", seed, 20)


class _Writer:
    """Adds files to a host without touching what a scenario already put there."""

    def __init__(self, host: DrillHost, when: float):
        self.host = host
        self.when = when

    def dir(self, path: str, mode: int | None = None, owner: str | None = None) -> None:
        h = self.host
        p = path.rstrip("/") or "/"
        while p not in h.dirs:
            h.dirs.add(p)
            if p == "/":
                break
            p = posixpath.dirname(p)
        if mode is not None:
            h.modes.setdefault(path, mode)
        if owner is not None:
            h.owners.setdefault(path, owner)

    def file(self, path: str, data: bytes | str, *, mode: int | None = None,
             owner: str | None = None, when: float | None = None, size: int | None = None) -> None:
        h = self.host
        if path in h.files or path in h.links:
            return
        self.dir(posixpath.dirname(path))
        h.files[path] = data.encode() if isinstance(data, str) else data
        h.mtimes.setdefault(path, self.when if when is None else when)
        if mode is not None:
            h.modes.setdefault(path, mode)
        if owner is not None:
            h.owners.setdefault(path, owner)
        if size is not None:
            h.sizes.setdefault(path, size)

    def link(self, path: str, target: str, when: float | None = None) -> None:
        h = self.host
        if path in h.files or path in h.links:
            return
        self.dir(posixpath.dirname(path))
        h.links[path] = target
        h.mtimes.setdefault(path, self.when if when is None else when)


def populate_host(cluster: DrillCluster, host: DrillHost, **kwargs) -> None:
    if host.role == "control-plane":
        populate_control_plane_host(cluster, host, **kwargs)
    else:
        populate_worker_host(cluster, host)


def populate_control_plane_host(cluster: DrillCluster, host: DrillHost, *,
                                keepalived: bool = False, api_vip: str | None = None,
                                ingress_vip: str | None = None) -> None:
    """Fill a control-plane host (a worker gets populate_worker_host's content instead, so
    callers may pass every host)."""
    if host.role != "control-plane":
        populate_worker_host(cluster, host)
        return
    # bare metal with VIPs (the scenario's api.api_vips / api.ingress_vips): keepalived's
    # static pod on every control-plane host, the API VIP on the first, the ingress VIP on
    # the last (RST-04f, RST-06). Calling this again once the VIPs are known adds them.
    api_vips = list(getattr(cluster.api, "api_vips", None) or [])
    ingress_vips = list(getattr(cluster.api, "ingress_vips", None) or [])
    keepalived = keepalived or bool(api_vips or ingress_vips)
    api_vip = api_vip or (api_vips[0] if api_vips else None)
    ingress_vip = ingress_vip or (ingress_vips[0] if ingress_vips else None)
    now = cluster.clock.now()
    installed = now - 12 * DAY
    w = _Writer(host, installed)
    major, minor = cluster.api.release
    node = host.name
    _base(cluster, host, w, installed)
    _kubelet(w, node, now)

    etcd_rev = cluster.api.etcd_revision
    kas_rev, kcm_rev, ks_rev = 9, 6, 6
    etcd_image = kubelet.image_for("etcd")
    hyperkube = kubelet.image_for("hyperkube")
    operator_image = kubelet.image_for("cluster-etcd-operator")
    w.dir("/etc/kubernetes/manifests", 0o755)
    w.file("/etc/kubernetes/manifests/etcd-pod.yaml",
           etcd_pod(cluster, host, etcd_rev, etcd_image, operator_image), mode=0o600,
           when=now - 3 * DAY)
    w.file("/etc/kubernetes/manifests/kube-apiserver-pod.yaml",
           kas_pod(host, kas_rev, hyperkube), mode=0o600, when=now - 3 * DAY)
    w.file("/etc/kubernetes/manifests/kube-controller-manager-pod.yaml",
           simple_pod("kube-controller-manager", "openshift-kube-controller-manager",
                       "kube-controller-manager", kcm_rev, hyperkube,
                       ["kube-controller-manager", "cluster-policy-controller",
                        "kube-controller-manager-cert-syncer",
                        "kube-controller-manager-recovery-controller"],
                       "hyperkube kube-controller-manager --openshift-config=/etc/kubernetes/"
                       "static-pod-resources/configmaps/config/config.yaml"),
           mode=0o600, when=now - 3 * DAY)
    w.file("/etc/kubernetes/manifests/kube-scheduler-pod.yaml",
           simple_pod("openshift-kube-scheduler", "openshift-kube-scheduler", "scheduler",
                       ks_rev, hyperkube,
                       ["kube-scheduler", "kube-scheduler-cert-syncer",
                        "kube-scheduler-recovery-controller"],
                       "hyperkube kube-scheduler --config=/etc/kubernetes/static-pod-resources/"
                       "configmaps/config/config.yaml"),
           mode=0o600, when=now - 3 * DAY)
    if keepalived:
        w.file("/etc/kubernetes/manifests/keepalived.yaml",
               simple_pod("keepalived", "openshift-kni-infra", "keepalived", 1,
                           kubelet.image_for("keepalived-ipfailover"),
                           ["keepalived", "keepalived-monitor"],
                           "/usr/sbin/keepalived -f /etc/keepalived/keepalived.conf "
                           "--dont-fork --vrrp --log-detail --log-console"), mode=0o600)

    # static pod resources: what the installer pods copied for each revision
    spr = "/etc/kubernetes/static-pod-resources"
    certs = f"{spr}/etcd-certs"
    w.file(f"{certs}/configmaps/etcd-serving-ca/ca-bundle.crt", _cert("etcd-serving-ca"))
    w.file(f"{certs}/configmaps/etcd-peer-client-ca/ca-bundle.crt", _cert("etcd-peer-client-ca"))
    w.file(f"{certs}/configmaps/etcd-metrics-proxy-serving-ca/ca-bundle.crt",
           _cert("etcd-metrics-proxy-serving-ca"))
    for kind in ("peer", "serving", "serving-metrics"):
        w.file(f"{certs}/secrets/etcd-all-certs/etcd-{kind}-{node}.crt", _cert(f"{kind}/{node}"))
        w.file(f"{certs}/secrets/etcd-all-certs/etcd-{kind}-{node}.key", _key(f"{kind}/{node}"))
    w.file(f"{spr}/etcd-pod-{etcd_rev}/etcd-pod.yaml", host.files.get(
        "/etc/kubernetes/manifests/etcd-pod.yaml", b""), mode=0o600, when=now - 3 * DAY)
    w.file(f"{spr}/etcd-pod-{etcd_rev}/configmaps/etcd-pod/version", f"{etcd_rev}\n")
    w.file(f"{spr}/etcd-pod-{etcd_rev}/configmaps/etcd-scripts/etcd.env",
           "export ETCD_HEARTBEAT_INTERVAL=\"100\"\nexport ETCD_ELECTION_TIMEOUT=\"1000\"\n")
    w.file(f"{spr}/kube-apiserver-pod-{kas_rev}/kube-apiserver-pod.yaml", host.files.get(
        "/etc/kubernetes/manifests/kube-apiserver-pod.yaml", b""), mode=0o600)
    w.file(f"{spr}/kube-apiserver-pod-{kas_rev}/configmaps/config/config.yaml",
           '{"apiVersion":"kubecontrolplane.config.openshift.io/v1",'
           '"kind":"KubeAPIServerConfig"}\n')
    kubeconfigs = f"{spr}/kube-apiserver-certs/secrets/node-kubeconfigs"
    w.dir(kubeconfigs, 0o755)
    for name, server in (("localhost.kubeconfig", "https://localhost:6443"),
                         ("lb-int.kubeconfig", f"https://api-int.{cluster.name}.example.com:6443"),
                         ("lb-ext.kubeconfig", f"https://api.{cluster.name}.example.com:6443")):
        w.file(f"{kubeconfigs}/{name}", kubeconfig_text(server, name, cluster.name), mode=0o600)
    # RST-18: what `oc` uses on the recovery host while the external API is away (root only)
    w.file(RECOVERY_KUBECONFIG, recovery_kubeconfig(node), mode=0o600, owner="root",
           when=now - 3 * DAY)
    w.file(f"{spr}/kube-controller-manager-pod-{kcm_rev}/kube-controller-manager-pod.yaml",
           host.files.get("/etc/kubernetes/manifests/kube-controller-manager-pod.yaml", b""),
           mode=0o600)
    w.file(f"{spr}/kube-scheduler-pod-{ks_rev}/kube-scheduler-pod.yaml",
           host.files.get("/etc/kubernetes/manifests/kube-scheduler-pod.yaml", b""), mode=0o600)

    # etcd's data directory (0700, as etcd insists)
    member = cluster.member_of(host)
    w.dir("/var/lib/etcd", 0o700)
    w.dir("/var/lib/etcd/member", 0o700)
    w.dir("/var/lib/etcd/member/snap", 0o700)
    w.dir("/var/lib/etcd/member/wal", 0o700)
    db_size = member.db_size if member else 80 * 1024 * 1024
    w.file("/var/lib/etcd/member/snap/db",
           f"drill stand-in for the bbolt database of etcd member {node}\n", mode=0o600,
           size=db_size, when=now - 30)
    raft = member.raft_index if member else 1_000_000
    w.file(f"/var/lib/etcd/member/snap/{8:016x}-{raft - raft % 10000:016x}.snap",
           "drill stand-in for a raft snapshot\n", mode=0o600, size=13_522, when=now - 3600)
    w.file("/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal",
           "drill stand-in for a write-ahead log segment\n", mode=0o600, size=64_000_000,
           when=now - 2 * DAY)
    w.file(f"/var/lib/etcd/member/wal/0000000000000001-{raft - 5000:016x}.wal",
           "drill stand-in for a write-ahead log segment\n", mode=0o600, size=64_000_000,
           when=now - 20)
    w.file("/var/lib/etcd/member/wal/0.tmp", b"", mode=0o600, size=64_000_000, when=now - 20)
    if (major, minor) >= (4, 18):  # the etcd-rev container writes it (tui.drill.kubelet)
        raft_indexes = {m.client_url: m.raft_index for m in cluster.etcd.members}
        w.file("/var/lib/etcd/revision.json",
               '{"clusterId":%d,"raftIndex":{%s},"maxRaftIndex":%d,"created":"%s"}\n' % (
                   cluster.etcd.cluster_id,
                   ",".join(f'"{k}":{v}' for k, v in raft_indexes.items()),
                   max(raft_indexes.values(), default=raft),
                   datetime.fromtimestamp(now - 60, timezone.utc).strftime(
                       "%Y-%m-%dT%H:%M:%SZ")), mode=0o600, when=now - 60)

    # the recovery scripts the procedures run
    w.file("/usr/local/bin/etcd-common-tools",
           "# Common environment variables and functions for the etcd scripts.\n"
           "ETCDCTL_WITH_TLS=\"etcdctl --cacert=... --cert=... --key=...\"\n", mode=0o644)
    scripts = ["cluster-backup.sh", "cluster-restore.sh"]
    if (major, minor) >= (4, 18):
        scripts += ["disable-etcd.sh", "quorum-restore.sh"]
    for name in scripts:
        w.file(f"/usr/local/bin/{name}",
               f"#!/usr/bin/env bash\n# {name}: installed by the cluster-etcd-operator. The "
               "drill runs its own simulation of this script.\n", mode=0o755)

    # OVN databases (RST-15)
    if (major, minor) >= (4, 14):
        _ovn_ic(w)
    else:
        _ovn_412(w)

    _addresses(host)
    if keepalived and api_vip and cluster.control_plane() and cluster.control_plane()[0] is host:
        if not any(c.split("/")[0] == api_vip for _, c in host.ip_addresses):
            host.ip_addresses.append(("br-ex", f"{api_vip}/32"))
    if keepalived and ingress_vip and cluster.control_plane() and \
            cluster.control_plane()[-1] is host:
        if not any(c.split("/")[0] == ingress_vip for _, c in host.ip_addresses):
            host.ip_addresses.append(("br-ex", f"{ingress_vip}/32"))

    control_plane_containers(cluster, host, now, keepalived, (major, minor))


def populate_worker_host(cluster: DrillCluster, host: DrillHost) -> None:
    now = cluster.clock.now()
    installed = now - 12 * DAY
    w = _Writer(host, installed)
    _base(cluster, host, w, installed)
    _kubelet(w, host.name, now)
    w.dir("/etc/kubernetes/manifests", 0o755)
    if cluster.api.release >= (4, 14):
        _ovn_ic(w)
    _addresses(host)
    node_containers(cluster, host, now, cluster.api.release)


# --- pieces ----------------------------------------------------------------------------------


def _base(cluster: DrillCluster, host: DrillHost, w: _Writer, installed: float) -> None:
    major, minor = cluster.api.release
    rhel = "8.6" if minor <= 12 else "9.2" if minor <= 15 else "9.4"
    for d in ("/", "/etc", "/usr", "/usr/bin", "/usr/sbin", "/usr/local", "/usr/local/bin",
              "/var", "/var/lib", "/var/log", "/run", "/dev", "/boot", "/proc", "/sys"):
        w.dir(d)
    w.dir("/root", 0o550)
    w.dir("/tmp", 0o1777)
    w.dir("/var/tmp", 0o1777)
    w.dir("/home", 0o755)
    w.dir("/home/core", 0o700, "core")
    w.dir("/home/core/.ssh", 0o700, "core")
    w.file("/home/core/.bashrc", "# .bashrc\n\n# Source global definitions\nif [ -f /etc/bashrc ]; "
           "then\n\t. /etc/bashrc\nfi\n", owner="core")
    w.file("/home/core/.ssh/authorized_keys", "# managed by the machine-config-operator\n",
           owner="core", mode=0o600)
    w.link("/bin", "usr/bin")
    w.link("/sbin", "usr/sbin")
    w.file("/etc/hostname", host.name + "\n")
    w.file("/etc/os-release",
           f'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\nID_LIKE="rhel fedora"\n'
           f'VERSION="4{minor:02d}.{rhel.replace(".", "")}.202405141210-0"\n'
           f'VERSION_ID="{major}.{minor}"\nPLATFORM_ID="platform:el{rhel[0]}"\n'
           f'PRETTY_NAME="Red Hat Enterprise Linux CoreOS 4{minor:02d}.{rhel.replace(".", "")}'
           f'.202405141210-0 (Ootpa)"\nRHEL_VERSION="{rhel}"\nOPENSHIFT_VERSION="{major}.{minor}"\n')
    w.file("/etc/crictl.yaml", "runtime-endpoint: unix:///var/run/crio/crio.sock\n")
    w.file("/etc/sudoers", "Defaults   env_reset\nDefaults   secure_path = /sbin:/bin:/usr/sbin:"
           "/usr/bin\nroot\tALL=(ALL) \tALL\n%wheel\tALL=(ALL)\tALL\n", mode=0o440)
    w.file("/etc/sudoers.d/coreos-sudo-group",
           "%sudo ALL=(ALL) NOPASSWD: ALL\n" if host.sudo_nopasswd else "%sudo ALL=(ALL) ALL\n",
           mode=0o440)
    for path in installed_paths():
        w.file(path, BINARY_STUB, mode=0o755, when=installed)


def _stamp(t: float) -> str:
    """kubelet's certificate file names: kubelet-client-2022-04-28-11-24-09.pem."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")


def _kubelet_pems(w: _Writer, node: str, client_t: float, server_t: float, *,
                  replace: bool = False) -> None:
    """kubelet-client-<date>.pem, kubelet-server-<date>.pem (certificate and key, 0600) and
    the -current.pem links to them."""
    h = w.host
    for kind, t in (("client", client_t), ("server", server_t)):
        path = f"{PKI_DIR}/kubelet-{kind}-{_stamp(t)}.pem"
        link = f"{PKI_DIR}/kubelet-{kind}-current.pem"
        if replace:
            for p in (path, link):
                h.files.pop(p, None)
                h.links.pop(p, None)
                for coll in (h.modes, h.mtimes, h.owners, h.sizes):
                    coll.pop(p, None)
        seed = f"kubelet-{kind}/{node}" + (f"/{t}" if replace else "")
        w.file(path, _cert(seed) + _key(seed), mode=0o600, when=t)
        w.link(link, path, when=t)


def _kubelet(w: _Writer, node: str, now: float) -> None:
    w.dir("/var/lib/kubelet", 0o755)
    w.dir(PKI_DIR, 0o755)
    w.dir("/var/lib/kubelet/pods", 0o750)
    _kubelet_pems(w, node, client_t=now - 2 * DAY - 3 * 3600, server_t=now - 11 * DAY)
    pki = PKI_DIR
    w.file("/var/lib/kubelet/kubeconfig",
           kubeconfig_text("https://api-int.cluster.example.com:6443", "kubelet", node,
                       client_cert=f"{pki}/kubelet-client-current.pem"))
    w.file("/var/lib/kubelet/config.json", '{"auths":{"quay.io":{"auth":"<drill>"}}}\n')
    w.file("/etc/kubernetes/kubelet.conf",
           "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
           "staticPodPath: /etc/kubernetes/manifests\nrotateCertificates: true\n"
           "serverTLSBootstrap: true\n")
    w.file("/etc/kubernetes/kubeconfig",
           kubeconfig_text("https://api-int.cluster.example.com:22623", "bootstrap", node))
    w.file("/etc/kubernetes/kubelet-ca.crt", _cert("kubelet-ca"))
    w.file("/etc/kubernetes/ca.crt", _cert("root-ca"))


def _ovn_ic(w: _Writer) -> None:
    w.file(f"{OVN_DB_DIR_414}/ovnnb_db.db", "OVSDB JSON stand-in\n", size=1_048_576)
    w.file(f"{OVN_DB_DIR_414}/ovnsb_db.db", "OVSDB JSON stand-in\n", size=2_097_152)


def _ovn_412(w: _Writer) -> None:
    w.file(f"{OVN_DB_DIR_412}/ovnnb_db.db", "OVSDB CLUSTER stand-in\n", size=3_145_728)
    w.file(f"{OVN_DB_DIR_412}/ovnsb_db.db", "OVSDB CLUSTER stand-in\n", size=9_437_184)


def ovn_db_dir(cluster: DrillCluster, host: DrillHost) -> str | None:
    """Where this host keeps its OVN databases: /var/lib/ovn/etc on control-plane hosts
    before 4.14 (ovnkube-master's nbdb/sbdb), /var/lib/ovn-ic/etc on every node from 4.14
    (OVN interconnect: ovnkube-node's); None when it has none."""
    if cluster.api.release >= (4, 14):
        return OVN_DB_DIR_414
    return OVN_DB_DIR_412 if host.role == "control-plane" else None


def write_ovn_dbs(cluster: DrillCluster, host: DrillHost) -> list[str]:
    """What the ovnkube pod's nbdb/sbdb containers do when they start without their
    databases (RST-15 removed them): fresh, small database files, dated now. Existing files
    are kept. Call it when the host's ovnkube-master / ovnkube-control-plane (4.12-4.13) or
    ovnkube-node (4.14+) pod is Running again; returns the paths written."""
    directory = ovn_db_dir(cluster, host)
    if directory is None:
        return []
    w = _Writer(host, cluster.clock.now())
    written = []
    for name in OVN_DBS:
        path = f"{directory}/{name}"
        if path in host.files:
            continue
        kind = "JSON" if directory == OVN_DB_DIR_414 else "CLUSTER"
        w.file(path, f"OVSDB {kind} stand-in (recreated)\n", size=262_144)
        written.append(path)
    return written


def write_kubelet_pems(cluster: DrillCluster, host: DrillHost) -> None:
    """kubelet got new certificates (CSRs approved, or bootstrap without workers): new
    kubelet-client-<now>.pem and kubelet-server-<now>.pem, the -current.pem links pointing at
    them, host.kubelet_certs "valid". Older PEM files that are still there stay (kubelet keeps
    rotated ones). The caller tells the cluster (cluster.changed()) when it wants to."""
    now = cluster.clock.now()
    w = _Writer(host, now)
    w.dir(PKI_DIR, 0o755)
    _kubelet_pems(w, host.name, client_t=now, server_t=now, replace=True)
    host.kubelet_certs = "valid"
    pid = 2000 + sum(map(ord, "kubelet")) % 900
    stamp = cluster.clock.now_dt().strftime("%m%d %H:%M:%S.%f")
    host.log.append(f"kubenswrapper[{pid}]: I{stamp} {pid:7d} certificate_manager.go:356] "
                    '"Certificate rotation detected, shutting down client connections to '
                    'start using new credentials"')


def _addresses(host: DrillHost) -> None:
    if not any(dev == "lo" for dev, _ in host.ip_addresses):
        host.ip_addresses[:0] = [("lo", "127.0.0.1/8"), ("lo", "::1/128")]
    if not any(dev == "ovn-k8s-mp0" for dev, _ in host.ip_addresses):
        n = int(hashlib.sha256(host.name.encode()).hexdigest(), 16) % 120
        host.ip_addresses.append(("ovn-k8s-mp0", f"10.{128 + n // 60}.{(n % 60) * 2}.2/23"))


# --- file contents ---------------------------------------------------------------------------


