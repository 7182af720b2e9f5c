"""How numbers and tables are written for people: the one writer of every table's text.

Every table the dashboard, the HTML report and the CSV exports show is made
here once, as a :class:`TableText` of plain strings (with :class:`Badge`
cells where a cell carries a verdict), together with the few other blocks a
view shows (:class:`Notice`, :class:`Heading`, :class:`Para`, :class:`Details`: a line that opens to
more blocks).  The
dashboard (:func:`dashboard.layout.render`) and the report
(:func:`dashboard.reports.render_html`) only render these blocks, both through :func:`blocks_html`: neither
writes a header or a cell of its own, so the two cannot drift.

Wording follows the dataset: the rating scale's name (ALSFRS or ALSFRS-R)
is passed in, never written here.  No Dash import.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd

from .data import MEASURES

# ---------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Badge:
    """A table cell that carries a class (a verdict): rendered as a styled span."""

    text: str
    css: str


@dataclass(frozen=True)
class TableText:
    """A table as plain text: header cells, rows of cells, an optional caption."""

    header: tuple[str, ...]
    rows: tuple[tuple[str | Badge, ...], ...]
    caption: str | None = None
    #: DOM id of the table in the dashboard (tests and links find it by this).
    id: str | None = None
    css: str = "data-table"
    #: column widths in em (a table of fixed layout), in the HTML itself so that the dashboard and the report
    #: draw them alike; None: the column takes the rest; empty: the browser's automatic layout
    widths: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class Notice:
    """A boxed message: ``info``, ``warn`` or ``sim`` (simulated data)."""

    text: str
    kind: str = "info"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 3


@dataclass(frozen=True)
class Para:
    """A paragraph; ``css="method"`` for a methods sentence."""

    text: str
    css: str = ""


@dataclass(frozen=True)
class Details:
    """A disclosure: a one-line ``summary`` that opens to its ``content`` blocks (HTML details/summary), e.g. a
    body system that opens to its preferred terms."""

    summary: str
    content: tuple = ()
    open: bool = False
    css: str = "details-block"
    #: what the disclosure is about, unchanged when its counts change (a body system): a disclosure the reader
    #: opened stays open when a filter change redraws its table (assets/html_block.js); default: the summary
    key: str = ""


Block = TableText | Notice | Heading | Para | Details
#: What a view's table slot holds: nothing, one block, or a sequence of blocks.
Blocks = Block | tuple[Block, ...] | None


def as_blocks(content: Blocks) -> tuple[Block, ...]:
    """A slot's content as a flat tuple of blocks."""
    if content is None:
        return ()
    if isinstance(content, (TableText, Notice, Heading, Para, Details)):
        return (content,)
    out: list[Block] = []
    for c in content:
        out.extend(as_blocks(c))
    return tuple(out)


def cell_text(cell) -> str:
    """The plain text of a cell (for CSV and text alternatives)."""
    return cell.text if isinstance(cell, Badge) else ("" if cell is None else str(cell))


def esc(x) -> str:
    """Text as HTML text or a quoted attribute value: ``& < > " '`` escaped, and also ``{ }`` and newlines (kept
    from when the dashboard read these blocks as JSX and Markdown, where a brace starts an expression and a blank
    line ends a block: as character references they show the same in any HTML)."""
    return (_html.escape("" if x is None else str(x)).replace("{", "&#123;").replace("}", "&#125;")
            .replace("\n", "&#10;"))


def _cell_html(c) -> str:
    return f"<span class='{esc(c.css)}'>{esc(c.text)}</span>" if isinstance(c, Badge) else esc(c)


