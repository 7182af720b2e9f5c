"""Load and validate a trial dataset directory.

A dataset is four CSV files (see ``data/README.md``): ``patients.csv``,
``measurements.csv``, ``adverse_events.csv`` and ``visits.csv``, plus an
optional ``metadata.json``.  :func:`load_dataset` reads them with explicit
types and checks every rule of the data dictionary.  It never stops at the
first problem: every problem found is collected as a :class:`Problem`
(``file:row: column: message``) and raised together in one
:class:`DatasetError`.

Row numbers are line numbers in the file, the header being line 1.

A directory of ADaM datasets or of PRO-ACT-style files is loaded by
:func:`dashboard.importers.load`, which maps it to the same four tables in
memory and runs the same validation on them through the public loading API
below (:func:`read_rows`, :class:`ProblemCollector`, :func:`validate_tables`,
:func:`read_metadata`, :func:`build_dataset`); every problem then names the
source's own file, row and variable.  This module knows only our own format
and never imports :mod:`dashboard.importers`.

This module has no Dash import and does no I/O at import time.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import hashlib
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: The dataset shipped with the package (published tables + simulated ALSFRS).
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: Environment variable naming another dataset directory.
DATA_DIR_ENV = "TRIAL_DATA_DIR"
#: Environment variable naming the previous data cut (``--previous``), which "what changed" compares with.
PREVIOUS_DATA_DIR_ENV = "DASHBOARD_PREVIOUS_DATA_DIR"

FILES = ("patients.csv", "measurements.csv", "adverse_events.csv", "visits.csv")
METADATA_FILE = "metadata.json"

#: How many problems of one kind (file, column, message) are listed before
#: the rest are summarised in one line.
MAX_PROBLEMS_PER_KIND = 20


@dataclass(frozen=True)
class MeasureSpec:
    """What one outcome measure is and the values it may take: the one measure registry.

    Every place that lists measures reads :data:`MEASURES` (validation, the
    views, the characteristics table, the patient profile, the importers'
    mapping), so a new measure is one entry here (and, to import it, one
    mapping row).
    """

    code: str
    label: str
    unit: str
    low: float
    high: float
    integer: bool
    #: True where a larger value is better (all shipped measures).
    higher_is_better: bool = True
    #: The patient profile's panel that draws this measure (measures of one panel share its axis).
    panel: str = ""
    #: The characteristics table's row for the baseline value ("" = no row); ``baseline_always``: the row
    #: is there even when nobody has the value (it then reads "—"), else only when someone has one.
    baseline_label: str = ""
    baseline_always: bool = False

    @property
    def axis_title(self) -> str:
        return f"{self.label} ({self.unit})"


MEASURES: dict[str, MeasureSpec] = {
    m.code: m
    for m in (
        MeasureSpec("ALSFRS", "ALSFRS", "points, 0-40", 0, 40, True, panel="ALSFRS",
                    baseline_label="ALSFRS at day 0 (baseline)", baseline_always=True),
        MeasureSpec("ALSFRS_R", "ALSFRS-R", "points, 0-48", 0, 48, True, panel="ALSFRS-R",
                    baseline_label="ALSFRS-R at day 0 (baseline)"),
        MeasureSpec("FVC", "FVC", "% predicted", 0, 200, False, panel="FVC",
                    baseline_label="FVC at baseline, % predicted", baseline_always=True),
        MeasureSpec("WS_UEL", "Weakness score, upper left", "0-5", 0, 5, False, panel="Weakness scores"),
        MeasureSpec("WS_UER", "Weakness score, upper right", "0-5", 0, 5, False, panel="Weakness scores"),
        MeasureSpec("WS_LEL", "Weakness score, lower (printed LEL)", "0-5", 0, 5, False, panel="Weakness scores"),
        MeasureSpec("WS_LER", "Weakness score, lower (printed LER)", "0-5", 0, 5, False, panel="Weakness scores"),
    )
}
#: The four limbs' weakness scores (the measures of the profile's weakness panel).
WS_MEASURES = tuple(c for c, m in MEASURES.items() if m.panel == "Weakness scores")
#: The functional rating scales, in order of preference when a dataset holds both.
FUNCTIONAL_MEASURES = ("ALSFRS", "ALSFRS_R")


def profile_panels(measures) -> list[tuple[str, list[str]]]:
    """(panel title, its measures) for the measures given, in the registry's order."""
    panels: dict[str, list[str]] = {}
    present = set(measures)
    for code, spec in MEASURES.items():
        if code in present:
            panels.setdefault(spec.panel or spec.label, []).append(code)
    return list(panels.items())


def functional_measure(measures) -> str:
    """The rating scale a dataset's ALSFRS views, progression groups and deltaFS use: ALSFRS, else ALSFRS-R."""
    present = set(measures)
    return next((m for m in FUNCTIONAL_MEASURES if m in present), FUNCTIONAL_MEASURES[0])
SEXES = ("F", "M")
#: Site of onset; ``bulbar`` (bulbar only, about a quarter of ALS patients) is read from PRO-ACT and ADaM data
#: (the shipped trial has none, and the characteristics table shows it only where a patient has it).
ONSETS = ("spinal", "spinal+bulbar", "bulbar")
SEVERITIES = ("Mild", "Moderate", "Severe", "Death")
SOURCES_SIMULATED = "simulated"
BOOL_VALUES = {"true": True, "false": False}
PATIENT_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
VISIT_RE = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
MONTH_TOLERANCE = 1e-6
#: Days in a month (365.25 / 12): the day rule of imported datasets and the windows of binned visits.
DAYS_PER_MONTH = 30.4375

#: Our own format, in words (the import formats' words are their mapping entries': see dashboard.importers).
NATIVE_LABEL = "dashboard CSV format"


