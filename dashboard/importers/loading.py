"""Importing a directory: read it in its format, validate our tables, build the dataset; and :func:`load`,
the one entry point that loads a dataset directory in any format."""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pandas as pd

from .. import data
from ..data import FILES, DatasetError, Problem
from .build import Imported, Reader
from .mapping import ADAM, FORMATS, IMPORT_FORMATS, NATIVE, PROACT


def _discover() -> tuple[Reader, ...]:
    """Every module of this package that declares ``READER``, in the readers' order."""
    package = __name__.rsplit(".", 1)[0]
    found = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        if isinstance(getattr(module, "READER", None), Reader):
            found.append(module.READER)
    missing = {r.format for r in found} - set(FORMATS)
    if missing:
        raise RuntimeError(f"readers of formats without a mapping entry: {sorted(missing)}")
    return tuple(sorted(found, key=lambda r: r.order))


#: The import formats' readers, in the order :func:`detect_format` tries them.
READER_LIST = _discover()
#: The reader of each import format.
READERS = {r.format: r.read for r in READER_LIST}


def detect_format(directory) -> str | None:
    """``native`` if any of our four CSV files is there, else the first import format whose reader recognises
    the directory (ADaM: ``adsl``/``adae`` or any ``.xpt``; PRO-ACT: any of its files), else None."""
    d = Path(directory)
    if not d.is_dir():
        return None
    if any((d / f).is_file() for f in FILES):
        return NATIVE
    return next((r.format for r in READER_LIST if r.detect(d)), None)


def format_label(fmt: str) -> str:
    """What a directory in ``fmt`` holds, in words."""
    return data.NATIVE_LABEL if fmt == NATIVE else FORMATS[fmt].label


def read_import(directory, fmt: str) -> Imported:
    """Our four tables from a directory in an import format, with the problems found on the way (unvalidated)."""
    if fmt not in READERS:
        raise ValueError(f"unknown import format {fmt!r} (choose from {', '.join(IMPORT_FORMATS)})")
    return READERS[fmt](directory)


def validated(directory, fmt: str) -> tuple[Imported, dict[str, pd.DataFrame], dict]:
    """Import and validate; (Imported, typed tables, metadata) or DatasetError with every problem."""
    directory = Path(directory).expanduser().resolve()
    if not directory.is_dir():
        raise DatasetError(directory, [Problem(str(directory), None, None, "dataset directory does not exist")])
    imp = read_import(directory, fmt)
    every: list[tuple[str, int, str | None, str]] = []
    typed, problems = data.validate_tables(imp.raw(), locate=imp.locate, names=imp.names, every=every)
    if skip_invalid_values(imp, every):  # values left empty or records skipped: validate what is left
        typed, problems = data.validate_tables(imp.raw(), locate=imp.locate, names=imp.names)
    problems = imp.problems + problems
    meta = data.read_metadata(directory, problems)
    if problems:
        raise DatasetError(directory, problems, imp.warnings)
    return imp, typed, meta


#: Our tables whose invalid rows an import skips with a warning (a patient's row is never skipped: an
#: invalid id or population flag stays an error).
SKIPPABLE_ROWS = ("measurements.csv", "adverse_events.csv")


def skip_invalid_values(imp: Imported, every: list[tuple[str, int, str | None, str]]) -> bool:
    """Load what is valid (in place): a cell our validation refuses becomes a warning, not an error.

    ``every``: the validation's problems in our tables' coordinates (``validate_tables(every=...)``).
    Returns whether anything was left empty or skipped (the tables must then be validated again).

    An optional column's invalid value (an age of 300, an unknown onset) is left empty; a measurement or
    adverse-event record with an invalid required value (an ALSFRS of 41, a month out of range, a
    duplicate, a subject missing from the subject file) is skipped.  Each is a warning at the value's own
    file, row and variable.  Everything else (a patient without a valid id or population flag, the
    visits) stays an error of the validation that follows."""
    optional = {name: {c.name for c in cols if not c.required} for name, cols in data.SCHEMA.items()}
    blank: dict[tuple[str, int], dict[str, str]] = {}
    drop: dict[tuple[str, int], tuple[str | None, str]] = {}
    for file, row, column, message in every:
        recs = imp.records.get(file)
        if not recs or not 2 <= row < len(recs) + 2:
            continue
        if column in optional.get(file, ()):
            blank.setdefault((file, row), {}).setdefault(column, message)
        elif file in SKIPPABLE_ROWS:
            drop.setdefault((file, row), (column, message))
    for (file, row), columns in blank.items():
        if (file, row) in drop:
            continue
        rec = imp.records[file][row - 2]
        for column, message in columns.items():
            where = imp.locate(file, row, column)
            if where is not None:
                imp.warnings.append(Problem(*where, f"{message}: value left empty", level=data.WARNING,
                                            kind=f"invalid {column} left empty"))
            rec.cells[column] = ""
    gone = {(file, row - 2) for file, row in drop}
    for (file, row), (column, message) in drop.items():
        where = imp.locate(file, row, column)
        if where is not None:
            what = "measurement" if file == "measurements.csv" else "adverse event"
            imp.warnings.append(Problem(*where, f"{message}: {what} record skipped", level=data.WARNING,
                                        kind=f"invalid {what} record skipped"))
    for file in SKIPPABLE_ROWS:
        if imp.records.get(file):
            imp.records[file] = [r for i, r in enumerate(imp.records[file]) if (file, i) not in gone]
    return bool(blank or drop)


def load_imported(directory, fmt: str) -> data.Dataset:
    """The validated :class:`~dashboard.data.Dataset` of an ADaM or PRO-ACT-style directory, with its import
    report (the warnings: rows, values or files skipped or recoded)."""
    imp, typed, meta = validated(directory, fmt)
    return data.build_dataset(imp.directory, typed, meta, sorted(imp.files), fmt, format_label(fmt),
                              report=imp.report(), time_to_event=imp.time_to_event,
                              source_study_id=imp.source_study_id)


def load(data_dir: str | os.PathLike | None = None) -> data.Dataset:
    """Load and validate a dataset directory in any format; raise :class:`~dashboard.data.DatasetError` if invalid.

    The directory is the argument, else ``$TRIAL_DATA_DIR``, else the shipped
    data (:func:`dashboard.data.resolve_data_dir`).  Its format is
    :func:`detect_format`'s: ADaM datasets and PRO-ACT-style files are
    imported in memory and validated like our own files; a directory in our
    format -- or in none (every missing file is then a problem) -- goes to
    :func:`dashboard.data.load_dataset`.  The command line and the server load
    datasets through this function.
    """
    directory = data.resolve_data_dir(data_dir)
    fmt = detect_format(directory)
    if fmt in READERS:
        return load_imported(directory, fmt)
    return data.load_dataset(directory)


def import_adam(directory) -> dict[str, pd.DataFrame]:
    """Our four tables (string DataFrames, exactly our CSV columns) from ADaM datasets.

    Raises :class:`~dashboard.data.DatasetError` listing every problem, in the
    datasets' own files, rows and variables.
    """
    return validated(directory, ADAM)[0].frames()


def import_proact(directory) -> dict[str, pd.DataFrame]:
    """Our four tables (string DataFrames, exactly our CSV columns) from PRO-ACT-style files."""
    return validated(directory, PROACT)[0].frames()
