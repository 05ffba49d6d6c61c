#!/usr/bin/env bash

### etcd-dr test lab: a stand-in for the cluster-etcd-operator's cluster-backup.sh
### (bindata/etcd/cluster-backup.sh, OpenShift 4.11 and later), installed into each lab
### host's own /usr/local/bin. It does what the real script does, with its messages, against
### THIS host's etcd member. Lab differences: there is no API in the lab, so the
### "is the operator progressing" check (`oc get co`) is not made; the lab's static pod
### manifests do not name their static-pod-resources directory, so the newest
### <resource>-pod-N directory is taken when the manifest names none; the endpoint is
### plain http. etcdctl comes from dl_etcdctl (the lab's etcd-common-tools, by release:
### 4.14+ pulls first, the cache is the fallback); when it gets none it says "Could neither
### pull etcdctl nor find it locally in cache. Aborting!" and exits 1 without the ERR trap's
### cleanup, so the static_kuberesources_*.tar.gz made before stays (a lab host without
### /var/lib/kubelet/config.json and /etc/kubernetes/static-pod-resources/bin/etcdctl).
### NODE_NODE_ENVVAR_NAME is replaced per host when the lab installs it, as the operator
### does when it renders the script.

set -o errexit
set -o pipefail
set -o errtrace

# example
# cluster-backup.sh $path-to-snapshot

if [[ $EUID -ne 0 ]]; then
  echo "This script must be run as root"
  exit 1
fi

function usage {
  echo 'Path to backup dir required: ./cluster-backup.sh [--force] <path-to-backup-dir>'
  exit 1
}

IS_DIRTY=""
if [ "$1" == "--force" ]; then
  IS_DIRTY="__POSSIBLY_DIRTY__"
  shift
fi

# If the first argument is missing, or it is an existing file, then print usage and exit
if [ -z "$1" ] || [ -f "$1" ]; then
  usage
fi

if [ ! -d "$1" ]; then
  mkdir -p "$1"
fi

# backup latest static pod resources
function backup_latest_kube_static_resources {
  local backup_tar_file="$1"
  local backup_resource_list=("kube-apiserver" "kube-controller-manager" "kube-scheduler" "etcd")
  local latest_resource_dirs=()

  for resource in "${backup_resource_list[@]}"; do
    local latest_resource=""
    local manifest="/etc/kubernetes/manifests/${resource}-pod.yaml"
    if [ -f "${manifest}" ]; then
      latest_resource=$(grep -o -m 1 "/etc/kubernetes/static-pod-resources/${resource}-pod-[0-9]*" "${manifest}") || true
    fi
    if [ -z "${latest_resource}" ]; then
      # shellcheck disable=SC2012
      latest_resource=$(ls -vd "${CONFIG_FILE_DIR}"/static-pod-resources/"${resource}"-pod-[0-9]* 2>/dev/null | tail -1) || true
    fi

    if [ -z "${latest_resource}" ]; then
      echo "error finding static-pod-resources for the ${resource} pod. please check if it is running."
      exit 1
    fi

    echo "found latest ${resource}: ${latest_resource}"
    latest_resource_dirs+=("${latest_resource#${CONFIG_FILE_DIR}/}")
  done

  # tar latest resources with the path relative to CONFIG_FILE_DIR
  tar -cpzf "$backup_tar_file" -C "${CONFIG_FILE_DIR}" "${latest_resource_dirs[@]}"
  chmod 600 "$backup_tar_file"
}

function source_required_dependency {
  local src_path="$1"
  if [ ! -f "${src_path}" ]; then
    echo "required dependencies not found, please ensure this script is run on a node with a functional etcd static pod"
    exit 1
  fi
  # shellcheck disable=SC1090
  source "${src_path}"
}

BACKUP_DIR="$1"
DATESTRING=$(date -u "+%Y-%m-%d_%H%M%S")
BACKUP_TAR_FILE=${BACKUP_DIR}/static_kuberesources_${DATESTRING}${IS_DIRTY}.tar.gz
SNAPSHOT_FILE="${BACKUP_DIR}/snapshot_${DATESTRING}${IS_DIRTY}.db"

trap 'rm -f ${BACKUP_TAR_FILE} ${SNAPSHOT_FILE}' ERR

source_required_dependency /etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd.env
source_required_dependency /etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd-common-tools

backup_latest_kube_static_resources "${BACKUP_TAR_FILE}"

# Download etcdctl and get the etcd snapshot
dl_etcdctl

# snapshot save will continue to stay in etcdctl
ETCDCTL_ENDPOINTS="http://${NODE_NODE_ENVVAR_NAME_IP}:2379" etcdctl snapshot save "${SNAPSHOT_FILE}"

# Check the integrity of the snapshot
check_snapshot_status "${SNAPSHOT_FILE}"
snapshot_failed=$?

# If check_snapshot_status returned 1 it failed, so exit with code 1
if [[ $snapshot_failed -eq 1 ]]; then
  echo "snapshot failed with exit code ${snapshot_failed}"
  exit 1
fi

echo "snapshot db and kube resources are successfully saved to ${BACKUP_DIR}"
