"""Component trees: the page skeleton and the builders of tables and panels.

Builders take plain data (results of ``stats`` / ``reproduce``) and return
Dash components; they compute nothing themselves.
"""

from __future__ import annotations

import math

import pandas as pd
from dash import dcc, html

from . import ids
from .cohorts import POPULATION_LABELS, RANGES, CohortFilter
from .data import MEASURES, ONSETS, SEXES, Dataset
from .formatting import (EVENT_HEADER, METHODS, MIXED_HEADER, mixed_row, SLOPE_HEADER, characteristics_rows, event_rows, fmt,
                         slope_row)
from .mixed import AUTO_FIT_PATIENTS as MIXED_AUTO_FIT
from .mixed import DISAGREEMENT_NOTE as MIXED_NOTE
from .stats import WINDOWS

TAB_LABELS = {
    "overview": "Overview",
    "alsfrs": "ALSFRS",
    "fvc": "FVC",
    "weakness": "Weakness",
    "safety": "Safety",
    "profile": "Patient profile",
    "paper": "Paper check",
}
SLIDER_STEP = {"age": 1, "disease_duration": 1, "baseline_alsfrs": 1, "baseline_fvc": 1, "delta_fs": 0.05}


# ---------------------------------------------------------------- components


def table(header: list, rows: list[list], caption: str | None = None, id: str | None = None, class_name: str = "data-table") -> html.Table:
    kids = []
    if caption:
        kids.append(html.Caption(caption))
    kids.append(html.Thead(html.Tr([html.Th(h, scope="col") for h in header])))
    kids.append(html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]))
    kw = {"id": id} if id else {}
    return html.Table(kids, className=class_name, **kw)


def notice(text, kind: str = "info", **kw) -> html.Div:
    return html.Div(text, className=f"notice notice-{kind}", role="status", **kw)


def graph(id_: str, alt: str = "", height: int | None = None) -> html.Figure:
    """A dcc.Graph wrapped in a <figure> with a text alternative (updated with the figure)."""
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "width": 1600, "height": 900, "scale": 1, "filename": id_},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
    style = {"height": f"{height}px"} if height else {}
    exports = html.Div(
        [html.Span("Download figure (16:9 slide):", className="export-label")]
        + [html.Button(fmt_.upper(), className="button button-small", title=f"Download this figure as {fmt_.upper()} at slide size",
                       **{"data-export-figure": id_, "data-export-format": fmt_, "aria-label": f"Download figure as {fmt_.upper()}"})
           for fmt_ in ("png", "svg")],
        className="figure-exports",
    )
    return html.Figure(
        [dcc.Loading(dcc.Graph(id=id_, config=config, style=style), type="dot", delay_show=400),
         html.Figcaption(alt, id=f"{id_}-alt", className="sr-caption"), exports],
        className="graph",
    )


# ---------------------------------------------------------------- skeleton


def _range_control(ds_ranges: dict, name: str, stem: str, label: str, unit: str) -> html.Div:
    lo, hi = ds_ranges[name]
    slider_id = ids.RANGE_IDS[name]
    return html.Div(
        [
            html.Label(f"{label} ({unit})", htmlFor=slider_id, id=f"{slider_id}-label"),
            dcc.RangeSlider(id=slider_id, min=lo, max=hi, step=SLIDER_STEP[name], value=[lo, hi],
                            marks=None, tooltip={"placement": "bottom", "always_visible": False}, allowCross=False),
            html.Div(f"{lo:g} - {hi:g}", id=f"{slider_id}-text", className="range-text", **{"aria-live": "polite"}),
        ],
        className="control",
    )


