"""The one filter model shared by the dashboard, its URL, the CLI and reports.

A :class:`CohortFilter` says which patients a view rests on: a population
(``safety``, ``efficacy``, ``progressors``, ``stable``, or ``compare`` =
progressors and stable side by side), the progressor threshold, and subgroup
filters.  :func:`select` applies it to a dataset and returns a
:class:`Cohort`: the patient ids, their progression group, and n.

Progressors and stable patients are derived from the data, never listed by
hand: the pre-treatment decline is the ALSFRS value at the earliest visit
before day 0 minus the value at day 0; an efficacy patient is a progressor
if it is at least ``min_decline`` and stable otherwise; an efficacy patient
lacking either value is *unclassified* (counted, never silently dropped).

The filter converts to and from URL query parameters and CLI options with
the same names (``age_min`` in a URL is ``--age-min`` on the command line), and
from the dashboard's filter controls (:meth:`CohortFilter.from_controls`).
Category filters (:data:`CATEGORIES`) and range filters (:data:`RANGES`) are
declared once here: the URL parameters, the CLI options, the dashboard's
checklists and sliders and their callback are all generated from them.  A new
category filter is a :class:`Category` in ``CATEGORIES`` plus a field of the
same name in :class:`CohortFilter` (and its column in ``data.SCHEMA["patients.csv"]``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from .data import MEASURES, ONSETS, SEXES, Dataset, functional_measure, sort_patient_ids

#: The populations a filter chooses from (URL ``cohort=``, CLI ``--cohort``), in the order the dashboard lists them.
POPULATIONS = SAFETY_POPULATION, EFFICACY_POPULATION, PROGRESSORS, STABLE_PATIENTS, COMPARE = (
    "safety", "efficacy", "progressors", "stable", "compare")
DEFAULT_POPULATION = SAFETY_POPULATION
#: Populations that rest on the progressor/stable classification (and so on the threshold).
PROGRESSION_POPULATIONS = (PROGRESSORS, STABLE_PATIENTS, COMPARE)
POPULATION_LABELS = {
    SAFETY_POPULATION: "Safety population (all enrolled)",
    EFFICACY_POPULATION: "Efficacy population",
    PROGRESSORS: "Progressors",
    STABLE_PATIENTS: "Stable",
    COMPARE: "Progressors vs stable",
}
#: What the patients can be grouped by (URL ``group=``, CLI ``--group``): each group is drawn, summarised and
#: tabulated on its own.  ``cohort=compare`` is the efficacy patients classified, grouped by progression.
GROUPINGS = ("arm", "progression", "sex", "onset")
GROUPING_LABELS = {"arm": "Treatment arm", "progression": "Progression group", "sex": "Sex", "onset": "Onset"}
#: The group of the patients whose grouping attribute is not recorded (always last).
NOT_RECORDED_GROUP = "not recorded"
#: An arm whose name says it is the control (placebo, sham, ...) comes first and is drawn in grey.
CONTROL_ARM = re.compile(r"placebo|control|sham|vehicle|standard of care|usual care|best supportive care", re.I)
DEFAULT_MIN_DECLINE = 2.0
#: Accepted progressor thresholds (points): above 0, at most this.
MAX_MIN_DECLINE = 1000

PROGRESSOR, STABLE, UNCLASSIFIED, NOT_EFFICACY = "progressor", "stable", "unclassified", "not in efficacy population"

#: Range filters: (field name, URL/CLI stem, patient-table column, label, unit).
RANGES = (
    ("age", "age", "age", "Age", "years"),
    ("disease_duration", "duration", "disease_duration_months", "Disease duration", "months"),
    ("baseline_alsfrs", "alsfrs", "baseline_FS", "Baseline ALSFRS / ALSFRS-R", "points"),
    ("delta_fs", "deltafs", "delta_fs", "Pre-treatment progression rate ΔFS", "points/month"),
    ("baseline_fvc", "fvc", "baseline_FVC", "Baseline FVC", "% predicted"),
)


def range_label(name: str, label: str, scale: str) -> str:
    """A range filter's label in the dataset's words: the baseline score names the rating scale in use."""
    return f"Baseline {scale}" if name == "baseline_alsfrs" else label


#: Upper bound on the number of ids accepted in a patient list (URL, CLI).
MAX_PATIENT_IDS = 100_000


class Category(NamedTuple):
    """A category filter: the patients whose ``column`` holds one of the chosen values."""

    #: CohortFilter field (a tuple of chosen values; empty = no filter).
    field: str
    #: URL parameter and CLI option stem (``sex`` -> ``?sex=F,M`` and ``--sex F,M``).
    param: str
    #: Column of the patient table.
    column: str
    #: Label of the dashboard's checklist; lower-cased in descriptions and messages.
    label: str
    #: The values one can choose, in the order the checklist shows them.
    choices: tuple[str, ...]


#: Category filters, in the order of the dashboard's checklists, the URL parameters and the descriptions.
CATEGORIES = (
    Category("sex", "sex", "sex", "Sex", SEXES),
    Category("onset", "onset", "onset", "Onset", ONSETS),
)


@dataclass(frozen=True)
class CohortFilter:
    population: str = DEFAULT_POPULATION
    min_decline: float = DEFAULT_MIN_DECLINE
    sex: tuple[str, ...] = ()
    onset: tuple[str, ...] = ()
    age: tuple[float | None, float | None] = (None, None)
    disease_duration: tuple[float | None, float | None] = (None, None)
    baseline_alsfrs: tuple[float | None, float | None] = (None, None)
    baseline_fvc: tuple[float | None, float | None] = (None, None)
    delta_fs: tuple[float | None, float | None] = (None, None)
    patients: tuple[str, ...] = ()
    #: "" (one group) or one of GROUPINGS
    group_by: str = ""

    def __post_init__(self):
        if self.population not in POPULATIONS:
            raise ValueError(f"unknown population {self.population!r} (choose from {', '.join(POPULATIONS)})")
        if self.group_by not in ("", *GROUPINGS):
            raise ValueError(f"unknown grouping {self.group_by!r} (choose from {', '.join(GROUPINGS)})")
        if not (isinstance(self.min_decline, (int, float)) and math.isfinite(self.min_decline)):
            raise ValueError(f"threshold must be a finite number, not {self.min_decline!r}")
        for cat in CATEGORIES:
            for value in getattr(self, cat.field):
                if value not in cat.choices:
                    raise ValueError(f"unknown {cat.label.lower()} {value!r} (choose from {', '.join(cat.choices)})")
        for name, *_ in RANGES:
            lo, hi = getattr(self, name)
            for v in (lo, hi):
                if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v)):
                    raise ValueError(f"{name} bound must be a finite number, not {v!r}")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{name}: minimum {lo:g} is above maximum {hi:g}")

    # ---- words

    def describe(self, scale: str = "ALSFRS") -> str:
        """The filter in words, e.g. for a report or a presentation caption (``scale``: the rating scale's name)."""
        parts = [POPULATION_LABELS[self.population]]
        if self.uses_progression:
            parts.append(f"progressor = {scale} fall of at least {self.min_decline:g} points before day 0")
        for cat in CATEGORIES:
            chosen = getattr(self, cat.field)
            if chosen:
                parts.append(f"{cat.label.lower()} " + " or ".join(chosen))
        for name, _stem, _col, label, unit in RANGES:
            lo, hi = getattr(self, name)
            label = range_label(name, label, scale)
            if lo is not None and hi is not None:
                parts.append(f"{label.lower()} {lo:g}-{hi:g} {unit}")
            elif lo is not None:
                parts.append(f"{label.lower()} at least {lo:g} {unit}")
            elif hi is not None:
                parts.append(f"{label.lower()} at most {hi:g} {unit}")
        if self.patients:
            shown = ", ".join(self.patients[:20]) + (" ..." if len(self.patients) > 20 else "")
            parts.append(f"patients {shown}")
        if self.group_by and self.population != COMPARE:
            parts.append(f"by {GROUPING_LABELS[self.group_by].lower()}")
        return "; ".join(parts)

    @property
    def is_default(self) -> bool:
        return self == CohortFilter()

    @property
    def grouping(self) -> str:
        """What the patients are grouped by: ``group_by``, progression for the comparison, "" for none."""
        return "progression" if self.population == COMPARE else self.group_by

    @property
    def is_comparison(self) -> bool:
        """The patients are shown in groups side by side (grouped by arm, progression, sex or onset)."""
        return bool(self.grouping)

    @property
    def uses_progression(self) -> bool:
        """The population or the grouping rests on the progressor/stable classification (and so on ``min_decline``)."""
        return self.population in PROGRESSION_POPULATIONS or self.group_by == "progression"

    # ---- URL

    def to_params(self) -> dict[str, str]:
        """Query parameters for this filter (defaults omitted)."""
        out: dict[str, str] = {}
        if self.population != DEFAULT_POPULATION:
            out["cohort"] = self.population
        if self.min_decline != DEFAULT_MIN_DECLINE:
            out["threshold"] = _num(self.min_decline)
        for cat in CATEGORIES:
            chosen = getattr(self, cat.field)
            if chosen:
                out[cat.param] = ",".join(chosen)
        for name, stem, *_ in RANGES:
            lo, hi = getattr(self, name)
            if lo is not None:
                out[f"{stem}_min"] = _num(lo)
            if hi is not None:
                out[f"{stem}_max"] = _num(hi)
        if self.patients:
            out["patients"] = ",".join(self.patients)
        if self.group_by and self.population != COMPARE:
            out["group"] = self.group_by
        return out

    @classmethod
    def from_params(cls, params: dict[str, str]) -> tuple[CohortFilter, list[str]]:
        """Parse query parameters; invalid ones are ignored and named in the returned notices."""
        notices: list[str] = []
        kw: dict = {}

        def get(key):
            v = params.get(key)
            if isinstance(v, (list, tuple)):
                v = v[-1] if v else None
            return None if v is None else str(v)

        v = get("cohort")
        if v is not None:
            if v in POPULATIONS:
                kw["population"] = v
            else:
                notices.append(f"cohort={v!r} ignored: choose from {', '.join(POPULATIONS)}")
        v = get("threshold")
        if v is not None:
            num = _number(v)
            if num is None or not 0 < num <= MAX_MIN_DECLINE:
                notices.append(f"threshold={v!r} ignored: not a positive number")
            else:
                kw["min_decline"] = num
        for cat in CATEGORIES:
            v = get(cat.param)
            if v is None:
                continue
            # an unencoded '+' arrives as a space: 'spinal bulbar' means 'spinal+bulbar'
            items = [i.strip().replace(" ", "+") for i in v.split(",") if i.strip()]
            good = tuple(dict.fromkeys(i for i in items if i in cat.choices))
            bad = [i for i in items if i not in cat.choices]
            if bad:
                notices.append(f"{cat.param}={','.join(bad)!r} ignored: choose from {', '.join(cat.choices)}")
            if good:
                kw[cat.field] = good
        for name, stem, *_ in RANGES:
            lo_s, hi_s = get(f"{stem}_min"), get(f"{stem}_max")
            lo, hi = (_number(lo_s) if lo_s is not None else None), (_number(hi_s) if hi_s is not None else None)
            for key, raw, val in ((f"{stem}_min", lo_s, lo), (f"{stem}_max", hi_s, hi)):
                if raw is not None and val is None:
                    notices.append(f"{key}={raw!r} ignored: not a number")
            if lo is not None and hi is not None and lo > hi:
                notices.append(f"{stem}_min={lo:g} and {stem}_max={hi:g} ignored: minimum above maximum")
                continue
            if lo is not None or hi is not None:
                kw[name] = (lo, hi)
        v = get("patients")
        if v is not None:
            ids, bad = parse_patient_list(v)
            if bad:
                notices.append(f"patients: {bad}")
            if ids:
                kw["patients"] = ids
        v = get("group")
        if v is not None and v != "":
            if v in GROUPINGS:
                kw["group_by"] = v
            else:
                notices.append(f"group={v!r} ignored: choose from {', '.join(GROUPINGS)}")
        return cls(**kw), notices

    @classmethod
    def from_controls(
        cls,
        population,
        threshold,
        categories: Mapping[str, object],
        ranges: Mapping[str, object],
        patients,
        bounds: Mapping[str, tuple[float, float]],
        known_patients: Iterable[str],
        group_by=None,
    ) -> tuple[CohortFilter, list[str]]:
        """The filter the dashboard's controls show, from their raw values as the browser sends them.

        ``categories``: field name -> the checklist's values; ``ranges``: field name -> the range slider's
        ``[low, high]``; ``bounds``: field name -> the slider's full extent: a value at (or beyond) a bound is
        no limit on that side, and a low above the high is none on either.  Values out of bounds are dropped
        (an unknown population or value, a threshold not in (0, 1000], patients not in ``known_patients``);
        a filter that still does not validate is the default filter with a "Filters reset" notice.
        """
        kw: dict = {}
        if population in POPULATIONS:
            kw["population"] = population
        notices: list[str] = []
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 < threshold <= MAX_MIN_DECLINE:
            kw["min_decline"] = float(threshold)
        elif threshold is not None:
            notices.append(f"progressor threshold {threshold!r} ignored: it must be above 0 and at most "
                           f"{MAX_MIN_DECLINE:g} points; {DEFAULT_MIN_DECLINE:g} is used")
        for cat in CATEGORIES:
            kw[cat.field] = tuple(v for v in (categories.get(cat.field) or []) if v in cat.choices)
        for name, *_ in RANGES:
            kw[name] = _clamped(ranges.get(name), *bounds[name])
        known = known_patients if isinstance(known_patients, (set, frozenset, dict)) else set(known_patients)
        kw["patients"] = tuple(p for p in (patients or []) if isinstance(p, str) and p in known)
        if group_by in GROUPINGS:
            kw["group_by"] = group_by
        try:
            return cls(**kw), notices
        except ValueError as exc:
            return cls(), [*notices, f"Filters reset: {exc}"]

    def with_(self, **changes) -> CohortFilter:
        return replace(self, **changes)


def _clamped(value, lo_bound: float, hi_bound: float) -> tuple[float | None, float | None]:
    """A range slider's ``[low, high]`` as a filter range: None at (or beyond) a bound; (None, None) if low > high."""
    try:
        lo, hi = (float(value[0]), float(value[1])) if value else (lo_bound, hi_bound)
    except (TypeError, ValueError, IndexError, KeyError):
        lo, hi = lo_bound, hi_bound
    out = (lo if lo > lo_bound else None, hi if hi < hi_bound else None)
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        return None, None
    return out


def _num(v: float) -> str:
    """A number for a URL or CLI: exact enough to round-trip (10 significant digits)."""
    return f"{v:.10g}"


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        v = float(str(text).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_patient_list(text: str) -> tuple[tuple[str, ...], str | None]:
    """``"1, 4,7"`` -> ``("1", "4", "7")``, and a problem description or None."""
    from .data import PATIENT_ID_RE

    items = [i.strip() for i in str(text).split(",") if i.strip()]
    if len(items) > MAX_PATIENT_IDS:
        return (), f"more than {MAX_PATIENT_IDS} ids ignored"
    good = tuple(dict.fromkeys(i for i in items if PATIENT_ID_RE.match(i)))
    bad = [i for i in items if not PATIENT_ID_RE.match(i)]
    return good, (f"invalid id(s) {', '.join(repr(b[:40]) for b in bad[:5])} ignored" if bad else None)


# ---------------------------------------------------------------- per-patient table


@functools.lru_cache(maxsize=16)
def patient_frame(dataset: Dataset) -> pd.DataFrame:
    """One row per patient: attributes, baseline values and the pre-treatment decline.

    ``baseline_<MEASURE>`` is the last value at or before day 0.
    ``decline`` is the functional scale (ALSFRS, else ALSFRS-R) at its earliest
    pre-treatment visit minus its value at day 0 (NaN where either is missing);
    ``baseline_FS`` its last value at or before day 0; ``delta_fs`` the
    pre-treatment progression rate (scale maximum - day-0 score) / disease
    duration in months.
    Memoised per dataset (datasets are immutable).
    """
    p = dataset.patients.set_index("patient_id")
    m = dataset.measurements
    pre = m[m["month"] <= 0]
    if len(pre):
        last = pre.sort_values("month", kind="stable").groupby(["patient_id", "measure"], observed=True)["value"].last()
        base = last.unstack("measure")
    else:
        base = pd.DataFrame(index=pd.Index([], name="patient_id"))
    out = p.copy()
    for meas in dataset.measures:
        out[f"baseline_{meas}"] = base[meas].reindex(out.index).astype("float64") if meas in base else np.nan
    for meas in (code for code, spec in MEASURES.items() if spec.baseline_always):
        if f"baseline_{meas}" not in out:
            out[f"baseline_{meas}"] = np.nan
    fs = functional_measure(dataset.measures)
    prog = m[m["measure"] == fs]
    first = prog[prog["month"] < 0].sort_values("month", kind="stable").groupby("patient_id")["value"].first()
    day0 = prog[prog["month"] == 0].groupby("patient_id")["value"].first()
    out["decline"] = (first - day0).reindex(out.index).astype("float64")
    out["baseline_FS"] = out.get(f"baseline_{fs}", np.nan)
    # deltaFS = (maximum score - score at day 0) / months since onset (disease duration at day 0)
    duration = pd.to_numeric(out["disease_duration_months"], errors="coerce").astype("float64")
    score0 = day0.reindex(out.index).astype("float64")
    out["delta_fs"] = ((MEASURES[fs].high - score0) / duration).where(duration > 0)
    return out


def progression_groups(dataset: Dataset, min_decline: float = DEFAULT_MIN_DECLINE) -> pd.Series:
    """Each patient's group: progressor, stable, unclassified, or not in efficacy population."""
    pf = patient_frame(dataset)
    decline = pf["decline"]
    eff = pf["efficacy_population"].astype(bool)
    group = np.where(
        ~eff,
        NOT_EFFICACY,
        np.where(decline.isna(), UNCLASSIFIED, np.where(decline >= min_decline, PROGRESSOR, STABLE)),
    )
    return pd.Series(group, index=pf.index, name="group")


# ---------------------------------------------------------------- groups


@dataclass(frozen=True)
class Group:
    """One group of a grouped cohort: its key (the attribute's value), label, patients and place."""

    key: str
    label: str
    patient_ids: tuple[str, ...]
    #: the control arm (placebo, sham, ...): listed first, drawn in grey, the reference of comparisons
    control: bool = False
    #: position among all the dataset's groups of this grouping (not the selection's): fixes the colour,
    #: so a group keeps it whatever the filter
    rank: int = 0

    @property
    def n(self) -> int:
        return len(self.patient_ids)


_PROGRESSION_ORDER = (PROGRESSOR, STABLE, UNCLASSIFIED, NOT_EFFICACY)
_PROGRESSION_LABELS = {PROGRESSOR: "Progressors", STABLE: "Stable", UNCLASSIFIED: "Unclassified",
                       NOT_EFFICACY: "Not in efficacy population"}
_SEX_LABELS = {"F": "Female", "M": "Male"}


def group_keys(dataset: Dataset, grouping: str, min_decline: float = DEFAULT_MIN_DECLINE) -> pd.Series:
    """Each enrolled patient's group key under ``grouping`` (the attribute's value; NOT_RECORDED_GROUP
    where it is not recorded), in the dataset's patient order."""
    pf = patient_frame(dataset)
    if grouping == "progression":
        values = progression_groups(dataset, min_decline)
    elif grouping == "arm":
        values = (pf["arm"] if "arm" in pf else pd.Series(pd.NA, index=pf.index)).astype(object)
        values = values.map(lambda v: v.strip() if isinstance(v, str) else v).where(lambda v: v != "")
    elif grouping in ("sex", "onset"):
        values = pf[grouping].astype(object)
    else:
        raise ValueError(f"unknown grouping {grouping!r} (choose from {', '.join(GROUPINGS)})")
    return values.where(values.notna(), NOT_RECORDED_GROUP).astype(object).rename("group")


def group_order(dataset: Dataset, grouping: str, min_decline: float = DEFAULT_MIN_DECLINE
                ) -> tuple[tuple[str, str, bool], ...]:
    """(key, label, control) of every group of the dataset under ``grouping``, in display order: a control
    arm first, then the arms by name; progressors, stable; sexes and onsets in their declared order; the
    patients without a recorded value last."""
    present = set(group_keys(dataset, grouping, min_decline))
    if grouping == "progression":
        keys = [k for k in _PROGRESSION_ORDER if k in present]
        labels = _PROGRESSION_LABELS
    elif grouping == "arm":
        number = _arm_numbers(dataset)
        arms = sorted((k for k in present if k != NOT_RECORDED_GROUP),
                      key=lambda a: (not CONTROL_ARM.search(a), number.get(a, math.inf), a))
        keys, labels = arms, {}
    else:
        choices = SEXES if grouping == "sex" else ONSETS
        keys = [k for k in choices if k in present]
        labels = _SEX_LABELS if grouping == "sex" else {k: k.capitalize() for k in choices}
    if NOT_RECORDED_GROUP in present:
        keys.append(NOT_RECORDED_GROUP)
    return tuple((k, "Not recorded" if k == NOT_RECORDED_GROUP else labels.get(k, k),
                  grouping == "arm" and k != NOT_RECORDED_GROUP and bool(CONTROL_ARM.search(k))) for k in keys)


def _arm_numbers(dataset: Dataset) -> dict[str, float]:
    """Arm -> its number (``arm_order``, e.g. ADaM TRT01AN), where every patient of the arm has the same one."""
    p = dataset.patients
    if "arm_order" not in p or "arm" not in p:
        return {}
    both = p[["arm", "arm_order"]].dropna()
    per_arm = both.groupby("arm", observed=True)["arm_order"].agg(["min", "max"])
    return {str(a).strip(): float(r["min"]) for a, r in per_arm.iterrows() if r["min"] == r["max"]}


def grouping_reason(dataset: Dataset, grouping: str) -> str | None:
    """Why the dataset's patients cannot be grouped by ``grouping`` (fewer than two recorded values), or None.
    (Progression also needs a pre-treatment period: ``stats.progression_reason``.)"""
    keys = set(group_keys(dataset, grouping)) - {NOT_RECORDED_GROUP, NOT_EFFICACY, UNCLASSIFIED}
    if len(keys) >= 2:
        return None
    what = {"arm": "treatment arm", "progression": "progression group", "sex": "sex", "onset": "onset"}[grouping]
    return (f"this dataset records no {what}" if not keys
            else f"every patient of this dataset has the same {what}")


# ---------------------------------------------------------------- selection


@dataclass(frozen=True)
class Cohort:
    """The patients a view rests on."""

    filter: CohortFilter
    patient_ids: tuple[str, ...]
    #: Progression group of each selected patient.
    groups: dict[str, str]
    #: Patients enrolled in the dataset.
    n_enrolled: int
    #: Ids in the filter's patient list that the dataset does not hold.
    unknown_ids: tuple[str, ...] = ()
    #: Efficacy patients of the chosen population that could not be classified.
    unclassified: tuple[str, ...] = field(default=())
    #: The rating scale that defines progression in this dataset ("ALSFRS" or "ALSFRS-R").
    scale: str = "ALSFRS"
    #: Per enrolled patient, in the dataset's patient order (= the codes of its tables' categorical
    #: ``patient_id``): selected or not, and progression group.  Used by :func:`rows`.
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    group_of: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The groups shown side by side (``filter.grouping``), in display order, each with its patients; one
    #: group "all" when the cohort is not grouped.  Groups without a selected patient are left out.
    shown_groups: tuple[Group, ...] = ()
    #: Per enrolled patient: its shown group's key (as ``group_of``; "all" when not grouped).
    shown_of: np.ndarray | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        return self.filter.describe(self.scale)

    @property
    def n(self) -> int:
        return len(self.patient_ids)

    @property
    def name(self) -> str:
        return self.filter.population

    def count_text(self) -> str:
        return f"{self.n} of {self.n_enrolled} patients"

    def ids_in_group(self, group: str) -> tuple[str, ...]:
        return tuple(p for p in self.patient_ids if self.groups.get(p) == group)

    def group_mask(self, group: str | None = None) -> np.ndarray:
        """The selected patients (of one progression group) as a boolean per enrolled patient."""
        return self.mask if group is None else self.mask & (self.group_of == group)

    def shown_mask(self, key: str | None = None) -> np.ndarray:
        """The selected patients (of one shown group) as a boolean per enrolled patient."""
        if key is None or key == "all" and not self.filter.grouping:
            return self.mask
        return self.mask & (self.shown_of == key)

    def shown_group_of(self) -> dict[str, str]:
        """Selected patient -> the key of its shown group."""
        return {pid: g.key for g in self.shown_groups for pid in g.patient_ids}

    @property
    def control_group(self) -> Group | None:
        """The reference of between-group comparisons: the control arm, else the first group (None: one group)."""
        if len(self.shown_groups) < 2:
            return None
        return next((g for g in self.shown_groups if g.control), self.shown_groups[0])

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.describe(),
            "n": self.n,
            "n_enrolled": self.n_enrolled,
            "patient_ids": list(self.patient_ids),
            "unclassified_patient_ids": list(self.unclassified),
            "unknown_patient_ids": list(self.unknown_ids),
            "group_by": self.filter.grouping or None,
            "groups": [{"key": g.key, "label": g.label, "n": g.n, "control": g.control,
                        "patient_ids": list(g.patient_ids)} for g in self.shown_groups],
        }


def _ids(index: pd.Index) -> tuple[str, ...]:
    """Patient ids as a tuple of str (through numpy: iterating a pandas string index boxes one element at a time,
    0.35 s of the population counts at 10,000 patients)."""
    return tuple(index.to_numpy(dtype=object))


def select(dataset: Dataset, filt: CohortFilter) -> Cohort:
    """Apply a filter to a dataset."""
    pf = patient_frame(dataset)
    groups = progression_groups(dataset, filt.min_decline)
    keep = pd.Series(True, index=pf.index)
    pop = filt.population
    if pop == EFFICACY_POPULATION:
        keep &= pf["efficacy_population"].astype(bool)
    elif pop == PROGRESSORS:
        keep &= groups.eq(PROGRESSOR)
    elif pop == STABLE_PATIENTS:
        keep &= groups.eq(STABLE)
    elif pop == COMPARE:
        keep &= groups.isin([PROGRESSOR, STABLE])
    else:
        keep &= pf["safety_population"].astype(bool)
    # subgroup filters: they narrow the population and its unclassified patients alike
    sub = pd.Series(True, index=pf.index)
    for cat in CATEGORIES:
        chosen = getattr(filt, cat.field)
        if chosen:
            sub &= pf[cat.column].isin(chosen).fillna(False).astype(bool)
    for name, _stem, column, *_ in RANGES:
        lo, hi = getattr(filt, name)
        if lo is None and hi is None:
            continue
        col = pd.to_numeric(pf[column], errors="coerce").astype("float64")
        ok = col.notna()
        if lo is not None:
            ok &= col >= lo
        if hi is not None:
            ok &= col <= hi
        sub &= ok
    unknown: tuple[str, ...] = ()
    if filt.patients:
        wanted = set(filt.patients)
        sub &= pf.index.isin(wanted)
        unknown = tuple(sort_patient_ids(wanted - set(pf.index)))
    keep &= sub
    unclassified = ()
    if filt.uses_progression:
        unclassified = _ids(pf.index[(groups.eq(UNCLASSIFIED) & sub).to_numpy()])
    mask = keep.to_numpy(dtype=bool)
    group_of = groups.to_numpy(dtype=object)
    ids = _ids(pf.index[mask])  # patients are kept in natural order by data.load_dataset
    grouping = filt.grouping
    if grouping:
        shown_of = group_keys(dataset, grouping, filt.min_decline).to_numpy(dtype=object)
        shown = []
        for rank, (key, label, control) in enumerate(group_order(dataset, grouping, filt.min_decline)):
            members = _ids(pf.index[mask & (shown_of == key)])
            if members:
                shown.append(Group(key, label, members, control, rank))
        shown_groups = tuple(shown)
    else:
        shown_of = np.full(len(pf), "all", dtype=object)
        shown_groups = (Group("all", POPULATION_LABELS[pop], ids),)
    return Cohort(
        shown_groups=shown_groups,
        shown_of=shown_of,
        filter=filt,
        patient_ids=ids,
        groups=dict(zip(ids, group_of[mask], strict=True)),
        mask=mask,
        group_of=group_of,
        n_enrolled=len(pf),
        unknown_ids=unknown,
        unclassified=unclassified,
        scale=MEASURES[functional_measure(dataset.measures)].label,
    )


def rows(frame: pd.DataFrame, cohort: Cohort, group: str | None = None) -> pd.DataFrame:
    """The rows of a dataset table (measurements, adverse events) that belong to the cohort's
    patients, or to those of one shown group (a key of ``cohort.shown_groups``): one integer lookup per
    row, no string matching."""
    mask = cohort.shown_mask(group)
    pid = frame["patient_id"]
    if isinstance(pid.dtype, pd.CategoricalDtype) and len(pid.cat.categories) == len(mask):
        return frame[mask[pid.cat.codes.to_numpy()]]
    ids = (cohort.patient_ids if group is None
           else next((g.patient_ids for g in cohort.shown_groups if g.key == group), ()))
    return frame[pid.isin(list(ids))]


def filter_fields() -> list[str]:
    return [f.name for f in fields(CohortFilter)]


def _check_declarations():
    """Every declared category and range filter is a field of CohortFilter (caught on import, not on first use)."""
    missing = [name for name in [c.field for c in CATEGORIES] + [r[0] for r in RANGES] if name not in filter_fields()]
    if missing:
        raise TypeError(f"CohortFilter lacks a field for the declared filter(s) {', '.join(missing)}")


_check_declarations()
