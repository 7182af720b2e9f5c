"""The value rules of the mapping: days and months, study days, and the code lists of flags and terms."""

from __future__ import annotations

import math
import re

from ..data import DAYS_PER_MONTH

__all__ = ["DAYS_PER_MONTH"]  # (365.25 / 12, defined with the schema; re-exported here with the day rule)


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


def ady_to_days(ady: float) -> float:
    """SDTM-style study day (no day 0) to days since day 0."""
    return ady - 1 if ady >= 1 else ady


def days_to_ady(days: int) -> int:
    """Days since day 0 to an SDTM-style study day (the inverse of :func:`ady_to_days`)."""
    return days + 1 if days >= 0 else days


YES = {"Y", "YES"}
NO = {"N", "NO"}

#: Relationship to the study treatment (ADaM ``AREL``/``AEREL``, any case) -> related?  ICH E2A: an event is
#: related when there is "a reasonable possibility" of a causal relationship, so possible, probable, definite
#: and related count as related; none, remote, unlikely, doubtful and not related do not.  A value not in the
#: table, or an empty cell, is "not recorded" (with a warning), never "not related".
RELATIONSHIP: dict[str, bool] = {
    **dict.fromkeys(("Y", "YES", "RELATED", "POSSIBLE", "POSSIBLY", "POSSIBLY RELATED", "PROBABLE", "PROBABLY",
                     "PROBABLY RELATED", "LIKELY", "LIKELY RELATED", "DEFINITE", "DEFINITELY",
                     "DEFINITELY RELATED", "CERTAIN", "REASONABLE POSSIBILITY", "SUSPECTED"), True),
    **dict.fromkeys(("N", "NO", "NONE", "NOT RELATED", "UNRELATED", "REMOTE", "REMOTELY", "REMOTELY RELATED",
                     "UNLIKELY", "UNLIKELY RELATED", "DOUBTFUL", "NOT SUSPECTED", "NO REASONABLE POSSIBILITY"),
                    False),
}
RELATED_TRUE = {k for k, v in RELATIONSHIP.items() if v}
RELATED_FALSE = {k for k, v in RELATIONSHIP.items() if not v}
#: Severity (``AESEV``, any case) -> ours.  Life-threatening is the worst severity short of death.
SEVERITY = {"MILD": "Mild", "1": "Mild", "GRADE 1": "Mild",
            "MODERATE": "Moderate", "2": "Moderate", "GRADE 2": "Moderate",
            "SEVERE": "Severe", "3": "Severe", "GRADE 3": "Severe",
            "LIFE THREATENING": "Severe", "LIFE-THREATENING": "Severe", "4": "Severe", "GRADE 4": "Severe",
            "FATAL": "Death", "DEATH": "Death", "5": "Death", "GRADE 5": "Death"}
#: CTCAE grade (``AETOXGR``) -> ours, used where ``AESEV`` is absent or empty.
TOXICITY_GRADE = {"1": "Mild", "2": "Moderate", "3": "Severe", "4": "Severe", "5": "Death"}
#: Outcome (``AEOUT``, any case) -> (ongoing, fatal).  An outcome not in the table is neither (and a warning).
OUTCOME: dict[str, tuple[bool, bool]] = {
    "RECOVERED/RESOLVED": (False, False), "RECOVERED": (False, False), "RESOLVED": (False, False),
    "RECOVERED/RESOLVED WITH SEQUELAE": (False, False), "RECOVERING/RESOLVING": (False, False),
    "NOT RECOVERED/NOT RESOLVED": (True, False), "NOT RECOVERED": (True, False), "NOT RESOLVED": (True, False),
    "ONGOING": (True, False), "UNKNOWN": (False, False), "FATAL": (False, True), "DEATH": (False, True),
}
#: How far (in days) a value may lie from a scheduled month and still count at that month's visit, for datasets
#: without nominal visits (PRO-ACT): see :func:`visit_bin`.
VISIT_WINDOW_DAYS = 14


def visit_bin(days: float, window: float = VISIT_WINDOW_DAYS) -> int | None:
    """The scheduled month a value at ``days`` (since day 0) is binned to, or None (outside every window).

    The rule: the nearest whole month m = round(days / 30.4375), if ``days`` is within ``window`` days of
    m × 30.4375 (month 3 = day 91.3: days 78-105 with the default ±14 days); else the value belongs to no
    visit (days 15, 16, 45, 46, 77 ... lie more than 14 days from every month).
    """
    m = round(days / DAYS_PER_MONTH)
    return int(m) if abs(days - m * DAYS_PER_MONTH) <= window + 1e-9 else None


