#!/usr/bin/env python
"""End-to-end speed in the browser: the real server, headless Chromium, a person's clicks.

Not a test: it measures and prints figures (see bench/README.md).

    python bench/draw.py [--sizes 26,1000,10000] [--repeat 7] [--repo [LABEL=]PATH ...]

For each dataset size (26 = the shipped data/; N = a synthetic trial of N patients, seed 0, written by
``python -m dashboard generate``) the production server (gunicorn, ``dashboard/gunicorn_conf.py``) of each
``--repo`` (default: the repository holding this file) is started, and so is a minimal one-figure Dash app
on the same data (``bench/minimal_app.py``, 2 workers x 4 threads).  Debian's Chromium
(``/usr/bin/chromium``, driven by Playwright; never a downloaded browser) then measures, in the page with
``performance.now()``:

- *view shown*: from the start of the navigation to a view's address (``?tab=...``) until every figure
  of the view is drawn and not loading (server, network, JSON parsing and drawing together), and until
  the page has *settled* (no visible element loading and no callback request in flight for 300 ms);
- *filter change*: a real mouse click (Playwright) on the sex checkbox "F" of the filter panel, then "F"
  again to clear it, alternating; from the click (``pointerdown`` in the page) until every figure of the
  visible view shows the new selection's "n = " in its title and is not loading (*redrawn*), and until the
  page has settled.  The first click after a page load that meets a selection for the first time is a
  warm-up (it learns the titles) and is not timed;
- the split of each time into *request wait* (at least one ``/_dash-update-component`` request in flight,
  from the Resource Timing entries) and the rest (the browser: Dash's renderer, JSON parsing, plotly);
- per figure of ours, *draw*: ``Plotly.newPlot`` of the figure's own data and layout into a new element
  of the same page (``--draw-repeat`` times): what plotly.js needs to draw it once the data is there.

Paired (the default): each view is measured in ``--repeat`` rounds, and in each round every server in turn
(ours, each ``--repo``, each minimal app; the order reversed every other round) gets one page load and the two
filter changes.  Each view of ours is compared with the minimal app's samples of the same rounds (the rows
"minimal @ <view>"): the machine's speed drifts over minutes by more than the gaps measured, and samples taken
side by side meet the same drift.  ``--no-paired`` measures each view of each server in one block and the
minimal apps in chunks between them (the rounds before session 14).

Targets of issue #15: a filter change of the visible view <= 250 ms on the shipped data and <= 1 s at
10,000 patients, never slower than the minimal app; view shown <= 1 s (shipped) and <= 3 s (10,000).
Everything is saved as JSON in bench/out/draw-*.json.  This file and minimal_app.py use no dashboard
code, so they can measure another checkout: copy both anywhere and pass ``--repo /path/to/checkout``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
MINIMAL_APP = HERE / "minimal_app.py"

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: the filter control clicked: the sex checklist's "F" (an id shared by the dashboard and the minimal app)
SEX_F = '#sex input[value="F"]'

#: (name, address query, figure ids of the view, whether its filter change is timed); ids as in dashboard/ids.py
ALSFRS_FIGURES = ["alsfrs-spaghetti", "alsfrs-slope-pairs", "alsfrs-waterfall"]
VIEWS = [
    ("ALSFRS", "?tab=alsfrs", ALSFRS_FIGURES, True),
    ("ALSFRS compare", "?cohort=compare&tab=alsfrs", ALSFRS_FIGURES, False),
    ("FVC", "?tab=fvc", ["fvc-spaghetti"], True),
    ("Weakness", "?tab=weakness", ["ws-grid", "ws-mean"], True),
    ("Safety", "?tab=safety", ["ae-heatmap"], True),
    ("Profile", "?tab=profile&patient=1", ["profile-figure"], False),
]
MINIMAL_VIEW = ("minimal", "", ["graph"], True)
#: minimal app variants: MINIMAL_LINES values (see minimal_app.py)
MINIMAL_KINDS = {"minimal": "per-patient", "minimal-1trace": "one-trace"}

#: targets: (filter change p95 ms, view shown p95 ms) by dataset size
TARGETS = {26: (250.0, 1000.0), 10000: (1000.0, 3000.0)}
QUIET_MS = 300

# In every page, before its own scripts: count the callback requests in flight (fetch), and record for each
# figure the first frame where it is drawn and not loading, and when the page goes quiet (nothing visible
# loading, no request in flight).  Times are performance.now(): milliseconds since the navigation started.
_INIT_JS = r"""
(() => {
  if (window.__bench) return;
  const B = window.__bench = {inflight: 0, nav: {first: {}, firstN: {}, quiet: null, busy: true, run: true}};
  const fetch0 = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : ((input && input.url) || '');
    const p = fetch0(input, init);
    if (url.includes('_dash-update-component')) {
      B.inflight++;
      const done = () => { B.inflight--; };
      p.then(done, done);
    }
    return p;
  };
  B.key = t => ((t || '').match(/n = [\d,]+/g) || []).join(' | ');
  B.gd = id => { const h = document.getElementById(id); return h && h.querySelector('.js-plotly-plot'); };
  B.title = gd => (gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '';
  B.drawn = id => {
    const h = document.getElementById(id), gd = B.gd(id);
    return !!(gd && gd._fullLayout && gd._fullData && gd._fullData.length
      && h.getAttribute('data-dash-is-loading') !== 'true' && !gd.closest('[data-dash-is-loading="true"]'));
  };
  B.busy = () => {
    if (B.inflight > 0) return true;
    for (const e of document.querySelectorAll('[data-dash-is-loading="true"]')) {
      if (e.checkVisibility ? e.checkVisibility() : e.getClientRects().length > 0) return true;
    }
    return false;
  };
  B.hook = gd => {
    if (gd && gd.on && !gd.__benchHooked) {
      gd.__benchHooked = true; gd.__benchN = 0;
      const inc = () => { gd.__benchN++; };
      gd.on('plotly_afterplot', inc); gd.on('plotly_react', inc);
    }
  };
  const navTick = () => {
    const N = B.nav, now = performance.now();
    if (!N.run || now > 600000) return;
    for (const h of document.querySelectorAll('.js-plotly-plot')) {
      const host = h.closest('[id]');
      if (!host || N.firstN[host.id] !== undefined || !B.drawn(host.id)) continue;
      if (N.first[host.id] === undefined) N.first[host.id] = now;
      if (B.key(B.title(h))) N.firstN[host.id] = now;
    }
    const busy = B.busy();
    if (busy) N.quiet = null; else if (N.quiet === null) N.quiet = now;
    requestAnimationFrame(navTick);
  };
  requestAnimationFrame(navTick);
  // figs: ids; returns false, or {shown, settled, keys} once every figure is drawn and the page quiet
  B.navDone = ([figs, quiet]) => {
    const N = B.nav, now = performance.now();
    if (!figs.every(id => N.first[id] !== undefined && B.drawn(id))) return false;
    if (N.quiet === null || now - N.quiet < quiet || B.busy()) return false;
    const keys = {}, at = {};
    for (const id of figs) {
      keys[id] = B.key(B.title(B.gd(id)));
      at[id] = keys[id] && N.firstN[id] !== undefined ? N.firstN[id] : N.first[id];
    }
    N.run = false;
    const shown = Math.max(...figs.map(id => at[id]));
    return {shown, settled: Math.max(N.quiet, shown), keys, at};
  };
  B.resources = (t0, t1) => performance.getEntriesByType('resource')
    .filter(e => e.startTime >= t0 - 1 && e.startTime <= t1)
    .map(e => ({dash: e.name.includes('_dash-update-component'), start: e.startTime, req: e.requestStart,
                resp: e.responseStart, end: e.responseEnd, bytes: e.transferSize}));
  // Arm a watcher for the next click: figs = [{id, want}] (want: the title's "n = " key, or null: any redraw
  // since now).  t0 = the click's pointerdown; redrawn = every figure shows `want` and is not loading;
  // settled = quiet for `quiet` ms after that.
  B.arm = ([figs, quiet, timeout]) => {
    performance.clearResourceTimings();
    const S = B.st = {t0: null, redrawn: null, settled: null, done: false, timedOut: false, quietFrom: null};
    const fs = figs.map(f => {
      const gd = B.gd(f.id); B.hook(gd);
      return {id: f.id, want: f.want, gd, n: gd ? gd.__benchN || 0 : 0};
    });
    const ready = f => {
      if (!B.drawn(f.id)) return false;
      const gd = B.gd(f.id);
      if (f.want) return B.key(B.title(gd)) === f.want;
      return gd !== f.gd || (gd.__benchN || 0) > f.n;
    };
    document.addEventListener('pointerdown', () => { if (S.t0 === null) S.t0 = performance.now(); },
                              {capture: true, once: true});
    const begin = performance.now();
    const tick = () => {
      const now = performance.now();
      if (now - begin > timeout) { S.timedOut = true; S.done = true; return; }
      if (S.t0 !== null) {
        if (S.redrawn === null && fs.every(ready)) S.redrawn = now;
        if (S.redrawn !== null) {
          if (B.busy()) S.quietFrom = null; else if (S.quietFrom === null) S.quietFrom = now;
          if (S.quietFrom !== null && now - S.quietFrom >= quiet) {
            S.settled = Math.max(S.quietFrom, S.redrawn);
            S.keys = Object.fromEntries(fs.map(f => [f.id, B.key(B.title(B.gd(f.id)))]));
            S.res = B.resources(S.t0, S.settled);
            S.done = true;
            return;
          }
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return true;
  };
})();
"""

_REDRAW = """
async ([id, repeat]) => {
  const gd = document.getElementById(id).querySelector('.js-plotly-plot');
  const points = gd._fullData.reduce(
    (s, t) => s + (t.z ? t.z.length * (t.z[0] || []).length : (t.y ? t.y.length : 0)), 0);
  const host = document.createElement('div');
  host.style.width = gd.clientWidth + 'px';
  document.body.appendChild(host);
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const d = structuredClone(gd.data), l = structuredClone(gd.layout);
    const t0 = performance.now();
    await Plotly.newPlot(host, d, l, {responsive: false});
    times.push(performance.now() - t0);
    Plotly.purge(host);
  }
  host.remove();
  return {points, traces: gd._fullData.length, times};
}
"""


def _stats(ms: list[float]) -> dict | None:
    a = np.asarray([m for m in ms if m is not None], dtype=float)
    if not len(a):
        return None
    return {"n": len(a), "median": float(np.median(a)), "p95": float(np.percentile(a, 95)),
            "min": float(a.min()), "max": float(a.max())}


def _union(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Milliseconds of [lo, hi] covered by at least one interval."""
    total, end = 0.0, lo
    for s, e in sorted((max(s, lo), min(e, hi)) for s, e in intervals):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def _split(res: list[dict], t0: float, t1: float) -> dict:
    """Time in [t0, t1] with a callback request in flight (request wait), and the rest (browser)."""
    dash = [r for r in res if r["dash"] and r["start"] <= t1]
    wait = _union([(r["start"], r["end"]) for r in dash], t0, t1)
    net = _union([(r["start"], r["end"]) for r in res], t0, t1)
    server = [r["resp"] - r["req"] for r in dash if r["req"] and r["resp"]]
    ends = [r["end"] for r in dash if r["end"] <= t1]
    return {"requests": len(dash), "request_wait_ms": wait, "network_ms": net, "browser_ms": (t1 - t0) - wait,
            "after_last_response_ms": t1 - max(ends) if ends else None, "ttfb_max_ms": max(server) if server else None,
            # each callback request: sent, first byte, last byte (ms from t0)
            "timeline": [[round(r["start"] - t0, 1), round(r["resp"] - t0, 1), round(r["end"] - t0, 1)]
                         for r in dash]}


# ----------------------------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn server started and stopped by this process."""

    def __init__(self, label: str, args: list[str], cwd: Path, env: dict, log_path: Path):
        self.label = label
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")
        self.log.write(f"\n==== {label}: {' '.join(args)} (cwd {cwd})\n".encode())
        self.log.flush()
        env = dict(os.environ, **env)
        args = [a.replace("{bind}", f"127.0.0.1:{self.port}") for a in args]
        env = {k: v.replace("{bind}", f"127.0.0.1:{self.port}") for k, v in env.items()}
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *args], cwd=cwd, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Poll until GET / answers 200; seconds from launch."""
        deadline = self.t0 + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label}: server exited with status {self.proc.returncode}"
                                   f" (log: {self.log.name})")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=10) as r:
                    if r.status == 200:
                        return time.perf_counter() - self.t0
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.label}: not ready after {timeout:g} s (log: {self.log.name})")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()


def ours(label: str, repo: Path, data_dir: Path, log: Path) -> Server:
    """The dashboard's production server, from ``repo``'s code, as bench.py starts it."""
    return Server(label, ["-c", "dashboard/gunicorn_conf.py", "app:server"], repo,
                  {"TRIAL_DATA_DIR": str(data_dir), "DASHBOARD_BIND": "{bind}"}, log)


def minimal(label: str, lines: str, data_dir: Path, log: Path) -> Server:
    """bench/minimal_app.py under gunicorn: 2 workers x 4 threads (gthread), loaded in the master, like ours.

    Its worker timeout is 600 s (ours: 30 s): px.line with a trace per patient needs minutes at 10,000.
    """
    return Server(label, ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--preload",
                          "--timeout", "600", "--bind", "{bind}", "minimal_app:server"],
                  MINIMAL_APP.parent, {"MINIMAL_DATA_DIR": str(data_dir), "MINIMAL_LINES": lines}, log)


def dataset(size: int, repo: Path, tmp: Path, seed: int) -> Path:
    """The shipped data/ of ``repo`` (26), or a synthetic trial written by that repo's generator."""
    if size == 26:
        return repo / "data"
    out = tmp / f"trial-{size}-seed{seed}"
    if not (out / "patients.csv").exists():
        subprocess.run([sys.executable, "-m", "dashboard", "generate", "--patients", str(size), "--out", str(out),
                        "--seed", str(seed)], cwd=repo, check=True, timeout=600, stdout=subprocess.DEVNULL)
    return out


# ----------------------------------------------------------------------------------------------- browser


class Target:
    """One server measured in the browser: ours (every view) or a minimal app (its one view)."""

    def __init__(self, label: str, kind: str, server: Server):
        self.label, self.kind, self.server = label, kind, server
        self.keys_f: dict[str, dict] = {}  # view -> figure id -> the title key with sex F selected
        self.rows: dict[str, dict] = {}  # view -> measurements

    def row(self, view) -> dict:
        name, query, figs, _ = view
        return self.rows.setdefault(name, {"view": name, "query": query, "shown": [], "changes": [],
                                           "figures": [], "errors": []})


def navigate(page, url: str, figs: list[str], timeout_s: float) -> dict:
    """Load ``url``; times from the navigation's start (the page's performance.now())."""
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    r = page.wait_for_function("a => window.__bench && window.__bench.navDone(a)", arg=[figs, QUIET_MS],
                               polling=50, timeout=timeout_s * 1000).json_value()
    res = page.evaluate("t => window.__bench.resources(0, t)", r["settled"])
    r["split_shown"] = _split(res, 0.0, r["shown"])
    r["requests_to_settled"] = sum(1 for x in res if x["dash"])
    return r


def click(page, figs: list[dict], timeout_s: float) -> dict:
    """Click "F" of the sex checklist; wait until ``figs`` show their ``want`` keys and the page settles."""
    page.evaluate("a => window.__bench.arm(a)", [figs, QUIET_MS, timeout_s * 1000])
    page.locator(SEX_F).click(timeout=timeout_s * 1000)
    page.wait_for_function("() => window.__bench.st.done", polling=50, timeout=(timeout_s + 10) * 1000)
    st = page.evaluate("() => window.__bench.st")
    if st["timedOut"] or st["t0"] is None:
        raise TimeoutError(f"no redraw within {timeout_s:g} s (t0 {st['t0']}, redrawn {st['redrawn']})")
    t0 = st["t0"]
    return {"redrawn_ms": st["redrawn"] - t0, "settled_ms": st["settled"] - t0, "keys": st["keys"],
            "split_redrawn": _split(st["res"], t0, st["redrawn"]),
            "requests_to_settled": sum(1 for x in st["res"] if x["dash"])}


def block(tab, target: Target, view, n_shown: int, n_clicks: int, args, log):
    """``n_shown`` timed page loads of a view, then ``n_clicks`` timed filter changes on the last one.

    A sample slower than ``args.slow`` seconds cuts the block short: 2 samples of each kind at most.
    A wait that times out ends that kind of sample for the block.
    """
    name, query, figs, timed_change = view
    row = target.row(view)
    url = target.server.base + "/" + query
    nav = None

    def slow(ms: float) -> None:
        if ms > args.slow * 1000 and not row.get("cut_short"):
            row["cut_short"] = f"a sample took {ms / 1000:.0f} s (> --slow {args.slow:g} s): 2 samples at most"
            log(f"  {target.label} {name}: {row['cut_short']}")

    for i in range(n_shown):
        if i >= 2 and row.get("cut_short"):
            break
        try:
            nav = navigate(tab.page, url, figs, args.timeout)
            row["shown"].append(nav)
            slow(nav["shown"])
        except Exception as e:  # noqa: BLE001 - a failed sample is recorded, the run goes on
            row["errors"].append(f"view shown: {type(e).__name__}: {str(e)[:300]}")
            tab.renew()
            nav = None
            break
    if nav is None:
        return
    if args.draw_repeat and not row["figures"] and target.kind == "ours":
        for fid in figs:
            r = tab.page.evaluate(_REDRAW, [fid, args.draw_repeat])
            row["figures"].append({"id": fid, "points": r["points"], "traces": r["traces"],
                                   "draw_ms": _stats(r["times"])})
    if not (timed_change and n_clicks):
        return
    keys_all = nav["keys"]
    try:
        selected = False  # after a page load nothing is ticked
        if name not in target.keys_f:  # warm-up: learn each figure's title with F ticked
            w = click(tab.page, [{"id": f, "want": None} for f in figs], args.timeout)
            target.keys_f[name] = w["keys"]
            row.setdefault("warmup", []).append(w)
            slow(w["redrawn_ms"])
            selected = True
        keys_f = target.keys_f[name]
        for i in range(n_clicks):
            if i >= 2 and row.get("cut_short"):
                break
            want = keys_all if selected else keys_f
            fs = [{"id": f, "want": want[f] if want[f] and keys_f[f] != keys_all[f] else None} for f in figs]
            c = click(tab.page, fs, args.timeout)
            c["to"] = "all" if selected else "F"
            row["changes"].append(c)
            slow(c["redrawn_ms"])
            selected = not selected
    except Exception as e:  # noqa: BLE001
        row["errors"].append(f"filter change: {type(e).__name__}: {str(e)[:300]}")
        tab.renew()


def summarise(t: Target) -> list[dict]:
    out = []
    for row in t.rows.values():
        shown = [s["shown"] for s in row["shown"]]
        ch = [c["redrawn_ms"] for c in row["changes"]]
        s = {"view": row["view"], "query": row["query"], "shown_ms": _stats(shown),
             "shown_settled_ms": _stats([x["settled"] for x in row["shown"]]),
             "shown_request_wait_ms": _stats([x["split_shown"]["request_wait_ms"] for x in row["shown"]]),
             "change_ms": _stats(ch), "change_settled_ms": _stats([c["settled_ms"] for c in row["changes"]]),
             "change_request_wait_ms": _stats([c["split_redrawn"]["request_wait_ms"] for c in row["changes"]]),
             "change_browser_ms": _stats([c["split_redrawn"]["browser_ms"] for c in row["changes"]]),
             "change_ttfb_max_ms": _stats([c["split_redrawn"]["ttfb_max_ms"] for c in row["changes"]]),
             "change_requests": _stats([c["split_redrawn"]["requests"] for c in row["changes"]]),
             "figures": row["figures"], "errors": row["errors"], "cut_short": row.get("cut_short"),
             "samples": row}
        out.append(s)
    return out


def paired_name(view_name: str) -> str:
    """The row of the minimal app's samples taken in turn with one view of ours."""
    return f"{MINIMAL_VIEW[0]} @ {view_name}"


def paired_view(view) -> tuple:
    """The minimal app's view measured in turn with one of ours: its own row (paired_name)."""
    return (paired_name(view[0]), *MINIMAL_VIEW[1:3], view[3])


def measure_paired(tab, targets: list[Target], groups: list, args, log) -> None:
    """Each view in ``args.repeat`` rounds; in each, every server in turn (the order reversed every other
    round): one page load, then the filter changed to "F" and back.  The minimal apps' samples are kept per view
    of ours (paired_view), so that each ratio compares samples taken minutes apart at most, under the same load
    of the machine: the machine's speed drifts by more than the gaps measured (bench/README.md)."""
    for view in groups:
        for i in range(args.repeat):
            order = targets if i % 2 == 0 else targets[::-1]
            for t in order:
                block(tab, t, view if t.kind == "ours" else paired_view(view), 1, 2 if view[3] else 0, args, log)
        for t in targets:
            _log_block(t, view[0] if t.kind == "ours" else paired_name(view[0]), log)


def measure_blocks(tab, targets: list[Target], groups: list, args, log) -> None:
    """--no-paired: each view of each server of ours in one block (the servers alternating view by view); the
    minimal apps in chunks, one after each view of ours, so that they meet the same noise."""
    ours_t = [t for t in targets if t.kind == "ours"]
    mins = [t for t in targets if t.kind == "minimal"]
    n_groups = max(1, len(groups))
    chunk = max(1, math.ceil(args.minimal_repeat / n_groups))
    done_min = {t.label: 0 for t in mins}
    for rnd, view in enumerate(groups or [None]):
        order = ours_t if rnd % 2 == 0 else ours_t[::-1]
        for t in order if view else []:
            block(tab, t, view, args.repeat, args.repeat if view[3] else 0, args, log)
            _log_block(t, view[0], log)
        for t in mins:
            left = args.minimal_repeat - done_min[t.label]
            k = min(chunk, left) if rnd < n_groups - 1 else left
            if k > 0:
                block(tab, t, MINIMAL_VIEW, k, k, args, log)
                done_min[t.label] += k
                _log_block(t, "minimal", log)


def measure_size(size: int, targets: list[Target], args, log) -> None:
    from playwright.sync_api import sync_playwright

    groups = [v for v in VIEWS if v[0] in args.views]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            tab = Tab(browser)
            for t in targets:  # one untimed load each: the browser's cache holds the scripts, as for a user
                if t.kind == "ours" and not groups:
                    continue
                _, query, figs, _ = MINIMAL_VIEW if t.kind == "minimal" else VIEWS[-1]  # ours: the profile
                try:
                    navigate(tab.page, t.server.base + "/" + query, figs, args.timeout)
                except Exception as e:  # noqa: BLE001 - the timed loads will say whether it works
                    log(f"  {t.label}: first load failed: {type(e).__name__}: {str(e)[:200]}")
                    tab.renew()
            if args.paired and groups:
                measure_paired(tab, targets, groups, args, log)
            else:  # blocks (without views of ours: the minimal apps alone)
                measure_blocks(tab, targets, groups, args, log)
            for t in targets:
                t.console_errors = list(tab.errors)
        finally:
            browser.close()


class Tab:
    """The browser page the blocks use; a new one after a failed wait (the old one may still be busy)."""

    def __init__(self, browser):
        self.ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        self.ctx.add_init_script(_INIT_JS)
        self.errors: list[str] = []
        self.page = None
        self.renew()

    def renew(self):
        if self.page is not None:
            try:
                self.page.close(run_before_unload=False)
            except Exception:  # noqa: BLE001, S110 - a page that cannot close is left to the browser's end
                pass
        self.page = self.ctx.new_page()  # same context: same HTTP cache
        self.page.on("console", lambda m: self.errors.append(m.text[:300]) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)[:300]))


