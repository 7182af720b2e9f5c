#!/usr/bin/env python
"""Benchmark of the dashboard: start-up, and the one callback behind each filter change.

Not a test: it measures and prints figures (see bench/README.md).

    python bench/bench.py [--sizes 26,1000,10000] [--repeat N]

A filter change in the browser is ONE request: ``sync_state`` (dashboard/callbacks.py) reconciles the URL,
the controls and the filter store, sets the simulated-data notice and draws the visible view (the selected
tab's), the latter only when what the view depends on (its request, ``callbacks.view_request``) differs from
what the page last drew it for (the view's request store, a State of sync_state).  The mixed-model parts of
the ALSFRS and between-groups views, asked once their figures are drawn, are not measured here.

For each dataset size (26 = the shipped data/; any other N = a synthetic trial of N patients made by
``dashboard.simulate.synthetic_trial`` in a temporary directory, seed 0):

1. start-up: the real server (``python -m gunicorn -c dashboard/gunicorn_conf.py app:server``, cwd the
   repo, TRIAL_DATA_DIR and DASHBOARD_BIND set) is launched; the time until ``GET /`` and
   ``GET /_dash-layout`` both answer 200 is "ready"; the time until the page load's ``sync_state`` (nothing
   triggered: it draws the overview itself) has answered too is "first page".  The payload is checked
   against the server's ``/_dash-dependencies`` first.  Then a few filter changes are sent through the
   server on each view's tab exactly as the browser sends them (one POST /_dash-update-component of
   ``sync_state``, with the filter store and the request stores of the page's previous answers), and the
   server is stopped.
2. in-process: one Dash app per dataset (``create_app(dataset=ds)``); ``sync_state`` is called directly
   inside ``app.server.test_request_context()`` and a Dash callback context naming the control that
   changed, with its arguments taken from a simulated page state (the layout's initial values, updated by
   each answer as the browser does), on each view's tab for each filter change, ``--repeat`` times.  The
   view's part of it, ``callbacks.VIEW_CALLBACKS[tab]`` called alone with the request sync_state drew the
   view for, is timed ``--part-repeat`` times as a breakdown (it is inside sync_state's time, not in
   addition).  The JSON the browser would receive is encoded with Dash's own encoder
   (``plotly.io.json.to_json_plotly``) and measured.
3. ``--profile K``: cProfile of sync_state on the K slowest tabs at the largest size.

Everything printed is also saved as JSON in bench/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as _dt
import io
import json
import os
import platform
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))

import dash._callback as _dash_callback  # noqa: E402
import numpy as np  # noqa: E402
from dash._callback_context import context_value  # noqa: E402
from dash._utils import AttributeDict, to_json  # noqa: E402
from dash.exceptions import PreventUpdate  # noqa: E402

from dashboard import callbacks, data, ids, server, simulate, views  # noqa: E402

#: Targets to compare with (p95 per filter change of the visible view, start-up).
TARGET_P95_MS = {"shipped": 50.0, 10_000: 500.0}
TARGET_STARTUP_S = 2.0

#: The tabs timed: every view of the registry but the paper check, which does not depend on the selection (a
#: view not offered for a dataset has no tab there and is left out).
TIMED_VIEWS = tuple(v.key for v in views.REGISTRY if v.uses_cohort)
#: The one callback a filter change asks for (it also sets the simulated-data notice and draws the view).
SYNC = "sync_state"
FIRST_TAB = "overview"


# ---------------------------------------------------------------- the callbacks' declared inputs and outputs


def _split_output(key: str) -> list[tuple[str, str]]:
    """'..a.b...c.d..' or 'a.b' (with an optional '@hash' suffix) -> [(id, prop), ...]."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    out = []
    for p in parts:
        p = p.split("@", 1)[0]
        cid, prop = p.rsplit(".", 1)
        out.append((cid, prop))
    return out


def callback_specs() -> dict[str, dict]:
    """Per callback function name: its output key, outputs, inputs, state and the plain function.

    Read from dash's global callback registry, which keeps them until the first app serves a request (which
    never happens in this process).  sync_state must answer and read every view's request store and answer
    every view's slots (callbacks.VIEW_OUTPUTS): the wiring this script measures.
    """
    specs = {}
    for key, entry in _dash_callback.GLOBAL_CALLBACK_MAP.items():
        func = getattr(entry.get("callback"), "__wrapped__", None)
        if func is None or func.__module__ != callbacks.__name__:
            continue
        specs[func.__name__] = {
            "output": key,
            "outputs": _split_output(key),
            "multi": key.startswith(".."),
            "inputs": [(i["id"], i["property"]) for i in entry["inputs"]],
            "state": [(s["id"], s["property"]) for s in entry["state"]],
            "func": func,
            # flexible signatures (keyword inputs, dict outputs): name -> position in the flat lists
            "in_names": entry.get("inputs_state_indices"),
            "out_names": entry.get("outputs_indices"),
        }
    sync = specs.get(SYNC)
    if sync is None:
        raise SystemExit(f"bench: no callback {SYNC} in dashboard.callbacks")
    requests = [(ids.view_request(v.prefix), "data") for v in views.REGISTRY]
    slots = [(o.component_id, o.component_property) for _v, _name, o in callbacks.VIEW_OUTPUTS]
    missing = [f"output {c}.{p}" for c, p in requests + slots if (c, p) not in sync["outputs"]]
    missing += [f"state {c}.{p}" for c, p in requests if (c, p) not in sync["state"]]
    if missing:
        raise SystemExit(f"bench: {SYNC} does not draw the views as expected: {', '.join(missing[:5])}")
    return specs


