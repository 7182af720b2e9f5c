#!/usr/bin/env python3
"""Load test: concurrent simulated users against the real gunicorn server(s) on 127.0.0.1.

Each user signs in (with login on), loads the page (/, /_dash-layout, /_dash-dependencies, the CSS and JS
assets) and then, until the time is up, makes filter changes the way a person does: a change of
population, sex, onset, age range, threshold, tab or highlighted patient: one POST of the state callback,
which also draws the visible view and sets the simulated-data notice (as the browser asks), then a think
time.  With several instances each user's two connections go to two different instances (a load balancer
that does not stick) and the changes alternate between them, so every session is used on more than one
server.
Bounded in users, requests and seconds; only loopback addresses.

    python bench/load.py [--users 50] [--duration 60] [--think 1.0-3.0] [--data DIR]
                         [--login] [--instances N] [--kill-worker-at SECONDS]
    python bench/load.py --url http://127.0.0.1:8050 [--url ...] [--user NAME]   (password: $DASHBOARD_LOAD_PASSWORD)

Without --url it starts its own server(s) (dashboard/gunicorn_conf.py): with --login, one account per
simulated user in a temporary credentials file; with --instances N > 1 also a redis-server (Debian's
package, on a free port, nothing saved) that the instances share (DASHBOARD_REDIS_URL).
--kill-worker-at S sends SIGKILL to one worker of each instance S seconds into the run.

Prints throughput, p50/p95/p99 latency per kind of request and overall, and the count of failed requests
(any status other than 200/204, or a socket error).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
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
    # (time.monotonic() at the answer or the error, kind, ok) for every request, in the order they ended
    ends: list[tuple[float, str, bool]] = field(default_factory=list)

    def add(self, kind: str, seconds: float, ok: bool, detail: str = ""):
        with self.lock:
            self.requests += 1
            self.latencies.setdefault(kind, []).append(seconds)
            self.ends.append((time.monotonic(), kind, ok))
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

    def __init__(self, host, port, stats: Stats, cookie: str | None = None):
        self.host, self.port, self.stats = host, port, stats
        self.cookie = cookie
        self.conn = None

    def request(self, kind, method, path, body=None, content_type="application/json", ok_status=(200, 204)):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            t = time.perf_counter()
            try:
                headers = {"Content-Type": content_type} if body is not None else {}
                if self.cookie:
                    headers["Cookie"] = self.cookie
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                self.last_headers = r.headers
                dt = time.perf_counter() - t
                ok = r.status in ok_status
                self.stats.add(kind, dt, ok, f"HTTP {r.status} {data[:120]!r}")
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self.close()
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if attempt == 1 and stale and time.perf_counter() - t < 0.05:
                    # a stale keep-alive connection closed by the server between requests: reconnect, as browsers do
                    continue
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


def login(client: Client, name: str, password: str, tries: int = 5) -> str | None:
    """Sign in on ``client``'s server; the session cookie (``session=...``), also set on the client."""
    form = urllib.parse.urlencode({"username": name, "password": password, "next": "/"})
    for _ in range(tries):
        status, _data = client.request("login", "POST", "/login", body=form,
                                       content_type="application/x-www-form-urlencoded", ok_status=(303,))
        if status == 303:
            for header, value in client.last_headers.items():
                if header.lower() == "set-cookie" and value.startswith("session="):
                    client.cookie = value.split(";", 1)[0]
                    return client.cookie
            return None
        if status != 429:
            return None
        time.sleep(min(5.0, float(client.last_headers.get("Retry-After", "1"))))  # as a person would wait
    return None


