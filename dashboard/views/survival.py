"""Survival: Kaplan-Meier curves per group of an endpoint, numbers at risk, medians, log-rank and Cox (issue 13).

The endpoints are the time to death (:func:`dashboard.survival.death_times`) and every ADTTE parameter
(:func:`dashboard.survival.adtte_times`); the analysis is :func:`dashboard.survival.survival_by_group` on
the selection's groups (one curve for the whole selection when it is not grouped).  The view is offered only
for a dataset with a dated death or an ADTTE record (the shipped trial has neither: "this dataset records no
dates of death").  No Dash import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from .. import figures, ids, survival
from ..cohorts import Cohort
from ..data import Dataset
from ..formatting import Blocks, Notice, at_risk_table, km_table
from .base import NO_PATIENTS, Option, Slot, View, group_map, group_styles

NOT_GROUPED = "Choose a grouping under 'Group by' to compare groups: the curve is of the whole selection"


@functools.lru_cache(maxsize=16)
def endpoints(ds: Dataset) -> tuple[survival.EventTimes, ...]:
    """Every endpoint of the dataset with an analysis: death where a dated death is recorded, then each ADTTE
    parameter with usable records (memoised per dataset: it is immutable)."""
    death = survival.death_times(ds)
    out = [death] if death.reason is None and death.events > 0 else []
    out += [t for t in survival.adtte_times(ds) if t.reason is None]
    return tuple(out)


def endpoint_label(t: survival.EventTimes) -> str:
    return t.label if t.name == "death" else f"{t.label} ({t.name})"


def endpoint_choices(ds: Dataset) -> tuple[tuple[str, str], ...]:
    """The endpoint radio's choices for a dataset: (name, label); the first endpoint's value is "" (the default,
    kept out of the address), the others' their name (``?endpoint=TTDE``)."""
    return tuple(("" if i == 0 else t.name, endpoint_label(t)) for i, t in enumerate(endpoints(ds)))


def available(ds: Dataset) -> str | None:
    """None where the dataset records a dated death or an ADTTE record, else why not (in words)."""
    if endpoints(ds):
        return None
    death = survival.death_times(ds)
    if death.reason:
        return death.reason
    return "this dataset records no dates of death" + (" and no usable time-to-event records"
                                                       if len(ds.time_to_event) else "")


@dataclass(frozen=True)
class SurvivalResult:
    endpoint: str
    label: str
    message: str | None
    analysis: survival.SurvivalAnalysis | None
    figure: object
    labels: dict
    grouped: bool = True

    @property
    def notice(self) -> Blocks:
        said = tuple(Notice(t + ".", "info") for t in (self.message, None if self.grouped else NOT_GROUPED) if t)
        return said or None

    @property
    def at_risk(self) -> Blocks:
        if self.analysis is None or not self.analysis.curves:
            return None
        return at_risk_table(self.analysis, self.labels, id=ids.slot_id("survival", "at-risk-table"))

    @property
    def summary(self) -> Blocks:
        if self.analysis is None:
            return None
        if self.analysis.reason and not self.analysis.curves:
            return Notice(f"No analysis: {self.analysis.reason}.", "warn")
        return km_table(self.analysis, self.labels, id=ids.slot_id("survival", "summary-table"))


def _analysis(ds: Dataset, cohort: Cohort, times: survival.EventTimes) -> tuple[survival.SurvivalAnalysis, dict]:
    gm = group_map(cohort)
    series = pd.Series(list(gm.values()), index=pd.Index(list(gm), dtype=object), dtype=object)
    order = [g.key for g in cohort.shown_groups]
    control = cohort.control_group.key if cohort.control_group is not None else (order[0] if order else None)
    labels = {k: st.label for k, st in group_styles(cohort).items()}
    return survival.survival_by_group(times, series, order, control), labels


def compute(ds: Dataset, cohort: Cohort, highlight=None, endpoint: str = "", show_ci: bool = False) -> SurvivalResult:
    why = available(ds)
    eps = {t.name: t for t in endpoints(ds)}
    times = eps.get(endpoint) or next(iter(eps.values()), None)
    grouped = bool(cohort.filter.grouping)
    unknown = (f"endpoint={endpoint!r} is not an endpoint of this dataset (choose from "
               f"{', '.join(eps)}): showing {endpoint_label(times)}") if endpoint and endpoint not in eps and times \
        else None
    if why is None and cohort.n == 0:
        why = NO_PATIENTS
    if why or times is None:
        why = why or "no endpoint"
        return SurvivalResult(endpoint, "", why, None, figures.message_figure(why, wrap=60), {}, grouped)
    sa, labels = _analysis(ds, cohort, times)
    fig = (figures.km_figure(sa.curves, group_styles(cohort), endpoint_label(times), show_ci)
           if any(c.n for c in sa.curves) else
           figures.message_figure(f"{endpoint_label(times)}: no patient of the selection has a time", wrap=60))
    return SurvivalResult(times.name, endpoint_label(times), unknown, sa, fig, labels, grouped)


def statistics(ds: Dataset, cohort: Cohort) -> dict:
    """The ``stats`` JSON's ``survival``: per endpoint (name -> :meth:`SurvivalAnalysis.to_dict`: per group n,
    events, median and its CI, the log-rank test, the hazard ratio for two groups), or ``reason`` in words."""
    why = available(ds)
    if why:
        return {"reason": why}
    if cohort.n == 0:
        return {"reason": NO_PATIENTS}
    out = {}
    for t in endpoints(ds):
        sa, _labels = _analysis(ds, cohort, t)
        d = sa.to_dict()
        if not cohort.filter.grouping:
            d["note"] = NOT_GROUPED
        out[t.name] = d
    return out


VIEW = View(
    key="survival", label="Survival", prefix="survival", order=46, compute=compute, uses_highlight=False,
    available=available,
    options=(
        Option("endpoint", "radio", "Endpoint", "", legend=True, choices_of=endpoint_choices, param="endpoint"),
        Option("show_ci", "toggle", "", False, choices=(("ci", "Show the 95% confidence band"),), param="kmci"),
    ),
    slots=(
        # the figure first (presentation mode), the numbers at risk right under it
        Slot("km", "figure", attr="figure", export="survival_kaplan_meier"),
        Slot("at-risk", "blocks", attr="at_risk"),
        Slot("message", "blocks", attr="notice"),
        Slot("summary", "blocks", attr="summary", title="Median, log-rank test and hazard ratio"),
    ),
    controls_at=0,
    methods=("survival",),
)
