"""The DSMB's safety review (issue 14): summary table, body system → preferred term, deaths, timelines.

Every function takes plain inputs -- the adverse-event frame (``Dataset.adverse_events``, or
``Dataset.all_adverse_events`` where non-emergent events belong), the patient ids of the cohort, and an
optional grouping: ``group_of`` (patient id → group key) and ``order`` (the group keys in display order,
the **control first**) -- and returns a frozen dataclass with ``to_dict()`` for JSON.  A patient of the
cohort whose group is not in ``order`` (or who has none) counts in the overall column only.

Definitions (the summary table's rows, :data:`SUMMARY_ROWS`):

- **any**: any adverse event in the frame given (the dataset's events are the treatment-emergent ones where
  it flags emergence: ADaM ``TRTEMFL``; the label then says "treatment-emergent").
- **serious**: ``serious`` is true.
- **related**: ``related`` is true, as recorded: an event whose relationship is not recorded is never
  counted as not related; where no event of the frame has a recorded relationship, the row is "not recorded".
- **severe**: severity ``Severe`` or ``Death``: the importers map ``SEVERE``, ``LIFE THREATENING`` and CTCAE
  grades 3-4 to ``Severe``, ``FATAL`` and grade 5 to ``Death`` (data/README.md), so this is "severe or worse"
  and "CTCAE grade ≥ 3".
- **withdrawal**: the action taken contains, in any case, one of :data:`WITHDRAWAL_WORDS` ("DRUG WITHDRAWN",
  "withdrawn", "withdrawal", "discontinued", "discontinuation"); an empty action is not recorded.
- **fatal**: severity ``Death`` (an ADaM/PRO-ACT outcome ``FATAL``/``Death`` is read as severity ``Death``).

Each row counts patients (n and % of the group's patients in the cohort) and events, per group and overall,
and how many events lack the value the row needs ("not recorded": never counted as "no").

Risk differences (:func:`risk_difference`) are the group's proportion of patients minus the control's, with a
95% **Newcombe hybrid score interval** (Newcombe 1998, method 10: from the two Wilson score intervals), which
keeps inside [-1, 1] and behaves at 0 and n events where the Wald interval does not.

Pure: no Dash import, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import DAYS_PER_MONTH, MEASURES, natural_key

#: The z of a two-sided 95% interval (scipy.stats.norm.ppf(0.975)).
Z95 = 1.959963984540054
#: Words of ``action`` that mean the event led to withdrawal or discontinuation (matched in any case, anywhere
#: in the text): CDISC AEACN "DRUG WITHDRAWN", and sponsors' "Study drug discontinued", "Withdrawal from study"...
WITHDRAWAL_WORDS = ("DRUG WITHDRAWN", "withdrawn", "withdrawal", "discontinued", "discontinuation")
_WITHDRAWAL_RE = re.compile("|".join(re.escape(w) for w in WITHDRAWAL_WORDS), re.I)
#: Severities that are "severe or worse".
SEVERE_OR_WORSE = ("Severe", "Death")
#: The body system of events whose dataset (or record) gives none.
NOT_CODED = "Not coded"
#: Why a dataset has no timelines.
NO_START_DAYS = "this dataset records event durations but no start days"
NO_EVENT_DAYS = "this dataset records no event days"
#: The sources of a death, as the listing names them.
SOURCE_DIED = "patients.died"
SOURCE_DEATH_DAY = "patients.death_day"
SOURCE_FATAL_EVENT = "adverse event outcome/severity Death"
#: The kinds of a death's source conflict.
MEASURED_AFTER_DEATH = "measured after death"
DIED_FALSE_FATAL_EVENT = "died false but fatal event"

#: The summary rows: (key, label, definition).
SUMMARY_ROWS = (
    ("any", "Any adverse event", "any adverse event"),
    ("serious", "Serious adverse event", "serious = true"),
    ("related", "Related adverse event", "related = true, as recorded (not recorded is never 'not related')"),
    ("severe", "Severe or worse", "severity Severe or Death (CTCAE grade >= 3 as the importers map it)"),
    ("withdrawal", "Leading to withdrawal or discontinuation",
     "action taken contains " + ", ".join(f'"{w}"' for w in WITHDRAWAL_WORDS) + " (any case)"),
    ("fatal", "Fatal", "severity Death (outcome FATAL)"),
)


# ---------------------------------------------------------------- counts and risk differences


@dataclass(frozen=True)
class Count:
    """Patients with at least one event of a kind among ``denominator`` patients, and the events."""

    patients: int
    events: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.patients / self.denominator if self.denominator else None

    def to_dict(self) -> dict:
        return {"patients": self.patients, "events": self.events, "denominator": self.denominator,
                "percent": self.percent}


@dataclass(frozen=True)
class Interval:
    """A difference of two proportions (group − control) and its confidence interval, as proportions."""

    difference: float | None
    lower: float | None
    upper: float | None

    def to_dict(self) -> dict:
        return {"difference": self.difference, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class RiskDifference:
    """One group against the control: the difference of the shares of patients, with its 95% CI."""

    group: str
    control: str
    difference: float | None
    lower: float | None
    upper: float | None
    method: str = "Newcombe hybrid score (Wilson), 95%"

    def to_dict(self) -> dict:
        return {"group": self.group, "control": self.control, "difference": self.difference,
                "lower": self.lower, "upper": self.upper, "method": self.method}


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k of n (n > 0)."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def risk_difference(k1: int, n1: int, k0: int, n0: int, z: float = Z95) -> Interval:
    """k1/n1 − k0/n0 with the Newcombe hybrid score interval (method 10); all None when a group is empty."""
    if not n1 or not n0:
        return Interval(None, None, None)
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson_interval(k1, n1, z)
    l0, u0 = wilson_interval(k0, n0, z)
    d = p1 - p0
    return Interval(d, d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
                    d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2))


def _differences(counts: Sequence[Count], order: Sequence[str]) -> tuple[RiskDifference, ...]:
    """Each group after the first (the control) against the control."""
    if len(order) < 2:
        return ()
    c = counts[0]
    out = []
    for g, x in zip(order[1:], counts[1:]):
        iv = risk_difference(x.patients, x.denominator, c.patients, c.denominator)
        out.append(RiskDifference(g, order[0], iv.difference, iv.lower, iv.upper))
    return tuple(out)


# ---------------------------------------------------------------- the cohort and its groups


@dataclass(frozen=True)
class _Frame:
    """The events of the cohort with their group, and the groups' sizes."""

    ae: pd.DataFrame
    order: tuple[str, ...]
    group_n: tuple[int, ...]
    n: int
    #: per row of ``ae``: its patient as an integer code, and its group's position in ``order`` (-1: none)
    patient_code: np.ndarray
    group_code: np.ndarray


