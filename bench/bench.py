#!/usr/bin/env python
"""Benchmark of the dashboard: start-up, and the callbacks behind each filter change.

Not a test: it measures and prints figures (see bench/README.md).

    python bench/bench.py [--sizes 26,1000,10000] [--repeat N]

For each dataset size (26 = the shipped data/; any other N = a synthetic
trial of N patients made by ``dashboard.simulate.synthetic_trial`` in a
temporary directory, seed 0):

1. start-up: the real server (``python -m gunicorn -c dashboard/gunicorn_conf.py
   app:server``, cwd the repo, TRIAL_DATA_DIR and DASHBOARD_BIND set) is
   launched; the time until ``GET /`` and ``GET /_dash-layout`` both answer
   200 is "ready"; the time until the first page's initial callbacks
   (``sync_state``, whose answer includes the simulated-data notice, then
   ``overview_view`` through its request store) have answered too is "first
   page".  Then a few filter changes are sent through the server exactly as
   the browser sends them (POST /_dash-update-component: ``sync_state``, then
   the visible view's callback), and the server is stopped.
2. callbacks in-process: one Dash app per dataset (``create_app(dataset=ds)``);
   the callback functions of ``dashboard.callbacks`` are called directly
   inside ``app.server.test_request_context()``, with their arguments taken
   from a simulated page state (the layout's initial values, updated by each
   callback's outputs as the browser does) and, for ``sync_state``, a Dash
   callback context naming the control that changed.  Each (callback,
   filter change) is run ``--repeat`` times; the JSON the browser would
   receive is encoded with Dash's own encoder (``plotly.io.json.to_json_plotly``)
   and measured.
3. ``--profile K``: cProfile of the K slowest view callbacks at the largest size.

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

#: The view callbacks (named "<view>_view" by dashboard.callbacks) and the tab that shows each: every view of
#: the registry but the paper check, which does not depend on the selection.
VIEWS = {f"{v.key}_view": v.key for v in views.REGISTRY if v.uses_cohort}
#: sync_state also answers the simulated-data notice (its last two outputs): there is no callback of its own.
STATE_CALLBACKS = ("sync_state",)


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

    Read from dash's global callback registry, which keeps them until the
    first app serves a request (which never happens in this process).
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
            # as registered: what a request to the server carries (the in-process lists of a view differ)
            "wire_inputs": [(i["id"], i["property"]) for i in entry["inputs"]],
            "wire_state": [(s["id"], s["property"]) for s in entry["state"]],
            # flexible signatures (keyword inputs, dict outputs): name -> position in the flat lists
            "in_names": entry.get("inputs_state_indices"),
            "out_names": entry.get("outputs_indices"),
        }
    # a view's server callback reads its request store, which the one browser-side gate (assets/gate.js) fills
    # with the list of the view's input values while its tab is selected; in process it is timed as the gate
    # passes it on: the view's own inputs, by keyword
    for name, key in VIEWS.items():
        if name in specs:
            view = views.BY_KEY[key]
            request = (ids.view_request(view.prefix), "data")
            if specs[name]["wire_inputs"] != [request] or specs[name]["wire_state"]:
                raise SystemExit(f"bench: {name} does not read its request store {request[0]} alone")
            inputs = callbacks._view_inputs(view)
            specs[name].update(inputs=[(i.component_id, i.component_property) for i in inputs.values()],
                               state=[], in_names={k: i for i, k in enumerate(inputs)},
                               func=callbacks.VIEW_CALLBACKS[key], request=request)
    missing = [n for n in (*STATE_CALLBACKS, *VIEWS) if n not in specs]
    if missing:
        raise SystemExit(f"bench: callbacks not found in dashboard.callbacks: {', '.join(missing)}")
    return specs


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
    for (cid, prop), v in zip(spec["outputs"], values):
        if _is_no_update(v):
            continue
        resp.setdefault(cid, {})[prop] = v
    return {"multi": True, "response": resp}


def apply_response(state: dict, body: dict) -> None:
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


def scenarios(ds, state) -> list[dict]:
    """The filter changes timed: (name, {'id.prop': new value}), each applied to the initial page state."""
    pats = ds.patients
    eff = pats.loc[pats["efficacy_population"], "patient_id"]
    pid = str(eff.iloc[len(eff) // 2]) if len(eff) else str(pats["patient_id"].iloc[0])
    age = state.get(f"{ids.AGE}.value") or [0, 120]
    lo, hi = max(float(age[0]), 45.0), min(float(age[1]), 60.0)
    if lo > hi:
        lo, hi = float(age[0]), float(age[1])
    pop = f"{ids.POPULATION}.value"
    return [
        {"name": "safety (default)", "changes": {pop: "safety"}},
        {"name": "efficacy", "changes": {pop: "efficacy"}},
        {"name": "progressors", "changes": {pop: "progressors"}},
        {"name": "stable", "changes": {pop: "stable"}},
        {"name": "compare", "changes": {pop: "compare"}},
        {"name": "sex F", "changes": {f"{ids.SEX}.value": ["F"]}},
        {"name": "onset spinal+bulbar", "changes": {f"{ids.ONSET}.value": ["spinal+bulbar"]}},
        {"name": f"age {lo:g}-{hi:g}", "changes": {f"{ids.AGE}.value": [lo, hi]}},
        {"name": "threshold 4 (compare)", "changes": {f"{ids.THRESHOLD}.value": 4, pop: "compare"},
         "trigger": [f"{ids.THRESHOLD}.value"]},
        {"name": f"highlight patient {pid}", "changes": {f"{ids.HIGHLIGHT}.value": pid}},
    ], pid


def view_controls(name: str, pid_other: str) -> dict:
    """Each view's own control changed (no filter change: sync_state does not run)."""
    return {
        "alsfrs_view": {f"{ids.ALSFRS_SHOW_FITS}.value": ["fits"], f"{ids.ALSFRS_WINDOW}.value": 6},
        "fvc_view": {f"{ids.FVC_THRESHOLD}.value": 80},
        "weakness_view": {f"{ids.WS_THRESHOLD}.value": 0.5},
        "safety_view": {f"{ids.AE_COLOUR_BY}.value": "serious", f"{ids.AE_ONLY}.value": ["serious"]},
        "profile_view": {f"{ids.HIGHLIGHT}.value": pid_other},
    }.get(name, {})


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


