"""The value rules of the mapping: days and months, study days, and the code lists of flags and terms."""

from __future__ import annotations

import math
import re

#: Days in a month: 365.25 / 12.
DAYS_PER_MONTH = 30.4375


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