def blocks_html(content: Blocks, live: bool = False) -> str:
    """Blocks as HTML: the one renderer of tables, notices, headings, paragraphs and disclosures, used by the
    dashboard (``live``: a notice is announced, role=status) and the report (role=note).  Every text is
    escaped; nothing from the dataset becomes markup."""
    out = []
    for b in as_blocks(content):
        if isinstance(b, TableText):
            head = "".join(f"<th scope='col'>{esc(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            cap = f"<caption>{esc(b.caption)}</caption>" if b.caption else ""
            attrs = f" class='{esc(b.css)}'" + (f" id='{esc(b.id)}'" if b.id else "")
            cols = ""
            if b.widths:
                attrs += " style='table-layout:fixed'"
                cols = "<colgroup>" + "".join("<col>" if w is None else f"<col style='width:{w:g}em'>"
                                              for w in b.widths) + "</colgroup>"
            out.append(f"<table{attrs}>{cap}{cols}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Notice):
            role = "status" if live else "note"
            out.append(f"<div class='notice notice-{esc(b.kind)}' role='{role}'>{esc(b.text)}</div>")
        elif isinstance(b, Heading):
            level = min(max(b.level, 3), 4)
            out.append(f"<h{level}>{esc(b.text)}</h{level}>")
        elif isinstance(b, Details):
            out.append(f"<details class='{esc(b.css)}' data-key='{esc(b.key or b.summary)}'"
                       f"{' open' if b.open else ''}><summary>{esc(b.summary)}"
                       f"</summary>{blocks_html(b.content, live)}</details>")
        else:
            out.append(f"<p class='{esc(b.css)}'>{esc(b.text)}</p>" if b.css else f"<p>{esc(b.text)}</p>")
    return "".join(out)


def _table(header: Sequence[str], rows, caption: str | None = None, id: str | None = None,
           css: str = "data-table", widths: tuple[float | None, ...] = ()) -> TableText:
    return TableText(tuple(header), tuple(tuple(r) for r in rows), caption, id, css, widths)


# ---------------------------------------------------------------- figure configuration


#: The plotly.js configuration of every figure drawn (dashboard and report): nothing leaves the machine.
#: plotly.js shows a "Share chart" button that uploads the chart to Plotly Cloud unless told not to.
NO_CLOUD_BUTTONS = ("sendChartToCloud", "sendDataToCloud", "editInChartStudio")
PLOTLY_CONFIG = {
    "displaylogo": False,
    "showSendToCloud": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": ["lasso2d", "select2d", *NO_CLOUD_BUTTONS],
}


# ---------------------------------------------------------------- numbers


def fmt(x, digits: int = 2, signed: bool = False) -> str:
    """A number for display; an em dash where not computable."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def pct(x, digits: int = 1) -> str:
    """A percentage with its sign, or an em dash alone where not computable (never '—%')."""
    s = fmt(x, digits)
    return s if s == "—" else f"{s}%"


def mean_sem(summary: dict | None, digits: int = 1) -> str:
    if not summary or summary.get("mean") is None:
        return "—"
    if summary.get("sem") is None:
        return f"{summary['mean']:.{digits}f} (n = {summary['n']}; SEM n/a)"
    return f"{summary['mean']:.{digits}f} ± {summary['sem']:.{digits}f}"


def pct_of(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.0f}%)" if n else "—"


# ---------------------------------------------------------------- methods


METHODS = {
    "slopes": ("Per patient, an ordinary least-squares slope of the values at or before day 0 (pre) and of the values "
               "from day 0 to the window's end (post); a patient needs 2 values in a period. Positive differences "
               "mean a slower decline after application. Paired t-test (scipy.stats.ttest_rel) with the 95% CI of the "
               "mean difference, and the Wilcoxon signed-rank test on the differences (scipy.stats.wilcoxon, "
               "two-sided) as the non-parametric check."),
    "fvc": "Share of the patients with an FVC value at a visit whose FVC is at or above the reference line.",
    "weakness": ("A patient is stable at a visit if the weakness score of each of the four limbs fell by less than the "
                 "threshold from the first pre-treatment value (Table 5's visit III); patients without all four values "
                 "at that visit are left out."),
    "safety": ("Incidence: patients with at least one event of a term, as a percent of the selected patients; events "
               "counts every event. The heatmap colours each patient and term by the worst severity (or by "
               "seriousness or relationship)."),
    "mixed": ("Piecewise linear mixed model (statsmodels MixedLM, REML): value = b0 + b1·month + b2·max(month, 0) "
              "with a random intercept and slope per patient, over every value up to the window's end; b2 is the "
              "change in slope after day 0, with a Wald 95% CI and p. Estimates are shown only when the fit "
              "converged."),
    "summary": "Mean ± SEM, SEM = SD/√n with SD on n − 1 degrees of freedom.",
}


# ---------------------------------------------------------------- overview


def flow_rows(flow, names: bool = True) -> TableText:
    """The patient flow (:class:`dashboard.views.overview.Flow`) as a table (``names`` False: the excluded
    patients counted by reason, not named: the DSMB open session)."""
    excluded = "; ".join(f"patient {p}: {r or 'reason not given'}" for p, r in flow.excluded) or "none"
    if not names:
        reasons: dict[str, int] = {}
        for _p, r in flow.excluded:
            reasons[r or "reason not given"] = reasons.get(r or "reason not given", 0) + 1
        excluded = "; ".join(f"{k} patient(s): {r}" for r, k in reasons.items()) or "none"
    return _table(["Step", "Patients"], [
        ["Enrolled (safety population)", str(flow.safety)],
        ["Efficacy population", str(flow.efficacy)],
        ["Excluded from efficacy", excluded],
        *([["Progressors / stable", f"not defined: {flow.no_grouping}"]] if flow.no_grouping else [
            [f"Progressors ({flow.scale} fall ≥ {flow.threshold:g} before day 0)", str(flow.progressors)],
            ["Stable", str(flow.stable)],
            ["Unclassified", str(flow.unclassified)]]),
        ["Current selection", str(flow.selected)],
    ])


SEX_WORDS = {"F": "female", "M": "male"}
NOT_RECORDED = "not recorded"


def _category_rows(columns: list[tuple[str, dict]], key: str, label: str, words: dict[str, str]) -> list[list[str]]:
    """A category's rows (count and percent of the column's n per value); a column where nobody has it
    recorded says "not recorded" (never "0 (0%)"), and a row of the patients without it is added when some have."""
    values = [v for v in columns[0][1][key] if v != "missing"] if columns else []

    def cell(c, k):
        return NOT_RECORDED if c[key].get("missing", 0) == c["n"] and c["n"] else pct_of(k, c["n"])

    rows = [[f"{label}: {words.get(v, v.replace('+', ' + '))}"] + [cell(c, c[key].get(v, 0)) for _, c in columns]
            for v in values]
    if any(0 < c[key].get("missing", 0) < c["n"] for _, c in columns):
        rows.append([f"{label}: {NOT_RECORDED}"] + [pct_of(c[key].get("missing", 0), c["n"]) for _, c in columns])
    return rows


def characteristics_table(columns: list[tuple[str, dict]]) -> TableText:
    """Table 2-style characteristics; one column per group.  Baseline rows follow the measure registry."""
    header = ["Characteristic"] + [f"{name} (n = {c['n']})" for name, c in columns]
    rows = [
        ["Age, years: mean ± SEM"] + [mean_sem(c["age"]) for _, c in columns],
        ["Disease duration, months: mean ± SEM"] + [mean_sem(c["disease_duration_months"]) for _, c in columns],
        *_category_rows(columns, "sex", "Sex", SEX_WORDS),
        *_category_rows(columns, "onset", "Onset", {}),
    ]
    if any("bulbar" in c["onset"] for _, c in columns):  # only where a patient has bulbar onset
        rows.append(["Onset: bulbar"] + [pct_of(c["onset"].get("bulbar", 0), c["n"]) for _, c in columns])
    for spec in MEASURES.values():
        key = f"baseline_{spec.code}"
        if spec.baseline_label and any(key in c for _, c in columns):
            rows.append([f"{spec.baseline_label}: mean ± SEM"] + [mean_sem(c.get(key)) for _, c in columns])
    if any("delta_fs" in c for _, c in columns):
        rows.append(["ΔFS, points/month (scale maximum − day-0 score) / disease duration: mean ± SEM"]
                    + [mean_sem(c.get("delta_fs"), 2) for _, c in columns])
    return _table(header, rows, caption="Mean ± SEM (SEM = SD/√n); counts with percent of the column's n.")


# ---------------------------------------------------------------- slopes and mixed models


SLOPE_HEADER = ["Group", "Window", "n", "Pre slope (points/month) mean ± SEM", "Post slope (points/month) mean ± SEM",
                "Difference (post − pre) [95% CI]", "t", "p (paired t)", "p (Wilcoxon)", "Note"]


def slope_row(group: str, t: dict) -> list[str]:
    return [
        group, f"0-{t['window_months']:g} months", str(t["n"]),
        f"{fmt(t['pre_slope_mean'], 3, True)} ± {fmt(t['pre_slope_sem'], 3)}",
        f"{fmt(t['post_slope_mean'], 3, True)} ± {fmt(t['post_slope_sem'], 3)}",
        f"{fmt(t['mean_difference'], 3, True)} [{fmt(t['ci95_low'], 3, True)}, {fmt(t['ci95_high'], 3, True)}]",
        fmt(t["t"], 2), fmt_p(t["p_ttest"]), fmt_p(t["p_wilcoxon"]), t.get("note") or "",
    ]


def slope_table(rows: list[tuple[str, dict]], id: str | None = None) -> TableText:
    """The slope-test table: one row per (group, window)."""
    return _table(SLOPE_HEADER, [slope_row(group, t) for group, t in rows], caption="Slope tests", id=id)


#: A row of the left-out table names at most this many patients (then "... and N more").
LEFT_OUT_IDS = 30


def left_out_table(rows: Sequence[tuple[str, float, str, str]]) -> TableText:
    """The patients a slope test leaves out, and why: (group, window, patient, reason) in, one row per
    group, window and reason out (in the order first met), naming its patients (at most
    :data:`LEFT_OUT_IDS`, then how many more).  A row per patient made a table of thousands of cells on a
    large trial, which the page took seconds to draw."""
    grouped: dict[tuple[str, float, str], list[str]] = {}
    for g, w, p, why in rows:
        grouped.setdefault((g, w, why), []).append(str(p))
    body = []
    for (g, w, why), pids in grouped.items():
        named = ", ".join(pids[:LEFT_OUT_IDS]) + (f" … and {len(pids) - LEFT_OUT_IDS} more"
                                                  if len(pids) > LEFT_OUT_IDS else "")
        body.append([g, f"0-{w:g} months", why, str(len(pids)), named])
    return _table(["Group", "Window", "Why left out", "Patients", "Which"], body,
                  caption="Patients of the selection left out of the slope tests")


MIXED_HEADER = ["Group", "Window", "Patients / values", "Pre slope (points/month)",
                "Slope change after day 0 [95% CI]", "p", "Note"]
#: The mixed-model tables' column widths (em: they follow presentation mode's larger type), the same in every
#: window's table; the note takes the rest.  "(points/month)" in bold needs 9em and the cell's padding (6.5em
#: ran it into the next heading).
MIXED_WIDTHS = (9, 7.5, 8.5, 10, 14.5, 4.5, None)


def mixed_row(group: str, r: dict) -> list[str]:
    head = [group, f"0-{r['window_months']:g} months", f"{r['n_patients']} / {r['n_observations']}"]
    if not r["converged"]:
        return head + ["—", "—", "—", r["note"] or ""]
    return head + [fmt(r["pre_slope"], 3, True),
                   f"{fmt(r['slope_change'], 3, True)} [{fmt(r['ci95_low'], 3, True)}, {fmt(r['ci95_high'], 3, True)}]",
                   fmt_p(r["p"]), r["note"] or ""]


def mixed_table(rows: list[tuple[str, dict]]) -> TableText:
    """One window's mixed models (one row per group); the windows' tables share their column widths
    (:data:`MIXED_WIDTHS`)."""
    return _table(MIXED_HEADER, [mixed_row(g, r) for g, r in rows], css="data-table mixed-table",
                  widths=MIXED_WIDTHS)


# ---------------------------------------------------------------- shares


def fvc_share_table(label: str, share: pd.DataFrame, threshold: float) -> TableText:
    rows = [[str(r.visit), f"{r.month:g}", str(r.n), str(r.at_or_above), pct(r.percent)] for r in share.itertuples()]
    return _table(["Visit", "Month", "n with a value", f"≥ {threshold:g}%", "Percent"], rows, caption=label)


def share_table(shares: list[tuple[str, object]]) -> TableText:
    """Stability shares (:class:`dashboard.stats.Share`), one row per (group, visit)."""
    rows = [[label, f"{s.stable} of {s.denominator}", pct(s.percent), str(s.missing),
             s.definition + (f" — {s.note}" if s.note else "")] for label, s in shares]
    return _table(["When", "Stable", "Percent", "Without a value", "Definition"], rows)


# ---------------------------------------------------------------- visit summaries


VISIT_HEADER = ["Measure", "Visit", "Month", "n", "Mean", "SD", "SEM", "n with a baseline", "Change from baseline",
                "SD of change", "SEM of change"]


def visit_summary_table(label: str, summaries: pd.DataFrame, digits: int = 1) -> TableText:
    """Per measure and visit: n, mean, SD, SEM of the values and of the change from baseline
    (:func:`dashboard.stats.visit_summaries`), as the paper's Tables 4 and 5 can be checked against."""
    rows = []
    for r in summaries.itertuples():
        label_m = MEASURES[r.measure].label if r.measure in MEASURES else str(r.measure)
        rows.append([label_m + (" (simulated)" if r.simulated else ""), str(r.visit), f"{r.month:g}", str(r.n),
                     fmt(r.mean, digits), fmt(r.sd, digits), fmt(r.sem, digits), str(r.change_n),
                     fmt(r.change_mean, digits, True), fmt(r.change_sd, digits), fmt(r.change_sem, digits)])
    return _table(VISIT_HEADER, rows, caption=f"{label}: mean ± SD and SEM = SD/√n; the change is from each "
                  "patient's last value at or before day 0")


# ---------------------------------------------------------------- adverse events


def incidence_table(inc: pd.DataFrame, n: int) -> TableText:
    rows = [[r.term, f"{r.patients} ({fmt(r.percent, 1)}%)", str(r.events)] for r in inc.itertuples()]
    return _table(["Term", f"Patients n (% of {n})", "Events"], rows, caption=(
        "A patient with several events of one term counts once in patients, each time in events."))


def safety_notices(non_emergent: int, not_recorded: Sequence[tuple[str, int]], events: int,
                   included: bool = False) -> tuple[Notice, ...]:
    """What the safety view leaves out or cannot say: events not treatment-emergent (left out unless
    ``included``) and, per attribute, the selection's events whose value was not recorded."""
    out = []
    if non_emergent and included:
        out.append(Notice(f"All adverse events shown, including the {non_emergent} of the dataset that are not "
                          "treatment-emergent (TRTEMFL not Y); the statistics, the exports and the report count "
                          "treatment-emergent events only.", "warn"))
    elif non_emergent:
        out.append(Notice(f"Treatment-emergent events only: {non_emergent} adverse events of the dataset that are "
                          "not treatment-emergent (TRTEMFL not Y) are left out of this view, its tables and the "
                          "statistics.", "info"))
    parts = [f"{what} of {k} of the {events} events" for what, k in not_recorded if k]
    if parts:
        out.append(Notice("Not recorded: " + "; ".join(parts) + ". These events are counted in the incidence and "
                          "shown as 'not recorded' in the heatmap; they are never counted as not serious or not "
                          "related.", "warn"))
    return tuple(out)


EVENT_HEADER = ["Term", "Serious", "Related", "Severity", "Action", "Duration (days)"]


NOT_RECORDED = "not recorded"


def import_report_notice(report) -> Notice | None:
    """The import report's one-line notice (its counts), or None when the import said nothing."""
    if not report:
        return None
    notes = f"; {len(report.notes)} note(s) on how it was read" if report.notes else ""
    return Notice(f"Import report: {report.headline()}{notes}.", "warn" if report.total else "info")


def import_report_lines(report) -> list[str]:
    """The import report's full list (shown one click away): the notes, then the first warnings of each kind."""
    lines = [f"note: {n}" for n in report.notes] + [f"warning: {p}" for p in report.examples]
    if len(report.examples) < report.total:
        lines.append(f"... and {report.total - len(report.examples)} more warnings of the kinds above")
    return lines


def _yes_no(v) -> str:
    """yes / no / not recorded (a missing seriousness or relationship is never "no")."""
    return NOT_RECORDED if pd.isna(v) else ("yes" if v else "no")


def event_rows(ae: pd.DataFrame, with_patient: bool = True) -> list[list[str]]:
    rows = []
    for r in ae.itertuples():
        row = [r.term, _yes_no(r.serious), _yes_no(r.related), NOT_RECORDED if pd.isna(r.severity) else r.severity,
               r.action if pd.notna(r.action) else "—",
               "persistent" if r.ongoing else (f"{int(r.duration_days)}" if pd.notna(r.duration_days) else "—")]
        rows.append(([f"Patient {r.patient_id}"] if with_patient else []) + row)
    return rows


#: The serious-event listing shows at most this many rows (the adverse-events CSV has them all): every
#: cell of a table is a component that Dash's renderer revisits on each update (200 rows cost 2 s).
SERIOUS_LISTING_ROWS = 50


def serious_listing(ae: pd.DataFrame, limit: int = SERIOUS_LISTING_ROWS) -> tuple[Block, ...]:
    """The serious events, most severe first, at most ``limit`` rows and a notice saying how many are left out."""
    if ae.empty:
        return (Para("No serious adverse events in the selection."),)
    rows = event_rows(ae.head(limit))
    header = ["Patient"] + EVENT_HEADER
    if SINCE_COLUMN in ae.columns:  # the previous data cut is known: new and changed rows are marked
        header.append(SINCE_HEADER)
        rows = [r + [since_badge(m)] for r, m in zip(rows, ae[SINCE_COLUMN].head(limit))]
    listing = _table(header, rows)
    if len(ae) <= limit:
        return (listing,)
    return (Notice(f"The first {limit} of {len(ae)} serious events (the most severe first) are listed; "
                   "'Adverse events (CSV)' above downloads every event of the selection.", "info"), listing)


def events_table(ae: pd.DataFrame) -> Block:
    if ae.empty:
        return Para("No adverse events recorded.")
    return _table(EVENT_HEADER, event_rows(ae, with_patient=False))


# ---------------------------------------------------------------- profile and paper check


def facts_table(facts: Sequence[tuple[str, str]]) -> TableText:
    return _table(["Characteristic", "Value"], [list(f) for f in facts], css="facts")


def claims_table(claims, id: str | None = None) -> TableText:
    """The paper check (:class:`dashboard.reproduce.Claim` list): verdicts as badges."""
    rows = [[c.claim, c.paper, c.recomputed, c.definition,
             Badge(c.verdict, f"verdict verdict-{c.verdict.split(' ')[0]}"), c.note] for c in claims]
    return _table(["Claim", "Paper", "Recomputed", "Definition", "Verdict", "Note"], rows, id=id)


# ---------------------------------------------------------------- between groups and survival (issue 13)


def _label(labels: dict[str, str], key) -> str:
    return labels.get(key, str(key)) if key is not None else "—"


def p_is(p) -> str:
    """"p = 0.012", "p < 0.001", or "p —" where not computable."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") or text == "—" else f"p = {text}"


def _ci(est, lo, hi, digits: int = 3, signed: bool = True) -> str:
    return f"{fmt(est, digits, signed)} [{fmt(lo, digits, signed)}, {fmt(hi, digits, signed)}]"


def between_slope_table(comp, labels: dict[str, str], unit: str = "points/month",
                        id: str | None = None) -> tuple[Block, ...]:
    """A :class:`dashboard.between.GroupComparison` of slopes: per group n, mean and SD; each group's difference
    vs the control with its Welch 95% CI and p, and the Mann-Whitney p (two groups) or ANOVA and Kruskal-Wallis
    p over all groups (more); the reason in words where a test is not made."""
    diffs = {d.group: d for d in comp.differences}
    control = _label(labels, comp.control)
    rows = []
    for g in comp.groups:
        d = diffs.get(g.group)
        if g.group == comp.control:
            tail = ["reference", "", ""]
        elif d is None:
            tail = ["—", "—", "—"]
        else:
            mw = fmt_p(comp.p_mann_whitney) if len(comp.groups) == 2 else ""
            tail = [_ci(d.difference, d.ci95_low, d.ci95_high), fmt_p(d.p_welch), mw]
        rows.append([_label(labels, g.group), str(g.n), fmt(g.mean, 3, True), fmt(g.sd, 3)] + tail)
    header = ["Group", "n", f"Mean slope ({unit})", "SD", f"Difference vs {control} [95% CI]", "p (Welch t)",
              "p (Mann-Whitney U)"]
    out: list[Block] = [_table(header, rows, caption=comp.quantity, id=id)]
    if len(comp.groups) > 2 and comp.p_anova is not None:
        out.append(Para(f"Over all {len(comp.groups)} groups: one-way ANOVA {p_is(comp.p_anova)}, "
                        f"Kruskal-Wallis {p_is(comp.p_kruskal)} (differences vs {control} not adjusted for "
                        "multiplicity)."))
    if comp.reason:
        out.append(Notice(f"Not tested: {comp.reason}.", "warn"))
    if comp.excluded:
        out.append(Para(f"{len(comp.excluded)} patient(s) without a slope are left out (fewer than 2 values at "
                        "distinct months from day 0).", "method"))
    return tuple(out)


def visit_change_table(vc, labels: dict[str, str], digits: int = 2, id: str | None = None) -> tuple[Block, ...]:
    """A :class:`dashboard.between.VisitChanges`: one row per visit, per group "mean ± SEM (n)"."""
    if vc.reason:
        return (Notice(f"No change from baseline by visit: {vc.reason}.", "warn"),)
    by_visit: dict[tuple[float, str], dict[str, object]] = {}
    for r in vc.rows:
        by_visit.setdefault((r.month, r.visit), {})[r.group] = r
    rows = []
    for (month, visit), cells in sorted(by_visit.items()):
        row = [visit, f"{month:g}"]
        for g in vc.groups:
            r = cells.get(g)
            if r is None:
                row.append("—")
            elif r.sem is None:
                row.append(f"{fmt(r.mean, digits, True)} (n = {r.n}; SEM n/a)")
            else:
                row.append(f"{fmt(r.mean, digits, True)} ± {fmt(r.sem, digits)} (n = {r.n})")
        rows.append(row)
    out: list[Block] = [_table(["Visit", "Month", *(_label(labels, g) for g in vc.groups)], rows, id=id,
                               caption="Change from the day-0 value: mean ± SEM (n); SEM = SD/√n")]
    missing = [(g, n) for g, n in vc.no_baseline if n]
    if missing:
        out.append(Para("Left out, no value at the day-0 visit: " + ", ".join(
            f"{_label(labels, g)} {n}" for g, n in missing) + ".", "method"))
    return tuple(out)


def group_model_table(model, labels: dict[str, str], measure_label: str) -> tuple[Block, ...]:
    """A :class:`dashboard.mixed.GroupSlopeModel`: the control's slope, each group's slope and difference."""
    control = _label(labels, model.control)
    header = ["Measure", "Group", "Patients", "Slope (per month)", f"Difference vs {control} [95% CI]", "p"]
    if not model.converged:
        return (Notice(f"{measure_label}: group × time mixed model not shown: {model.reason}.", "warn"),)
    rows = [[measure_label, control, str(model.control_n_patients), fmt(model.control_slope, 3, True), "reference",
             ""]]
    rows += [[measure_label, _label(labels, d.group), str(d.n_patients), fmt(d.slope, 3, True),
              _ci(d.difference, d.ci95_low, d.ci95_high), fmt_p(d.p)] for d in model.differences]
    return (_table(header, rows, caption=f"{measure_label}: {model.n_patients} patients, {model.n_observations} "
                   "values from day 0", css="data-table group-model-table"),)


def cafs_table(res, labels: dict[str, str], id: str | None = None) -> tuple[Block, ...]:
    """A :class:`dashboard.between.CafsResult`: per group n ranked, deaths in the window, mean and median score;
    the rank-sum test; the note where no death is recorded; the reason where no test is made."""
    rows = [[_label(labels, g.group), str(g.n), str(g.deaths), fmt(g.mean_score, 1, True), fmt(g.median_score, 1, True)]
            for g in res.groups]
    out: list[Block] = [_table(["Group", "n ranked", f"Deaths by month {res.window_months:g}", "Mean CAFS score",
                                "Median CAFS score"], rows, id=id,
                               caption=f"CAFS over months 0-{res.window_months:g} ({res.measure} change)")]
    if res.p is not None:
        out.append(Para(f"{res.test} test of the scores: {p_is(res.p)}."))
    elif res.reason:
        out.append(Notice(f"No test: {res.reason}.", "warn"))
    if res.note:
        out.append(Notice(res.note[0].upper() + res.note[1:] + ".", "info"))
    unranked = [p for p, why in res.excluded if "died on a day not recorded" not in why]  # undated deaths: the note
    if unranked:
        out.append(Para(f"{len(unranked)} patient(s) cannot be ranked (alive or no death recorded, and no change "
                        "from the day-0 value within the window) and are left out.", "method"))
    return tuple(out)


def _days(x) -> str:
    return "—" if x is None else f"{x:.0f}"


def km_table(sa, labels: dict[str, str], id: str | None = None) -> tuple[Block, ...]:
    """A :class:`dashboard.survival.SurvivalAnalysis`: per group n, events, median (days) with 95% CI or "not
    reached"; the log-rank test and (two groups) the Cox hazard ratio, or the reasons in words."""
    rows = []
    for c in sa.curves:
        if c.reason:
            median = c.reason
        elif c.median is None:
            median = c.median_note or "not reached"
        else:
            median = (f"{_days(c.median)} [{_days(c.median_ci95_low)}, "
                      f"{_days(c.median_ci95_high) if c.median_ci95_high is not None else 'not reached'}]")
        rows.append([_label(labels, c.group), str(c.n), str(c.events), median])
    out: list[Block] = [_table(["Group", "n", "Events", "Median days [95% CI]"], rows, id=id, caption=sa.label)]
    if sa.logrank_p is not None:
        out.append(Para(f"Log-rank test: χ² = {fmt(sa.logrank_chisq, 2)}, df = {sa.logrank_df}, "
                        f"{p_is(sa.logrank_p)}."))
    elif sa.logrank_reason and len(sa.curves) > 1:
        out.append(Notice(f"No log-rank test: {sa.logrank_reason}.", "warn"))
    hr = sa.hazard_ratio
    if hr is not None and hr.hazard_ratio is not None:
        out.append(Para(f"Cox hazard ratio, {_label(labels, hr.group)} vs {_label(labels, hr.control)}: "
                        f"{_ci(hr.hazard_ratio, hr.ci95_low, hr.ci95_high, 2, False)}, {p_is(hr.p)}."))
    elif hr is not None and hr.reason:
        out.append(Notice(f"No hazard ratio: {hr.reason}.", "warn"))
    elif len(sa.curves) > 2:
        out.append(Para(f"The Cox hazard ratio is given for two groups; here there are {len(sa.curves)} (narrow the "
                        "selection to two groups for it).", "method"))
    if sa.excluded:
        out.append(Para(f"{len(sa.excluded)} patient record(s) left out: "
                        + "; ".join(f"{p} ({why})" for p, why in sa.excluded[:5])
                        + (f"; … and {len(sa.excluded) - 5} more" if len(sa.excluded) > 5 else "") + ".", "method"))
    return tuple(out)


def at_risk_table(sa, labels: dict[str, str], id: str | None = None) -> TableText:
    """Numbers at risk (time >= tick) per group at the analysis' ticks (days)."""
    header = ["Group", *(f"Day {t:g}" for t in sa.ticks)]
    rows = [[_label(labels, c.group), *(str(n) for _t, n in c.at_risk)] for c in sa.curves]
    return _table(header, rows, id=id, caption="Numbers at risk", css="data-table at-risk")


METHODS["between"] = (
    "Post-baseline period: day 0 and after. Slopes: each patient's ordinary least-squares slope over their values from "
    "day 0 (2 or more at distinct months); the difference of the group means vs the control with the Welch 95% CI "
    "and p (scipy.stats.ttest_ind, equal_var=False), the Mann-Whitney U p (two groups), one-way ANOVA and "
    "Kruskal-Wallis over all groups (more). Change from baseline: value minus the patient's value at the day-0 "
    "visit, per scheduled visit. Mixed model: value ~ month × group with a random intercept and slope per patient "
    "(statsmodels MixedLM, REML), the difference in slope vs the control with a Wald 95% CI; shown only when the "
    "fit converged. CAFS (Berry et al. 2013): every pair of patients ranked on survival in the window first, then "
    "on the change of the functional scale; the scores compared by the Wilcoxon rank-sum (two groups) or "
    "Kruskal-Wallis test.")
METHODS["survival"] = (
    "Kaplan-Meier product-limit estimate per group (statsmodels) with a pointwise 95% CI (log-log); + marks a "
    "censored patient. Median: the first time survival falls below 50%, with its 95% CI (complementary log-log); "
    "'not reached' where it does not. Log-rank test over all groups; Cox proportional-hazards ratio (Efron ties) "
    "with its Wald 95% CI for two groups. Death: a survivor is censored at their last measurement or adverse-event "
    "day.")


# ---------------------------------------------------------------- the DSMB's safety review (issue 14)


#: The column a listing's frame carries when the previous data cut is known: "new", "changed" or "".
SINCE_COLUMN = "since_review"
SINCE_HEADER = "Since last review"


def since_badge(mark) -> Badge | str:
    """A listing row's mark against the previous data cut: a "new" or "changed" badge, else empty."""
    if mark in ("new", "changed"):
        return Badge(mark, f"since since-{mark}")
    return ""


def _n_pct(c) -> str:
    return f"{c.patients} ({fmt(c.percent, 1)}%)" if c.denominator else "—"


def _rd(r) -> str:
    if r.difference is None:
        return "—"
    return (f"{fmt(100 * r.difference, 1, True)} [{fmt(100 * r.lower, 1, True)}, "
            f"{fmt(100 * r.upper, 1, True)}]")


def _group_header(groups, group_n, labels) -> list[str]:
    return [f"{labels.get(g, g)} (n = {n})" for g, n in zip(groups, group_n)]


def _rd_header(groups, labels) -> list[str]:
    return [f"{labels.get(g, g)} − {labels.get(groups[0], groups[0])}, % [95% CI]" for g in groups[1:]]


def safety_summary_table(s, labels: dict[str, str] | None = None, id: str | None = None) -> TableText:
    """The DSMB summary (:class:`dashboard.safety.SafetySummary`): patients n (%) and events per group and overall,
    and each group's risk difference against the control (Newcombe 95% CI) when grouped; "not recorded" where
    no event of the selection has the value a row needs."""
    labels = labels or {}
    groups = list(s.groups)
    header = (["Patients with", *[h for g in _group_header(groups, s.group_n, labels) for h in (g, "events")],
               f"Overall (n = {s.n})", "events"] + (_rd_header(groups, labels) if len(groups) > 1 else []))
    rows = []
    for r in s.rows:
        if not r.recorded:
            cells = [NOT_RECORDED] * (2 * len(groups) + 2 + (len(groups) - 1 if len(groups) > 1 else 0))
            rows.append([r.label, *cells])
            continue
        cells = [x for c in r.counts for x in (_n_pct(c), str(c.events))]
        cells += [_n_pct(r.overall), str(r.overall.events)]
        if len(groups) > 1:
            cells += [_rd(d) for d in r.risk_differences]
        label = r.label + (f" ({r.not_recorded.events} events not recorded)" if r.not_recorded.events else "")
        rows.append([label, *cells])
    cap = ("Patients n (% of the group's patients in the selection) and events. "
           + ("Risk difference: the group's share minus the control's, in percentage points, with the 95% Newcombe "
              "hybrid score interval. " if len(groups) > 1 else "")
           + "'not recorded': no event of the selection records the value (never counted as 'no').")
    return _table(header, rows, caption=cap, id=id, css="data-table safety-summary")


def hierarchy_blocks(h, labels: dict[str, str] | None = None, id: str | None = None) -> tuple[Block, ...]:
    """Body system → preferred term (:class:`dashboard.safety.Hierarchy`): one disclosure per body system, by
    frequency, whose summary gives the system's patients per group and which opens to its terms."""
    labels = labels or {}
    groups = list(h.groups)
    if not h.body_systems:
        return (Para("No adverse events in the selection."),)
    header = (["Preferred term", *_group_header(groups, h.group_n, labels), f"Overall (n = {h.n})", "Events"]
              + (_rd_header(groups, labels) if len(groups) > 1 else []))

    def cells(r) -> list[str]:
        out = [_n_pct(c) for c in r.counts] + [_n_pct(r.overall), str(r.overall.events)]
        rds = [_rd(d) for d in r.risk_differences] or ["—"] * (len(groups) - 1)
        return out + (rds if len(groups) > 1 else [])

    out: list[Block] = []
    if not h.coded:
        out.append(Notice("This dataset gives no body systems: every term is under 'Not coded'.", "info"))
    if h.verbatim_terms:
        out.append(Notice(f"{h.verbatim_terms} events have no preferred term: counted under their verbatim term.",
                          "info"))
    systems = _table(["Body system", *header[1:]],
                     [["Any adverse event", *cells(_Total(h.total_counts, h.total, _total_differences(h)))]]
                     + [[b.body_system, *cells(b)] for b in h.body_systems], id=id,
                     caption=f"{len(h.body_systems)} body systems, {h.n_terms} preferred terms, by frequency; "
                             "open a body system below for its preferred terms. Patients n (%) count a patient once "
                             "per row; events count every event.")
    out.append(systems)
    for b in h.body_systems:
        per = "; ".join([f"{labels.get(g, g)} {_n_pct(c)}" for g, c in zip(groups, b.counts)]
                        + [f"overall {_n_pct(b.overall)}, {b.overall.events} events"])
        table = _table(header, [[t.term, *cells(t)] for t in b.terms])
        out.append(Details(f"{b.body_system} — {per}", (table,), key=b.body_system))
    return tuple(out)


@dataclass(frozen=True)
class _Total:
    counts: tuple
    overall: object
    risk_differences: tuple


def _total_differences(h) -> tuple:
    """The risk differences of "any adverse event" in the hierarchy (each group against the first, the control)."""
    from .safety import risk_difference

    if len(h.total_counts) < 2:
        return ()
    c0 = h.total_counts[0]
    return tuple(risk_difference(c.patients, c.denominator, c0.patients, c0.denominator) for c in h.total_counts[1:])


DEATHS_HEADER = ["Patient", "Group", "Cause", "Day", "Source", "Conflict"]


def deaths_listing(listing, labels: dict[str, str] | None = None, marks: dict[str, str] | None = None,
                   id: str | None = None) -> Block:
    """The deaths (:class:`dashboard.safety.DeathListing`): patient, group, cause, day, sources, and the
    sources' conflicts flagged in place (``marks``: patient → "new"/"changed" since the previous data cut)."""
    labels = labels or {}
    if not listing.deaths:
        return Para("No deaths recorded in the selection.")
    rows = []
    for d in listing.deaths:
        conflict = (Badge("CONFLICT: " + "; ".join(c.message for c in d.conflicts), "conflict")
                    if d.conflicts else "none")
        row = [f"Patient {d.patient_id}", labels.get(d.group, d.group) if d.group else "—", d.cause or "not recorded",
               "not recorded" if d.day is None else f"{d.day:g}", ", ".join(d.sources), conflict]
        if marks is not None:
            row.append(since_badge(marks.get(d.patient_id, "")))
        rows.append(row)
    header = DEATHS_HEADER + ([SINCE_HEADER] if marks is not None else [])
    return _table(header, rows, id=id, caption="Day: days since day 0 (patients.death_day, else the fatal event's "
                  "last day). A conflict: two sources that disagree about the death.")


def death_conflict_notice(death) -> Notice | None:
    """A patient's death conflicts, as a warning on their profile (None: no conflict)."""
    if death is None or not death.conflicts:
        return None
    return Notice(f"Death with conflicting sources ({', '.join(death.sources)}): "
                  + "; ".join(c.message for c in death.conflicts) + ".", "warn")


def timeline_reason(reason: str | None, undated: int = 0) -> Block | None:
    """Why there is no swimmer plot (the dataset has no event days), or how many events it leaves out."""
    if reason:
        return Notice(f"No event timelines: {reason}.", "info")
    if undated:
        return Notice(f"{undated} events without a start day are not drawn on the timeline.", "info")
    return None


def changes_blocks(d, limit: int = 30) -> tuple[Block, ...]:
    """The "changes since the previous data cut" panel (:class:`dashboard.diff.DataDiff`)."""
    c = d.counts()
    head = Heading(f"Changes since {d.previous.data_as_of}", 3)
    # the directory's name only, as the header names the current one: the server's paths are not shown
    name = PurePath(str(d.previous.directory)).name
    meta = Para(f"Previous data cut: {name}/ (data as of {d.previous.data_as_of}, hash "
                f"{d.previous.short_hash}); this cut: data as of {d.current.data_as_of}, hash {d.current.short_hash}.",
                "method")
    if d.unchanged:
        return (head, meta, Para("No change: the same patients, measurements and adverse events."))
    counts = _table(["Since the previous data cut", "Count"], [
        ["New patients", str(c["new_patients"])],
        ["New visits (patient visits with new values)", f"{c['new_visits']} ({c['new_measurements']} values)"],
        ["New adverse events", str(c["new_events"])],
        ["New serious adverse events", str(c["new_serious_events"])],
        ["New deaths", str(c["new_deaths"])],
        ["Changed records", f"{c['changed_records']} ({c['changed_values']} values)"],
        ["Deleted records", str(c["deleted_records"])],
    ], id=None, css="data-table changes-counts")

    def listed(summary: str, items: list[list[str]], header: list[str]) -> Details | None:
        if not items:
            return None
        more = [Para(f"… and {len(items) - limit} more (python -m dashboard diff lists them all).")] \
            if len(items) > limit else []
        return Details(f"{summary}: {len(items)}", (_table(header, items[:limit]), *more), key=summary)

    parts = [
        listed("New patients", [[f"Patient {p}"] for p in d.new_patients], ["Patient"]),
        listed("New adverse events", [[r.label()] for r in d.new_events], ["Event"]),
        listed("New serious adverse events", [[r.label()] for r in d.new_serious_events], ["Event"]),
        listed("New deaths", [[f"Patient {p}"] for p in d.new_deaths], ["Patient"]),
        listed("Changed values (old → new)", [[f"{x.record.file} {x.record.label()}", x.column, x.old or "(empty)",
                                              x.new or "(empty)"] for x in d.changed],
               ["Record", "Column", "Old", "New"]),
        listed("Deleted records", [[f"{r.file} {r.label()}"] for r in d.deleted], ["Record"]),
    ]
    return (head, meta, counts, *[p for p in parts if p is not None])


#: The default confidentiality line of the report and the exported figures (``--confidential``,
#: ``$DASHBOARD_CONFIDENTIALITY``).
DEFAULT_CONFIDENTIALITY = "Confidential: for the DSMB only"
#: The environment variable that replaces DEFAULT_CONFIDENTIALITY (reports.confidentiality_line)
CONFIDENTIALITY_ENV = "DASHBOARD_CONFIDENTIALITY"
OPEN_SESSION_NOTE = ("DSMB OPEN SESSION version: pooled over all arms (no group columns), without patient-level "
                     "listings, timelines or profiles. The closed-session report has everything.")