# ---------------------------------------------------------------- problems


#: The two levels of a problem: an error refuses the dataset, a warning (rows, values or files skipped or
#: recoded) is carried by the loaded dataset in its :class:`ImportReport`.
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    message: str
    #: :data:`ERROR` (the dataset is refused) or :data:`WARNING` (loaded; said in the import report).
    level: str = ERROR
    #: A warning's kind, in a few words ("relationship not recorded"): the import report counts per kind.
    kind: str = ""

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        col = f" {self.column}:" if self.column else ""
        return f"{where}:{col} {self.message}"


#: How many examples of one kind of warning the import report lists.
REPORT_EXAMPLES_PER_KIND = 5


@dataclass(frozen=True)
class ImportReport:
    """What an import skipped or recoded (the warnings), and how it read the dataset (the notes).

    ``counts``: (kind, number of warnings) in the order first met; ``examples``: the first
    :data:`REPORT_EXAMPLES_PER_KIND` warnings of each kind; ``total``: every warning;
    ``notes``: how the dataset was read ("treatment arm from TRT01A"), not problems;
    ``unknown_codes``: (PARAMCD, records) skipped, for a suggested ``paramcd_map.csv``.
    """

    counts: tuple[tuple[str, int], ...] = ()
    examples: tuple[Problem, ...] = ()
    total: int = 0
    notes: tuple[str, ...] = ()
    unknown_codes: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, warnings, notes=(), unknown_codes=()) -> ImportReport:
        counts: dict[str, int] = {}
        examples: list[Problem] = []
        for w in warnings:
            kind = w.kind or w.message
            counts[kind] = counts.get(kind, 0) + 1
            if counts[kind] <= REPORT_EXAMPLES_PER_KIND:
                examples.append(w)
        return cls(tuple(counts.items()), tuple(examples), sum(counts.values()), tuple(notes),
                   tuple(unknown_codes))

    def __bool__(self) -> bool:
        return bool(self.total or self.notes)

    def headline(self) -> str:
        """One line: the warnings' counts per kind ("no warnings" when there are none)."""
        if not self.total:
            return "no warnings"
        kinds = "; ".join(f"{kind}: {n}" for kind, n in self.counts)
        return f"{self.total} warning(s): {kinds}"

    def lines(self) -> list[str]:
        """The notes, then every example as ``file:row: column: what``."""
        return list(self.notes) + [str(p) for p in self.examples]

    def to_dict(self) -> dict:
        return {"total": self.total,
                "counts": [{"kind": k, "count": n} for k, n in self.counts],
                "examples": [str(p) for p in self.examples],
                "notes": list(self.notes),
                "unknown_paramcd": [{"paramcd": c, "records": n} for c, n in self.unknown_codes]}


class DatasetError(Exception):
    """A dataset failed validation; ``problems`` lists every problem found (errors, and any warnings)."""

    def __init__(self, directory: Path, problems: list[Problem], warnings: list[Problem] | tuple = ()):
        self.directory = directory
        self.problems = problems
        #: The warnings found besides (an import's rows or values skipped or recoded), for the command line.
        self.warnings = list(warnings)
        super().__init__(f"{directory}: {len(problems)} problem(s)\n" + "\n".join(map(str, problems)))



# ---------------------------------------------------------------- schema


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id", "int", "float", "bool", "enum", "text", "visit"
    required: bool = True
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    #: The column may be left out of the header (an :data:`OPTIONAL_COLUMNS` entry): all its cells are then empty.
    optional: bool = False


SCHEMA: dict[str, tuple[Column, ...]] = {
    "patients.csv": (
        Column("patient_id", "id"),
        Column("age", "int", required=False, low=0, high=120),
        Column("sex", "enum", required=False, choices=SEXES),
        Column("onset", "enum", required=False, choices=ONSETS),
        Column("disease_duration_months", "float", required=False, low=0, high=600),
        Column("safety_population", "bool"),
        Column("efficacy_population", "bool"),
        Column("mri_12m_done", "bool", required=False),
        Column("exclusion_reason", "text", required=False),
    ),
    "measurements.csv": (
        Column("patient_id", "id"),
        Column("visit", "visit"),
        Column("month", "float", low=-120, high=240),
        Column("measure", "enum", choices=tuple(MEASURES)),
        Column("value", "float"),
        Column("source", "text"),
    ),
    "adverse_events.csv": (
        Column("patient_id", "id"),
        Column("term", "text"),
        # an empty cell is "not recorded" (a nullable value: never read as false)
        Column("serious", "bool", required=False),
        Column("related", "bool", required=False),
        Column("severity", "enum", required=False, choices=SEVERITIES),
        Column("action", "text", required=False),
        Column("duration_days", "int", required=False, low=0, high=100000),
        Column("ongoing", "bool"),
    ),
    "visits.csv": (
        Column("visit", "visit"),
        Column("month", "float", low=-120, high=240),
        Column("label", "text"),
        Column("month_stated", "bool"),
        Column("note", "text", required=False),
    ),
}


#: Columns a file may have besides :data:`SCHEMA`'s (kept for the analyses to come: arms, deaths, body
#: systems, study days, treatment emergence).  A file without them loads; their cells are then empty.
OPTIONAL_COLUMNS: dict[str, tuple[Column, ...]] = {
    "patients.csv": (
        Column("arm", "text", required=False, optional=True),
        # the arm's number (ADaM TRT01AN): arms are listed in its order (a dose order), the control first
        Column("arm_order", "float", required=False, optional=True, low=-1e9, high=1e9),
        Column("died", "bool", required=False, optional=True),
        Column("death_day", "int", required=False, optional=True, low=-100000, high=100000),
    ),
    "measurements.csv": (),
    "adverse_events.csv": (
        # the coded (MedDRA) preferred term; ``term`` stays the verbatim term as the source gives it
        Column("preferred_term", "text", required=False, optional=True),
        Column("body_system", "text", required=False, optional=True),
        Column("start_day", "int", required=False, optional=True, low=-100000, high=100000),
        Column("treatment_emergent", "bool", required=False, optional=True),
    ),
    "visits.csv": (
        # a binned visit (datasets without nominal visits): its measurements keep their own month, within
        # this many days of the visit's month
        Column("window_days", "float", required=False, optional=True, low=0, high=366),
        # false: an unscheduled visit (a value outside every window): in patient lines and slopes, in no visit
        # summary
        Column("scheduled", "bool", required=False, optional=True),
    ),
}