def _prepare(ae: pd.DataFrame, patient_ids: Sequence[str], group_of: Mapping[str, str] | None,
             order: Sequence[str] | None) -> _Frame:
    ids = [str(p) for p in patient_ids]
    order = tuple(order or ())
    group_of = group_of or {}
    groups = pd.Series([group_of.get(p) for p in ids], dtype=object)
    group_n = tuple(int((groups == g).sum()) for g in order)
    a = ae[ae["patient_id"].astype(str).isin(ids)].copy()
    a["patient_id"] = a["patient_id"].astype(str)
    a["_group"] = a["patient_id"].map(lambda p: group_of.get(p))
    a = a.reset_index(drop=True)
    at = {g: i for i, g in enumerate(order)}
    return _Frame(a, order, group_n, len(ids), pd.factorize(a["patient_id"])[0].astype(np.int64),
                  np.array([at.get(g, -1) for g in a["_group"]], dtype=np.int64))


def _counts(f: _Frame, sel: pd.Series) -> tuple[tuple[Count, ...], Count]:
    """Per group (in order) and overall: patients and events of the rows ``sel`` selects (integer codes: called
    once per row of the summary and per term of the hierarchy)."""
    m = np.asarray(sel, dtype=bool)
    patients, groups = f.patient_code[m], f.group_code[m]
    per = []
    for i, n in enumerate(f.group_n):
        mine = patients[groups == i]
        per.append(Count(len(np.unique(mine)), len(mine), n))
    return tuple(per), Count(len(np.unique(patients)), len(patients), f.n)


def _col(a: pd.DataFrame, name: str) -> pd.Series:
    """A column of the frame, or an all-missing one (a frame from before the column existed)."""
    return a[name] if name in a.columns else pd.Series(pd.NA, index=a.index, dtype=object)


