"""Building our four tables from their files: records that remember where each cell came from, and the
machinery both importers share (problem reporting, value converters, visits, ordering)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import data
from ..data import WARNING, Problem, columns_of
from .rules import (
    FATAL,
    NO,
    RELATIONSHIP,
    SEVERITY,
    TOXICITY_GRADE,
    VISIT_WINDOW_DAYS,
    YES,
    ady_to_days,
    day_to_month,
    number,
    visit_bin,
)
from .sources import Source


@dataclass(frozen=True)
class Reader:
    """An import format's reader, declared by its module as ``READER`` (found by :mod:`.loading`).

    ``detect(directory)`` says whether a directory (not in our own format) is in this format; formats are
    tried in ``order``.  Its mapping entries live in :mod:`.mapping` under ``format``.
    """

    format: str
    read: object
    detect: object
    order: int


@dataclass
class Record:
    """One row of one of our tables, with where each cell came from."""

    src: Source
    line: int
    cells: dict[str, str] = field(default_factory=dict)
    where: dict[str, tuple[str, int | None, str | None]] = field(default_factory=dict)

    def set(self, column: str, value: str, var: str | None, src: Source | None = None, line: int | None = None):
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
    records: dict[str, list[Record] | None] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    reported: set = field(default_factory=set)
    #: Rows, values or files skipped or recoded (level "warning"): the dataset still loads.
    warnings: list[Problem] = field(default_factory=list)
    #: How the dataset was read ("treatment arm from TRT01A"): the import report's notes.
    notes: list[str] = field(default_factory=list)
    #: (code, records) of the PARAMCDs skipped as unknown.
    unknown_codes: list[tuple[str, int]] = field(default_factory=list)
    #: Time-to-event records (ADTTE), a frame of :attr:`dashboard.data.Dataset.time_to_event`'s columns, or None.
    time_to_event: pd.DataFrame | None = None
    source_study_id: str = ""

    def report(self) -> data.ImportReport:
        return data.ImportReport.of(self.warnings, self.notes, self.unknown_codes)

    def raw(self) -> dict[str, data.RawTable]:
        """The tables that could be built, as (header, [(key, cells)]) for :func:`data.validate_tables`."""
        out = {}
        for name, recs in self.records.items():
            if recs is None:
                continue
            header = [c.name for c in columns_of(name)]
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


def unknown_measure(measure: str) -> str:
    """The problem of a mapped measure that :data:`dashboard.data.MEASURES` does not have."""
    known = ", ".join(data.MEASURES)
    return f"measure {measure} is not one of the dashboard's measures ({known}); not supported yet"


class Builder:
    """Shared machinery of both importers: problem reporting, visits, ordering."""

    def __init__(self, directory: Path, fmt: str):
        self.imp = Imported(fmt, directory)
        self.col = data.ProblemCollector(self.imp.problems)
        self.visit_recs: dict[str, list] = {}
        self.meas: list[tuple[Record, str]] = []  # (record, visit name)
        self.binned: list[tuple[Record, float, tuple]] = []  # (record, days, where the day came from)

    # problems
    def problem(self, src: Source, line: int | None, var: str | None, message: str):
        if line is None:
            self.imp.problems.append(Problem(src.name, None, var, message))
        else:
            self.col.add(src.name, [line], var, message)
        self.imp.reported.add((src.name, line, var))

    def warn(self, src: Source | str, line: int | None, var: str | None, kind: str, message: str):
        """A warning: a row, value or file skipped or recoded (the dataset still loads)."""
        name = src if isinstance(src, str) else src.name
        self.imp.warnings.append(Problem(name, line, var, message, level=WARNING, kind=kind))
        self.imp.reported.add((name, line, var))

    def require(self, src: Source, needs: list[list[str]], what: str) -> bool:
        """Every group of alternatives has a variable in ``src``; else report the missing ones."""
        ok = True
        for alts in needs:
            if not src.first(alts):
                extra = f" (or {', '.join(alts[1:])})" if len(alts) > 1 else ""
                self.imp.problems.append(Problem(src.name, src.header_row, alts[0],
                                                 f"required {what} is missing{extra}"))
                ok = False
        return ok

    def file_problem(self, name: str, message: str):
        self.imp.problems.append(Problem(name, None, None, message))

    def read_sources(self, found: dict[str, list[Path]], read) -> dict[str, Source]:
        """Read the one file of each dataset found (``read(path, key)``); two files for one dataset are a problem."""
        sources: dict[str, Source] = {}
        for key, paths in found.items():
            if len(paths) > 1:
                self.file_problem(paths[-1].name, f"{' and '.join(p.name for p in paths)} are both present: keep one")
                continue
            self.imp.files.append(paths[0].name)
            src = read(paths[0], key)
            if src is not None:
                sources[key] = src
        return sources

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
        # a code we cannot place: the value is left empty (not recorded) and said, the dataset still loads
        self.warn(src, line, var, f"unknown {var} code left empty",
                  f"unknown value {value!r} (allowed: {allowed}): left empty")
        return ""

    def relatedness(self, src, line, var, value: str) -> str:
        """``true``/``false`` by :data:`~.rules.RELATIONSHIP`; an empty or unknown value is "" (not recorded)."""
        u = value.strip().upper()
        if u in RELATIONSHIP:
            return "true" if RELATIONSHIP[u] else "false"
        if value == "":
            self.warn(src, line, var, "relationship not recorded (empty)", "empty: relationship not recorded")
        else:
            self.warn(src, line, var, "relationship not recorded (unknown term)",
                      f"unknown relationship {value!r}: not recorded (the terms read are in data/README.md)")
        return ""

    def serious_flag(self, src, line, var, value: str) -> str:
        """``true``/``false`` from Y/N; an empty or other value is "" (not recorded) with a warning."""
        u = value.strip().upper()
        if u in YES:
            return "true"
        if u in NO:
            return "false"
        if value == "":
            self.warn(src, line, var, "seriousness not recorded (empty)", "empty: seriousness not recorded")
        else:
            self.warn(src, line, var, "seriousness not recorded (unknown value)",
                      f"{value!r} is not Y or N: seriousness not recorded")
        return ""

    def severity(self, src, line, sev_var, out_var, sev: str, outcome: str, grade_var: str | None = None,
                 grade: str = "") -> tuple[str, str | None]:
        """Our severity and the variable it came from: outcome ``FATAL`` is ``Death``; else the severity by
        :data:`~.rules.SEVERITY`, else the CTCAE grade by :data:`~.rules.TOXICITY_GRADE`; else "" (not recorded)."""
        if outcome.strip().upper() == FATAL:
            return "Death", out_var
        u = sev.strip().upper()
        if u in SEVERITY:
            return SEVERITY[u], sev_var
        g = grade.strip().upper().removeprefix("GRADE").strip()
        g = g[:-2] if g.endswith(".0") else g
        if g in TOXICITY_GRADE:
            return TOXICITY_GRADE[g], grade_var
        if sev == "" and grade == "":
            self.warn(src, line, sev_var, "severity not recorded (empty)", "empty: severity not recorded")
            return "", sev_var
        bad, var = (sev, sev_var) if sev else (grade, grade_var)
        self.warn(src, line, var, "severity not recorded (unknown value)",
                  f"unknown severity {bad!r}: not recorded (MILD, MODERATE, SEVERE, LIFE THREATENING, FATAL, "
                  "or a CTCAE grade 1-5)")
        return "", var

    def whole_days(self, src, line, var, value: str, *, study_day: bool = False) -> float | None:
        """Days since day 0 from a cell of whole days (``study_day``: SDTM-style, no day 0); None with a problem."""
        if value == "":
            self.problem(src, line, var, "value is required but the cell is empty")
            return None
        v = number(value)
        if v is None:
            self.problem(src, line, var, f"not a number: {value!r}")
            return None
        if v % 1 != 0:
            self.problem(src, line, var, f"not a whole number of days: {value!r}")
            return None
        if study_day:
            if v == 0:
                self.problem(src, line, var,
                             "study day 0 does not exist (day 1 is the day of application; the day before is -1)")
                return None
            return ady_to_days(v)
        return v

    # outcomes and visits
    def outcome(self, rec: Record, visit: str, label: str, when: tuple[str, float], where_visit, where_time):
        """Record a measurement ``rec`` at ``visit``; ``when`` = ("days" | "months", value)."""
        self.visit_recs.setdefault(visit, []).append((label, when, rec, where_visit, where_time))
        self.meas.append((rec, visit))

    def binned_outcome(self, rec: Record, days: float, where_time):
        """Record a measurement ``rec`` at ``days`` of a dataset without nominal visits: binned to a scheduled
        month by :func:`~.rules.visit_bin` in :meth:`build_visits` (it keeps its own day as its month)."""
        self.binned.append((rec, days, where_time))

    def _bin(self, note_source: str) -> tuple[list[Record], dict[str, str]]:
        """The visits of the binned measurements: ``M<m>`` per scheduled month with a value in its window
        (one value per patient and measure: the nearest to the scheduled day; the others, and the values
        outside every window, at an unscheduled visit ``D<day>`` of their own day, in no visit summary)."""
        fmt = data.format_number
        w = VISIT_WINDOW_DAYS
        best: dict[tuple, tuple[float, int]] = {}  # (patient, measure, month) -> (distance, index)
        months = []
        for i, (rec, days, _wt) in enumerate(self.binned):
            m = visit_bin(days)
            months.append(m)
            if m is None:
                continue
            key = (rec.cells["patient_id"], rec.cells["measure"], m)
            dist = abs(days - m * data.DAYS_PER_MONTH)
            if key not in best or dist < best[key][0]:
                best[key] = (dist, i)
        visits: dict[str, Record] = {}
        seen_day: set[tuple] = set()
        outside = 0
        for i, (rec, days, wt) in enumerate(self.binned):
            m = months[i]
            key = (rec.cells["patient_id"], rec.cells["measure"], m)
            if m is not None and best[key][1] == i:
                name, vmonth = f"M{m}", fmt(m)
                if name not in visits:
                    v = Record(rec.src, rec.line)
                    v.set("visit", name, None)
                    v.set("month", vmonth, None)
                    v.set("label", f"Month {m}", None)
                    v.set("month_stated", "false", None)
                    v.set("window_days", fmt(w), None)
                    v.set("scheduled", "true", None)
                    v.set("note", f"binned: the values of {note_source} within {w} days of month {m} "
                                  f"(day {fmt(round(m * data.DAYS_PER_MONTH, 1))})", None)
                    visits[name] = v
            else:
                dkey = (rec.cells["patient_id"], rec.cells["measure"], days)
                if dkey in seen_day:
                    self.warn(rec.src, rec.line, wt[2], "value skipped (same day)",
                              f"a second {rec.cells['measure']} value of patient {rec.cells['patient_id']} on day "
                              f"{fmt(days)}: skipped (the first is kept)")
                    rec.cells["_skip"] = "1"
                    continue
                seen_day.add(dkey)
                name = f"D{fmt(days)}"
                if m is None:
                    outside += 1
                    self.warn(rec.src, rec.line, wt[2], "value outside every visit window",
                              f"day {fmt(days)} is more than {w} days from every scheduled month: kept at its "
                              f"own day (unscheduled visit {name}), in no visit summary")
                else:
                    other = self.binned[best[key][1]][1]
                    self.warn(rec.src, rec.line, wt[2], "second value in a visit window",
                              f"{rec.cells['measure']} of patient {rec.cells['patient_id']} on day {fmt(days)} "
                              f"and on day {fmt(other)} in the window of month {m}: the one nearer the scheduled "
                              f"day is at visit M{m}, this one at its own day (unscheduled visit {name}), in no "
                              "visit summary")
                if name not in visits:
                    v = Record(rec.src, rec.line)
                    v.set("visit", name, None)
                    v.set("month", fmt(day_to_month(days)), None)
                    v.set("label", f"Day {fmt(days)} (unscheduled)", None)
                    v.set("month_stated", "false", None)
                    v.set("window_days", "", None)
                    v.set("scheduled", "false", None)
                    v.set("note", f"unscheduled: a value of {note_source} outside every visit window, or a "
                                  "second one in a window", None)
                    visits[name] = v
            rec.set("visit", name, wt[2])
            rec.set("month", fmt(day_to_month(days)), wt[2])
        if self.binned:
            self.imp.notes.append(
                f"no nominal visits: {sum(1 for v in visits.values() if v.cells['scheduled'] == 'true')} "
                f"scheduled months from the days of {note_source} (each value at the nearest whole month within "
                f"{w} days; it keeps its own day for patient lines and slopes); {outside} value(s) outside every "
                "window kept at their own day, in no visit summary")
        return list(visits.values()), {}

    def build_visits(self, note_source: str):
        fmt = data.format_number
        visits: list[Record] = []
        month_of: dict[str, str] = {}
        for name, entries in self.visit_recs.items():
            label, (kind, _v), first, where_visit, where_time = entries[0]
            vals = [e[1][1] for e in entries]
            if kind == "days":
                mid = statistics.median(vals)
                month = day_to_month(mid)
                lo, hi = min(vals), max(vals)
                # ADaM: ADY, or the unit an AVISIT states ("from ADaM AVISIT")
                source = f"ADaM {where_time[2]}" if note_source.startswith("ADaM") and where_time[2] else note_source
                note = f"from {source}" + ("" if lo == hi else f" (median of days {fmt(lo)} to {fmt(hi)})")
            else:
                month = vals[0]
                note = f"from {note_source.split()[0]} AVISITN"
                for _l, (_k, v), rec, _wv, wt in entries[1:]:
                    if v != month:
                        self.problem(rec.src, rec.line, wt[2], f"AVISITN {fmt(v)} contradicts "
                                     f"{fmt(month)} given for visit {label!r} at row {first.line}")
            month_of[name] = fmt(month)
            v = Record(first.src, first.line)
            v.set("visit", name, where_visit[2])
            v.set("month", month_of[name], where_time[2])
            v.set("label", label, where_visit[2])
            v.set("month_stated", "true", None)
            v.set("note", note, None)
            visits.append(v)
        for rec, visit in self.meas:
            rec.set("month", month_of[visit], rec.where["month"][2])
        meas = [rec for rec, _v in self.meas]
        if self.binned:
            binned_visits, _ = self._bin(note_source)
            clash = {v.cells["visit"] for v in binned_visits} & set(month_of)
            for name in sorted(clash):
                self.file_problem(self.binned[0][0].src.name, f"visit {name!r} is both a nominal visit (Visit "
                                                               "column) and a binned month: rename the visit")
            visits += binned_visits
            meas += [rec for rec, _d, _w in self.binned if "_skip" not in rec.cells]
        visits.sort(key=lambda r: float(r.cells["month"]))
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
