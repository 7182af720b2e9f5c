"""Thin callbacks: parse inputs, call cohorts/stats/figures/layout, return.

The dataset is read-only and belongs to the Flask app serving the request
(``current_app.config``); per-user state lives in the URL and the filter
store, never in module globals.  One callback, ``sync_state``, reconciles the
URL, the controls and the filter store and draws the visible view for them;
views that are not on screen are not computed until their tab is chosen.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from . import audit, cohorts, figures, ids, layout, reports, state, views
from .cohorts import RANGES, CohortFilter
from .data import Dataset, functional_measure
from .state import MAX_SEARCH_LENGTH, parse_search  # noqa: F401  (re-exported: the tests and bench call them here)

DATASET_KEY = "TRIAL_DATASET"


def dataset() -> Dataset:
    return current_app.config[DATASET_KEY]


# ---------------------------------------------------------------- helpers


def _context(store: dict | None):
    ds = dataset()
    filt, _ = CohortFilter.from_params(store or {})
    return ds, filt, cohorts.select(ds, filt)


def _active(tab: str, mine: str):
    if tab != mine:
        raise PreventUpdate


def _projector(present):
    """Figures enlarged for a projector in presentation mode, else unchanged."""
    return figures.for_projector if present and "on" in present else (lambda f: f)


# ---------------------------------------------------------------- views (from the registry)


def render_view(view: views.View, result, present=None) -> dict:
    """A view's result as the properties of its slots: figures (enlarged in presentation mode) with their
    text alternatives, and rendered blocks.  Keys: slot names, and "<name>-alt" for each figure."""
    big = _projector(present)
    out = {}
    for slot in view.slots:
        if slot.kind == "deferred":
            continue
        value = getattr(result, slot.attr)
        if slot.kind == "figure":
            out[slot.name] = big(value)
            out[f"{slot.name}-alt"] = figures.alt_text(value)
        else:
            out[slot.name] = layout.render_slot(slot, value)
    return out


def request_keys(view: views.View) -> tuple[str, ...]:
    """What a view's result depends on, by the keywords of compute_view, in the order of its request (the
    list sync_state keeps in the view's request store): the selected tab first."""
    return (("tab",) + (("store",) if view.uses_cohort else ()) + (("highlight",) if view.uses_highlight else ())
            + tuple(o.name for o in view.options) + (("present",) if view.figures else ()))


def compute_view(view: views.View, tab=None, store=None, highlight=None, present=None, **options) -> dict:
    """A view's slots for the page's state (the plain function behind the view's part of sync_state)."""
    _active(tab, view.key)
    ds, _filt, cohort = _context(store)
    if view.available(ds) is not None:  # not offered for this dataset (no tab): nothing to draw
        raise PreventUpdate
    result = views.run(view.key, ds, cohort, highlight, **options)
    return render_view(view, result, present)


def _request(view: views.View, request) -> dict:
    """A view's request (the list of its input values, see view_request), by keyword (None: never shown)."""
    if not isinstance(request, list):
        raise PreventUpdate
    return dict(zip(request_keys(view), request))


def _slot_outputs(view: views.View) -> dict[str, Output]:
    """The properties a view's result fills, by the keys of render_view."""
    outputs = {}
    for slot in view.slots:
        sid = ids.slot_id(view.prefix, slot.name)
        if slot.kind == "figure":
            outputs[slot.name] = Output(sid, "figure")
            outputs[f"{slot.name}-alt"] = Output(f"{sid}-alt", "children")
        elif slot.kind != "deferred":
            outputs[slot.name] = Output(sid, "children")
    return outputs


#: view key -> the plain function behind its part of sync_state (keywords: tab, store, highlight, present, options)
VIEW_CALLBACKS = {v.key: functools.partial(compute_view, v) for v in views.REGISTRY}
#: Every view's slot outputs, view by view in registry order: sync_state fills those of the visible view.
VIEW_OUTPUTS = [(v, name, out) for v in views.REGISTRY for name, out in _slot_outputs(v).items()]


