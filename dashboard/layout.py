"""Component trees: the page skeleton and the builders of tables and panels.

Builders take plain data (results of ``stats`` / ``reproduce``) and return
Dash components; they compute nothing themselves.
"""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from . import cohorts, figures, ids, stats
from .cohorts import CATEGORIES, DEFAULT_MIN_DECLINE, DEFAULT_POPULATION, RANGES, CohortFilter
from .data import MEASURES, Dataset, functional_measure
from .formatting import METHODS, PLOTLY_CONFIG, Blocks, blocks_html
from .html_block import HtmlBlock
from .state import SLIDER_STEP, grouping_options, population_options, slider_bounds, unrecorded_categories  # noqa: F401  (slider_bounds: re-exported for callers of layout)
from .views import REGISTRY, Option, Slot, View, offered

#: Tab value -> label, from the view registry.
TAB_LABELS = {v.key: v.label for v in REGISTRY}


# ---------------------------------------------------------------- components


def table(header: list, rows: list[list], caption: str | None = None, id: str | None = None,
          class_name: str = "data-table") -> html.Table:
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
        **PLOTLY_CONFIG,
        "toImageButtonOptions": {"format": "png", **figures.SLIDE, "scale": 1, "filename": id_},
    }
    style = {"height": f"{height}px"} if height else {}
    exports = html.Div(
        [html.Span("Download figure (16:9 slide):", className="export-label")]
        + [html.Button(fmt_.upper(), className="button button-small",
                       title=f"Download this figure as {fmt_.upper()} at slide size",
                       **{"data-export-figure": id_, "data-export-format": fmt_,
                          "aria-label": f"Download figure as {fmt_.upper()}"})
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
            dcc.RangeSlider(id=slider_id, min=lo, max=hi, step=SLIDER_STEP.get(name, 1), value=[lo, hi],
                            marks=None, tooltip={"placement": "bottom", "always_visible": False}, allowCross=False),
            html.Div(f"{lo:g} - {hi:g}", id=f"{slider_id}-text", className="range-text", **{"aria-live": "polite"}),
        ],
        className="control",
    )


def _category_control(cat, values: tuple[str, ...]) -> html.Fieldset:
    """A category filter's checklist (cohorts.CATEGORIES) offering the values someone in the dataset has
    (a bulbar-onset box on a trial without one would select nobody); an attribute nobody recorded offers
    no choice and says so."""
    recorded = bool(values)
    options = [{"label": v, "value": v} for v in cat.choices if v in values]
    return html.Fieldset([html.Legend(cat.label),
                          *([] if recorded else [html.Span("not recorded in this dataset", className="range-text")]),
                          dcc.Checklist(id=ids.CATEGORY_IDS[cat.field], options=options, value=[], inline=True)],
                         className="control")


def import_report_notice(ds: Dataset) -> list:
    """The import report near the dataset line: its counts, and the full list one click away (none if empty)."""
    from .formatting import import_report_lines
    from .formatting import import_report_notice as notice_of

    notice = notice_of(ds.import_report)
    if notice is None:
        return []
    return [html.Div([html.Span(notice.text),
                      html.Details([html.Summary("The full list"),
                                    html.Ul([html.Li(line) for line in import_report_lines(ds.import_report)])])],
                     className=f"notice notice-{notice.kind} import-report", role="note")]


