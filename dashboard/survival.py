"""Time-to-event analyses: event times per patient, Kaplan-Meier by group, log-rank test, Cox hazard ratio.

The estimators are statsmodels' (``statsmodels.duration``): the product-limit estimate and its Greenwood
standard error (:class:`~statsmodels.duration.survfunc.SurvfuncRight`), the median and its 95 % CI
(``quantile``, ``quantile_ci`` with the complementary log-log transform), the log-rank test (``survdiff``)
and the Cox model (:class:`~statsmodels.duration.hazard_regression.PHReg`, Efron's method for tied times, as
R's ``coxph``).  Not lifelines: its newest release (0.30.3) requires pandas < 3.0 and the project pins
pandas 3.1.1.  Pure: no Dash import.

Times are days from day 0.  **Death** (:func:`death_times`): from the patients table's ``died`` and
``death_day`` (a ``death_day`` without ``died`` counts as a death); a survivor is censored at the last day
the patient was seen: the latest of their measurement days (month × 30.4375) and adverse-event start days
(where the events table has ``start_day``).  A patient who died without a recorded day, a survivor never seen,
and a time before day 0 are left out and listed with the reason.  A dataset with neither column filled
records no deaths at all, and says so instead of showing an empty analysis.  **ADTTE parameters**
(:func:`adtte_times`): each parameter's records as they are (``days``, event = not ``censored``).

**Kaplan-Meier** (:func:`kaplan_meier`) per group: the step curve from (0, 1) with a pointwise 95 % CI
(log-log transform of the Greenwood SE: S^exp(±1.96 SE / (S |log S|)), as R's ``conf.type = "log-log"``),
the censoring times, the numbers at risk (time >= tick) at chosen ticks, and the median survival (the
first time S falls below 0.5: statsmodels' and SAS's convention; where S is exactly 0.5 over an interval R
takes its midpoint) with its 95 % CI; where S does not fall below 0.5 the median is None with a note, and a
CI bound not reached is None.  The log-rank test compares all groups (needs 2 or more groups with patients and
at least one event); the Cox hazard ratio (group vs control) is given for exactly two groups and needs an
event in each group (with none in one group the estimate runs off to 0 or infinity).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from .between import group_series, resolve_groups
from .data import DAYS_PER_MONTH
from .stats import _f, clean

Z95 = float(sps.norm.ppf(0.975))
NO_DEATHS = "this dataset records no dates of death"


# ---------------------------------------------------------------- event times


@dataclass(frozen=True, eq=False)
class EventTimes:
    """Per-patient event times of one endpoint.

    ``frame``: columns patient_id (str), days (float, from day 0), event (bool; False = censored), one row a
    patient.  ``excluded``: (patient, why) left out.  ``reason``: why there is no analysis (then ``frame`` is
    empty).
    """

    name: str
    label: str
    frame: pd.DataFrame
    excluded: tuple[tuple[str, str], ...] = ()
    reason: str | None = None

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def events(self) -> int:
        return int(self.frame["event"].sum()) if len(self.frame) else 0

    def to_dict(self) -> dict:
        return clean({"name": self.name, "label": self.label, "n": self.n, "events": self.events,
                      "excluded": [list(e) for e in self.excluded], "reason": self.reason})


def _times_frame(pid, days, event) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": pd.Series(pid, dtype=object), "days": pd.Series(days, dtype=float),
                         "event": pd.Series(event, dtype=bool)})


def last_contact_days(ds) -> pd.Series:
    """Per patient (str id): the latest day the patient was seen: measurement months × 30.4375 and adverse-event
    start days (where recorded)."""
    m = ds.measurements
    days = pd.Series(m["month"].to_numpy(dtype=float) * DAYS_PER_MONTH, index=m["patient_id"].astype(str).to_numpy())
    parts = [days]
    ae = ds.adverse_events
    if "start_day" in ae.columns:
        s = pd.to_numeric(ae["start_day"], errors="coerce").astype(float)
        parts.append(pd.Series(s.to_numpy(), index=ae["patient_id"].astype(str).to_numpy()).dropna())
    allp = pd.concat(parts)
    return allp.groupby(level=0).max()


def death_times(ds) -> EventTimes:
    """Time to death per patient (see the module docstring)."""
    p = ds.patients
    label = "Time to death"
    pid = p["patient_id"].astype(str).to_numpy()
    died = p["died"].astype("boolean") if "died" in p else pd.Series(pd.NA, index=p.index, dtype="boolean")
    said_alive = died.eq(False).fillna(False).to_numpy(dtype=bool)
    day = (pd.to_numeric(p["death_day"], errors="coerce").astype(float) if "death_day" in p
           else pd.Series(np.nan, index=p.index))
    if died.isna().all() and day.isna().all():
        return EventTimes("death", label, _times_frame([], [], []), reason=NO_DEATHS)
    has_day = day.notna().to_numpy()
    dead = died.fillna(False).to_numpy(dtype=bool) | has_day
    contact = last_contact_days(ds).reindex(pid).to_numpy(dtype=float)
    days = np.where(dead, day.to_numpy(dtype=float), contact)
    excluded = []
    keep = np.ones(len(pid), dtype=bool)
    for i in range(len(pid)):
        why = None
        if dead[i] and not has_day[i]:
            why = "died; the day of death is not recorded"
        elif said_alive[i] and has_day[i]:
            why = "a day of death is recorded but died is false"
        elif not dead[i] and np.isnan(contact[i]):
            why = "alive, and never seen (no measurement or adverse-event day): no time to censor at"
        elif days[i] < 0:
            why = f"{'death' if dead[i] else 'last contact'} on day {days[i]:g}, before day 0"
        if why:
            keep[i] = False
            excluded.append((pid[i], why))
    return EventTimes("death", label, _times_frame(pid[keep], days[keep], dead[keep]), tuple(excluded))


def adtte_times(ds) -> tuple[EventTimes, ...]:
    """One :class:`EventTimes` per ADTTE parameter of ``ds.time_to_event`` (paramcd, label), in order of
    appearance; a record without days is left out (listed); a patient with two records of one parameter
    keeps the first."""
    tte = ds.time_to_event
    out = []
    for code in pd.unique(tte["paramcd"].astype(str)):
        t = tte[tte["paramcd"].astype(str) == code]
        labels = t["label"].dropna().astype(str)
        label = labels.iloc[0] if len(labels) else code
        pid = t["patient_id"].astype(str).to_numpy()
        days = pd.to_numeric(t["days"], errors="coerce").to_numpy(dtype=float)
        cens = t["censored"].astype("boolean")
        bad = np.isnan(days) | cens.isna().to_numpy() | (days < 0)
        excluded = [(pid[i], "no days" if np.isnan(days[i]) else "censoring not recorded" if cens.isna().iloc[i]
                     else f"day {days[i]:g} before day 0") for i in np.flatnonzero(bad)]
        dup = pd.Series(pid).duplicated().to_numpy() & ~bad
        excluded += [(pid[i], "a second record of this parameter (the first is used)") for i in np.flatnonzero(dup)]
        keep = ~bad & ~dup
        ev = ~cens.fillna(True).to_numpy(dtype=bool)
        out.append(EventTimes(code, label, _times_frame(pid[keep], days[keep], ev[keep]), tuple(excluded),
                              None if keep.any() else "no usable time-to-event records"))
    return tuple(out)


# ---------------------------------------------------------------- Kaplan-Meier, log-rank, Cox


@dataclass(frozen=True)
class KMCurve:
    """One group's Kaplan-Meier estimate.  ``time``/``survival``/``lower``/``upper``: the step curve's corners,
    from (0, 1), one point per event time (the curve steps down at each; the CI bounds are None where not
    defined: S = 0).  ``censored``: times of censored patients.  ``at_risk``: (tick, patients with time >= tick)."""

    group: str
    n: int
    events: int
    time: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    censored: tuple[float, ...]
    at_risk: tuple[tuple[float, int], ...]
    median: float | None
    median_ci95_low: float | None
    median_ci95_high: float | None
    median_note: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["at_risk"] = [list(x) for x in self.at_risk]
        return clean(d)


@dataclass(frozen=True)
class HazardRatio:
    """Cox proportional-hazards model with one covariate (group vs control): HR, its 95 % CI, Wald p."""

    group: str
    control: str
    hazard_ratio: float | None
    ci95_low: float | None
    ci95_high: float | None
    p: float | None
    reason: str | None = None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class SurvivalAnalysis:
    """Kaplan-Meier by group with the log-rank test and (two groups) the Cox hazard ratio."""

    endpoint: str
    label: str
    control: str | None
    curves: tuple[KMCurve, ...]
    logrank_chisq: float | None
    logrank_df: int | None
    logrank_p: float | None
    logrank_reason: str | None
    hazard_ratio: HazardRatio | None
    ticks: tuple[float, ...]
    reason: str | None = None
    excluded: tuple[tuple[str, str], ...] = field(default=())

    def to_dict(self) -> dict:
        return clean({
            "endpoint": self.endpoint, "label": self.label, "control": self.control,
            "groups": [c.to_dict() for c in self.curves], "logrank": {
                "chisq": self.logrank_chisq, "df": self.logrank_df, "p": self.logrank_p,
                "reason": self.logrank_reason},
            "hazard_ratio": self.hazard_ratio.to_dict() if self.hazard_ratio else None,
            "ticks": list(self.ticks), "reason": self.reason, "excluded": [list(e) for e in self.excluded],
        })


def default_ticks(max_days: float) -> tuple[float, ...]:
    """0 and every 30, 60, 90, 180, 365 or 730 days (the smallest step giving at most 8 ticks) up to ``max_days``."""
    if not max_days or max_days <= 0 or not math.isfinite(max_days):
        return (0.0,)
    step = next((s for s in (30, 60, 90, 180, 365, 730) if max_days / s <= 7), 1461)
    return tuple(float(t) for t in np.arange(0, max_days + 1e-9, step))


def loglog_ci(s: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise 95 % CI of survival probabilities ``s`` with Greenwood SEs ``se``, log-log transform;
    S = 1: (1, 1); S = 0: NaN."""
    s = np.asarray(s, dtype=float)
    se = np.asarray(se, dtype=float)
    lo = np.full(len(s), np.nan)
    hi = np.full(len(s), np.nan)
    one = s >= 1
    lo[one] = hi[one] = 1.0
    mid = (s > 0) & (s < 1)
    sigma = se[mid] / (s[mid] * np.abs(np.log(s[mid])))
    lo[mid] = s[mid] ** np.exp(Z95 * sigma)
    hi[mid] = s[mid] ** np.exp(-Z95 * sigma)
    return lo, hi


