"""Overview: the patient flow and the selection's characteristics (as in Table 2)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import cohorts, stats
from ..cohorts import Cohort
from ..data import MEASURES, Dataset, functional_measure
from ..formatting import METHODS, Blocks, Notice, Para, changes_blocks, characteristics_table
from .base import NO_PATIENTS, Slot, View, groups


@dataclass(frozen=True)
class Flow:
    """Enrolled -> efficacy -> progressors / stable, with the exclusions."""

    safety: int
    efficacy: int
    excluded: tuple[tuple[str, str | None], ...]
    progressors: int
    stable: int
    unclassified: int
    threshold: float
    selected: int
    #: the rating scale that defines progression ("ALSFRS" or "ALSFRS-R")
    scale: str
    simulated_note: str | None
    #: why there are no progressors and stable patients in this dataset (None: there are)
    no_grouping: str | None = None


@dataclass(frozen=True)
class OverviewResult:
    flow: Flow
    #: (column label, stats.characteristics) per group shown; empty when no patient is selected
    characteristics: tuple[tuple[str, dict], ...]
    table: Blocks
    #: "Changes since <previous data date>" (issue 14): None without a previous data cut
    changes: Blocks = None


def changes_panel(ds: Dataset) -> Blocks:
    """The changes since the previous data cut, a notice where it could not be read, or None without one."""
    if ds.previous_problem:
        return Notice(ds.previous_problem, "warn")
    return changes_blocks(ds.changes) if ds.changes is not None else None


def compute(ds: Dataset, cohort: Cohort, highlight=None) -> OverviewResult:
    pf = cohorts.patient_frame(ds)
    g = cohorts.progression_groups(ds, cohort.filter.min_decline)
    excluded = pf[pf["safety_population"] & ~pf["efficacy_population"]]
    fs = functional_measure(ds.measures)
    flow = Flow(
        safety=int(pf["safety_population"].sum()),
        efficacy=int(pf["efficacy_population"].sum()),
        excluded=tuple((p, r if isinstance(r, str) else None) for p, r in excluded["exclusion_reason"].items()),
        progressors=int((g == cohorts.PROGRESSOR).sum()),
        stable=int((g == cohorts.STABLE).sum()),
        unclassified=int((g == cohorts.UNCLASSIFIED).sum()),
        threshold=cohort.filter.min_decline,
        selected=cohort.n,
        scale=MEASURES[fs].label,
        simulated_note=(f"Progressors and stable patients are classified from simulated pre-treatment "
                        f"{MEASURES[fs].label} values." if fs in ds.simulated_measures else None),
        no_grouping=stats.progression_reason(ds),
    )
    columns: list[tuple[str, dict]] = []
    if cohort.n:
        columns = [(label, stats.characteristics(pf, pids)) for _k, label, pids in groups(cohort)]
        if len(columns) > 1:
            columns.append(("Both" if len(columns) == 2 else "All groups",
                            stats.characteristics(pf, cohort.patient_ids)))
    table = ((characteristics_table(columns), Para(METHODS["summary"], "method")) if columns
             else Notice(NO_PATIENTS + ".", "warn"))
    return OverviewResult(flow, tuple(columns), table, changes_panel(ds))


VIEW = View(
    key="overview", label="Overview", prefix="overview", order=10, compute=compute, uses_highlight=False,
    slots=(
        Slot("changes", "blocks", attr="changes"),
        Slot("flow", "flow", attr="flow", title="Patient flow"),
        Slot("characteristics", "blocks", attr="table", title="Characteristics of the selection (as in Table 2)"),
    ),
)
