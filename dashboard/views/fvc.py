"""FVC: the spaghetti plot with a reference line, and the share at or above it per visit."""

from __future__ import annotations

from dataclasses import dataclass

from .. import stats
from ..cohorts import Cohort
from ..data import Dataset
from ..formatting import Blocks, Notice, fvc_share_table, visit_summary_table
from .base import NO_PATIENTS, Option, Slot, View, cohort_rows, groups, outcome_over_time


@dataclass(frozen=True)
class FvcResult:
    figure: object
    threshold: float
    #: (group label, per-visit share table) per group shown
    shares: tuple[tuple[str, object], ...]
    message: str | None
    #: (group label, stats.visit_summaries) per group shown
    summaries: tuple[tuple[str, object], ...] = ()

    @property
    def visit_tables(self) -> Blocks:
        return tuple(visit_summary_table(label, s) for label, s in self.summaries) or None

    @property
    def share_tables(self) -> Blocks:
        if self.message:
            return Notice(self.message + ".", "warn")
        return tuple(fvc_share_table(label, share, self.threshold) for label, share in self.shares)


def compute(ds: Dataset, cohort: Cohort, highlight=None, threshold=70.0) -> FvcResult:
    rows = cohort_rows(ds, cohort, ["FVC"])
    fig = outcome_over_time(ds, cohort, "FVC", highlight, title="FVC over time", reference=threshold,
                            reference_label=f"{threshold:g}% predicted", rows=rows)
    shares, summaries = (), ()
    if "FVC" in ds.measures and cohort.n:
        shares = tuple((label, stats.share_at_or_above(rows[key], pids, "FVC", threshold))
                       for key, label, pids in groups(cohort))
        summaries = tuple((label, stats.visit_summaries(rows[key])) for key, label, _pids in groups(cohort))
    return FvcResult(fig, threshold, shares, None if cohort.n else NO_PATIENTS, summaries)


VIEW = View(
    key="fvc", label="FVC", prefix="fvc", order=30, compute=compute, measures=lambda ds: ["FVC"],
    options=(Option("threshold", "number", "Reference line (FVC % predicted)", 70.0, low=0, high=200, step=1,
                    param="fvc_ref"),),
    slots=(
        Slot("spaghetti", "figure", attr="figure", export="fvc_spaghetti", clickable=True),
        Slot("share-table", "blocks", attr="share_tables", title="Share at or above the reference line, per visit"),
        Slot("visit-table", "blocks", attr="visit_tables",
             title="Per visit: n, mean, SD, SEM and change from baseline (% predicted)"),
    ),
    methods=("fvc",),
)
