"""The static pods a drill host starts with: their manifests (etcd's as the etcd operator
renders it, kube-apiserver's, the others') and the containers the kubelet runs for them, plus
the kubeconfigs they read."""

from __future__ import annotations

import hashlib

from tui.drill import kubelet
from tui.drill.model import DrillCluster, DrillHost
from tui.drill.objects import suffix as _suffix

DAY = 86400.0


def _has_pod(host: DrillHost, pod: str) -> bool:
    return any(c.pod == pod for c in host.containers)


def _pod(cluster: DrillCluster, host: DrillHost, pod: str, namespace: str,
         containers: list[str], image_key: str, created: float) -> None:
    if _has_pod(host, pod):
        return
    pod_id = hashlib.sha256(f"pod/{host.name}/{pod}".encode()).hexdigest()
    for i, name in enumerate(containers):
        kubelet.new_container(cluster, host, name=name, pod=pod, namespace=namespace,
                              image=kubelet.image_for(image_key), pod_id=pod_id,
                              created=created + i)


def control_plane_containers(cluster: DrillCluster, host: DrillHost, now: float,
                              keepalived: bool, version: tuple[int, int]) -> None:
    node = host.name
    cps = cluster.control_plane()
    index = cps.index(host) if host in cps else 0
    # static pods were last rolled out ~3 days ago (the current revision)
    for spec in kubelet.STATIC_PODS.values():
        if spec.manifest == "keepalived.yaml" and not keepalived:
            continue
        if kubelet.manifest_path(spec) not in host.files:
            continue
        pod = kubelet.pod_name(spec, host)
        if _has_pod(host, pod):
            continue
        kubelet.start_static_pod(cluster, host, spec, created=now - 3 * DAY + 60 * index)
    _pod(cluster, host, f"etcd-guard-{node}", "openshift-etcd", ["guard"], "cluster-etcd-operator",
         now - 3 * DAY + 300)
    _pod(cluster, host, f"kube-apiserver-guard-{node}", "openshift-kube-apiserver", ["guard"],
         "cluster-kube-apiserver-operator", now - 3 * DAY + 400)
    _pod(cluster, host, f"kube-controller-manager-guard-{node}",
         "openshift-kube-controller-manager", ["guard"], "cluster-kube-controller-manager-operator",
         now - 3 * DAY + 420)
    _pod(cluster, host, f"openshift-kube-scheduler-guard-{node}", "openshift-kube-scheduler",
         ["guard"], "cluster-kube-scheduler-operator", now - 3 * DAY + 440)
    # cluster operators are Deployments with one replica: spread over the control plane
    operators = [("etcd-operator", "openshift-etcd-operator", "cluster-etcd-operator"),
                 ("kube-apiserver-operator", "openshift-kube-apiserver-operator",
                  "cluster-kube-apiserver-operator"),
                 ("kube-controller-manager-operator", "openshift-kube-controller-manager-operator",
                  "cluster-kube-controller-manager-operator"),
                 ("openshift-kube-scheduler-operator", "openshift-kube-scheduler-operator",
                  "cluster-kube-scheduler-operator")]
    for i, (name, ns, image) in enumerate(operators):
        if i % max(len(cps), 1) != index:
            continue
        rs = _suffix(f"{name}/rs", 10)
        _pod(cluster, host, f"{name}-{rs}-{_suffix(f'{name}/{node}')}", ns, [name], image,
             now - 4 * DAY + 600 * i)
    if version < (4, 14):
        _pod(cluster, host, f"ovnkube-master-{_suffix('ovnkube-master/' + node)}",
             "openshift-ovn-kubernetes",
             ["northd", "nbdb", "kube-rbac-proxy", "sbdb", "ovnkube-master", "ovn-dbchecker"],
             "ovn-kubernetes", now - 4 * DAY + 200)
    node_containers(cluster, host, now, version)


