"""What each view shows, assembled from cohorts, stats and figures.

One function per view: Dataset + Cohort + the view's options in, a dict of
figures and plain tables (DataFrames / dicts) out.  The Dash callbacks turn
these into components, the HTML report into HTML, the ``figures`` command
into image files: all three show the same numbers.  No Dash import.
"""

from __future__ import annotations

import pandas as pd

from . import cohorts, figures, stats
from .cohorts import Cohort
from .data import MEASURES, SEVERITIES, WS_MEASURES, Dataset, functional_measure

NO_PATIENTS = "No patients match the current filters"


def simulated_text(ds: Dataset, measure: str, cohort: Cohort | None = None) -> str | None:
    """'ALSFRS at visits I, II, ... is simulated, not trial data' (for the cohort's patients; None: the
    whole dataset), or None when none of those values is simulated."""
    visits = [v for v, where in ds.simulated_visits.get(measure, ())
              if cohort is None or cohort.mask[where].any()]
    if not visits:
        return None
    return f"{measure} at visit{'s' if len(visits) > 1 else ''} {', '.join(visits)} is simulated, not trial data"


def simulated_notes(ds: Dataset, cohort: Cohort, view: str) -> list[str]:
    """What is simulated among the values a view shows (empty: nothing)."""
    notes = []
    measures = {"alsfrs": [functional_measure(ds.measures)], "fvc": ["FVC"], "weakness": list(WS_MEASURES), "profile": ds.measures,
                "paper": ds.measures, "report": ds.measures}.get(view, [])
    for measure in measures:
        t = simulated_text(ds, measure, cohort if view != "paper" else None)
        if t:
            notes.append(t)
    fs = functional_measure(ds.measures)
    if cohort.filter.population in ("progressors", "stable", "compare") and fs in ds.simulated_measures:
        notes.append(f"the progressor/stable grouping rests on simulated pre-treatment {MEASURES[fs].label}")
    return notes


def group_map(cohort: Cohort) -> dict[str, str]:
    """Patient -> colour group: progressors/stable in compare mode, else one group."""
    if cohort.filter.population == "compare":
        return dict(cohort.groups)
    return dict.fromkeys(cohort.patient_ids, "all")


#: Colour-group key -> the progression group it selects (None: the whole cohort).
GROUP_SELECTS = {"progressor": cohorts.PROGRESSOR, "stable": cohorts.STABLE, "all": None}