def view_request(view: views.View, r: state.StateResult) -> list:
    """What the view's result depends on in the page's state, as a list in the order of request_keys,
    JSON-plain so that it compares equal to the copy the page keeps in its store."""
    shown = r.controls
    values = {"tab": shown.tab, "store": r.store, "highlight": shown.highlight,
              "present": ["on"] if shown.present else []}
    values.update({o.name: shown.options.get(o.param) for o in view.options})
    return json.loads(json.dumps([values[name] for name in request_keys(view)]))


def visible_view(r: state.StateResult, last_requests: list) -> tuple[list, list]:
    """The visible view's part of sync_state: (each view's request store, each of VIEW_OUTPUTS), no_update but
    for the visible view when its request differs from the last one it was drawn for (``last_requests``: the
    request stores, registry order).  Hidden views are never computed; they are once their tab is chosen."""
    requests, outputs = [no_update] * len(views.REGISTRY), [no_update] * len(VIEW_OUTPUTS)
    view = views.BY_KEY.get(r.controls.tab)
    if view is None:
        return requests, outputs
    at = views.REGISTRY.index(view)
    request = view_request(view, r)
    if request == last_requests[at]:  # e.g. back on a tab whose selection did not change: already drawn
        return requests, outputs
    try:
        slots = compute_view(view, **_request(view, request))
    except PreventUpdate:  # not offered for this dataset
        return requests, outputs
    requests[at] = request
    outputs = [slots[name] if v is view else no_update for v, name, _out in VIEW_OUTPUTS]
    return requests, outputs


# ---------------------------------------------------------------- state: URL <-> controls


RANGE_INPUTS = [Input(ids.RANGE_IDS[name], "value") for name, *_ in RANGES]
CATEGORIES = cohorts.CATEGORIES
CATEGORY_INPUTS = [Input(ids.CATEGORY_IDS[cat.field], "value") for cat in CATEGORIES]


#: sync_state's outputs, inputs and states, in the order of its answer and of its arguments (also for the tests,
#: which call it as the page does).
SYNC_OUTPUTS = [
    Output(ids.POPULATION, "value"),
    Output(ids.POPULATION, "options"),
    Output(ids.THRESHOLD, "value"),
    Output(ids.GROUP_BY, "value"),
    *[Output(ids.CATEGORY_IDS[cat.field], "value") for cat in CATEGORIES],
    *[Output(ids.RANGE_IDS[name], "value") for name, *_ in RANGES],
    Output(ids.PATIENT_PICKER, "value"),
    Output(ids.TABS, "value"),
    Output(ids.HIGHLIGHT, "value"),
    Output(ids.PRESENT, "value"),
    Output(ids.URL, "search"),
    Output(ids.FILTER_STORE, "data"),
    Output(ids.URL_NOTICE, "children"),
    Output(ids.COHORT_COUNT, "children"),
    Output(ids.COHORT_WORDS, "children"),
    *[Output(f"{ids.RANGE_IDS[name]}-text", "children") for name, *_ in RANGES],
    *[Output(ids.slot_id(v.prefix, o.suffix), "value") for v, o in views.URL_OPTIONS],
    Output(ids.SIM_NOTICE, "hidden"),
    Output(ids.SIM_NOTICE_TEXT, "children"),
    *[Output(ids.view_request(v.prefix), "data") for v in views.REGISTRY],
    *[out for _v, _name, out in VIEW_OUTPUTS],
]
SYNC_INPUTS = [
    Input(ids.URL, "search"),
    Input(ids.POPULATION, "value"),
    Input(ids.THRESHOLD, "value"),
    Input(ids.GROUP_BY, "value"),
    *CATEGORY_INPUTS,
    *RANGE_INPUTS,
    Input(ids.PATIENT_PICKER, "value"),
    Input(ids.TABS, "value"),
    Input(ids.HIGHLIGHT, "value"),
    Input(ids.PRESENT, "value"),
    Input(ids.RESET, "n_clicks"),
    *[Input(ids.slot_id(v.prefix, o.suffix), "value") for v, o in views.URL_OPTIONS],
]
SYNC_STATES = [
    State(ids.FILTER_STORE, "data"),
    State(ids.SIM_NOTICE_TEXT, "children"),
    State(ids.URL_NOTICE, "children"),
    *[State(ids.view_request(v.prefix), "data") for v in views.REGISTRY],
]


