"""tui.versions: one release table for every decision the console makes by release."""

from __future__ import annotations

import pytest

from tui import versions
from tui.runbooks.restore_checks import restore_path
from tui.versions import RELEASES, openshift_release, release_of


@pytest.mark.parametrize("version, scripts, path, etcd, podman", [
    ("4.11.50", "4.11-4.17", "4.12-4.13", "3.5", False),
    ("4.12.30", "4.11-4.17", "4.12-4.13", "3.5", None),
    ("4.13.45", "4.11-4.17", "4.12-4.13", "3.5", None),
    ("4.14.0", "4.11-4.17", "4.14-4.17", "3.5", True),
    ("4.17.9", "4.11-4.17", "4.14-4.17", "3.5", True),
    ("4.18.5", "4.18-4.20", "4.18+", "3.5", True),
    ("4.20.3", "4.18-4.20", "4.18+", "3.5", True),
    ("4.21.0", "4.21+", "4.18+", "3.6", True),
    ("4.22.2", "4.21+", "4.18+", "3.6", True),
])
def test_each_release_row(version, scripts, path, etcd, podman):
    row = release_of(version)
    assert (row.scripts, row.restore_path, row.etcd, row.backup_pulls_etcdctl) == (
        scripts, path, etcd, podman)


def test_the_table_covers_every_4_x_minor_once_and_is_open_ended():
    assert RELEASES[-1].last is None
    for a, b in zip(RELEASES, RELEASES[1:]):
        assert b.first == (a.last[0], a.last[1] + 1)
    for minor in range(0, 40):
        assert sum(1 for r in RELEASES if r.first <= (4, minor) and
                   (r.last is None or (4, minor) <= r.last)) == 1


def test_a_pinned_late_z_stream_answers_exactly(monkeypatch):
    # UPSTREAM.md dates the 4.12/4.13 backports but names no z-stream: until someone pins it,
    # the answer is "maybe"; once pinned, the z-stream decides, and the restore stays RST
    monkeypatch.setitem(versions.LATE_PODMAN_BACKPORT, (4, 13), 21)
    assert release_of("4.13.20").backup_pulls_etcdctl is False
    assert release_of("4.13.21").backup_pulls_etcdctl is True
    assert release_of("4.13").backup_pulls_etcdctl is None
    for v in ("4.13.20", "4.13.21"):
        assert restore_path(v, "ClusterVersion").key == "4.12-4.13"


def test_late_4_12_and_4_13_keep_the_rst_procedure_and_say_why():
    path = restore_path("4.13.45", "ClusterVersion")
    assert (path.key, path.step_prefix) == ("4.12-4.13", "RST")
    assert "late 4.12/4.13 z-stream" in path.why and "podman" in path.why
    assert "late" not in restore_path("4.11.3", "inventory").why


@pytest.mark.parametrize("version, parsed", [
    ("4.13.21", (4, 13, 21)), ("4.13", (4, 13, None)), ("4.16.0-rc.2", (4, 16, 0)),
    ("latest", None), (None, None),
])
def test_openshift_release(version, parsed):
    assert openshift_release(version) == parsed


@pytest.mark.parametrize("version", [None, "", "latest", "3.11.0", "5.0.0"])
def test_unknown_releases_have_no_row(version):
    assert release_of(version) is None


def test_the_backup_reads_etcd_36s_snapshot_status_line():
    # tui/runbooks/backup.py picks the closing status line out of cluster-backup.sh's output
    from pathlib import Path

    from tui.runbooks.backup import _CLOSING

    fixtures = Path(__file__).parent / "fixtures" / "etcdctl" / "3.6"
    for name in ("etcdutl_snapshot_status_json", "etcdutl_snapshot_status_json_of_3.5_snapshot"):
        assert _CLOSING.match((fixtures / f"{name}.stdout").read_text().strip()), name
    assert _CLOSING.match('{"hash":1,"revision":2,"totalKey":3,"totalSize":4}')