def part_specs() -> dict[str, dict]:
    """The view part of sync_state, per timed view: ``callbacks.VIEW_CALLBACKS[key]`` (the plain function that
    sync_state's visible_view calls), given the view's inputs by keyword (``callbacks.request_keys``, the order
    of its request) and answering its slots (``callbacks.VIEW_OUTPUTS``)."""
    parts = {}
    for key in TIMED_VIEWS:
        view = views.BY_KEY[key]
        names = list(callbacks.request_keys(view))
        outs = [(name, o) for v, name, o in callbacks.VIEW_OUTPUTS if v is view]
        parts[key] = {
            "func": callbacks.VIEW_CALLBACKS[key], "names": names,
            "request": (ids.view_request(view.prefix), "data"),
            "outputs": [(o.component_id, o.component_property) for _n, o in outs],
            "out_names": {name: i for i, (name, _o) in enumerate(outs)}, "multi": True,
        }
    return parts


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    if isinstance(children, (list, tuple)):
        for c in children:
            yield from _walk(c)
    elif children is not None and hasattr(children, "to_plotly_json"):
        yield from _walk(children)


def initial_state(app, specs) -> dict[str, object]:
    """The page's initial values of every callback input and state ('id.prop' -> value), from the layout."""
    by_id = {getattr(c, "id", None): c for c in _walk(app.layout) if getattr(c, "id", None) is not None}
    state: dict[str, object] = {}
    for spec in specs.values():
        for cid, prop in spec["inputs"] + spec["state"]:
            comp = by_id.get(cid)
            state[f"{cid}.{prop}"] = getattr(comp, prop, None) if comp is not None else None
    state[f"{ids.URL}.search"] = ""  # a plain address
    return state


def _args(spec, state) -> list:
    return [state.get(f"{c}.{p}") for c, p in spec["inputs"] + spec["state"]]


def call(spec, state):
    """Run a callback as Dash would with the page state: positional, or by keyword for dict signatures."""
    values = _args(spec, state)
    names = spec.get("in_names")
    if isinstance(names, dict):
        return spec["func"](**{k: values[i] for k, i in names.items() if isinstance(i, int)})
    return spec["func"](*values)


def _is_no_update(v) -> bool:
    return type(v).__name__ == "NoUpdate"


def response_of(spec, result) -> dict:
    """The body dash sends back for a callback's return value (no_update outputs left out)."""
    names = spec.get("out_names")
    if isinstance(result, dict) and isinstance(names, dict):
        values = [None] * len(spec["outputs"])
        for k, i in names.items():
            values[i] = result[k]
    else:
        values = list(result) if spec["multi"] else [result]
    resp: dict = {}
    for (cid, prop), v in zip(spec["outputs"], values, strict=True):
        if _is_no_update(v):
            continue
        resp.setdefault(cid, {})[prop] = v
    return {"multi": True, "response": resp}


def apply_response(state: dict, body: dict) -> None:
    """What the page does with an answer: every property sent is set (the stores too)."""
    for cid, props in body.get("response", {}).items():
        for prop, v in props.items():
            state[f"{cid}.{prop}"] = v


@contextlib.contextmanager
def triggered(prop_ids: list[str], state: dict):
    """A Dash callback context in which ``ctx.triggered_id`` names the changed control."""
    token = context_value.set(AttributeDict(
        triggered_inputs=[{"prop_id": p, "value": state.get(p)} for p in prop_ids],
        input_values={}, state_values={}, updated_props={},
    ))
    try:
        yield
    finally:
        context_value.reset(token)


# ---------------------------------------------------------------- scenarios: the filter changes