def columns_of(name: str) -> tuple[Column, ...]:
    """Every column of one of our files: :data:`SCHEMA`'s, then :data:`OPTIONAL_COLUMNS`'."""
    return SCHEMA[name] + OPTIONAL_COLUMNS.get(name, ())


# ---------------------------------------------------------------- the dataset


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated dataset.  Tables are typed; do not mutate them.

    ``measurements`` has, besides its file's columns, ``simulated`` and ``visit_month``: the month of the
    value's visit (equal to ``month`` except at a binned visit, whose values keep their own day; NaN at an
    unscheduled visit), by which visit summaries group.

    Hashed by identity, so derived per-dataset tables can be memoised.
    """

    directory: Path
    patients: pd.DataFrame
    measurements: pd.DataFrame
    adverse_events: pd.DataFrame
    visits: pd.DataFrame
    short_hash: str
    data_as_of: str
    data_as_of_source: str
    title: str
    warnings: tuple[str, ...] = field(default=())
    #: "native" (our four CSV files), "adam" or "proact" (imported in memory).
    format: str = "native"
    #: The format in words ("ADaM datasets").
    format_label: str = NATIVE_LABEL
    #: metadata.json ``"simulated": true``: every value of the dataset is simulated (a generated trial: its
    #: patients, arms, deaths and adverse events too, not only measurements marked ``source`` simulated)
    simulated_dataset: bool = False
    #: The study's identifier (metadata.json ``study_id``; "" when not given).
    study_id: str = ""
    #: What day 0 is, as the figures mark it (metadata.json ``day0_label``, e.g. "Day 0: application").
    day0_label: str = "Day 0"
    #: What is given at day 0, in words (metadata.json ``treatment_label``, e.g. "application").
    treatment_label: str = "treatment"
    #: What the import skipped or recoded, and how it read the dataset (empty for our own format).
    import_report: ImportReport = field(default_factory=ImportReport)
    #: Time-to-event records (ADaM ADTTE): patient_id, paramcd, label, days, censored; empty when none.
    time_to_event: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"patient_id": pd.Series(dtype="string"), "paramcd": pd.Series(dtype="string"),
         "label": pd.Series(dtype="string"), "days": pd.Series(dtype="float64"),
         "censored": pd.Series(dtype="boolean")}))
    #: The study id the source gives (ADSL STUDYID), "" if none.
    source_study_id: str = ""
    #: Adverse events left out of ``adverse_events`` because they are not treatment-emergent (TRTEMFL not Y).
    non_emergent_events: int = 0
    #: Every adverse event, treatment-emergent or not (``adverse_events`` without the filter); None = the same.
    all_adverse_events: pd.DataFrame | None = None
    #: The previous data cut (``serve --previous`` / ``$DASHBOARD_PREVIOUS_DATA_DIR``), loaded read-only; None: none.
    previous: Dataset | None = None
    #: Why the previous data cut named could not be loaded (None: it was, or none was named).
    previous_problem: str | None = None

    # derived values below are computed once per dataset (cached_property writes the instance's
    # __dict__ directly, which a frozen dataclass allows); like the tables, treat them as read-only

    @functools.cached_property
    def changes(self):
        """What changed since the previous data cut (:class:`dashboard.diff.DataDiff`), or None without one."""
        if self.previous is None:
            return None
        from .diff import diff

        return diff(self.previous, self)

    @functools.cached_property
    def measures(self) -> list[str]:
        """Measures present in the data, in the canonical order."""
        present = set(self.measurements["measure"].unique())
        return [m for m in MEASURES if m in present]

    @functools.cached_property
    def simulated_measures(self) -> list[str]:
        sim = self.measurements.loc[self.measurements["simulated"], "measure"].unique()
        return [m for m in MEASURES if m in set(sim)]

    @functools.cached_property
    def _rows_cache(self) -> dict:
        return {}

    def rows_of(self, measures) -> pd.DataFrame:
        """The measurements of one measure (or several), sorted by patient and month (memoised)."""
        key = (measures,) if isinstance(measures, str) else tuple(measures)
        cache = self._rows_cache
        if key not in cache:
            m = self.measurements
            cache[key] = m[m["measure"].isin(list(key))].reset_index(drop=True)
        return cache[key]

    @functools.cached_property
    def simulated_visits(self) -> dict[str, list[tuple[str, np.ndarray]]]:
        """Per measure with simulated values: (visit, positions of the patients simulated there) in month order.

        Positions index ``patients`` (and the codes of the tables' categorical
        ``patient_id``), so a cohort's boolean mask says at once whether its
        patients have simulated values at a visit.
        """
        m = self.measurements
        sim = m[m["simulated"]].sort_values("month", kind="stable")
        out: dict[str, list[tuple[str, np.ndarray]]] = {}
        for measure in self.simulated_measures:
            sm = sim[sim["measure"] == measure]
            codes = sm["patient_id"].cat.codes.to_numpy()
            out[measure] = [(str(v), codes[(sm["visit"] == v).to_numpy()]) for v in dict.fromkeys(sm["visit"])]
        return out

    def summary(self) -> str:
        """One paragraph describing the dataset (used by ``validate``)."""
        p = self.patients
        m = self.measurements
        scheduled = self.visits["scheduled"].fillna(True).astype(bool).to_numpy()
        n_sim = int(m["simulated"].sum())
        parts = [
            f"Dataset {self.directory} (read as {self.format_label};"
            f" hash {self.short_hash}, data as of {self.data_as_of}):",
            f"{len(p)} patients ({int(p['safety_population'].sum())} safety,"
            f" {int(p['efficacy_population'].sum())} efficacy);",
            f"{len(m)} measurements of {', '.join(self.measures) or 'no measure'}"
            f" at {m.loc[m.get('visit_month', m['month']).notna(), 'visit'].nunique()} of {int(scheduled.sum())}"
            " scheduled visits"
            + (f" (and {int((~scheduled).sum())} unscheduled days, in no visit summary)" if (~scheduled).any()
               else "") + ";",
            f"{len(self.adverse_events)} adverse events in"
            f" {self.adverse_events['patient_id'].nunique()} patients;",
        ]
        if self.non_emergent_events:
            parts.append(f"{self.non_emergent_events} adverse events not treatment-emergent left out;")
        if len(self.time_to_event):
            parts.append(f"{len(self.time_to_event)} time-to-event records"
                         f" ({', '.join(pd.unique(self.time_to_event['paramcd'].astype(str)))});")
        if n_sim:
            sim = ", ".join(
                f"{meas} ({int(((m['measure'] == meas) & m['simulated']).sum())} values)"
                for meas in self.simulated_measures
            )
            parts.append(f"SIMULATED values: {n_sim} of {len(m)}, in {sim}; "
                         "all other values are from the source tables.")
        else:
            parts.append("no simulated values.")
        return " ".join(parts)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The dataset directory: the argument, else ``$TRIAL_DATA_DIR``, else the shipped data."""
    if data_dir:
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_DATA_DIR