# ---------------------------------------------------------------- in-process callbacks


def bench_callbacks(ds, specs, repeat: int, encode_repeat: int, log) -> dict:
    t0 = time.perf_counter()
    app = server.create_app(dataset=ds)
    create_s = time.perf_counter() - t0
    app.server.config[callbacks.DATASET_KEY] = ds
    results = {"create_app_s": create_s, "sync_state": [], "views": [], "chains": {}}
    base = initial_state(app, specs)
    sync = specs["sync_state"]
    with app.server.test_request_context():
        # the page load: sync_state with nothing triggered, then the state the page starts in
        with triggered([], base):
            res = call(sync, base)
        apply_response(base, response_of(sync, res))
        scens, pid = scenarios(ds, base)
        pats = ds.patients["patient_id"]
        pid_other = str(pats.iloc[0]) if str(pats.iloc[0]) != pid else str(pats.iloc[-1])
        for sc in scens:
            state = dict(base)
            state.update(sc["changes"])
            trig = sc.get("trigger") or list(sc["changes"])
            with triggered(trig, state):
                samples, res = time_call(lambda state=state: call(sync, state), repeat)
            enc, size, gz = encode(sync, res, encode_repeat)
            apply_response(state, response_of(sync, res))
            results["sync_state"].append({"scenario": sc["name"], "callback": "sync_state", **_ms(samples),
                                          "encode_median": _ms(enc)["median"], "bytes": size, "gzip_bytes": gz,
                                          "_samples": samples})
            log(f"  sync_state            {sc['name']:<26s} {np.median(samples) * 1000:9.1f} ms")
            for name, tab in VIEWS.items():
                spec = specs[name]
                vstate = dict(state)
                vstate[f"{ids.TABS}.value"] = tab
                if name == "profile_view" and not vstate.get(f"{ids.HIGHLIGHT}.value"):
                    vstate[f"{ids.HIGHLIGHT}.value"] = pid  # the profile tab shows a chosen patient
                samples, res = time_call(lambda spec=spec, vstate=vstate: call(spec, vstate), repeat)
                enc, size, gz = encode(spec, res, encode_repeat)
                row = {"scenario": sc["name"], "callback": name, **_ms(samples), "encode_median": _ms(enc)["median"],
                       "bytes": size, "gzip_bytes": gz, "prevented": isinstance(res, PreventUpdate),
                       "_samples": samples}
                results["views"].append(row)
                log(f"  {name:<21s} {sc['name']:<26s} {row['median']:9.1f} ms"
                    f"  encode {row['encode_median']:8.1f} ms  {size:>11,d} B")
        # each view's own control (not a filter change)
        for name, tab in VIEWS.items():
            changes = view_controls(name, pid_other)
            if not changes:
                continue
            spec = specs[name]
            vstate = dict(base)
            vstate[f"{ids.TABS}.value"] = tab
            if name == "profile_view" and not vstate.get(f"{ids.HIGHLIGHT}.value"):
                vstate[f"{ids.HIGHLIGHT}.value"] = pid
            vstate.update(changes)
            label = "view control: " + ", ".join(f"{k.split('.')[0]}={v}" for k, v in changes.items())
            samples, res = time_call(lambda spec=spec, vstate=vstate: call(spec, vstate), repeat)
            enc, size, gz = encode(spec, res, encode_repeat)
            row = {"scenario": label, "callback": name, **_ms(samples), "encode_median": _ms(enc)["median"],
                   "bytes": size, "gzip_bytes": gz, "prevented": isinstance(res, PreventUpdate), "_samples": samples,
                   "view_control": True}
            results["views"].append(row)
            log(f"  {name:<21s} {label[:26]:<26s} {row['median']:9.1f} ms"
                f"  encode {row['encode_median']:8.1f} ms  {size:>11,d} B")
    # a filter change of the visible view = sync_state + the view callback + encoding both, run by run
    sync_by = {r["scenario"]: r for r in results["sync_state"]}
    for name in VIEWS:
        pooled = []
        worst = None
        for r in results["views"]:
            if r["callback"] != name or r.get("view_control"):
                continue
            s = sync_by[r["scenario"]]
            encoding = (s["encode_median"] + r["encode_median"]) / 1000
            chain = [a + b + encoding for a, b in zip(s["_samples"], r["_samples"])]
            pooled += chain
            st = _ms(chain)
            if worst is None or st["p95"] > worst[1]["p95"]:
                worst = (r["scenario"], st)
        results["chains"][name] = {**_ms(pooled), "worst_scenario": worst[0], "worst_p95": worst[1]["p95"]}
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


