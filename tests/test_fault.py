"""Fault test: SIGKILL a gunicorn worker under load (with login on: every simulated user signs in, #16);
only its in-flight requests may fail, and the server heals."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time

from tests.browser.conftest import REPO, free_port, start_gunicorn, stop, wait_http

THREADS_PER_WORKER = 4  # dashboard/gunicorn_conf.py: gthread workers with 4 threads


def _load_module():
    spec = importlib.util.spec_from_file_location("bench_load", REPO / "bench" / "load.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _workers(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_killing_a_worker_loses_at_most_its_in_flight_requests(tmp_path):
    load = _load_module()
    port = free_port()
    users_file, credentials = load.make_accounts(str(tmp_path), 12)
    proc = start_gunicorn(port, extra_env={"WEB_CONCURRENCY": "2", "DASHBOARD_USERS_FILE": users_file},
                          log_path=tmp_path / "gunicorn.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", proc=proc)
        deadline = time.monotonic() + 20
        while len(_workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        before = _workers(proc.pid)
        assert len(before) == 2
        killed = []
        stats = load.Stats()

        def tick(elapsed):
            # once every user has signed in (12 scrypt checks on a busy machine can take seconds), mid-run
            if elapsed > 4 and not killed and (len(stats.latencies.get("login", [])) >= 12 or elapsed > 8):
                os.kill(before[0], signal.SIGKILL)
                killed.append(before[0])

        stats, elapsed = load.run_load(url, users=12, duration=12, think=(0.2, 0.6), seed=3, on_tick=tick,
                                       credentials=credentials, stats=stats)
        assert killed, "the worker was never killed"
        assert stats.requests > 200, stats.requests
        print(f"fault test: {stats.requests} requests, {len(stats.failures)} failed after SIGKILL of worker"
              f" {killed[0]}: {stats.failures}")
        assert len(stats.failures) <= THREADS_PER_WORKER, stats.failures
        # the master replaced the worker by itself, and the server answers normally
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = _workers(proc.pid)
            if len(now) == 2 and killed[0] not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and killed[0] not in now, now
        stats2, _ = load.run_load(url, users=4, duration=3, think=(0.1, 0.3), seed=9, credentials=credentials[:4])
        assert stats2.requests > 20 and stats2.failures == []
        assert len(stats.latencies["login"]) == 12 and len(stats2.latencies["login"]) == 4  # every user signed in
    finally:
        stop(proc)
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log