def slider_bounds(ds: Dataset, patient_frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each range filter's full extent in the data (floor/ceil), used by the sliders."""
    out = {}
    for name, _stem, col, *_ in RANGES:
        v = pd.to_numeric(patient_frame[col], errors="coerce").dropna()
        step = SLIDER_STEP[name]
        lo, hi = (math.floor(v.min() / step) * step, math.ceil(v.max() / step) * step) if len(v) else (0.0, 1.0)
        if lo == hi:
            hi = lo + step
        out[name] = (round(float(lo), 6), round(float(hi), 6))
    return out


def build_layout(ds: Dataset, patient_frame: pd.DataFrame, counts: dict[str, int]) -> html.Div:
    bounds = slider_bounds(ds, patient_frame)
    pids = list(patient_frame.index)
    patient_options = [{"label": f"Patient {p}", "value": p} for p in pids]
    sim = ds.simulated_measures
    header = html.Header(
        [
            html.Div([
                html.H1(ds.title),
                html.P(
                    [f"Dataset {ds.directory.name}/ · hash ", html.Code(ds.short_hash),
                     f" · data as of {ds.data_as_of}" + (" (file date)" if ds.data_as_of_source != "metadata.json" else ""),
                     f" · {len(pids)} patients enrolled"],
                    id=ids.DATASET_INFO, className="dataset-info",
                ),
            ]),
            html.Div(id=ids.SIM_NOTICE, className="sim-notice-slot"),
            html.Div(id=ids.URL_NOTICE),
        ],
        className="app-header",
    )
    pop_options = [{"label": f"{POPULATION_LABELS[p]}" + (f" ({counts[p]})" if p in counts else ""), "value": p}
                   for p in ("safety", "efficacy", "progressors", "stable", "compare")]
    panel = html.Aside(
        [
            html.H2("Filters"),
            html.Div("", id=ids.COHORT_COUNT, className="cohort-count", role="status", **{"aria-live": "polite"}),
            html.Div(id=ids.COHORT_WORDS, className="cohort-words"),
            html.Fieldset([
                html.Legend("Population"),
                dcc.RadioItems(id=ids.POPULATION, options=pop_options, value="safety", className="radio-list", inputClassName="radio-input"),
            ], className="control"),
            html.Div([
                html.Label("Progressor threshold: ALSFRS fall before day 0 of at least (points)", htmlFor=ids.THRESHOLD),
                dcc.Input(id=ids.THRESHOLD, type="number", min=0.5, max=40, step=0.5, value=2, debounce=True, className="num-input"),
            ], className="control"),
            html.Fieldset([html.Legend("Sex"), dcc.Checklist(id=ids.SEX, options=[{"label": s, "value": s} for s in SEXES], value=[], inline=True)], className="control"),
            html.Fieldset([html.Legend("Onset"), dcc.Checklist(id=ids.ONSET, options=[{"label": o, "value": o} for o in ONSETS], value=[], inline=True)], className="control"),
            *[_range_control(bounds, name, stem, label, unit) for name, stem, _c, label, unit in RANGES],
            html.Div([
                html.Label("Patients (narrow to these)", htmlFor=ids.PATIENT_PICKER),
                dcc.Dropdown(id=ids.PATIENT_PICKER, options=patient_options, value=[], multi=True, placeholder="All patients of the population"),
            ], className="control"),
            html.Button("Reset filters", id=ids.RESET, n_clicks=0, className="button"),
        ],
        id=ids.FILTER_PANEL, className="filter-panel", **{"aria-label": "Filters"},
    )
    highlight_bar = html.Div(
        [
            html.Label("Highlighted patient", htmlFor=ids.HIGHLIGHT),
            dcc.Dropdown(id=ids.HIGHLIGHT, options=patient_options, value=None, clearable=True, placeholder="Click a line, bar or heatmap row, or pick", className="highlight-dropdown"),
            html.Button("Open profile", id=ids.OPEN_PROFILE, n_clicks=0, className="button button-secondary"),
        ],
        id=ids.HIGHLIGHT_BAR, className="highlight-bar",
    )
    toolbar = html.Div(
        [
            dcc.Checklist(id=ids.PRESENT, options=[{"label": "Presentation mode (← → step through the views)", "value": "on"}],
                          value=[], className="present-toggle"),
            html.Span("Download:", className="export-label"),
            html.Button("Data (CSV)", id=ids.DOWNLOAD_DATA, n_clicks=0, className="button button-secondary",
                        title="The selection's measurements in long format with patient attributes"),
            html.Button("Slope tests (CSV)", id=ids.DOWNLOAD_SLOPES, n_clicks=0, className="button button-secondary"),
            html.Button("Incidence (CSV)", id=ids.DOWNLOAD_INCIDENCE, n_clicks=0, className="button button-secondary"),
            html.Button("Adverse events (CSV)", id=ids.DOWNLOAD_EVENTS, n_clicks=0, className="button button-secondary",
                        title="Every adverse event of the selected patients, one row per event"),
            html.Button("Report (HTML)", id=ids.DOWNLOAD_REPORT, n_clicks=0, className="button button-secondary",
                        title="A self-contained HTML report of the selection: every figure and table, opens without a network"),
            dcc.Download(id=ids.DOWNLOAD),
        ],
        className="toolbar",
    )
    tabs = dcc.Tabs(
        id=ids.TABS, value="overview", className="tabs",
        children=[dcc.Tab(label=TAB_LABELS[t], value=t, children=_TAB_BUILDERS[t](ds)) for t in ids.TAB_VALUES],
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.FILTER_STORE, data=CohortFilter().to_params()),
            header,
            html.Div([panel, html.Main([toolbar, highlight_bar, html.Div(id=ids.PRESENT_CAPTION, className="present-caption"), tabs],
                                       className="main")], className="body"),
            html.Footer(
                "Every number is computed from the dataset files when the page is drawn. "
                "Slopes: per-patient OLS; tests: paired t (scipy ttest_rel) and Wilcoxon signed-rank on the differences.",
                className="app-footer",
            ),
        ],
        className="app", id=ids.APP_ROOT,
    )