def gate(spec, state) -> list[str]:
    """What the browser-side gate (assets/gate.js) does for a view whose tab is selected: its request store gets
    the list of the view's input values (in the order of ``callbacks._view_inputs``); -> changedPropIds."""
    cid, prop = spec["request"]
    state[f"{cid}.{prop}"] = [state.get(f"{c}.{p}") for c, p in spec["inputs"]]
    return [f"{cid}.{prop}"]


def payload(spec, state, changed: list[str]) -> dict:
    """The request body Dash's renderer sends for one callback (its inputs and state as registered: a view's
    is its request store, see ``gate``)."""
    outs = [{"id": c, "property": p} for c, p in spec["outputs"]]
    return {
        "output": spec["output"],
        "outputs": outs if spec["multi"] else outs[0],
        "inputs": [{"id": c, "property": p, "value": state.get(f"{c}.{p}")} for c, p in spec["wire_inputs"]],
        "changedPropIds": changed,
        "state": [{"id": c, "property": p, "value": state.get(f"{c}.{p}")} for c, p in spec["wire_state"]],
    }


def check_dependencies(specs, deps: list[dict], names) -> None:
    """The payloads this script sends must be those of the server's callbacks (/_dash-dependencies): the same
    output key, inputs and state, in the same order."""
    by_output = {d["output"]: d for d in deps}
    for name in names:
        spec = specs[name]
        dep = by_output.get(spec["output"])
        if dep is None:
            raise RuntimeError(f"{name}: the server has no callback with output {spec['output'][:120]}")
        for kind in ("inputs", "state"):
            theirs = [(d["id"], d["property"]) for d in dep.get(kind, [])]
            if theirs != spec[f"wire_{kind}"]:
                raise RuntimeError(f"{name}: {kind} differ from the server's: {spec[f'wire_{kind}']} != {theirs}")


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