SEX = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "U": "", "UNKNOWN": "", "UNDIFFERENTIATED": ""}
ONSET = {"SPINAL": "spinal", "LIMB": "spinal", "SPINE": "spinal", "BULBAR": "bulbar",
         "SPINAL+BULBAR": "spinal+bulbar", "SPINAL + BULBAR": "spinal+bulbar", "SPINAL AND BULBAR": "spinal+bulbar",
         "LIMB AND BULBAR": "spinal+bulbar", "LIMB+BULBAR": "spinal+bulbar", "LIMB + BULBAR": "spinal+bulbar"}
#: PRO-ACT ``ALSHISTORY`` one-hot onset columns (``Site_of_Onset___<suffix>``, a cell 1/Yes/true = set) -> the
#: onset they say; several set: ``Bulbar`` with ``Limb`` or ``Spine`` is ``spinal+bulbar``.  ``Other`` is not
#: one of our onsets: not recorded, with a warning.
ONSET_ONE_HOT = {"BULBAR": "bulbar", "LIMB": "spinal", "SPINE": "spinal", "LIMB_AND_BULBAR": "spinal+bulbar",
                 "OTHER": None}
#: A set one-hot cell.
ONE_HOT_SET = {"1", "1.0", "Y", "YES", "TRUE"}
#: Days in a year, for an age from PRO-ACT ``Date_of_Birth`` (days since day 0, negative).
DAYS_PER_YEAR = 365.25
#: PRO-ACT ``ADVERSEEVENTS.Outcome`` (any case) -> (ongoing, fatal): the ADaM outcomes and the PRO-ACT spellings.
PROACT_OUTCOME: dict[str, tuple[bool, bool]] = {
        "RECOVERED/RESOLVED": (False, False), "RECOVERED": (False, False), "RESOLVED": (False, False),
        "RECOVERED/RESOLVED WITH SEQUELAE": (False, False), "RECOVERED WITH SEQUELAE": (False, False),
        "RESOLVED WITH SEQUELAE": (False, False), "RECOVERING/RESOLVING": (False, False),
        "RECOVERING": (False, False), "RESOLVING": (False, False), "NOT RECOVERED/NOT RESOLVED": (True, False),
        "NOT RECOVERED": (True, False), "NOT RESOLVED": (True, False), "ONGOING": (True, False),
        "CONTINUING": (True, False), "UNKNOWN": (False, False), "FATAL": (False, True), "DEATH": (False, True),
        "DIED": (False, True)}
FATAL = "FATAL"
ONGOING_OUTCOMES = {k for k, (ongoing, _f) in OUTCOME.items() if ongoing}
PERCENT_UNITS = {"%", "PERCENT", "% PREDICTED", "%PRED", "% OF PREDICTED"}
SIMULATED_DTYPE = "SIMULATED"
#: FVC in litres (``AVALU``, any case): refused, since % of predicted needs each patient's predicted volume.
LITRE_UNITS = {"L", "LITRE", "LITRES", "LITER", "LITERS"}
#: FVC values all at most this are a fraction of predicted (0.9), not a percent: refused.
FVC_FRACTION_MAX = 1.5

#: A visit label that states its unit ("Week 12", "Month 3", "Day 29", "Wk 4"): the unit word and the number.
VISIT_UNIT_RE = re.compile(r"^\s*(week|wk|month|mo|day)s?\.?\s*(-?\d+(?:\.\d+)?)\s*$", re.I)
#: Days per unit of a visit label (a "Day" label is a study day: see :func:`visit_days`).
VISIT_UNIT_DAYS = {"week": 7.0, "wk": 7.0, "month": DAYS_PER_MONTH, "mo": DAYS_PER_MONTH}
#: Labels of the day-0 visit, read as day 0 where ``AVISITN`` is 0.
BASELINE_LABELS = {"BASELINE", "DAY 0", "WEEK 0", "MONTH 0"}


def visit_days(label: str) -> float | None:
    """Days since day 0 from a visit label that states its unit, else None.

    ``Week n`` is 7n days, ``Month n`` n months (n × 30.4375 days), ``Day n`` the study day n (no day 0:
    ``Day 1`` is day 0, like ``ADY``).
    """
    m = VISIT_UNIT_RE.match(label or "")
    if not m:
        return None
    unit, n = m.group(1).lower(), float(m.group(2))
    if unit == "day":
        return ady_to_days(n) if n != 0 else 0.0
    return n * VISIT_UNIT_DAYS[unit]
_VISIT_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def visit_name(text: str) -> str:
    """A visit name of ours from theirs: every run of characters we do not allow becomes ``_``."""
    return _VISIT_BAD.sub("_", text.strip()).strip("_")


def number(text: str) -> float | None:
    """A finite number from a cell (a typographic minus allowed), else None."""
    try:
        v = float(text.replace("\u2212", "-"))
    except ValueError:
        return None
    return v if math.isfinite(v) else None
