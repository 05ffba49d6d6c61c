#!/usr/bin/env bash

### etcd-dr test lab: a stand-in for the cluster-etcd-operator's cluster-restore.sh
### (bindata/etcd/cluster-restore.sh), installed into each lab host's own /usr/local/bin.
### It does what the real script does, with its messages, on THIS host:
###  - OpenShift 4.12-4.17 (LAB_OPENSHIFT_MINOR < 18): stops the kube-apiserver,
###    kube-controller-manager, kube-scheduler and etcd static pods (moves their manifests to
###    /home/core/assets/manifests-stopped and waits until `crictl ps` no longer lists their
###    containers), moves /var/lib/etcd/member to /var/lib/etcd-backup, extracts the
###    backup's static pod resources, starts the restore-etcd static pod, then the API
###    server, controller-manager and scheduler pods from the backup's manifests;
###  - 4.18 and later: stops etcd only, the same data-dir move and extraction, moves
###    revision.json aside, refuses a /var/lib/etcd that is not empty, starts the
###    restore-etcd static pod.
### Both take the LAST snapshot*.db and the LAST static_kuberesources*.tar.gz of the directory
### by `ls -v`, each on its own, as the real one does.
### Lab difference: the restore-etcd pod's work is done here, before its manifest goes down:
### `etcdctl snapshot restore` (etcd 3.4) or `etcdutl snapshot restore` (3.5; with
### --bump-revision/--mark-compacted when that etcdutl has them, as 4.18's pod does) of
### /var/lib/etcd-backup/snapshot.db into /var/lib/etcd/restore-<uuid> as a new single-member
### cluster of this host, moved into /var/lib/etcd; its output goes to
### /var/lib/etcd-backup/restore-etcd-pod.log (shown when it fails). The manifest then put in
### place names that single-member cluster, and the lab's kubelet stand-in starts the member.
### NODE_NODE_ENVVAR_NAME and LAB_OPENSHIFT_MINOR are replaced per host when the lab installs it.

set -o errexit
set -o pipefail
set -o errtrace

# example
# ./cluster-restore.sh $path-to-backup

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

OPENSHIFT_MINOR=LAB_OPENSHIFT_MINOR

function usage {
  echo 'Path to the directory containing backup files is required: ./cluster-restore.sh <path-to-backup>'
  echo 'The backup directory is expected to be contain two files:'
  echo '        1. etcd snapshot'
  echo '        2. A copy of the Static POD resources at the time of backup'
  exit 1
}

# If the argument is not passed, or if it is not a directory, print usage and exit.
if [ "$1" == "" ] || [ ! -d "$1" ]; then
  usage
fi

function restore_static_pods() {
  local backup_file="$1"
  shift
  local static_pods=("$@")

  for pod_file_name in "${static_pods[@]}"; do
    backup_pod_path=$(tar -tvf "${backup_file}" --wildcards "*${pod_file_name}" | awk '{ print $6 }') || true
    if [ -z "${backup_pod_path}" ]; then
      echo "${pod_file_name} does not exist in ${backup_file}"
      exit 1
    fi

    echo "starting ${pod_file_name}"
    tar -xvf "${backup_file}" --strip-components=2 -C "${MANIFEST_DIR}"/ "${backup_pod_path}"
  done
}