def build_layout(ds: Dataset, patient_frame: pd.DataFrame) -> html.Div:
    bounds = slider_bounds(ds, patient_frame)
    pids = list(patient_frame.index)
    patient_options = [{"label": f"Patient {p}", "value": p} for p in pids]
    header = html.Header(
        [
            html.Div([
                html.H1(ds.title),
                html.P(
                    ([f"Study {ds.study_id} · "] if ds.study_id else [])
                    + [f"Dataset {ds.directory.name}/ · hash ", html.Code(ds.short_hash),
                     f" · data as of {ds.data_as_of}"
                     + (" (file date)" if ds.data_as_of_source != "metadata.json" else ""),
                     f" · {len(pids)} patients enrolled"],
                    id=ids.DATASET_INFO, className="dataset-info",
                ),
                *import_report_notice(ds),
            ]),
            # shown by sync_state whenever simulated values are on screen, naming which
            html.Div(notice([html.Strong("SIMULATED DATA ON SCREEN: "), html.Span(id=ids.SIM_NOTICE_TEXT)], "sim"),
                     id=ids.SIM_NOTICE, className="sim-notice-slot", hidden=True),
            html.Div(id=ids.URL_NOTICE),
        ],
        className="app-header",
    )
    pop_options = population_options(ds, DEFAULT_MIN_DECLINE)
    group_options = grouping_options(ds)
    unrecorded = unrecorded_categories(patient_frame)
    scale = MEASURES[functional_measure(ds.measures)].label
    panel = html.Aside(
        [
            html.H2("Filters"),
            html.Div("", id=ids.COHORT_COUNT, className="cohort-count", role="status", **{"aria-live": "polite"}),
            html.Div(id=ids.COHORT_WORDS, className="cohort-words"),
            html.Fieldset([
                html.Legend("Population"),
                dcc.RadioItems(id=ids.POPULATION, options=pop_options, value=DEFAULT_POPULATION, className="radio-list",
                               inputClassName="radio-input"),
            ], className="control"),
            html.Fieldset([
                html.Legend("Group by"),
                dcc.RadioItems(id=ids.GROUP_BY, options=group_options, value="", className="radio-list",
                               inputClassName="radio-input"),
            ], className="control", hidden=len(group_options) < 2),
            html.Div(hidden=stats.progression_reason(ds) is not None, children=[
                html.Label(f"Progressor threshold: {scale} fall before day 0 "
                           "of at least (points)",
                           htmlFor=ids.THRESHOLD),
                # no min/max: the browser would send an out-of-range value as empty; the server names what it refuses
                dcc.Input(id=ids.THRESHOLD, type="number", step=0.5, value=2, debounce=True,
                          className="num-input"),
            ], className="control"),
            *[_category_control(cat, () if cat.field in unrecorded else
                                tuple(patient_frame[cat.column].dropna().astype(str).unique()))
              for cat in CATEGORIES],
            *[_range_control(bounds, name, stem, cohorts.range_label(name, label, scale), unit)
              for name, stem, _c, label, unit in RANGES],
            html.Div([
                html.Label("Patients (narrow to these)", htmlFor=ids.PATIENT_PICKER),
                dcc.Dropdown(id=ids.PATIENT_PICKER, options=patient_options, value=[], multi=True,
                             placeholder="All patients of the population"),
            ], className="control"),
            html.Button("Reset filters", id=ids.RESET, n_clicks=0, className="button"),
        ],
        id=ids.FILTER_PANEL, className="filter-panel", **{"aria-label": "Filters"},
    )
    highlight_bar = html.Div(
        [
            html.Label("Highlighted patient", htmlFor=ids.HIGHLIGHT),
            dcc.Dropdown(id=ids.HIGHLIGHT, options=patient_options, value=None, clearable=True,
                         placeholder="Click a line, bar or heatmap row, or pick", className="highlight-dropdown"),
            html.Button("Open profile", id=ids.OPEN_PROFILE, n_clicks=0, className="button button-secondary"),
        ],
        id=ids.HIGHLIGHT_BAR, className="highlight-bar",
    )
    toolbar = html.Div(
        [
            dcc.Checklist(id=ids.PRESENT,
                          options=[{"label": "Presentation mode (← → step through the views)", "value": "on"}],
                          value=[], className="present-toggle"),
            html.Span("Download:", className="export-label"),
            html.Button("Data (CSV)", id=ids.DOWNLOAD_DATA, n_clicks=0, className="button button-secondary",
                        title="The selection's measurements in long format with patient attributes"),
            html.Button("Slope tests (CSV)", id=ids.DOWNLOAD_SLOPES, n_clicks=0, className="button button-secondary"),
            html.Button("Incidence (CSV)", id=ids.DOWNLOAD_INCIDENCE, n_clicks=0, className="button button-secondary"),
            html.Button("Adverse events (CSV)", id=ids.DOWNLOAD_EVENTS, n_clicks=0, className="button button-secondary",
                        title="Every adverse event of the selected patients, one row per event"),
            html.Button("Report (HTML)", id=ids.DOWNLOAD_REPORT, n_clicks=0, className="button button-secondary",
                        title="A self-contained HTML report of the selection: every figure and table, "
                              "opens without a network"),
            dcc.Download(id=ids.DOWNLOAD),
        ],
        className="toolbar",
    )
    shown = offered(ds)
    tabs = dcc.Tabs(
        id=ids.TABS, value="overview", className="tabs",
        children=[dcc.Tab(label=v.tab_label(ds), value=v.key, children=tab_body(ds, v)) for v in shown],
    )
    # a view not offered for this dataset (View.available) has no tab; its skeleton stays, hidden, so that
    # every callback's components exist (its callback is never asked: no tab selects it)
    not_offered = html.Div([tab_body(ds, v) for v in REGISTRY if v not in shown], hidden=True,
                           className="not-offered")
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.FILTER_STORE, data=CohortFilter().to_params()),
            header,
            html.Div([panel, html.Main([toolbar, highlight_bar,
                                        html.Div(id=ids.PRESENT_CAPTION, className="present-caption"), tabs,
                                        not_offered],
                                       className="main")], className="body"),
            html.Footer(
                "Every number is computed from the dataset files when the page is drawn. "
                "Slopes: per-patient OLS; tests: paired t (scipy ttest_rel) and Wilcoxon signed-rank on the "
                "differences.",
                className="app-footer",
            ),
        ],
        className="app", id=ids.APP_ROOT,
        # the slide's size and its label limit, for assets/dashboard.js's figure export (declared in figures.py)
        **{"data-slide-width": figures.SLIDE["width"], "data-slide-height": figures.SLIDE["height"],
           "data-slide-max-categories": figures.SLIDE_MAX_CATEGORIES},
    )