def scenarios(ds, state) -> tuple[list[dict], str, str]:
    """The filter changes timed, each from the page's state on a tab: (name, {'id.prop': new value}); "from":
    a change the page made just before (so that the timed one changes something); "trigger": the control(s)
    that changed, when not all of "changes".  Also the patient highlighted and another one."""
    pats = ds.patients
    eff = pats.loc[pats["efficacy_population"], "patient_id"]
    pid = str(eff.iloc[len(eff) // 2]) if len(eff) else str(pats["patient_id"].iloc[0])
    pid_other = str(pats["patient_id"].iloc[0])
    if pid_other == pid:
        pid_other = str(pats["patient_id"].iloc[-1])
    age = state.get(f"{ids.AGE}.value") or [0, 120]
    lo, hi = max(float(age[0]), 45.0), min(float(age[1]), 60.0)
    if lo > hi:
        lo, hi = float(age[0]), float(age[1])
    pop = f"{ids.POPULATION}.value"
    return [
        # back to the default population (from the default itself nothing would change: no request at all)
        {"name": "safety (default)", "changes": {pop: "safety"}, "from": {pop: "efficacy"}},
        {"name": "efficacy", "changes": {pop: "efficacy"}},
        {"name": "progressors", "changes": {pop: "progressors"}},
        {"name": "stable", "changes": {pop: "stable"}},
        {"name": "compare", "changes": {pop: "compare"}},
        {"name": "sex F", "changes": {f"{ids.SEX}.value": ["F"]}},
        {"name": "onset spinal+bulbar", "changes": {f"{ids.ONSET}.value": ["spinal+bulbar"]}},
        {"name": f"age {lo:g}-{hi:g}", "changes": {f"{ids.AGE}.value": [lo, hi]}},
        {"name": "threshold 4 (compare)", "changes": {f"{ids.THRESHOLD}.value": 4}, "from": {pop: "compare"}},
        {"name": f"highlight patient {pid}", "changes": {f"{ids.HIGHLIGHT}.value": pid}},
    ], pid, pid_other


def view_controls(key: str) -> list[dict]:
    """A view's own control changed on its tab (an input of sync_state too: the view is drawn again)."""
    changes = {
        "alsfrs": {f"{ids.ALSFRS_SHOW_FITS}.value": ["fits"], f"{ids.ALSFRS_WINDOW}.value": 6},
        "fvc": {f"{ids.FVC_THRESHOLD}.value": 80},
        "weakness": {f"{ids.WS_THRESHOLD}.value": 0.5},
        "safety": {f"{ids.AE_COLOUR_BY}.value": "serious", f"{ids.AE_ONLY}.value": ["serious"]},
    }.get(key)
    if not changes:
        return []
    label = "view control: " + ", ".join(f"{k.split('.')[0]}={v}" for k, v in changes.items())
    return [{"name": label, "changes": changes, "view_control": True}]


# ---------------------------------------------------------------- the page's state, one sync_state at a time
#
# ``run(state, trigger) -> answer body`` asks sync_state once: in process (in_process) or through the server
# (over_http).  The page keeps what the answers set, the filter store and each view's request store among them.


def step(run, state: dict, changes: dict) -> dict:
    """One change the page makes: the controls set, sync_state asked (they triggered it), its answer taken in."""
    state.update(changes)
    body = run(state, list(changes))
    apply_response(state, body)
    return body


def on_tab(run, page: dict, key: str, pid_other: str) -> dict:
    """The page's state on a view's tab, from the page's state after its load: a patient highlighted first on
    the profile (the tab shows a chosen patient), then the tab chosen (its answer draws the view)."""
    state = dict(page)
    if key == "profile" and not state.get(f"{ids.HIGHLIGHT}.value"):
        step(run, state, {f"{ids.HIGHLIGHT}.value": pid_other})
    if state.get(f"{ids.TABS}.value") != key:
        step(run, state, {f"{ids.TABS}.value": key})
    return state


def change_of(run, tab_state: dict, sc: dict) -> tuple[dict, list[str]]:
    """The state sync_state is asked with for a scenario, and the changed control(s): the tab's state, after
    the scenario's "from" change if any, with the scenario's controls set."""
    state = dict(tab_state)
    if sc.get("from"):
        step(run, state, sc["from"])
    state.update(sc["changes"])
    return state, list(sc.get("trigger") or sc["changes"])


def drawn_request(part: dict, body: dict):
    """The request a view was drawn for in sync_state's answer (its request store), or None: not drawn."""
    cid, prop = part["request"]
    return body.get("response", {}).get(cid, {}).get(prop)


# ---------------------------------------------------------------- timing helpers


def _ms(samples) -> dict:
    a = np.asarray(samples, dtype=float) * 1000
    if not len(a):
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None}
    return {"n": int(len(a)), "median": float(np.median(a)), "p95": float(np.percentile(a, 95)),
            "min": float(a.min()), "max": float(a.max())}


def time_call(fn, repeat: int):
    """(samples in s, last result); a PreventUpdate result is returned as the exception."""
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            result = fn()
        except PreventUpdate as exc:
            result = exc
        samples.append(time.perf_counter() - t0)
    return samples, result


def encode(spec, result, repeat: int):
    if isinstance(result, PreventUpdate):
        return [0.0], 0, 0
    body = response_of(spec, result)
    samples, text = time_call(lambda: to_json(body), repeat)
    raw = text.encode("utf-8")
    return samples, len(raw), len(zlib.compress(raw, 6))


# ---------------------------------------------------------------- in-process


def in_process(sync):
    """sync_state called directly, in a callback context naming the changed controls; -> the answer's body."""
    def run(state, trigger):
        with triggered(trigger, state):
            return response_of(sync, call(sync, state))
    return run


def measure(sync, part, key, label, state, trigger, repeat, part_repeat, encode_repeat) -> dict:
    """sync_state timed for one change on a tab, and the view part of it (VIEW_CALLBACKS[key] alone, with the
    request sync_state drew the view for, and its slots' encoding once) when it drew the view."""
    with triggered(trigger, state):
        samples, res = time_call(lambda: call(sync, state), repeat)
    enc, size, gz = encode(sync, res, encode_repeat)
    row = {"tab": key, "scenario": label, "callback": SYNC, **_ms(samples), "encode_median": _ms(enc)["median"],
           "bytes": size, "gzip_bytes": gz, "prevented": isinstance(res, PreventUpdate), "_samples": samples}
    request = None if row["prevented"] else drawn_request(part, response_of(sync, res))
    row["view_drawn"] = request is not None
    if request is not None and part_repeat > 0:
        kwargs = dict(zip(part["names"], request, strict=True))
        psamples, pres = time_call(lambda: part["func"](**kwargs), part_repeat)
        penc, psize, pgz = encode(part, pres, 1)  # a breakdown: its encoding once
        row["view_part"] = {"callback": f"callbacks.VIEW_CALLBACKS[{key!r}]", **_ms(psamples),
                            "encode_median": _ms(penc)["median"], "bytes": psize, "gzip_bytes": pgz}
    return row


def _log_row(log, row):
    vp = row.get("view_part")
    part = (f"  of which view {vp['median']:8.1f} ms" if vp
            else "  view not drawn (its request did not change)" if not row["view_drawn"] else "")
    log(f"  sync_state on {row['tab']:<9s} {row['scenario'][:34]:<34s} {row['median']:9.1f} ms"
        f"  encode {row['encode_median']:7.1f} ms  {row['bytes']:>11,d} B{part}")


def bench_callbacks(ds, specs, parts, repeat: int, part_repeat: int, encode_repeat: int, log) -> dict:
    t0 = time.perf_counter()
    app = server.create_app(dataset=ds)
    create_s = time.perf_counter() - t0
    app.server.config[callbacks.DATASET_KEY] = ds
    sync = specs[SYNC]
    run = in_process(sync)
    results = {"create_app_s": create_s, "sync_state": [], "chains": {}, "not_offered": []}
    with app.server.test_request_context():
        layout_state = initial_state(app, specs)
        # the page load: nothing triggered, the request stores empty; sync_state draws the first tab's view
        row = measure(sync, parts[FIRST_TAB], FIRST_TAB, "page load (nothing triggered)", layout_state, [],
                      repeat, part_repeat, encode_repeat)
        results["page_load"] = row
        _log_row(log, row)
        page = dict(layout_state)
        apply_response(page, run(page, []))
        scens, _pid, pid_other = scenarios(ds, page)
        offered = {v.key for v in views.offered(ds)}
        for key in TIMED_VIEWS:
            if key not in offered:
                results["not_offered"].append(key)
                log(f"  {key}: not offered for this dataset (no tab)")
                continue
            tab_state = on_tab(run, page, key, pid_other)
            for sc in scens + view_controls(key):
                state, trigger = change_of(run, tab_state, sc)
                row = measure(sync, parts[key], key, sc["name"], state, trigger, repeat, part_repeat, encode_repeat)
                row["view_control"] = bool(sc.get("view_control"))
                results["sync_state"].append(row)
                _log_row(log, row)
    # a filter change of the visible view = sync_state on its tab + the encoding of its answer, run by run
    for key in TIMED_VIEWS:
        rows = [r for r in results["sync_state"] if r["tab"] == key and not r["view_control"]]
        if not rows:
            continue
        pooled, worst = [], None
        for r in rows:
            chain = [s + (r["encode_median"] or 0) / 1000 for s in r["_samples"]]
            pooled += chain
            st = _ms(chain)
            if worst is None or st["p95"] > worst[1]["p95"]:
                worst = (r["scenario"], st)
        parts_ms = [r["view_part"]["median"] for r in rows if r.get("view_part")]
        results["chains"][key] = {**_ms(pooled), "worst_scenario": worst[0], "worst_p95": worst[1]["p95"],
                                  "changes": len(rows), "view_drawn": sum(r["view_drawn"] for r in rows),
                                  "view_part_median": float(np.median(parts_ms)) if parts_ms else None}
    return results


# ---------------------------------------------------------------- the real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _post(url: str, payload: dict, timeout: float = 60.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def payload(spec, state, changed: list[str]) -> dict:
    """The request body Dash's renderer sends for one callback: its outputs, and its inputs and state with the
    page's values (for sync_state: the filter store and each view's request store as the last answers set them)."""
    outs = [{"id": c, "property": p} for c, p in spec["outputs"]]
    return {
        "output": spec["output"],
        "outputs": outs if spec["multi"] else outs[0],
        "inputs": [{"id": c, "property": p, "value": state.get(f"{c}.{p}")} for c, p in spec["inputs"]],
        "changedPropIds": changed,
        "state": [{"id": c, "property": p, "value": state.get(f"{c}.{p}")} for c, p in spec["state"]],
    }


def check_dependencies(specs, deps: list[dict], names) -> None:
    """The payloads this script sends must be those of the server's callbacks (/_dash-dependencies): the same
    output key (every output, in order), inputs and state, in the same order."""
    by_output = {d["output"]: d for d in deps}
    for name in names:
        spec = specs[name]
        dep = by_output.get(spec["output"])
        if dep is None:
            raise RuntimeError(f"{name}: the server has no callback with output {spec['output'][:120]}")
        for kind in ("inputs", "state"):
            theirs = [(d["id"], d["property"]) for d in dep.get(kind, [])]
            if theirs != spec[kind]:
                raise RuntimeError(f"{name}: {kind} differ from the server's: {spec[kind]} != {theirs}")


def over_http(srv, sync):
    """sync_state asked through the server, as the browser asks it; -> the answer's body."""
    url = srv.base + "/_dash-update-component"

    def run(state, trigger):
        status, body = _post(url, payload(sync, state, trigger))
        if status not in (200, 204):
            raise RuntimeError(f"{SYNC} answered {status}: {body[:300]!r}")
        return json.loads(body) if status == 200 else {}
    return run


class Server:
    """The production server (gunicorn) on one dataset, started and stopped by this process."""

    def __init__(self, data_dir: Path, log_path: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, TRIAL_DATA_DIR=str(data_dir), DASHBOARD_BIND=f"127.0.0.1:{self.port}")
        self.log = open(log_path, "ab")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "dashboard/gunicorn_conf.py", "app:server"],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120.0) -> dict:
        """Poll until GET / and GET /_dash-layout both answer 200; times from launch."""
        out = {}
        deadline = self.t0 + timeout
        for path in ("/", "/_dash-layout"):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with status {self.proc.returncode} (log: {self.log.name})")
                try:
                    status, body = _get(self.base + path, timeout=10)
                    if status == 200:
                        out[path] = {"s": time.perf_counter() - self.t0, "bytes": len(body)}
                        break
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"server not ready after {timeout:g} s (log: {self.log.name})")
                time.sleep(0.01)
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def first_page(srv: Server, specs, parts, state: dict) -> dict:
    """The page load's one callback: sync_state with nothing triggered, the filter store as the layout starts it
    and every request store empty; it answers the controls, the notice and the first tab's view."""
    url = srv.base + "/_dash-update-component"
    status, deps = _get(srv.base + "/_dash-dependencies")
    if status != 200:
        raise RuntimeError(f"/_dash-dependencies answered {status}")
    check_dependencies(specs, json.loads(deps), [SYNC])
    t = time.perf_counter()
    status, body = _post(url, payload(specs[SYNC], state, []))
    elapsed = time.perf_counter() - t
    if status != 200:
        raise RuntimeError(f"the page load's {SYNC} answered {status}: {body[:300]!r}")
    answer = json.loads(body)
    apply_response(state, answer)
    drawn = [key for key, part in parts.items() if drawn_request(part, answer) is not None]
    if drawn != [FIRST_TAB]:
        raise RuntimeError(f"the page load's {SYNC} drew {drawn or 'no view'}, not the {FIRST_TAB}")
    return {"initial_callbacks_s": elapsed, "response_bytes": {SYNC: len(body)}, "dependencies_bytes": len(deps),
            "view_drawn": drawn[0]}


