"""What is exported about a cohort: the statistics JSON (``stats`` command).

Pure: Dataset and Cohort in, plain data out; no Dash import.
"""

from __future__ import annotations

from . import cohorts, stats
from .data import Dataset


def cohort_statistics(ds: Dataset, cohort: cohorts.Cohort, with_mixed: bool = True) -> dict:
    """The ``stats`` command's JSON object (documented in README.md); NaN-free.  ``with_mixed=False``: no mixed
    model is fitted (a fit takes about a second each, four windows per measure and group), and each key of
    mixed models is ``{"reason": mixed.NOT_ASKED}``."""
    ids = cohort.patient_ids
    pf = cohorts.patient_frame(ds)
    m = ds.measurements
    from . import mixed

    slope_tests, mixed_models, pre_post = [], [], []
    for measure in ds.measures:
        if stats.has_pre_treatment(m, measure):
            rule = stats.pre_post(ds, measure)
            pre_post.append(rule.to_dict())
            slope_tests += _slope_tests(m, measure, ids, rule)
            if with_mixed:
                mixed_models += [r.to_dict() for r in mixed.mixed_models(m, measure, ids)]
    visits = stats.visit_summaries(m, ids)
    ae = stats.ae_incidence(ds.adverse_events, ids)
    out = {
        "dataset": {"directory": str(ds.directory), "hash": ds.short_hash, "data_as_of": ds.data_as_of,
                    "simulated_measures": ds.simulated_measures},
        "import_report": ds.import_report.to_dict(),
        "cohort": cohort.to_dict(),
        "characteristics": stats.characteristics(pf, ids),
        "pre_post": pre_post,
        "slope_tests": slope_tests,
        "mixed_models": mixed_models if with_mixed else {"reason": mixed.NOT_ASKED},
        "mixed_model_note": mixed.DISAGREEMENT_NOTE,
        "visit_summaries": visits.to_dict(orient="records"),
        "adverse_events": ae.to_dict(orient="records"),
        "adverse_event_summary": stats.ae_summary(ds.adverse_events, ids),
        "groups": _groups_statistics(ds, cohort, pf, mixed_models if with_mixed else None),
        **safety_statistics(ds, cohort),
    }
    out.update(_between_statistics(ds, cohort, with_mixed))
    return stats.clean(out)


def _between_statistics(ds: Dataset, cohort: cohorts.Cohort, with_mixed: bool) -> dict:
    """``between_group_tests``, ``visit_changes``, ``mixed_model_by_group``, ``cafs`` (each ``{"reason": ...}``
    where the selection is not grouped or has one group) and ``survival`` (per endpoint, or ``{"reason": ...}``),
    as the Between groups and Survival views compute them."""
    from .views import between_groups, survival

    return {**between_groups.statistics(ds, cohort, with_mixed), "survival": survival.statistics(ds, cohort)}


def safety_statistics(ds: Dataset, cohort: cohorts.Cohort) -> dict:
    """The DSMB's safety review in the ``stats`` JSON (issue 14; keys documented in README.md):
    ``safety_summary``, ``adverse_event_hierarchy``, ``deaths`` (per group shown, the control first) and
    ``changes`` (since the previous data cut; null without one)."""
    from . import safety

    grouped = bool(cohort.filter.grouping)
    keys = cohort.shown_group_of() if grouped else None
    order = [g.key for g in cohort.shown_groups] if grouped else None
    every = ds.all_adverse_events if ds.all_adverse_events is not None else ds.adverse_events
    ids = cohort.patient_ids
    return {
        "safety_summary": safety.summary(ds.adverse_events, ids, keys, order).to_dict(),
        "adverse_event_hierarchy": safety.hierarchy(ds.adverse_events, ids, keys, order).to_dict(),
        "deaths": safety.deaths(every, ds.patients, ds.measurements, ids, keys).to_dict(),
        "changes": ds.changes.to_dict() if ds.changes is not None else None,
    }


def _slope_tests(m, measure: str, ids, rule) -> list[dict]:
    """The slope tests of ``ids`` as dicts, each naming the patients it leaves out and why (``excluded``:
    [[id, why]]; empty where the test cannot be made at all, its note saying why)."""
    if not rule.computable:
        return [{**t.to_dict(), "excluded": []} for t in stats.slope_tests(m, measure, ids, rule=rule)]
    slopes = stats.patient_slopes(m, measure, ids)
    return [{**t.to_dict(), "excluded": [[p, why] for p, why in stats.slope_exclusions(slopes, ids, t.window_months,
                                                                                       measure)]}
            for t in stats.slope_tests(m, measure, ids, slopes=slopes, rule=rule)]


