"""Thin callbacks: parse inputs, call cohorts/stats/figures/layout, return.

The dataset is read-only and belongs to the Flask app serving the request
(``current_app.config``); per-user state lives in the URL and the filter
store, never in module globals.  Views that are not on screen are not
recomputed (their callbacks raise PreventUpdate until their tab is chosen).
"""

from __future__ import annotations

import datetime as _dt
from urllib.parse import parse_qs, urlencode

from dash import Input, Output, State, callback, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from . import cohorts, figures, ids, layout, reports, views
from .cohorts import RANGES, CohortFilter
from .data import Dataset, functional_measure
from .mixed import AUTO_FIT_PATIENTS, MAX_INTERACTIVE_PATIENTS
from .reproduce import reproduce

DATASET_KEY = "TRIAL_DATASET"
MAX_SEARCH_LENGTH = 20_000


def dataset() -> Dataset:
    return current_app.config[DATASET_KEY]


# ---------------------------------------------------------------- helpers


def parse_search(search: str | None) -> dict[str, str]:
    if not search or len(search) > MAX_SEARCH_LENGTH:
        return {}
    q = parse_qs(search.lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in q.items()}


def _context(store: dict | None):
    ds = dataset()
    filt, _ = CohortFilter.from_params(store or {})
    return ds, filt, cohorts.select(ds, filt)


def _active(tab: str, mine: str):
    if tab != mine:
        raise PreventUpdate


def _alts(*figs) -> list[str]:
    """Text alternatives of figures (title, n, simulated note, one-line summary)."""
    return [figures.alt_text(f) for f in figs]


def _projector(present):
    """Figures enlarged for a projector in presentation mode, else unchanged."""
    return figures.for_projector if present and "on" in present else (lambda f: f)


def _number(x, default: float, low: float, high: float) -> float:
    """A numeric control's value, or the default if it is empty or out of range."""
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and low <= x <= high else default


# ---------------------------------------------------------------- state: URL <-> controls


RANGE_INPUTS = [Input(ids.RANGE_IDS[name], "value") for name, *_ in RANGES]


@callback(
    Output(ids.POPULATION, "value"),
    Output(ids.THRESHOLD, "value"),
    Output(ids.SEX, "value"),
    Output(ids.ONSET, "value"),
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
    Input(ids.URL, "search"),
    Input(ids.POPULATION, "value"),
    Input(ids.THRESHOLD, "value"),
    Input(ids.SEX, "value"),
    Input(ids.ONSET, "value"),
    *RANGE_INPUTS,
    Input(ids.PATIENT_PICKER, "value"),
    Input(ids.TABS, "value"),
    Input(ids.HIGHLIGHT, "value"),
    Input(ids.PRESENT, "value"),
    Input(ids.RESET, "n_clicks"),
)
def sync_state(search, population, threshold, sex, onset, *rest):
    """The one place where URL, controls and the filter store are reconciled."""
    ranges = rest[: len(RANGES)]
    patients, tab, highlight, present, _reset = rest[len(RANGES):]
    present = bool(present) and "on" in present
    ds = dataset()
    pf = cohorts.patient_frame(ds)
    bounds = layout.slider_bounds(ds, pf)
    known = set(pf.index)
    notices: list[str] = []
    trig = ctx.triggered_id
    if trig is None or trig == ids.URL:
        params = parse_search(search)
        if search and len(search) > MAX_SEARCH_LENGTH:
            notices.append("The address was too long and was ignored.")
        filt, notices_f = CohortFilter.from_params(params)
        notices += notices_f
        unknown = [p for p in filt.patients if p not in known]
        if unknown:
            notices.append(f"patients: unknown id(s) {', '.join(unknown[:10])} ignored")
            filt = filt.with_(patients=tuple(p for p in filt.patients if p in known))
        tab = params.get("tab", "overview")
        if tab not in ids.TAB_VALUES:
            notices.append(f"tab={tab!r} ignored: choose from {', '.join(ids.TAB_VALUES)}")
            tab = "overview"
        present = params.get("present") in ("1", "true", "on")
        if "present" in params and params["present"] not in ("0", "1", "true", "false", "on", "off"):
            notices.append(f"present={params['present']!r} ignored: use 1 or 0")
        highlight = params.get("patient")
        if highlight is not None and highlight not in known:
            notices.append(f"patient={highlight!r} ignored: no such patient")
            highlight = None
    elif trig == ids.RESET:
        filt = CohortFilter()
        highlight = None
    else:
        kw = {}
        if population in cohorts.POPULATIONS:
            kw["population"] = population
        if isinstance(threshold, (int, float)) and 0 < threshold <= 1000:
            kw["min_decline"] = float(threshold)
        kw["sex"] = tuple(s for s in (sex or []) if s in ("F", "M"))
        kw["onset"] = tuple(o for o in (onset or []) if o in ("spinal", "spinal+bulbar"))
        for (name, *_), value in zip(RANGES, ranges):
            lo_b, hi_b = bounds[name]
            try:
                lo, hi = (float(value[0]), float(value[1])) if value else (lo_b, hi_b)
            except (TypeError, ValueError, IndexError):
                lo, hi = lo_b, hi_b
            kw[name] = (lo if lo > lo_b else None, hi if hi < hi_b else None)
            if kw[name][0] is not None and kw[name][1] is not None and kw[name][0] > kw[name][1]:
                kw[name] = (None, None)
        kw["patients"] = tuple(p for p in (patients or []) if isinstance(p, str) and p in known)
        try:
            filt = CohortFilter(**kw)
        except ValueError as exc:
            filt = CohortFilter()
            notices.append(f"Filters reset: {exc}")
        if tab not in ids.TAB_VALUES:
            tab = "overview"
        if highlight not in known:
            highlight = None
    cohort = cohorts.select(ds, filt)
    params = filt.to_params()
    view = dict(params)
    if tab != "overview":
        view["tab"] = tab
    if highlight:
        view["patient"] = highlight
    if present:
        view["present"] = "1"
    new_search = "?" + urlencode(view) if view else ""
    slider_values = []
    slider_texts = []
    for name, _stem, _col, _label, unit in RANGES:
        lo_b, hi_b = bounds[name]
        lo, hi = getattr(filt, name)
        v = [max(lo_b, lo) if lo is not None else lo_b, min(hi_b, hi) if hi is not None else hi_b]
        slider_values.append(v)
        slider_texts.append(f"{v[0]:g} - {v[1]:g} {unit}" + ("" if (lo, hi) != (None, None) else " (all)"))
    notice = layout.notice(["Some link parameters were ignored: ", "; ".join(notices)], "warn") if notices else None
    words = cohort.describe()
    if cohort.unclassified:
        words += f". {len(cohort.unclassified)} efficacy patient(s) unclassified (missing ALSFRS before or at day 0)."
    return (
        filt.population, filt.min_decline, list(filt.sex), list(filt.onset), *slider_values, list(filt.patients),
        tab, highlight, ["on"] if present else [], new_search if new_search != (search or "") else no_update, params, notice,
        cohort.count_text(), words, *slider_texts,
    )