# ---------------------------------------------------------------- tab skeletons (from the view registry)


def _section(title: str, *children, id=None) -> html.Section:
    kw = {"id": id} if id else {}
    return html.Section([html.H3(title), *children], className="section", **kw)


def control(view: View, option: Option, ds: Dataset | None = None) -> html.Div | dcc.Checklist:
    """The control of one view option, drawn by its kind (``ds``: for choices that depend on the dataset)."""
    cid = ids.slot_id(view.prefix, option.suffix)
    choices = option.choices_of(ds) if option.choices_of is not None and ds is not None else option.choices
    options = [{"label": label, "value": value} for value, label in choices]
    if option.kind == "number":
        lo = option.low if option.input_min is None else option.input_min
        return html.Div([
            html.Label(option.label, htmlFor=cid),
            dcc.Input(id=cid, type="number", min=lo, max=option.high, step=option.step, value=option.default,
                      debounce=True, className="num-input"),
        ])
    if option.kind == "toggle":
        return dcc.Checklist(id=cid, options=options, value=[option.choices[0][0]] if option.default else [])
    value = option.default if option.kind == "radio" else list(option.default)
    if option.kind == "radio" and option.choices_of is not None and value not in [c[0] for c in choices]:
        value = choices[0][0] if choices else option.default  # as state.reconcile reads an empty control
    if option.kind == "radio" and option.dropdown:
        return html.Div([html.Label(option.label, htmlFor=cid),
                         dcc.Dropdown(id=cid, options=options, value=value, clearable=False, searchable=True,
                                      className="option-dropdown")], className="option-choice")
    maker = dcc.RadioItems if option.kind == "radio" else dcc.Checklist
    widget = maker(id=cid, options=options, value=value, inline=option.inline)
    if option.legend:
        return html.Fieldset([html.Legend(option.label), widget])
    return html.Div([html.Label(option.label, htmlFor=cid), widget])


