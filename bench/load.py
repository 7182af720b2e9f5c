#!/usr/bin/env python3
"""Load test: concurrent simulated users against the real gunicorn server on 127.0.0.1.

Each user loads the page (/, /_dash-layout, /_dash-dependencies, the CSS and JS
assets) and then, until the time is up, makes filter changes the way a
person does: a change of population, sex, onset, age range, threshold, tab or
highlighted patient (POST of the state callback), followed by the callbacks
of the visible view and the simulated-data notice (sent concurrently, as the
browser does), then a think time.  Bounded in users, requests and seconds;
only loopback addresses.

    python bench/load.py [--users 50] [--duration 60] [--think 1.0-3.0] [--data DIR] [--url URL]

Prints throughput, p50/p95/p99 latency per kind of request and overall, and
the count of failed requests (any status other than 200/204, or a socket
error).  Without --url it starts its own server (dashboard/gunicorn_conf.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_USERS = 500
MAX_DURATION = 900


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def add(self, kind: str, seconds: float, ok: bool, detail: str = ""):
        with self.lock:
            self.requests += 1
            self.latencies.setdefault(kind, []).append(seconds)
            if not ok:
                self.failures.append(f"{kind}: {detail}")


def _pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


class Client:
    """One keep-alive HTTP connection (a browser keeps a few)."""

    def __init__(self, host, port, stats: Stats):
        self.host, self.port, self.stats = host, port, stats
        self.conn = None

    def request(self, kind, method, path, body=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            t = time.perf_counter()
            try:
                headers = {"Content-Type": "application/json"} if body is not None else {}
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                dt = time.perf_counter() - t
                ok = r.status in (200, 204)
                self.stats.add(kind, dt, ok, f"HTTP {r.status} {data[:120]!r}")
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt == 1 and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)) and time.perf_counter() - t < 0.05:
                    continue  # a stale keep-alive connection closed by the server between requests: reconnect, as browsers do
                self.stats.add(kind, time.perf_counter() - t, False, f"{type(exc).__name__}: {exc}")
                return None, b""
        return None, b""

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _outputs(dep):
    out = dep["output"]
    if out.startswith(".."):
        return [dict(zip(("id", "property"), o.split(".", 1))) for o in out.strip(".").split("...")]
    return dict(zip(("id", "property"), out.split("@")[0].split(".", 1)))


def payload(dep, values, changed):
    return json.dumps({
        "output": dep["output"], "outputs": _outputs(dep),
        "inputs": [{**i, "value": values.get(i["id"])} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(s["id"])} for s in dep.get("state", [])],
        "changedPropIds": changed,
    })


VIEW_OF_TAB = {"overview": "overview-flow", "alsfrs": "alsfrs-spaghetti", "fvc": "fvc-spaghetti", "weakness": "ws-grid",
               "safety": "ae-heatmap", "profile": "profile-content"}
FILTER_CHANGES = [
    {"population": "efficacy"}, {"population": "progressors"}, {"population": "stable"}, {"population": "compare"},
    {"population": "safety"}, {"sex": ["F"]}, {"sex": []}, {"onset": ["spinal+bulbar"]}, {"onset": []},
    {"range-age": [40, 60]}, {"range-age": None}, {"threshold": 3}, {"threshold": 2},
    {"tabs": "alsfrs"}, {"tabs": "fvc"}, {"tabs": "weakness"}, {"tabs": "safety"}, {"tabs": "overview"},
    {"highlight": "7"}, {"highlight": None},
]


def user(host, port, deps, patients, stop_at, think, seed, stats: Stats):
    rng = random.Random(seed)
    c = Client(host, port, stats)
    c2 = Client(host, port, stats)  # the browser's second connection for concurrent callbacks
    for kind, path in (("page", "/"), ("layout", "/_dash-layout"), ("dependencies", "/_dash-dependencies"),
                       ("asset", "/assets/style.css"), ("asset", "/assets/dashboard.js")):
        c.request(kind, "GET", path)
    by_first_output = {}
    for d in deps:
        o = _outputs(d)
        first = (o[0] if isinstance(o, list) else o)["id"]
        by_first_output[first] = d
    sync = by_first_output["population"]
    notice = by_first_output["simulated-notice"]
    state = {"population": "safety", "threshold": 2, "sex": [], "onset": [], "patient-picker": [], "tabs": "overview",
             "highlight": None, "present": [], "reset": 0, "url": "", "alsfrs-window": 3, "alsfrs-show-fits": [],
             "fvc-threshold": 70, "ws-threshold": 1.0, "ae-colour-by": "severity", "ae-only": []}
    store = {}
    while time.monotonic() < stop_at:
        change = dict(rng.choice(FILTER_CHANGES))
        if "highlight" in change and change["highlight"]:
            change["highlight"] = rng.choice(patients)
        state.update(change)
        key = next(iter(change))
        status, data = c.request("filter:sync_state", "POST", "/_dash-update-component",
                                 payload(sync, state, [f"{key}.value"]))
        if status == 200:
            try:
                resp = json.loads(data)["response"]
                store = resp.get("filter-store", {}).get("data", store)
            except (ValueError, KeyError):
                pass
        values = {**state, "filter-store": store}
        view = by_first_output.get(VIEW_OF_TAB.get(state["tabs"], "overview-flow"))
        with cf.ThreadPoolExecutor(2) as ex:
            futs = [ex.submit(c2.request, f"filter:view:{state['tabs']}", "POST", "/_dash-update-component",
                              payload(view, values, ["filter-store.data"]))]
            futs.append(ex.submit(c.request, "filter:notice", "POST", "/_dash-update-component",
                                  payload(notice, values, ["filter-store.data"])))
            for f in futs:
                f.result()
        time.sleep(rng.uniform(*think))
    c.close()
    c2.close()


def start_server(port, data_dir=None, workers=None):
    env = dict(os.environ, DASHBOARD_BIND=f"127.0.0.1:{port}", DASHBOARD_ACCESS_LOG="/dev/null")
    if data_dir:
        env["TRIAL_DATA_DIR"] = str(data_dir)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "dashboard/gunicorn_conf.py", "app:server"], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def run_load(url, users, duration, think=(1.0, 3.0), seed=0, on_tick=None) -> tuple[Stats, float]:
    """Drive ``users`` simulated users for ``duration`` seconds; returns (stats, elapsed seconds)."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests target loopback only")
    users = min(users, MAX_USERS)
    duration = min(duration, MAX_DURATION)
    host, port = parts.hostname, parts.port or 80
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/_dash-dependencies")
    deps = json.loads(conn.getresponse().read())
    conn.request("GET", "/_dash-layout")
    layout = conn.getresponse().read().decode()
    conn.close()
    import re

    patients = sorted(set(re.findall(r'"label": ?"Patient ([^"]+)"', layout))) or ["1"]
    stats = Stats()
    t0 = time.monotonic()
    stop_at = t0 + duration
    threads = [threading.Thread(target=user, args=(host, port, deps, patients, stop_at, think, seed + i, stats), daemon=True)
               for i in range(users)]
    for i, th in enumerate(threads):
        th.start()
        time.sleep(min(0.05, duration / max(users, 1) / 10))  # ramp up over a moment, not all in one instant
    while any(th.is_alive() for th in threads):
        if on_tick:
            on_tick(time.monotonic() - t0)
        time.sleep(0.2)
        if time.monotonic() > stop_at + 60:
            break
    return stats, time.monotonic() - t0


