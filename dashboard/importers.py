"""Import ADaM datasets and PRO-ACT-style files as a trial dataset, and export to them.

A dataset directory may hold, instead of our four CSV files (``native``):

* ``adam``: ADaM datasets as CSV or SAS transport (``.xpt``, read with
  :func:`pandas.read_sas`): ``adsl`` (subject level), ``adae`` (adverse
  events) and one or more BDS datasets of outcomes (any other dataset with
  a ``PARAMCD`` variable);
* ``proact``: PRO-ACT-style CSV files (``DEMOGRAPHICS.csv``,
  ``ALSHISTORY.csv``, ``ALSFRS.csv``, ``FVC.csv``, ``MUSCLESTRENGTH.csv``,
  ``ADVERSEEVENTS.csv``; names in any case, ``PROACT_`` prefix allowed).

:data:`MAPPING` is the one table of how their variables become our columns;
the code below reads its variable names from it, and ``data/README.md``
shows it (a test keeps the two equal).  An import builds our four tables as
strings, then :func:`dashboard.data.validate_tables` runs the same checks as
on our own files; every problem names *their* file, row (line number in a
CSV, header = 1; record number in an XPT, first record = 1) and variable.

No Dash import, no I/O at import time.  Writing SAS transport files
(:func:`export_adam` with ``xpt=True``) needs the optional ``pyreadstat``
package (a test-only dependency); reading them needs only pandas.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import data
from .data import FILES, SCHEMA, DatasetError, Problem

NATIVE, ADAM, PROACT = "native", "adam", "proact"
IMPORT_FORMATS = (ADAM, PROACT)

#: Days in a month: 365.25 / 12.
DAYS_PER_MONTH = 30.4375

#: PRO-ACT-style files (upper-case key = the file name without ``.csv``, any case, optional ``PROACT_`` prefix).
PROACT_FILES = ("DEMOGRAPHICS", "ALSHISTORY", "ALSFRS", "FVC", "MUSCLESTRENGTH", "ADVERSEEVENTS")
PROACT_REQUIRED = ("DEMOGRAPHICS", "ADVERSEEVENTS")
#: PRO-ACT files holding outcomes, each with its day column.
PROACT_OUTCOME_FILES = ("ALSFRS", "FVC", "MUSCLESTRENGTH")

#: The ADaM dataset name of the outcomes that :func:`export_adam` writes.
EXPORT_BDS = "ADEFF"


# ---------------------------------------------------------------- the mapping table


@dataclass(frozen=True)
class MapRow:
    """How one of our columns is filled from ADaM and from PRO-ACT-style files.

    ``adam`` and ``proact`` list ``DATASET.VARIABLE`` (``BDS`` = any outcome
    dataset); several variables of one dataset are alternatives, the first
    the dataset has winning (unless ``rule`` says otherwise).  Rows with a
    ``measure`` give that measure's values: ``adam_codes`` are its PARAMCD
    values, ``proact_codes`` its ``MS_Test_Name`` values.
    """

    file: str
    column: str
    adam: tuple[str, ...]
    proact: tuple[str, ...]
    rule: str
    measure: str | None = None
    adam_codes: tuple[str, ...] = ()
    proact_codes: tuple[str, ...] = ()


MAPPING: tuple[MapRow, ...] = (
    # patients.csv
    MapRow("patients.csv", "patient_id", ("ADSL.USUBJID",), ("DEMOGRAPHICS.subject_id",),
           "as is; one record per subject"),
    MapRow("patients.csv", "age", ("ADSL.AGE",), ("DEMOGRAPHICS.Age",),
           "years; PRO-ACT ages with decimals are cut to completed years"),
    MapRow("patients.csv", "sex", ("ADSL.SEX",), ("DEMOGRAPHICS.Sex",),
           "`M`/`Male` → `M`, `F`/`Female` → `F` (any case); `U` or empty → empty"),
    MapRow("patients.csv", "onset", ("ADSL.ONSET",), ("ALSHISTORY.Site_of_Onset",),
           "`Spinal`, `Limb`, `Spine` → `spinal`; `Spinal+bulbar`, `Spinal and bulbar`, `Limb and bulbar` → "
           "`spinal+bulbar` (any case, a leading `Onset:` dropped); anything else (bulbar only) is a problem. "
           "`ONSET` is sponsor-defined"),
    MapRow("patients.csv", "disease_duration_months", ("ADSL.DURDIS",), ("ALSHISTORY.Onset_Delta",),
           "ADaM: months as is (`DURDIS` is sponsor-defined); PRO-ACT: −`Onset_Delta` days (onset before "
           "day 0) → months by the day rule"),
    MapRow("patients.csv", "safety_population", ("ADSL.SAFFL",), ("DEMOGRAPHICS.Safety_Population",),
           "`Y`/`N` (or `Yes`/`No`, any case) → true/false; PRO-ACT: optional column, without it every subject is in"),
    MapRow("patients.csv", "efficacy_population", ("ADSL.EFFFL", "ADSL.FASFL", "ADSL.PPROTFL"),
           ("DEMOGRAPHICS.Efficacy_Population",),
           "`Y`/`N` (or `Yes`/`No`) → true/false from the first of `EFFFL`, `FASFL`, `PPROTFL` that ADSL has "
           "(the others are ignored); PRO-ACT: optional column, without it every subject is in"),
    MapRow("patients.csv", "mri_12m_done", ("ADSL.MRI12FL",), ("DEMOGRAPHICS.MRI_12m_Done",),
           "`Y`/`N` (or `Yes`/`No`) → true/false, empty → empty (sponsor-defined in ADaM)"),
    MapRow("patients.csv", "exclusion_reason", ("ADSL.EFFREAS",), ("DEMOGRAPHICS.Exclusion_Reason",),
           "text as is (sponsor-defined)"),
    # measurements.csv
    MapRow("measurements.csv", "patient_id", ("BDS.USUBJID",),
           ("ALSFRS.subject_id", "FVC.subject_id", "MUSCLESTRENGTH.subject_id"), "as is"),
    MapRow("measurements.csv", "visit", ("BDS.AVISIT", "BDS.AVISITN"), ("ALSFRS.Visit", "FVC.Visit", "MUSCLESTRENGTH.Visit"),
           "`AVISIT`, every run of characters other than letters, digits, `.`, `_`, `-` replaced by `_` "
           "(`Month 3` → `Month_3`); without `AVISIT`, `AVISITN` as a number. PRO-ACT: the optional `Visit` "
           "column (same rule); without it one visit per distinct day, named `D<day>` (`D91`)"),
    MapRow("measurements.csv", "month", ("BDS.ADY", "BDS.AVISITN"),
           ("ALSFRS.ALSFRS_Delta", "FVC.Forced_Vital_Capacity_Delta", "MUSCLESTRENGTH.Muscle_Strength_Delta"),
           "the month of the record's visit (below), not of its own day. `ADY` counts study days with no day 0 "
           "(`ADY` 1 = day 0 = application; `ADY` ≥ 1 is `ADY` − 1 days, `ADY` ≤ −1 is `ADY` days); without "
           "`ADY`, `AVISITN` is read as months. PRO-ACT deltas are whole days since day 0"),
    MapRow("measurements.csv", "measure", ("BDS.PARAMCD",),
           ("ALSFRS.ALSFRS_Total", "ALSFRS.ALSFRS_R_Total", "FVC.pct_of_Normal_Trial_1", "MUSCLESTRENGTH.MS_Test_Name"),
           "from the `PARAMCD` values and PRO-ACT columns in the measure rows below; any other `PARAMCD` or "
           "`MS_Test_Name` is a problem. Where ADaM has `ANL01FL`, only records with `ANL01FL` = `Y` are read"),
    MapRow("measurements.csv", "value", ("BDS.AVAL",), ("ALSFRS.ALSFRS_Total",),
           "points, original ALSFRS (0-40)", measure="ALSFRS", adam_codes=("ALSFRS",)),
    MapRow("measurements.csv", "value", ("BDS.AVAL",), ("ALSFRS.ALSFRS_R_Total",),
           "ALSFRS-R (0-48): reported as an unknown measure while the dashboard has no `ALSFRS_R` measure",
           measure="ALSFRS_R", adam_codes=("ALSFRSR",)),
    MapRow("measurements.csv", "value", ("BDS.AVAL",),
           ("FVC.pct_of_Normal_Trial_1", "FVC.pct_of_Normal_Trial_2", "FVC.pct_of_Normal_Trial_3"),
           "% of predicted (`AVALU`, where given, must be `%`); PRO-ACT: the best (highest) of the trials given",
           measure="FVC", adam_codes=("FVCPP", "FVC")),
    *(
        MapRow("measurements.csv", "value", ("BDS.AVAL",), ("MUSCLESTRENGTH.MS_Test_Result",),
               "weakness score 0-5", measure=f"WS_{limb}", adam_codes=(f"WS_{limb}",), proact_codes=(limb,))
        for limb in ("UEL", "UER", "LEL", "LER")
    ),
    MapRow("measurements.csv", "source", ("BDS.SIMFL", "BDS.DTYPE"),
           ("ALSFRS.Simulated", "FVC.Simulated", "MUSCLESTRENGTH.Simulated"),
           "`simulated` where `SIMFL` = `Y` or `DTYPE` = `SIMULATED` (PRO-ACT: `Simulated` = `Y` or `Yes`); otherwise "
           "`ADaM <DATASET>` (with ` DTYPE <value>` for other derived records) or `PRO-ACT <FILE>`"),
    # adverse_events.csv
    MapRow("adverse_events.csv", "patient_id", ("ADAE.USUBJID",), ("ADVERSEEVENTS.subject_id",), "as is"),
    MapRow("adverse_events.csv", "term", ("ADAE.AEDECOD", "ADAE.AETERM"),
           ("ADVERSEEVENTS.Preferred_Term", "ADVERSEEVENTS.Lowest_Level_Term"),
           "the first of them that is not empty in the record"),
    MapRow("adverse_events.csv", "serious", ("ADAE.AESER",), ("ADVERSEEVENTS.Serious",), "`Y`/`N` (or `Yes`/`No`) → true/false"),
    MapRow("adverse_events.csv", "related", ("ADAE.AREL", "ADAE.AEREL"), ("ADVERSEEVENTS.Related",),
           "true for `Y`, `RELATED`, `POSSIBLY`/`PROBABLY`/`DEFINITELY RELATED` (also `POSSIBLE`, `PROBABLE`, "
           "`DEFINITE`): a reasonable possibility of a causal relationship; false for `N`, `NOT RELATED`, "
           "`UNRELATED`, `UNLIKELY RELATED` (also `UNLIKELY`, `NONE`); any case; anything else is a problem. "
           "`AREL` wins over `AEREL`"),
    MapRow("adverse_events.csv", "severity", ("ADAE.AESEV", "ADAE.AEOUT"), ("ADVERSEEVENTS.Severity", "ADVERSEEVENTS.Outcome"),
           "`MILD`/`MODERATE`/`SEVERE` (any case) → `Mild`/`Moderate`/`Severe`; outcome `FATAL` → `Death`, "
           "whatever the severity"),
    MapRow("adverse_events.csv", "action", ("ADAE.AEACN", "ADAE.AEACNOTH"), ("ADVERSEEVENTS.Action_Taken",),
           "text as is, the first that is not empty"),
    MapRow("adverse_events.csv", "duration_days", ("ADAE.ADURN", "ADAE.ASTDY", "ADAE.AENDY"),
           ("ADVERSEEVENTS.Duration_Days", "ADVERSEEVENTS.Start_Date_Delta", "ADVERSEEVENTS.End_Date_Delta"),
           "`ADURN` in days (`ADURU`, where given, must be `DAYS`); without it end − start + 1 from "
           "`ASTDY`/`AENDY` (study days, no day 0) or `Start_Date_Delta`/`End_Date_Delta`"),
    MapRow("adverse_events.csv", "ongoing", ("ADAE.AEOUT", "ADAE.AEENRF"), ("ADVERSEEVENTS.Outcome",),
           "true where the outcome is `NOT RECOVERED/NOT RESOLVED` (PRO-ACT also `Ongoing`) or `AEENRF` = "
           "`ONGOING`, else false"),
    # visits.csv
    MapRow("visits.csv", "visit", ("BDS.AVISIT", "BDS.AVISITN"), ("ALSFRS.Visit", "FVC.Visit", "MUSCLESTRENGTH.Visit"),
           "one visit per distinct visit name of the outcome records (see measurements.csv `visit`)"),
    MapRow("visits.csv", "month", ("BDS.ADY", "BDS.AVISITN"),
           ("ALSFRS.ALSFRS_Delta", "FVC.Forced_Vital_Capacity_Delta", "MUSCLESTRENGTH.Muscle_Strength_Delta"),
           "the median day of the visit's records → months by the day rule (without `ADY`: `AVISITN` as "
           "months, which must agree within the visit)"),
    MapRow("visits.csv", "label", ("BDS.AVISIT",), ("ALSFRS.Visit", "FVC.Visit", "MUSCLESTRENGTH.Visit"),
           "the visit as written (else `AVISITN <n>`, or `Day <n>`)"),
    MapRow("visits.csv", "month_stated", (), (), "always true"),
    MapRow("visits.csv", "note", (), (), "`from ADaM ADY` / `from ADaM AVISITN` / `from PRO-ACT deltas`, with the "
                                        "range of days where the visit's records differ"),
)


def _specs(row: MapRow, fmt: str) -> tuple[str, ...]:
    return row.adam if fmt == ADAM else row.proact


def _vars(file: str, column: str, fmt: str, dataset: str) -> list[str]:
    """The variables of ``dataset`` (``BDS`` for any ADaM outcome dataset) that fill our column, in order."""
    out: list[str] = []
    for row in MAPPING:
        if row.file == file and row.column == column and row.measure is None:
            out += [s.split(".", 1)[1] for s in _specs(row, fmt) if s.split(".", 1)[0] == dataset]
    return out


def _measure_rows() -> list[MapRow]:
    return [r for r in MAPPING if r.measure]


def mapping_markdown() -> str:
    """:data:`MAPPING` as the Markdown table shown in ``data/README.md``."""

    def cell(specs: tuple[str, ...], codes: tuple[str, ...], name: str) -> str:
        if not specs:
            return "—"
        text = " / ".join(f"`{s}`" for s in specs)
        if codes:
            text += f" where `{name}` = " + " or ".join(f"`{c}`" for c in codes)
        return text

    lines = ["| our file | our column | ADaM | PRO-ACT-style | rule |", "|---|---|---|---|---|"]
    for r in MAPPING:
        ours = f"`{r.column}` of `{r.measure}`" if r.measure else f"`{r.column}`"
        lines.append(
            f"| `{r.file}` | {ours} | {cell(r.adam, r.adam_codes, 'PARAMCD')} "
            f"| {cell(r.proact, r.proact_codes, 'MS_Test_Name')} | {r.rule} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- value rules


def day_to_month(days: float) -> float:
    """The day rule: ``days / 30.4375`` with the fewest decimals (0-6) that stay within half a day.

    A whole number of days carries no more precision than that, so 91 days is
    month 3, −35 days month −1.15 and 14 days month 0.46; months written with
    two decimals survive a trip through whole days (:func:`month_to_day`
    rounds half a day up, so a month exactly between two days, like 24 =
    730.5 days, comes back too).
    """
    exact = days / DAYS_PER_MONTH
    for k in range(7):
        m = round(exact, k)
        if abs(m * DAYS_PER_MONTH - days) <= 0.5 + 1e-9:
            return m + 0.0  # no -0.0
    return round(exact, 6) + 0.0


def month_to_day(month: float) -> int:
    """Whole days since day 0 for a month (the inverse of :func:`day_to_month`)."""
    return int(math.floor(month * DAYS_PER_MONTH + 0.5))


def _ady_to_days(ady: float) -> float:
    """SDTM-style study day (no day 0) to days since day 0."""
    return ady - 1 if ady >= 1 else ady


def _days_to_ady(days: int) -> int:
    return days + 1 if days >= 0 else days


YES = {"Y", "YES"}
NO = {"N", "NO"}
RELATED_TRUE = {"Y", "YES", "RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED",
                "POSSIBLE", "PROBABLE", "DEFINITE"}
RELATED_FALSE = {"N", "NO", "NOT RELATED", "UNRELATED", "UNLIKELY RELATED", "UNLIKELY", "NONE"}
SEVERITY = {"MILD": "Mild", "MODERATE": "Moderate", "SEVERE": "Severe"}
SEX = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "U": "", "UNKNOWN": "", "UNDIFFERENTIATED": ""}
ONSET = {"SPINAL": "spinal", "LIMB": "spinal", "SPINE": "spinal",
         "SPINAL+BULBAR": "spinal+bulbar", "SPINAL + BULBAR": "spinal+bulbar", "SPINAL AND BULBAR": "spinal+bulbar",
         "LIMB AND BULBAR": "spinal+bulbar", "LIMB+BULBAR": "spinal+bulbar", "LIMB + BULBAR": "spinal+bulbar"}
FATAL = "FATAL"
ONGOING_OUTCOMES = {"NOT RECOVERED/NOT RESOLVED", "NOT RECOVERED", "NOT RESOLVED", "ONGOING"}
PERCENT_UNITS = {"%", "PERCENT", "% PREDICTED", "%PRED", "% OF PREDICTED"}
SIMULATED_DTYPE = "SIMULATED"
_VISIT_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def _visit_name(text: str) -> str:
    return _VISIT_BAD.sub("_", text.strip()).strip("_")


def _number(text: str) -> float | None:
    try:
        v = float(text.replace("\u2212", "-"))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------- reading their files


@dataclass
class _Source:
    """One file of theirs, as strings."""

    path: Path
    key: str  # ADSL, ADAE, ADEFF, ... or DEMOGRAPHICS, ALSFRS, ...
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, stripped cells)
    header_row: int | None  # 1 for CSV, None for XPT (no header line)

    @property
    def name(self) -> str:
        return self.path.name

    def __post_init__(self):
        self.index = {h.upper(): i for i, h in reversed(list(enumerate(self.header)))}

    def col(self, var: str) -> str | None:
        """The variable's name as written in the file (matched in any case), or None."""
        i = self.index.get(var.upper())
        return None if i is None else self.header[i]

    def first(self, names) -> str | None:
        for v in names:
            if self.col(v):
                return self.col(v)
        return None

    def get(self, cells: list[str], var: str | None) -> str:
        if var is None:
            return ""
        i = self.index.get(var.upper())
        return "" if i is None else cells[i]


