"""Weakness scores: the four limbs per patient, their means, and the share stable at 3 and 12 months."""

from __future__ import annotations

from dataclasses import dataclass

from .. import figures, stats
from ..cohorts import Cohort
from ..data import WS_MEASURES, Dataset
from ..formatting import Blocks, Notice, share_table, visit_summary_table
from .base import (
    NO_PATIENTS,
    Option,
    Slot,
    View,
    cohort_rows,
    group_map,
    group_styles,
    group_summaries,
    groups,
    no_values,
)

NO_SCORES = "This dataset has no weakness scores"


@dataclass(frozen=True)
class WeaknessResult:
    grid: object
    mean: object
    #: (label, stats.Share) per group and month
    shares: tuple[tuple[str, stats.Share], ...]
    message: str | None
    #: (group label, stats.visit_summaries of the four limbs) per group shown
    summaries: tuple[tuple[str, object], ...] = ()

    @property
    def visit_tables(self) -> Blocks:
        return tuple(visit_summary_table(label, s, digits=2) for label, s in self.summaries) or None

    @property
    def share_table(self) -> Blocks:
        return Notice(self.message + ".", "warn") if self.message else share_table(list(self.shares))


def compute(ds: Dataset, cohort: Cohort, highlight=None, threshold=1.0) -> WeaknessResult:
    if not any(m in ds.measures for m in WS_MEASURES) or cohort.n == 0:
        text = no_values(ds, "weakness scores") if not any(m in ds.measures for m in WS_MEASURES) else NO_PATIENTS
        fig = figures.message_figure(text)
        return WeaknessResult(fig, fig, (), text)
    rows = cohort_rows(ds, cohort, WS_MEASURES)
    m = rows["all"]
    by_group = group_summaries(ds, cohort, list(WS_MEASURES), rows)
    grid = figures.ws_grid(m, group_map(cohort), by_group, highlight, time=figures.TimeWords.of(ds),
                           styles=group_styles(cohort))
    # with one group shown, its summaries are the cohort's: no second pass over the data
    whole = (by_group if not cohort.filter.is_comparison and by_group is not None
             else stats.visit_summaries(m))
    definition = stats.StabilityDefinition(mode="change_below", threshold=threshold, baseline="first")
    shares = tuple((f"{label}, {month} months", stats.stability_share(rows[key], pids, "WS", month, definition))
                   for key, label, pids in groups(cohort) for month in (3, 12))
    if by_group is not None and cohort.filter.is_comparison:
        labels = {key: label for key, label, _p in groups(cohort)}
        summaries = tuple((labels[key], part.drop(columns="group"))
                          for key, part in by_group.groupby("group", sort=False))
    else:
        summaries = ((groups(cohort)[0][1], whole),)
    return WeaknessResult(grid, figures.ws_mean(whole, time=figures.TimeWords.of(ds)), shares, None, summaries)


VIEW = View(
    key="weakness", label="Weakness", prefix="ws", order=40, compute=compute, measures=lambda ds: list(WS_MEASURES),
    report_title="Weakness scores",
    options=(Option("threshold", "number", "Stable = fall from the visit III baseline smaller than (points)", 1.0,
                    low=0.01, high=5, step=0.1, input_min=0.1, param="ws_stable"),),
    slots=(
        Slot("share-table", "blocks", attr="share_table", title="Share stable at 3 and 12 months"),
        Slot("grid", "figure", attr="grid", export="weakness_limbs", clickable=True),
        Slot("mean", "figure", attr="mean", export="weakness_mean"),
        Slot("visit-table", "blocks", attr="visit_tables",
             title="Per visit and limb: n, mean, SD, SEM and change from baseline (points)"),
    ),
    methods=("weakness",),
)
