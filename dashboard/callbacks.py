"""Thin callbacks: parse inputs, call cohorts/stats/figures/layout, return.

The dataset is read-only and belongs to the Flask app serving the request
(``current_app.config``); per-user state lives in the URL and the filter
store, never in module globals.  Views that are not on screen are not
recomputed (their callbacks raise PreventUpdate until their tab is chosen).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pandas as pd
from dash import Input, Output, State, callback, ctx, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from . import cohorts, figures, ids, layout, stats
from .cohorts import RANGES, CohortFilter
from .data import MEASURES, WS_MEASURES, Dataset
from .reproduce import reproduce

DATASET_KEY = "TRIAL_DATASET"
MAX_SEARCH_LENGTH = 20_000


def dataset() -> Dataset:
    return current_app.config[DATASET_KEY]


# ---------------------------------------------------------------- helpers


def simulated_text(ds: Dataset, measure: str, patient_ids=None) -> str | None:
    """'ALSFRS at visits I, II, ... is simulated, not trial data', or None."""
    m = ds.measurements
    sel = m[(m["measure"] == measure) & m["simulated"]]
    if patient_ids is not None:
        sel = sel[sel["patient_id"].isin(list(patient_ids))]
    if sel.empty:
        return None
    visits = sel.drop_duplicates("visit").sort_values("month")["visit"].tolist()
    return f"{measure} at visit{'s' if len(visits) > 1 else ''} {', '.join(visits)} is simulated, not trial data"


def parse_search(search: str | None) -> dict[str, str]:
    if not search or len(search) > MAX_SEARCH_LENGTH:
        return {}
    q = parse_qs(search.lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in q.items()}


def _context(store: dict | None):
    ds = dataset()
    filt, _ = CohortFilter.from_params(store or {})
    return ds, filt, cohorts.select(ds, filt)


def _group_map(cohort: cohorts.Cohort) -> dict[str, str]:
    """Patient -> colour group: progressors/stable in compare mode, else one group."""
    if cohort.filter.population == "compare":
        return dict(cohort.groups)
    return {p: "all" for p in cohort.patient_ids}


def _groups(cohort: cohorts.Cohort) -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, label, ids) per group shown: two in compare mode, else one."""
    if cohort.filter.population == "compare":
        return [("progressor", "Progressors", cohort.ids_in_group(cohorts.PROGRESSOR)),
                ("stable", "Stable", cohort.ids_in_group(cohorts.STABLE))]
    return [("all", layout.POPULATION_LABELS[cohort.filter.population], cohort.patient_ids)]


def _group_summaries(ds: Dataset, cohort: cohorts.Cohort, measures) -> pd.DataFrame:
    parts = []
    for key, _label, pids in _groups(cohort):
        s = stats.visit_summaries(ds.measurements, pids, measures)
        if len(s):
            parts.append(s.assign(group=key))
    return pd.concat(parts, ignore_index=True) if parts else None


def _active(tab: str, mine: str):
    if tab != mine:
        raise PreventUpdate