def first_page(srv: Server, specs, state: dict) -> dict:
    """The initial callbacks the page fires on load: sync_state (nothing triggered; its answer includes the
    simulated-data notice), then the gate passes the overview's inputs on and its callback answers."""
    url = srv.base + "/_dash-update-component"
    status, deps = _get(srv.base + "/_dash-dependencies")
    if status != 200:
        raise RuntimeError(f"/_dash-dependencies answered {status}")
    check_dependencies(specs, json.loads(deps), [*STATE_CALLBACKS, *VIEWS])
    sync = specs["sync_state"]
    t = time.perf_counter()
    status, body = _post(url, payload(sync, state, []))
    if status != 200:
        raise RuntimeError(f"initial sync_state answered {status}: {body[:300]!r}")
    apply_response(state, json.loads(body))
    sizes = {"sync_state": len(body)}
    name = next(n for n, tab in VIEWS.items() if tab == state.get(f"{ids.TABS}.value"))
    status, body = _post(url, payload(specs[name], state, gate(specs[name], state)))
    sizes[name] = len(body)
    if status != 200:
        raise RuntimeError(f"initial {name} answered {status}: {body[:300]!r}")
    apply_response(state, json.loads(body))
    return {"initial_callbacks_s": time.perf_counter() - t, "response_bytes": sizes, "dependencies_bytes": len(deps)}


def bench_http(srv: Server, specs, state0: dict, scens: list[dict], pid: str, repeat: int, log) -> list[dict]:
    """Filter changes through the server, as the browser sends them: POST sync_state (its answer includes the
    simulated-data notice), then the gate passes the visible view's inputs on and its callback is posted."""
    url = srv.base + "/_dash-update-component"
    sync = specs["sync_state"]
    rows = []
    # warm-up: every view a few times (first requests set up dash's dispatch and imports in each worker)
    for _ in range(4):
        for name, tab in VIEWS.items():
            state = dict(state0)
            state[f"{ids.TABS}.value"] = tab
            state[f"{ids.HIGHLIGHT}.value"] = pid if name == "profile_view" else state.get(f"{ids.HIGHLIGHT}.value")
            _post(url, payload(specs[name], state, gate(specs[name], state)))
    for sc in scens:
        for name, tab in VIEWS.items():
            spec = specs[name]
            samples, sizes, prevented = [], {}, False
            for _ in range(repeat):
                state = dict(state0)
                state[f"{ids.TABS}.value"] = tab
                if name == "profile_view" and not state.get(f"{ids.HIGHLIGHT}.value"):
                    state[f"{ids.HIGHLIGHT}.value"] = pid
                state.update(sc["changes"])
                trig = sc.get("trigger") or list(sc["changes"])
                t = time.perf_counter()
                status, body = _post(url, payload(sync, state, trig))
                if status != 200:
                    raise RuntimeError(f"sync_state answered {status}: {body[:300]!r}")
                apply_response(state, json.loads(body))
                sv, bv = _post(url, payload(spec, state, gate(spec, state)))
                samples.append(time.perf_counter() - t)
                if sv not in (200, 204):
                    raise RuntimeError(f"{name} answered {sv}: {bv[:300]!r}")
                sizes, prevented = {"sync_state": len(body), name: len(bv)}, sv == 204
            st = _ms(samples)
            rows.append({"scenario": sc["name"], "callback": name, **st, "response_bytes": sizes,
                         "prevented": prevented})
            log(f"  HTTP {name:<16s} {sc['name']:<26s} median {st['median']:9.1f} ms  p95 {st['p95']:9.1f} ms")
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