def _groups_statistics(ds: Dataset, cohort: cohorts.Cohort, pf, pooled_mixed: list[dict] | None) -> list[dict]:
    """Each group the dashboard shows for the selection (progressors and stable side by side in compare mode,
    else the one selection), with its own characteristics, slope tests, mixed models (``pooled_mixed``: the
    selection's, None where not fitted: then ``{"reason": mixed.NOT_ASKED}``) and visit summaries."""
    from . import mixed, views

    m = ds.measurements
    shown = views.groups(cohort)
    out = []
    for _key, label, pids in shown:
        if pooled_mixed is None:
            mixed_models = {"reason": mixed.NOT_ASKED}
        elif len(shown) == 1:  # one group: the selection's own fits
            mixed_models = pooled_mixed
        else:
            mixed_models = [r.to_dict() for measure in ds.measures if stats.has_pre_treatment(m, measure)
                            for r in mixed.mixed_models(m, measure, pids)]
        slope_tests = [t for measure in ds.measures if stats.has_pre_treatment(m, measure)
                       for t in _slope_tests(m, measure, pids, stats.pre_post(ds, measure))]
        out.append({"name": label, "n": len(pids), "patient_ids": list(pids),
                    "characteristics": stats.characteristics(pf, pids) if pids else None,
                    "slope_tests": slope_tests,
                    "mixed_models": mixed_models,
                    "visit_summaries": stats.visit_summaries(m, pids).to_dict(orient="records"),
                    "adverse_event_summary": stats.ae_summary(ds.adverse_events, pids)})
    return out


# ---------------------------------------------------------------- CSV exports


PATIENT_COLUMNS = ["age", "sex", "onset", "disease_duration_months", "safety_population", "efficacy_population", "arm"]


def selection_csv(ds: Dataset, cohort: cohorts.Cohort) -> str:
    """The selection's measurements in long format (the columns of measurements.csv), plus the
    patient attributes, the progression group and a ``simulated`` flag on every row."""
    import io

    m = cohorts.rows(ds.measurements, cohort)
    pf = cohorts.patient_frame(ds)[PATIENT_COLUMNS]
    groups = cohorts.progression_groups(ds, cohort.filter.min_decline).rename("progression_group")
    out = (m[["patient_id", "visit", "month", "measure", "value", "source", "simulated"]]
           .join(pf, on="patient_id").join(groups, on="patient_id"))
    out["group"] = out["patient_id"].map(_group_labels(cohort)).astype(object)
    for col in ("simulated", "safety_population", "efficacy_population"):
        out[col] = out[col].map({True: "true", False: "false"}).astype(object)
    from .untrusted import csv_frame

    buf = io.StringIO()
    csv_frame(out).to_csv(buf, index=False, lineterminator="\n", float_format="%.10g")
    return buf.getvalue()


def _group_labels(cohort: cohorts.Cohort) -> dict[str, str]:
    """Patient -> the label of the group the dashboard shows it in (the population's label when not grouped)."""
    return {pid: g.label for g in cohort.shown_groups for pid in g.patient_ids}


def table_csv(header: list[str], rows: list[list]) -> str:
    import csv
    import io

    from .untrusted import csv_cell

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else csv_cell(v) for v in r])
    return buf.getvalue()


SLOPE_CSV_COLUMNS = ["group", "measure", "window_months", "n", "pre_slope_mean", "pre_slope_sem", "post_slope_mean",
                     "post_slope_sem", "mean_difference", "ci95_low", "ci95_high", "t", "p_ttest", "p_wilcoxon", "note",
                     "rests_on_simulated_values", "left_out"]