def _log_block(t: Target, view: str, log):
    row = t.rows.get(view)
    if not row:
        return
    sh = [s["shown"] for s in row["shown"]]
    ch = [c["redrawn_ms"] for c in row["changes"]]
    msg = f"  {t.label:16s} {view:16s} shown median {_fmt(np.median(sh) if sh else None)} ms (n {len(sh)})"
    if ch:
        msg += f"; change median {_fmt(np.median(ch))} ms (n {len(ch)})"
    if row["errors"]:
        msg += f"; errors: {row['errors'][-1][:160]}"
    log(msg)


def _fmt(x, w=6) -> str:
    return f"{x:{w}.0f}" if x is not None else f"{'-':>{w}s}"


def _ok(value, limit) -> str:
    if value is None or limit is None:
        return "  "
    return "OK" if value <= limit else "OVER"


def print_table(results: dict) -> None:
    print(f"""
END TO END IN THE BROWSER (ms). change = a click on sex "F" (then "F" again) until every figure of the view is
redrawn with the new "n = "; shown = from the navigation to the view's address until every figure is drawn; med
and p95 of the samples. settled = until nothing visible is loading and no callback request is in flight for
{QUIET_MS} ms (on the ALSFRS view: the mixed-model tables too); wait = time with a callback request in flight,
browser = the rest (medians); req = callback requests until redrawn. Targets (p95 of ours): change <= 250 ms
(26) / 1 s (10,000); shown <= 1 s / 3 s. vs <minimal app>: ours / minimal, medians (the issue: never above 1);
with --paired (the default), against the minimal app's samples taken in turn with the view's ("minimal @ view").""")
    for size_label, r in results["sizes"].items():
        lim_c, lim_s = TARGETS.get(r["size"], (None, None))
        mins = {t["label"]: {v["view"]: v for v in t["views"]} for t in r["targets"] if t["kind"] == "minimal"}
        w = max([len(t["label"]) for t in r["targets"]] + [6])
        print(f"\n== {size_label} (load average before {r['load_before']}, after {r['load_after']})")
        head = (f"  {'server':{w}s} {'view':15s} | {'change':>6s} {'p95':>6s} {'':4s} {'settled':>7s} {'wait':>5s}"
                f" {'browser':>7s} {'req':>3s} | {'shown':>6s} {'p95':>6s} {'':4s} {'settled':>7s} {'wait':>5s}")
        for k in mins:
            head += f" | vs {k}: change, shown"
        print(head)
        for t in r["targets"]:
            for v in t["views"]:
                c, s = v["change_ms"] or {}, v["shown_ms"] or {}
                mine = t["kind"] == "ours"
                line = (f"  {t['label']:{w}s} {v['view'][:15]:15s} | {_fmt(c.get('median'))} {_fmt(c.get('p95'))}"
                        f" {_ok(c.get('p95'), lim_c if mine else None):4s} {_med(v, 'change_settled_ms', 7)}"
                        f" {_med(v, 'change_request_wait_ms', 5)} {_med(v, 'change_browser_ms', 7)}"
                        f" {_med(v, 'change_requests', 3)} | {_fmt(s.get('median'))} {_fmt(s.get('p95'))}"
                        f" {_ok(s.get('p95'), lim_s if mine else None):4s} {_med(v, 'shown_settled_ms', 7)}"
                        f" {_med(v, 'shown_request_wait_ms', 5)}")
                for k, rows in mins.items() if mine else []:
                    # paired: the minimal app's samples taken in turn with this view's; else all of them
                    m = rows.get(paired_name(v["view"])) or rows.get(MINIMAL_VIEW[0]) or {}
                    rc = _over(c, m.get("change_ms"))
                    rs = _over(s, m.get("shown_ms"))
                    cell = f"{_ratio(rc):>5s} {_ok(rc, 1.0):4s} {_ratio(rs):>5s} {_ok(rs, 1.0):4s}"
                    line += f" | {cell:>{len(k) + 18}s}"
                errs = v["errors"]
                line += "  (cut short)" if v.get("cut_short") else ""
                print(line + (f"  ({len(errs)} errors: {errs[0][:80]})" if errs else ""))
        for t in r["targets"]:
            for v in t["views"]:
                if v["figures"]:
                    figs = "; ".join(f"{f['id']} {f['points']:,} points {f['draw_ms']['median']:.0f} ms"
                                     for f in v["figures"])
                    print(f"  draw (Plotly.newPlot, median) {t['label']} {v['view']}: {figs}")
        errs = r.get("console_errors") or []
        if errs:
            print(f"  console errors ({len(errs)}): {errs[:3]}")


