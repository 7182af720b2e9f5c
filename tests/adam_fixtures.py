"""Small ADaM datasets written by the tests, one quirk of real sponsor data each (issue 12).

:func:`write_adam` writes ``adsl.csv``, ``adae.csv`` and (unless ``bds`` is None: a safety-only dataset)
``adeff.csv`` into a directory; the ``*_rows`` helpers build the BDS records of each quirk.  Every value is
written here, so each test knows the answer it expects without reading the importer.
"""

from __future__ import annotations

import csv
from pathlib import Path

SUBJECTS = ("S-1", "S-2", "S-3", "S-4")
ARMS = {"S-1": "Placebo", "S-2": "Placebo", "S-3": "Drug", "S-4": "Drug"}

ADSL = [
    ["STUDYID", "USUBJID", "AGE", "SEX", "SAFFL", "ITTFL", "EFFFL", "TRT01P", "TRT01A", "DTHFL"],
    *[["FIX01", s, str(50 + i), "MF"[i % 2], "Y", "Y", "N" if s == "S-3" else "Y", ARMS[s], ARMS[s],
       "Y" if s == "S-4" else ""] for i, s in enumerate(SUBJECTS)],
]

#: One event per quirk of ADAE: REMOTE (not related), a blank AEREL (not recorded), TRTEMFL = N (left out),
#: FATAL outcome (death), severity only as a CTCAE grade.
ADAE = [
    ["USUBJID", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AETOXGR", "AESER", "AEREL", "AEOUT", "TRTEMFL",
     "ASTDY", "AENDY"],
    ["S-1", "headache", "Headache", "Nervous system disorders", "MILD", "", "N", "REMOTE", "RECOVERED/RESOLVED",
     "Y", "5", "6"],
    ["S-1", "nausea", "Nausea", "Gastrointestinal disorders", "MODERATE", "", "N", "", "NOT RECOVERED/NOT RESOLVED",
     "Y", "10", ""],
    ["S-2", "rash", "Rash", "Skin and subcutaneous tissue disorders", "SEVERE", "", "Y", "PROBABLE",
     "RECOVERED/RESOLVED", "N", "-3", "2"],
    ["S-4", "pneumonia", "Pneumonia", "Infections and infestations", "SEVERE", "", "Y", "DOUBTFUL", "FATAL",
     "Y", "40", "41"],
    ["S-3", "fatigue", "Fatigue", "General disorders", "", "2", "N", "POSSIBLE", "RECOVERED/RESOLVED", "Y", "7", "9"],
]

BDS_HEADER = ["USUBJID", "PARAMCD", "AVAL", "AVALU", "AVISIT", "AVISITN", "ADY"]


def _write(path: Path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def write_adam(directory: Path, bds: list[list[str]] | None, *, ady: bool = True, extra: dict | None = None) -> Path:
    """ADSL + ADAE (+ ``adeff.csv`` holding ``bds`` records under :data:`BDS_HEADER`, without ``ADY`` unless
    ``ady``); ``extra``: more files (name -> rows, or text)."""
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "adsl.csv", ADSL)
    _write(directory / "adae.csv", ADAE)
    if bds is not None:
        keep = [i for i, h in enumerate(BDS_HEADER) if ady or h != "ADY"]
        _write(directory / "adeff.csv", [[r[i] for i in keep] for r in [BDS_HEADER, *bds]])
    for name, content in (extra or {}).items():
        if isinstance(content, str):
            (directory / name).write_text(content, encoding="utf-8")
        else:
            _write(directory / name, content)
    return directory


def alsfrs_rows(code: str = "ALSFRSRT", weeks=(0, 12, 24)) -> list[list[str]]:
    """ALSFRS-R totals (under a sponsor's code) at weeks 0, 12, 24: 40, 38, 36 for every subject."""
    return [[s, code, str(40 - 2 * k), "", "Baseline" if w == 0 else f"Week {w}", str(w), str(w * 7 + 1)]
            for s in SUBJECTS for k, w in enumerate(weeks)]


def visit_without_unit_rows() -> list[list[str]]:
    """Visits named without a unit ("Visit 3", AVISITN = weeks): meaningless without ADY."""
    return [[s, "ALSFRSR", "40", "", f"Visit {n}", str(w), ""] for s in SUBJECTS for n, w in ((2, 0), (3, 12))]


def fvc_rows(values, unit: str = "%") -> list[list[str]]:
    """FVC (PARAMCD FVCPCT) at baseline and week 12, ``values`` per visit for every subject."""
    return [[s, "FVCPCT", str(v), unit, "Baseline" if w == 0 else f"Week {w}", str(w), str(w * 7 + 1)]
            for s in SUBJECTS for v, w in zip(values, (0, 12))]


def unknown_code_rows() -> list[list[str]]:
    """A parameter the dashboard does not know (GRIP, 4 records) and ALSFRS item rows (ALSFRS01, ALSFRS02)."""
    return ([[s, "GRIP", "30", "kg", "Week 12", "12", "85"] for s in SUBJECTS]
            + [[s, f"ALSFRS0{i}", "4", "", "Week 12", "12", "85"] for s in SUBJECTS[:2] for i in (1, 2)])