def profile_callback(ds, specs, name: str, scenario: dict, pid: str, calls: int, out_dir: Path) -> dict:
    """cProfile of ``calls`` runs of one view callback plus the JSON encoding of its output."""
    app = server.create_app(dataset=ds)
    app.server.config[callbacks.DATASET_KEY] = ds
    spec, sync = specs[name], specs["sync_state"]
    with app.server.test_request_context():
        state = initial_state(app, specs)
        with triggered([], state):
            apply_response(state, response_of(sync, call(sync, state)))
        state.update(scenario["changes"])
        with triggered(scenario.get("trigger") or list(scenario["changes"]), state):
            apply_response(state, response_of(sync, call(sync, state)))
        state[f"{ids.TABS}.value"] = VIEWS[name]
        if name == "profile_view" and not state.get(f"{ids.HIGHLIGHT}.value"):
            state[f"{ids.HIGHLIGHT}.value"] = pid
        call(spec, state)  # warm
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            res = call(spec, state)
            to_json(response_of(spec, res))
        prof.disable()
    path = out_dir / f"profile-{len(ds.patients)}-{name}.prof"
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
    (out_dir / f"profile-{len(ds.patients)}-{name}.txt").write_text(buf.getvalue())
    return {
        "callback": name, "scenario": scenario["name"], "calls": calls, "total_ms_per_call": 1000 * total / calls,
        "by_package_ms_per_call": {
            k: 1000 * v / calls for k, v in sorted(by_where.items(), key=lambda kv: -kv[1])[:15]},
        "dashboard_functions": dash_funcs[:25], "hottest_functions": hot, "prof_file": str(path),
    }


# ---------------------------------------------------------------- printing