@callback(*SYNC_OUTPUTS, *SYNC_INPUTS, *SYNC_STATES)
def sync_state(search, population, threshold, group_by, *rest):
    """URL, controls and the filter store, reconciled by state.reconcile, and the visible view drawn for them
    (one request per change: a view callback chained after this one waited for its answer to reach the page,
    about 150 ms of the renderer's work, before it could even be asked).  This only wires them to the page."""
    rest, last_requests = rest[:-len(views.REGISTRY)], list(rest[-len(views.REGISTRY):])
    n_cat, n_range = len(CATEGORIES), len(RANGES)
    cats, ranges = rest[:n_cat], rest[n_cat:n_cat + n_range]
    patients, tab, highlight, present, _reset = rest[n_cat + n_range:n_cat + n_range + 5]
    option_values, (old_store, old_simulated, old_notice) = rest[n_cat + n_range + 5:-3], rest[-3:]
    controls = state.Controls(
        options={o.param: value for (_v, o), value in zip(views.URL_OPTIONS, option_values, strict=True)},
        population=population, threshold=threshold, group_by=group_by, patients=patients, tab=tab, highlight=highlight,
        categories={cat.field: v for cat, v in zip(CATEGORIES, cats, strict=True)},
        ranges={name: v for (name, *_), v in zip(RANGES, ranges, strict=True)},
        present=isinstance(present, (list, tuple)) and "on" in present)
    r = state.reconcile(ctx.triggered_id, search, controls, dataset())
    shown = r.controls
    from_address = ctx.triggered_id in (None, ids.URL)
    lead = "Some link parameters were ignored: " if from_address else "Not applied: "
    notice = layout.notice([lead, "; ".join(r.notices)], "warn") if r.notices else None
    trig = ctx.triggered_id
    # only what changed goes back: every property sent is re-rendered, and a store or tab sent again would
    # set off the callbacks that read it a second time
    texts_change = from_address or trig == ids.RESET or trig in ids.RANGE_IDS.values()
    return (
        _changed(shown.population, population),
        no_update if r.population_options is None else list(r.population_options),
        _changed(shown.threshold, threshold), _changed(shown.group_by, group_by),
        *[_changed(shown.categories[cat.field], v) for cat, v in zip(CATEGORIES, cats, strict=True)],
        *[_changed(shown.ranges[name], v) for (name, *_), v in zip(RANGES, ranges, strict=True)],
        _changed(shown.patients, patients), _changed(shown.tab, tab), _changed(shown.highlight, highlight),
        _changed(["on"] if shown.present else [], present), no_update if r.search is None else r.search,
        _changed(r.store, old_store), no_update if notice is None and old_notice is None else notice,
        r.count_text, r.words, *[r.slider_texts[name] if texts_change else no_update for name, *_ in RANGES],
        # a view's option is set from the address only (echoing a changed control would ask its view again), and
        # only where it differs from the control's value: on a page load, most options are at their defaults
        *[_changed(shown.options[o.param], v) if from_address else no_update
          for (_v, o), v in zip(views.URL_OPTIONS, option_values, strict=True)],
        # the simulated-data notice (here, not in a callback of its own: one request less per change)
        *((no_update, no_update) if r.simulated == (old_simulated or "") else (not r.simulated, r.simulated)),
        *[x for part in visible_view(r, last_requests) for x in part],
    )


def _changed(new, old):
    """``new``, or no_update where the page already shows it."""
    return no_update if new == old else new


