"""The functional-scale view: ALSFRS, or ALSFRS-R for a dataset that has only the revised scale.

Spaghetti plot, slope tests (paired t and Wilcoxon), the piecewise mixed
model per window (each fit in its own request), slope pairs and waterfall.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import figures, ids, mixed, stats
from ..cohorts import Cohort
from ..data import MEASURES, Dataset, functional_measure
from ..formatting import METHODS, Blocks, Notice, Para, left_out_table, mixed_table, slope_table
from .base import (
    NO_PATIENTS,
    Option,
    Slot,
    View,
    cohort_rows,
    group_map,
    group_styles,
    groups,
    no_values,
    outcome_over_time,
    simulated_text,
)

#: Mixed models are fitted on every filter change up to this many patients; above, on request.
AUTO_FIT_PATIENTS = mixed.AUTO_FIT_PATIENTS
WINDOW_OPTIONS = tuple((w, f"0-{w:g} months") for w in stats.WINDOWS)


@dataclass(frozen=True)
class AlsfrsResult:
    measure: str
    window: float
    figure: object
    pairs: object
    waterfall: object
    #: (group label, slope test as a dict) per group and window
    slope_rows: tuple[tuple[str, dict], ...]
    message: str | None
    #: (group label, window, patient, why) for each patient a slope test leaves out
    left_out: tuple[tuple[str, float, str, str], ...] = ()

    @property
    def notice(self) -> Blocks:
        return Notice(self.message, "warn") if self.message else None

    @property
    def slope_table(self) -> Blocks:
        if not self.slope_rows:
            return (Notice(self.message, "warn"), Para(METHODS["slopes"], "method"))
        return (slope_table(list(self.slope_rows), id=f"{ids.ALSFRS_SLOPE_TABLE}-table"),
                left_out_table(self.left_out) if self.left_out else None,
                Para(METHODS["slopes"], "method"))


def compute(ds: Dataset, cohort: Cohort, highlight=None, show_fits=False, window=3,
            measure: str | None = None) -> AlsfrsResult:
    measure = measure or functional_measure(ds.measures)
    window = window if window in stats.WINDOWS else 3
    if measure not in ds.measures or cohort.n == 0:
        msg = no_values(ds, f"{measure} values") if measure not in ds.measures else NO_PATIENTS
        fig = figures.message_figure(msg)
        return AlsfrsResult(measure, window, fig, fig, fig, (), msg)
    gm = group_map(cohort)
    by_group = cohort_rows(ds, cohort, [measure])
    rows = by_group["all"]
    rule = stats.pre_post(ds, measure)
    fits = None
    if show_fits:
        fits = stats.fit_segments(rows, measure, None, window)
        if not rule.computable:  # no pre-treatment period: no pre-treatment slopes drawn either
            fits = fits[fits["period"] == "post"]
        fits = fits.assign(group=fits["patient_id"].map(gm).astype(object).where(lambda s: s.notna(), "all"))
    sim = simulated_text(ds, measure, cohort)
    figure = outcome_over_time(ds, cohort, measure, highlight, fits, title=f"{MEASURES[measure].label} over time",
                               rows=by_group)
    if not rule.computable:
        # no lead-in: no slope test, no slope pairs, no waterfall; one reason for all of them
        msg = f"Pre- vs post-treatment comparisons are not computable: {rule.reason}."
        return AlsfrsResult(measure, window, figure, figures.message_figure(msg, "Pre vs post slope", wrap=60),
                            figures.message_figure(msg, "Change in slope per patient", wrap=60), (), msg)
    slopes = stats.patient_slopes(rows, measure)
    slope_rows = tuple((label, t.to_dict(with_ids=False))
                       for _k, label, pids in groups(cohort)
                       for t in stats.slope_tests(rows, measure, pids, slopes=slopes, rule=rule))
    left_out = tuple((label, w, pid, why) for _k, label, pids in groups(cohort) for w in stats.WINDOWS
                     for pid, why in stats.slope_exclusions(slopes, pids, w, measure))
    return AlsfrsResult(
        measure, window, figure,
        figures.slope_pairs(slopes, window, gm, measure, highlight, simulated=sim, styles=group_styles(cohort)),
        figures.waterfall(slopes, window, gm, measure, highlight, simulated=sim, styles=group_styles(cohort)),
        slope_rows,
        "Slope tests are not computable for n < 2." if cohort.n < 2 else None,
        left_out,
    )


def mixed_rows(ds: Dataset, cohort: Cohort, window: float, measure: str | None = None,
               max_patients: int | None = None) -> list[tuple[str, dict]]:
    """The mixed model's slope change for one window, per group shown (memoised)."""
    measure = measure or functional_measure(ds.measures)
    if measure not in ds.measures:
        return []
    return [(label, mixed.cached_model(ds, measure, tuple(pids), window, max_patients).to_dict())
            for _k, label, pids in groups(cohort)]


def mixed_part(ds: Dataset, cohort: Cohort, window: float, *, interactive: bool = True, fit_mixed=False) -> Blocks:
    """The mixed model for one window.  In the dashboard (``interactive``) it is fitted at once for up to
    AUTO_FIT_PATIENTS patients and above only when asked (a fit then takes seconds, and every filter
    change would start four of them); the report fits every window."""
    if interactive and cohort.n > AUTO_FIT_PATIENTS and not fit_mixed:
        if window != stats.WINDOWS[0]:
            return None
        return Notice(f"The mixed models are fitted at once for up to {AUTO_FIT_PATIENTS} patients; this selection has "
                      f"{cohort.n:,}, where each fit takes seconds. Tick 'Fit the mixed models' above to fit them.",
                      "info")
    rows = mixed_rows(ds, cohort, window, max_patients=mixed.MAX_INTERACTIVE_PATIENTS if interactive else None)
    return mixed_table(rows) if rows else None


VIEW = View(
    key="alsfrs", label="ALSFRS", prefix="alsfrs", order=20, compute=compute,
    measures=lambda ds: [functional_measure(ds.measures)],
    label_of=lambda ds: MEASURES[functional_measure(ds.measures)].label,
    controls_at=1,
    options=(
        Option("show_fits", "toggle", "Show each patient's fitted pre- and post-treatment slopes", False,
               choices=(("fits", "Show each patient's fitted pre- and post-treatment slopes"),), param="fits"),
        Option("window", "radio", "Window for the slope plots and fits", 3, choices=WINDOW_OPTIONS, param="window"),
    ),
    slots=(
        Slot("message", "blocks", attr="notice"),
        Slot("spaghetti", "figure", attr="figure", export="alsfrs_spaghetti", clickable=True),
        Slot("slope-table", "blocks", attr="slope_table", title="Slope tests: post- vs pre-treatment slope"),
        Slot("mixed", "deferred", title="Mixed model: change in slope after day 0", parts=stats.WINDOWS,
             compute=mixed_part,
             options=(Option("fit_mixed", "toggle", "", False, choices=(
                 ("fit", f"Fit the mixed models for selections of more than {AUTO_FIT_PATIENTS} patients "
                         "(seconds per window)"),)),),
             notes=(METHODS["mixed"], "When the two disagree: " + mixed.DISAGREEMENT_NOTE),
             offer=lambda cohort: cohort.n > AUTO_FIT_PATIENTS),
        Slot("slope-pairs", "figure", attr="pairs", export="alsfrs_slope_pairs", clickable=True, row="slopes"),
        Slot("waterfall", "figure", attr="waterfall", export="alsfrs_waterfall", clickable=True, row="slopes"),
    ),
)