def report(stats: Stats, elapsed: float) -> str:
    lines = [f"{stats.requests} requests in {elapsed:.1f} s: {stats.requests / elapsed:.1f} requests/s; failed: {len(stats.failures)}"]
    allv = [v for vs in stats.latencies.values() for v in vs]
    lines.append(f"{'kind':34s} {'count':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for kind in sorted(stats.latencies):
        v = stats.latencies[kind]
        lines.append(f"{kind:34s} {len(v):7d} {1000 * _pct(v, 50):8.1f} {1000 * _pct(v, 95):8.1f} {1000 * _pct(v, 99):8.1f} {1000 * max(v):8.1f}")
    lines.append(f"{'ALL':34s} {len(allv):7d} {1000 * _pct(allv, 50):8.1f} {1000 * _pct(allv, 95):8.1f} {1000 * _pct(allv, 99):8.1f} {1000 * max(allv):8.1f}")
    filt = [v for k, vs in stats.latencies.items() if k.startswith("filter:") for v in vs]
    if filt:
        lines.append(f"filter-change requests: p95 {1000 * _pct(filt, 95):.1f} ms (target < 300 ms)")
    for f in stats.failures[:10]:
        lines.append(f"  failed: {f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--think", default="1.0-3.0", help="think time between a user's filter changes, seconds (min-max)")
    ap.add_argument("--url", default=None, help="an already running server on loopback (default: start one)")
    ap.add_argument("--data", default=None, help="dataset directory for the server started here")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    think = tuple(float(x) for x in args.think.split("-"))
    proc = None
    url = args.url
    if url is None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = start_server(port, args.data, args.workers)
        url = f"http://127.0.0.1:{port}"
    try:
        print(f"{args.users} users for {args.duration:g} s against {url} (think {think[0]:g}-{think[1]:g} s)", flush=True)
        stats, elapsed = run_load(url, args.users, args.duration, think)
        print(report(stats, elapsed))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
    return 1 if stats.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