@callback(
    Output(ids.HIGHLIGHT, "value", allow_duplicate=True),
    *[Input(fid, "clickData") for fid in ids.CLICKABLE_FIGURES],
    prevent_initial_call=True,
)
def highlight_from_click(*clicks):
    """A click on any patient's line, point, bar or heatmap cell highlights that patient."""
    trig = ctx.triggered_id
    data = dict(zip(ids.CLICKABLE_FIGURES, clicks)).get(trig)
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


@callback(Output(ids.SIM_NOTICE, "children"), Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"))
def simulated_notice(store, tab):
    """A visible notice whenever simulated values are on screen, naming which."""
    ds, _filt, cohort = _context(store)
    notes = views.simulated_notes(ds, cohort, tab)
    if not notes:
        return None
    return layout.notice([html.Strong("SIMULATED DATA ON SCREEN: "), "; ".join(notes) + "."], "sim", id="sim-notice-text")


# ---------------------------------------------------------------- views


@callback(Output(ids.OVERVIEW_FLOW, "children"), Output(ids.OVERVIEW_TABLE, "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"))
def overview(store, tab):
    _active(tab, "overview")
    ds, _filt, cohort = _context(store)
    v = views.overview(ds, cohort)
    if not v["characteristics"]:
        return layout.flow_diagram(v["flow"]), layout.notice(views.NO_PATIENTS + ".", "warn")
    return layout.flow_diagram(v["flow"]), layout.characteristics_table(v["characteristics"])


@callback(
    Output(ids.ALSFRS_SPAGHETTI, "figure"), Output(ids.ALSFRS_SLOPE_TABLE, "children"),
    Output(ids.ALSFRS_PAIRS, "figure"), Output(ids.ALSFRS_WATERFALL, "figure"), Output(ids.ALSFRS_MESSAGE, "children"),
    Output(f"{ids.ALSFRS_SPAGHETTI}-alt", "children"), Output(f"{ids.ALSFRS_PAIRS}-alt", "children"),
    Output(f"{ids.ALSFRS_WATERFALL}-alt", "children"),
    Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"),
    Input(ids.ALSFRS_SHOW_FITS, "value"), Input(ids.ALSFRS_WINDOW, "value"), Input(ids.PRESENT, "value"),
)
def alsfrs_view(store, tab, highlight, show_fits, window, present=None):
    _active(tab, "alsfrs")
    ds, _filt, cohort = _context(store)
    v = views.alsfrs(ds, cohort, highlight, bool(show_fits and "fits" in show_fits), window)
    table = layout.slope_table(v["slope_rows"]) if v["slope_rows"] else layout.notice(v["message"], "warn")
    message = layout.notice(v["message"], "warn") if v["message"] else None
    big = _projector(present)
    return (big(v["figure"]), table, big(v["pairs"]), big(v["waterfall"]), message,
            *_alts(v["figure"], v["pairs"], v["waterfall"]))


def _mixed_callback(window: int):
    @callback(Output(ids.ALSFRS_MIXED[window], "children"), Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"),
              Input(ids.ALSFRS_FIT_MIXED, "value"))
    def mixed_view(store, tab, fit=None):
        """The mixed model for one window: its own request, so the slope table never waits for it.

        Fitted at once for up to AUTO_FIT_PATIENTS patients; above, only when asked (a fit then takes
        seconds, and every filter change would start four of them)."""
        _active(tab, "alsfrs")
        ds, _filt, cohort = _context(store)
        if cohort.n > AUTO_FIT_PATIENTS and not (fit and "fit" in fit):
            if window != min(ids.ALSFRS_MIXED):
                return None
            return layout.notice(f"The mixed models are fitted at once for up to {AUTO_FIT_PATIENTS} patients; this selection has "
                                 f"{cohort.n:,}, where each fit takes seconds. Tick 'Fit the mixed models' above to fit them.", "info")
        rows = views.mixed_rows(ds, cohort, window, max_patients=MAX_INTERACTIVE_PATIENTS)
        return layout.mixed_table(rows) if rows else None

    mixed_view.__name__ = f"mixed_view_{window}"
    return mixed_view


mixed_views = {w: _mixed_callback(w) for w in ids.ALSFRS_MIXED}


@callback(Output(ids.FVC_SPAGHETTI, "figure"), Output(ids.FVC_SHARE_TABLE, "children"), Output(f"{ids.FVC_SPAGHETTI}-alt", "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"), Input(ids.FVC_THRESHOLD, "value"),
          Input(ids.PRESENT, "value"))
def fvc_view(store, tab, highlight, threshold, present=None):
    _active(tab, "fvc")
    ds, _filt, cohort = _context(store)
    v = views.fvc(ds, cohort, highlight, _number(threshold, 70.0, 0, 200))
    fig = _projector(present)(v["figure"])
    if v["message"]:
        return fig, layout.notice(v["message"] + ".", "warn"), *_alts(fig)
    return fig, [layout.fvc_share_table(label, share, v["threshold"]) for label, share in v["shares"]], *_alts(fig)


@callback(Output(ids.WS_GRID, "figure"), Output(ids.WS_MEAN, "figure"), Output(ids.WS_SHARE_TABLE, "children"),
          Output(f"{ids.WS_GRID}-alt", "children"), Output(f"{ids.WS_MEAN}-alt", "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"), Input(ids.WS_THRESHOLD, "value"),
          Input(ids.PRESENT, "value"))
def weakness_view(store, tab, highlight, threshold, present=None):
    _active(tab, "weakness")
    ds, _filt, cohort = _context(store)
    v = views.weakness(ds, cohort, highlight, _number(threshold, 1.0, 0.01, 5))
    big = _projector(present)
    shares = layout.notice(v["message"] + ".", "warn") if v["message"] else layout.share_table(v["shares"])
    return big(v["grid"]), big(v["mean"]), shares, *_alts(v["grid"], v["mean"])


@callback(Output(ids.AE_HEATMAP, "figure"), Output(ids.AE_INCIDENCE, "children"), Output(ids.AE_SERIOUS_LIST, "children"),
          Output(f"{ids.AE_HEATMAP}-alt", "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"),
          Input(ids.AE_COLOUR_BY, "value"), Input(ids.AE_ONLY, "value"), Input(ids.PRESENT, "value"))
def safety_view(store, tab, highlight, colour_by, only, present=None):
    _active(tab, "safety")
    ds, _filt, cohort = _context(store)
    colour_by = colour_by if colour_by in ("severity", "serious", "related") else "severity"
    only = [o for o in (only or []) if o in ("serious", "related")]
    v = views.safety(ds, cohort, highlight, colour_by, only)
    return (_projector(present)(v["heatmap"]), layout.incidence_table(v["incidence"], v["n"]),
            layout.serious_listing(v["serious"]), *_alts(v["heatmap"]))


@callback(Output(ids.PROFILE_CONTENT, "children"), Output(ids.PROFILE_FIGURE, "figure"), Output(f"{ids.PROFILE_FIGURE}-alt", "children"),
          Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"), Input(ids.FILTER_STORE, "data"), Input(ids.PRESENT, "value"))
def profile_view(tab, highlight, store, present=None):
    _active(tab, "profile")
    ds, filt, _cohort = _context(store)
    if not highlight:
        fig = figures.message_figure("No patient chosen")
        return (layout.notice("Pick a patient in 'Highlighted patient' above, or click a patient's line in any view.", "info"),
                fig, *_alts(fig))
    v = views.profile(ds, highlight, filt.min_decline)
    if v["patient"] is None:
        return layout.notice(f"No patient {highlight} in this dataset.", "warn"), v["figure"], *_alts(v["figure"])
    content = [
        html.H3(f"Patient {highlight}"),
        layout.table(["Characteristic", "Value"], [list(f) for f in v["facts"]], class_name="facts"),
        html.H4("Adverse events"),
        layout.events_table(v["events"]),
    ]
    return content, _projector(present)(v["figure"]), *_alts(v["figure"])


@callback(Output(ids.PAPER_TABLE, "children"), Input(ids.TABS, "value"))
def paper_view(tab):
    _active(tab, "paper")
    claims = [c.to_dict() for c in reproduce(dataset())]
    intro = html.P(
        "Every quantitative claim of the paper that its tables allow, recomputed from the dataset files. "
        "'simulated data' marks claims that rest on the simulated ALSFRS values: those are not reproductions.")
    return [intro, layout.paper_table(claims)]


# ---------------------------------------------------------------- presenting and sharing


@callback(Output(ids.APP_ROOT, "className"), Output(ids.PRESENT_CAPTION, "children"),
          Input(ids.PRESENT, "value"), Input(ids.FILTER_STORE, "data"))
def presentation_mode(present, store):
    """Presentation mode: the filter panel hides and the active filters show as a caption."""
    if not (present and "on" in present):
        return "app", None
    _ds, filt, cohort = _context(store)
    return "app present", [html.Strong(cohort.count_text()), " · ", cohort.describe()]


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.DOWNLOAD_DATA, "n_clicks"), Input(ids.DOWNLOAD_SLOPES, "n_clicks"),
    Input(ids.DOWNLOAD_INCIDENCE, "n_clicks"), Input(ids.DOWNLOAD_REPORT, "n_clicks"), Input(ids.DOWNLOAD_EVENTS, "n_clicks"),
    State(ids.FILTER_STORE, "data"), State(ids.TABS, "value"), State(ids.HIGHLIGHT, "value"),
    State(ids.ALSFRS_WINDOW, "value"), State(ids.FVC_THRESHOLD, "value"), State(ids.WS_THRESHOLD, "value"),
    prevent_initial_call=True,
)
def download(_d, _s, _i, _r, _e, store, tab, highlight, window, fvc_threshold, ws_threshold):
    """CSV of the selection, of the slope tests, of the incidence table and of the adverse events; the HTML report."""
    trig = ctx.triggered_id
    if trig not in (ids.DOWNLOAD_DATA, ids.DOWNLOAD_SLOPES, ids.DOWNLOAD_INCIDENCE, ids.DOWNLOAD_REPORT, ids.DOWNLOAD_EVENTS):
        raise PreventUpdate
    ds, _filt, cohort = _context(store)
    today = _dt.date.today().isoformat()
    view = tab if tab in ids.TAB_VALUES else "overview"
    if trig == ids.DOWNLOAD_DATA:
        sim = bool(cohorts.rows(ds.measurements, cohort)["simulated"].any())
        return dict(content=reports.selection_csv(ds, cohort), filename=reports.export_filename(view, "data", today, sim), type="text/csv")
    if trig == ids.DOWNLOAD_SLOPES:
        return dict(content=reports.slope_tests_csv(ds, cohort),
                    filename=reports.export_filename(view, "slope-tests", today, functional_measure(ds.measures) in ds.simulated_measures), type="text/csv")
    if trig == ids.DOWNLOAD_EVENTS:
        return dict(content=reports.adverse_events_csv(ds, cohort), filename=reports.export_filename(view, "adverse-events", today),
                    type="text/csv")
    if trig == ids.DOWNLOAD_INCIDENCE:
        return dict(content=reports.incidence_csv(ds, cohort), filename=reports.export_filename(view, "incidence", today), type="text/csv")
    html_text = reports.html_report(ds, cohort, highlight=highlight if isinstance(highlight, str) else None,
                                    window=window if window in (3, 6, 9, 12) else 3,
                                    fvc_threshold=_number(fvc_threshold, 70.0, 0, 200), ws_threshold=_number(ws_threshold, 1.0, 0.01, 5))
    return dict(content=html_text, filename=f"als-trial_{view}_report_{today}.html", type="text/html")