def resolve_previous_data_dir(previous: str | os.PathLike | None = None) -> Path | None:
    """The previous data cut's directory: the argument, else ``$DASHBOARD_PREVIOUS_DATA_DIR``, else None."""
    value = previous or os.environ.get(PREVIOUS_DATA_DIR_ENV)
    return Path(value).expanduser().resolve() if value else None


def natural_key(pid: str):
    """Sort key putting patient '2' before '10'."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", str(pid)))


def sort_patient_ids(ids) -> list[str]:
    return sorted((str(i) for i in ids), key=natural_key)


# ---------------------------------------------------------------- reading


def read_rows(path: Path, problems: list[Problem], at_once: bool = False,
              ) -> tuple[list[str], list[tuple[int, list[str]]] | _Block] | None:
    """Header and (line number, row) pairs of one CSV file, or None (with problems) if unreadable.

    Part of the loading API (the importers read their CSV files with it):
    an unreadable file -- missing, a directory, empty, binary, not UTF-8,
    not valid CSV -- is one :class:`Problem` named by the file's name.
    The header's names are stripped, the cells are as written.
    A row's line number is the line its record starts on, so a quoted cell
    spanning several lines does not shift the numbers of the rows after it.
    ``at_once`` (our own loader only): a file of the simplest shape comes back
    as one :class:`_Block` of stripped cells (see :func:`_simple_rows`), which
    :func:`_typed_frame` takes as it is.
    """
    name = path.name
    if path.is_dir():
        problems.append(Problem(name, None, None, "is a directory, not a file"))
        return None
    if not path.is_file():
        problems.append(Problem(name, None, None, f"file is missing from {path.parent}"))
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, None, None, f"cannot be read: {exc.strerror or exc}"))
        return None
    if not raw.strip():
        problems.append(Problem(name, None, None, "file is empty (a header row is required)"))
        return None
    if b"\x00" in raw:
        problems.append(Problem(name, None, None, "not a CSV text file (contains NUL bytes; binary data?)"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, None,
                                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"))
        return None
    if not text.strip():  # e.g. only a byte-order mark
        problems.append(Problem(name, None, None, "file is empty (a header row is required)"))
        return None
    simple = _simple_rows(text) if at_once else None
    if simple is not None:
        return simple
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1  # the line the next record starts on
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(name, start, None, f"not valid CSV: {exc} (in the row starting on this line)"))
        return None
    header = [h.strip() for h in rows[0][1]]
    return header, rows[1:]


@dataclass(frozen=True)
class _Block:
    """Rows of a file read at once: the body's cells (strings, one column per header field) and line numbers."""

    cells: pd.DataFrame
    lines: np.ndarray


_EDGE_SPACE = re.compile(r"[^\S\n],|,[^\S\n]|^[^\S\n]|[^\S\n]$", re.M)


#: ASCII characters that str.strip() removes besides space, tab and the line ends (rare: left to the regular
#: expression).
_RARE_ASCII_SPACE = "\x0b\x0c\x1c\x1d\x1e\x1f"


def _edge_space(body: str) -> bool:
    """Whether some cell of a text without quotes starts or ends with white space (which is stripped)."""
    if body.isascii() and not any(c in body for c in _RARE_ASCII_SPACE):
        # only spaces and tabs can border a cell: substring tests, much faster than the expression over megabytes
        if " " not in body and "\t" not in body:
            return False
        edges = [a + b for a in " \t" for b in ",\n"] + [a + b for a in ",\n" for b in " \t"]
        return body[:1] in " \t" or body[-1:] in " \t" or any(e in body for e in edges)
    return bool(_EDGE_SPACE.search(body))