def node_containers(cluster: DrillCluster, host: DrillHost, now: float,
                     version: tuple[int, int]) -> None:
    node = host.name
    if version >= (4, 14):
        ovn = ["ovn-controller", "ovn-acl-logging", "kube-rbac-proxy-node",
               "kube-rbac-proxy-ovn-metrics", "northd", "nbdb", "sbdb", "ovnkube-controller"]
    else:
        ovn = ["ovn-controller", "ovn-acl-logging", "kube-rbac-proxy",
               "kube-rbac-proxy-ovn-metrics", "ovnkube-node"]
    _pod(cluster, host, f"ovnkube-node-{_suffix('ovnkube-node/' + node)}",
         "openshift-ovn-kubernetes", ovn, "ovn-kubernetes", now - 5 * DAY)
    _pod(cluster, host, f"machine-config-daemon-{_suffix('mcd/' + node)}",
         "openshift-machine-config-operator", ["machine-config-daemon", "kube-rbac-proxy"],
         "machine-config-operator", now - 5 * DAY + 30)
    _pod(cluster, host, f"node-resolver-{_suffix('dns/' + node)}", "openshift-dns",
         ["dns-node-resolver"], "cli", now - 5 * DAY + 45)
    _pod(cluster, host, f"multus-{_suffix('multus/' + node)}", "openshift-multus",
         ["kube-multus"], "multus-cni", now - 5 * DAY + 50)
    _pod(cluster, host, f"node-exporter-{_suffix('node-exporter/' + node)}",
         "openshift-monitoring", ["node-exporter", "kube-rbac-proxy"], "prometheus-node-exporter",
         now - 5 * DAY + 70)


def kubeconfig_text(server: str, user: str, cluster_name: str, client_cert: str | None = None) -> str:
    auth = (f"    client-certificate: {client_cert}\n    client-key: {client_cert}\n"
            if client_cert else
            "    client-certificate-data: <drill stand-in>\n    client-key-data: <drill stand-in>\n")
    return (f"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
            f"    certificate-authority-data: <drill stand-in>\n    server: {server}\n"
            f"  name: {cluster_name}\ncontexts:\n- context:\n    cluster: {cluster_name}\n"
            f"    user: {user}\n  name: {user}\ncurrent-context: {user}\nusers:\n"
            f"- name: {user}\n  user:\n{auth}")


def recovery_kubeconfig(node: str) -> str:
    """node-kubeconfigs/localhost-recovery.kubeconfig as the kube-apiserver operator writes
    it: system:admin with a client certificate, against https://localhost:6443 (the
    localhost-recovery serving certificate). Secret: 0600, root; nothing in the drill prints
    it unless someone cats it as root."""
    return ("apiVersion: v1\nclusters:\n- cluster:\n"
            "    certificate-authority-data: <drill stand-in: localhost-recovery-serving-ca>\n"
            "    server: https://localhost:6443\n    tls-server-name: localhost-recovery\n"
            "  name: localhost-recovery\ncontexts:\n- context:\n"
            "    cluster: localhost-recovery\n    user: system:admin\n  name: system:admin\n"
            "current-context: system:admin\nkind: Config\npreferences: {}\nusers:\n"
            "- name: system:admin\n  user:\n"
            f"    client-certificate-data: <drill stand-in: client certificate for {node}>\n"
            "    client-key-data: <drill stand-in: client key>\n")


def etcd_pod(cluster: DrillCluster, host: DrillHost, rev: int, image: str,
              operator_image: str) -> str:
    node = host.name
    endpoints = ",".join(m.client_url for m in cluster.etcd.members)
    certs = "/etc/kubernetes/static-pod-certs"
    env = (f"    env:\n"
           f"    - name: ALL_ETCD_ENDPOINTS\n      value: \"{endpoints}\"\n"
           f"    - name: ETCDCTL_API\n      value: \"3\"\n"
           f"    - name: ETCDCTL_CACERT\n      value: \"{certs}/configmaps/etcd-serving-ca/ca-bundle.crt\"\n"
           f"    - name: ETCDCTL_CERT\n      value: \"{certs}/secrets/etcd-all-certs/etcd-peer-{node}.crt\"\n"
           f"    - name: ETCDCTL_ENDPOINTS\n      value: \"{endpoints}\"\n"
           f"    - name: ETCDCTL_KEY\n      value: \"{certs}/secrets/etcd-all-certs/etcd-peer-{node}.key\"\n"
           f"    - name: ETCD_DATA_DIR\n      value: \"/var/lib/etcd\"\n"
           f"    - name: ETCD_QUOTA_BACKEND_BYTES\n      value: \"{cluster.etcd.quota_backend_bytes}\"\n")
    mounts = ("    volumeMounts:\n"
              "    - mountPath: /etc/kubernetes/manifests\n      name: static-pod-dir\n"
              f"    - mountPath: {certs}\n      name: cert-dir\n"
              "    - mountPath: /var/lib/etcd\n      name: data-dir\n")
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: openshift-etcd
  annotations:
    kubectl.kubernetes.io/default-container: etcd
    target.workload.openshift.io/management: '{{"effect": "PreferredDuringScheduling"}}'
  labels:
    app: etcd
    etcd: "true"
    k8s-app: etcd
    revision: "{rev}"