def bench_http(srv: Server, specs, parts, page: dict, scens: list[dict], pid_other: str, offered, repeat: int,
               log) -> list[dict]:
    """Filter changes through the server on each view's tab, as the browser sends them: one POST of sync_state,
    from the page's state on that tab (the filter store and the request stores its previous answers set)."""
    url = srv.base + "/_dash-update-component"
    sync = specs[SYNC]
    run = over_http(srv, sync)
    keys = [k for k in TIMED_VIEWS if k in offered]
    # warm-up: every view's tab a few times (first requests set up dash's dispatch and imports in each worker)
    for _ in range(2):
        for key in keys:
            on_tab(run, page, key, pid_other)
    rows = []
    for key in keys:
        tab_state = on_tab(run, page, key, pid_other)
        for sc in scens:
            state, trigger = change_of(run, tab_state, sc)
            body = payload(sync, state, trigger)
            samples, size, drawn = [], 0, False
            for _ in range(repeat):
                t = time.perf_counter()
                status, answer = _post(url, body)
                samples.append(time.perf_counter() - t)
                if status not in (200, 204):
                    raise RuntimeError(f"{SYNC} on {key} answered {status}: {answer[:300]!r}")
                size = len(answer)
                drawn = status == 200 and drawn_request(parts[key], json.loads(answer)) is not None
            st = _ms(samples)
            rows.append({"tab": key, "scenario": sc["name"], "callback": SYNC, **st, "response_bytes": size,
                         "view_drawn": drawn})
            log(f"  HTTP sync_state on {key:<9s} {sc['name'][:26]:<26s} median {st['median']:9.1f} ms"
                f"  p95 {st['p95']:9.1f} ms  {size:>11,d} B{'' if drawn else '  (view not drawn)'}")
    return rows