def slope_tests_csv(ds: Dataset, cohort: cohorts.Cohort, measure: str | None = None) -> str:
    from . import views
    from .data import functional_measure

    measure = measure or functional_measure(ds.measures)
    simulated = measure in ds.simulated_measures
    rows = []
    for _k, label, pids in views.groups(cohort):
        for d in _slope_tests(ds.measurements, measure, pids, stats.pre_post(ds, measure)):
            left_out = "; ".join(f"{p} ({why})" for p, why in d["excluded"])
            rows.append([label, *(d[c] for c in SLOPE_CSV_COLUMNS[1:-2]), "true" if simulated else "false",
                         left_out])
    return table_csv(SLOPE_CSV_COLUMNS, rows)


def incidence_csv(ds: Dataset, cohort: cohorts.Cohort) -> str:
    inc = stats.ae_incidence(ds.adverse_events, cohort.patient_ids)
    rows = [[r.term, r.patients, r.events, None if r.percent is None else round(float(r.percent), 4), cohort.n]
            for r in inc.itertuples()]
    return table_csv(["term", "patients", "events", "percent", "cohort_n"], rows)


AE_CSV_COLUMNS = ["patient_id", "progression_group", "group", "term", "serious", "related", "severity", "action",
                  "duration_days", "ongoing"]


def adverse_events_csv(ds: Dataset, cohort: cohorts.Cohort) -> str:
    """Every adverse event of the selected patients (patients in their natural order), with their progression group."""
    import io

    ae = cohorts.rows(ds.adverse_events, cohort)
    ae = ae.assign(progression_group=ae["patient_id"].map(cohort.groups).astype(object),
                   group=ae["patient_id"].map(_group_labels(cohort)).astype(object))
    ae = ae.sort_values("patient_id", kind="stable")[AE_CSV_COLUMNS].astype(object)
    for col in ("serious", "related", "ongoing"):
        ae[col] = ae[col].map({True: "true", False: "false"})
    from .untrusted import csv_frame

    buf = io.StringIO()
    csv_frame(ae).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def export_filename(view: str, kind: str, today: str, simulated: bool = False) -> str:
    return f"als-trial_{view}_{kind}_{today}{'_includes-simulated' if simulated else ''}.csv"


# ---------------------------------------------------------------- HTML report


REPORT_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;
  max-width:1200px;margin:0 auto;padding:24px;line-height:1.45}