def _simple_rows(text: str) -> tuple[list[str], _Block] | None:
    """The header and body of a CSV text in the simplest shape, read by pandas' C parser; else None.

    The simplest shape -- no quotes, no blank line, no bare carriage return,
    the same number of fields on every line -- is what our own files and most
    exports look like; there one line is one record, so a row's line number is
    its position, and the C parser reads it as ``csv.reader`` would, about ten
    times faster.  Anything else (None) goes through ``csv.reader``, which
    reports each irregular row by its line.
    """
    if '"' in text:
        return None
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        return None
    body = text[:-1] if text.endswith("\n") else text
    n_lines = body.count("\n") + 1
    if "\n\n" in body or body.startswith("\n") or n_lines < 2:
        return None
    width = body[: body.find("\n")].count(",") + 1
    # as many commas as a rectangle needs; a line with too many fields makes the parser fail, so none has too few
    if body.count(",") != (width - 1) * n_lines:
        return None
    try:
        cells = pd.read_csv(io.StringIO(body), header=None, dtype=str, na_filter=False, skip_blank_lines=False,
                            quoting=csv.QUOTE_NONE, engine="c")
    except (pd.errors.ParserError, ValueError):
        return None
    if cells.shape != (n_lines, width):
        return None
    if _edge_space(body):
        cells = cells.apply(lambda c: c.str.strip())
    header = [str(h) for h in cells.iloc[0]]
    if len(set(header)) != len(header):  # the per-row reader reports duplicate columns by name
        return None
    body_cells = cells.iloc[1:].reset_index(drop=True)
    body_cells.columns = header
    return header, _Block(body_cells, np.arange(2, n_lines + 1, dtype=np.int64))


def _check_header(name: str, header: list[str], problems: list[Problem]) -> bool:
    expected = [c.name for c in SCHEMA[name]]
    allowed = [c.name for c in columns_of(name)]
    ok = True
    if len(header) < 2 and len(expected) > 2:
        problems.append(
            Problem(name, 1, None, f"not a CSV file with the expected header (found {header[:3]!r}; "
                                   f"expected {','.join(expected)})")
        )
        return False
    seen = set()
    for col in header:
        if col in seen:
            problems.append(Problem(name, 1, col, "column appears twice in the header"))
            ok = False
        seen.add(col)
        if col == "":
            problems.append(Problem(name, 1, None, "a column has an empty name (a trailing comma in the header?)"))
            ok = False
        elif col not in allowed:
            extra = [c for c in allowed if c not in expected]
            also = f"; optional: {','.join(extra)}" if extra else ""
            problems.append(Problem(name, 1, col, f"unknown column (expected columns: {','.join(expected)}{also})"))
            ok = False
    for col in expected:
        if col not in header:
            problems.append(Problem(name, 1, col, "required column is missing"))
            ok = False
    return ok


class ProblemCollector:
    """Collects problems, capping repeats of one kind (part of the loading API).

    ``add(file, rows, column, message)`` records one problem per row; after
    :data:`MAX_PROBLEMS_PER_KIND` of one (file, column, message) the rest are
    only counted, and ``finish()`` adds one summary line per kind cut short.

    ``locate``, if given, turns the (file, row, column) of a table being
    validated into where the value came from (an imported dataset's own
    file, row and variable), or None to drop a problem already reported
    there by the importer.
    """

    def __init__(self, problems: list[Problem], locate=None, every: list | None = None):
        self.problems = problems
        self.counts: dict[tuple, int] = {}
        self.locate = locate
        self.every = every

    def add(self, file: str, rows, column: str | None, message: str):
        rows = list(rows)
        for row in rows:
            if self.every is not None:  # every problem at a cell of ours, uncapped (an importer's second look)
                self.every.append((file, int(row), column, message))
            where = (file, int(row), column) if self.locate is None else self.locate(file, int(row), column)
            if where is None:
                continue
            f, r, c = where
            key = (f, c, message)
            n = self.counts.get(key, 0)
            self.counts[key] = n + 1
            if n < MAX_PROBLEMS_PER_KIND:
                self.problems.append(Problem(f, r, c, message))

    def finish(self):
        for (file, column, message), n in self.counts.items():
            if n > MAX_PROBLEMS_PER_KIND:
                self.problems.append(
                    Problem(file, None, column, f"... and {n - MAX_PROBLEMS_PER_KIND} more rows with: {message}")
                )


def _matches(s: pd.Series, pattern: re.Pattern) -> pd.Series:
    """Which cells match ``pattern``, testing each distinct value once (ids repeat on every row of a patient)."""
    uniq = pd.unique(s.to_numpy(dtype=object))
    good = [u for u in uniq if pattern.match(u)]
    return s.isin(good)