def _read_csv_source(path: Path, key: str, problems: list[Problem], col) -> _Source | None:
    read = data._read_rows(path, problems)
    if read is None:
        return None
    header, body = read
    seen = set()
    for h in header:
        if h and h.upper() in seen:
            problems.append(Problem(path.name, 1, h, "column appears twice in the header"))
        seen.add(h.upper())
    rows = []
    for line, row in body:
        if len(row) == 0 or (len(row) == 1 and row[0].strip() == ""):
            continue
        if len(row) != len(header):
            col.add(path.name, [line], None, f"expected {len(header)} fields, found {len(row)}")
            continue
        rows.append((line, [c.strip() for c in row]))
    return _Source(path, key, header, rows, 1)


_XPT_MEMBER = b"HEADER RECORD*******MEMBER  HEADER RECORD"


class _MoreThanOneMember(Exception):
    pass


def _xpt_record_count(path: Path, record_start: int, record_length: int) -> int:
    """Records in a one-member XPORT file.

    pandas counts every blank 8-byte word of the last 80-byte card as
    padding, so it drops records that end in blank character values.  Only
    whole all-blank records inside the last card's padding are padding.
    """
    raw = path.read_bytes()[record_start:]
    if _XPT_MEMBER in raw:
        raise _MoreThanOneMember
    n = len(raw) // record_length
    while n > 0 and (n - 1) * record_length > len(raw) - 80 and raw[(n - 1) * record_length:n * record_length].strip(b" ") == b"":
        n -= 1
    return n


