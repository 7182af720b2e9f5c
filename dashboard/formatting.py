"""How numbers are written for people (dashboard, reports); no Dash import."""

from __future__ import annotations

import math


def fmt(x, digits: int = 2, signed: bool = False) -> str:
    """A number for display; an em dash where not computable."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def mean_sem(summary: dict | None, digits: int = 1) -> str:
    if not summary or summary.get("mean") is None:
        return "—"
    if summary.get("sem") is None:
        return f"{summary['mean']:.{digits}f} (n = {summary['n']}; SEM n/a)"
    return f"{summary['mean']:.{digits}f} ± {summary['sem']:.{digits}f}"


def pct_of(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.0f}%)" if n else "—"


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


def characteristics_rows(columns: list[tuple[str, dict]]) -> tuple[list[str], list[list[str]]]:
    header = ["Characteristic"] + [f"{name} (n = {c['n']})" for name, c in columns]
    rows = [
        ["Age, years: mean ± SEM"] + [mean_sem(c["age"]) for _, c in columns],
        ["Disease duration, months: mean ± SEM"] + [mean_sem(c["disease_duration_months"]) for _, c in columns],
        ["Sex: female"] + [pct_of(c["sex"].get("F", 0), c["n"]) for _, c in columns],
        ["Sex: male"] + [pct_of(c["sex"].get("M", 0), c["n"]) for _, c in columns],
        ["Onset: spinal"] + [pct_of(c["onset"].get("spinal", 0), c["n"]) for _, c in columns],
        ["Onset: spinal + bulbar"] + [pct_of(c["onset"].get("spinal+bulbar", 0), c["n"]) for _, c in columns],
    ]
    if any("baseline_ALSFRS" in c for _, c in columns):
        rows.append(["ALSFRS at day 0 (baseline): mean ± SEM"] + [mean_sem(c.get("baseline_ALSFRS")) for _, c in columns])
    if any("baseline_ALSFRS_R" in c for _, c in columns):
        rows.append(["ALSFRS-R at day 0 (baseline): mean ± SEM"] + [mean_sem(c.get("baseline_ALSFRS_R")) for _, c in columns])
    rows.append(["FVC at baseline, % predicted: mean ± SEM"] + [mean_sem(c.get("baseline_FVC")) for _, c in columns])
    if any("delta_fs" in c for _, c in columns):
        rows.append(["ΔFS, points/month (scale maximum − day-0 score) / disease duration: mean ± SEM"]
                    + [mean_sem(c.get("delta_fs"), 2) for _, c in columns])
    return header, rows


def event_rows(ae, with_patient: bool = True) -> list[list[str]]:
    import pandas as pd

    rows = []
    for r in ae.itertuples():
        row = [r.term, "yes" if r.serious else "no", "yes" if r.related else "no", r.severity,
               r.action if pd.notna(r.action) else "—",
               "persistent" if r.ongoing else (f"{int(r.duration_days)}" if pd.notna(r.duration_days) else "—")]
        rows.append(([f"Patient {r.patient_id}"] if with_patient else []) + row)
    return rows


EVENT_HEADER = ["Term", "Serious", "Related", "Severity", "Action", "Duration (days)"]

METHODS = {
    "slopes": ("Per patient, an ordinary least-squares slope of the values at or before day 0 (pre) and of the values "
               "from day 0 to the window's end (post); a patient needs 2 values in a period. Positive differences mean a "
               "slower decline after application. Paired t-test (scipy.stats.ttest_rel) with the 95% CI of the mean "
               "difference, and the Wilcoxon signed-rank test on the differences (scipy.stats.wilcoxon, two-sided) as "
               "the non-parametric check."),
    "fvc": "Share of the patients with an FVC value at a visit whose FVC is at or above the reference line.",
    "weakness": ("A patient is stable at a visit if the weakness score of each of the four limbs fell by less than the "
                 "threshold from the first pre-treatment value (Table 5's visit III); patients without all four values "
                 "at that visit are left out."),
    "safety": ("Incidence: patients with at least one event of a term, as a percent of the selected patients; events "
               "counts every event. The heatmap colours each patient and term by the worst severity (or by seriousness "
               "or relationship)."),
    "mixed": ("Piecewise linear mixed model (statsmodels MixedLM, REML): value = b0 + b1·month + b2·max(month, 0) with a "
              "random intercept and slope per patient, over every value up to the window's end; b2 is the change in slope "
              "after day 0, with a Wald 95% CI and p. Estimates are shown only when the fit converged."),
    "summary": "Mean ± SEM, SEM = SD/√n with SD on n − 1 degrees of freedom.",
}


MIXED_HEADER = ["Group", "Window", "Patients / values", "Pre slope (points/month)", "Slope change after day 0 [95% CI]", "p", "Note"]


def mixed_row(group: str, r: dict) -> list[str]:
    if not r["converged"]:
        return [group, f"0-{r['window_months']:g} months", f"{r['n_patients']} / {r['n_observations']}", "—", "—", "—", r["note"] or ""]
    return [group, f"0-{r['window_months']:g} months", f"{r['n_patients']} / {r['n_observations']}",
            fmt(r["pre_slope"], 3, True), f"{fmt(r['slope_change'], 3, True)} [{fmt(r['ci95_low'], 3, True)}, {fmt(r['ci95_high'], 3, True)}]",
            fmt_p(r["p"]), r["note"] or ""]
