#!/usr/bin/env bash

### etcd-dr test lab: a stand-in for the cluster-etcd-operator's disable-etcd.sh (OpenShift
### 4.18 and later), installed into each lab host's own /usr/local/bin: it stops THIS host's
### etcd static pod (moves etcd-pod.yaml to /home/core/assets/manifests-stopped) and waits
### until `crictl ps` (the lab's stand-in) no longer lists its containers; the lab's kubelet
### stand-in stops the member. Run again, it prints the same lines and has nothing to wait for.

set -o errexit
set -o pipefail
set -o errtrace

if [[ $EUID -ne 0 ]]; then
  echo "This script must be run as root"
  exit 1
fi

function source_required_dependency {
  local src_path="$1"
  if [ ! -f "${src_path}" ]; then
    echo "required dependencies not found, please ensure this script is run on a node with a functional etcd static pod"
    exit 1
  fi
  # shellcheck disable=SC1090
  source "${src_path}"
}

source_required_dependency /etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd.env
source_required_dependency /etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd-common-tools

ETCD_STATIC_POD_LIST=("etcd-pod.yaml")
ETCD_STATIC_POD_CONTAINERS=("etcd" "etcdctl" "etcd-metrics" "etcd-readyz" "etcd-rev")

mv_static_pods "${ETCD_STATIC_POD_LIST[@]}"
wait_for_containers_to_stop "${ETCD_STATIC_POD_CONTAINERS[@]}"