def groups(cohort: Cohort) -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, label, ids) per group shown: two in compare mode, else one."""
    if cohort.filter.population == "compare":
        return [("progressor", "Progressors", cohort.ids_in_group(cohorts.PROGRESSOR)),
                ("stable", "Stable", cohort.ids_in_group(cohorts.STABLE))]
    return [("all", cohorts.POPULATION_LABELS[cohort.filter.population], cohort.patient_ids)]


def _measure_rows(ds: Dataset, cohort: Cohort, measures, group_key: str = "all") -> pd.DataFrame:
    """The cohort's (or one colour group's) rows of the measures, sorted by patient and month."""
    return cohorts.rows(ds.rows_of(measures), cohort, GROUP_SELECTS[group_key])


def _cohort_rows(ds: Dataset, cohort: Cohort, measures) -> dict[str, pd.DataFrame]:
    """The cohort's rows of the measures ("all") and each colour group's, selected once per view."""
    rows = {"all": _measure_rows(ds, cohort, measures)}
    for key, _label, _pids in groups(cohort):
        if key not in rows:
            rows[key] = _measure_rows(ds, cohort, measures, key)
    return rows


def group_summaries(ds: Dataset, cohort: Cohort, measures, rows: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame | None:
    """Visit summaries per colour group (``rows``: the view's :func:`_cohort_rows` of these measures)."""
    rows = rows if rows is not None else _cohort_rows(ds, cohort, measures)
    parts = []
    for key, _label, _pids in groups(cohort):
        s = stats.visit_summaries(rows[key])
        if len(s):
            parts.append(s.assign(group=key))
    return pd.concat(parts, ignore_index=True) if parts else None


# ---------------------------------------------------------------- views


def overview(ds: Dataset, cohort: Cohort) -> dict:
    pf = cohorts.patient_frame(ds)
    g = cohorts.progression_groups(ds, cohort.filter.min_decline)
    excluded = pf[pf["safety_population"] & ~pf["efficacy_population"]]
    flow = {
        "safety": int(pf["safety_population"].sum()),
        "efficacy": int(pf["efficacy_population"].sum()),
        "excluded": [(p, r if isinstance(r, str) else None) for p, r in excluded["exclusion_reason"].items()],
        "progressors": int((g == cohorts.PROGRESSOR).sum()),
        "stable": int((g == cohorts.STABLE).sum()),
        "unclassified": int((g == cohorts.UNCLASSIFIED).sum()),
        "threshold": cohort.filter.min_decline,
        "selected": cohort.n,
        "simulated_note": (f"Progressors and stable patients are classified from simulated pre-treatment "
                           f"{MEASURES[functional_measure(ds.measures)].label} values."
                           if functional_measure(ds.measures) in ds.simulated_measures else None),
    }
    columns = []
    if cohort.n:
        columns = [(label, stats.characteristics(pf, pids)) for _k, label, pids in groups(cohort)]
        if cohort.filter.population == "compare":
            columns.append(("Both", stats.characteristics(pf, cohort.patient_ids)))
    return {"flow": flow, "characteristics": columns}


def outcome_over_time(ds: Dataset, cohort: Cohort, measure: str, highlight=None, fits=None, title=None,
                      reference=None, reference_label="", rows: dict[str, pd.DataFrame] | None = None) -> object:
    """The spaghetti plot of one measure for the cohort, or a message figure (``rows``: see :func:`group_summaries`)."""
    if measure not in ds.measures:
        return figures.message_figure(f"This dataset has no {measure} values")
    if cohort.n == 0:
        return figures.message_figure(NO_PATIENTS)
    rows = rows if rows is not None else _cohort_rows(ds, cohort, [measure])
    return figures.spaghetti(rows["all"], measure, group_map(cohort),
                             group_summaries(ds, cohort, [measure], rows), highlight, fits, title=title,
                             simulated=simulated_text(ds, measure, cohort),
                             reference=reference, reference_label=reference_label)


def alsfrs(ds: Dataset, cohort: Cohort, highlight=None, show_fits=False, window=3, measure: str | None = None) -> dict:
    """The functional-scale view: ALSFRS, or ALSFRS-R for a dataset that has only the revised scale."""
    measure = measure or functional_measure(ds.measures)
    window = window if window in stats.WINDOWS else 3
    out = {"measure": measure, "window": window, "message": None, "slope_rows": []}
    if measure not in ds.measures or cohort.n == 0:
        msg = f"This dataset has no {measure} values" if measure not in ds.measures else NO_PATIENTS
        fig = figures.message_figure(msg)
        return {**out, "figure": fig, "pairs": fig, "waterfall": fig, "message": msg}
    gm = group_map(cohort)
    by_group = _cohort_rows(ds, cohort, [measure])
    rows = by_group["all"]
    fits = None
    if show_fits:
        fits = stats.fit_segments(rows, measure, None, window)
        fits = fits.assign(group=fits["patient_id"].map(gm).astype(object).where(lambda s: s.notna(), "all"))
    sim = simulated_text(ds, measure, cohort)
    slopes = stats.patient_slopes(rows, measure)
    out["figure"] = outcome_over_time(ds, cohort, measure, highlight, fits, title=f"{MEASURES[measure].label} over time",
                                      rows=by_group)
    out["slope_rows"] = [(label, t.to_dict(with_ids=False))
                         for _k, label, pids in groups(cohort)
                         for t in stats.slope_tests(rows, measure, pids, slopes=slopes)]
    out["pairs"] = figures.slope_pairs(slopes, window, gm, measure, highlight, simulated=sim)
    out["waterfall"] = figures.waterfall(slopes, window, gm, measure, highlight, simulated=sim)
    if cohort.n < 2:
        out["message"] = "Slope tests are not computable for n < 2."
    return out


def fvc(ds: Dataset, cohort: Cohort, highlight=None, threshold=70.0) -> dict:
    rows = _cohort_rows(ds, cohort, ["FVC"])
    fig = outcome_over_time(ds, cohort, "FVC", highlight, title="FVC over time", reference=threshold,
                            reference_label=f"{threshold:g}% predicted", rows=rows)
    shares = []
    if "FVC" in ds.measures and cohort.n:
        shares = [(label, stats.share_at_or_above(rows[key], pids, "FVC", threshold))
                  for key, label, pids in groups(cohort)]
    return {"figure": fig, "threshold": threshold, "shares": shares,
            "message": None if cohort.n else NO_PATIENTS}


def weakness(ds: Dataset, cohort: Cohort, highlight=None, threshold=1.0) -> dict:
    if not any(m in ds.measures for m in WS_MEASURES):
        msg = figures.message_figure("This dataset has no weakness scores")
        return {"grid": msg, "mean": msg, "shares": [], "message": "This dataset has no weakness scores"}
    if cohort.n == 0:
        msg = figures.message_figure(NO_PATIENTS)
        return {"grid": msg, "mean": msg, "shares": [], "message": NO_PATIENTS}
    rows = _cohort_rows(ds, cohort, WS_MEASURES)
    m = rows["all"]
    by_group = group_summaries(ds, cohort, list(WS_MEASURES), rows)
    grid = figures.ws_grid(m, group_map(cohort), by_group, highlight)
    # with one group shown, its summaries are the cohort's: no second pass over the data
    whole = (by_group if cohort.filter.population != "compare" and by_group is not None
             else stats.visit_summaries(m))
    mean = figures.ws_mean(whole)
    definition = stats.StabilityDefinition(mode="change_below", threshold=threshold, baseline="first")
    shares = [(f"{label}, {month} months", stats.stability_share(rows[key], pids, "WS", month, definition))
              for key, label, pids in groups(cohort) for month in (3, 12)]
    return {"grid": grid, "mean": mean, "shares": shares, "message": None}


def safety(ds: Dataset, cohort: Cohort, highlight=None, colour_by="severity", only=()) -> dict:
    ae = ds.adverse_events
    if "serious" in only:
        ae = ae[ae["serious"]]
    if "related" in only:
        ae = ae[ae["related"]]
    pats = pd.DataFrame({"patient_id": list(cohort.patient_ids)})
    mine = cohorts.rows(ds.adverse_events, cohort)
    serious = mine[mine["serious"]]
    # the most severe first (deaths on top), then by patient in their natural order
    worst_first = serious["severity"].map({s: -i for i, s in enumerate(SEVERITIES)}).astype(int)
    serious = serious.assign(_w=worst_first).sort_values(["_w", "patient_id"], kind="stable").drop(columns="_w")
    return {
        "heatmap": figures.ae_heatmap(ae, pats, colour_by, highlight),
        "incidence": stats.ae_incidence(ae, cohort.patient_ids),
        "serious": serious,
        "n": cohort.n,
        "only": list(only),
    }


def profile(ds: Dataset, patient_id: str | None, min_decline: float) -> dict:
    pf = cohorts.patient_frame(ds)
    if not patient_id or patient_id not in pf.index:
        return {"patient": None, "facts": [], "events": None, "figure": figures.message_figure("No patient chosen")}
    r = pf.loc[patient_id]
    group = cohorts.progression_groups(ds, min_decline)[patient_id]

    def val(x, unit=""):
        if x is None or x is pd.NA or (isinstance(x, float) and pd.isna(x)):
            return "not recorded"
        return f"{x:g}{unit}" if isinstance(x, float) else f"{x}{unit}"

    mri = r["mri_12m_done"]
    facts = [
        ("Age", val(r["age"], " years")), ("Sex", val(r["sex"])), ("Onset", val(r["onset"])),
        ("Disease duration", val(r["disease_duration_months"], " months")),
        ("Populations", "safety" + (", efficacy" if r["efficacy_population"] else f" only (excluded from efficacy: {val(r['exclusion_reason'])})")),
        ("Progression group", f"{group} ({MEASURES[functional_measure(ds.measures)].label} fall before day 0: {val(r['decline'], ' points')}; threshold {min_decline:g})"),
        (f"{MEASURES[functional_measure(ds.measures)].label} at day 0", val(r.get("baseline_FS"))),
        ("ΔFS (pre-treatment progression rate)", val(round(r["delta_fs"], 3) if pd.notna(r.get("delta_fs")) else None, " points/month")),
        ("FVC at baseline", val(r.get("baseline_FVC"), "% predicted")),
        ("MRI at 12 months", "not recorded" if mri is pd.NA or mri is None else ("done" if bool(mri) else "not performed")),
    ]
    events = ds.adverse_events[ds.adverse_events["patient_id"] == patient_id]
    return {"patient": patient_id, "facts": facts, "events": events,
            "figure": figures.patient_profile(ds.measurements, patient_id, ds.simulated_measures)}


def mixed_rows(ds: Dataset, cohort: Cohort, window: float, measure: str | None = None,
               max_patients: int | None = None) -> list[tuple[str, dict]]:
    """The mixed model's slope change for one window, per group shown (memoised)."""
    from . import mixed

    measure = measure or functional_measure(ds.measures)
    if measure not in ds.measures:
        return []
    return [(label, mixed.cached_model(ds, measure, tuple(pids), window, max_patients).to_dict())
            for _k, label, pids in groups(cohort)]
