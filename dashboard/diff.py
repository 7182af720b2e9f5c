"""What changed between two data cuts (issue 14): ``python -m dashboard diff --previous OLD --data NEW``.

A DSMB meets on a new data cut every few months; its first question is "what is new since last time?".
:func:`diff` compares two loaded datasets (any format) record by record and returns a frozen :class:`DataDiff`
(new patients, new visits as measurement rows, new adverse events, new serious events, new deaths, changed
records with old → new per column, deleted records), with :meth:`DataDiff.text` and :meth:`DataDiff.to_dict`.

Records are matched on stable keys, never on row numbers:

- ``patients.csv``: ``patient_id``;
- ``measurements.csv``: (``patient_id``, ``measure``, ``visit``);
- ``adverse_events.csv``: (``patient_id``, ``term``, ``start_day``) where the event has a start day, else
  (``patient_id``, ``term``, occurrence number): the first event of that patient and verbatim term without a
  start day in file order is occurrence 1, the next 2, ...  Two events of one patient, term and start day are
  told apart the same way.  Every event is compared, treatment-emergent or not
  (:attr:`~dashboard.data.Dataset.all_adverse_events`).

Every other column of our format (:func:`dashboard.data.columns_of`) is compared as written in our CSV files
(numbers in the shortest form, ``true``/``false``, empty for a missing value).  A **new serious event** is a new
event with ``serious`` true, or a kept one whose ``serious`` became true; a **new death** is a patient in the
deaths listing (:func:`dashboard.safety.deaths`: ``patients.died`` or a fatal event) of the new cut and not of
the previous one.  Visits (``visits.csv``) are the schedule, not records: not compared.

Pure: datasets in, result out; no Dash import. The one I/O: :func:`with_previous` loads the previous cut
(read-only) for the app and the commands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import safety
from .data import Dataset, columns_of, format_number, natural_key

#: The key columns of each compared file (adverse events add a start day or an occurrence number).
KEYS = {
    "patients.csv": ("patient_id",),
    "measurements.csv": ("patient_id", "measure", "visit"),
    "adverse_events.csv": ("patient_id", "term", "start_day"),
}
#: How many records of one kind the text lists before it says how many more there are.
TEXT_LIMIT = 50


@dataclass(frozen=True)
class RecordKey:
    """One record of one file, by its key: ((column, value), ...) in the order of :data:`KEYS`."""

    file: str
    key: tuple[tuple[str, str], ...]

    @property
    def patient_id(self) -> str:
        return dict(self.key)["patient_id"]

    def label(self) -> str:
        k = dict(self.key)
        if self.file == "patients.csv":
            return f"patient {k['patient_id']}"
        if self.file == "measurements.csv":
            return f"patient {k['patient_id']}, {k['measure']} at visit {k['visit']}"
        when = f"day {k['start_day']}" if "start_day" in k else f"occurrence {k['occurrence']}"
        if "start_day" in k and "occurrence" in k:
            when += f", occurrence {k['occurrence']}"
        return f"patient {k['patient_id']}, {k['term']} ({when})"

    def to_dict(self) -> dict:
        return {"file": self.file, **dict(self.key)}


@dataclass(frozen=True)
class Change:
    """One value of a record kept in both cuts that differs: ``old`` → ``new`` (as written in our CSV files)."""

    record: RecordKey
    column: str
    old: str
    new: str

    def text(self) -> str:
        old, new = self.old or "(empty)", self.new or "(empty)"
        return f"{self.record.file} {self.record.label()}: {self.column} {old} → {new}"

    def to_dict(self) -> dict:
        return {"record": self.record.to_dict(), "column": self.column, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Cut:
    """One data cut as the diff names it."""

    directory: str
    data_as_of: str
    short_hash: str

    def to_dict(self) -> dict:
        return {"directory": self.directory, "data_as_of": self.data_as_of, "hash": self.short_hash}


@dataclass(frozen=True)
class DataDiff:
    """What changed from ``previous`` to ``current`` (keys in the module docstring)."""

    previous: Cut
    current: Cut
    new_patients: tuple[str, ...]
    #: New measurement rows (the new visits' values), by (patient, measure, visit).
    new_measurements: tuple[RecordKey, ...]
    new_events: tuple[RecordKey, ...]
    new_serious_events: tuple[RecordKey, ...]
    new_deaths: tuple[str, ...]
    changed: tuple[Change, ...]
    deleted: tuple[RecordKey, ...]

    @property
    def new_visits(self) -> tuple[tuple[str, str], ...]:
        """The (patient, visit) pairs with a new measurement row, in order."""
        return tuple(dict.fromkeys((dict(r.key)["patient_id"], dict(r.key)["visit"]) for r in self.new_measurements))

    @property
    def changed_records(self) -> tuple[RecordKey, ...]:
        return tuple(dict.fromkeys(c.record for c in self.changed))

    @property
    def unchanged(self) -> bool:
        return not (self.new_patients or self.new_measurements or self.new_events or self.new_deaths
                    or self.changed or self.deleted)

    def counts(self) -> dict[str, int]:
        return {"new_patients": len(self.new_patients), "new_visits": len(self.new_visits),
                "new_measurements": len(self.new_measurements), "new_events": len(self.new_events),
                "new_serious_events": len(self.new_serious_events), "new_deaths": len(self.new_deaths),
                "changed_records": len(self.changed_records), "changed_values": len(self.changed),
                "deleted_records": len(self.deleted)}

    def to_dict(self) -> dict:
        return {"previous": self.previous.to_dict(), "current": self.current.to_dict(), "counts": self.counts(),
                "new_patients": list(self.new_patients),
                "new_visits": [{"patient_id": p, "visit": v} for p, v in self.new_visits],
                "new_measurements": [r.to_dict() for r in self.new_measurements],
                "new_events": [r.to_dict() for r in self.new_events],
                "new_serious_events": [r.to_dict() for r in self.new_serious_events],
                "new_deaths": list(self.new_deaths),
                "changed": [c.to_dict() for c in self.changed],
                "deleted": [r.to_dict() for r in self.deleted]}

    def text(self) -> str:
        """The diff as lines of text (what ``python -m dashboard diff`` prints)."""
        def listed(items) -> list[str]:
            items = list(items)
            out = [f"  {i}" for i in items[:TEXT_LIMIT]]
            if len(items) > TEXT_LIMIT:
                out.append(f"  ... and {len(items) - TEXT_LIMIT} more")
            return out

        def cut(c: Cut) -> str:
            return f"{c.directory} (data as of {c.data_as_of}, hash {c.short_hash})"

        lines = [f"Changes since the previous data cut {cut(self.previous)}", f"in {cut(self.current)}:"]
        if self.unchanged:
            return "\n".join(lines + ["no change: the same patients, measurements and adverse events"])
        visits = self.new_visits
        lines.append(f"new patients: {len(self.new_patients)}")
        lines += listed(f"patient {p}" for p in self.new_patients)
        lines.append(f"new visits: {len(visits)} patient visit(s), {len(self.new_measurements)} measurement row(s)")
        lines += listed(f"patient {p}, visit {v}: " + ", ".join(
            dict(r.key)["measure"] for r in self.new_measurements if dict(r.key)["patient_id"] == p
            and dict(r.key)["visit"] == v) for p, v in visits)
        lines.append(f"new adverse events: {len(self.new_events)}")
        lines += listed(r.label() for r in self.new_events)
        lines.append(f"new serious events: {len(self.new_serious_events)}")
        lines += listed(r.label() for r in self.new_serious_events)
        lines.append(f"new deaths: {len(self.new_deaths)}")
        lines += listed(f"patient {p}" for p in self.new_deaths)
        lines.append(f"changed records: {len(self.changed_records)} ({len(self.changed)} value(s))")
        lines += listed(c.text() for c in self.changed)
        lines.append(f"deleted records: {len(self.deleted)}")
        lines += listed(f"{r.file} {r.label()}" for r in self.deleted)
        return "\n".join(lines)


# ---------------------------------------------------------------- matching records


def _cell(v) -> str:
    """A value as our CSV files write it."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return format_number(float(v))
    return str(v)