#: What pandas makes of an IBM-float zero (8 zero bytes): 16**-65, the smallest IBM magnitude.
_PANDAS_XPT_ZERO = 2.0 ** -260


def _decode(v) -> str:
    if isinstance(v, float) and abs(v) == _PANDAS_XPT_ZERO:
        return "0"  # pandas' IBM float parser has no special case for zero
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8").strip()
        except UnicodeDecodeError:
            return v.decode("latin-1").strip()
    if isinstance(v, float):
        return data.format_number(v)
    return "" if v is None else str(v).strip()


def _read_xpt_source(path: Path, key: str, problems: list[Problem]) -> _Source | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pd.read_sas(path, format="xport", encoding=None, iterator=True)
        with reader:
            try:
                n = _xpt_record_count(path, reader.record_start, reader.record_length)
                reader.nobs = n
            except (AttributeError, ZeroDivisionError):  # another pandas: trust its count
                n = reader.nobs
            except _MoreThanOneMember:
                problems.append(Problem(path.name, None, None, "holds more than one dataset: write one dataset per .xpt file"))
                return None
            columns = [_decode(c) for c in reader.columns]
            frame = reader.read(n) if n > 0 else pd.DataFrame(columns=columns)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one problem, never a traceback
        problems.append(Problem(path.name, None, None, f"not a readable SAS transport (XPORT) file: {exc}"))
        return None
    header = [_decode(c) for c in frame.columns]
    rows = [(i + 1, [_decode(v) for v in rec]) for i, rec in enumerate(frame.itertuples(index=False, name=None))]
    return _Source(path, key, header, rows, None)


# ---------------------------------------------------------------- format detection


