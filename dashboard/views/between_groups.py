"""Between groups: the groups of the selection compared on the post-baseline period (issue 13, item 2).

Per measure (the functional scale or FVC): the per-patient slopes from day 0 compared between the groups
(difference vs the control with the Welch 95 % CI, Welch and Mann-Whitney p; ANOVA and Kruskal-Wallis for
more than two groups), the change from baseline at each scheduled visit (figure and table), the group × time
mixed model (deferred: each fit is its own request) and CAFS.  The analyses are :mod:`dashboard.between` and
:func:`dashboard.mixed.group_slope_model`; this module only chooses their inputs from the cohort.  Where the
selection is not grouped, or has one group, it says so in words and shows no number.  No Dash import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from .. import between, figures, ids, mixed, safety
from ..cohorts import Cohort
from ..data import MEASURES, Dataset, functional_measure
from ..formatting import (
    Blocks,
    Notice,
    between_slope_table,
    cafs_table,
    group_model_table,
    visit_change_table,
)
from .base import NO_PATIENTS, Option, Slot, View, group_map, group_styles, no_values, simulated_text

#: The Combined Assessment of Function and Survival ranks over months 0 to this.
CAFS_WINDOW_MONTHS = 12.0
NOT_GROUPED = "Choose a grouping under 'Group by' to compare groups"
MEASURE_CHOICES = (("functional", "Functional scale (ALSFRS or ALSFRS-R)"), ("FVC", "FVC"))
#: the deferred mixed-model slot: one part (one fit, one request) per measure
MIXED_PARTS = ("functional", "fvc")


def not_comparable(cohort: Cohort) -> str | None:
    """Why the selection's groups cannot be compared (in words), or None."""
    if cohort.n == 0:
        return NO_PATIENTS
    if not cohort.filter.grouping:
        return NOT_GROUPED
    if len(cohort.shown_groups) < 2:
        only = cohort.shown_groups[0].label if cohort.shown_groups else "none"
        return f"There is only one group in the selection ({only}): a comparison needs 2 or more groups"
    return None


@dataclass(frozen=True)
class Grouping:
    """The cohort's groups as the pure analyses take them."""

    series: pd.Series
    order: tuple[str, ...]
    control: str
    labels: dict

    @classmethod
    def of(cls, cohort: Cohort) -> Grouping:
        gm = group_map(cohort)
        series = pd.Series(list(gm.values()), index=pd.Index(list(gm), dtype=object), dtype=object)
        return cls(series, tuple(g.key for g in cohort.shown_groups), cohort.control_group.key,
                   {g.key: g.label for g in cohort.shown_groups})


def measure_key(ds: Dataset, measure: str) -> str:
    """The dataset's measure for the option's value ("functional": ALSFRS or ALSFRS-R)."""
    return functional_measure(ds.measures) if measure in ("functional", "") else "FVC"


@dataclass(frozen=True)
class GroupsResult:
    measure: str
    label: str
    #: why nothing is compared (not grouped, one group, no patients, no values), else None
    message: str | None
    slopes: between.GroupComparison | None
    changes: between.VisitChanges | None
    cafs: between.CafsResult | None
    figure: object
    labels: dict

    @property
    def notice(self) -> Blocks:
        return Notice(self.message + ".", "info") if self.message else None

    @property
    def slope_table(self) -> Blocks:
        if self.slopes is None:
            return None
        unit = "points/month" if self.measure != "FVC" else "% predicted/month"
        return between_slope_table(self.slopes, self.labels, unit, id=ids.slot_id("groups", "slopes-table"))

    @property
    def change_table(self) -> Blocks:
        return visit_change_table(self.changes, self.labels) if self.changes is not None else None

    @property
    def cafs_table(self) -> Blocks:
        return cafs_table(self.cafs, self.labels) if self.cafs is not None else None