#: Figures whose clicks highlight a patient: the registry's clickable slots.
CLICKABLE_FIGURES = tuple(ids.slot_id(v.prefix, s.name) for v in views.REGISTRY for s in v.slots if s.clickable)


@callback(
    Output(ids.HIGHLIGHT, "value", allow_duplicate=True),
    *[Input(fid, "clickData") for fid in CLICKABLE_FIGURES],
    prevent_initial_call=True,
)
def highlight_from_click(*clicks):
    """A click on any patient's line, point, bar or heatmap cell highlights that patient."""
    trig = ctx.triggered_id
    data = dict(zip(CLICKABLE_FIGURES, clicks)).get(trig)
    pid = patient_from_click(data)
    if pid is None or pid not in set(dataset().patients["patient_id"]):
        raise PreventUpdate
    return pid


def patient_from_click(data) -> str | None:
    """The patient id in a Plotly clickData payload (first customdata item), or None."""
    try:
        cd = data["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError):
        return None
    if isinstance(cd, (list, tuple)):
        cd = cd[0] if cd else None
    # patient ids are strings; a number is not one (the mean ± SEM markers carry [n, sem])
    if not isinstance(cd, str):
        return None
    pid = str(cd).split(" ")[0]
    return pid


@callback(
    Output(ids.TABS, "value", allow_duplicate=True),
    Input(ids.OPEN_PROFILE, "n_clicks"),
    State(ids.HIGHLIGHT, "value"),
    prevent_initial_call=True,
)
def open_profile(n, highlight):
    if not n:
        raise PreventUpdate
    return "profile"


def compute_deferred(view: views.View, slot: views.Slot, part, store=None, tab=None, **options):
    """One part of a deferred slot (the plain function behind its callback)."""
    _active(tab, view.key)
    ds, _filt, cohort = _context(store)
    kw = {o.name: o.parse(options.get(o.name)) for o in slot.options}
    return layout.render(slot.compute(ds, cohort, part, interactive=True, **kw))


def _drawn_callback(view: views.View) -> None:
    """Once the view's answer is in, the browser sets the view's "drawn" store after its figures are drawn
    (assets/gate.js): the deferred parts ask only then, so their requests and tables never compete with
    the main figures for the server or the page."""
    first = next(s for s in view.slots if s.kind != "deferred")
    after = ids.slot_id(view.prefix, first.name) + ("-alt" if first.kind == "figure" else "")
    clientside_callback(ClientsideFunction("dashboard", "drawn"), Output(ids.view_drawn(view.prefix), "data"),
                        Input(after, "children"), prevent_initial_call=True)


def _deferred_callback(view: views.View, slot: views.Slot, part):
    inputs = {"after": Input(ids.view_drawn(view.prefix), "data"),
              "request": State(ids.view_request(view.prefix), "data")}
    for o in slot.options:
        inputs[o.name] = Input(ids.slot_id(view.prefix, o.suffix), "value")

    output = {"content": Output(ids.slot_id(view.prefix, f"{slot.name}-{part}"), "children")}
    if part == slot.parts[0] and slot.offer is not None:
        output["hidden"] = Output(ids.slot_options(view.prefix, slot.name), "hidden")

    @callback(output=output, inputs=inputs, prevent_initial_call=True)
    def deferred_callback(after=None, request=None, **options):
        """A part computed in its own request once the view's figures are drawn, so the view never waits
        for it (the mixed-model fits); the first part also shows or hides the slot's options."""
        req = _request(view, request)
        out = {"content": compute_deferred(view, slot, part, store=req.get("store"), tab=req.get("tab"), **options)}
        if "hidden" in output:
            out["hidden"] = not slot.offer(_context(req.get("store"))[2])
        return out

    deferred_callback.__name__ = f"{view.key}_{slot.name}_{part}"
    return functools.partial(compute_deferred, view, slot, part)


for _view in (v for v in views.REGISTRY if any(s.kind == "deferred" for s in v.slots)):
    _drawn_callback(_view)
#: (view key, slot name) -> {part: the plain function behind its callback}
DEFERRED_CALLBACKS = {(v.key, s.name): {part: _deferred_callback(v, s, part) for part in s.parts}
                      for v in views.REGISTRY for s in v.slots if s.kind == "deferred"}


# ---------------------------------------------------------------- presenting and sharing


# Presentation mode: the filter panel hides and the selection shows as a caption (the filter panel's own count and
# words).  In the browser (assets/gate.js): a request per filter change for this was one more store update each.
clientside_callback(ClientsideFunction("dashboard", "present"),
                    Output(ids.APP_ROOT, "className"), Output(ids.PRESENT_CAPTION, "children"),
                    Input(ids.PRESENT, "value"), Input(ids.COHORT_COUNT, "children"),
                    Input(ids.COHORT_WORDS, "children"), State(ids.APP_ROOT, "className"))


#: Every view option, by (view key, option name): the report is drawn with the options on screen.
OPTION_STATES = {(v.key, o.name): State(ids.slot_id(v.prefix, o.suffix), "value")
                 for v in views.REGISTRY for o in v.options}
DOWNLOADS = (ids.DOWNLOAD_DATA, ids.DOWNLOAD_SLOPES, ids.DOWNLOAD_INCIDENCE, ids.DOWNLOAD_REPORT, ids.DOWNLOAD_EVENTS)


@callback(
    output=Output(ids.DOWNLOAD, "data"),
    inputs={"clicks": [Input(d, "n_clicks") for d in DOWNLOADS], "store": State(ids.FILTER_STORE, "data"),
            "tab": State(ids.TABS, "value"), "highlight": State(ids.HIGHLIGHT, "value"),
            "options": [OPTION_STATES[k] for k in OPTION_STATES]},
    prevent_initial_call=True,
)
@audit.audited_export
def download(clicks=None, store=None, tab=None, highlight=None, options=None):
    """CSV of the selection, of the slope tests, of the incidence table and of the adverse events; the HTML report."""
    trig = ctx.triggered_id
    if trig not in DOWNLOADS:
        raise PreventUpdate
    ds, _filt, cohort = _context(store)
    today = _dt.date.today().isoformat()
    view = tab if tab in {v.key for v in views.offered(ds)} else "overview"
    if trig == ids.DOWNLOAD_DATA:
        sim = ds.simulated_dataset or bool(cohorts.rows(ds.measurements, cohort)["simulated"].any())
        return dict(content=reports.selection_csv(ds, cohort),
                    filename=reports.export_filename(view, "data", today, sim),
                    type="text/csv")
    if trig == ids.DOWNLOAD_SLOPES:
        sim = ds.simulated_dataset or functional_measure(ds.measures) in ds.simulated_measures
        return dict(content=reports.slope_tests_csv(ds, cohort),
                    filename=reports.export_filename(view, "slope-tests", today, sim), type="text/csv")
    if trig == ids.DOWNLOAD_EVENTS:
        return dict(content=reports.adverse_events_csv(ds, cohort),
                    filename=reports.export_filename(view, "adverse-events", today, ds.simulated_dataset),
                    type="text/csv")
    if trig == ids.DOWNLOAD_INCIDENCE:
        return dict(content=reports.incidence_csv(ds, cohort),
                    filename=reports.export_filename(view, "incidence", today, ds.simulated_dataset),
                    type="text/csv")
    chosen: dict[str, dict] = {}
    for (key, name), raw in zip(OPTION_STATES, options or [None] * len(OPTION_STATES)):
        chosen.setdefault(key, {})[name] = raw
    html_text = reports.html_report(ds, cohort, highlight=highlight if isinstance(highlight, str) else None,
                                    options=chosen)
    return dict(content=html_text, filename=f"als-trial_{view}_report_{today}.html", type="text/html")
