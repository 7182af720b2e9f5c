"""Small PRO-ACT directories written by the tests, in the layout of the released database (issue 12).

:func:`write_proact` writes one directory from the forms given (form key -> rows, the header first) under the
file names of one naming scheme (:data:`NAMES`: the per-form ``PROACT_`` or ``F_PROACT_`` names, or the 2016
all-forms names); the ``*_rows`` helpers build the forms of each quirk, and :func:`realistic` a trial of 40
patients whose visit days scatter around a monthly schedule.  Every value is written here, so each test knows
the answer it expects without reading the importer.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

#: File names of each form under each naming scheme.
NAMES = {
    "proact": {k: f"PROACT_{k}.csv" for k in ("DEMOGRAPHICS", "ALSHISTORY", "ALSFRS", "FVC", "MUSCLESTRENGTH",
                                              "ADVERSEEVENTS", "DEATHDATA", "TREATMENT", "RILUZOLE")},
    "f_proact": {k: f"F_PROACT_{k}.csv" for k in ("DEMOGRAPHICS", "ALSHISTORY", "ALSFRS", "FVC", "MUSCLESTRENGTH",
                                                  "ADVERSEEVENTS", "DEATHDATA", "TREATMENT", "RILUZOLE")},
    "2016": {"DEMOGRAPHICS": "demographics.csv", "ALSHISTORY": "AlsHistory.csv", "ALSFRS": "alsfrs.csv",
             "FVC": "Fvc.csv", "MUSCLESTRENGTH": "muscle_strength.csv", "ADVERSEEVENTS": "AdverseEvents.csv",
             "DEATHDATA": "DeathData.csv", "TREATMENT": "Treatment.csv", "RILUZOLE": "Riluzole.csv"},
}

SUBJECTS = ("101", "102", "103", "104")

#: DEMOGRAPHICS with Age (101: 56.7 years -> 56), Date_of_Birth only (102, 103), both empty (104).
DEMOGRAPHICS = [
    ["subject_id", "Demographics_Delta", "Age", "Date_of_Birth", "Sex", "Race_Caucasian"],
    ["101", "0", "56.7", "", "Male", "1"],
    ["102", "0", "", "-22000", "Female", "1"],  # 22000 / 365.25 = 60.23 -> 60
    ["103", "0", "", "-25567", "Male", ""],  # 25567 / 365.25 = 69.999 -> 69
    ["104", "0", "", "", "Female", ""],
]

#: ALSHISTORY with the onset as text: several rows per subject, bulbar onset, Onset: Other.
ALSHISTORY_TEXT = [
    ["subject_id", "Site_of_Onset", "Onset_Delta", "Diagnosis_Delta"],
    ["101", "Onset: Limb", "-700", "-300"],
    ["101", "", "", "-300"],
    ["102", "Onset: Bulbar", "-400", "-100"],
    ["103", "Onset: Limb and Bulbar", "-1004", "-500"],
    ["104", "Onset: Other", "-365", ""],
]

#: ALSHISTORY with one-hot onset columns (as in the released ALSHISTORY form).
ALSHISTORY_ONE_HOT = [
    ["subject_id", "Site_of_Onset___Bulbar", "Site_of_Onset___Limb", "Site_of_Onset___Limb_and_Bulbar",
     "Site_of_Onset___Other", "Site_of_Onset___Spine", "Onset_Delta"],
    ["101", "", "1", "", "", "", "-700"],
    ["102", "1", "", "", "", "", "-400"],
    ["103", "1", "1", "", "", "", "-1004"],  # bulbar and limb: spinal+bulbar
    ["104", "", "", "", "1", "", "-365"],  # other: not recorded
]

#: ALSFRS with ALSFRS and ALSFRS-R mixed, an item-only record and an empty delta.
ALSFRS = [
    ["subject_id", "Q1_Speech", "Q10_Respiratory", "R_1_Dyspnea", "ALSFRS_Delta", "ALSFRS_Total", "ALSFRS_R_Total"],
    ["101", "4", "4", "", "0", "33", ""],
    ["101", "4", "3", "", "91", "31", ""],
    ["102", "3", "", "4", "2", "", "40"],  # ALSFRS-R only
    ["102", "3", "4", "4", "88", "30", "38"],  # both totals: both measures
    ["103", "3", "", "", "14", "", ""],  # items only: skipped with a warning
    ["104", "3", "4", "", "", "28", ""],  # empty delta: skipped with a warning
    ["104", "3", "4", "", "-7", "29", ""],
]

#: FVC: three trials in % (best 84.5), litres only with Subject_Normal, litres without it.
FVC = [
    ["subject_id", "Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters_Trial_2",
     "pct_of_Normal_Trial_2", "Subject_Liters_Trial_3", "pct_of_Normal_Trial_3", "Subject_Normal",
     "Forced_Vital_Capacity_Units", "Forced_Vital_Capacity_Delta"],
    ["101", "3.1", "80", "3.3", "84.5", "3.2", "82", "3.9", "Liters", "0"],
    ["102", "2.1", "", "2.45", "", "2.3", "", "3.5", "Liters", "3"],  # 2.45 / 3.5 = 70 %
    ["103", "2.8", "", "", "", "", "", "", "Liters", "1"],  # litres, no Subject_Normal: skipped
    ["104", "", "71", "", "", "", "", "", "", "-35"],
]

#: ADVERSEEVENTS as released: MedDRA terms, no Serious or Related column, a death in Outcome.
ADVERSEEVENTS = [
    ["subject_id", "Lowest_Level_Term", "Preferred_Term", "High_Level_Term", "High_Level_Group_Term",
     "System_Organ_Class", "Severity", "Outcome", "Start_Date_Delta", "End_Date_Delta"],
    ["101", "Headache NOS", "Headache", "Headaches NEC", "Headaches", "Nervous system disorders", "Mild",
     "Recovered", "3", "4"],
    ["102", "Fall", "", "Falls", "Injuries NEC", "Injury, poisoning and procedural complications", "Moderate",
     "Ongoing", "20", ""],
    ["103", "Pneumonia aspiration", "Pneumonia aspiration", "Lower respiratory tract infections",
     "Infections - pathogen unspecified", "Infections and infestations", "Severe", "Death", "150", "152"],
]

#: DEATHDATA: 101 died on day 400, 102 did not.
DEATHDATA = [
    ["subject_id", "Subject_Died", "Death_Days"],
    ["101", "Yes", "400"],
    ["102", "No", ""],
]

TREATMENT = [
    ["subject_id", "Study_Arm", "Treatment_Group_Delta"],
    ["101", "Active", "0"],
    ["102", "Placebo", "0"],
    ["103", "Active", "0"],
    ["104", "Placebo", "0"],
]

RILUZOLE = [
    ["subject_id", "Subject_used_Riluzole", "Riluzole_use_Delta"],
    ["101", "Yes", "-30"],
    ["102", "No", ""],
]

#: Every quirk at once (the text onset encoding).
ALL_FORMS = {"DEMOGRAPHICS": DEMOGRAPHICS, "ALSHISTORY": ALSHISTORY_TEXT, "ALSFRS": ALSFRS, "FVC": FVC,
             "ADVERSEEVENTS": ADVERSEEVENTS, "DEATHDATA": DEATHDATA, "TREATMENT": TREATMENT, "RILUZOLE": RILUZOLE}


def _write(path: Path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def write_proact(directory: Path, forms: dict[str, list[list[str]]] | None = None, *, names: str = "proact") -> Path:
    """Write ``forms`` (form key -> rows; default :data:`ALL_FORMS`) under the file names of ``names``."""
    directory.mkdir(parents=True, exist_ok=True)
    for key, rows in (ALL_FORMS if forms is None else forms).items():
        _write(directory / NAMES[names][key], rows)
    return directory


def realistic(directory: Path, n: int = 40, months=(0, 1, 2, 3, 6, 9, 12), jitter: int = 10, seed: int = 12,
              names: str = "2016") -> tuple[Path, dict]:
    """A trial of ``n`` patients: ALSFRS-R and FVC at each scheduled month, each on a day scattered
    ±``jitter`` days around it (uniform whole days), a few visits missed.  Returns the directory and
    the truth: ``{"days": {(patient, month): day}, "alsfrs": {(patient, month): value}}``."""
    rng = random.Random(seed)
    days, values = {}, {}
    demo = [["subject_id", "Age", "Sex"]]
    alsfrs = [["subject_id", "ALSFRS_Delta", "ALSFRS_R_Total"]]
    fvc = [["subject_id", "pct_of_Normal_Trial_1", "Forced_Vital_Capacity_Delta"]]
    ae = [["subject_id", "Preferred_Term", "Severity", "Outcome", "Start_Date_Delta", "End_Date_Delta"]]
    for i in range(n):
        pid = str(1000 + i)
        demo.append([pid, str(45 + i % 30), "Male" if i % 2 else "Female"])
        start, rate = 40 - i % 8, 0.5 + (i % 5) * 0.2
        for m in months:
            if m and rng.random() < 0.1:  # a missed visit
                continue
            day = 0 if m == 0 else round(m * 30.4375) + rng.randint(-jitter, jitter)
            value = max(0, round(start - rate * day / 30.4375))
            days[(pid, m)], values[(pid, m)] = day, value
            alsfrs.append([pid, str(day), str(value)])
            fvc.append([pid, str(90 - i % 20 - m), str(day)])
        if i % 4 == 0:
            ae.append([pid, "Headache", "Mild", "Recovered", "5", "6"])
    write_proact(directory, {"DEMOGRAPHICS": demo, "ALSFRS": alsfrs, "FVC": fvc, "ADVERSEEVENTS": ae},
                 names=names)
    return directory, {"days": days, "alsfrs": values}

#: ALSFRS with items but no totals: the released item columns.  101: Q1-Q10 (Q5a) -> ALSFRS 3+4+2+4+3+3+4+2+1+4 = 30;
#: 102: Q1-Q9 (Q5b) and R_1-R_3 -> ALSFRS-R 2+3+3+1+2+2+3+4+4 + 4+3+4 = 35; 103: Q3 missing -> skipped.
ALSFRS_ITEMS_ONLY = [
    ["subject_id", "Q1_Speech", "Q2_Salivation", "Q3_Swallowing", "Q4_Handwriting", "Q5a_Cutting_without_Gastrostomy",
     "Q5b_Cutting_with_Gastrostomy", "Q6_Dressing_and_Hygiene", "Q7_Turning_in_Bed", "Q8_Walking",
     "Q9_Climbing_Stairs", "Q10_Respiratory", "R_1_Dyspnea", "R_2_Orthopnea", "R_3_Respiratory_Insufficiency",
     "ALSFRS_Delta", "ALSFRS_Total", "ALSFRS_R_Total"],
    ["101", "3", "4", "2", "4", "3", "", "3", "4", "2", "1", "4", "", "", "", "0", "", ""],
    ["102", "2", "3", "3", "1", "", "2", "2", "3", "4", "4", "", "4", "3", "4", "0", "", ""],
    ["103", "2", "3", "", "1", "2", "", "2", "3", "4", "4", "3", "", "", "", "0", "", ""],
]