def _typed_frame(name: str, header: list[str], body: list[tuple[int, list[str]]],
                 col: ProblemCollector) -> pd.DataFrame:
    """Parse the string cells of one file into typed columns, reporting bad cells."""
    width = len(header)
    if isinstance(body, _Block):  # read at once: rectangular and stripped already
        raw, rows = body.cells, body.lines
    else:
        lines = []
        good = []
        for line, row in body:
            if len(row) == 0 or (len(row) == 1 and row[0].strip() == ""):
                continue  # blank line
            if len(row) != width:
                col.add(name, [line], None, f"expected {width} fields, found {len(row)}")
                continue
            good.append([c.strip() for c in row])
            lines.append(line)
        raw = (pd.DataFrame(good, columns=header, dtype=str) if good
               else pd.DataFrame({h: pd.Series(dtype=str) for h in header}))
        rows = np.asarray(lines, dtype=np.int64)
    out = {"_row": pd.Series(rows, dtype="int64")}
    for spec in columns_of(name):
        if spec.name in raw.columns:
            s = raw[spec.name].astype(str).reset_index(drop=True)
        else:  # an optional column the file leaves out
            s = pd.Series([""] * len(raw), dtype=object).astype(str)
        empty = s.eq("")
        if spec.required:
            bad = empty
            if bad.any():
                col.add(name, rows[bad.to_numpy()], spec.name, "value is required but the cell is empty")
        if spec.kind in ("int", "float"):
            num = pd.to_numeric(s.where(~empty), errors="coerce")
            retry = num.isna() & ~empty
            if retry.any():  # a typographic minus sign (U+2212), as tables copied from a paper have
                num[retry] = pd.to_numeric(s[retry].str.replace("\u2212", "-", regex=False), errors="coerce")
            bad = num.isna() & ~empty
            if bad.any():
                for r, v in zip(rows[bad.to_numpy()], s[bad]):
                    col.add(name, [r], spec.name, f"not a number: {v!r}")
            finite = np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
            inf = num.notna() & ~finite
            if inf.any():
                col.add(name, rows[inf.to_numpy()], spec.name, "not a finite number")
                num = num.where(~inf)
            if spec.kind == "int":
                frac = num.notna() & (num % 1 != 0)
                if frac.any():
                    for r, v in zip(rows[frac.to_numpy()], s[frac]):
                        col.add(name, [r], spec.name, f"not a whole number: {v!r}")
                num = num.where(~frac)
            if spec.low is not None:
                out_of = num.notna() & ((num < spec.low) | (num > spec.high))
                if out_of.any():
                    for r, v in zip(rows[out_of.to_numpy()], s[out_of]):
                        col.add(name, [r], spec.name, f"{v} is out of range {spec.low:g}-{spec.high:g}")
                    num = num.where(~out_of)
            out[spec.name] = num.astype("Int64") if spec.kind == "int" else num.astype("float64")
        elif spec.kind == "bool":
            low = s.str.lower()
            bad = ~empty & ~s.isin(list(BOOL_VALUES))
            if bad.any():
                for r, v in zip(rows[bad.to_numpy()], s[bad]):
                    hint = " (write it in lower case)" if v.lower() in BOOL_VALUES else ""
                    col.add(name, [r], spec.name, f"{v!r} is not a boolean: use true or false{hint}")
            vals = low.map(BOOL_VALUES)
            out[spec.name] = vals.astype("boolean") if not spec.required else vals.fillna(False).astype(bool)
        elif spec.kind == "enum":
            bad = ~empty & ~s.isin(spec.choices)
            if bad.any():
                for r, v in zip(rows[bad.to_numpy()], s[bad]):
                    col.add(name, [r], spec.name, f"unknown value {v!r} (allowed: {', '.join(spec.choices)})")
            out[spec.name] = s.where(~empty & ~bad).astype("string")
        elif spec.kind == "id":
            bad = ~empty & ~_matches(s, PATIENT_ID_RE)
            if bad.any():
                for r, v in zip(rows[bad.to_numpy()], s[bad]):
                    col.add(name, [r], spec.name,
                            f"invalid patient id {v!r} (letters, digits, '.', '_' or '-', at most 40)")
            out[spec.name] = s.astype("string")
        elif spec.kind == "visit":
            bad = ~empty & ~_matches(s, VISIT_RE)
            if bad.any():
                for r, v in zip(rows[bad.to_numpy()], s[bad]):
                    col.add(name, [r], spec.name, f"invalid visit name {v!r}")
            out[spec.name] = s.astype("string")
        else:  # text
            out[spec.name] = s.where(~empty).astype("string")
    return pd.DataFrame(out)


def _dupes(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    return df.duplicated(keys, keep="first") & df[keys].notna().all(axis=1)


def _cross_checks(t: dict[str, pd.DataFrame], col: ProblemCollector, names: dict[str, str] | None = None) -> None:
    """Rules across rows and files; each runs when the tables it needs were read.

    ``names`` gives the file names that messages refer to (an imported
    dataset's own files); by default our own.
    """
    p, m, ae, v = (t.get(f) for f in FILES)
    names = names or {}
    patients_name = names.get("patients.csv", "patients.csv")
    visits_name = names.get("visits.csv", "visits.csv")
    # duplicates
    if v is not None:
        d = _dupes(v, ["visit"])
        for r, vis in zip(v.loc[d, "_row"], v.loc[d, "visit"]):
            col.add("visits.csv", [r], "visit", f"duplicate visit {vis!r}")
    if p is not None:
        d = _dupes(p, ["patient_id"])
        for r, pid in zip(p.loc[d, "_row"], p.loc[d, "patient_id"]):
            col.add("patients.csv", [r], "patient_id", f"duplicate patient {pid!r}")
    if m is not None:
        d = _dupes(m, ["patient_id", "visit", "measure"])
        for r, pid, vis, meas in zip(m.loc[d, "_row"], m.loc[d, "patient_id"], m.loc[d, "visit"],
                                     m.loc[d, "measure"]):
            col.add("measurements.csv", [r], "measure",
                    f"duplicate measurement: patient {pid}, visit {vis}, {meas} already given")
    # references
    if p is not None:
        known = set(p["patient_id"].dropna())
        for name, df in (("measurements.csv", m), ("adverse_events.csv", ae)):
            if df is None:
                continue
            bad = df["patient_id"].notna() & ~df["patient_id"].isin(known)
            for r, pid in zip(df.loc[bad, "_row"], df.loc[bad, "patient_id"]):
                col.add(name, [r], "patient_id", f"patient {pid!r} is not in {patients_name}")
    if m is not None and v is not None:
        visit_month = dict(zip(v["visit"].dropna(), v.loc[v["visit"].notna(), "month"]))
        bad = m["visit"].notna() & ~m["visit"].isin(list(visit_month))
        for r, vis in zip(m.loc[bad, "_row"], m.loc[bad, "visit"]):
            col.add("measurements.csv", [r], "visit", f"unknown visit {vis!r} (not in {visits_name})")
        expected = m["visit"].map(visit_month).astype("float64")
        # a binned visit (window_days given) takes measurements within its window (in days; a month written
        # by the day rule is within half a day of its day), any other visit only its own month
        windows = dict(zip(v["visit"].dropna(), v.loc[v["visit"].notna(), "window_days"]))
        allowed = m["visit"].map(windows).astype("float64")
        off_days = (m["month"] - expected).abs() * DAYS_PER_MONTH
        contra = m["month"].notna() & expected.notna() & (
            ((m["month"] - expected).abs() > MONTH_TOLERANCE)
            & ~(allowed.notna() & (off_days <= allowed + 0.5 + 1e-9)))
        for r, mo, vis, ex, w in zip(m.loc[contra, "_row"], m.loc[contra, "month"], m.loc[contra, "visit"],
                                     expected[contra], allowed[contra]):
            within = "" if pd.isna(w) else f" ± {w:g} days"
            col.add("measurements.csv", [r], "month",
                    f"month {mo:g} contradicts {visits_name} (visit {vis} is at month {ex:g}{within})")
    # value ranges per measure
    if m is not None:
        for code, spec in MEASURES.items():
            sel = m["measure"].eq(code).fillna(False) & m["value"].notna()
            vals = m.loc[sel, "value"]
            out = (vals < spec.low) | (vals > spec.high)
            for r, val in zip(m.loc[sel, "_row"][out], vals[out]):
                col.add("measurements.csv", [r], "value",
                        f"{code} value {val:g} is out of range {spec.low:g}-{spec.high:g}")
            if spec.integer:
                frac = vals % 1 != 0
                for r, val in zip(m.loc[sel, "_row"][frac], vals[frac]):
                    col.add("measurements.csv", [r], "value", f"{code} value {val:g} is not a whole number")
    # populations
    if p is not None:
        bad = p["efficacy_population"] & ~p["safety_population"]
        for r in p.loc[bad, "_row"]:
            col.add("patients.csv", [r], "efficacy_population",
                    "a patient in the efficacy population must be in the safety population")


def _hash_files(directory: Path, names=FILES) -> str:
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode())
        h.update(b"\0")
        h.update((directory / name).read_bytes())
    return h.hexdigest()[:12]