def fmt(x, spec="9.1f"):
    return " " * len(format(0.0, spec)) if x is None else format(x, spec)


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
                  f" first page (initial callbacks answered) after {run['first_page_s']:.2f} s")
        print(f"  median ready {s['ready_median_s']:.2f} s, first page {s['first_page_median_s']:.2f} s"
              f"  -> {'OK' if s['first_page_median_s'] < TARGET_STARTUP_S else 'OVER TARGET'}")
    cb = r["callbacks"]
    print(f"\nCALLBACKS IN-PROCESS (ms; {cb['repeat']} runs each; encode = Dash's JSON encoding of the output;"
          " ratio = callback / encode)")
    print("  sync_state's outputs include the simulated-data notice (no callback of its own); its filter changes run"
          " on the page's initial tab")
    head = (f"  {'callback':<16s} {'change':<40s} {'median':>9s} {'p95':>9s} {'encode':>8s} {'ratio':>7s}"
            f" {'JSON bytes':>12s} {'gzip':>10s}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for row in cb["sync_state"] + cb["views"]:
        enc = row["encode_median"] or 0
        ratio = row["median"] / enc if enc else float("nan")
        flag = " (prevented)" if row.get("prevented") else ""
        print(f"  {row['callback']:<16s} {row['scenario'][:40]:<40s} {fmt(row['median'])} {fmt(row['p95'])}"
              f" {enc:8.1f} {ratio:7.1f} {row['bytes']:>12,d} {row['gzip_bytes']:>10,d}{flag}")
    print("\nFILTER CHANGE OF THE VISIBLE VIEW = sync_state + view callback + JSON encoding of both (ms, pooled over"
          f" the {len(cb['sync_state'])} filter changes)" + (f"; target p95 < {target:g} ms" if target else ""))
    print(f"  {'view':<16s} {'median':>9s} {'p95':>9s} {'max':>9s}   worst change (its p95)")
    for name, c in cb["chains"].items():
        verdict = "" if not target else ("  OK" if c["p95"] < target else "  OVER TARGET")
        print(f"  {name:<16s} {fmt(c['median'])} {fmt(c['p95'])} {fmt(c['max'])}"
              f"   {c['worst_scenario']} ({c['worst_p95']:.1f}){verdict}")
    h = r.get("http")
    if h:
        print("\nTHROUGH THE SERVER (gunicorn, urllib; POST sync_state, whose answer includes the simulated-data"
              " notice, then the view's callback with its request; ms)")
        print(f"  {'view':<16s} {'change':<26s} {'median':>9s} {'p95':>9s}   response bytes (sync incl. notice, view)")
        for row in h:
            b = row["response_bytes"]
            flag = " (prevented)" if row.get("prevented") else ""
            print(f"  {row['callback']:<16s} {row['scenario'][:26]:<26s} {fmt(row['median'])} {fmt(row['p95'])}"
                  f"   {b.get('sync_state', 0):,}, {b.get(row['callback'], 0):,}{flag}")


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
    ap.add_argument("--repeat", type=int, default=30, help="runs per (callback, filter change) (default 30)")
    ap.add_argument("--encode-repeat", type=int, default=5, help="runs of the JSON encoding per output (default 5)")
    ap.add_argument("--startup-repeat", type=int, default=3, help="server launches per dataset (default 3)")
    ap.add_argument("--http-repeat", type=int, default=5,
                    help="runs per filter change through the server (default 5; 0 = skip)")
    ap.add_argument("--http-changes", default="safety (default),compare,sex F",
                    help="filter changes sent through the server (names as printed; 'all' = every one)")
    ap.add_argument("--no-server", action="store_true", help="skip start-up and the HTTP measurements")
    ap.add_argument("--profile", type=int, default=3, metavar="K",
                    help="profile the K slowest view callbacks at the largest size (0 = no)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic trials (default 0)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    OUT.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    specs = callback_specs()
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
                        app_state = _state_for_http(ds, specs)
                        fp = first_page(srv, specs, app_state)
                        run["first_page_s"] = time.perf_counter() - srv.t0
                        run.update(fp)
                        log(f"  start-up {i + 1}: ready {run['/_dash-layout']['s']:.2f} s,"
                            f" first page {run['first_page_s']:.2f} s")
                        runs.append(run)
                        if i == max(1, args.startup_repeat) - 1 and args.http_repeat > 0:
                            scens, pid = scenarios(ds, app_state)
                            wanted = (None if args.http_changes == "all"
                                      else {x.strip() for x in args.http_changes.split(",")})
                            chosen = [sc for sc in scens if wanted is None or sc["name"] in wanted]
                            http_rows = bench_http(srv, specs, app_state, chosen, pid, args.http_repeat, log)
                    finally:
                        srv.stop()
                r["startup"] = {
                    "runs": runs,
                    "ready_median_s": float(np.median([x["/_dash-layout"]["s"] for x in runs])),
                    "first_page_median_s": float(np.median([x["first_page_s"] for x in runs])),
                }
                if http_rows is not None:
                    r["http"] = http_rows
            cbres = bench_callbacks(ds, specs, args.repeat, args.encode_repeat, log)
            cbres["repeat"] = args.repeat
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
            _scens, pid = scenarios(ds, _state_for_http(ds, specs))
            profiles = []
            for name, c in ranked:
                sc = next(s for s in _scens if s["name"] == c["worst_scenario"])
                log(f"== profiling {name} ({sc['name']}) at {r['label']}")
                profiles.append(profile_callback(ds, specs, name, sc, pid, 3, OUT))
            report["profiles"] = profiles
            print()
            print("=" * 118)
            print(f"PROFILES of the {len(profiles)} slowest view callbacks at {r['label']}"
                  " (cProfile; profiling overhead inflates times)")
            print("=" * 118)
            print_profiles(profiles)
        _print_targets(report)
        path = _save(report, stamp)
        print(f"\nsaved {path}")
    finally:
        tmp.cleanup()
    return 0


def _state_for_http(ds, specs) -> dict:
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
        line = f"  {r['label']:<18s} worst view p95 {worst[1]['p95']:8.1f} ms ({worst[0]})"
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