def _events(ds: Dataset) -> pd.DataFrame:
    return ds.all_adverse_events if ds.all_adverse_events is not None else ds.adverse_events


def _records(frame: pd.DataFrame, name: str) -> dict[RecordKey, dict[str, str]]:
    """Key → {column: value as written} of every record of one file."""
    columns = [c.name for c in columns_of(name)]
    cells = {c: [_cell(v) for v in frame[c]] if c in frame.columns else [""] * len(frame) for c in columns}
    keys = KEYS[name]
    seen: dict[tuple, int] = {}
    out: dict[RecordKey, dict[str, str]] = {}
    for i in range(len(frame)):
        parts = [(k, cells[k][i]) for k in keys]
        if name == "adverse_events.csv":
            base = tuple(parts)
            seen[base] = seen.get(base, 0) + 1
            n = seen[base]
            if parts[2][1] == "":
                parts = parts[:2] + [("occurrence", str(n))]
            elif n > 1:
                parts.append(("occurrence", str(n)))
        key = RecordKey(name, tuple(parts))
        out[key] = {c: cells[c][i] for c in columns if c not in keys}
    return out


def _sort_key(r: RecordKey):
    return (natural_key(r.patient_id), [natural_key(v) for _k, v in r.key[1:]])


def diff(previous: Dataset, current: Dataset) -> DataDiff:
    """What changed from the ``previous`` data cut to the ``current`` one (keys in the module docstring)."""
    new_records: dict[str, list[RecordKey]] = {}
    deleted: list[RecordKey] = []
    changed: list[Change] = []
    serious_now: list[RecordKey] = []
    for name, old_frame, new_frame in (("patients.csv", previous.patients, current.patients),
                                       ("measurements.csv", previous.measurements, current.measurements),
                                       ("adverse_events.csv", _events(previous), _events(current))):
        old, new = _records(old_frame, name), _records(new_frame, name)
        new_records[name] = sorted((k for k in new if k not in old), key=_sort_key)
        deleted += sorted((k for k in old if k not in new), key=_sort_key)
        for k in sorted((k for k in new if k in old), key=_sort_key):
            for col, value in new[k].items():
                if old[k].get(col, "") != value:
                    changed.append(Change(k, col, old[k].get(col, ""), value))
            if name == "adverse_events.csv" and new[k].get("serious") == "true" and old[k].get("serious") != "true":
                serious_now.append(k)
        if name == "adverse_events.csv":
            serious_now = [k for k in new_records[name] if new[k].get("serious") == "true"] + serious_now

    def dead(ds: Dataset) -> set[str]:
        return set(safety.deaths(_events(ds), ds.patients, None).patient_ids)

    new_deaths = sorted(dead(current) - dead(previous), key=natural_key)

    def cut(ds: Dataset) -> Cut:
        return Cut(str(ds.directory), ds.data_as_of, ds.short_hash)

    return DataDiff(
        previous=cut(previous), current=cut(current),
        new_patients=tuple(r.patient_id for r in new_records["patients.csv"]),
        new_measurements=tuple(new_records["measurements.csv"]),
        new_events=tuple(new_records["adverse_events.csv"]),
        new_serious_events=tuple(sorted(serious_now, key=_sort_key)),
        new_deaths=tuple(new_deaths),
        changed=tuple(changed),
        deleted=tuple(deleted),
    )


