"""One patient: characteristics, adverse events and every measure over time."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import cohorts, figures, safety
from ..cohorts import Cohort
from ..data import MEASURES, Dataset, functional_measure
from ..formatting import Blocks, Heading, Notice, death_conflict_notice, events_table, facts_table, timeline_reason
from .base import Slot, View


@dataclass(frozen=True)
class ProfileResult:
    patient: str | None
    #: (characteristic, value) pairs
    facts: tuple[tuple[str, str], ...]
    #: the patient's adverse events (None: no patient)
    events: pd.DataFrame | None
    figure: object
    message: Blocks = None
    #: the patient's death with its sources' conflicts, if listed among the deaths (safety.deaths)
    death: safety.Death | None = None
    #: the patient's events against days since day 0 (a message figure where the dataset has no event days)
    timeline: object = None
    #: why there is no timeline (formatting.timeline_reason)
    timeline_notice: Blocks = None

    @property
    def content(self) -> Blocks:
        if self.patient is None:
            return self.message
        conflict = death_conflict_notice(self.death)
        return (Heading(f"Patient {self.patient}"), *((conflict,) if conflict else ()), facts_table(self.facts),
                Heading("Adverse events", 4), events_table(self.events), *((self.timeline_notice,)
                                                                          if self.timeline_notice else ()))


def _val(x, unit=""):
    if x is None or x is pd.NA or (isinstance(x, float) and pd.isna(x)):
        return "not recorded"
    return f"{x:g}{unit}" if isinstance(x, float) else f"{x}{unit}"


def compute(ds: Dataset, cohort: Cohort, highlight=None) -> ProfileResult:
    patient_id, min_decline = highlight, cohort.filter.min_decline
    pf = cohorts.patient_frame(ds)
    if not patient_id:
        return ProfileResult(None, (), None, figures.message_figure("No patient chosen"), Notice(
            "Pick a patient in 'Highlighted patient' above, or click a patient's line in any view.", "info"),
            timeline=figures.message_figure("No patient chosen"))
    if patient_id not in pf.index:
        return ProfileResult(None, (), None, figures.message_figure("No patient chosen"),
                             Notice(f"No patient {patient_id} in this dataset.", "warn"),
                             timeline=figures.message_figure("No patient chosen"))
    r = pf.loc[patient_id]
    group = cohorts.progression_groups(ds, min_decline)[patient_id]
    scale = MEASURES[functional_measure(ds.measures)].label
    mri = r["mri_12m_done"]
    excluded = f" only (excluded from efficacy: {_val(r['exclusion_reason'])})"
    facts = (
        ("Age", _val(r["age"], " years")), ("Sex", _val(r["sex"])), ("Onset", _val(r["onset"])),
        ("Disease duration", _val(r["disease_duration_months"], " months")),
        ("Populations", "safety" + (", efficacy" if r["efficacy_population"] else excluded)),
        ("Progression group",
         f"{group} ({scale} fall before day 0: {_val(r['decline'], ' points')}; threshold {min_decline:g})"),
        (f"{scale} at day 0", _val(r.get("baseline_FS"))),
        ("ΔFS (pre-treatment progression rate)",
         _val(round(r["delta_fs"], 3) if pd.notna(r.get("delta_fs")) else None, " points/month")),
        ("FVC at baseline", _val(r.get("baseline_FVC"), "% predicted")),
        ("MRI at 12 months",
         "not recorded" if mri is pd.NA or mri is None else ("done" if bool(mri) else "not performed")),
    )
    events = ds.adverse_events[ds.adverse_events["patient_id"] == patient_id]
    every = ds.all_adverse_events if ds.all_adverse_events is not None else ds.adverse_events
    death = safety.deaths(every, ds.patients, ds.measurements, [patient_id]).of(patient_id)
    lines = safety.timelines(ds.adverse_events, [patient_id], measurements=ds.measurements, patients=ds.patients)
    title = f"Patient {patient_id}: adverse events over time"
    if lines.patients:
        timeline = figures.swimmer([(f"{e.term} #{i}", e.term, (e,)) for i, e in enumerate(lines.patients[0].events)],
                                   title, row_word="Event")
    else:
        timeline = figures.message_figure(f"No event timeline: {lines.reason or 'no adverse events'}", title)
    return ProfileResult(patient_id, facts, events,
                         figures.patient_profile(ds.measurements, patient_id, ds.simulated_measures,
                                                 time=figures.TimeWords.of(ds)),
                         death=death, timeline=timeline,
                         timeline_notice=timeline_reason(lines.reason) if len(events) else None)


VIEW = View(
    key="profile", label="Patient profile", prefix="profile", order=60, compute=compute,
    measures=lambda ds: list(ds.measures), in_report=False,
    slots=(Slot("content", "blocks", attr="content"), Slot("figure", "figure", attr="figure"),
           Slot("timeline", "figure", attr="timeline", patient_level=True)),
)
