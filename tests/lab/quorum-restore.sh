#!/usr/bin/env bash

### etcd-dr test lab: a stand-in for the cluster-etcd-operator's quorum-restore.sh (OpenShift
### 4.18 and later), installed into each 4.18+ lab host's own /usr/local/bin. It restores
### THIS host's own etcd data as a new single-member cluster, for a cluster that lost quorum
### and has no backup to restore:
###  - not root: "This script must be run as root", exit 1; etcd.env or etcd-common-tools
###    missing: "required dependencies not found, ...", exit 1 (as every script there);
###  - no /var/lib/etcd/member/snap/db (nothing of this member's own to restore): a message
###    saying so, exit 1, before anything stops;
###  - stops THIS host's etcd static pod (moves etcd-pod.yaml to
###    /home/core/assets/manifests-stopped, waits until `crictl ps` no longer lists its
###    containers), then "starting restore-etcd static pod" and puts the quorum-restore pod
###    manifest in place, exit 0. The restore is that pod's: the lab's kubelet stand-in
###    (tests/lab/kubelet.py) restores /var/lib/etcd/member/snap/db with --skip-hash-check
###    as a new single-member cluster, bumps the revision by maxRaftIndex * 0.2 of
###    /var/lib/etcd/revision.json (1,000,000,000 without one; when that etcdutl has
###    --bump-revision), moves the old member directory to /var/lib/etcd-backup/member and
###    starts the member from the restored data.
### ../shared/reference/UPSTREAM.md says no more of the real script's lines than the bump;
### the messages beyond the shared ones above are the lab's own, and it takes no arguments.

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

if [ ! -f "${ETCD_DATA_DIR}/member/snap/db" ]; then
  echo "no etcd data of this member in ${ETCD_DATA_DIR}/member, nothing to restore from"
  exit 1
fi
if [ ! -f "${QUORUM_RESTORE_ETCD_POD_YAML}" ]; then
  echo "quorum restore pod manifest ${QUORUM_RESTORE_ETCD_POD_YAML} not found"
  exit 1
fi

mv_static_pods "${ETCD_STATIC_POD_LIST[@]}"
wait_for_containers_to_stop "${ETCD_STATIC_POD_CONTAINERS[@]}"

echo "starting restore-etcd static pod"
cp -p "${QUORUM_RESTORE_ETCD_POD_YAML}" "${MANIFEST_DIR}/etcd-pod.yaml"