h1{font-size:1.5rem;margin:0 0 4px}
h2{font-size:1.2rem;border-bottom:2px solid #0072b2;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:8px 0}
th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.meta{color:#4a5058}
.sim{background:#fde8e1;color:#7a1f00;border:2px solid #d55e00;border-radius:5px;padding:8px 12px;margin:10px 0}
.method{color:#4a5058;font-size:.88rem}
.fig{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:4px}
.notice{border-radius:5px;padding:8px 12px;margin:8px 0;background:#eef6fc;border:1px solid #56b4e9}
.notice-warn{background:#fff8e1;border-color:#e69f00}.verdict{font-weight:600}
.conflict{color:#7a1f00;font-weight:600}.since{font-weight:600;color:#0b5394}
details summary{cursor:pointer;padding:3px 0}
.mixed-table td:not(:first-child):not(:last-child){white-space:nowrap}
.group-model-table td:nth-child(n+3){white-space:nowrap}
.confidential{font-weight:600;color:#7a1f00;text-align:center;font-size:.85rem;margin:4px 0}
.open-session{background:#eef6fc;border:2px solid #0072b2;border-radius:5px;padding:8px 12px;margin:10px 0}
.confidential-print{display:none}
@media print{.confidential-print{display:block;position:fixed;left:0;right:0;background:#fff}
  .confidential-top{top:0}.confidential-bottom{bottom:0}body{padding-top:32px;padding-bottom:32px}
  details{display:block}details>*{display:block}}
"""


def confidentiality_line(text: str | None = None) -> str:
    """The confidentiality line of the report and the figures: ``text``, else ``$DASHBOARD_CONFIDENTIALITY``,
    else :data:`dashboard.formatting.DEFAULT_CONFIDENTIALITY`."""
    import os

    from .formatting import CONFIDENTIALITY_ENV, DEFAULT_CONFIDENTIALITY

    return (text or os.environ.get(CONFIDENTIALITY_ENV) or DEFAULT_CONFIDENTIALITY).strip()


def _css_string(text: str) -> str:
    """A CSS string literal of plain text."""
    return '"' + "".join(ch if ch.isalnum() or ch in " .,:;!?()-_/" else f"\\{ord(ch):x} " for ch in text) + '"'


def _print_css(line: str) -> str:
    """Every printed page's header and footer carry the confidentiality line (CSS paged media margin boxes;
    a fixed header and footer where a browser has none)."""
    t = _css_string(line)
    return f"@page{{margin:18mm 12mm;@top-center{{content:{t}}}@bottom-center{{content:{t}}}}}"


def pooled(cohort: cohorts.Cohort, ds: Dataset) -> cohorts.Cohort:
    """The cohort pooled over its groups (the DSMB open session: no group columns)."""
    import dataclasses

    f = cohort.filter
    population = cohorts.EFFICACY_POPULATION if f.population == cohorts.COMPARE else f.population
    return cohorts.select(ds, dataclasses.replace(f, group_by="", population=population))


def _names_patients(cell_texts, ids: set[str]) -> bool:
    """Whether a table's cells name a patient: "Patient <id>" / "patient <id>", an id alone (ids that are not
    plain numbers: a count is not a patient), or a list of two or more ids ("1, 4, 7 … and 3 more")."""
    import re

    for text in cell_texts:
        t = str(text).strip()
        if t in ids and not t.isdigit():
            return True
        tokens = [x.strip() for x in re.split(r",|…", t) if x.strip()]
        if len(tokens) >= 2 and all(x in ids or re.fullmatch(r"and \d+ more", x) for x in tokens):
            return True
        for m in re.finditer(r"[Pp]atients? ([^\s,;:()]+)", t):
            if m.group(1) in ids:
                return True
    return False


def open_session_blocks(content, ids: set[str]):
    """The blocks without those that name a patient (a table with a patient's id, a disclosure of one): what the
    open-session report may show."""
    from .formatting import Details, Para, TableText, as_blocks, cell_text

    out = []
    for b in as_blocks(content):
        if isinstance(b, TableText) and _names_patients([cell_text(c) for r in b.rows for c in r], ids):
            out.append(Para("(A patient-level table, left out of the open-session report.)", "method"))
        elif isinstance(b, Details):
            inner = open_session_blocks(b.content, ids)
            out.append(Details(b.summary, inner, b.open, b.css, b.key))
        elif isinstance(b, Para) and _names_patients([b.text], ids):
            continue
        else:
            out.append(b)
    return tuple(out)


#: The report's Content-Security-Policy: it may run its own inline plotly.js and show inline images, and
#: nothing else: no request of any kind leaves the file (connect-src, img-src, form-action, ...).
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
              "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")


#: Every figure of the report without an upload address: plotly.js defaults to Plotly Cloud's, and plotly.py
#: leaves the config's empty plotlyServerURL out of the HTML where the upload button is off.
NO_UPLOAD_SCRIPT = "Plotly.setPlotConfig({plotlyServerURL: ''});"


def _esc(x) -> str:
    from .formatting import esc

    return esc(x)


def render_html(content) -> str:
    """Formatting blocks as HTML (:func:`dashboard.formatting.blocks_html`, as the dashboard draws them)."""
    from .formatting import blocks_html

    return blocks_html(content)


def _fig_html(fig, div_id: str) -> str:
    import plotly.io as pio

    from .formatting import PLOTLY_CONFIG

    title = fig.layout.title.text or ""
    alt = _esc(title.replace("<br>", " ").replace("<sup>", "").replace("</sup>", ""))
    return (f"<figure class='fig' aria-label='{alt}'>"
            + pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                          config={**PLOTLY_CONFIG, "responsive": True})
            + f"<figcaption class='method'>{alt}</figcaption></figure>")


def view_html(ds: Dataset, cohort: cohorts.Cohort, view, highlight: str | None = None,
              options: dict | None = None, open_session: bool = False) -> str:
    """One view's section of the report, from its declaration: its slots in order, then its methods.
    ``open_session``: without its patient-level slots (and clickable figures: a patient per mark), and any table
    naming a patient left out (:func:`open_session_blocks`)."""
    from . import ids, views
    from .formatting import METHODS, Para

    result = views.run(view.key, ds, cohort, highlight, **(options or {}))
    parts = [f"<h2>{_esc(view.heading_for(ds))}</h2>"]
    patient_ids = set(ds.patients["patient_id"].astype(str))
    for slot in view.slots:
        if open_session and (slot.patient_level or slot.clickable):
            continue
        if slot.kind == "figure":
            if slot.in_report:
                parts.append(_fig_html(getattr(result, slot.attr), f"fig-{ids.slot_id(view.prefix, slot.name)}"))
            continue
        if slot.kind == "deferred":
            content = tuple(slot.compute(ds, cohort, part, interactive=False) for part in slot.parts)
            content = (content, tuple(Para(n, "method") for n in slot.notes)) if any(content) else None
        elif slot.kind == "flow":
            from .formatting import flow_rows

            content = flow_rows(getattr(result, slot.attr), names=not open_session)
        else:
            content = getattr(result, slot.attr)
        if open_session:
            content = open_session_blocks(content, patient_ids)
        body = render_html(content)
        if body:
            parts.append((f"<h3>{_esc(slot.title)}</h3>" if slot.title else "") + body)
    parts += [render_html(Para(METHODS[m], "method")) for m in view.methods]
    return "\n".join(parts)


def _import_report_html(ds: Dataset) -> str:
    """The import report's notice and, one click away, its full list ("" when the import said nothing)."""
    from .formatting import import_report_lines, import_report_notice

    notice = import_report_notice(ds.import_report)
    if notice is None:
        return ""
    items = "".join(f"<li>{_esc(line)}</li>" for line in import_report_lines(ds.import_report))
    return (f"<div class='notice notice-{_esc(notice.kind)} import-report' role='note'>{_esc(notice.text)}"
            f"<details><summary>The full list</summary><ul>{items}</ul></details></div>")


def html_report(ds: Dataset, cohort: cohorts.Cohort, *, highlight: str | None = None,
                options: dict[str, dict] | None = None, generated_at: str | None = None,
                open_session: bool = False, confidentiality: str | None = None) -> str:
    """A single self-contained HTML file (plotly.js embedded, no network needed) of every view of the
    selection, in the registry's order (``options``: per view key, its options as on screen).

    ``open_session``: the DSMB open-session version, pooled over the groups, without patient-level listings,
    timelines or profiles (said on its first page); the default (closed) report has everything. Both carry the
    confidentiality line (:func:`confidentiality_line`) at the top and bottom and on every printed page."""
    import datetime as dt

    from plotly.offline import get_plotlyjs

    from . import views
    from .formatting import OPEN_SESSION_NOTE

    line = confidentiality_line(confidentiality)
    if open_session:
        cohort, highlight = pooled(cohort, ds), None
    generated_at = generated_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = views.simulated_notes(ds, cohort, "report")
    conf = f"<p class='confidential' role='note'>{_esc(line)}</p>"
    parts = [
        f"<div class='confidential-print confidential-top' aria-hidden='true'>{_esc(line)}</div>",
        f"<div class='confidential-print confidential-bottom' aria-hidden='true'>{_esc(line)}</div>",
        conf,
        f"<h1>{_esc(ds.title)}</h1>",
        (f"<div class='open-session' role='note'><strong>{_esc(OPEN_SESSION_NOTE)}</strong></div>"
         if open_session else "<p class='meta'>DSMB closed-session report: every view, per group, with the "
         "patient-level listings.</p>"),
        f"<p class='meta'>Report generated {_esc(generated_at)} · dataset {_esc(ds.directory.name)}/ · hash "
        f"<code>{_esc(ds.short_hash)}</code> · data as of {_esc(ds.data_as_of)}</p>",
        f"<p><strong>Selection:</strong> {_esc(cohort.describe())} — <strong>{_esc(cohort.count_text())}</strong>"
        + (f"; highlighted patient {_esc(highlight)}" if highlight else "") + "</p>",
    ]
    parts.append(_import_report_html(ds))
    if notes:
        parts.append("<div class='sim' role='note'><strong>SIMULATED DATA IN THIS REPORT:</strong> "
                     + _esc("; ".join(notes)) + ".</div>")
    for view in views.offered(ds):
        if view.in_report:
            parts.append(view_html(ds, cohort, view, highlight, (options or {}).get(view.key), open_session))
    parts.append(conf)
    body = "\n".join(parts)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_esc(ds.title)} — report</title>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{REPORT_CSP}\">"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{REPORT_CSS}"
            f"{_print_css(line)}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script>"
            f"<script type='text/javascript'>{NO_UPLOAD_SCRIPT}</script></head><body>{body}</body></html>")