# ---------------------------------------------------------------- marking the rows of a listing


def event_marks(events: pd.DataFrame, d: DataDiff | None) -> list[str]:
    """Per row of an adverse-event frame of the current cut (in its order): "new" (not in the previous cut),
    "changed" (a value differs) or "". The rows are keyed as :func:`diff` keys them (the occurrence numbers
    count within ``events``: pass the frame the diff compared, or one with the same events per key)."""
    if d is None:
        return [""] * len(events)
    new = set(d.new_events)
    changed = {c.record for c in d.changed if c.record.file == "adverse_events.csv"}
    keys = list(_records(events, "adverse_events.csv"))
    return ["new" if k in new else "changed" if k in changed else "" for k in keys]


def patient_marks(d: DataDiff | None) -> dict[str, str]:
    """Patient → "new" (a new patient or a new death) or "changed" (a value of the patient's record or of one of
    their adverse events changed)."""
    if d is None:
        return {}
    out = {c.record.patient_id: "changed" for c in d.changed if c.record.file in ("patients.csv", "adverse_events.csv")}
    out.update({p: "new" for p in (*d.new_patients, *d.new_deaths)})
    return out


# ---------------------------------------------------------------- the previous data cut of a dataset


def with_previous(ds: Dataset, previous_dir=None) -> Dataset:
    """The dataset with the previous data cut (``previous_dir``, else ``$DASHBOARD_PREVIOUS_DATA_DIR``) loaded
    read-only as the current one is (:attr:`Dataset.previous`); one that cannot be read is a notice
    (:attr:`Dataset.previous_problem`), never a failure; none named: the dataset as it is."""
    import dataclasses

    from . import importers
    from .data import DatasetError, resolve_previous_data_dir

    path = resolve_previous_data_dir(previous_dir)
    if path is None:
        return ds
    try:
        if not path.is_dir():
            raise FileNotFoundError("not a directory")
        previous = importers.load(path)
    except DatasetError as exc:
        first = str(exc.problems[0]) if exc.problems else ""
        problem = (f"The previous data cut {path} could not be read ({len(exc.problems)} problem(s)"
                   + (f"; the first: {first}" if first else "") + "): no changes since it are shown.")
        return dataclasses.replace(ds, previous_problem=problem)
    except Exception as exc:  # noqa: BLE001 (any unreadable cut is a notice on the page, not a traceback)
        return dataclasses.replace(ds, previous_problem=f"The previous data cut {path} could not be read "
                                                        f"({type(exc).__name__}: {exc}): no changes since it are "
                                                        "shown.")
    return dataclasses.replace(ds, previous=previous)
