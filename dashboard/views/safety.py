"""Safety: the DSMB summary, the adverse-event heatmap, body system → preferred term, deaths, serious events and
the swimmer plot (issue 14)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import cohorts, figures, ids, safety, stats
from ..cohorts import Cohort
from ..data import SEVERITIES, Dataset
from ..diff import event_marks, patient_marks
from ..formatting import (
    SINCE_COLUMN,
    Blocks,
    deaths_listing,
    hierarchy_blocks,
    incidence_table,
    safety_notices,
    safety_summary_table,
    serious_listing,
    timeline_reason,
)
from .base import Option, Slot, View

COLOUR_BY = (("severity", "Severity"), ("serious", "Seriousness"), ("related", "Relationship"))
ONLY = (("serious", "Serious events"), ("related", "Related events"))
ALL_EVENTS = (("all", "Include the events that are not treatment-emergent (where the dataset flags them)"),)
#: The heatmap's columns: the verbatim term, the preferred term (the verbatim one where none) or the body system.
LEVELS = (("verbatim", "Verbatim term"), ("preferred", "Preferred term"), ("body_system", "Body system"))
LEVEL_WORDS = {"verbatim": "term", "preferred": "preferred term", "body_system": "body system"}
#: The MedDRA system organ classes (their international order), by a short code for the URL; a dataset's body
#: system matches one in any case. "other": a body system that is none of these, or none.
SYSTEM_ORGAN_CLASSES = (
    ("Infec", "Infections and infestations"),
    ("Neopl", "Neoplasms benign, malignant and unspecified (incl cysts and polyps)"),
    ("Blood", "Blood and lymphatic system disorders"),
    ("Immun", "Immune system disorders"),
    ("Endo", "Endocrine disorders"),
    ("Metab", "Metabolism and nutrition disorders"),
    ("Psych", "Psychiatric disorders"),
    ("Nerv", "Nervous system disorders"),
    ("Eye", "Eye disorders"),
    ("Ear", "Ear and labyrinth disorders"),
    ("Card", "Cardiac disorders"),
    ("Vasc", "Vascular disorders"),
    ("Resp", "Respiratory, thoracic and mediastinal disorders"),
    ("Gastr", "Gastrointestinal disorders"),
    ("Hepat", "Hepatobiliary disorders"),
    ("Skin", "Skin and subcutaneous tissue disorders"),
    ("Musc", "Musculoskeletal and connective tissue disorders"),
    ("Renal", "Renal and urinary disorders"),
    ("Preg", "Pregnancy, puerperium and perinatal conditions"),
    ("Repro", "Reproductive system and breast disorders"),
    ("Cong", "Congenital, familial and genetic disorders"),
    ("Genrl", "General disorders and administration site conditions"),
    ("Inv", "Investigations"),
    ("Inj", "Injury, poisoning and procedural complications"),
    ("Surg", "Surgical and medical procedures"),
    ("SocCi", "Social circumstances"),
    ("Prod", "Product issues"),
)
SYSTEMS = (("all", "All body systems"), *SYSTEM_ORGAN_CLASSES, ("other", "Other or not coded"))
SWIMMER_SORT = (("group", "Group, then patient"), ("first_event", "First event"))


@dataclass(frozen=True)
class SafetyResult:
    heatmap: object
    #: per term: patients, events, percent of the selection (stats.ae_incidence)
    incidence: pd.DataFrame
    #: the selection's serious events, the most severe first (``since_review``: new/changed, with a previous cut)
    serious: pd.DataFrame
    n: int
    only: tuple[str, ...]
    #: what is left out (events not treatment-emergent) or not recorded (formatting.safety_notices)
    notices: tuple = ()
    summary: safety.SafetySummary | None = None
    hierarchy: safety.Hierarchy | None = None
    deaths: safety.DeathListing | None = None
    timelines: safety.Timelines | None = None
    swimmer: object = None
    #: group key -> label
    labels: tuple[tuple[str, str], ...] = ()
    #: patient -> "new"/"changed" since the previous data cut (None: no previous cut)
    death_marks: tuple[tuple[str, str], ...] | None = None

    @property
    def summary_table(self) -> Blocks:
        return safety_summary_table(self.summary, dict(self.labels), id=ids.AE_SUMMARY_TABLE)

    @property
    def incidence_table(self) -> Blocks:
        return (*self.notices, *hierarchy_blocks(self.hierarchy, dict(self.labels), id=ids.AE_HIERARCHY_TABLE))

    @property
    def flat_incidence_table(self) -> Blocks:
        return incidence_table(self.incidence, self.n)

    @property
    def serious_listing(self) -> Blocks:
        return serious_listing(self.serious)

    @property
    def deaths_listing(self) -> Blocks:
        marks = dict(self.death_marks) if self.death_marks is not None else None
        return deaths_listing(self.deaths, dict(self.labels), marks, id=ids.AE_DEATHS_TABLE)

    @property
    def timeline_notice(self) -> Blocks:
        # the reason there is no timeline is the swimmer plot's own message; this says what it leaves out
        return None if self.timelines.reason else timeline_reason(None, self.timelines.undated_events)


def system_of(body_system: str) -> str:
    """The code of :data:`SYSTEMS` a body system is (any case), else "other"."""
    names = {name.lower(): code for code, name in SYSTEM_ORGAN_CLASSES}
    return names.get(str(body_system).strip().lower(), "other")


def at_level(ae: pd.DataFrame, level: str, system: str = "all") -> pd.DataFrame:
    """The events with ``term`` at the heatmap's level (preferred term or body system; the verbatim term kept as
    it is), narrowed to one body system (``system``: a code of :data:`SYSTEMS`)."""
    if ae.empty or (level == "verbatim" and system == "all"):
        return ae
    bs, pt = safety.coded_terms(ae)
    out = ae
    if level == "preferred":
        out = out.assign(term=pt.to_numpy())
    elif level == "body_system":
        out = out.assign(term=bs.to_numpy())
    if system != "all":
        out = out[bs.map(system_of).eq(system).to_numpy()]
    return out


def compute(ds: Dataset, cohort: Cohort, highlight=None, colour_by="severity", only=(),
            all_events=False, level="verbatim", system="all", swimmer_sort="group") -> SafetyResult:
    """``all_events``: the heatmap, the incidence and the listing include the events that are not
    treatment-emergent (``Dataset.all_adverse_events``; by default they are left out). ``level`` and ``system``:
    the heatmap's columns and body system; ``swimmer_sort``: the timelines' order."""
    events = ds.all_adverse_events if all_events and ds.all_adverse_events is not None else ds.adverse_events
    ae = events
    if "serious" in only:
        ae = ae[ae["serious"]]
    if "related" in only:
        ae = ae[ae["related"]]
    pats = pd.DataFrame({"patient_id": list(cohort.patient_ids)})
    mine = cohorts.rows(events, cohort)
    changes = ds.changes
    serious = mine[mine["serious"].eq(True).fillna(False).astype(bool)]
    if changes is not None:
        marks = pd.Series(event_marks(events, changes), index=events.index)
        serious = serious.assign(**{SINCE_COLUMN: marks.reindex(serious.index).fillna("").to_numpy()})
    # the most severe first (deaths on top), then by patient in their natural order
    worst_first = serious["severity"].map({s: -i for i, s in enumerate(SEVERITIES)}).fillna(1).astype(int)
    serious = serious.assign(_w=worst_first).sort_values(["_w", "patient_id"], kind="stable").drop(columns="_w")
    not_recorded = [(what, int(mine[col].isna().sum())) for col, what in
                    (("serious", "seriousness"), ("related", "relationship"), ("severity", "severity"))]
    notices = safety_notices(ds.non_emergent_events, not_recorded, len(mine), included=events is not ds.adverse_events)
    grouped = bool(cohort.filter.grouping)
    group_of = ({pid: g.label for g in cohort.shown_groups for pid in g.patient_ids} if grouped else None)
    keys = cohort.shown_group_of() if grouped else None
    order = [g.key for g in cohort.shown_groups] if grouped else None
    labels = tuple((g.key, g.label) for g in cohort.shown_groups)
    summary = safety.summary(events, cohort.patient_ids, keys, order)
    hier = safety.hierarchy(ae, cohort.patient_ids, keys, order)  # as "Show only" narrows it
    every = ds.all_adverse_events if ds.all_adverse_events is not None else ds.adverse_events
    deaths = safety.deaths(every, ds.patients, ds.measurements, cohort.patient_ids, keys)
    lines = safety.timelines(events, cohort.patient_ids, keys, order, measurements=ds.measurements,
                             patients=ds.patients, sort=swimmer_sort)
    label_of = dict(labels)
    rows = [(t.patient_id, f"Patient {t.patient_id}" + (f" ({label_of.get(t.group, t.group)})" if grouped else ""),
             t.events) for t in lines.patients]
    sort_words = "sorted by " + dict(SWIMMER_SORT)[swimmer_sort].lower()
    by_group = [t.group or "" for t in lines.patients] if grouped and swimmer_sort == "group" else None
    swim = (figures.swimmer(rows, "Adverse events over time", sort_words=sort_words, n=cohort.n, highlight=highlight,
                            groups=by_group)
            if not lines.reason else figures.message_figure(f"No event timelines: {lines.reason}",
                                                            "Adverse events over time"))
    heat = figures.ae_heatmap(at_level(ae, level, system), pats, colour_by, highlight, only=only,
                              group_of=group_of, level=LEVEL_WORDS[level])
    return SafetyResult(heat, stats.ae_incidence(ae, cohort.patient_ids), serious, cohort.n, tuple(only), notices,
                        summary, hier, deaths, lines, swim, labels,
                        tuple(patient_marks(changes).items()) if changes is not None else None)


VIEW = View(
    key="safety", label="Safety", prefix="ae", order=50, compute=compute,
    options=(
        Option("colour_by", "radio", "Colour cells by", "severity", choices=COLOUR_BY, legend=True, param="colour"),
        Option("only", "checklist", "Show only", (), choices=ONLY, legend=True, param="only"),
        Option("all_events", "toggle", "", False, choices=ALL_EVENTS, param="allae"),
        Option("level", "radio", "Heatmap columns", "verbatim", choices=LEVELS, legend=True, param="level"),
        Option("system", "radio", "Heatmap body system", "all", choices=SYSTEMS, dropdown=True, param="system"),
        Option("swimmer_sort", "radio", "Sort the timelines by", "group", choices=SWIMMER_SORT, legend=True,
               param="swim"),
    ),
    controls_at=1,
    slots=(
        Slot("summary", "blocks", attr="summary_table", title="Summary of adverse events"),
        Slot("heatmap", "figure", attr="heatmap", export="adverse_events_heatmap", clickable=True,
             patient_level=True),
        Slot("incidence", "blocks", attr="incidence_table", title="Incidence: body system → preferred term"),
        Slot("deaths", "blocks", attr="deaths_listing", title="Deaths", patient_level=True),
        Slot("serious-list", "blocks", attr="serious_listing", title="Serious adverse events", patient_level=True),
        Slot("timeline-notice", "blocks", attr="timeline_notice", title="", patient_level=True),
        Slot("swimmer", "figure", attr="swimmer", export="adverse_events_timelines", patient_level=True),
    ),
    methods=("safety",),
)