def _slot_skeleton(view: View, slot: Slot):
    sid = ids.slot_id(view.prefix, slot.name)
    if slot.kind == "figure":
        return graph(sid)
    if slot.kind == "deferred":
        return _section(
            slot.title,
            html.Div([control(view, o) for o in slot.options], id=ids.slot_options(view.prefix, slot.name),
                     hidden=slot.offer is not None),
            html.Div([dcc.Loading(html.Div(id=ids.slot_id(view.prefix, f"{slot.name}-{part}")), type="dot",
                                  delay_show=300) for part in slot.parts], className="mixed-grid"),
            *[html.P(note, className="method") for note in slot.notes],
        )
    body = html.Div(id=sid)
    return _section(slot.title, body) if slot.title else body


def tab_body(ds: Dataset, view: View) -> html.Div:
    """A view's skeleton: its controls, then an empty place for each slot (filled by its callback)."""
    items = [_slot_skeleton(view, s) for s in view.slots]
    # consecutive slots of one row side by side
    laid, i = [], 0
    while i < len(items):
        row = view.slots[i].row
        j = i + 1
        while row and j < len(items) and view.slots[j].row == row:
            j += 1
        laid.append(html.Div(items[i:j], className="two-col") if j - i > 1 else items[i])
        i = j
    if view.options:
        controls = html.Div([control(view, o, ds) for o in view.options], className="view-controls")
        at = sum(1 for s in view.slots[: view.controls_at])
        laid.insert(at, controls)
    laid += [html.P(METHODS[m], className="method") for m in view.methods]
    laid.append(dcc.Store(id=ids.view_request(view.prefix)))
    if any(s.kind == "deferred" for s in view.slots):
        laid.append(dcc.Store(id=ids.view_drawn(view.prefix)))
    return html.Div(laid, className="tab-body")


# ---------------------------------------------------------------- rendering blocks and results


def render(content: Blocks):
    """Formatting blocks (tables, notices, headings, paragraphs, disclosures) as one component, None for nothing.

    The blocks are written as HTML by :func:`formatting.blocks_html` (every text escaped, as in the report) and
    drawn by one :class:`html_block.HtmlBlock` (the browser's own HTML parser): a table of 100 cells is one
    component, not 100.  Dash's renderer re-checks every mounted component on each update of a page, and each
    new component is one more update: a view of several tables as components spent most of a filter change
    there."""
    text = blocks_html(content, live=True)
    if not text:
        return None
    return HtmlBlock(html=f"<div class='blocks'>{text}</div>", className="blocks-host")


def flow_diagram(flow) -> html.Div:
    """Enrolled -> efficacy -> progressors / stable, with exclusions (:class:`views.overview.Flow`)."""
    def box(title, n, detail=None, cls=""):
        return html.Div([html.Div(title, className="flow-title"), html.Div(str(n), className="flow-n"),
                         html.Div(detail, className="flow-detail") if detail else None], className=f"flow-box {cls}")

    excl = flow.excluded
    excl_text = (html.Ul([html.Li(f"Patient {p}: {reason or 'reason not given'}") for p, reason in excl])
                 if excl else "none")
    row2 = [box("Progressors", flow.progressors, f"{flow.scale} fall ≥ {flow.threshold:g} points before day 0",
                "flow-prog"),
            box("Stable", flow.stable, f"fall < {flow.threshold:g} points", "flow-stable")]
    if flow.no_grouping:
        row2 = [box("Progressors / stable", "not defined", flow.no_grouping)]
    elif flow.unclassified:
        row2.append(box("Unclassified", flow.unclassified,
                        f"missing {flow.scale} at the first pre-treatment visit or day 0"))
    return html.Div([
        html.Div([box("Enrolled (safety population)", flow.safety)], className="flow-row"),
        html.Div("↓", className="flow-arrow", **{"aria-hidden": "true"}),
        html.Div([box("Efficacy population", flow.efficacy),
                  box("Excluded from efficacy", len(excl), excl_text, "flow-excluded")], className="flow-row"),
        html.Div("↓", className="flow-arrow", **{"aria-hidden": "true"}),
        html.Div(row2, className="flow-row"),
        html.P(f"Current selection: {flow.selected} patients.", className="flow-selected"),
        notice(flow.simulated_note, "sim") if flow.simulated_note else None,
    ], className="flow")


def render_slot(slot: Slot, value):
    """One slot's content as the component property its callback sets."""
    if slot.kind == "flow":
        return flow_diagram(value)
    return render(value)