def _flag(a: pd.DataFrame, key: str) -> tuple[pd.Series, pd.Series]:
    """(rows counted, rows whose value is not recorded) of one summary row."""
    if key == "any":
        return pd.Series(True, index=a.index), pd.Series(False, index=a.index)
    if key in ("serious", "related"):
        v = _col(a, key)
        return v.eq(True).fillna(False).astype(bool), v.isna()
    sev = _col(a, "severity")
    if key == "severe":
        return sev.isin(SEVERE_OR_WORSE).fillna(False).astype(bool), sev.isna()
    if key == "fatal":
        return sev.eq("Death").fillna(False).astype(bool), sev.isna()
    if key == "withdrawal":
        act = _col(a, "action")
        missing = act.isna() | act.astype("string").str.strip().eq("").fillna(True)
        hit = act.astype("string").str.contains(_WITHDRAWAL_RE, na=False).astype(bool)
        return hit & ~missing, missing.astype(bool)
    raise ValueError(f"unknown summary row {key!r}")


def emergence_flagged(ae: pd.DataFrame) -> bool:
    """Whether the frame says which events are treatment-emergent (its ``treatment_emergent`` has values)."""
    return "treatment_emergent" in ae.columns and bool(ae["treatment_emergent"].notna().any())


# ---------------------------------------------------------------- the summary table


@dataclass(frozen=True)
class SummaryRow:
    """One row of the DSMB summary: patients and events of one kind, per group and overall.

    ``recorded`` is False where no event of the cohort has the value the row needs (a source without a
    relationship, an action): the row then reads "not recorded", not 0. ``not_recorded``: patients and events
    whose value is missing (never counted as "no")."""

    key: str
    label: str
    definition: str
    counts: tuple[Count, ...]
    overall: Count
    not_recorded: Count
    recorded: bool
    risk_differences: tuple[RiskDifference, ...] = ()

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "definition": self.definition, "recorded": self.recorded,
                "groups": [c.to_dict() for c in self.counts], "overall": self.overall.to_dict(),
                "not_recorded": {"patients": self.not_recorded.patients, "events": self.not_recorded.events},
                "risk_differences": [r.to_dict() for r in self.risk_differences]}


@dataclass(frozen=True)
class SafetySummary:
    """The summary table: ``rows`` in :data:`SUMMARY_ROWS` order; ``groups`` in display order (control first)."""

    groups: tuple[str, ...]
    group_n: tuple[int, ...]
    n: int
    treatment_emergent: bool
    rows: tuple[SummaryRow, ...]

    def row(self, key: str) -> SummaryRow:
        return next(r for r in self.rows if r.key == key)

    def to_dict(self) -> dict:
        return {"groups": [{"group": g, "patients": n} for g, n in zip(self.groups, self.group_n)],
                "patients": self.n, "treatment_emergent": self.treatment_emergent,
                "rows": [r.to_dict() for r in self.rows]}


def summary(ae: pd.DataFrame, patient_ids: Sequence[str], group_of: Mapping[str, str] | None = None,
            order: Sequence[str] | None = None) -> SafetySummary:
    """The DSMB summary table (definitions in the module docstring) of the cohort ``patient_ids``."""
    f = _prepare(ae, patient_ids, group_of, order)
    te = emergence_flagged(f.ae)
    rows = []
    for key, label, definition in SUMMARY_ROWS:
        hit, missing = _flag(f.ae, key)
        per, overall = _counts(f, hit)
        _, nr = _counts(f, missing)
        recorded = len(f.ae) == 0 or bool((~missing).any())
        if key == "any" and te:
            label, definition = "Any treatment-emergent adverse event", "any treatment-emergent adverse event"
        rows.append(SummaryRow(key, label, definition, per, overall, nr, recorded,
                               _differences(per, f.order) if recorded else ()))
    return SafetySummary(f.order, f.group_n, f.n, te, tuple(rows))


# ---------------------------------------------------------------- body system → preferred term


@dataclass(frozen=True)
class TermRow:
    """One preferred term (the verbatim term where the record has none) within its body system."""

    body_system: str
    term: str
    counts: tuple[Count, ...]
    overall: Count
    risk_differences: tuple[RiskDifference, ...] = ()

    def to_dict(self) -> dict:
        return {"body_system": self.body_system, "term": self.term, "groups": [c.to_dict() for c in self.counts],
                "overall": self.overall.to_dict(), "risk_differences": [r.to_dict() for r in self.risk_differences]}