def _adam_files(directory: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.suffix.lower() in (".csv", ".xpt") and p.name not in FILES:
            found.setdefault(p.stem.upper(), []).append(p)
    return found


def _proact_files(directory: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.suffix.lower() == ".csv":
            stem = p.stem.upper()
            stem = stem[len("PROACT_"):] if stem.startswith("PROACT_") else stem
            if stem in PROACT_FILES:
                found.setdefault(stem, []).append(p)
    return found


def detect_format(directory) -> str | None:
    """``native`` if any of our four CSV files is there, else ``adam`` if ``adsl``/``adae`` (.csv or .xpt,
    any case) or any ``.xpt`` file is, else ``proact`` if any PRO-ACT-style file is, else None."""
    d = Path(directory)
    if not d.is_dir():
        return None
    if any((d / f).is_file() for f in FILES):
        return NATIVE
    adam = _adam_files(d)
    if "ADSL" in adam or "ADAE" in adam or any(p.suffix.lower() == ".xpt" for ps in adam.values() for p in ps):
        return ADAM
    if _proact_files(d):
        return PROACT
    return None


# ---------------------------------------------------------------- building our tables


@dataclass
class _Rec:
    """One row of one of our tables, with where each cell came from."""

    src: _Source
    line: int
    cells: dict[str, str] = field(default_factory=dict)
    where: dict[str, tuple[str, int | None, str | None]] = field(default_factory=dict)

    def set(self, column: str, value: str, var: str | None, src: _Source | None = None, line: int | None = None):
        self.cells[column] = value
        s = src or self.src
        self.where[column] = (s.name, line if src is not None else self.line, var)


@dataclass
class Imported:
    """Our four tables built from an ADaM or PRO-ACT-style directory, not yet validated."""

    format: str
    directory: Path
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    records: dict[str, list[_Rec] | None] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    reported: set = field(default_factory=set)

    def raw(self) -> dict[str, data.RawTable]:
        """The tables that could be built, as (header, [(key, cells)]) for :func:`data.validate_tables`."""
        out = {}
        for name, recs in self.records.items():
            if recs is None:
                continue
            header = [c.name for c in SCHEMA[name]]
            out[name] = (header, [(i + 2, [r.cells.get(h, "") for h in header]) for i, r in enumerate(recs)])
        return out

    def locate(self, file: str, row: int, column: str | None):
        """Where a cell of our tables came from; None if the importer already reported a problem there."""
        rec = self.records[file][row - 2]
        if column is not None and column in rec.where:
            where = rec.where[column]
        else:
            where = (rec.src.name, rec.line, None)
        return None if where in self.reported else where

    def frames(self) -> dict[str, pd.DataFrame]:
        """The built tables as string DataFrames with exactly our CSV columns."""
        out = {}
        for name, (header, body) in self.raw().items():
            out[name] = pd.DataFrame([cells for _k, cells in body], columns=header, dtype=object).astype(str) \
                if body else pd.DataFrame({h: pd.Series(dtype=str) for h in header})
        return out


class _Builder:
    """Shared machinery of both importers: problem reporting, visits, ordering."""

    def __init__(self, directory: Path, fmt: str):
        self.imp = Imported(fmt, directory)
        self.col = data._Collector(self.imp.problems)
        self.visit_recs: dict[str, list] = {}
        self.meas: list[tuple[_Rec, str]] = []  # (record, visit name)

    # problems
    def problem(self, src: _Source, line: int | None, var: str | None, message: str):
        if line is None:
            self.imp.problems.append(Problem(src.name, None, var, message))
        else:
            self.col.add(src.name, [line], var, message)
        self.imp.reported.add((src.name, line, var))

    def require(self, src: _Source, needs: list[list[str]], what: str) -> bool:
        """Every group of alternatives has a variable in ``src``; else report the missing ones."""
        ok = True
        for alts in needs:
            if not src.first(alts):
                extra = f" (or {', '.join(alts[1:])})" if len(alts) > 1 else ""
                self.imp.problems.append(Problem(src.name, src.header_row, alts[0], f"required {what} is missing{extra}"))
                ok = False
        return ok

    def file_problem(self, name: str, message: str):
        self.imp.problems.append(Problem(name, None, None, message))

    # value converters (report and return the raw value, whose later complaint is then suppressed)
    def yes_no(self, src, line, var, value: str, what: str = "Y or N") -> str:
        if value == "":
            return ""
        u = value.upper()
        if u in YES:
            return "true"
        if u in NO:
            return "false"
        self.problem(src, line, var, f"{value!r} is not {what}")
        return value

    def lookup(self, src, line, var, value: str, table: dict[str, str], allowed: str) -> str:
        if value == "":
            return ""
        u = re.sub(r"^ONSET:\s*", "", value.strip().upper())
        if u in table:
            return table[u]
        self.problem(src, line, var, f"unknown value {value!r} (allowed: {allowed})")
        return value

    def whole_days(self, src, line, var, value: str, *, study_day: bool = False) -> float | None:
        """Days since day 0 from a cell of whole days (``study_day``: SDTM-style, no day 0); None with a problem."""
        if value == "":
            self.problem(src, line, var, "value is required but the cell is empty")
            return None
        v = _number(value)
        if v is None:
            self.problem(src, line, var, f"not a number: {value!r}")
            return None
        if v % 1 != 0:
            self.problem(src, line, var, f"not a whole number of days: {value!r}")
            return None
        if study_day:
            if v == 0:
                self.problem(src, line, var, "study day 0 does not exist (day 1 is the day of application; the day before is -1)")
                return None
            return _ady_to_days(v)
        return v

    # outcomes and visits
    def outcome(self, rec: _Rec, visit: str, label: str, when: tuple[str, float], where_visit, where_time):
        """Record a measurement ``rec`` at ``visit``; ``when`` = ("days" | "months", value)."""
        self.visit_recs.setdefault(visit, []).append((label, when, rec, where_visit, where_time))
        self.meas.append((rec, visit))

    def build_visits(self, note_source: str):
        visits: list[_Rec] = []
        month_of: dict[str, str] = {}
        for name, entries in self.visit_recs.items():
            label, (kind, _v), first, where_visit, where_time = entries[0]
            vals = [e[1][1] for e in entries]
            if kind == "days":
                mid = statistics.median(vals)
                month = day_to_month(mid)
                lo, hi = min(vals), max(vals)
                note = f"from {note_source}" + ("" if lo == hi else
                                                f" (median of days {data.format_number(lo)} to {data.format_number(hi)})")
            else:
                month = vals[0]
                note = f"from {note_source.split()[0]} AVISITN"
                for _l, (_k, v), rec, _wv, wt in entries[1:]:
                    if v != month:
                        self.problem(rec.src, rec.line, wt[2], f"AVISITN {data.format_number(v)} contradicts "
                                     f"{data.format_number(month)} given for visit {label!r} at row {first.line}")
            month_of[name] = data.format_number(month)
            v = _Rec(first.src, first.line)
            v.set("visit", name, where_visit[2])
            v.set("month", month_of[name], where_time[2])
            v.set("label", label, where_visit[2])
            v.set("month_stated", "true", None)
            v.set("note", note, None)
            visits.append(v)
        for rec, visit in self.meas:
            rec.set("month", month_of[visit], rec.where["month"][2])
        visits.sort(key=lambda r: float(r.cells["month"]))
        meas = [rec for rec, _v in self.meas]
        rank = {m: i for i, m in enumerate(data.MEASURES)}
        meas.sort(key=lambda r: (data.natural_key(r.cells["patient_id"]), float(r.cells["month"]),
                                 rank.get(r.cells["measure"], len(rank))))
        self.imp.records["visits.csv"] = visits
        self.imp.records["measurements.csv"] = meas

    def finish(self) -> Imported:
        self.col.finish()
        pats = self.imp.records.get("patients.csv")
        if pats:
            pats.sort(key=lambda r: data.natural_key(r.cells.get("patient_id", "")))
        return self.imp


def _measure_codes() -> dict[str, str]:
    """ADaM PARAMCD → our measure."""
    return {c: r.measure for r in _measure_rows() for c in r.adam_codes}


def _unknown_measure(measure: str) -> str:
    known = ", ".join(data.MEASURES)
    return f"measure {measure} is not one of the dashboard's measures ({known}); not supported yet"


def _read_sources(b: _Builder, found: dict[str, list[Path]], read) -> dict[str, _Source]:
    """Read the one file of each dataset found (``read(path, key)``); two files for one dataset are a problem."""
    sources: dict[str, _Source] = {}
    for key, paths in found.items():
        if len(paths) > 1:
            b.file_problem(paths[-1].name, f"{' and '.join(p.name for p in paths)} are both present: keep one")
            continue
        b.imp.files.append(paths[0].name)
        src = read(paths[0], key)
        if src is not None:
            sources[key] = src
    return sources


# ---------------------------------------------------------------- ADaM


def read_adam(directory) -> Imported:
    """Our four tables from a directory of ADaM datasets, with the problems found on the way (unvalidated)."""
    directory = Path(directory)
    b = _Builder(directory, ADAM)
    imp = b.imp
    found = _adam_files(directory)
    sources = _read_sources(b, found, lambda p, key: _read_xpt_source(p, key, imp.problems) if p.suffix.lower() == ".xpt"
                            else _read_csv_source(p, key, imp.problems, b.col))
    ext = ".xpt" if any(p.suffix.lower() == ".xpt" for ps in found.values() for p in ps) else ".csv"

    # ADSL -> patients.csv
    adsl = sources.get("ADSL")
    imp.names["patients.csv"] = adsl.name if adsl else f"adsl{ext}"
    if "ADSL" not in found:
        b.file_problem(f"adsl{ext}", f"ADSL (the subject-level dataset) is missing from {directory}: "
                                     "expected adsl.csv or adsl.xpt")
    if adsl is None:
        imp.records["patients.csv"] = None
    else:
        imp.records["patients.csv"] = _adam_patients(b, adsl)

    # ADAE -> adverse_events.csv
    adae = sources.get("ADAE")
    if "ADAE" not in found:
        b.file_problem(f"adae{ext}", f"ADAE (the adverse events dataset) is missing from {directory}: "
                                     "expected adae.csv or adae.xpt (it may hold no records)")
    imp.records["adverse_events.csv"] = None if adae is None else _adam_events(b, adae)

    # BDS -> measurements.csv, visits.csv
    others = [k for k in found if k not in ("ADSL", "ADAE")]
    bds = [s for k, s in sorted(sources.items()) if k not in ("ADSL", "ADAE") and s.col("PARAMCD")]
    if not bds:
        if all(k in sources for k in others):  # (an unreadable one is reported already)
            ignored = "".join(f"; {sources[k].name} has no PARAMCD variable" for k in others)
            b.file_problem(str(directory), "no outcome dataset: expected a BDS dataset (PARAMCD, AVAL, AVISIT, ADY) "
                                           f"besides ADSL and ADAE, e.g. adeff.csv or adqs.xpt{ignored}")
        imp.records["measurements.csv"] = imp.records["visits.csv"] = None
        return b.finish()
    for src in bds:
        _adam_outcomes(b, src)
    imp.names["visits.csv"] = "the visits of " + ", ".join(s.name for s in bds)
    b.build_visits("ADaM ADY")
    return b.finish()


def _adam_patients(b: _Builder, src: _Source) -> list[_Rec] | None:
    eff_vars = _vars("patients.csv", "efficacy_population", ADAM, "ADSL")
    if not b.require(src, [["USUBJID"], ["SAFFL"], eff_vars], "variable"):
        return None
    V = {c.name: src.first(_vars("patients.csv", c.name, ADAM, "ADSL")) for c in SCHEMA["patients.csv"]}
    out = []
    for line, cells in src.rows:
        r = _Rec(src, line)

        def get(c):
            return src.get(cells, V[c])

        r.set("patient_id", get("patient_id"), V["patient_id"])
        r.set("age", get("age"), V["age"])
        r.set("sex", b.lookup(src, line, V["sex"], get("sex"), SEX, "M, F, U"), V["sex"])
        r.set("onset", b.lookup(src, line, V["onset"], get("onset"), ONSET, "SPINAL, LIMB, SPINAL+BULBAR, LIMB AND BULBAR"), V["onset"])
        r.set("disease_duration_months", get("disease_duration_months"), V["disease_duration_months"])
        for c in ("safety_population", "efficacy_population", "mri_12m_done"):
            r.set(c, b.yes_no(src, line, V[c], get(c)), V[c])
        r.set("exclusion_reason", get("exclusion_reason"), V["exclusion_reason"])
        out.append(r)
    return out


def _relatedness(b, src, line, var, value) -> str:
    u = value.upper()
    if value == "":
        return ""
    if u in RELATED_TRUE:
        return "true"
    if u in RELATED_FALSE:
        return "false"
    b.problem(src, line, var, f"unknown relationship {value!r} (related: Y, RELATED, POSSIBLY/PROBABLY/DEFINITELY "
                              "RELATED; not related: N, NOT RELATED, UNRELATED, UNLIKELY RELATED)")
    return value


def _severity(b, src, line, sev_var, out_var, sev: str, outcome: str) -> tuple[str, str | None]:
    if outcome.upper() == FATAL:
        return "Death", out_var
    if sev == "":
        return "", sev_var
    if sev.upper() in SEVERITY:
        return SEVERITY[sev.upper()], sev_var
    b.problem(src, line, sev_var, f"unknown value {sev!r} (allowed: MILD, MODERATE, SEVERE; outcome FATAL for a death)")
    return sev, sev_var


def _first_nonempty(src, cells, names) -> tuple[str, str | None]:
    present = [src.col(v) for v in names if src.col(v)]
    for v in present:
        if src.get(cells, v):
            return src.get(cells, v), v
    return "", (present[0] if present else None)


def _adam_events(b: _Builder, src: _Source) -> list[_Rec] | None:
    term_vars = _vars("adverse_events.csv", "term", ADAM, "ADAE")
    rel_vars = _vars("adverse_events.csv", "related", ADAM, "ADAE")
    if not b.require(src, [["USUBJID"], term_vars, ["AESER"], rel_vars, ["AESEV"]], "variable"):
        return None
    rel = src.first(rel_vars)
    aesev, aeout, aeenrf = src.col("AESEV"), src.col("AEOUT"), src.col("AEENRF")
    adurn, aduru, astdy, aendy = src.col("ADURN"), src.col("ADURU"), src.col("ASTDY"), src.col("AENDY")
    out = []
    for line, cells in src.rows:
        r = _Rec(src, line)
        r.set("patient_id", src.get(cells, "USUBJID"), src.col("USUBJID"))
        term, tv = _first_nonempty(src, cells, term_vars)
        r.set("term", term, tv)
        r.set("serious", b.yes_no(src, line, src.col("AESER"), src.get(cells, "AESER")), src.col("AESER"))
        r.set("related", _relatedness(b, src, line, rel, src.get(cells, rel)), rel)
        outcome = src.get(cells, aeout)
        sev, sv = _severity(b, src, line, aesev, aeout, src.get(cells, aesev), outcome)
        r.set("severity", sev, sv)
        action, av = _first_nonempty(src, cells, _vars("adverse_events.csv", "action", ADAM, "ADAE"))
        r.set("action", action, av)
        if adurn:
            unit = src.get(cells, aduru)
            if unit and unit.upper() not in ("DAYS", "DAY", "D"):
                b.problem(src, line, aduru, f"duration unit {unit!r} is not DAYS")
            r.set("duration_days", src.get(cells, adurn), adurn)
        elif astdy and aendy and src.get(cells, astdy) and src.get(cells, aendy):
            start = b.whole_days(src, line, astdy, src.get(cells, astdy), study_day=True)
            end = b.whole_days(src, line, aendy, src.get(cells, aendy), study_day=True)
            r.set("duration_days", "" if start is None or end is None else data.format_number(end - start + 1), aendy)
        else:
            r.set("duration_days", "", None)
        ongoing = outcome.upper() in ONGOING_OUTCOMES or src.get(cells, aeenrf).upper() == "ONGOING"
        r.set("ongoing", "true" if ongoing else "false", aeout or aeenrf)
        out.append(r)
    return out


def _adam_outcomes(b: _Builder, src: _Source) -> None:
    """Read one BDS dataset's records into measurements (visits are built afterwards)."""
    if not b.require(src, [["USUBJID"], ["PARAMCD"], ["AVAL"], ["AVISIT", "AVISITN"], ["ADY", "AVISITN"]], "variable"):
        return
    codes = _measure_codes()
    usubjid, paramcd, aval = src.col("USUBJID"), src.col("PARAMCD"), src.col("AVAL")
    avisit, avisitn, ady = src.col("AVISIT"), src.col("AVISITN"), src.col("ADY")
    anl, avalu, simfl, dtype = src.col("ANL01FL"), src.col("AVALU"), src.col("SIMFL"), src.col("DTYPE")
    for line, cells in src.rows:
        if anl and src.get(cells, anl).upper() != "Y":
            continue
        code = src.get(cells, paramcd)
        measure = codes.get(code.upper())
        if measure is None:
            b.problem(src, line, paramcd, f"unknown PARAMCD {code!r} (known: {', '.join(codes)})")
            continue
        if measure not in data.MEASURES:
            b.problem(src, line, paramcd, f"PARAMCD {code!r}: {_unknown_measure(measure)}")
            continue
        if measure == "FVC" and avalu and src.get(cells, avalu) and src.get(cells, avalu).upper() not in PERCENT_UNITS:
            b.problem(src, line, avalu, f"FVC must be % of predicted, not {src.get(cells, avalu)!r}")
            continue
        # the visit
        if avisit:
            label = src.get(cells, avisit)
            visit, vvar = _visit_name(label), avisit
        else:
            label = f"AVISITN {src.get(cells, avisitn)}"
            visit, vvar = src.get(cells, avisitn), avisitn
        if visit == "":
            b.problem(src, line, vvar, "value is required but the cell is empty")
            continue
        if ady:
            days = b.whole_days(src, line, ady, src.get(cells, ady), study_day=True)
            if days is None:
                continue
            when, tvar = ("days", days), ady
        else:
            n = _number(src.get(cells, avisitn))
            if n is None:
                b.problem(src, line, avisitn, f"not a number: {src.get(cells, avisitn)!r}")
                continue
            when, tvar = ("months", n), avisitn
        flagged = simfl and src.get(cells, simfl).upper() in YES
        dt = src.get(cells, dtype)
        if flagged or dt.upper() == SIMULATED_DTYPE:
            source, svar = data.SOURCES_SIMULATED, (simfl if flagged else dtype)
        else:
            source, svar = f"ADaM {src.key}" + (f" DTYPE {dt}" if dt else ""), (dtype if dt else None)
        r = _Rec(src, line)
        r.set("patient_id", src.get(cells, usubjid), usubjid)
        r.set("visit", visit, vvar)
        r.set("month", "", tvar)
        r.set("measure", measure, paramcd)
        r.set("value", src.get(cells, aval), aval)
        r.set("source", source, svar)
        b.outcome(r, visit, label, when, (src.name, line, vvar), (src.name, line, tvar))


# ---------------------------------------------------------------- PRO-ACT


def read_proact(directory) -> Imported:
    """Our four tables from a directory of PRO-ACT-style files, with the problems found on the way (unvalidated)."""
    directory = Path(directory)
    b = _Builder(directory, PROACT)
    imp = b.imp
    found = _proact_files(directory)
    sources = _read_sources(b, found, lambda p, key: _read_csv_source(p, key, imp.problems, b.col))
    for key in PROACT_REQUIRED:
        if key not in found:
            b.file_problem(f"{key}.csv", f"file is missing from {directory} (the PRO-ACT-style "
                                         f"{'subject' if key == 'DEMOGRAPHICS' else 'adverse event'} file)")
    demo = sources.get("DEMOGRAPHICS")
    imp.names["patients.csv"] = demo.name if demo else "DEMOGRAPHICS.csv"
    imp.records["patients.csv"] = None if demo is None else _proact_patients(b, demo, sources.get("ALSHISTORY"))
    ae = sources.get("ADVERSEEVENTS")
    imp.records["adverse_events.csv"] = None if ae is None else _proact_events(b, ae)
    outs = [sources[k] for k in PROACT_OUTCOME_FILES if k in sources]
    for src in outs:
        _proact_outcomes(b, src)
    imp.names["visits.csv"] = "the visits of " + (", ".join(s.name for s in outs) or "the outcome files")
    b.build_visits("PRO-ACT deltas")
    return b.finish()


def _proact_patients(b: _Builder, demo: _Source, hist: _Source | None) -> list[_Rec] | None:
    if not b.require(demo, [["subject_id"]], "column"):
        return None

    def v(column, dataset="DEMOGRAPHICS", src=demo):
        return src.first(_vars("patients.csv", column, PROACT, dataset))

    history: dict[str, dict[str, tuple[int, str]]] = {}
    if hist is not None and b.require(hist, [["subject_id"]], "column"):
        ids = {demo.get(c, "subject_id") for _l, c in demo.rows}
        for line, cells in hist.rows:
            sid = hist.get(cells, "subject_id")
            if sid not in ids:
                b.problem(hist, line, hist.col("subject_id"), f"subject {sid!r} is not in {demo.name}")
                continue
            got = history.setdefault(sid, {})
            for column in ("onset", "disease_duration_months"):
                var = v(column, "ALSHISTORY", hist)
                value = hist.get(cells, var)
                if not value:
                    continue
                if column in got and got[column][1] != value:
                    b.problem(hist, line, var, f"{value!r} contradicts {got[column][1]!r} given for subject {sid} "
                                               f"at line {got[column][0]}")
                    continue
                got.setdefault(column, (line, value))
    out = []
    for line, cells in demo.rows:
        r = _Rec(demo, line)
        sid = demo.get(cells, "subject_id")
        r.set("patient_id", sid, demo.col("subject_id"))
        age_var = v("age")
        age = demo.get(cells, age_var)
        n = _number(age) if age else None
        r.set("age", data.format_number(math.floor(n)) if n is not None else age, age_var)
        sex_var = v("sex")
        r.set("sex", b.lookup(demo, line, sex_var, demo.get(cells, sex_var), SEX, "Male, Female, M, F"), sex_var)
        for column in ("safety_population", "efficacy_population", "mri_12m_done"):
            var = v(column)
            if var is None and column != "mri_12m_done":
                r.set(column, "true", None)
            else:
                r.set(column, b.yes_no(demo, line, var, demo.get(cells, var), "Yes or No"), var)
        var = v("exclusion_reason")
        r.set("exclusion_reason", demo.get(cells, var), var)
        h = history.get(sid, {})
        onset_var, delta_var = (v("onset", "ALSHISTORY", hist), v("disease_duration_months", "ALSHISTORY", hist)) \
            if hist is not None else (None, None)
        if "onset" in h:
            hl, value = h["onset"]
            r.set("onset", b.lookup(hist, hl, onset_var, value, ONSET, "Onset: Limb, Onset: Spine, Onset: Limb and Bulbar"),
                  onset_var, hist, hl)
        if "disease_duration_months" in h:
            hl, value = h["disease_duration_months"]
            days = _number(value)
            if days is None:
                r.set("disease_duration_months", value, delta_var, hist, hl)  # validation says: not a number
            elif days > 0:
                b.problem(hist, hl, delta_var, f"onset {value} days after day 0 (Onset_Delta must be 0 or negative)")
                r.set("disease_duration_months", "", delta_var, hist, hl)
            else:
                r.set("disease_duration_months", data.format_number(day_to_month(-days)), delta_var, hist, hl)
        out.append(r)
    return out


def _proact_events(b: _Builder, src: _Source) -> list[_Rec] | None:
    def v(column):
        return _vars("adverse_events.csv", column, PROACT, "ADVERSEEVENTS")

    if not b.require(src, [["subject_id"], v("term"), ["Serious"], ["Related"], ["Severity"]], "column"):
        return None
    sev_var, out_var = src.col("Severity"), src.col("Outcome")
    dur, start, end = src.col("Duration_Days"), src.col("Start_Date_Delta"), src.col("End_Date_Delta")
    out = []
    for line, cells in src.rows:
        r = _Rec(src, line)
        r.set("patient_id", src.get(cells, "subject_id"), src.col("subject_id"))
        term, tv = _first_nonempty(src, cells, v("term"))
        r.set("term", term, tv)
        r.set("serious", b.yes_no(src, line, src.col("Serious"), src.get(cells, "Serious"), "Yes or No"), src.col("Serious"))
        r.set("related", _relatedness(b, src, line, src.col("Related"), src.get(cells, "Related")), src.col("Related"))
        outcome = src.get(cells, out_var)
        sev, sv = _severity(b, src, line, sev_var, out_var, src.get(cells, sev_var), outcome)
        r.set("severity", sev, sv)
        action, av = _first_nonempty(src, cells, v("action"))
        r.set("action", action, av)
        if dur and src.get(cells, dur):
            r.set("duration_days", src.get(cells, dur), dur)
        elif start and end and src.get(cells, start) and src.get(cells, end):
            s = b.whole_days(src, line, start, src.get(cells, start))
            e = b.whole_days(src, line, end, src.get(cells, end))
            r.set("duration_days", "" if s is None or e is None else data.format_number(e - s + 1), end)
        else:
            r.set("duration_days", "", dur)
        r.set("ongoing", "true" if outcome.upper() in ONGOING_OUTCOMES else "false", out_var)
        out.append(r)
    return out


def _proact_outcomes(b: _Builder, src: _Source) -> None:
    key = src.key
    delta = _vars("measurements.csv", "month", PROACT, key)[0]
    rows = [r for r in _measure_rows() if any(s.startswith(key + ".") for s in r.proact)]
    needs = [["subject_id"], [delta]]
    if key == "MUSCLESTRENGTH":
        needs += [["MS_Test_Name"], ["MS_Test_Result"]]
    else:  # at least one value column (ALSFRS_Total or ALSFRS_R_Total; a pct_of_Normal_Trial_n)
        needs += [[s.split(".", 1)[1] for r in rows for s in r.proact]]
    if not b.require(src, needs, "column"):
        return
    sid, dvar, visit_var, sim = src.col("subject_id"), src.col(delta), src.col("Visit"), src.col("Simulated")
    for line, cells in src.rows:
        values: list[tuple[str, str, str]] = []  # (measure, value, column)
        if key == "MUSCLESTRENGTH":
            name = src.get(cells, "MS_Test_Name")
            hit = [r for r in rows if name.upper() in r.proact_codes or name.upper() == (r.measure or "")]
            if not hit:
                known = ", ".join(c for r in rows for c in r.proact_codes)
                b.problem(src, line, src.col("MS_Test_Name"), f"unknown MS_Test_Name {name!r} (known: {known}: the "
                                                              "weakness scores 0-5 of the four limbs)")
                continue
            values.append((hit[0].measure, src.get(cells, "MS_Test_Result"), src.col("MS_Test_Result")))
        else:
            for mr in rows:
                cols = [src.col(s.split(".", 1)[1]) for s in mr.proact if src.col(s.split(".", 1)[1])]
                given = [(c, src.get(cells, c)) for c in cols if src.get(cells, c)]
                if not given:
                    continue
                if len(given) > 1:  # FVC trials: the best
                    nums = []
                    for c, text in given:
                        n = _number(text)
                        if n is None:
                            b.problem(src, line, c, f"not a number: {text!r}")
                        else:
                            nums.append((n, c, text))
                    if not nums:
                        continue
                    _n, c, text = max(nums, key=lambda t: t[0])
                    given = [(c, text)]
                values.append((mr.measure, given[0][1], given[0][0]))
        if not values:
            continue
        days = b.whole_days(src, line, dvar, src.get(cells, dvar))
        if days is None:
            continue
        if visit_var and src.get(cells, visit_var):
            label = src.get(cells, visit_var)
            visit, vvar = _visit_name(label), visit_var
        else:
            visit, vvar, label = f"D{data.format_number(days)}", dvar, f"Day {data.format_number(days)}"
        simulated = sim and src.get(cells, sim).upper() in YES
        for measure, value, column in values:
            if measure not in data.MEASURES:
                b.problem(src, line, column, f"{_unknown_measure(measure)}")
                continue
            r = _Rec(src, line)
            r.set("patient_id", src.get(cells, sid), sid)
            r.set("visit", visit, vvar)
            r.set("month", "", dvar)
            r.set("measure", measure, column)
            r.set("value", value, column)
            r.set("source", data.SOURCES_SIMULATED if simulated else f"PRO-ACT {key}", sim if simulated else None)
            b.outcome(r, visit, label, ("days", days), (src.name, line, vvar), (src.name, line, dvar))


# ---------------------------------------------------------------- import entry points


def read_import(directory, fmt: str) -> Imported:
    if fmt == ADAM:
        return read_adam(directory)
    if fmt == PROACT:
        return read_proact(directory)
    raise ValueError(f"unknown import format {fmt!r} (choose from {', '.join(IMPORT_FORMATS)})")


def _validated(directory, fmt: str):
    """Import and validate; (Imported, typed tables, metadata) or DatasetError with every problem."""
    directory = Path(directory).expanduser().resolve()
    if not directory.is_dir():
        raise DatasetError(directory, [Problem(str(directory), None, None, "dataset directory does not exist")])
    imp = read_import(directory, fmt)
    typed, problems = data.validate_tables(imp.raw(), locate=imp.locate, names=imp.names)
    problems = imp.problems + problems
    meta = data._metadata(directory, problems)
    if problems:
        raise DatasetError(directory, problems)
    return imp, typed, meta


def load_imported(directory, fmt: str) -> data.Dataset:
    """The validated :class:`~dashboard.data.Dataset` of an ADaM or PRO-ACT-style directory."""
    imp, typed, meta = _validated(directory, fmt)
    return data._build_dataset(imp.directory, typed, meta, sorted(imp.files), fmt)


def import_adam(directory) -> dict[str, pd.DataFrame]:
    """Our four tables (string DataFrames, exactly our CSV columns) from ADaM datasets.

    Raises :class:`~dashboard.data.DatasetError` listing every problem, in the
    datasets' own files, rows and variables.
    """
    return _validated(directory, ADAM)[0].frames()


def import_proact(directory) -> dict[str, pd.DataFrame]:
    """Our four tables (string DataFrames, exactly our CSV columns) from PRO-ACT-style files."""
    return _validated(directory, PROACT)[0].frames()


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        w.writerow(row)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def convert(in_dir, fmt: str, out_dir) -> data.Dataset:
    """Import ``in_dir`` (``adam`` or ``proact``) and write it to ``out_dir`` in our format; return it loaded.

    Writes the four CSV files and ``metadata.json`` (the source's own, or a
    new one whose ``data_as_of`` keeps the source's date).  Raises
    :class:`~dashboard.data.DatasetError` (nothing written) if the source is invalid.
    """
    imp, typed, meta = _validated(in_dir, fmt)
    src_ds = data._build_dataset(imp.directory, typed, meta, sorted(imp.files), fmt)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in imp.frames().items():
        _write_csv(out / name, frame)
    meta = dict(meta)
    meta.setdefault("title", src_ds.title)
    meta.setdefault("data_as_of", src_ds.data_as_of)
    note = f"Converted from the {data.FORMAT_LABELS[fmt]} in {imp.directory.name}/ by python -m dashboard convert."
    meta["description"] = f"{meta['description']} {note}" if meta.get("description") else note
    (out / data.METADATA_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data.load_dataset(out)


# ---------------------------------------------------------------- export


class ExportError(Exception):
    """An export cannot be written (e.g. SAS transport without pyreadstat)."""


def _yn(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    return "Y" if bool(v) else "N"


def _text(v) -> str:
    return "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)


def _num(v) -> float:
    return float("nan") if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else float(v)


def _floats(series: pd.Series) -> pd.Series:
    """A numeric column (nullable or not) as float64 with NaN for missing."""
    return pd.Series([_num(v) for v in series], index=series.index, dtype="float64")


def _metadata_for(ds: data.Dataset) -> dict:
    meta = {"title": ds.title}
    if ds.data_as_of_source == "metadata.json":
        meta["data_as_of"] = ds.data_as_of
    return meta


def _onset_adam(v) -> str:
    return {"spinal": "SPINAL", "spinal+bulbar": "SPINAL+BULBAR"}.get(_text(v), "")


def export_adam(dataset: data.Dataset, out_dir, xpt: bool = False) -> list[Path]:
    """Write ``dataset`` as ADaM datasets ``adsl``, ``adae`` and ``adeff`` (CSV, or SAS transport v5 with ``xpt``).

    Only the variables the importer reads are written (see :data:`MAPPING`);
    simulated values carry ``SIMFL`` = ``Y``.  ``metadata.json`` is written
    beside them so the title and data date survive.  Returns the files written.
    """
    if xpt:
        try:
            import pyreadstat  # noqa: F401
        except ImportError as exc:
            raise ExportError("writing SAS transport (.xpt) files needs the pyreadstat package "
                              "(pip install -r tests/requirements.txt); export CSV with xpt=False") from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = dataset.patients
    adsl = pd.DataFrame({
        "USUBJID": p["patient_id"].map(_text),
        "AGE": _floats(p["age"]),
        "AGEU": "YEARS",
        "SEX": p["sex"].map(_text),
        "ONSET": p["onset"].map(_onset_adam),
        "DURDIS": _floats(p["disease_duration_months"]),
        "SAFFL": p["safety_population"].map(_yn),
        "EFFFL": p["efficacy_population"].map(_yn),
        "MRI12FL": p["mri_12m_done"].map(_yn),
        "EFFREAS": p["exclusion_reason"].map(_text),
    })
    ae = dataset.adverse_events
    adae = pd.DataFrame({
        "USUBJID": ae["patient_id"].map(_text),
        "AETERM": ae["term"].map(_text),
        "AEDECOD": ae["term"].map(_text),
        "AESER": ae["serious"].map(_yn),
        "AREL": ae["related"].map(lambda v: "RELATED" if v else "NOT RELATED"),
        "AESEV": ae["severity"].map(lambda s: "SEVERE" if s == "Death" else _text(s).upper()),
        "AEOUT": [FATAL if s == "Death" else ("NOT RECOVERED/NOT RESOLVED" if o else "")
                  for s, o in zip(ae["severity"], ae["ongoing"])],
        "AEACN": ae["action"].map(_text),
        "ADURN": _floats(ae["duration_days"]),
        "ADURU": ae["duration_days"].map(lambda v: "" if _text(v) == "" else "DAYS"),
    }, columns=["USUBJID", "AETERM", "AEDECOD", "AESER", "AREL", "AESEV", "AEOUT", "AEACN", "ADURN", "ADURU"])
    m = dataset.measurements
    code = {r.measure: r.adam_codes[0] for r in _measure_rows()}
    days = m["month"].map(lambda mo: month_to_day(float(mo)))
    adeff = pd.DataFrame({
        "USUBJID": m["patient_id"].map(_text),
        "PARAMCD": m["measure"].map(lambda x: code[str(x)]),
        "PARAM": m["measure"].map(lambda x: data.MEASURES[str(x)].axis_title),
        "AVISIT": m["visit"].map(_text),
        "AVISITN": _floats(m["month"]),
        "ADY": days.map(lambda d: float(_days_to_ady(d))).astype("float64"),
        "AVAL": _floats(m["value"]),
        "AVALU": m["measure"].map(lambda x: "%" if x == "FVC" else ""),
        "SIMFL": m["simulated"].map(lambda s: "Y" if s else ""),
    }, columns=["USUBJID", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY", "AVAL", "AVALU", "SIMFL"])
    written = []
    for name, frame in (("adsl", adsl), ("adae", adae), (EXPORT_BDS.lower(), adeff)):
        if xpt:
            import pyreadstat

            path = out / f"{name}.xpt"
            frame = frame.astype({c: object for c in frame.columns if frame[c].dtype != "float64"})
            pyreadstat.write_xport(frame, str(path), table_name=name.upper(), file_format_version=5)
        else:
            path = out / f"{name}.csv"
            _write_csv(path, frame.map(lambda v: data.format_number(v) if isinstance(v, float) else v))
        written.append(path)
    path = out / data.METADATA_FILE
    path.write_text(json.dumps(_metadata_for(dataset), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return written + [path]


def export_proact(dataset: data.Dataset, out_dir) -> list[Path]:
    """Write ``dataset`` as PRO-ACT-style files (with our extension columns; see :data:`MAPPING`).

    FVC goes to ``pct_of_Normal_Trial_1`` only; visit names to the ``Visit``
    column; simulated values carry ``Simulated`` = ``Y``.  Returns the files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = data.format_number

    def yes(v):
        return {"Y": "Yes", "N": "No"}.get(_yn(v), "")

    p = dataset.patients
    demo = pd.DataFrame({
        "subject_id": p["patient_id"].map(_text),
        "Age": p["age"].map(lambda v: fmt(_num(v))),
        "Sex": p["sex"].map(lambda s: {"M": "Male", "F": "Female"}.get(_text(s), "")),
        "Safety_Population": p["safety_population"].map(yes),
        "Efficacy_Population": p["efficacy_population"].map(yes),
        "MRI_12m_Done": p["mri_12m_done"].map(yes),
        "Exclusion_Reason": p["exclusion_reason"].map(_text),
    })
    hist = pd.DataFrame({
        "subject_id": p["patient_id"].map(_text),
        "Site_of_Onset": p["onset"].map(lambda v: {"spinal": "Onset: Limb", "spinal+bulbar": "Onset: Limb and Bulbar"}.get(_text(v), "")),
        "Onset_Delta": p["disease_duration_months"].map(lambda v: "" if _text(v) == "" else str(-month_to_day(float(v)))),
    })
    m = dataset.measurements

    def outcome_frame(sel, delta, columns):
        part = m[sel]
        frame = pd.DataFrame({"subject_id": part["patient_id"].map(_text).to_numpy(),
                              delta: part["month"].map(lambda mo: str(month_to_day(float(mo)))).to_numpy(),
                              "Visit": part["visit"].map(_text).to_numpy()})
        for name, values in columns(part).items():
            frame[name] = values
        frame["Simulated"] = part["simulated"].map(lambda s: "Y" if s else "").to_numpy()
        return frame

    alsfrs = outcome_frame(m["measure"].eq("ALSFRS"), "ALSFRS_Delta",
                           lambda part: {"ALSFRS_Total": part["value"].map(fmt).to_numpy(), "ALSFRS_R_Total": ""})
    fvc = outcome_frame(m["measure"].eq("FVC"), "Forced_Vital_Capacity_Delta",
                        lambda part: {"pct_of_Normal_Trial_1": part["value"].map(fmt).to_numpy(),
                                      "pct_of_Normal_Trial_2": "", "pct_of_Normal_Trial_3": ""})
    ms = outcome_frame(m["measure"].isin(list(data.WS_MEASURES)), "Muscle_Strength_Delta",
                       lambda part: {"MS_Test_Name": part["measure"].map(lambda x: str(x)[3:]).to_numpy(),
                                     "MS_Test_Result": part["value"].map(fmt).to_numpy()})
    ae = dataset.adverse_events
    events = pd.DataFrame({
        "subject_id": ae["patient_id"].map(_text),
        "Preferred_Term": ae["term"].map(_text),
        "Severity": ae["severity"].map(lambda s: "Severe" if s == "Death" else _text(s)),
        "Outcome": ["Fatal" if s == "Death" else ("Not recovered/not resolved" if o else "")
                    for s, o in zip(ae["severity"], ae["ongoing"])],
        "Serious": ae["serious"].map(yes),
        "Related": ae["related"].map(yes),
        "Action_Taken": ae["action"].map(_text),
        "Duration_Days": ae["duration_days"].map(lambda v: fmt(_num(v))),
    }, columns=["subject_id", "Preferred_Term", "Severity", "Outcome", "Serious", "Related", "Action_Taken", "Duration_Days"])
    written = []
    for name, frame in (("DEMOGRAPHICS", demo), ("ALSHISTORY", hist), ("ALSFRS", alsfrs), ("FVC", fvc),
                        ("MUSCLESTRENGTH", ms), ("ADVERSEEVENTS", events)):
        path = out / f"{name}.csv"
        _write_csv(path, frame)
        written.append(path)
    path = out / data.METADATA_FILE
    path.write_text(json.dumps(_metadata_for(dataset), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return written + [path]