def user(targets, deps, patients, stop_at, think, seed, stats: Stats, credentials=None):
    rng = random.Random(seed)
    (host, port), (host2, port2) = targets[seed % len(targets)], targets[(seed + 1) % len(targets)]
    c = Client(host, port, stats)
    c2 = Client(host2, port2, stats)  # the browser's second connection for concurrent callbacks
    if credentials:
        c2.cookie = login(c, *credentials)
        if c2.cookie is None:
            return
    for kind, path in (("page", "/"), ("layout", "/_dash-layout"), ("dependencies", "/_dash-dependencies"),
                       ("asset", "/assets/style.css"), ("asset", "/assets/dashboard.js")):
        c.request(kind, "GET", path)
    by_first_output = {}  # every output id -> its callback (the first callback that names it)
    for d in deps:
        o = _outputs(d)
        for out in (o if isinstance(o, list) else [o]):
            by_first_output.setdefault(out["id"], d)
    sync = by_first_output["population"]
    state = {"population": "safety", "threshold": 2, "sex": [], "onset": [], "patient-picker": [], "tabs": "overview",
             "highlight": None, "present": [], "reset": 0, "url": "", "alsfrs-window": 3, "alsfrs-show-fits": [],
             "fvc-threshold": 70, "ws-threshold": 1.0, "ae-colour-by": "severity", "ae-only": []}
    turn = 0
    while time.monotonic() < stop_at:
        change = dict(rng.choice(FILTER_CHANGES))
        if "highlight" in change and change["highlight"]:
            change["highlight"] = rng.choice(patients)
        state.update(change)
        key = next(iter(change))
        conn, turn = (c, c2)[turn % 2], turn + 1
        status, data = conn.request(f"filter:{state['tabs']}", "POST", "/_dash-update-component",
                                    payload(sync, state, [f"{key}.value"]))
        if status == 200:
            try:
                resp = json.loads(data)["response"]
            except (ValueError, KeyError):
                resp = {}
            # what the page keeps: the filter store and each view's request (the view is drawn again only when
            # its request changes)
            for cid, props in resp.items():
                if cid == "filter-store" or cid.endswith("-request"):
                    state[cid] = props.get("data")
        time.sleep(rng.uniform(*think))
    c.close()
    c2.close()