def _none(x: np.ndarray) -> tuple:
    return tuple(_f(v) for v in x)


def km_curve(group: str, days: np.ndarray, event: np.ndarray, ticks: Sequence[float]) -> KMCurve:
    """One group's :class:`KMCurve` (statsmodels' product-limit estimate)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    days = np.asarray(days, dtype=float)
    event = np.asarray(event, dtype=bool)
    at_risk = tuple((float(t), int((days >= t).sum())) for t in ticks)
    censored = tuple(float(t) for t in np.sort(days[~event]))
    n, k = len(days), int(event.sum())
    if n == 0:
        return KMCurve(group, 0, 0, (), (), (), (), (), at_risk, None, None, None,
                       reason=f"no patients in group {group}")
    if k == 0:
        return KMCurve(group, n, 0, (0.0,), (1.0,), (1.0,), (1.0,), censored, at_risk, None, None, None,
                       median_note="not reached: no events")
    sf = SurvfuncRight(days, event.astype(int))
    t = np.asarray(sf.surv_times, dtype=float)
    s = np.asarray(sf.surv_prob, dtype=float)
    lo, hi = loglog_ci(s, np.asarray(sf.surv_prob_se, dtype=float))
    # from (0, 1); an event at day 0 makes the curve drop at once (two points at time 0)
    time, surv, lower, upper = np.r_[0.0, t], np.r_[1.0, s], np.r_[1.0, lo], np.r_[1.0, hi]
    med = _f(sf.quantile(0.5))
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cil, cih = sf.quantile_ci(0.5, method="cloglog")
    cil, cih = _f(cil), _f(cih)
    if med is None:
        note = f"not reached: survival does not fall below 50 % (lowest {s.min():.0%})"
    elif cih is None:
        note = "upper 95 % bound not reached"
    return KMCurve(group, n, k, tuple(float(x) for x in time), tuple(float(x) for x in surv), _none(lower),
                   _none(upper), censored, at_risk, med, cil, cih, note)


def cox_hazard_ratio(days: np.ndarray, event: np.ndarray, treated: np.ndarray, group: str,
                     control: str) -> HazardRatio:
    """Cox model with the one covariate ``treated`` (1 = ``group``, 0 = ``control``); Efron ties."""
    from statsmodels.duration.hazard_regression import PHReg

    event = np.asarray(event, dtype=bool)
    treated = np.asarray(treated, dtype=float)
    for name, sel in ((group, treated == 1), (control, treated == 0)):
        if not event[sel].any():
            return HazardRatio(group, control, None, None, None, None,
                               f"no events in group {name}: the hazard ratio is not estimable (it runs off to "
                               f"{'0' if name == group else 'infinity'})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = PHReg(np.asarray(days, dtype=float), treated[:, None], status=event.astype(int), ties="efron").fit()
    b, se, p = float(res.params[0]), float(res.bse[0]), float(res.pvalues[0])
    if not (math.isfinite(b) and math.isfinite(se) and se > 0):
        return HazardRatio(group, control, None, None, None, None, "the Cox model did not converge")
    return HazardRatio(group, control, math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se), _f(p))


def kaplan_meier(times: pd.DataFrame, order: Sequence[str], control: str | None = None,
                 ticks: Sequence[float] | None = None, endpoint: str = "death", label: str = "Time to death",
                 excluded: Sequence[tuple[str, str]] = ()) -> SurvivalAnalysis:
    """Kaplan-Meier per group with log-rank and (two groups) Cox (see the module docstring).

    ``times``: columns ``group``, ``days``, ``event`` (as :class:`EventTimes` ``frame`` with a group column);
    rows of groups not in ``order`` are left out.  ``control`` defaults to ``order[0]``.  ``ticks``: the
    times of the numbers at risk (default :func:`default_ticks`).
    """
    from statsmodels.duration.survfunc import survdiff

    order, control, _why = resolve_groups(order, control)  # fewer than 2 groups: the curves, and the reason below
    t = times[times["group"].astype(str).isin(order)]
    grp = t["group"].astype(str).to_numpy()
    days = t["days"].to_numpy(dtype=float)
    event = t["event"].astype(bool).to_numpy()
    ticks = tuple(float(x) for x in (ticks if ticks is not None else default_ticks(days.max() if len(days) else 0)))
    curves = tuple(km_curve(g, days[grp == g], event[grp == g], ticks) for g in order)
    excluded = tuple(excluded)

    def result(lr=(None, None, None), lr_reason=None, hr=None, reason=None):
        return SurvivalAnalysis(endpoint, label, control, curves, *lr, lr_reason, hr, ticks, reason, excluded)

    if len(t) == 0:
        return result(lr_reason="no patients", reason="no patients with a time in these groups")
    present = [g for g in order if (grp == g).any()]
    if len(order) < 2 or len(present) < 2:
        why = ("a comparison needs 2 or more groups" if len(order) < 2
               else f"only group {present[0]} has patients; a comparison needs 2 or more groups")
        return result(lr_reason=why, hr=None)
    hr = None
    if len(order) == 2:
        g = order[1] if order[0] == control else order[0]
        both = np.isin(grp, [g, control])
        hr = cox_hazard_ratio(days[both], event[both], (grp[both] == g).astype(float), g, control) \
            if len(present) == 2 else None
    if not event.any():
        return result(lr_reason="no events in any group: no test", hr=hr)
    codes = np.array([order.index(x) for x in grp])
    chisq, p = survdiff(days, event.astype(int), codes)
    return result((_f(chisq), len(present) - 1, _f(p)), None, hr)


def survival_by_group(times: EventTimes, groups: pd.Series, order: Sequence[str], control: str | None = None,
                      ticks: Sequence[float] | None = None) -> SurvivalAnalysis:
    """:func:`kaplan_meier` of an endpoint's :class:`EventTimes` for the patients of ``groups`` (index patient
    id, value group key) whose group is in ``order``; where the endpoint has no analysis (``times.reason``, e.g.
    no dates of death) the result carries that reason and no curves."""
    g = group_series(groups)
    order, control, _why = resolve_groups(order, control)
    if times.reason:
        return SurvivalAnalysis(times.name, times.label, control, (), None, None, None, times.reason, None,
                                (), times.reason, times.excluded)
    f = times.frame.assign(group=g.reindex(times.frame["patient_id"].astype(str)).to_numpy())
    f = f[f["group"].notna()]
    chosen = set(g.index[g.isin(order)])
    excluded = tuple(e for e in times.excluded if e[0] in chosen)
    return kaplan_meier(f, order, control, ticks, endpoint=times.name, label=times.label, excluded=excluded)
