#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then runs all tests
# (unit, CLI and browser tests against a real gunicorn server in headless Chromium).
# Usage: bash tests/run.sh [pytest args]   (TEST_PROCESSES=N: N processes instead of 2; 0: one, no xdist)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium (browser tests) ..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# Redis (the two-instance tests of tests/test_security_redis.py start their own on a free port, saving nothing)
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  echo "installing Debian's redis-server (tests of several instances) ..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
# axe-core (accessibility checks of the browser tests), pinned in tests/package-lock.json; never from a CDN
if ! command -v npm >/dev/null 2>&1; then
  echo "installing Debian's npm (axe-core for the browser tests) ..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi
npm ci --prefix tests --no-audit --no-fund
# on two processes (pytest-xdist), each test file whole in one of them (its fixtures and its browser server
# made once): the suite takes about half the time of one process on a 2-core machine.  Then the tests marked
# "serial" (latencies and losses under load, pytest.ini) alone, on one process: beside another test process
# they measure that process.  Exit status: the first phase's failure, else the second's; a phase that selects
# no test (pytest's 5, e.g. for a file given of one kind only) counts as passed unless neither selects any.
status=0
empty=0
python3 -m pytest -n "${TEST_PROCESSES:-2}" --dist loadfile -m "not serial" "$@" || status=$?
if [ "$status" -eq 5 ]; then status=0; empty=$((empty + 1)); fi
serial=0
python3 -m pytest -m serial "$@" || serial=$?
if [ "$serial" -eq 5 ]; then serial=0; empty=$((empty + 1)); fi
if [ "$status" -eq 0 ]; then status=$serial; fi
if [ "$empty" -eq 2 ]; then status=5; fi
exit "$status"