def start_server(port, data_dir=None, workers=None, extra_env=None, log_path=None):
    env = dict(os.environ, DASHBOARD_BIND=f"127.0.0.1:{port}", DASHBOARD_ACCESS_LOG="/dev/null")
    if data_dir:
        env["TRIAL_DATA_DIR"] = str(data_dir)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    env.update(extra_env or {})
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "dashboard/gunicorn_conf.py", "app:server"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT if log_path else subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def start_redis(port):
    """A throw-away redis-server on 127.0.0.1 (nothing saved to disk)."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def _fetch(host, port, path, cookie=None):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {r.status}")
    return data


def run_load(url, users, duration, think=(1.0, 3.0), seed=0, on_tick=None, credentials=None,
             stats: Stats | None = None) -> tuple[Stats, float]:
    """Drive ``users`` simulated users for ``duration`` seconds; returns (stats, elapsed seconds).

    ``url``: one server or a list of them (behind no balancer: each user spreads its connections).
    ``credentials``: None (no login), a (name, password) pair for every user, or a list of pairs, one a user.
    """
    urls = [url] if isinstance(url, str) else list(url)
    targets = []
    for u in urls:
        parts = urllib.parse.urlsplit(u)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load tests target loopback only")
        targets.append((parts.hostname, parts.port or 80))
    users = min(users, MAX_USERS)
    duration = min(duration, MAX_DURATION)
    creds = None
    if credentials:
        creds = [credentials] * users if isinstance(credentials, tuple) else list(credentials)
    host, port = targets[0]
    cookie = None
    if creds:
        cookie = login(Client(host, port, Stats()), *creds[0])
        if cookie is None:
            raise RuntimeError(f"cannot sign in as {creds[0][0]} on {urls[0]}")
    deps = json.loads(_fetch(host, port, "/_dash-dependencies", cookie))
    layout = _fetch(host, port, "/_dash-layout", cookie).decode()
    import re

    patients = sorted(set(re.findall(r'"label": ?"Patient ([^"]+)"', layout))) or ["1"]
    stats = Stats() if stats is None else stats  # a caller's, to watch the run from on_tick
    t0 = time.monotonic()
    stop_at = t0 + duration
    threads = [threading.Thread(target=user, args=(targets, deps, patients, stop_at, think, seed + i, stats,
                                                   creds[i % len(creds)] if creds else None), daemon=True)
               for i in range(users)]
    for th in threads:
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
    lines = [f"{stats.requests} requests in {elapsed:.1f} s: {stats.requests / elapsed:.1f} requests/s;"
             f" failed: {len(stats.failures)}"]
    allv = [v for vs in stats.latencies.values() for v in vs]
    lines.append(f"{'kind':34s} {'count':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for kind in sorted(stats.latencies):
        v = stats.latencies[kind]
        lines.append(f"{kind:34s} {len(v):7d} {1000 * _pct(v, 50):8.1f} {1000 * _pct(v, 95):8.1f}"
                     f" {1000 * _pct(v, 99):8.1f} {1000 * max(v):8.1f}")
    lines.append(f"{'ALL':34s} {len(allv):7d} {1000 * _pct(allv, 50):8.1f} {1000 * _pct(allv, 95):8.1f}"
                 f" {1000 * _pct(allv, 99):8.1f} {1000 * max(allv):8.1f}")
    filt = [v for k, vs in stats.latencies.items() if k.startswith("filter:") for v in vs]
    if filt:
        lines.append(f"filter-change requests: p95 {1000 * _pct(filt, 95):.1f} ms (target < 300 ms)")
    for f in stats.failures[:10]:
        lines.append(f"  failed: {f}")
    return "\n".join(lines)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers_of(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def make_accounts(directory, n) -> tuple[str, list[tuple[str, str]]]:
    """A credentials file with ``n`` accounts (load-1 ... load-n) and their random passwords."""
    import secrets

    sys.path.insert(0, str(REPO))
    from werkzeug.security import generate_password_hash

    creds = [(f"load-{i + 1}", secrets.token_urlsafe(12)) for i in range(n)]
    path = os.path.join(directory, "users.txt")
    with open(path, "w", encoding="utf-8") as f:
        for name, password in creds:
            f.write(f"{name}:{generate_password_hash(password, method='scrypt')}\n")
    os.chmod(path, 0o600)
    return path, creds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--think", default="1.0-3.0", help="think time between a user's filter changes, seconds (min-max)")
    ap.add_argument("--url", action="append", default=None,
                    help="an already running server on loopback (repeat for several instances; default: start them)")
    ap.add_argument("--user", default=None,
                    help="with --url: sign in as this user (password: $DASHBOARD_LOAD_PASSWORD)")
    ap.add_argument("--data", default=None, help="dataset directory for the server started here")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--login", action="store_true", help="start the server(s) with login on (one account a user)")
    ap.add_argument("--instances", type=int, default=1, help="servers to start (more than one: with a redis-server)")
    ap.add_argument("--kill-worker-at", type=float, default=None, metavar="SECONDS",
                    help="SIGKILL one worker of each started instance this many seconds into the run")
    args = ap.parse_args(argv)
    think = tuple(float(x) for x in args.think.split("-"))
    procs = []
    tmp = tempfile.mkdtemp(prefix="als-load-")
    credentials = None
    urls = args.url
    try:
        if urls:
            if args.user:
                password = os.environ.get("DASHBOARD_LOAD_PASSWORD")
                if not password:
                    raise SystemExit("--user needs the password in $DASHBOARD_LOAD_PASSWORD")
                credentials = (args.user, password)
        else:
            import secrets

            extra = {}
            if args.login:
                users_file, credentials = make_accounts(tmp, args.users)
                extra["DASHBOARD_USERS_FILE"] = users_file
            if args.instances > 1:
                redis_port = _free_port()
                procs.append(start_redis(redis_port))
                extra["DASHBOARD_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
                extra["DASHBOARD_SECRET_KEY"] = secrets.token_hex(32)
            urls = []
            for i in range(max(1, min(args.instances, 8))):
                port = _free_port()
                procs.append(start_server(port, args.data, args.workers, extra,
                                          log_path=os.path.join(tmp, f"gunicorn-{i}.log")))
                urls.append(f"http://127.0.0.1:{port}")
        servers = [p for p in procs if p.args[1:3] == ["-m", "gunicorn"]]
        killed = []

        def tick(elapsed):
            if args.kill_worker_at is not None and not killed and elapsed >= args.kill_worker_at:
                for proc in servers:
                    ws = workers_of(proc.pid)
                    if ws:
                        os.kill(ws[0], signal.SIGKILL)
                        killed.append(ws[0])
                print(f"{elapsed:.1f} s: SIGKILL to worker(s) {killed}", flush=True)

        print(f"{args.users} users for {args.duration:g} s against {', '.join(urls)} (think {think[0]:g}-{think[1]:g} s"
              f"{', login on' if credentials else ''})", flush=True)
        stats, elapsed = run_load(urls, args.users, args.duration, think, credentials=credentials, on_tick=tick)
        print(report(stats, elapsed))
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if stats.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