# ---------------------------------------------------------------- profiling


def _where(path: str, func: str) -> str:
    if path.startswith("~") or path == "~":
        return f"builtin {func}"
    p = path.replace("\\", "/")
    if "/site-packages/" in p:
        return p.split("/site-packages/", 1)[1].split("/", 1)[0]
    if "/dashboard/" in p:
        return "dashboard/" + p.rsplit("/", 1)[1]
    if "/lib/python" in p:
        return "stdlib " + p.rsplit("/", 1)[1]
    return p.rsplit("/", 1)[-1]


def profile_sync(ds, specs, key: str, scenario: dict, pid_other: str, calls: int, out_dir: Path) -> dict:
    """cProfile of ``calls`` runs of sync_state on a view's tab for one change, plus the JSON encoding of its
    answer (the view drawn each time: the request store it is asked with is the one before the change)."""
    app = server.create_app(dataset=ds)
    app.server.config[callbacks.DATASET_KEY] = ds
    sync = specs[SYNC]
    run = in_process(sync)
    with app.server.test_request_context():
        page = initial_state(app, specs)
        apply_response(page, run(page, []))
        state, trigger = change_of(run, on_tab(run, page, key, pid_other), scenario)
        with triggered(trigger, state):
            call(sync, state)  # warm
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(calls):
                res = call(sync, state)
                to_json(response_of(sync, res))
            prof.disable()
    path = out_dir / f"profile-{len(ds.patients)}-{SYNC}-{key}.prof"
    prof.dump_stats(str(path))
    st = pstats.Stats(prof)
    total = sum(v[2] for v in st.stats.values())
    by_where: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
        k = _where(file, func)
        by_where[k] = by_where.get(k, 0.0) + tt
    dash_funcs = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():
        if "/dashboard/" in file.replace("\\", "/"):
            dash_funcs.append({"function": f"{Path(file).name}:{line} {func}", "calls": nc,
                               "cum_ms_per_call": 1000 * ct / calls, "own_ms_per_call": 1000 * tt / calls})
    dash_funcs.sort(key=lambda r: -r["cum_ms_per_call"])
    hot = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:25]:
        hot.append({"function": f"{_where(file, func)} {Path(file).name}:{line} {func}", "calls": nc,
                    "own_ms_per_call": 1000 * tt / calls, "cum_ms_per_call": 1000 * ct / calls})
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
    (out_dir / f"profile-{len(ds.patients)}-{SYNC}-{key}.txt").write_text(buf.getvalue())
    return {
        "callback": f"{SYNC} on {key}", "scenario": scenario["name"], "calls": calls,
        "total_ms_per_call": 1000 * total / calls,
        "by_package_ms_per_call": {
            k: 1000 * v / calls for k, v in sorted(by_where.items(), key=lambda kv: -kv[1])[:15]},
        "dashboard_functions": dash_funcs[:25], "hottest_functions": hot, "prof_file": str(path),
    }


