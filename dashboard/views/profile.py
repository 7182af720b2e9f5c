"""One patient: characteristics, adverse events and every measure over time."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import cohorts, figures
from ..cohorts import Cohort
from ..data import MEASURES, Dataset, functional_measure
from ..formatting import Blocks, Heading, Notice, events_table, facts_table
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

    @property
    def content(self) -> Blocks:
        if self.patient is None:
            return self.message
        return (Heading(f"Patient {self.patient}"), facts_table(self.facts), Heading("Adverse events", 4),
                events_table(self.events))


def _val(x, unit=""):
    if x is None or x is pd.NA or (isinstance(x, float) and pd.isna(x)):
        return "not recorded"
    return f"{x:g}{unit}" if isinstance(x, float) else f"{x}{unit}"


def compute(ds: Dataset, cohort: Cohort, highlight=None) -> ProfileResult:
    patient_id, min_decline = highlight, cohort.filter.min_decline
    pf = cohorts.patient_frame(ds)
    if not patient_id:
        return ProfileResult(None, (), None, figures.message_figure("No patient chosen"), Notice(
            "Pick a patient in 'Highlighted patient' above, or click a patient's line in any view.", "info"))
    if patient_id not in pf.index:
        return ProfileResult(None, (), None, figures.message_figure("No patient chosen"),
                             Notice(f"No patient {patient_id} in this dataset.", "warn"))
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
    return ProfileResult(patient_id, facts, events,
                         figures.patient_profile(ds.measurements, patient_id, ds.simulated_measures,
                                                 time=figures.TimeWords.of(ds)))


VIEW = View(
    key="profile", label="Patient profile", prefix="profile", order=60, compute=compute,
    measures=lambda ds: list(ds.measures), in_report=False,
    slots=(Slot("content", "blocks", attr="content"), Slot("figure", "figure", attr="figure")),
)