# ---------------------------------------------------------------- tab skeletons


def _section(title: str, *children, id=None) -> html.Section:
    kw = {"id": id} if id else {}
    return html.Section([html.H3(title), *children], className="section", **kw)


def _overview(ds):
    return html.Div([
        _section("Patient flow", html.Div(id=ids.OVERVIEW_FLOW)),
        _section("Characteristics of the selection (as in Table 2)", html.Div(id=ids.OVERVIEW_TABLE)),
    ], className="tab-body")


def _alsfrs(ds):
    return html.Div([
        html.Div(id=ids.ALSFRS_MESSAGE),
        html.Div([
            dcc.Checklist(id=ids.ALSFRS_SHOW_FITS, options=[{"label": "Show each patient's fitted pre- and post-treatment slopes", "value": "fits"}], value=[]),
            html.Label("Window for the slope plots and fits", htmlFor=ids.ALSFRS_WINDOW),
            dcc.RadioItems(id=ids.ALSFRS_WINDOW, options=[{"label": f"0-{w} months", "value": w} for w in WINDOWS], value=3, inline=True),
        ], className="view-controls"),
        graph(ids.ALSFRS_SPAGHETTI),
        _section("Slope tests: post- vs pre-treatment slope", html.Div(id=ids.ALSFRS_SLOPE_TABLE)),
        _section("Mixed model: change in slope after day 0",
                 dcc.Checklist(id=ids.ALSFRS_FIT_MIXED, value=[], options=[
                     {"label": f"Fit the mixed models for selections of more than {MIXED_AUTO_FIT} patients (seconds per window)",
                      "value": "fit"}]),
                 html.Div([dcc.Loading(html.Div(id=ids.ALSFRS_MIXED[w]), type="dot", delay_show=300) for w in WINDOWS],
                          className="mixed-grid"),
                 html.P(METHODS["mixed"], className="method"),
                 html.P(["When the two disagree: ", MIXED_NOTE], className="method")),
        html.Div([graph(ids.ALSFRS_PAIRS), graph(ids.ALSFRS_WATERFALL)], className="two-col"),
    ], className="tab-body")