def _empty(cohort) -> str | None:
    return "No patients match the current filters" if cohort.n == 0 else None


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
    Input(ids.RESET, "n_clicks"),
)
def sync_state(search, population, threshold, sex, onset, *rest):
    """The one place where URL, controls and the filter store are reconciled."""
    ranges = rest[: len(RANGES)]
    patients, tab, highlight, _reset = rest[len(RANGES):]
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
    words = filt.describe()
    if cohort.unclassified:
        words += f". {len(cohort.unclassified)} efficacy patient(s) unclassified (missing ALSFRS before or at day 0)."
    return (
        filt.population, filt.min_decline, list(filt.sex), list(filt.onset), *slider_values, list(filt.patients),
        tab, highlight, new_search if new_search != (search or "") else no_update, params, notice,
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
    if not isinstance(cd, (str, int)):
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
    ds, filt, cohort = _context(store)
    notes = []
    if tab in ("alsfrs", "profile", "paper"):
        for measure in ds.simulated_measures:
            t = simulated_text(ds, measure, cohort.patient_ids if tab != "paper" else None)
            if t:
                notes.append(t)
    if filt.population in ("progressors", "stable", "compare") and "ALSFRS" in ds.simulated_measures:
        notes.append("the progressor/stable grouping rests on simulated pre-treatment ALSFRS")
    if not notes:
        return None
    return layout.notice([html_strong("SIMULATED DATA ON SCREEN: "), "; ".join(notes) + "."], "sim", id="sim-notice-text")


def html_strong(text):
    from dash import html

    return html.Strong(text)


# ---------------------------------------------------------------- views


@callback(Output(ids.OVERVIEW_FLOW, "children"), Output(ids.OVERVIEW_TABLE, "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"))
def overview(store, tab):
    _active(tab, "overview")
    ds, filt, cohort = _context(store)
    pf = cohorts.patient_frame(ds)
    groups = cohorts.progression_groups(ds, filt.min_decline)
    excluded = pf[pf["safety_population"] & ~pf["efficacy_population"]]
    flow = {
        "safety": int(pf["safety_population"].sum()),
        "efficacy": int(pf["efficacy_population"].sum()),
        "excluded": [(p, r if isinstance(r, str) else None) for p, r in excluded["exclusion_reason"].items()],
        "progressors": int((groups == cohorts.PROGRESSOR).sum()),
        "stable": int((groups == cohorts.STABLE).sum()),
        "unclassified": int((groups == cohorts.UNCLASSIFIED).sum()),
        "threshold": filt.min_decline,
        "selected": cohort.n,
        "simulated_note": ("Progressors and stable patients are classified from simulated pre-treatment ALSFRS values."
                           if "ALSFRS" in ds.simulated_measures else None),
    }
    if cohort.n == 0:
        return layout.flow_diagram(flow), layout.notice("No patients match the current filters.", "warn")
    cols = [(label, stats.characteristics(pf, pids)) for _k, label, pids in _groups(cohort)]
    if filt.population == "compare":
        cols.append(("Both", stats.characteristics(pf, cohort.patient_ids)))
    return layout.flow_diagram(flow), layout.characteristics_table(cols)


@callback(
    Output(ids.ALSFRS_SPAGHETTI, "figure"), Output(ids.ALSFRS_SLOPE_TABLE, "children"),
    Output(ids.ALSFRS_PAIRS, "figure"), Output(ids.ALSFRS_WATERFALL, "figure"), Output(ids.ALSFRS_MESSAGE, "children"),
    Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"),
    Input(ids.ALSFRS_SHOW_FITS, "value"), Input(ids.ALSFRS_WINDOW, "value"),
)
def alsfrs_view(store, tab, highlight, show_fits, window):
    _active(tab, "alsfrs")
    ds, filt, cohort = _context(store)
    measure = "ALSFRS"
    window = window if window in stats.WINDOWS else 3
    if measure not in ds.measures:
        msg = figures.message_figure("This dataset has no ALSFRS values")
        return msg, None, msg, msg, layout.notice("This dataset has no ALSFRS values.", "warn")
    if cohort.n == 0:
        msg = figures.message_figure("No patients match the current filters")
        return msg, layout.notice("No patients match the current filters.", "warn"), msg, msg, None
    sim = simulated_text(ds, measure, cohort.patient_ids)
    groups = _group_map(cohort)
    m = ds.measurements[(ds.measurements["measure"] == measure) & ds.measurements["patient_id"].isin(cohort.patient_ids)]
    slopes = stats.patient_slopes(ds.measurements, measure, cohort.patient_ids)
    fits = None
    if show_fits and "fits" in show_fits:
        fits = stats.fit_segments(ds.measurements, measure, cohort.patient_ids, window)
        fits = fits.assign(group=fits["patient_id"].map(groups).fillna("all"))
    fig = figures.spaghetti(m, measure, groups, _group_summaries(ds, cohort, [measure]), highlight, fits,
                            title="ALSFRS over time", simulated=sim)
    rows = []
    for _key, label, pids in _groups(cohort):
        for t in stats.slope_tests(ds.measurements, measure, pids):
            rows.append((label, t.to_dict(with_ids=False)))
    pairs = figures.slope_pairs(slopes, window, groups, measure, highlight, simulated=sim)
    water = figures.waterfall(slopes, window, groups, measure, highlight, simulated=sim)
    msg = None
    if cohort.n < 2:
        msg = layout.notice("Slope tests are not computable for n < 2.", "warn")
    return fig, layout.slope_table(rows, measure), pairs, water, msg


@callback(Output(ids.FVC_SPAGHETTI, "figure"), Output(ids.FVC_SHARE_TABLE, "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"), Input(ids.FVC_THRESHOLD, "value"))
def fvc_view(store, tab, highlight, threshold):
    _active(tab, "fvc")
    ds, filt, cohort = _context(store)
    threshold = float(threshold) if isinstance(threshold, (int, float)) and 0 <= threshold <= 200 else 70.0
    if "FVC" not in ds.measures:
        return figures.message_figure("This dataset has no FVC values"), None
    if cohort.n == 0:
        return figures.message_figure("No patients match the current filters"), layout.notice("No patients match the current filters.", "warn")
    m = ds.measurements[(ds.measurements["measure"] == "FVC") & ds.measurements["patient_id"].isin(cohort.patient_ids)]
    fig = figures.spaghetti(m, "FVC", _group_map(cohort), _group_summaries(ds, cohort, ["FVC"]), highlight,
                            title="FVC over time", simulated=simulated_text(ds, "FVC", cohort.patient_ids),
                            reference=threshold, reference_label=f"{threshold:g}% predicted")
    parts = []
    for _key, label, pids in _groups(cohort):
        share = stats.share_at_or_above(ds.measurements, pids, "FVC", threshold)
        rows = [[r.visit, f"{r.month:g}", str(r.n), f"{r.at_or_above}", f"{r.percent:.1f}%"] for r in share.itertuples()]
        parts.append(layout.table(["Visit", "Month", "n with a value", f"≥ {threshold:g}%", "Percent"], rows, caption=label))
    return fig, parts


@callback(Output(ids.WS_GRID, "figure"), Output(ids.WS_MEAN, "figure"), Output(ids.WS_SHARE_TABLE, "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"), Input(ids.WS_THRESHOLD, "value"))
def weakness_view(store, tab, highlight, threshold):
    _active(tab, "weakness")
    ds, filt, cohort = _context(store)
    threshold = float(threshold) if isinstance(threshold, (int, float)) and 0 < threshold <= 5 else 1.0
    if not any(m in ds.measures for m in WS_MEASURES):
        msg = figures.message_figure("This dataset has no weakness scores")
        return msg, msg, None
    if cohort.n == 0:
        msg = figures.message_figure("No patients match the current filters")
        return msg, msg, layout.notice("No patients match the current filters.", "warn")
    m = ds.measurements[ds.measurements["measure"].isin(WS_MEASURES) & ds.measurements["patient_id"].isin(cohort.patient_ids)]
    summaries = _group_summaries(ds, cohort, list(WS_MEASURES))
    grid = figures.ws_grid(m, _group_map(cohort), summaries, highlight)
    mean = figures.ws_mean(stats.visit_summaries(ds.measurements, cohort.patient_ids, list(WS_MEASURES)))
    definition = stats.StabilityDefinition(mode="change_below", threshold=threshold, baseline="first")
    shares = []
    for _key, label, pids in _groups(cohort):
        for month in (3, 12):
            shares.append((f"{label}, {month} months", stats.stability_share(ds.measurements, pids, "WS", month, definition)))
    return grid, mean, layout.share_table(shares)


@callback(Output(ids.AE_HEATMAP, "figure"), Output(ids.AE_INCIDENCE, "children"), Output(ids.AE_SERIOUS_LIST, "children"),
          Input(ids.FILTER_STORE, "data"), Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"),
          Input(ids.AE_COLOUR_BY, "value"), Input(ids.AE_ONLY, "value"))
def safety_view(store, tab, highlight, colour_by, only):
    _active(tab, "safety")
    ds, filt, cohort = _context(store)
    colour_by = colour_by if colour_by in ("severity", "serious", "related") else "severity"
    ae = ds.adverse_events
    only = only or []
    if "serious" in only:
        ae = ae[ae["serious"]]
    if "related" in only:
        ae = ae[ae["related"]]
    pats = pd.DataFrame({"patient_id": list(cohort.patient_ids)})
    fig = figures.ae_heatmap(ae, pats, colour_by, highlight)
    inc = stats.ae_incidence(ae, cohort.patient_ids)
    serious = ds.adverse_events[ds.adverse_events["serious"] & ds.adverse_events["patient_id"].isin(cohort.patient_ids)]
    return fig, layout.incidence_table(inc, cohort.n), layout.serious_listing(serious)


@callback(Output(ids.PROFILE_CONTENT, "children"), Output(ids.PROFILE_FIGURE, "figure"),
          Input(ids.TABS, "value"), Input(ids.HIGHLIGHT, "value"), Input(ids.FILTER_STORE, "data"))
def profile_view(tab, highlight, store):
    _active(tab, "profile")
    ds, filt, _cohort = _context(store)
    if not highlight:
        return (layout.notice("Pick a patient in 'Highlighted patient' above, or click a patient's line in any view.", "info"),
                figures.message_figure("No patient chosen"))
    pf = cohorts.patient_frame(ds)
    if highlight not in pf.index:
        return layout.notice(f"No patient {highlight} in this dataset.", "warn"), figures.message_figure("No such patient")
    r = pf.loc[highlight]
    group = cohorts.progression_groups(ds, filt.min_decline)[highlight]

    def val(x, unit=""):
        return "not recorded" if pd.isna(x) else f"{x:g}{unit}" if isinstance(x, float) else f"{x}{unit}"

    facts = [
        ("Age", val(r["age"], " years")), ("Sex", val(r["sex"])), ("Onset", val(r["onset"])),
        ("Disease duration", val(r["disease_duration_months"], " months")),
        ("Populations", "safety" + (", efficacy" if r["efficacy_population"] else f" only (excluded from efficacy: {r['exclusion_reason']})")),
        ("Progression group", f"{group} (ALSFRS fall before day 0: {val(r['decline'], ' points')}; threshold {filt.min_decline:g})"),
        ("ALSFRS at day 0", val(r.get("baseline_ALSFRS"))), ("FVC at baseline", val(r.get("baseline_FVC"), "%")),
        ("MRI at 12 months", "done" if r["mri_12m_done"] is True else ("not performed" if r["mri_12m_done"] is False else "not recorded")),
    ]
    ae = ds.adverse_events[ds.adverse_events["patient_id"] == highlight]
    content = [
        layout.html.H3(f"Patient {highlight}"),
        layout.table(["", ""], [[k, v] for k, v in facts], class_name="facts"),
        layout.html.H4("Adverse events"),
        layout.serious_listing(ae) if not ae.empty else layout.html.P("No adverse events recorded."),
    ]
    if not ae.empty:
        content[-1] = layout.table(["Term", "Serious", "Related", "Severity", "Action", "Duration (days)"], [
            [e.term, "yes" if e.serious else "no", "yes" if e.related else "no", e.severity, e.action if pd.notna(e.action) else "—",
             "persistent" if e.ongoing else (f"{int(e.duration_days)}" if pd.notna(e.duration_days) else "—")] for e in ae.itertuples()])
    return content, figures.patient_profile(ds.measurements, highlight, ds.simulated_measures)


@callback(Output(ids.PAPER_TABLE, "children"), Input(ids.TABS, "value"))
def paper_view(tab):
    _active(tab, "paper")
    ds = dataset()
    claims = [c.to_dict() for c in reproduce(ds)]
    intro = layout.html.P(
        "Every quantitative claim of the paper that its tables allow, recomputed from the dataset files. "
        "'simulated data' marks claims that rest on the simulated ALSFRS values: those are not reproductions.")
    return [intro, layout.paper_table(claims)]