def read_metadata(directory: Path, problems: list[Problem]) -> dict:
    """The directory's optional ``metadata.json`` as a dict ({} if absent); problems with it are appended."""
    path = directory / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(METADATA_FILE, getattr(exc, "lineno", None), None, f"not valid JSON: {exc}"))
        return {}
    if not isinstance(meta, dict):
        problems.append(Problem(METADATA_FILE, None, None, "must hold a JSON object"))
        return {}
    if "simulated" in meta and not isinstance(meta["simulated"], bool):
        problems.append(Problem(METADATA_FILE, None, "simulated", f"{meta['simulated']!r} is not true or false"))
    as_of = meta.get("data_as_of")
    if as_of is not None:
        try:
            _dt.date.fromisoformat(str(as_of))
        except ValueError:
            problems.append(Problem(METADATA_FILE, None, "data_as_of", f"{as_of!r} is not a date (YYYY-MM-DD)"))
    return meta


RawTable = tuple[list[str], list[tuple[int, list[str]]]]
"""One table as strings: its header and (row number, cells) pairs."""


def _parse_tables(raw, problems: list[Problem], col: ProblemCollector) -> dict[str, pd.DataFrame]:
    """Check the header and type the cells of each (name, table or None) pair; unreadable tables are skipped."""
    tables: dict[str, pd.DataFrame] = {}
    for name, read in raw:
        if read is None:
            continue
        header, body = read
        if not _check_header(name, header, problems):
            continue
        tables[name] = _typed_frame(name, header, body, col)
    return tables


def _finish_checks(tables: dict[str, pd.DataFrame], col: ProblemCollector, problems: list[Problem],
                   names: dict[str, str] | None = None) -> None:
    _cross_checks(tables, col, names)
    if "patients.csv" in tables and tables["patients.csv"].empty:
        name = (names or {}).get("patients.csv", "patients.csv")
        problems.append(Problem(name, None, None, "no patients: the file has a header but no rows"))
    col.finish()


def validate_tables(raw: dict[str, RawTable], *, locate=None, names: dict[str, str] | None = None,
                    every: list | None = None) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Run every check of :func:`load_dataset` on tables held in memory.

    ``raw`` maps our file names to (header, [(row number, cells)]); a file
    left out is skipped (its cross-checks too).  ``locate(file, row, column)``
    may move each problem to where the value came from (see :class:`ProblemCollector`);
    ``names`` renames our files in messages.  ``every``, if given, receives
    (file, row, column, message) of every problem at a cell, in our tables'
    coordinates and uncapped.  Returns the typed tables (with a ``_row``
    column) and the problems found; raises nothing.
    """
    problems: list[Problem] = []
    col = ProblemCollector(problems, locate, every)
    tables = _parse_tables(((name, raw[name]) for name in FILES if name in raw), problems, col)
    _finish_checks(tables, col, problems, names)
    return tables, problems


def load_dataset(data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load and validate a dataset directory in our own format; raise :class:`DatasetError` listing every problem.

    Only our four CSV files are read: a directory of ADaM datasets or
    PRO-ACT-style files has none of them, so each is reported missing.  To
    load a directory in any format use :func:`dashboard.importers.load`
    (as the command line and the server do), which calls this function for
    our own format.
    """
    directory = resolve_data_dir(data_dir)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise DatasetError(directory, [Problem(str(directory), None, None, "dataset directory does not exist")])
    col = ProblemCollector(problems)
    tables = _parse_tables(((name, read_rows(directory / name, problems, at_once=True)) for name in FILES),
                           problems, col)
    meta = read_metadata(directory, problems)
    _finish_checks(tables, col, problems)
    if problems:
        raise DatasetError(directory, problems)
    return build_dataset(directory, tables, meta, list(FILES))