def _fvc(ds):
    return html.Div([
        html.Div([
            html.Label("Reference line (FVC % predicted)", htmlFor=ids.FVC_THRESHOLD),
            dcc.Input(id=ids.FVC_THRESHOLD, type="number", min=0, max=200, step=1, value=70, debounce=True, className="num-input"),
        ], className="view-controls"),
        graph(ids.FVC_SPAGHETTI),
        _section("Share at or above the reference line, per visit", html.Div(id=ids.FVC_SHARE_TABLE)),
    ], className="tab-body")


def _weakness(ds):
    return html.Div([
        html.Div([
            html.Label("Stable = fall from the visit III baseline smaller than (points)", htmlFor=ids.WS_THRESHOLD),
            dcc.Input(id=ids.WS_THRESHOLD, type="number", min=0.1, max=5, step=0.1, value=1.0, debounce=True, className="num-input"),
        ], className="view-controls"),
        _section("Share stable at 3 and 12 months", html.Div(id=ids.WS_SHARE_TABLE)),
        graph(ids.WS_GRID),
        graph(ids.WS_MEAN),
    ], className="tab-body")


def _safety(ds):
    return html.Div([
        html.Div([
            html.Fieldset([html.Legend("Colour cells by"), dcc.RadioItems(id=ids.AE_COLOUR_BY, options=[
                {"label": "Severity", "value": "severity"}, {"label": "Seriousness", "value": "serious"},
                {"label": "Relationship", "value": "related"}], value="severity", inline=True)]),
            html.Fieldset([html.Legend("Show only"), dcc.Checklist(id=ids.AE_ONLY, options=[
                {"label": "Serious events", "value": "serious"}, {"label": "Related events", "value": "related"}], value=[], inline=True)]),
        ], className="view-controls"),
        graph(ids.AE_HEATMAP),
        html.Div([
            _section("Incidence by term", html.Div(id=ids.AE_INCIDENCE)),
            _section("Serious adverse events", html.Div(id=ids.AE_SERIOUS_LIST)),
        ], className="two-col"),
    ], className="tab-body")


def _profile(ds):
    return html.Div([html.Div(id=ids.PROFILE_CONTENT), graph(ids.PROFILE_FIGURE)], className="tab-body")


def _paper(ds):
    return html.Div([html.Div(id=ids.PAPER_TABLE)], className="tab-body")


_TAB_BUILDERS = {"overview": _overview, "alsfrs": _alsfrs, "fvc": _fvc, "weakness": _weakness,
                 "safety": _safety, "profile": _profile, "paper": _paper}


# ---------------------------------------------------------------- content builders


def flow_diagram(flow: dict) -> html.Div:
    """26 enrolled -> 23 efficacy -> progressors / stable, with exclusions."""
    def box(title, n, detail=None, cls=""):
        return html.Div([html.Div(title, className="flow-title"), html.Div(str(n), className="flow-n"),
                         html.Div(detail, className="flow-detail") if detail else None], className=f"flow-box {cls}")

    excl = flow["excluded"]
    excl_text = html.Ul([html.Li(f"Patient {p}: {reason or 'reason not given'}") for p, reason in excl]) if excl else "none"
    row2 = [box("Progressors", flow["progressors"], f"ALSFRS fall ≥ {flow['threshold']:g} points before day 0", "flow-prog"),
            box("Stable", flow["stable"], f"fall < {flow['threshold']:g} points", "flow-stable")]
    if flow["unclassified"]:
        row2.append(box("Unclassified", flow["unclassified"], "missing ALSFRS at the first pre-treatment visit or day 0"))
    return html.Div([
        html.Div([box("Enrolled (safety population)", flow["safety"])], className="flow-row"),
        html.Div("↓", className="flow-arrow", **{"aria-hidden": "true"}),
        html.Div([box("Efficacy population", flow["efficacy"]),
                  box("Excluded from efficacy", len(excl), excl_text, "flow-excluded")], className="flow-row"),
        html.Div("↓", className="flow-arrow", **{"aria-hidden": "true"}),
        html.Div(row2, className="flow-row"),
        html.P(f"Current selection: {flow['selected']} patients.", className="flow-selected"),
        notice(flow["simulated_note"], "sim") if flow.get("simulated_note") else None,
    ], className="flow")


