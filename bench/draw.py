#!/usr/bin/env python
"""How long the browser takes to show each view: the real server, headless Chromium.

Not a test: it measures and prints figures (see bench/README.md).

    python bench/draw.py [--sizes 26,10000] [--repeat 5]

For each dataset size (26 = the shipped data/; N = a synthetic trial of N
patients, seed 0, as in bench.py) the production server (gunicorn) is
started, and Debian's Chromium (``/usr/bin/chromium``, driven by Playwright;
never a downloaded browser) opens each view's address (``?tab=...``, also
the ALSFRS view in compare mode).  Per view:

- *view shown*: from the start of the navigation until every figure of the
  view is drawn with the title of the selection's n (server, network, JSON
  parsing and drawing together), ``--repeat`` page loads;
- per figure, *draw*: ``Plotly.newPlot`` of the figure's own data and layout
  into a new element of the same page, timed in the page with
  ``performance.now()``, ``--repeat`` times: what plotly.js needs to draw it
  once the data is there.  With the points drawn and the SVG paths made.

The issue's target: 10,000 patients' spaghetti plots draw within a second.
Figures are saved as JSON in bench/out/draw-*.json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench import Server  # noqa: E402
from dashboard import data, ids, simulate  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: (name, address query, figure ids of the view)
ALSFRS_FIGURES = [ids.ALSFRS_SPAGHETTI, ids.ALSFRS_PAIRS, ids.ALSFRS_WATERFALL]
VIEWS = [
    ("ALSFRS", "?tab=alsfrs", ALSFRS_FIGURES),
    ("ALSFRS, compare", "?cohort=compare&tab=alsfrs", ALSFRS_FIGURES),
    ("FVC", "?tab=fvc", [ids.FVC_SPAGHETTI]),
    ("Weakness", "?tab=weakness", [ids.WS_GRID, ids.WS_MEAN]),
    ("Safety", "?tab=safety", [ids.AE_HEATMAP]),
    ("Profile", "?tab=profile&patient=1", [ids.PROFILE_FIGURE]),
]

_DRAWN = """
([ids]) => ids.every(id => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  return gd && gd._fullLayout && gd._fullData && gd._fullData.length > 0
    && !document.querySelector('#' + id + '[data-dash-is-loading="true"]');
})
"""

_REDRAW = """
async ([id, repeat]) => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
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


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms, dtype=float)
    return {"n": len(a), "median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def measure(base: str, repeat: int, log) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for name, query, figs in VIEWS:
            shown = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                page.goto(base + "/" + query)
                page.wait_for_function(_DRAWN, arg=[figs], timeout=120_000)
                shown.append((time.perf_counter() - t0) * 1000)
            log(f"  {name:16s} view shown  median {np.median(shown):7.0f} ms")
            row = {"view": name, "query": query, "shown_ms": _stats(shown), "figures": []}
            for fid in figs:
                r = page.evaluate(_REDRAW, [fid, repeat])
                row["figures"].append({"id": fid, "points": r["points"], "traces": r["traces"],
                                       "draw_ms": _stats(r["times"])})
                log(f"  {'':16s} {fid:20s} {r['points']:>9,} points in {r['traces']:>2} traces:"
                    f" draw median {np.median(r['times']):6.0f} ms")
            rows.append(row)
        browser.close()
    if errors:
        log(f"  console errors: {errors[:5]}")
    return rows, errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="26,10000", help="patient counts; 26 = the shipped data/ (default 26,10000)")
    ap.add_argument("--repeat", type=int, default=5, help="page loads per view and draws per figure (default 5)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = {"when": stamp, "repeat": args.repeat, "sizes": {}}

    def log(msg):
        print(msg, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            if size == 26:
                directory, label = data.DEFAULT_DATA_DIR, "shipped data/"
            else:
                directory = simulate.write_trial(simulate.synthetic_trial(size, seed=args.seed),
                                                 Path(tmp) / f"trial-{size}")
                label = f"synthetic {size:,}"
            log(f"== {label}")
            srv = Server(directory, OUT / f"draw-server-{stamp}.log")
            try:
                srv.wait_ready()
                rows, errors = measure(srv.base, args.repeat, log)
            finally:
                srv.stop()
            results["sizes"][label] = {"views": rows, "console_errors": errors}
    print("\nSUMMARY (ms; view shown = navigation until every figure is drawn; draw = Plotly.newPlot of one figure)")
    print(f"  {'dataset':16s} {'view':16s} {'shown med':>10s} {'p95':>7s}   figure: points, draw median / max")
    for label, r in results["sizes"].items():
        for v in r["views"]:
            figs = "; ".join(f"{f['id']}: {f['points']:,}, {f['draw_ms']['median']:.0f} / {f['draw_ms']['max']:.0f}"
                             for f in v["figures"])
            print(f"  {label:16s} {v['view']:16s} {v['shown_ms']['median']:10.0f} {v['shown_ms']['p95']:7.0f}   {figs}")
    path = OUT / f"draw-{stamp}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