def build_dataset(directory: Path, tables: dict[str, pd.DataFrame], meta: dict, files: list[str],
                   fmt: str = "native", fmt_label: str = NATIVE_LABEL, *, report: ImportReport | None = None,
                   time_to_event: pd.DataFrame | None = None, source_study_id: str = "") -> Dataset:
    """The :class:`Dataset` of validated tables (part of the loading API).

    ``tables`` are :func:`validate_tables`' typed tables (with ``_row``),
    ``meta`` is :func:`read_metadata`'s dict, ``files`` (names in
    ``directory``) are hashed and dated, ``fmt`` is the format read;
    ``report``, ``time_to_event`` and ``source_study_id`` are an import's.
    Adverse events whose ``treatment_emergent`` is false are left out of the
    dataset's events (counted in ``non_emergent_events``); an empty cell keeps the event.
    """
    patients = tables["patients.csv"].drop(columns="_row")
    pids = patients["patient_id"].astype(str).tolist()
    order = sorted(range(len(pids)), key=lambda i: natural_key(pids[i]))
    patients = patients.iloc[order].reset_index(drop=True)
    visits = tables["visits.csv"].drop(columns="_row").sort_values("month", kind="stable").reset_index(drop=True)
    meas = tables["measurements.csv"].drop(columns="_row")
    meas["simulated"] = meas["source"].eq(SOURCES_SIMULATED).astype(bool)
    ae = tables["adverse_events.csv"].drop(columns="_row").reset_index(drop=True)
    not_emergent = ae["treatment_emergent"].eq(False).fillna(False).to_numpy(dtype=bool)

    as_of = meta.get("data_as_of")
    if as_of:
        as_of_source = "metadata.json"
    else:
        newest = max((directory / f).stat().st_mtime for f in files)
        as_of = _dt.datetime.fromtimestamp(newest, _dt.UTC).date().isoformat()
        as_of_source = "file modification date"
    # patient ids as one categorical type whose categories are the patients in natural order: selecting,
    # grouping and sorting rows by patient then work on integer codes (see cohorts.Cohort.mask)
    pid_type = pd.CategoricalDtype(patients["patient_id"].astype(str).tolist())
    meas = canonical_measurement_order(meas, visits).reset_index(drop=True)
    meas["patient_id"] = meas["patient_id"].astype(str).astype(pid_type)
    meas["measure"] = meas["measure"].astype(str).astype(pd.CategoricalDtype(list(MEASURES)))
    meas["visit"] = meas["visit"].astype(str).astype(pd.CategoricalDtype(visits["visit"].astype(str).tolist()))
    # the month of each value's visit, by which visit summaries group (a binned visit's values keep their own
    # month for patient lines and slopes); NaN for an unscheduled visit (in no visit summary)
    scheduled = visits["scheduled"].fillna(True).astype(bool)
    vmonth = dict(zip(visits["visit"].astype(str), visits["month"].where(scheduled)))
    meas["visit_month"] = meas["visit"].astype(str).map(vmonth).astype("float64")
    meas["source"] = meas["source"].astype("category")  # a few table names: every row filter copies integers only
    ae["patient_id"] = ae["patient_id"].astype(str).astype(pid_type)
    all_ae = ae if not_emergent.any() else None
    ae = ae[~not_emergent].reset_index(drop=True)
    return Dataset(
        directory=directory,
        patients=patients,
        measurements=meas,
        adverse_events=ae,
        visits=visits,
        short_hash=_hash_files(directory, files),
        data_as_of=str(as_of),
        data_as_of_source=as_of_source,
        title=str(meta.get("title") or directory.name),
        simulated_dataset=meta.get("simulated") is True,
        format=fmt,
        format_label=fmt_label,
        # the study id from metadata.json, else the one the source gives (ADSL STUDYID)
        study_id=str(meta.get("study_id") or source_study_id or ""),
        day0_label=str(meta.get("day0_label") or "Day 0"),
        treatment_label=str(meta.get("treatment_label") or "treatment"),
        import_report=report or ImportReport(),
        **({} if time_to_event is None else {"time_to_event": time_to_event}),
        source_study_id=source_study_id,
        non_emergent_events=int(not_emergent.sum()),
        all_adverse_events=all_ae,
    )


# ---------------------------------------------------------------- writing (CLI tools only)


def canonical_measurement_order(meas: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Measurements sorted by patient (natural order), visit month, then measure."""
    pids = pd.Categorical(meas["patient_id"].astype(str),
                          categories=sort_patient_ids(pd.unique(meas["patient_id"].astype(str))))
    keys = pd.DataFrame(
        {
            "p": pids.codes,
            "t": meas["month"].to_numpy(),
            "m": pd.Categorical(meas["measure"].astype(str), categories=list(MEASURES)).codes,
        },
        index=meas.index,
    )
    return meas.loc[keys.sort_values(["p", "t", "m"], kind="stable").index]


def format_number(v: float) -> str:
    """The one way numbers are written back to CSV: shortest form, at most 10 significant digits."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    s = f"{float(v):.10g}"
    return "0" if s == "-0" else s


def write_measurements(meas: pd.DataFrame, visits: pd.DataFrame, path: Path) -> None:
    """Write measurements in the canonical order and format (used by ``simulate-alsfrs``)."""
    ordered = canonical_measurement_order(meas, visits)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["patient_id", "visit", "month", "measure", "value", "source"])
    for row in ordered.itertuples(index=False):
        w.writerow([row.patient_id, row.visit, format_number(row.month), row.measure, format_number(row.value),
                    row.source])
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
