"""What is exported about a cohort: the statistics JSON (``stats`` command).

Pure: Dataset and Cohort in, plain data out; no Dash import.
"""

from __future__ import annotations

from . import cohorts, stats
from .data import Dataset


def cohort_statistics(ds: Dataset, cohort: cohorts.Cohort, with_mixed: bool = True) -> dict:
    """The ``stats`` command's JSON object (documented in README.md); NaN-free."""
    ids = cohort.patient_ids
    pf = cohorts.patient_frame(ds)
    m = ds.measurements
    from . import mixed

    slope_tests, mixed_models = [], []
    for measure in ds.measures:
        if stats.has_pre_treatment(m, measure):
            slope_tests += [t.to_dict() for t in stats.slope_tests(m, measure, ids)]
            if with_mixed:
                mixed_models += [r.to_dict() for r in mixed.mixed_models(m, measure, ids)]
    visits = stats.visit_summaries(m, ids)
    ae = stats.ae_incidence(ds.adverse_events, ids)
    out = {
        "dataset": {"directory": str(ds.directory), "hash": ds.short_hash, "data_as_of": ds.data_as_of,
                    "simulated_measures": ds.simulated_measures},
        "cohort": cohort.to_dict(),
        "characteristics": stats.characteristics(pf, ids),
        "slope_tests": slope_tests,
        "mixed_models": mixed_models,
        "mixed_model_note": mixed.DISAGREEMENT_NOTE,
        "visit_summaries": visits.to_dict(orient="records"),
        "adverse_events": ae.to_dict(orient="records"),
        "adverse_event_summary": stats.ae_summary(ds.adverse_events, ids),
    }
    return stats.clean(out)


# ---------------------------------------------------------------- CSV exports


PATIENT_COLUMNS = ["age", "sex", "onset", "disease_duration_months", "safety_population", "efficacy_population"]


def selection_csv(ds: Dataset, cohort: cohorts.Cohort) -> str:
    """The selection's measurements in long format (the columns of measurements.csv), plus the
    patient attributes, the progression group and a ``simulated`` flag on every row."""
    import io

    m = cohorts.rows(ds.measurements, cohort)
    pf = cohorts.patient_frame(ds)[PATIENT_COLUMNS]
    groups = cohorts.progression_groups(ds, cohort.filter.min_decline).rename("progression_group")
    out = m[["patient_id", "visit", "month", "measure", "value", "source", "simulated"]].join(pf, on="patient_id").join(groups, on="patient_id")
    for col in ("simulated", "safety_population", "efficacy_population"):
        out[col] = out[col].map({True: "true", False: "false"}).astype(object)
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n", float_format="%.10g")
    return buf.getvalue()


