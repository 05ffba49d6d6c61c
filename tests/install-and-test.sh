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
# Three workers (pytest-xdist) on the 2-core machine CI runs on: with two, 30% of the
# machine sat idle while tests waited on sshd, etcd and drill clocks (1,751 s of CPU in
# 1,244 s: 1.41 cores busy). Measured side by side on 2026-12-04 (bench/RESULTS.md): two
# workers 20 min 44 s, three 17 min 32 s, for the same CPU. (An earlier CI run that put three
# behind two compared runs from a fast hour and a slow one.) Four put load-sensitive tests
# over their timeouts. loadgroup keeps a module whose tests share a module-scoped fixture
# on one worker (tests/conftest.py marks them).
# ETCD_DR_TEST_WORKERS=0 runs the suite in one process.
exec .venv/bin/pytest -q --durations=30 -n "${ETCD_DR_TEST_WORKERS:-3}" --dist loadgroup "$@"
