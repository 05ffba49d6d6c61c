#!/usr/bin/env bash

### etcd-dr test lab: a stand-in for the cluster-etcd-operator's cluster-restore.sh
### (bindata/etcd/cluster-restore.sh), installed into each lab host's own /usr/local/bin.
### It does what ../shared/reference/UPSTREAM.md says the real one does, release by
### release, on THIS host:
###  - OpenShift 4.12-4.17 (LAB_OPENSHIFT_MINOR < 18): stops the kube-apiserver,
###    kube-controller-manager, kube-scheduler and etcd static pods (moves their manifests to
###    /home/core/assets/manifests-stopped and waits until `crictl ps` no longer lists their
###    containers), moves /var/lib/etcd/member to /var/lib/etcd-backup, THEN extracts the
###    backup's static pod resources (a bad tarball fails here, errexit with tar's own
###    message, after the move), copies the snapshot to /var/lib/etcd-backup/snapshot.db,
###    puts the restore-etcd pod manifest in place, then the API server, controller-manager
###    and scheduler manifests from the backup;
###  - 4.18-4.20: stops etcd only (and also waits for its etcd-backup-server container), the
###    same move and extraction, copies snapshot.db, moves revision.json aside, and THEN
###    refuses a /var/lib/etcd that is not empty ("folder /var/lib/etcd is not empty, ...",
###    exit 1), else puts the restore-etcd pod manifest in place;
###  - 4.21 and later: as 4.18 without the etcd-backup-server wait; files left in
###    /var/lib/etcd are moved to /var/lib/etcd-backup/extra-data-dir-contents/ instead of
###    failing, and a "SNAPSHOT RESTORE COMPLETED" banner ends its output.
### Every release takes the LAST snapshot*.db and the LAST static_kuberesources*.tar.gz of
### the directory by `ls -v`, each on its own, as the real one does.
### The script ends once the restore pod's manifest is in place, as the real one does; the
### restore itself is the restore pod's (the lab's kubelet stand-in, tests/lab/kubelet.py,
### runs it a second later and, 4.14+, deletes snapshot.db after it), so a console that looks
### for /var/lib/etcd-backup/snapshot.db right after the script may or may not find it.
### The banner's wording around "SNAPSHOT RESTORE COMPLETED" and the line saying that stray
### files were moved are the lab's own. NODE_NODE_ENVVAR_NAME and LAB_OPENSHIFT_MINOR are
### replaced per host when the lab installs it.

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
if [ "${OPENSHIFT_MINOR}" -ge 18 ] && [ "${OPENSHIFT_MINOR}" -le 20 ]; then
  ETCD_STATIC_POD_CONTAINERS+=("etcd-backup-server")
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
  if [ -f "${ETCD_REV_JSON}" ]; then
    mv -f "${ETCD_REV_JSON}" "${ETCD_DATA_DIR_BACKUP}"/revision.json
  fi
  # removing any fio perf files left behind that could be deleted without problems
  rm -f "${ETCD_DATA_DIR}"/etcd_perf*
  if [ -n "$(ls -A "${ETCD_DATA_DIR}")" ]; then
    if [ "${OPENSHIFT_MINOR}" -ge 21 ]; then
      EXTRA_DIR="${ETCD_DATA_DIR_BACKUP}/extra-data-dir-contents"
      echo "moving the files left in ${ETCD_DATA_DIR} to ${EXTRA_DIR}"
      mkdir -p "${EXTRA_DIR}"
      find "${ETCD_DATA_DIR}" -mindepth 1 -maxdepth 1 -exec mv -f -t "${EXTRA_DIR}"/ {} +
    else
      echo "folder ${ETCD_DATA_DIR} is not empty, please review and remove all files in it"
      exit 1
    fi
  fi
fi

echo "starting restore-etcd static pod"
cp -p "${RESTORE_ETCD_POD_YAML}" "${MANIFEST_DIR}/etcd-pod.yaml"

if [ "${OPENSHIFT_MINOR}" -lt 18 ]; then
  # Restore static pods
  restore_static_pods "${BACKUP_FILE}" "${AUX_STATIC_POD_LIST[@]}"
fi

if [ "${OPENSHIFT_MINOR}" -ge 21 ]; then
  echo "#############################################################"
  echo "###              SNAPSHOT RESTORE COMPLETED               ###"
  echo "#############################################################"
  echo "the restore-etcd pod now restores ${ETCD_DATA_DIR_BACKUP}/snapshot.db on this host"
fi
