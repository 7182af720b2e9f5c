"""Safety: the adverse-event heatmap, the incidence by term and the serious-event listing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import cohorts, figures, stats
from ..cohorts import Cohort
from ..data import SEVERITIES, Dataset
from ..formatting import Blocks, incidence_table, safety_notices, serious_listing
from .base import Option, Slot, View

COLOUR_BY = (("severity", "Severity"), ("serious", "Seriousness"), ("related", "Relationship"))
ONLY = (("serious", "Serious events"), ("related", "Related events"))
ALL_EVENTS = (("all", "Include the events that are not treatment-emergent (where the dataset flags them)"),)


@dataclass(frozen=True)
class SafetyResult:
    heatmap: object
    #: per term: patients, events, percent of the selection (stats.ae_incidence)
    incidence: pd.DataFrame
    #: the selection's serious events, the most severe first
    serious: pd.DataFrame
    n: int
    only: tuple[str, ...]
    #: what is left out (events not treatment-emergent) or not recorded (formatting.safety_notices)
    notices: tuple = ()

    @property
    def incidence_table(self) -> Blocks:
        return (*self.notices, incidence_table(self.incidence, self.n))

    @property
    def serious_listing(self) -> Blocks:
        return serious_listing(self.serious)


def compute(ds: Dataset, cohort: Cohort, highlight=None, colour_by="severity", only=(),
            all_events=False) -> SafetyResult:
    """``all_events``: the heatmap, the incidence and the listing include the events that are not
    treatment-emergent (``Dataset.all_adverse_events``; by default they are left out)."""
    events = ds.all_adverse_events if all_events and ds.all_adverse_events is not None else ds.adverse_events
    ae = events
    if "serious" in only:
        ae = ae[ae["serious"]]
    if "related" in only:
        ae = ae[ae["related"]]
    pats = pd.DataFrame({"patient_id": list(cohort.patient_ids)})
    mine = cohorts.rows(events, cohort)
    serious = mine[mine["serious"]]
    # the most severe first (deaths on top), then by patient in their natural order
    worst_first = serious["severity"].map({s: -i for i, s in enumerate(SEVERITIES)}).fillna(1).astype(int)
    serious = serious.assign(_w=worst_first).sort_values(["_w", "patient_id"], kind="stable").drop(columns="_w")
    not_recorded = [(what, int(mine[col].isna().sum())) for col, what in
                    (("serious", "seriousness"), ("related", "relationship"), ("severity", "severity"))]
    notices = safety_notices(ds.non_emergent_events, not_recorded, len(mine), included=events is not ds.adverse_events)
    group_of = ({pid: g.label for g in cohort.shown_groups for pid in g.patient_ids}
                if cohort.filter.grouping else None)
    return SafetyResult(figures.ae_heatmap(ae, pats, colour_by, highlight, only=only, group_of=group_of),
                        stats.ae_incidence(ae, cohort.patient_ids), serious, cohort.n, tuple(only), notices)


VIEW = View(
    key="safety", label="Safety", prefix="ae", order=50, compute=compute,
    options=(
        Option("colour_by", "radio", "Colour cells by", "severity", choices=COLOUR_BY, legend=True, param="colour"),
        Option("only", "checklist", "Show only", (), choices=ONLY, legend=True, param="only"),
        Option("all_events", "toggle", "", False, choices=ALL_EVENTS, param="allae"),
    ),
    slots=(
        Slot("heatmap", "figure", attr="heatmap", export="adverse_events_heatmap", clickable=True),
        Slot("incidence", "blocks", attr="incidence_table", title="Incidence by term", row="tables"),
        Slot("serious-list", "blocks", attr="serious_listing", title="Serious adverse events", row="tables"),
    ),
    methods=("safety",),
)