@dataclass(frozen=True)
class BodySystemRow:
    """One body system: its patients (with any of its terms) and events, and its terms sorted by frequency."""

    body_system: str
    counts: tuple[Count, ...]
    overall: Count
    terms: tuple[TermRow, ...]
    risk_differences: tuple[RiskDifference, ...] = ()

    def to_dict(self) -> dict:
        return {"body_system": self.body_system, "groups": [c.to_dict() for c in self.counts],
                "overall": self.overall.to_dict(), "risk_differences": [r.to_dict() for r in self.risk_differences],
                "terms": [t.to_dict() for t in self.terms]}


@dataclass(frozen=True)
class Hierarchy:
    """Body system → preferred term incidence, body systems by frequency, then their terms by frequency.

    ``total``/``total_counts``: patients with any event and all events (the flat counts the levels add up to:
    the events of the body systems sum to ``total.events``, those of a system's terms to the system's).
    ``coded``: some event has a body system; ``verbatim_terms``: events counted under their verbatim term (no
    preferred term)."""

    groups: tuple[str, ...]
    group_n: tuple[int, ...]
    n: int
    body_systems: tuple[BodySystemRow, ...]
    total_counts: tuple[Count, ...]
    total: Count
    coded: bool
    verbatim_terms: int

    @property
    def n_terms(self) -> int:
        return len({t.term for b in self.body_systems for t in b.terms})

    def to_dict(self) -> dict:
        return {"groups": [{"group": g, "patients": n} for g, n in zip(self.groups, self.group_n)],
                "patients": self.n, "coded": self.coded, "verbatim_terms": self.verbatim_terms,
                "total": {"groups": [c.to_dict() for c in self.total_counts], "overall": self.total.to_dict()},
                "body_systems": [b.to_dict() for b in self.body_systems]}