def _med(v: dict, key: str, w: int) -> str:
    return _fmt((v.get(key) or {}).get("median"), w)


def _over(a: dict | None, b: dict | None) -> float | None:
    a, b = a or {}, b or {}
    return a["median"] / b["median"] if a.get("median") and b.get("median") else None


def _ratio(x) -> str:
    return f"{x:.2f}" if x else "-"


def _git(repo: Path) -> dict:
    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=repo, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"commit": git("rev-parse", "HEAD"), "modified": git("status", "--porcelain").splitlines()}


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="26,1000,10000",
                    help="patient counts; 26 = the shipped data/ (default 26,1000,10000)")
    ap.add_argument("--repeat", type=int, default=7,
                    help="page loads per view and timed filter changes per view (default 7)")
    ap.add_argument("--repo", action="append", default=None, metavar="[LABEL=]PATH",
                    help="checkout whose server is measured (repeatable; default: the one holding this file). "
                         "With several, they take turns (round by round; without --paired, view by view)")
    ap.add_argument("--minimal", default="minimal,minimal-1trace",
                    help="minimal apps to measure: minimal (px.line, a trace per patient), minimal-1trace "
                         "(px.line, one trace with gaps); comma-separated, or 'none' (default both)")
    ap.add_argument("--paired", action=argparse.BooleanOptionalAction, default=True,
                    help="measure each view in rounds, every server in turn (one page load and two filter "
                         "changes each), and compare each view with the minimal apps' samples of its own rounds "
                         "(default); --no-paired: each server's view in one block, the minimal apps in chunks")
    ap.add_argument("--minimal-repeat", type=int, default=None,
                    help="without --paired: page loads and filter changes of each minimal app per size "
                         "(default --repeat)")
    ap.add_argument("--views", default=",".join(v[0] for v in VIEWS),
                    help="views of ours, by name (default all: " + ", ".join(v[0] for v in VIEWS) + ")")
    ap.add_argument("--draw-repeat", type=int, default=3, help="Plotly.newPlot runs per figure (default 3; 0 skips)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds any one wait may take (default 300)")
    ap.add_argument("--slow", type=float, default=30.0,
                    help="a sample slower than this (s) limits its view to 2 samples of each kind (default 30)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--note", default="", help="free text saved with the results (e.g. the machine's load)")
    args = ap.parse_args(argv)
    args.views = [v.strip() for v in args.views.split(",")]
    if args.minimal_repeat is None:
        args.minimal_repeat = args.repeat
    repos = []
    for spec in args.repo or [str(HERE.parent)]:
        label, _, path = spec.rpartition("=")
        path = Path(path).resolve()
        repos.append((label or path.name, path))
    min_kinds = [] if args.minimal == "none" else [m.strip() for m in args.minimal.split(",") if m.strip()]
    for m in min_kinds:
        if m not in MINIMAL_KINDS:
            ap.error(f"unknown minimal app {m!r} (choose from {', '.join(MINIMAL_KINDS)})")
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = {"when": stamp, "repeat": args.repeat, "minimal_repeat": args.minimal_repeat, "paired": args.paired,
               "note": args.note,
               "repos": {label: {"path": str(p), **_git(p)} for label, p in repos}, "sizes": {}}
    server_log = OUT / f"draw-server-{stamp}.log"

    def log(msg):
        print(msg, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            label = "shipped data/" if size == 26 else f"synthetic {size:,}"
            log(f"== {label} (load average {_load()})")
            t_gen = time.perf_counter()
            dirs = {lab: dataset(size, repo, Path(tmp), args.seed) for lab, repo in repos}
            log(f"  data ready in {time.perf_counter() - t_gen:.1f} s")
            servers = []
            try:
                for lab, repo in repos:
                    servers.append(Target(lab, "ours", ours(lab, repo, dirs[lab], server_log)))
                for m in min_kinds:
                    servers.append(Target(m, "minimal", minimal(m, MINIMAL_KINDS[m], dirs[repos[0][0]], server_log)))
                ready = {t.label: round(t.server.wait_ready(), 2) for t in servers}
                log(f"  servers ready (s from launch): {ready}")
                load_before = _load()
                measure_size(size, servers, args, log)
            finally:
                for t in servers:
                    t.server.stop()
            results["sizes"][label] = {
                "size": size, "ready_s": ready, "load_before": load_before, "load_after": _load(),
                "console_errors": getattr(servers[0], "console_errors", []) if servers else [],
                "targets": [{"label": t.label, "kind": t.kind, "views": summarise(t)} for t in servers],
            }
            path = OUT / f"draw-{stamp}.json"
            path.write_text(json.dumps(results, indent=1))
    print_table(results)
    print(f"\nsaved {path}; server log {server_log}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