# etcd-dr lab: what the restore-etcd pod does before it runs etcd (see the header)
function lab_restore_etcd_pod() {
  local uuid restore_dir log client name ip
  uuid=$(cat /proc/sys/kernel/random/uuid)
  restore_dir="${ETCD_DATA_DIR}/restore-${uuid}"
  log="${ETCD_DATA_DIR_BACKUP}/restore-etcd-pod.log"
  name="${NODE_NODE_ENVVAR_NAME_ETCD_NAME}"
  ip="${NODE_NODE_ENVVAR_NAME_IP}"
  client="${ETCD_ETCDUTL_BIN:-${ETCD_ETCDCTL_BIN}}"
  local extra=()
  if [ "${OPENSHIFT_MINOR}" -ge 18 ] && ${client} snapshot restore --help 2>&1 | grep -q -- --bump-revision; then
    extra=(--bump-revision 1000000000 --mark-compacted)
  fi
  if ! ${client} snapshot restore "${ETCD_DATA_DIR_BACKUP}/snapshot.db" \
      --name "${name}" \
      --initial-cluster "${name}=http://${ip}:2380" \
      --initial-cluster-token "openshift-etcd-${uuid}" \
      --initial-advertise-peer-urls "http://${ip}:2380" \
      --data-dir "${restore_dir}" "${extra[@]}" > "${log}" 2>&1; then
    cat "${log}" >&2
    echo "restore-etcd: the snapshot restore failed (${log})" >&2
    exit 1
  fi
  mv "${restore_dir}"/* "${ETCD_DATA_DIR}"/
  rm -rf "${restore_dir}"
}

BACKUP_DIR="$1"
# shellcheck disable=SC2012
BACKUP_FILE=$(ls -vd "${BACKUP_DIR}"/static_kuberesources*.tar.gz | tail -1) || true
# shellcheck disable=SC2012
SNAPSHOT_FILE=$(ls -vd "${BACKUP_DIR}"/snapshot*.db | tail -1) || true
ETCD_STATIC_POD_LIST=("etcd-pod.yaml")
AUX_STATIC_POD_LIST=("kube-apiserver-pod.yaml" "kube-controller-manager-pod.yaml" "kube-scheduler-pod.yaml")
ETCD_STATIC_POD_CONTAINERS=("etcd" "etcdctl" "etcd-metrics" "etcd-readyz")
AUX_STATIC_POD_CONTAINERS=("kube-controller-manager" "kube-apiserver" "kube-scheduler")
if [ "${OPENSHIFT_MINOR}" -ge 18 ]; then
  ETCD_STATIC_POD_CONTAINERS=("etcd" "etcdctl" "etcd-metrics" "etcd-readyz" "etcd-rev")
fi

if [ ! -f "${SNAPSHOT_FILE}" ]; then
  echo "etcd snapshot ${SNAPSHOT_FILE} does not exist"
  exit 1
fi

# Download etcdctl and check the snapshot status
dl_etcdctl
check_snapshot_status "${SNAPSHOT_FILE}"

if [ "${OPENSHIFT_MINOR}" -lt 18 ]; then
  # Move static pod manifests out of MANIFEST_DIR
  mv_static_pods "${AUX_STATIC_POD_LIST[@]}"
  wait_for_containers_to_stop "${AUX_STATIC_POD_CONTAINERS[@]}"
fi

# Move static pod manifests out of MANIFEST_DIR
mv_static_pods "${ETCD_STATIC_POD_LIST[@]}"
wait_for_containers_to_stop "${ETCD_STATIC_POD_CONTAINERS[@]}"

# Remove data dir
if [ -d "${ETCD_DATA_DIR}/member" ]; then
  if [ -d "${ETCD_DATA_DIR_BACKUP}" ]; then
    echo "removing previous backup ${ETCD_DATA_DIR_BACKUP}"
    rm -rf "${ETCD_DATA_DIR_BACKUP}"
  fi
  mkdir -p "${ETCD_DATA_DIR_BACKUP}"
  echo "Moving etcd data-dir ${ETCD_DATA_DIR}/member to ${ETCD_DATA_DIR_BACKUP}"
  mv "${ETCD_DATA_DIR}"/member "${ETCD_DATA_DIR_BACKUP}"/
fi
mkdir -p "${ETCD_DATA_DIR_BACKUP}"

# Restore static pod resources
tar -C "${CONFIG_FILE_DIR}" -xzf "${BACKUP_FILE}" static-pod-resources

# Copy snapshot to backupdir
cp -p "${SNAPSHOT_FILE}" "${ETCD_DATA_DIR_BACKUP}"/snapshot.db

if [ "${OPENSHIFT_MINOR}" -ge 18 ]; then
  # Move the revision.json when it exists
  [ -f "${ETCD_REV_JSON}" ] && mv -f "${ETCD_REV_JSON}" "${ETCD_DATA_DIR_BACKUP}"/revision.json
  # removing any fio perf files left behind that could be deleted without problems
  rm -f "${ETCD_DATA_DIR}"/etcd_perf*
  if [ -n "$(ls -A "${ETCD_DATA_DIR}")" ]; then
    echo "folder ${ETCD_DATA_DIR} is not empty, please review and remove all files in it"
    exit 1
  fi
fi

echo "starting restore-etcd static pod"
lab_restore_etcd_pod
cp -p "${RESTORE_ETCD_POD_YAML}" "${MANIFEST_DIR}/etcd-pod.yaml"

if [ "${OPENSHIFT_MINOR}" -lt 18 ]; then
  # Restore static pods
  restore_static_pods "${BACKUP_FILE}" "${AUX_STATIC_POD_LIST[@]}"
fi