def coded_terms(ae: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(body system, term) of each event: the body system or :data:`NOT_CODED`, the preferred term or the
    verbatim term."""
    bs = _col(ae, "body_system").astype("string").str.strip()
    bs = bs.where(bs.notna() & bs.ne(""), NOT_CODED).astype(str)
    pt = _col(ae, "preferred_term").astype("string").str.strip()
    verbatim = ae["term"].astype(str)
    term = pt.where(pt.notna() & pt.ne(""), verbatim).astype(str)
    return bs, term


def _by_frequency(rows: list, name) -> list:
    return sorted(rows, key=lambda r: (-r.overall.patients, -r.overall.events, name(r)))


def hierarchy(ae: pd.DataFrame, patient_ids: Sequence[str], group_of: Mapping[str, str] | None = None,
              order: Sequence[str] | None = None) -> Hierarchy:
    """Body system → preferred term incidence of the cohort (patients n/% per group and overall, events)."""
    f = _prepare(ae, patient_ids, group_of, order)
    a = f.ae
    bs, term = coded_terms(a)
    pt = _col(a, "preferred_term").astype("string").str.strip()
    systems = []
    bs_of, term_of = bs.to_numpy(dtype=object), term.to_numpy(dtype=object)
    for system in pd.unique(bs):
        in_sys = bs_of == system
        terms = []
        for t in pd.unique(term_of[in_sys]):
            per, overall = _counts(f, in_sys & (term_of == t))
            terms.append(TermRow(system, t, per, overall, _differences(per, f.order)))
        per, overall = _counts(f, in_sys)
        systems.append(BodySystemRow(system, per, overall, tuple(_by_frequency(terms, lambda r: r.term)),
                                     _differences(per, f.order)))
    systems = _by_frequency(systems, lambda r: (r.body_system == NOT_CODED, r.body_system))
    per, overall = _counts(f, pd.Series(True, index=a.index))
    return Hierarchy(f.order, f.group_n, f.n, tuple(systems), per, overall, bool(bs.ne(NOT_CODED).any()),
                     int((pt.isna() | pt.eq("")).sum()))


# ---------------------------------------------------------------- deaths


@dataclass(frozen=True)
class DeathConflict:
    """Two sources that disagree about one death.

    ``kind``: "measured after death" (non-simulated measurements after the death's day, or, where the death
    has no day, after day 0), or "died false but fatal event"; ``measures`` and ``last_month``: the measures
    and the last month measured (the first kind)."""

    kind: str
    message: str
    measures: tuple[str, ...] = ()
    last_month: float | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "measures": list(self.measures),
                "last_month": self.last_month}


@dataclass(frozen=True)
class Death:
    """One patient who died by some source: the cause (the fatal events' terms), the day since day 0 where
    known, the sources that say so, and the conflicts between the sources."""

    patient_id: str
    group: str | None
    cause: str | None
    day: float | None
    sources: tuple[str, ...]
    conflicts: tuple[DeathConflict, ...] = ()

    def to_dict(self) -> dict:
        return {"patient_id": self.patient_id, "group": self.group, "cause": self.cause, "day": self.day,
                "sources": list(self.sources), "conflicts": [c.to_dict() for c in self.conflicts]}


@dataclass(frozen=True)
class DeathListing:
    deaths: tuple[Death, ...]
    #: Patients with ``died`` = false and no fatal event are not listed; those with died false but a fatal event
    #: are, with the conflict.

    @property
    def patient_ids(self) -> tuple[str, ...]:
        return tuple(d.patient_id for d in self.deaths)

    @property
    def conflicts(self) -> tuple[tuple[str, DeathConflict], ...]:
        return tuple((d.patient_id, c) for d in self.deaths for c in d.conflicts)

    def of(self, patient_id: str) -> Death | None:
        return next((d for d in self.deaths if d.patient_id == str(patient_id)), None)

    def to_dict(self) -> dict:
        return {"deaths": [d.to_dict() for d in self.deaths]}


def _flag_value(v) -> bool | None:
    """A nullable boolean cell as True, False or None (not recorded)."""
    return None if v is None or pd.isna(v) else bool(v)


def _num_or_none(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def deaths(ae: pd.DataFrame, patients: pd.DataFrame, measurements: pd.DataFrame | None,
           patient_ids: Sequence[str] | None = None, group_of: Mapping[str, str] | None = None) -> DeathListing:
    """Every patient of ``patient_ids`` (default: all of ``patients``) who died by ``patients.died`` or by a fatal
    event (severity Death) in ``ae`` (pass ``Dataset.all_adverse_events`` to include non-emergent ones).

    The day: ``patients.death_day``, else the fatal event's last day (``start_day + duration_days − 1``: a
    duration counts both ends), else its start.
    Conflicts: non-simulated measurements after the death's day (where the death has no day: after day 0, as
    the shipped trial's patient 2, rated "Death" in Table 3 yet measured up to month 12); ``died`` false with a
    fatal event."""
    group_of = group_of or {}
    p = patients.assign(patient_id=patients["patient_id"].astype(str)).set_index("patient_id")
    ids = [str(i) for i in (patient_ids if patient_ids is not None else p.index)]
    # the fatal events of the patients first, then their ids as text (not every event's)
    fatal = ae[_col(ae, "severity").eq("Death").fillna(False).astype(bool).to_numpy()]
    fatal = fatal.assign(patient_id=fatal["patient_id"].astype(str))
    fatal = fatal[fatal["patient_id"].isin(ids)]
    # plain dicts: a pandas lookup per patient took 0.15 s for the 5,000 patients of a selection
    died = dict(zip(p.index, _col(p, "died").to_numpy(dtype=object)))
    death_day = dict(zip(p.index, _col(p, "death_day").to_numpy(dtype=object)))
    flags = {i: _flag_value(died[i]) for i in ids if i in died}
    with_fatal = set(fatal["patient_id"])
    listed = [i for i in ids if flags.get(i) is True or i in with_fatal]
    # per patient at once (a loop over pandas rows took 2 s for the 736 deaths of a 10,000-patient trial):
    # the fatal events' days and causes (each term once, in the events' order) ...
    start = pd.to_numeric(_col(fatal, "start_day"), errors="coerce")
    last = start + (pd.to_numeric(_col(fatal, "duration_days"), errors="coerce") - 1).clip(lower=0)
    # one min over both columns (a named .agg() costs several times as much: 3 ms of a 26-patient view)
    by_event = (pd.DataFrame({"last": last, "start": start}).groupby(fatal["patient_id"], sort=False)
                .min())
    terms: dict[str, dict[str, None]] = {}
    for pid, term in zip(fatal["patient_id"], fatal["term"].astype(str)):
        terms.setdefault(pid, {})[term] = None
    cause_of = {pid: "; ".join(t) for pid, t in terms.items()}
    # as dicts too: a .loc per patient was 0.14 s of the safety view at 10,000 patients
    event_last = dict(zip(by_event.index, by_event["last"].to_numpy(dtype=object)))
    event_start = dict(zip(by_event.index, by_event["start"].to_numpy(dtype=object)))
    days: dict[str, float | None] = {}
    for pid in listed:
        day = _num_or_none(death_day.get(pid))
        if day is None and pid in event_last:
            # the event's last day (a duration counts both ends: end − start + 1 days)
            last = _num_or_none(event_last[pid])
            day = last if last is not None else _num_or_none(event_start[pid])
        days[pid] = day
    # ... and the non-simulated measurements after each death's day (after day 0 where it has none)
    after_by: dict[str, tuple[tuple[str, ...], float]] = {}
    if listed and measurements is not None and len(measurements):
        # the listed patients' rows first (ids as text: a categorical or string column compares to text alike)
        m = measurements[measurements["patient_id"].astype(str).isin(listed).to_numpy()
                         & ~measurements["simulated"].astype(bool).to_numpy()]
        m = m.assign(patient_id=m["patient_id"].astype(str), measure=m["measure"].astype(str))
        day_of = m["patient_id"].map(days).astype(float)
        late = m[((m["month"] * DAYS_PER_MONTH > day_of + 0.5) & day_of.notna()) | (day_of.isna() & (m["month"] > 0))]
        for pid, rows in late.groupby("patient_id", sort=False):
            present = set(rows["measure"])
            after_by[str(pid)] = (tuple(c for c in MEASURES if c in present), float(rows["month"].max()))
    out = []
    for pid in sorted(listed, key=natural_key):
        sources = []
        flag = flags.get(pid)
        if flag is True:
            sources.append(SOURCE_DIED)
        has_event = pid in event_last
        day = days[pid]
        if _num_or_none(death_day.get(pid)) is not None:
            sources.append(SOURCE_DEATH_DAY)
        if has_event:
            sources.append(SOURCE_FATAL_EVENT)
        cause = cause_of.get(pid) if has_event else None
        conflicts = []
        if flag is False and has_event:
            conflicts.append(DeathConflict(DIED_FALSE_FATAL_EVENT,
                                           f"patients.died is false, yet the event {cause!r} is rated Death"))
        if pid in after_by:
            measures, last_month = after_by[pid]
            when = f"after the death on day {day:g}" if day is not None else "after day 0 (the death has no day)"
            conflicts.append(DeathConflict(
                MEASURED_AFTER_DEATH,
                f"recorded as dead, yet measured {when}: {', '.join(measures)} up to month {last_month:g}",
                measures, last_month))
        out.append(Death(pid, group_of.get(pid), cause, day, tuple(sources), tuple(conflicts)))
    return DeathListing(tuple(out))


# ---------------------------------------------------------------- timelines


@dataclass(frozen=True)
class TimelineEvent:
    """One event on a patient's time axis (days since day 0): ``end_day`` = ``start_day + duration_days``
    (the bar covers the event's days); an ongoing event ends at the patient's last contact
    (``to_last_contact``); an event without a duration that is not ongoing ends where it starts
    (``end_known`` False)."""

    term: str
    start_day: float
    end_day: float
    severity: str | None
    serious: bool | None
    fatal: bool
    ongoing: bool
    to_last_contact: bool = False
    end_known: bool = True

    def to_dict(self) -> dict:
        return {"term": self.term, "start_day": self.start_day, "end_day": self.end_day, "severity": self.severity,
                "serious": self.serious, "fatal": self.fatal, "ongoing": self.ongoing,
                "to_last_contact": self.to_last_contact, "end_known": self.end_known}


@dataclass(frozen=True)
class PatientTimeline:
    patient_id: str
    group: str | None
    events: tuple[TimelineEvent, ...]
    #: The last day the patient is known alive or seen: non-simulated measurements, event days, the death day.
    last_contact_day: float | None
    death_day: float | None = None

    @property
    def first_event_day(self) -> float | None:
        return min((e.start_day for e in self.events), default=None)

    def to_dict(self) -> dict:
        return {"patient_id": self.patient_id, "group": self.group, "last_contact_day": self.last_contact_day,
                "death_day": self.death_day, "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class Timelines:
    """Per patient with a dated event, the events against days from day 0; ``reason`` where there are none
    (no event has a start day); ``undated_events``: events of the cohort without a start day (not drawn)."""

    patients: tuple[PatientTimeline, ...]
    reason: str | None = None
    undated_events: int = 0
    order: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"reason": self.reason, "undated_events": self.undated_events,
                "patients": [p.to_dict() for p in self.patients]}


def timelines(ae: pd.DataFrame, patient_ids: Sequence[str], group_of: Mapping[str, str] | None = None,
              order: Sequence[str] | None = None, *, measurements: pd.DataFrame | None = None,
              patients: pd.DataFrame | None = None, sort: str = "group") -> Timelines:
    """The cohort's events on a time axis (days since day 0), per patient with at least one dated event.

    ``sort``: "group" (the groups in ``order``, then patients in natural order) or "first_event" (the first
    event's day, then patient). ``measurements`` and ``patients`` give the last contact and the death day."""
    if sort not in ("group", "first_event"):
        raise ValueError(f"unknown sort {sort!r}: group or first_event")
    f = _prepare(ae, patient_ids, group_of, order)
    a = f.ae
    start = pd.to_numeric(_col(a, "start_day"), errors="coerce")
    if len(a) and not start.notna().any():
        has_duration = pd.to_numeric(_col(a, "duration_days"), errors="coerce").notna().any()
        return Timelines((), NO_START_DAYS if has_duration else NO_EVENT_DAYS, len(a), f.order)
    if not len(a):
        return Timelines((), None, 0, f.order)
    duration = pd.to_numeric(_col(a, "duration_days"), errors="coerce")
    last_seen: dict[str, float] = {}
    if measurements is not None and len(measurements):
        m = measurements[~measurements["simulated"].astype(bool)]
        last = (m["month"] * DAYS_PER_MONTH).groupby(m["patient_id"].astype(str), observed=True).max()
        last_seen = {str(k): float(v) for k, v in last.items() if not pd.isna(v)}
    death_day: dict[str, float] = {}
    if patients is not None and "death_day" in patients.columns:
        death_day = {str(k): float(v) for k, v in zip(patients["patient_id"], patients["death_day"]) if not pd.isna(v)}
    ends = (start + duration).where(duration.notna(), start)
    out = []
    for pid, rows in a[start.notna()].groupby("patient_id", sort=False):
        idx = rows.index
        contact = max([v for v in (last_seen.get(pid), death_day.get(pid), float(ends[idx].max()))
                       if v is not None])
        events = []
        for i in idx:
            ongoing = bool(_flag_value(a.at[i, "ongoing"]) or False)
            known = not pd.isna(duration[i])
            if known:
                end = float(start[i] + duration[i])
            else:
                end = contact if ongoing else float(start[i])
            sev = a.at[i, "severity"]
            sev = None if pd.isna(sev) else str(sev)
            events.append(TimelineEvent(str(a.at[i, "term"]), float(start[i]), end, sev,
                                        _flag_value(a.at[i, "serious"]), sev == "Death",
                                        ongoing, ongoing and not known, known))
        events.sort(key=lambda e: (e.start_day, e.term))
        out.append(PatientTimeline(pid, (group_of or {}).get(pid), tuple(events), contact, death_day.get(pid)))
    rank = {g: i for i, g in enumerate(f.order)}
    if sort == "group":
        out.sort(key=lambda t: (rank.get(t.group, len(rank)), natural_key(t.patient_id)))
    else:
        out.sort(key=lambda t: (t.first_event_day, natural_key(t.patient_id)))
    return Timelines(tuple(out), None, int(start.isna().sum()), f.order)


__all__ = [
    "Count", "Interval", "RiskDifference", "SummaryRow", "SafetySummary", "TermRow", "BodySystemRow", "Hierarchy",
    "DeathConflict", "Death", "DeathListing", "TimelineEvent", "PatientTimeline", "Timelines",
    "summary", "hierarchy", "risk_difference", "wilson_interval", "deaths", "timelines", "coded_terms",
    "emergence_flagged", "SUMMARY_ROWS", "WITHDRAWAL_WORDS", "NOT_CODED", "Z95",
]
