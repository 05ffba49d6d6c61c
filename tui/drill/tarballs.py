"""The drill's tarballs, as tar and the restore scripts read them.

They are stand-ins: cluster-backup.sh writes a header line and then the member names
(tui.drill.backup_script), a scenario's backup a one-line note (its members are then the
host's current static pod resource directories, as they were when it was taken).
"""

from __future__ import annotations

import re

from tui.drill.vfs import Vfs

DRILL_TARBALL_HEADER = b"drill stand-in for a gzip'd tar"
_RESOURCE_DIR = re.compile(r"/etc/kubernetes/static-pod-resources/((etcd|kube-apiserver|"
                           r"kube-controller-manager|kube-scheduler)-pod-(\d+))/")
_NOT_GZIP = ("gzip: stdin: not in gzip format\ntar: Child returned status 1\n"
             "tar: Error is not recoverable: exiting now\n")
_GZIP_EOF = ("gzip: stdin: unexpected end of file\ntar: Child returned status 1\n"
             "tar: Error is not recoverable: exiting now\n")
_TAR_EOF = ("gzip: stdin: unexpected end of file\ntar: Unexpected EOF in archive\n"
            "tar: Unexpected EOF in archive\ntar: Error is not recoverable: exiting now\n")


def tar_damage(cluster, vfs: Vfs, path: str) -> tuple[str, int] | None:
    """What tar (through gzip) says of a tarball it cannot read, and its exit status; None
    when the drill can read it. Damaged: empty, not a drill tarball at all, cut short (a
    "(truncated)" line), or any tarball when the scenario says `restore: {corrupt_tarball:
    true}`."""
    data = vfs.read(path)
    if not data:
        return _GZIP_EOF, 2
    if cluster.options.get("corrupt_tarball") or not (
            data.startswith(DRILL_TARBALL_HEADER) or b"static pod resources" in data):
        return _NOT_GZIP, 2
    if b"(truncated)" in data:
        return _TAR_EOF, 2
    return None


def tar_members(vfs: Vfs, path: str, cluster=None) -> list[str]:
    """The file members of a drill tarball: the names its listing holds, else the host's
    newest static pod resource directory of each component, relative to /etc/kubernetes
    (with kube-apiserver's encryption-config when `cluster` encrypts)."""
    text = vfs.read(path).decode("utf-8", "replace")
    members = [line.strip() for line in text.splitlines()
               if line.strip().startswith("static-pod-resources/")]
    if members:
        return members
    host = vfs.host
    latest: dict[str, tuple[int, str]] = {}
    for p in host.files:
        m = _RESOURCE_DIR.match(p)
        if m and int(m.group(3)) >= latest.get(m.group(2), (-1, ""))[0]:
            latest[m.group(2)] = (int(m.group(3)), m.group(1))
    dirs = {f"/etc/kubernetes/static-pod-resources/{d}/" for _, d in latest.values()}
    members = sorted(p[len("/etc/kubernetes/"):] for p in host.files
                     if any(p.startswith(d) for d in dirs))
    if cluster is not None and cluster.api.encryption_type in ("aescbc", "aesgcm") and \
            "kube-apiserver" in latest:
        # an encrypted cluster's kube-apiserver revision holds its encryption config
        config = (f"static-pod-resources/{latest['kube-apiserver'][1]}/secrets/"
                  "encryption-config/encryption-config")
        if config not in members:
            members = sorted(members + [config])
    return members