# ---------------------------------------------------------------- printing


def fmt(x, spec="9.1f"):
    return " " * len(format(0.0, spec)) if x is None else format(x, spec)


def _part_cols(row) -> str:
    vp = row.get("view_part")
    if vp:
        return f"  | {fmt(vp['median'])} {fmt(vp['encode_median'], '8.1f')} {vp['bytes']:>12,d}"
    return "  | view not drawn (its request did not change)" if not row["view_drawn"] else "  |"


def print_size(size_label: str, r: dict, target: float | None):
    print()
    print("=" * 118)
    print(f"DATASET {size_label}: {r['patients']} patients, {r['measurements']} measurements,"
          f" {r['adverse_events']} adverse events")
    print("=" * 118)
    g = r.get("generate")
    if g:
        print(f"generate {g['generate_s']:.2f} s + write {g['write_s']:.2f} s;  ", end="")
    print(f"load_dataset {r['load_s']:.2f} s;  create_app {r['callbacks']['create_app_s']:.2f} s;  load average before"
          f" {r['loadavg_before'][0]:.2f}, after {r['loadavg_after'][0]:.2f} ({os.cpu_count()} CPUs)")
    s = r.get("startup")
    if s:
        runs = s["runs"]
        print(f"\nSTART-UP (gunicorn, {len(runs)} launches; target < {TARGET_STARTUP_S:g} s to first page)")
        for i, run in enumerate(runs, 1):
            print(f"  launch {i}: GET / 200 after {run['/']['s']:.2f} s ({run['/']['bytes']:,} B);"
                  f" /_dash-layout 200 after {run['/_dash-layout']['s']:.2f} s ({run['/_dash-layout']['bytes']:,} B);"
                  f" first page (the load's sync_state answered, {run['view_drawn']} drawn) after"
                  f" {run['first_page_s']:.2f} s ({run['response_bytes'][SYNC]:,} B)")
        print(f"  median ready {s['ready_median_s']:.2f} s, first page {s['first_page_median_s']:.2f} s"
              f"  -> {'OK' if s['first_page_median_s'] < TARGET_STARTUP_S else 'OVER TARGET'}")
    cb = r["callbacks"]
    print(f"\nSYNC_STATE IN-PROCESS (ms; {cb['repeat']} runs each; encode = Dash's JSON encoding of the answer;"
          " ratio = callback / encode)")
    print("  sync_state is the whole filter change: URL, controls and filter store reconciled, the simulated-data"
          " notice, and the\n  visible view drawn (when its request changed).  'of which: view' ="
          " callbacks.VIEW_CALLBACKS[tab] alone with the request\n  sync_state drew the view for"
          f" ({cb['part_repeat']} runs): a part of sync_state's time, not in addition.")
    if cb.get("not_offered"):
        print(f"  not offered for this dataset (no tab): {', '.join(cb['not_offered'])}")
    head = (f"  {'tab':<9s} {'change':<36s} {'median':>9s} {'p95':>9s} {'encode':>8s} {'ratio':>6s}"
            f" {'JSON bytes':>11s} {'gzip':>9s}  | {'of which: view':>14s} {'encode':>8s} {'JSON bytes':>12s}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for row in [cb["page_load"]] + cb["sync_state"]:
        enc = row["encode_median"] or 0
        ratio = row["median"] / enc if enc else float("nan")
        flag = " (prevented)" if row.get("prevented") else ""
        print(f"  {row['tab']:<9s} {row['scenario'][:36]:<36s} {fmt(row['median'])} {fmt(row['p95'])}"
              f" {enc:8.1f} {ratio:6.1f} {row['bytes']:>11,d} {row['gzip_bytes']:>9,d}{_part_cols(row)}{flag}")
    n = max((c["changes"] for c in cb["chains"].values()), default=0)
    print(f"\nFILTER CHANGE OF THE VISIBLE VIEW = sync_state on its tab + JSON encoding of its answer (ms, pooled over"
          f" the {n} filter changes)" + (f"; target p95 < {target:g} ms" if target else ""))
    print(f"  {'tab':<9s} {'median':>9s} {'p95':>9s} {'max':>9s}  {'view drawn':>10s}  {'of which: view':>14s}"
          "   worst change (its p95)")
    for key, c in cb["chains"].items():
        verdict = "" if not target else ("  OK" if c["p95"] < target else "  OVER TARGET")
        print(f"  {key:<9s} {fmt(c['median'])} {fmt(c['p95'])} {fmt(c['max'])}"
              f"  {c['view_drawn']:>4d} of {c['changes']:<3d}  {fmt(c['view_part_median'], '14.1f')}"
              f"   {c['worst_scenario']} ({c['worst_p95']:.1f}){verdict}")
    h = r.get("http")
    if h:
        print("\nTHROUGH THE SERVER (gunicorn, urllib; ONE POST of sync_state per change, on the view's tab, with the"
              " filter store and request\n  stores of the page's previous answers; its answer carries the controls,"
              " the notice and the view; ms)")
        print(f"  {'tab':<9s} {'change':<26s} {'median':>9s} {'p95':>9s}   {'response bytes':>14s}")
        for row in h:
            flag = "   view not drawn (its request did not change)" if not row.get("view_drawn") else ""
            print(f"  {row['tab']:<9s} {row['scenario'][:26]:<26s} {fmt(row['median'])} {fmt(row['p95'])}"
                  f"   {row['response_bytes']:>14,d}{flag}")


def print_profiles(profiles: list[dict]):
    for p in profiles:
        print()
        print(f"PROFILE {p['callback']} ({p['scenario']}; {p['calls']} calls incl. JSON encoding):"
              f" {p['total_ms_per_call']:.0f} ms per call")
        print("  own time by package/module (ms per call):")
        for k, v in p["by_package_ms_per_call"].items():
            print(f"    {v:9.1f}  {k}")
        print("  dashboard functions by cumulative time (ms per call):")
        for f in p["dashboard_functions"][:15]:
            print(f"    {f['cum_ms_per_call']:9.1f} cum {f['own_ms_per_call']:8.1f} own"
                  f"  {f['calls']:>6d} calls  {f['function']}")
        print("  hottest functions by own time (ms per call):")
        for f in p["hottest_functions"][:12]:
            print(f"    {f['own_ms_per_call']:9.1f} own {f['cum_ms_per_call']:8.1f} cum"
                  f"  {f['calls']:>8d} calls  {f['function']}")


# ---------------------------------------------------------------- main


def _strip(o):
    if isinstance(o, dict):
        return {k: _strip(v) for k, v in o.items() if not k.startswith("_")}
    if isinstance(o, list):
        return [_strip(v) for v in o]
    return o


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="26,1000,10000",
                    help="comma-separated patient counts; 26 (or 'shipped') = the shipped data/"
                         " (default 26,1000,10000)")
    # every run of sync_state includes its view: 10 runs x 10 changes give each tab's pooled p95 100 samples, and
    # the default run takes 8-10 minutes on 2 cores (19 with 30 runs and 10 of each view part)
    ap.add_argument("--repeat", type=int, default=10, help="runs of sync_state per (tab, filter change) (default 10)")
    ap.add_argument("--part-repeat", type=int, default=3,
                    help="runs of the view part (VIEW_CALLBACKS[tab]) per (tab, filter change), for the breakdown"
                         " (default 3, at most --repeat; 0 = none)")
    ap.add_argument("--encode-repeat", type=int, default=5, help="runs of the JSON encoding per output (default 5)")
    ap.add_argument("--startup-repeat", type=int, default=3, help="server launches per dataset (default 3)")
    ap.add_argument("--http-repeat", type=int, default=5,
                    help="runs per (tab, filter change) through the server (default 5; 0 = skip)")
    ap.add_argument("--http-changes", default="safety (default),compare,sex F",
                    help="filter changes sent through the server (names as printed; 'all' = every one)")
    ap.add_argument("--no-server", action="store_true", help="skip start-up and the HTTP measurements")
    ap.add_argument("--profile", type=int, default=3, metavar="K",
                    help="profile sync_state on the K slowest tabs at the largest size (0 = no)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic trials (default 0)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.part_repeat < 0:
        ap.error("--part-repeat must be at least 0")
    args.part_repeat = min(args.part_repeat, args.repeat)  # a breakdown: never more runs than sync_state's

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    OUT.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    specs = callback_specs()
    parts = part_specs()
    report = {
        "started": stamp, "argv": sys.argv[1:], "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "git": _git_state(),
        "targets": {"p95_ms": {str(k): v for k, v in TARGET_P95_MS.items()}, "startup_s": TARGET_STARTUP_S},
        "sizes": {},
    }
    shipped_n = len(data.load_dataset(data.DEFAULT_DATA_DIR).patients)
    sizes = []
    for s in args.sizes.split(","):
        s = s.strip().lower()
        if not s:
            continue
        sizes.append("shipped" if s in ("shipped", str(shipped_n)) else int(s))
    tmp = tempfile.TemporaryDirectory(prefix="dashboard-bench-")
    datasets = {}
    try:
        for size in sizes:
            label = "shipped data/" if size == "shipped" else f"synthetic {size:,}"
            log(f"== {label}")
            r: dict = {"label": label, "loadavg_before": os.getloadavg()}
            if size == "shipped":
                directory = data.DEFAULT_DATA_DIR
            else:
                t = time.perf_counter()
                tables = simulate.synthetic_trial(size, seed=args.seed)
                t1 = time.perf_counter()
                title = f"Synthetic trial: {size} simulated patients (seed {args.seed})"
                directory = simulate.write_trial(tables, Path(tmp.name) / f"trial-{size}", metadata={"title": title})
                r["generate"] = {"generate_s": t1 - t, "write_s": time.perf_counter() - t1}
                del tables
            t = time.perf_counter()
            ds = data.load_dataset(directory)
            r["load_s"] = time.perf_counter() - t
            r.update(patients=len(ds.patients), measurements=len(ds.measurements),
                     adverse_events=len(ds.adverse_events), directory=str(directory))
            datasets[size] = ds
            if not args.no_server:
                runs = []
                http_rows = None
                for i in range(max(1, args.startup_repeat)):
                    srv = Server(directory, OUT / f"server-{stamp}.log")
                    try:
                        run = srv.wait_ready()
                        app_state = _layout_state(ds, specs)
                        fp = first_page(srv, specs, parts, app_state)
                        run["first_page_s"] = time.perf_counter() - srv.t0
                        run.update(fp)
                        log(f"  start-up {i + 1}: ready {run['/_dash-layout']['s']:.2f} s,"
                            f" first page {run['first_page_s']:.2f} s")
                        runs.append(run)
                        if i == max(1, args.startup_repeat) - 1 and args.http_repeat > 0:
                            scens, _pid, pid_other = scenarios(ds, app_state)
                            wanted = (None if args.http_changes == "all"
                                      else {x.strip() for x in args.http_changes.split(",")})
                            chosen = [sc for sc in scens if wanted is None or sc["name"] in wanted]
                            offered = {v.key for v in views.offered(ds)}
                            http_rows = bench_http(srv, specs, parts, app_state, chosen, pid_other, offered,
                                                   args.http_repeat, log)
                    finally:
                        srv.stop()
                r["startup"] = {
                    "runs": runs,
                    "ready_median_s": float(np.median([x["/_dash-layout"]["s"] for x in runs])),
                    "first_page_median_s": float(np.median([x["first_page_s"] for x in runs])),
                }
                if http_rows is not None:
                    r["http"] = http_rows
            cbres = bench_callbacks(ds, specs, parts, args.repeat, args.part_repeat, args.encode_repeat, log)
            cbres["repeat"], cbres["part_repeat"] = args.repeat, args.part_repeat
            r["callbacks"] = cbres
            r["loadavg_after"] = os.getloadavg()
            report["sizes"][str(size)] = r
            target = TARGET_P95_MS.get(size)
            print_size(label, r, target)
            sys.stdout.flush()
            _save(report, stamp)
        if args.profile > 0 and sizes:
            big = sizes[-1]
            ds = datasets[big]
            r = report["sizes"][str(big)]
            ranked = sorted(r["callbacks"]["chains"].items(), key=lambda kv: -kv[1]["median"])[: args.profile]
            _scens, _pid, pid_other = scenarios(ds, _layout_state(ds, specs))
            profiles = []
            for key, c in ranked:
                sc = next(s for s in _scens if s["name"] == c["worst_scenario"])
                log(f"== profiling {SYNC} on {key} ({sc['name']}) at {r['label']}")
                profiles.append(profile_sync(ds, specs, key, sc, pid_other, 3, OUT))
            report["profiles"] = profiles
            print()
            print("=" * 118)
            print(f"PROFILES of {SYNC} on the {len(profiles)} slowest tabs at {r['label']}"
                  " (cProfile; profiling overhead inflates times)")
            print("=" * 118)
            print_profiles(profiles)
        _print_targets(report)
        path = _save(report, stamp)
        print(f"\nsaved {path}")
    finally:
        tmp.cleanup()
    return 0


def _layout_state(ds, specs) -> dict:
    app = server.create_app(dataset=ds)
    return initial_state(app, specs)


def _print_targets(report):
    print()
    print("TARGETS: p95 per filter change of the visible view < 50 ms on the shipped data and < 500 ms on 10,000"
          " patients; start-up to first page < 2 s.")
    for key, r in report["sizes"].items():
        size = "shipped" if key == "shipped" else int(key)
        target = TARGET_P95_MS.get(size)
        worst = max(r["callbacks"]["chains"].items(), key=lambda kv: kv[1]["p95"])
        line = f"  {r['label']:<18s} worst view p95 {worst[1]['p95']:8.1f} ms ({SYNC} on {worst[0]})"
        if target:
            n_over = sum(1 for c in r["callbacks"]["chains"].values() if c["p95"] >= target)
            line += f"  target {target:g} ms: {n_over} of {len(r['callbacks']['chains'])} views over"
        if "startup" in r:
            fp = r["startup"]["first_page_median_s"]
            line += f";  first page {fp:.2f} s ({'OK' if fp < TARGET_STARTUP_S else 'over'})"
        print(line)


def _git_state() -> dict:
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

        head = git("rev-parse", "--short", "HEAD").strip()
        dirty = git("status", "--porcelain").splitlines()
        return {"head": head, "modified": [line[3:] for line in dirty]}
    except OSError:
        return {}


def _save(report, stamp) -> Path:
    path = OUT / f"bench-{stamp}.json"
    text = json.dumps(_strip(report), indent=1, default=str)
    path.write_text(text)
    (OUT / "latest.json").write_text(text)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