spec:
  initContainers:
  - name: setup
    image: {image}
    command: ["/bin/sh", "-c", "#!/bin/sh\\necho -n \\"Fixing etcd log permissions.\\"\\nmkdir -p /var/log/etcd && chmod 0600 /var/log/etcd\\n"]
  - name: etcd-ensure-env-vars
    image: {operator_image}
  - name: etcd-resources-copy
    image: {operator_image}
  containers:
  - name: etcdctl
    image: {image}
    command: ["/bin/bash", "-c", "trap TERM INT; sleep infinity & wait"]
{env}{mounts}  - name: etcd
    image: {image}
    command: ["/bin/sh", "-c", "#!/bin/sh\\nset -euo pipefail\\n\\netcdctl member list || true\\n\\nexec nice -n -19 ionice -c2 -n0 etcd --logger=zap --log-level=info --initial-advertise-peer-urls=https://{host.address}:2380 --listen-client-urls=https://0.0.0.0:2379 --listen-peer-urls=https://0.0.0.0:2380 --listen-metrics-urls=https://0.0.0.0:9978\\n"]
    ports:
    - containerPort: 2379
      name: etcd
      protocol: TCP
    readinessProbe:
      httpGet:
        path: readyz
        port: 9980
        scheme: HTTPS
{env}{mounts}  - name: etcd-metrics
    image: {image}
    command: ["/bin/sh", "-c", "exec nice -n -18 etcd grpc-proxy start --endpoints https://{host.address}:9978 --metrics-addr https://0.0.0.0:9979 --listen-addr 127.0.0.1:9977"]
  - name: etcd-readyz
    image: {operator_image}
    command: ["/bin/bash", "-c", "exec nice -n -18 cluster-etcd-operator readyz --target=https://localhost:2379 --listen-port=9980"]
  hostNetwork: true
  priorityClassName: system-node-critical
  tolerations:
  - operator: Exists
  volumes:
  - hostPath:
      path: /etc/kubernetes/manifests
    name: static-pod-dir
  - hostPath:
      path: /etc/kubernetes/static-pod-resources/etcd-pod-{rev}
    name: resource-dir
  - hostPath:
      path: /etc/kubernetes/static-pod-resources/etcd-certs
    name: cert-dir
  - hostPath:
      path: /var/lib/etcd
      type: ""
    name: data-dir
"""


def kas_pod(host: DrillHost, rev: int, image: str) -> str:
    containers = ["kube-apiserver", "kube-apiserver-cert-syncer",
                  "kube-apiserver-cert-regeneration-controller",
                  "kube-apiserver-insecure-readyz", "kube-apiserver-check-endpoints"]
    return simple_pod("kube-apiserver", "openshift-kube-apiserver", "kube-apiserver", rev,
                       image, containers,
                       "hyperkube kube-apiserver --openshift-config=/etc/kubernetes/"
                       f"static-pod-resources/configmaps/config/config.yaml "
                       f"--advertise-address={host.address} -v=2",
                       ports="    ports:\n    - containerPort: 6443\n")


def simple_pod(name: str, namespace: str, app: str, rev: int, image: str,
                containers: list[str], main_command: str, ports: str = "") -> str:
    lines = [f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
  annotations:
    kubectl.kubernetes.io/default-container: {containers[0]}
    target.workload.openshift.io/management: '{{"effect": "PreferredDuringScheduling"}}'
  labels:
    app: {app}
    {app}: "true"
    revision: "{rev}"
spec:
  containers:"""]
    for i, c in enumerate(containers):
        cmd = main_command if i == 0 else f"cluster-kube-apiserver-operator {c.split('-', 2)[-1]}"
        lines.append(f"  - name: {c}\n    image: {image}\n    command: [\"/bin/bash\", \"-euxo\", "
                     f"\"pipefail\", \"-c\"]\n    args: [\"exec {cmd}\"]")
        if i == 0 and ports:
            lines.append(ports.rstrip("\n"))
    lines.append(f"""  hostNetwork: true
  priorityClassName: system-node-critical
  tolerations:
  - operator: Exists
  volumes:
  - hostPath:
      path: /etc/kubernetes/static-pod-resources/{name}-pod-{rev}
    name: resource-dir
""")
    return "\n".join(lines)
