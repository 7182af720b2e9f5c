"""Every quantitative claim of the paper that its tables allow, recomputed.

:func:`reproduce` returns a list of :class:`Claim`: the claim, the paper's
figure, the figure recomputed from the dataset, the definition used, and
whether they agree.  Where no reasonable definition reproduces a claim, the
closest definitions are shown; a disagreement is a result, not a failure.
Claims that rest on simulated values say so and never count as reproduced.

Pure: Dataset in, list of claims out; no Dash import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import cohorts, stats
from . import safety as safety_review
from .data import MEASURES, Dataset, sort_patient_ids

#: "about X%" agrees when the recomputed share is within this many percentage points.
ABOUT_TOLERANCE_PP = 5.0
#: The study whose paper these claims come from (the shipped seed trial; data/metadata.json ``study_id``).
SEED_STUDY_ID = "EudraCT 2011-000362-35"


def seed_paper_reason(ds: Dataset) -> str | None:
    """None for the seed trial, whose paper :func:`reproduce` checks; else why there is no paper check."""
    if ds.study_id == SEED_STUDY_ID:
        return None
    return (f"the paper check recomputes the claims of the seed trial's paper ({SEED_STUDY_ID}); "
            f"this dataset is {'study ' + ds.study_id if ds.study_id else 'another study'}")

AGREES, APPROX, DISAGREES, SIMULATED, NOT_COMPUTABLE = ("agrees", "agrees (approximately)", "disagrees",
                                                         "simulated data", "not computable")


@dataclass(frozen=True)
class Claim:
    claim: str
    where: str
    paper: str
    recomputed: str
    definition: str
    verdict: str
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _pm(s: stats.Summary, digits: int) -> str:
    if s.mean is None:
        return "not computable (no values)"
    if s.sem is None:
        return f"{s.mean:.{digits}f} (n = {s.n}; SEM not computable)"
    return f"{s.mean:.{digits}f} ± {s.sem:.{digits}f} (SEM; SD {s.sd:.{digits}f}; n = {s.n})"


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} = {100 * k / n:.1f}%" if n else "not computable (n = 0)"


def _about(share: stats.Share, target: float) -> str:
    if share.percent is None:
        return NOT_COMPUTABLE
    return APPROX if abs(share.percent - target) <= ABOUT_TOLERANCE_PP else DISAGREES


def _values(ds: Dataset, measure: str, visit: str, ids) -> list[float]:
    m = ds.measurements
    sel = m[(m["measure"] == measure) & (m["visit"] == visit) & m["patient_id"].isin(list(ids))]
    return sel["value"].tolist(), bool(sel["simulated"].any())


def _measured_after_death(d: safety_review.Death) -> str:
    """The paper check's words for a patient rated "Death" in Table 3 yet measured later (safety.deaths' conflict)."""
    c = next(c for c in d.conflicts if c.kind == safety_review.MEASURED_AFTER_DEATH)
    words = list(dict.fromkeys("weakness" if MEASURES[m].panel == "Weakness scores" else MEASURES[m].label
                               for m in c.measures))
    listed = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]
    return (f"Table 3 also rates patient {d.patient_id}'s {(d.cause or 'event').lower()} 'Death', yet patient "
            f"{d.patient_id} has {listed} data up to month {c.last_month:g}")


def reproduce(ds: Dataset) -> list[Claim]:
    out: list[Claim] = []
    safety = cohorts.select(ds, cohorts.CohortFilter(population="safety"))
    eff = cohorts.select(ds, cohorts.CohortFilter(population="efficacy"))
    prog = cohorts.select(ds, cohorts.CohortFilter(population="progressors"))
    stab = cohorts.select(ds, cohorts.CohortFilter(population="stable"))
    pf = cohorts.patient_frame(ds)

    # --- populations
    out.append(Claim("Patients enrolled and assessed for safety", "Results; Table 2", "26", str(safety.n),
                     "patients with safety_population = true", AGREES if safety.n == 26 else DISAGREES))
    out.append(Claim("Patients in the efficacy analysis", "Results; Table 2", "23", str(eff.n),
                     "patients with efficacy_population = true", AGREES if eff.n == 23 else DISAGREES))
    sim_prog = "ALSFRS" in ds.simulated_measures
    out.append(Claim("Progressors (ALSFRS fell 2-11 points in the 6 months before treatment)", "Results", "12",
                     f"{prog.n} progressors, {stab.n} stable"
                     + (f", {len(prog.unclassified)} unclassified" if prog.unclassified else ""),
                     "efficacy patients whose ALSFRS at the earliest pre-treatment visit minus day 0 is >= 2",
                     SIMULATED if sim_prog else (AGREES if prog.n == 12 else DISAGREES),
                     ("rests on simulated pre-treatment ALSFRS (the simulation was built to give 12): "
                      "not a reproduction") if sim_prog else ""))

    # --- Table 2 summary row
    for label, series, printed, digits in (
        ("age (years)", pf.loc[list(safety.patient_ids), "age"], "51.2 ± 1.7", 1),
        ("disease duration (months)", pf.loc[list(safety.patient_ids), "disease_duration_months"], "38.1 ± 4.2", 1),
    ):
        s = stats.describe(series.astype("float64"))
        ok = s.sem is not None and f"{s.mean:.{digits}f} ± {s.sem:.{digits}f}" == printed
        out.append(Claim(f"Table 2 Mean ± SEM: {label}", "Table 2, last row", printed, _pm(s, digits),
                         "mean and SEM (SD/sqrt(n), SD with n-1) over the safety population",
                         AGREES if ok else DISAGREES))
    for label, measure, visit, printed in (("ALSFRS at day 0", "ALSFRS", "V", "29.5 ± 1.0"),
                                           ("FVC (spirometry)", "FVC", "III", "88.8 ± 2.3")):
        vals, sim = _values(ds, measure, visit, safety.patient_ids)
        s = stats.describe(vals)
        ok = s.sem is not None and f"{s.mean:.1f} ± {s.sem:.1f}" == printed
        out.append(Claim(f"Table 2 Mean ± SEM: {label}", "Table 2, last row", printed, _pm(s, 1),
                         f"mean and SEM of {measure} at visit {visit} over the safety population",
                         SIMULATED if sim else (AGREES if ok else DISAGREES)))

    # --- Table 4 summary row
    for visit, printed in (("III", "89 ± 11"), ("VIII", "84 ± 16"), ("IX", "82 ± 14"), ("X", "79 ± 17"),
                           ("XI", "75 ± 17"), ("XII", "73 ± 20")):
        vals, _ = _values(ds, "FVC", visit, eff.patient_ids)
        s = stats.describe(vals)
        if s.sd is None:
            out.append(Claim(f"Table 4 Mean ± SEM: FVC at visit {visit}", "Table 4, last row", printed, _pm(s, 0),
                             "", NOT_COMPUTABLE))
            continue
        pm_printed = float(printed.split("±")[1])
        mean_ok = round(s.mean) == float(printed.split("±")[0])
        is_sd = round(s.sd) == pm_printed
        is_sem = round(s.sem) == pm_printed
        verdict = AGREES if (mean_ok and is_sem) else DISAGREES
        note = ("the ± is the sample SD, not the SEM the row's label claims"
                if (mean_ok and is_sd and not is_sem) else "")
        out.append(Claim(f"Table 4 Mean ± SEM: FVC at visit {visit}", "Table 4, last row", printed,
                         f"mean {s.mean:.1f}, SEM {s.sem:.1f}, SD {s.sd:.1f} (n = {s.n})",
                         "mean and SEM over the efficacy patients with a value at that visit", verdict, note))

    # --- safety claims
    ae = ds.adverse_events
    for pop in (safety, eff):
        hd = ae[(ae["term"] == "Headache") & ae["patient_id"].isin(list(pop.patient_ids))]["patient_id"].nunique()
        pct = 100 * hd / pop.n if pop.n else None
        verdict = NOT_COMPUTABLE if pct is None else (APPROX if abs(pct - 30) <= ABOUT_TOLERANCE_PP else DISAGREES)
        out.append(Claim("Headache after application in about 30% of patients", "Abstract; Results", "about 30%",
                         _pct(hd, pop.n), f"patients with a Headache event / the {pop.name} population", verdict,
                         "Table 3 covers all 26 patients, so the safety population is the natural denominator"
                         if pop is safety else
                         "all 7 patients with headache are in the efficacy population"))
    susar = ae[ae["serious"] & ae["related"]]
    out.append(Claim("No suspected serious adverse reactions (SUSAR)", "Abstract; Results", "0",
                     f"{len(susar)} events both serious and related", "events with serious = true and related = true",
                     AGREES if len(susar) == 0 else DISAGREES))
    listing = safety_review.deaths(ae, ds.patients, ds.measurements)
    fatal = [d for d in listing.deaths if safety_review.SOURCE_FATAL_EVENT in d.sources]
    out.append(Claim("Deaths: patient 10 died of respiratory failure 2 months after application", "Results",
                     "1 death (patient 10)",
                     f"{len(fatal)} patients with severity Death: {', '.join(d.patient_id for d in fatal)}",
                     "adverse events with severity = Death",
                     AGREES if {d.patient_id for d in fatal} == {"10"} else DISAGREES,
                     "; ".join(_measured_after_death(d) for d in fatal
                               if any(c.kind == safety_review.MEASURED_AFTER_DEATH for c in d.conflicts))))
    m = ds.measurements
    excl = set(pf.index[~pf["efficacy_population"].astype(bool)])
    post = set(m.loc[(m["month"] > 0) & ~m["simulated"], "patient_id"])
    no_follow = sorted(excl - post)
    out.append(Claim("The 3 excluded patients have no long-term follow-up data (visits VIII-XII)", "Results",
                     "patients 10, 12, 21",
                     f"excluded: {', '.join(sort_patient_ids(excl))}; without any value after day 0: "
                     f"{', '.join(no_follow) or 'none'}",
                     "non-simulated values with month > 0",
                     AGREES if excl == set(no_follow) and len(excl) == 3 else DISAGREES))

    # --- FVC stable or above 70%
    for month, target in ((9, 80), (12, 60)):
        share = stats.stability_share(m, eff.patient_ids, "FVC", month, stats.StabilityDefinition())
        alt = stats.stability_share(m, eff.patient_ids, "FVC", month, stats.StabilityDefinition(missing="unstable"))
        alt2 = stats.stability_share(m, eff.patient_ids, "FVC", month,
                                     stats.StabilityDefinition(mode="at_or_above_or_change_below",
                                                               change_threshold=10.0))
        out.append(Claim(f"FVC stable or above 70% at {month} months in about {target}% of patients",
                         "Abstract; Results", f"about {target}%",
                         _pct(share.stable, share.denominator), share.definition, _about(share, target),
                         f"other definitions: missing counted as not stable {_pct(alt.stable, alt.denominator)}; "
                         f">= 70 or fall < 10 points {_pct(alt2.stable, alt2.denominator)}"))

    # --- WS stable at 3 months
    defs = [
        ("fall from visit III < 1.0 in all four limbs (the paper's stated threshold)",
         stats.StabilityDefinition(mode="change_below", threshold=1.0, baseline="first")),
        ("fall < 1.0, each limb value counted",
         stats.StabilityDefinition(mode="change_below", threshold=1.0, per_limb="limbs", baseline="first")),
        ("fall < 0.5 in all four limbs",
         stats.StabilityDefinition(mode="change_below", threshold=0.5, baseline="first")),
        ("no fall at all in any limb",
         stats.StabilityDefinition(mode="change_below", threshold=1e-9, baseline="first")),
    ]
    results = [(text, stats.stability_share(m, eff.patient_ids, "WS", 3, d)) for text, d in defs]
    main_text, main = results[0]
    others = "; ".join(f"{t}: {_pct(s.stable, s.denominator)}" for t, s in results[1:])
    verdict = _about(main, 75)
    closest = min((r for r in results if r[1].percent is not None), key=lambda r: abs(r[1].percent - 75), default=None)
    note = f"other definitions: {others}"
    if verdict == DISAGREES and closest is not None:
        note = (f"the stated definition does not reproduce 75%; closest: {closest[0]} ({closest[1].percent:.1f}%). "
                + note)
    out.append(Claim("Weakness scores stable in 75% of patients at 3 months", "Abstract; Results", "75%",
                     _pct(main.stable, main.denominator), main.definition, verdict, note))

    # --- slope claims (rest on ALSFRS trajectories)
    for pop, claims in ((eff, ((3, "p < 0.02"), (6, "p < 0.05"))),
                        (prog, ((3, "p < 0.001"), (6, "p < 0.01"), (9, "p < 0.01"), (12, "p < 0.01")))):
        tests = {t.window_months: t
                 for t in stats.slope_tests(m, "ALSFRS", pop.patient_ids, windows=[w for w, _ in claims])}
        for w, printed in claims:
            t = tests[w]
            bound = float(printed.split("<")[1])
            if t.p_ttest is None:
                rec, ok = f"not computable ({t.note})", False
            else:
                rec = f"p = {t.p_ttest:.2g} (paired t, n = {t.n}; slope change {t.mean_difference:+.2f} points/month)"
                ok = t.p_ttest < bound
            verdict = SIMULATED if sim_prog else (NOT_COMPUTABLE if t.p_ttest is None
                                                  else (AGREES if ok else DISAGREES))
            out.append(Claim(f"ALSFRS decline slower 0-{w} months than before treatment "
                             f"({pop.name}, n = {23 if pop is eff else 12} in the paper)",
                             "Abstract; Results; Figure 1", printed, rec,
                             "paired t-test of per-patient OLS slopes, 0 to W months vs month <= 0",
                             verdict, "rests on simulated ALSFRS trajectories: not a reproduction" if sim_prog else ""))
    return out


def format_table(claims: list[Claim]) -> str:
    """A Markdown table of the claims (used by the CLI and README.md)."""
    lines = ["| claim | paper | recomputed | definition | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        verdict = c.verdict + (f": {c.note}" if c.note else "")
        lines.append(f"| {c.claim} | {c.paper} | {c.recomputed} | {c.definition} | {verdict} |".replace("\n", " "))
    return "\n".join(lines)