def table_csv(header: list[str], rows: list[list]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


SLOPE_CSV_COLUMNS = ["group", "measure", "window_months", "n", "pre_slope_mean", "pre_slope_sem", "post_slope_mean",
                     "post_slope_sem", "mean_difference", "ci95_low", "ci95_high", "t", "p_ttest", "p_wilcoxon", "note",
                     "rests_on_simulated_values"]


def slope_tests_csv(ds: Dataset, cohort: cohorts.Cohort, measure: str | None = None) -> str:
    from . import views
    from .data import functional_measure

    measure = measure or functional_measure(ds.measures)
    simulated = measure in ds.simulated_measures
    rows = []
    for _k, label, pids in views.groups(cohort):
        for t in stats.slope_tests(ds.measurements, measure, pids):
            d = t.to_dict(with_ids=False)
            rows.append([label] + [d[c] for c in SLOPE_CSV_COLUMNS[1:-1]] + ["true" if simulated else "false"])
    return table_csv(SLOPE_CSV_COLUMNS, rows)


def incidence_csv(ds: Dataset, cohort: cohorts.Cohort) -> str:
    inc = stats.ae_incidence(ds.adverse_events, cohort.patient_ids)
    rows = [[r.term, r.patients, r.events, None if r.percent is None else round(float(r.percent), 4), cohort.n] for r in inc.itertuples()]
    return table_csv(["term", "patients", "events", "percent", "cohort_n"], rows)


AE_CSV_COLUMNS = ["patient_id", "progression_group", "term", "serious", "related", "severity", "action", "duration_days", "ongoing"]


def adverse_events_csv(ds: Dataset, cohort: cohorts.Cohort) -> str:
    """Every adverse event of the selected patients (patients in their natural order), with their progression group."""
    import io

    ae = cohorts.rows(ds.adverse_events, cohort)
    ae = ae.assign(progression_group=ae["patient_id"].map(cohort.groups).astype(object))
    ae = ae.sort_values("patient_id", kind="stable")[AE_CSV_COLUMNS].astype(object)
    for col in ("serious", "related", "ongoing"):
        ae[col] = ae[col].map({True: "true", False: "false"})
    buf = io.StringIO()
    ae.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def export_filename(view: str, kind: str, today: str, simulated: bool = False) -> str:
    return f"als-trial_{view}_{kind}_{today}{'_includes-simulated' if simulated else ''}.csv"


# ---------------------------------------------------------------- HTML report


REPORT_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;max-width:1200px;margin:0 auto;padding:24px;line-height:1.45}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.2rem;border-bottom:2px solid #0072b2;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:8px 0}th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.meta{color:#4a5058}.sim{background:#fde8e1;color:#7a1f00;border:2px solid #d55e00;border-radius:5px;padding:8px 12px;margin:10px 0}
.method{color:#4a5058;font-size:.88rem}.fig{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:4px}
"""


def _esc(x) -> str:
    import html as _html

    return _html.escape("" if x is None else str(x))


def _html_table(header, rows, caption=None) -> str:
    head = "".join(f"<th scope='col'>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fig_html(fig, div_id: str) -> str:
    import plotly.io as pio

    title = fig.layout.title.text or ""
    alt = _esc(title.replace("<br>", " ").replace("<sup>", "").replace("</sup>", ""))
    return (f"<figure class='fig' aria-label='{alt}'>"
            + pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                          config={"displaylogo": False, "responsive": True})
            + f"<figcaption class='method'>{alt}</figcaption></figure>")


def html_report(ds: Dataset, cohort: cohorts.Cohort, *, highlight: str | None = None, window: int = 3,
                fvc_threshold: float = 70.0, ws_threshold: float = 1.0, generated_at: str | None = None) -> str:
    """A single self-contained HTML file (plotly.js embedded, no network needed) of every view of the selection."""
    import datetime as dt

    from plotly.offline import get_plotlyjs

    from . import views
    from .formatting import (EVENT_HEADER, METHODS, MIXED_HEADER, SLOPE_HEADER, characteristics_rows, event_rows, fmt,
                             mixed_row, slope_row)
    from .mixed import DISAGREEMENT_NOTE
    from .reproduce import reproduce

    generated_at = generated_at or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    notes = views.simulated_notes(ds, cohort, "report")
    parts = [
        f"<h1>{_esc(ds.title)}</h1>",
        f"<p class='meta'>Report generated {_esc(generated_at)} · dataset {_esc(ds.directory.name)}/ · hash "
        f"<code>{_esc(ds.short_hash)}</code> · data as of {_esc(ds.data_as_of)}</p>",
        f"<p><strong>Selection:</strong> {_esc(cohort.describe())} — <strong>{_esc(cohort.count_text())}</strong>"
        + (f"; highlighted patient {_esc(highlight)}" if highlight else "") + "</p>",
    ]
    if notes:
        parts.append("<div class='sim' role='note'><strong>SIMULATED DATA IN THIS REPORT:</strong> " + _esc("; ".join(notes)) + ".</div>")

    ov = views.overview(ds, cohort)
    f = ov["flow"]
    parts.append("<h2>Overview</h2>")
    parts.append(_html_table(["Step", "Patients"], [
        ["Enrolled (safety population)", f["safety"]], ["Efficacy population", f["efficacy"]],
        ["Excluded from efficacy", "; ".join(f"patient {p}: {r or 'reason not given'}" for p, r in f["excluded"]) or "none"],
        [f"Progressors (ALSFRS fall ≥ {f['threshold']:g} before day 0)", f["progressors"]], ["Stable", f["stable"]],
        ["Unclassified", f["unclassified"]], ["Current selection", f["selected"]]]))
    if ov["characteristics"]:
        header, rows = characteristics_rows(ov["characteristics"])
        parts.append(_html_table(header, rows, "Characteristics of the selection"))
        parts.append(f"<p class='method'>{_esc(METHODS['summary'])}</p>")

    al = views.alsfrs(ds, cohort, highlight, False, window)
    parts.append("<h2>ALSFRS</h2>")
    parts.append(_fig_html(al["figure"], "fig-alsfrs"))
    if al["slope_rows"]:
        parts.append(_html_table(SLOPE_HEADER, [slope_row(g, t) for g, t in al["slope_rows"]], "Slope tests"))
    elif al["message"]:
        parts.append(f"<p>{_esc(al['message'])}</p>")
    parts.append(f"<p class='method'>{_esc(METHODS['slopes'])}</p>")
    mixed_rows = [row for w in (3, 6, 9, 12) for row in views.mixed_rows(ds, cohort, w)]
    if mixed_rows:
        parts.append(_html_table(MIXED_HEADER, [mixed_row(g, r) for g, r in mixed_rows], "Mixed model: change in slope after day 0"))
        parts.append(f"<p class='method'>{_esc(METHODS['mixed'])} {_esc(DISAGREEMENT_NOTE)}</p>")
    parts.append(_fig_html(al["pairs"], "fig-alsfrs-pairs"))
    parts.append(_fig_html(al["waterfall"], "fig-alsfrs-waterfall"))

    fv = views.fvc(ds, cohort, highlight, fvc_threshold)
    parts.append("<h2>FVC</h2>")
    parts.append(_fig_html(fv["figure"], "fig-fvc"))
    for label, share in fv["shares"]:
        parts.append(_html_table(["Visit", "Month", "n with a value", f"≥ {fvc_threshold:g}%", "Percent"],
                                 [[r.visit, f"{r.month:g}", r.n, r.at_or_above, f"{r.percent:.1f}%"] for r in share.itertuples()], label))
    parts.append(f"<p class='method'>{_esc(METHODS['fvc'])}</p>")

    ws = views.weakness(ds, cohort, highlight, ws_threshold)
    parts.append("<h2>Weakness scores</h2>")
    if ws["shares"]:
        parts.append(_html_table(["When", "Stable", "Percent", "Without a value", "Definition"],
                                 [[label, f"{s.stable} of {s.denominator}", f"{fmt(s.percent, 1)}%", s.missing, s.definition]
                                  for label, s in ws["shares"]]))
    parts.append(f"<p class='method'>{_esc(METHODS['weakness'])}</p>")
    parts.append(_fig_html(ws["grid"], "fig-ws-grid"))
    parts.append(_fig_html(ws["mean"], "fig-ws-mean"))

    sf = views.safety(ds, cohort, highlight)
    parts.append("<h2>Safety</h2>")
    parts.append(_fig_html(sf["heatmap"], "fig-ae-heatmap"))
    parts.append(_html_table(["Term", f"Patients n (% of {sf['n']})", "Events"],
                             [[r.term, f"{r.patients} ({fmt(r.percent, 1)}%)", r.events] for r in sf["incidence"].itertuples()],
                             "Incidence by term"))
    parts.append(_html_table(["Patient"] + EVENT_HEADER, event_rows(sf["serious"]), "Serious adverse events")
                 if len(sf["serious"]) else "<p>No serious adverse events in the selection.</p>")
    parts.append(f"<p class='method'>{_esc(METHODS['safety'])}</p>")

    parts.append("<h2>Paper check</h2>")
    claims = reproduce(ds)
    parts.append(_html_table(["Claim", "Paper", "Recomputed", "Definition", "Verdict", "Note"],
                             [[c.claim, c.paper, c.recomputed, c.definition, c.verdict, c.note] for c in claims]))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_esc(ds.title)} — report</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{REPORT_CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>{body}</body></html>")
