#!/usr/bin/env bash
# Install everything the test suite needs on Debian/Ubuntu, then run it.
# Used by the README's Quick start (line 2) and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg_bin in etcd-server:/usr/bin/etcd etcd-client:/usr/bin/etcdctl openssh-server:/usr/sbin/sshd tmux:/usr/bin/tmux sudo:/usr/bin/sudo; do
  [ -x "${pkg_bin#*:}" ] || need+=("${pkg_bin%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/pip install -q -e '.[test]'
.venv/bin/lint-imports
# Four workers (pytest-xdist) on the 2-core machine CI runs on: the tests wait on sshd, etcd
# and drill clocks, and with three workers 31% of the machine sat idle (1,400 s of CPU in
# 1,021 s). Measured side by side on 2026-12-05 (bench/RESULTS.md): three workers 17 min 1 s,
# four 14 min 6 s, for the same tests. (With four, in an earlier session, load-sensitive tests
# ran over their timeouts; those were fixed since, and the longest tests carry timeouts sized
# for a loaded machine.) loadgroup keeps a module whose tests share a module-scoped fixture
# on one worker (tests/conftest.py marks them).
# ETCD_DR_TEST_WORKERS=0 runs the suite in one process.
exec .venv/bin/pytest -q --durations=30 -n "${ETCD_DR_TEST_WORKERS:-4}" --dist loadgroup "$@"