def cafs_patients(ds: Dataset) -> pd.DataFrame:
    """The patients table with ``died``/``death_day`` as the deaths listing has them (``safety.deaths``: the
    patients table's, and fatal adverse events with their day where the events have days): CAFS ranks the same
    deaths the safety view lists."""
    every = ds.all_adverse_events if ds.all_adverse_events is not None else ds.adverse_events
    listing = safety.deaths(every, ds.patients, ds.measurements)
    died = {d.patient_id: d.day for d in listing.deaths}
    pid = ds.patients["patient_id"].astype(str)
    day = pd.to_numeric(ds.patients["death_day"], errors="coerce") if "death_day" in ds.patients else None
    listed = pd.to_numeric(pid.map(died), errors="coerce")
    return ds.patients.assign(
        died=ds.patients["died"].astype("boolean").mask(pid.isin(list(died)).to_numpy(), True)
        if "died" in ds.patients else pd.Series(pid.isin(list(died)).to_numpy(), dtype="boolean").where(
            pid.isin(list(died)).to_numpy(), pd.NA),
        death_day=(day.where(day.notna(), listed) if day is not None else listed))


def compute(ds: Dataset, cohort: Cohort, highlight=None, measure: str = "functional") -> GroupsResult:
    key = measure_key(ds, measure)
    label = MEASURES[key].label
    why = not_comparable(cohort)
    if why is None and key not in ds.measures:
        why = no_values(ds, f"{label} values")
    if why:
        return GroupsResult(key, label, why, None, None, None, figures.message_figure(why, wrap=60), {})
    g = Grouping.of(cohort)
    m = ds.measurements
    slopes = between.slope_comparison(m, key, g.series, g.order, g.control)
    changes = between.visit_changes(m, key, g.series, g.order)
    fs = functional_measure(ds.measures)
    caf = None
    if fs in ds.measures:
        caf = between.cafs(between.cafs_inputs(m, fs, cafs_patients(ds), g.series, CAFS_WINDOW_MONTHS), g.order,
                           g.control, CAFS_WINDOW_MONTHS, MEASURES[fs].label)
    fig = (figures.visit_change_figure(changes.rows, group_styles(cohort), label, figures.TimeWords.of(ds),
                                       simulated=simulated_text(ds, key, cohort))
           if not changes.reason else figures.message_figure(f"No change from baseline: {changes.reason}", wrap=60))
    return GroupsResult(key, label, None, slopes, changes, caf, fig, g.labels)


@functools.lru_cache(maxsize=64)
def _model(ds: Dataset, measure: str, groups: tuple[tuple[str, str], ...], order: tuple[str, ...], control: str,
           max_patients: int | None) -> mixed.GroupSlopeModel:
    """The group × time model, memoised per dataset (immutable) and grouping: toggling back does not refit."""
    series = pd.Series([k for _p, k in groups], index=pd.Index([p for p, _k in groups], dtype=object), dtype=object)
    return mixed.group_slope_model(ds.measurements, measure, series, list(order), control, max_patients=max_patients)


def group_model(ds: Dataset, cohort: Cohort, measure: str, max_patients: int | None = None) -> mixed.GroupSlopeModel:
    g = Grouping.of(cohort)
    return _model(ds, measure, tuple(g.series.items()), g.order, g.control, max_patients)


def mixed_part(ds: Dataset, cohort: Cohort, part: str, *, interactive: bool = True, fit_mixed=False) -> Blocks:
    """The group × time mixed model of one measure (``part``: "functional" or "fvc").  In the dashboard it is
    fitted at once for up to AUTO_FIT_PATIENTS patients and above only when asked (as the functional view's
    piecewise models); the report fits it always."""
    why = not_comparable(cohort)
    if why:
        return Notice(why + ".", "info") if part == MIXED_PARTS[0] else None
    measure = measure_key(ds, part)
    if measure not in ds.measures:
        return None
    if interactive and cohort.n > mixed.AUTO_FIT_PATIENTS and not fit_mixed:
        if part != MIXED_PARTS[0]:
            return None
        return Notice(f"The group × time models are fitted at once for up to {mixed.AUTO_FIT_PATIENTS} patients; this "
                      f"selection has {cohort.n:,}, where each fit takes seconds. Tick 'Fit the group × time models' "
                      "above to fit them.", "info")
    model = group_model(ds, cohort, measure, mixed.MAX_INTERACTIVE_PATIENTS if interactive else None)
    return group_model_table(model, Grouping.of(cohort).labels, MEASURES[measure].label)


