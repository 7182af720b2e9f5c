"""Their files as strings: reading CSV and SAS transport sources, and telling which format a directory is in."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import data
from ..data import FILES, Problem

#: PRO-ACT forms read (the key; the file name without ``.csv`` in any case, with or without a ``PROACT_`` or
#: ``F_PROACT_`` prefix, as in the per-form release, or the 2016 all-forms names: ``alsfrs.csv``, ``Fvc.csv``,
#: ``AlsHistory.csv``, ``demographics.csv``, ``AdverseEvents.csv``, ``DeathData.csv``, ``Treatment.csv``...).
PROACT_FILES = ("DEMOGRAPHICS", "ALSHISTORY", "ALSFRS", "FVC", "MUSCLESTRENGTH", "ADVERSEEVENTS", "DEATHDATA",
                "TREATMENT", "RILUZOLE")
#: Other spellings of a form's name (upper case, without prefix and underscores) -> its key.
PROACT_ALIASES = {"ALSFRSR": "ALSFRS", "ADVERSEEVENT": "ADVERSEEVENTS", "DEATH": "DEATHDATA",
                  "MUSCLESTRENGTHS": "MUSCLESTRENGTH", "DEMOGRAPHIC": "DEMOGRAPHICS"}
#: Name prefixes of the PRO-ACT release (upper case), longest first.
PROACT_PREFIXES = ("F_PROACT_", "PROACT_")
PROACT_REQUIRED = ("DEMOGRAPHICS", "ADVERSEEVENTS")
#: PRO-ACT files holding outcomes, each with its day column.
PROACT_OUTCOME_FILES = ("ALSFRS", "FVC", "MUSCLESTRENGTH")


@dataclass
class Source:
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
        """The first of ``names`` that the file has (as written in the file), or None."""
        for v in names:
            if self.col(v):
                return self.col(v)
        return None

    def get(self, cells: list[str], var: str | None) -> str:
        """The cell of ``var`` in a row ("" where the file has no such variable)."""
        if var is None:
            return ""
        i = self.index.get(var.upper())
        return "" if i is None else cells[i]

    def first_nonempty(self, cells: list[str], names) -> tuple[str, str | None]:
        """The first non-empty cell of ``names`` and its variable; else "" and the first variable present."""
        present = [self.col(v) for v in names if self.col(v)]
        for v in present:
            if self.get(cells, v):
                return self.get(cells, v), v
        return "", (present[0] if present else None)


def read_csv_source(path: Path, key: str, problems: list[Problem], col: data.ProblemCollector) -> Source | None:
    """A CSV file as a :class:`Source`; None (with problems) if unreadable.  Ragged rows are reported and skipped."""
    read = data.read_rows(path, problems)
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
    return Source(path, key, header, rows, 1)


# ---------------------------------------------------------------- SAS transport (XPORT v5) and pandas' quirks


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
    while (n > 0 and (n - 1) * record_length > len(raw) - 80
           and raw[(n - 1) * record_length:n * record_length].strip(b" ") == b""):
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


def read_xpt_source(path: Path, key: str, problems: list[Problem]) -> Source | None:
    """A one-dataset SAS transport file as a :class:`Source` (rows = record numbers); None (with problems)."""
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
                problems.append(Problem(path.name, None, None,
                                        "holds more than one dataset: write one dataset per .xpt file"))
                return None
            columns = [_decode(c) for c in reader.columns]
            frame = reader.read(n) if n > 0 else pd.DataFrame(columns=columns)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one problem, never a traceback
        problems.append(Problem(path.name, None, None, f"not a readable SAS transport (XPORT) file: {exc}"))
        return None
    header = [_decode(c) for c in frame.columns]
    rows = [(i + 1, [_decode(v) for v in rec]) for i, rec in enumerate(frame.itertuples(index=False, name=None))]
    return Source(path, key, header, rows, None)


# ---------------------------------------------------------------- format detection


def adam_files(directory: Path) -> dict[str, list[Path]]:
    """The ``.csv`` and ``.xpt`` files other than ours, by upper-case dataset name."""
    found: dict[str, list[Path]] = {}
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.suffix.lower() in (".csv", ".xpt") and p.name not in FILES:
            found.setdefault(p.stem.upper(), []).append(p)
    return found


def proact_key(name: str) -> str | None:
    """The :data:`PROACT_FILES` key of a file name (``F_PROACT_ALSFRS.csv``, ``Fvc.csv``,
    ``muscle_strength.csv``), or None."""
    stem = Path(name).stem.upper()
    for prefix in PROACT_PREFIXES:
        if stem.startswith(prefix):
            stem = stem[len(prefix):]
            break
    stem = stem.replace("_", "").replace("-", "").replace(" ", "")
    stem = PROACT_ALIASES.get(stem, stem)
    return stem if stem in PROACT_FILES else None


def proact_files(directory: Path) -> dict[str, list[Path]]:
    """The PRO-ACT-style files, by key of :data:`PROACT_FILES`."""
    found: dict[str, list[Path]] = {}
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.suffix.lower() == ".csv" and p.name not in FILES:
            key = proact_key(p.name)
            if key:
                found.setdefault(key, []).append(p)
    return found


def other_csv_files(directory: Path) -> list[str]:
    """The ``.csv`` files of a PRO-ACT-style directory that are not forms read (labs, vital signs...)."""
    return [p.name for p in sorted(directory.iterdir())
            if p.is_file() and p.suffix.lower() == ".csv" and proact_key(p.name) is None]