def characteristics_table(columns: list[tuple[str, dict]]) -> html.Table:
    """Table 2-style characteristics; one column per group."""
    header, rows = characteristics_rows(columns)
    return table(header, rows, caption="Mean ± SEM (SEM = SD/√n); counts with percent of the column's n.")


def slope_table(rows: list[tuple[str, dict]], measure: str = "ALSFRS") -> html.Div:
    """The slope-test table: one row per (group, window)."""
    return html.Div([
        table(SLOPE_HEADER, [slope_row(group, t) for group, t in rows], id=f"{ids.ALSFRS_SLOPE_TABLE}-table"),
        html.P(METHODS["slopes"], className="method"),
    ])


def mixed_table(rows: list[tuple[str, dict]]) -> html.Table:
    return table(MIXED_HEADER, [mixed_row(g, r) for g, r in rows])


def incidence_table(inc: pd.DataFrame, n: int) -> html.Table:
    rows = [[r.term, f"{r.patients} ({fmt(r.percent, 1)}%)", str(r.events)] for r in inc.itertuples()]
    return table(["Term", f"Patients n (% of {n})", "Events"], rows,
                 caption="A patient with several events of one term counts once in patients, each time in events.")


#: The serious-event listing shows at most this many rows (the adverse-events CSV has them all): every
#: cell of a table is a component that Dash's renderer revisits on each update (200 rows cost 2 s).
SERIOUS_LISTING_ROWS = 50


def serious_listing(ae: pd.DataFrame, limit: int = SERIOUS_LISTING_ROWS) -> html.Div:
    if ae.empty:
        return html.P("No serious adverse events in the selection.")
    listing = table(["Patient"] + EVENT_HEADER, event_rows(ae.head(limit)))
    if len(ae) <= limit:
        return listing
    return html.Div([notice(f"The first {limit} of {len(ae)} serious events (the most severe first) are listed; "
                            "'Adverse events (CSV)' above downloads every event of the selection.", "info"), listing])


def events_table(ae: pd.DataFrame):
    if ae.empty:
        return html.P("No adverse events recorded.")
    return table(EVENT_HEADER, event_rows(ae, with_patient=False))


def share_table(shares: list[tuple[str, object]]) -> html.Table:
    rows = [[label, f"{s.stable} of {s.denominator}", f"{fmt(s.percent, 1)}%" if s.percent is not None else "—",
             str(s.missing), s.definition + (f" — {s.note}" if s.note else "")] for label, s in shares]
    return table(["When", "Stable", "Percent", "Without a value", "Definition"], rows)


def fvc_share_table(label: str, share: pd.DataFrame, threshold: float) -> html.Table:
    rows = [[r.visit, f"{r.month:g}", str(r.n), f"{r.at_or_above}", f"{r.percent:.1f}%"] for r in share.itertuples()]
    return table(["Visit", "Month", "n with a value", f"≥ {threshold:g}%", "Percent"], rows, caption=label)


def paper_table(claims: list[dict]) -> html.Table:
    rows = [[c["claim"], c["paper"], c["recomputed"], c["definition"],
             html.Span(c["verdict"], className=f"verdict verdict-{c['verdict'].split(' ')[0]}"), c["note"]] for c in claims]
    return table(["Claim", "Paper", "Recomputed", "Definition", "Verdict", "Note"], rows, id=f"{ids.PAPER_TABLE}-table")