def statistics(ds: Dataset, cohort: Cohort, with_mixed: bool = True) -> dict:
    """The ``stats`` JSON's between-group keys: ``between_group_tests`` (slopes per measure), ``visit_changes``
    (per measure), ``mixed_model_by_group`` (per measure) and ``cafs``; each null with ``reason`` in words
    where the selection is not grouped or has one group."""
    why = not_comparable(cohort)
    keys = ("between_group_tests", "visit_changes", "mixed_model_by_group", "cafs")
    if why:
        return {k: {"reason": why} for k in keys}
    g = Grouping.of(cohort)
    m = ds.measurements
    measures = [x for x in dict.fromkeys((functional_measure(ds.measures), "FVC")) if x in ds.measures]
    if not measures:
        why = no_values(ds, f"{MEASURES[functional_measure(ds.measures)].label} or FVC values")
        return {k: {"reason": why} for k in keys}
    out = {
        "between_group_tests": {x: between.slope_comparison(m, x, g.series, g.order, g.control).to_dict()
                                for x in measures},
        "visit_changes": {x: between.visit_changes(m, x, g.series, g.order).to_dict() for x in measures},
        "mixed_model_by_group": ({x: group_model(ds, cohort, x).to_dict() for x in measures} if with_mixed
                                 else {"reason": mixed.NOT_ASKED}),
    }
    fs = functional_measure(ds.measures)
    if fs in ds.measures:
        c = between.cafs(between.cafs_inputs(m, fs, cafs_patients(ds), g.series, CAFS_WINDOW_MONTHS), g.order,
                         g.control, CAFS_WINDOW_MONTHS, MEASURES[fs].label).to_dict()
        out["cafs"] = c
    else:
        out["cafs"] = {"reason": f"this dataset has no {MEASURES[fs].label} values"}
    return out


def available(ds: Dataset) -> str | None:
    """None where the dataset offers a grouping (the 'Group by' radio has more than 'No grouping'), else why not."""
    return _available(ds)


@functools.lru_cache(maxsize=16)
def _available(ds: Dataset) -> str | None:
    from .. import state  # state imports the registry: imported here, once the registry exists

    if len(state.grouping_options(ds)) > 1:
        return None
    return "this dataset offers no grouping of its patients (arm, progression, sex or onset)"


VIEW = View(
    key="groups", label="Between groups", prefix="groups", order=44, compute=compute, uses_highlight=False,
    available=available,
    measures=lambda ds: [m for m in (functional_measure(ds.measures), "FVC") if m in ds.measures],
    options=(Option("measure", "radio", "Measure", "functional", choices=MEASURE_CHOICES, legend=True,
                    param="between"),),
    slots=(
        # the figure first (presentation mode shows a view's main figure at the top); where nothing is compared
        # it says why in words, and so does the notice under it
        Slot("changes", "figure", attr="figure", export="groups_change_from_baseline"),
        Slot("message", "blocks", attr="notice"),
        Slot("slopes", "blocks", attr="slope_table", title="Slopes from day 0 compared between groups"),
        Slot("change-table", "blocks", attr="change_table", title="Change from baseline by visit"),
        Slot("mixed", "deferred", title="Group × time mixed model: difference in slope from day 0", parts=MIXED_PARTS,
             compute=mixed_part,
             options=(Option("fit_mixed", "toggle", "", False, choices=(
                 ("fit", f"Fit the group × time models for selections of more than {mixed.AUTO_FIT_PATIENTS} "
                         "patients (seconds per measure)"),)),),
             notes=("value ~ month × group, random intercept and slope per patient (statsmodels MixedLM, REML), "
                    "values from day 0; the difference in slope vs the control with a Wald 95% CI.",),
             offer=lambda cohort: cohort.n > mixed.AUTO_FIT_PATIENTS),
        Slot("cafs", "blocks", attr="cafs_table",
             title="Combined Assessment of Function and Survival (CAFS)"),
    ),
    controls_at=0,
    methods=("between",),
)
