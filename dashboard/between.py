"""Between-group analyses on the post-baseline period (pandas/scipy only; no Dash).

Every function takes plain inputs, never a cohort: measurements (the
:attr:`dashboard.data.Dataset.measurements` columns), a ``groups`` Series (index patient id, value the
patient's group key), ``order`` (the group keys in display order) and ``control`` (the reference group,
by default the first of ``order``).  Patients of a group not in ``order`` are in no analysis.  Results are
frozen dataclasses with ``to_dict()`` for the JSON export; where an analysis cannot be made the result
carries ``reason`` (in words) and ``None`` in place of its numbers, never NaN or a misleading p.

**Slopes** (:func:`slope_comparison`, :func:`compare_groups`).  Each patient's ordinary least-squares
slope of the measure on month over the values at month >= 0 (day 0 and after; ``until`` caps the period),
in units per month; a slope needs 2 or more values at distinct months, the other patients are left out and
listed.  Two groups: the difference of the means (group − control) with its 95 % CI from Welch's t
(Welch–Satterthwaite degrees of freedom), the Welch t-test p and the two-sided Mann–Whitney U p.  More
than two groups: one-way ANOVA and Kruskal–Wallis p over all groups, and each group's Welch difference vs
the control with its 95 % CI and p (not adjusted for multiplicity).  A test needs 2 or more patients in
each group it compares.

**Change from baseline by visit** (:func:`visit_changes`).  Baseline is the patient's value at the day-0
visit (the scheduled visit at month 0); a patient without one is left out of the whole table and counted per
group (``no_baseline``).  For each scheduled visit after day 0: per group n, mean, SD and SEM of value −
baseline.  Values at unscheduled visits are in no row (as in :func:`dashboard.stats.visit_summaries`).

**CAFS** (:func:`cafs`, :func:`cafs_inputs`), the Combined Assessment of Function and Survival (Berry et
al. 2013, Amyotroph Lateral Scler Frontotemporal Degener 14:162).  The follow-up window runs from day 0 to
``window_months`` (in days: window_months × 30.4375).  Only deaths within the window count; a patient who
died later, or whose death is not recorded, is a survivor of the window.  Every pair of patients is compared:

1. both died in the window: the one who died earlier ranks worse; on the same day, go to rule 3;
2. one died in the window, the other did not: the one who died ranks worse, whatever the survivor's
   follow-up (as in Berry et al., vital status is taken to be known to the end of the window; a survivor
   lost to follow-up is taken to be alive);
3. otherwise the one with the larger decline of the functional scale ranks worse: the change from the
   day-0 visit value to the patient's last value in the window (month > 0 and <= ``window_months``);
   equal changes, or a change missing for either patient, are a tie.

Each patient's score is the number of patients they rank better than minus the number they rank worse than
(+1 / −1 per comparison, 0 for a tie).  A survivor of the window without a change (no day-0 value or no
value after day 0 in the window) cannot be ranked and is left out (listed); a patient who died in the window
is always ranked.  Two groups: the two-sided Wilcoxon rank-sum (Mann–Whitney U) test of the scores; more:
Kruskal–Wallis.  The scores depend on which patients are compared, so they are computed over the patients
of ``order``'s groups only.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .data import DAYS_PER_MONTH
from .stats import _f, _ols_by_code, _visit_month, clean

#: A between-group test needs at least this many patients in each group it compares.
MIN_PER_GROUP = 2


def resolve_groups(order: Sequence[str], control: str | None) -> tuple[list[str], str | None, str | None]:
    """(``order`` as a list of str, the control (default: the first group), why no comparison can be made or
    None); ValueError for a group named twice or a control that is not a group."""
    order = [str(g) for g in order]
    if len(set(order)) != len(order):
        raise ValueError(f"order names a group twice: {order}")
    if control is None and order:
        control = order[0]
    if control is not None and control not in order:
        raise ValueError(f"the control {control!r} is not one of the groups {order}")
    if len(order) < 2:
        return order, control, ("a between-group comparison needs 2 or more groups; "
                                f"there is {'one' if order else 'none'}")
    return order, control, None


def group_series(groups: pd.Series) -> pd.Series:
    """``groups`` with string patient ids and string group keys (missing groups dropped)."""
    g = groups.dropna()
    return pd.Series(g.astype(str).to_numpy(), index=g.index.astype(str), dtype=object)


# ---------------------------------------------------------------- comparing per-patient values


@dataclass(frozen=True)
class GroupStats:
    """n, mean and SD (n − 1) of one group's per-patient values; None where not computable."""

    group: str
    n: int
    mean: float | None
    sd: float | None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class Difference:
    """One group vs the control: difference of means (group − control), its Welch 95 % CI and p."""

    group: str
    control: str
    difference: float | None
    ci95_low: float | None
    ci95_high: float | None
    p_welch: float | None
    reason: str | None = None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class GroupComparison:
    """Per-patient values compared between groups (see the module docstring).

    Two groups: ``p_welch`` and ``p_mann_whitney`` (and ``differences`` holds the one difference);
    more: ``p_anova`` and ``p_kruskal`` and one difference per group vs the control.  The p-values of the
    other case are None.  ``excluded``: (patient, why) of patients left out.
    """

    quantity: str
    control: str | None
    groups: tuple[GroupStats, ...]
    differences: tuple[Difference, ...]
    p_welch: float | None = None
    p_mann_whitney: float | None = None
    p_anova: float | None = None
    p_kruskal: float | None = None
    reason: str | None = None
    excluded: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        return clean({
            "quantity": self.quantity, "control": self.control, "groups": [g.to_dict() for g in self.groups],
            "differences": [d.to_dict() for d in self.differences], "p_welch": self.p_welch,
            "p_mann_whitney": self.p_mann_whitney, "p_anova": self.p_anova, "p_kruskal": self.p_kruskal,
            "reason": self.reason, "excluded": [list(e) for e in self.excluded],
        })


def _too_few(name: str, n: int) -> str:
    return f"group {name} has {n} patient{'' if n == 1 else 's'} with a value; a test needs {MIN_PER_GROUP}"


def welch_difference(x: np.ndarray, c: np.ndarray, group: str, control: str) -> Difference:
    """mean(x) − mean(c) with the Welch 95 % CI and two-sided p (scipy's ``ttest_ind(equal_var=False)``)."""
    for name, v in ((group, x), (control, c)):
        if len(v) < MIN_PER_GROUP:
            return Difference(group, control, None, None, None, None, _too_few(name, len(v)))
    diff = float(np.mean(x) - np.mean(c))
    if np.var(x) == 0 and np.var(c) == 0:
        return Difference(group, control, diff, None, None, None,
                          "every value within each group is the same: Welch's t is not defined")
    res = sps.ttest_ind(x, c, equal_var=False)
    ci = res.confidence_interval(0.95)
    return Difference(group, control, diff, _f(ci.low), _f(ci.high), _f(res.pvalue))


def compare_groups(values: pd.DataFrame, order: Sequence[str], control: str | None = None,
                   quantity: str = "value") -> GroupComparison:
    """Compare per-patient ``values`` (columns ``group`` and ``value``; one row per patient) between the
    groups of ``order``; ``control`` defaults to ``order[0]``.  Missing values are left out."""
    order, control, why = resolve_groups(order, control)
    v = values[values["group"].astype(str).isin(order)]
    v = v[pd.to_numeric(v["value"], errors="coerce").notna()]
    by = {g: v.loc[v["group"].astype(str) == g, "value"].to_numpy(dtype=float) for g in order}
    stats_ = tuple(GroupStats(g, len(a), _f(a.mean()) if len(a) else None,
                              _f(a.std(ddof=1)) if len(a) >= 2 else None) for g, a in by.items())
    if why:
        return GroupComparison(quantity, control, stats_, (), reason=why)
    diffs = tuple(welch_difference(by[g], by[control], g, control) for g in order if g != control)
    few = [g for g in order if len(by[g]) < MIN_PER_GROUP]
    if len(order) == 2:
        d = diffs[0]
        if few:
            return GroupComparison(quantity, control, stats_, diffs, reason=d.reason)
        g = order[1]
        p_mw = _f(sps.mannwhitneyu(by[g], by[control], alternative="two-sided").pvalue)
        return GroupComparison(quantity, control, stats_, diffs, p_welch=d.p_welch, p_mann_whitney=p_mw,
                               reason=d.reason)
    if few:
        return GroupComparison(quantity, control, stats_, diffs,
                               reason="; ".join(_too_few(g, len(by[g])) for g in few)
                               + " (no test over all groups)")
    arrays = [by[g] for g in order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: the p is NaN, reported as None with a reason below
        p_anova = _f(sps.f_oneway(*arrays).pvalue)
        try:
            p_kw = _f(sps.kruskal(*arrays).pvalue)
        except ValueError:  # every value identical
            p_kw = None
    reason = None if p_anova is not None and p_kw is not None else "all values are equal: no test is defined"
    return GroupComparison(quantity, control, stats_, diffs, p_anova=p_anova, p_kruskal=p_kw, reason=reason)


# ---------------------------------------------------------------- per-patient slopes after day 0


def post_baseline_slopes(meas: pd.DataFrame, measure: str, ids: Sequence[str] | None = None,
                         until: float | None = None) -> pd.DataFrame:
    """Per patient with a value of ``measure`` at month >= 0 (and <= ``until``): ``n`` values and the OLS
    ``slope`` of value on month (NaN with fewer than 2 values at distinct months).  Index: patient id (str)."""
    m = meas[(meas["measure"] == measure) & (meas["month"] >= 0)]
    if until is not None:
        m = m[m["month"] <= until]
    if ids is not None:
        m = m[m["patient_id"].astype(str).isin([str(i) for i in ids])]
    codes, uniq = pd.factorize(m["patient_id"].astype(str), sort=False)
    n, slope = _ols_by_code(codes, len(uniq), m["month"].to_numpy(dtype=float), m["value"].to_numpy(dtype=float))
    return pd.DataFrame({"n": n.astype(int), "slope": slope}, index=pd.Index(uniq, name="patient_id", dtype=object))


def slope_comparison(meas: pd.DataFrame, measure: str, groups: pd.Series, order: Sequence[str],
                     control: str | None = None, until: float | None = None) -> GroupComparison:
    """Per-patient post-baseline OLS slopes of ``measure`` (:func:`post_baseline_slopes`) compared between
    the groups (:func:`compare_groups`); patients without a slope are listed in ``excluded``."""
    g = group_series(groups)
    g = g[g.isin([str(x) for x in order])]
    slopes = post_baseline_slopes(meas, measure, list(g.index), until)
    slope = slopes["slope"].reindex(g.index)
    counts = slopes["n"].reindex(g.index).fillna(0).astype(int)
    excluded = tuple(
        (pid, f"{counts[pid]} {measure} value(s) from day 0"
              + (f" to month {until:g}" if until is not None else "") + ": a slope needs 2 at distinct months")
        for pid in g.index[slope.isna().to_numpy()])
    frame = pd.DataFrame({"group": g.to_numpy(), "value": slope.to_numpy()}, index=g.index)
    res = compare_groups(frame, order, control, quantity=f"{measure} slope after day 0 (per month)")
    reason = res.reason
    if all(s.n == 0 for s in res.groups):
        none = f"no patient has 2 or more {measure} values at distinct months from day 0"
        reason = f"{reason}; {none}" if reason and "groups" in reason and "needs 2 or more" in reason else none
    return dataclasses.replace(res, reason=reason, excluded=excluded)


# ---------------------------------------------------------------- change from baseline by visit


def day0_values(meas: pd.DataFrame, measure: str) -> pd.Series:
    """Each patient's value of ``measure`` at the day-0 visit (visit month 0; of several values there, the one
    nearest to day 0, then the first).  Index: patient id (str)."""
    m = meas[meas["measure"] == measure]
    m = m[(_visit_month(m) == 0).to_numpy() & m["value"].notna().to_numpy()]
    if m.empty:
        return pd.Series(dtype=float, index=pd.Index([], dtype=object, name="patient_id"))
    m = m.assign(_pid=m["patient_id"].astype(str), _d=m["month"].abs()).sort_values("_d", kind="stable")
    first = m.drop_duplicates("_pid")
    return pd.Series(first["value"].to_numpy(dtype=float), index=pd.Index(first["_pid"], dtype=object,
                                                                           name="patient_id"))


@dataclass(frozen=True)
class VisitChange:
    """Change from baseline of one group at one visit."""

    group: str
    visit: str
    month: float
    n: int
    mean: float | None
    sd: float | None
    sem: float | None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class VisitChanges:
    """Per group and scheduled visit after day 0: change from the day-0 value (mean, SD, SEM, n).

    ``rows`` are in visit order, then group order; a (group, visit) without values has no row.
    ``no_baseline``: per group, patients with values of the measure but none at the day-0 visit (left out).
    """

    measure: str
    groups: tuple[str, ...]
    rows: tuple[VisitChange, ...]
    no_baseline: tuple[tuple[str, int], ...]
    reason: str | None = None

    def to_dict(self) -> dict:
        return clean({"measure": self.measure, "groups": list(self.groups), "rows": [r.to_dict() for r in self.rows],
                      "no_baseline": {g: n for g, n in self.no_baseline}, "reason": self.reason})


def visit_changes(meas: pd.DataFrame, measure: str, groups: pd.Series, order: Sequence[str]) -> VisitChanges:
    """Change from baseline at each scheduled visit after day 0, by group (see the module docstring)."""
    order = [str(x) for x in order]
    g = group_series(groups)
    g = g[g.isin(order)]
    m = meas[meas["measure"] == measure]
    m = m[m["patient_id"].astype(str).isin(list(g.index)) & m["value"].notna()]
    base = day0_values(m, measure)
    with_values = pd.unique(m["patient_id"].astype(str))
    missing = [p for p in with_values if p not in base.index]
    no_base = tuple((grp, int((g.reindex(missing) == grp).sum())) for grp in order)
    vm = _visit_month(m)
    post = m[(vm > 0).to_numpy()]
    post = post.assign(_pid=post["patient_id"].astype(str), _vm=_visit_month(post))
    post = post[post["_pid"].isin(list(base.index))]
    if post.empty:
        why = (f"no {measure} values in these groups" if m.empty else
               f"no patient has a {measure} value at the day-0 visit" if base.empty else
               f"no {measure} values at scheduled visits after day 0 in patients with a day-0 value")
        return VisitChanges(measure, tuple(order), (), no_base, why)
    post = post.assign(change=post["value"].to_numpy(dtype=float) - base.reindex(post["_pid"]).to_numpy(),
                       group=g.reindex(post["_pid"]).to_numpy())
    rows = []
    for (month, visit), sub in post.groupby(["_vm", post["visit"].astype(str)], sort=True, observed=True):
        for grp in order:
            c = sub.loc[sub["group"] == grp, "change"].to_numpy(dtype=float)
            if len(c) == 0:
                continue
            sd = float(c.std(ddof=1)) if len(c) >= 2 else None
            rows.append(VisitChange(grp, str(visit), float(month), len(c), float(c.mean()), sd,
                                    sd / math.sqrt(len(c)) if sd is not None else None))
    return VisitChanges(measure, tuple(order), tuple(rows), no_base)


# ---------------------------------------------------------------- CAFS


def cafs_inputs(meas: pd.DataFrame, measure: str, patients: pd.DataFrame, groups: pd.Series,
                window_months: float) -> pd.DataFrame:
    """The per-patient frame :func:`cafs` ranks: patient_id, group, died (boolean; NA: not recorded), death_day
    (days from day 0, NaN if none) and change (last value of ``measure`` at month in (0, window] minus the
    day-0 value; NaN if either is missing).  ``patients``: the dataset's patients table (its optional ``died``
    and ``death_day``)."""
    g = group_series(groups)
    p = patients.assign(_pid=patients["patient_id"].astype(str)).set_index("_pid")
    ids = [i for i in g.index if i in p.index]
    died = (p["died"] if "died" in p else pd.Series(pd.NA, index=p.index)).reindex(ids)
    day = pd.to_numeric(p["death_day"], errors="coerce").reindex(ids) if "death_day" in p else \
        pd.Series(np.nan, index=ids)
    died = died.astype("boolean").mask(day.notna().to_numpy(), True)  # a day of death is a death; NA: not recorded
    m = meas[(meas["measure"] == measure) & meas["value"].notna()]
    m = m[m["patient_id"].astype(str).isin(ids)]
    base = day0_values(m, measure)
    post = m[(m["month"] > 0) & (m["month"] <= window_months)]
    post = post.assign(_pid=post["patient_id"].astype(str)).sort_values("month", kind="stable")
    last = post.drop_duplicates("_pid", keep="last").set_index("_pid")["value"].astype(float)
    change = last.reindex(ids) - base.reindex(ids)
    return pd.DataFrame({"patient_id": ids, "group": g.reindex(ids).to_numpy(), "died": died.to_numpy(),
                         "death_day": day.to_numpy(dtype=float), "change": change.to_numpy(dtype=float)})


def cafs_scores(died: np.ndarray, death_day: np.ndarray, change: np.ndarray, window_days: float) -> np.ndarray:
    """Each patient's CAFS score: over every other patient, +1 where they rank better, −1 where worse (the rules
    of the module docstring).  By counting instead of comparing every pair (n log n; 10,000 patients in
    milliseconds): the survival rule orders patients by a time (the day of death, survivors of the window after
    every death), and within one time the change decides among the patients who have one."""
    died = np.asarray(died, dtype=bool)
    day = np.asarray(death_day, dtype=float)
    change = np.asarray(change, dtype=float)
    dead = died & ~np.isnan(day) & (day <= window_days)
    t = np.where(dead, day, window_days + 1.0)  # survivors of the window: later than any death in it
    ts = np.sort(t)
    n = len(t)
    # rule 1 and 2: patients with an earlier time rank below, a later one above
    score = np.searchsorted(ts, t, side="left") - (n - np.searchsorted(ts, t, side="right"))
    # rule 3, among the patients of one time with a change: a smaller change ranks below, a larger above
    has = ~np.isnan(change)
    if has.any():
        f = pd.DataFrame({"t": t[has], "c": change[has]})
        by = f.groupby("t")["c"]
        below = by.rank(method="min").to_numpy() - 1
        above = by.transform("size").to_numpy() - by.rank(method="max").to_numpy()
        score[has] += (below - above).astype(np.int64)
    return score.astype(np.int64)


@dataclass(frozen=True)
class CafsScore:
    patient_id: str
    group: str
    score: int
    died_in_window: bool
    death_day: float | None
    change: float | None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class CafsGroup:
    group: str
    n: int
    deaths: int
    mean_score: float | None
    median_score: float | None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class CafsResult:
    """CAFS scores and their rank-sum test (see the module docstring).

    ``test`` names the test ("Wilcoxon rank-sum" for two groups, "Kruskal-Wallis" for more); ``p`` is its
    two-sided p, None with a ``reason`` where it cannot be made.  ``excluded``: (patient, why).
    """

    measure: str
    window_months: float
    control: str | None
    groups: tuple[CafsGroup, ...]
    scores: tuple[CafsScore, ...]
    test: str | None
    p: float | None
    reason: str | None = None
    excluded: tuple[tuple[str, str], ...] = ()
    #: said where no patient's death is recorded (no ``died`` or ``death_day``): the ranking is on function alone
    note: str | None = None

    def to_dict(self) -> dict:
        return clean({
            "measure": self.measure, "window_months": self.window_months, "control": self.control,
            "groups": [g.to_dict() for g in self.groups], "scores": [s.to_dict() for s in self.scores],
            "test": self.test, "p": self.p, "reason": self.reason, "excluded": [list(e) for e in self.excluded],
            "note": self.note,
        })


def cafs(frame: pd.DataFrame, order: Sequence[str], control: str | None = None, window_months: float = 12.0,
         measure: str = "ALSFRS") -> CafsResult:
    """CAFS over the patients of ``frame`` (columns patient_id, group, died, death_day, change; as from
    :func:`cafs_inputs`) in the groups of ``order``; ``control`` defaults to ``order[0]``."""
    order, control, why = resolve_groups(order, control)
    window_days = window_months * DAYS_PER_MONTH
    f = frame[frame["group"].astype(str).isin(order)]
    died_col = f["died"].astype("boolean")
    day = pd.to_numeric(f["death_day"], errors="coerce").to_numpy(dtype=float)
    no_day = died_col.fillna(False).to_numpy(dtype=bool) & np.isnan(day)
    note = (f"no death is recorded for these patients (no died or death_day): they are ranked on the {measure} "
            "change alone" if died_col.isna().all() and np.isnan(day).all() else
            f"{int(no_day.sum())} patient(s) died on a day not recorded: left out (a death cannot be ranked "
            "without its day)" if no_day.any() else None)
    died = died_col.fillna(False).to_numpy(dtype=bool)
    change = pd.to_numeric(f["change"], errors="coerce").to_numpy(dtype=float)
    dead = died & ~np.isnan(day) & (day <= window_days)
    # a death without a day cannot be placed against the window or other deaths: never ranked as a survivor
    undated = died & np.isnan(day)
    ok = (dead | ~np.isnan(change)) & ~undated
    pid = f["patient_id"].astype(str).to_numpy()
    excluded = tuple((p, "died on a day not recorded: cannot be ranked on survival" if u else
                      f"alive at month {window_months:g} (or no death recorded) and no {measure} change from "
                      f"the day-0 visit to a value in months 0-{window_months:g}: cannot be ranked")
                     for p, u in zip(pid[~ok], undated[~ok]))
    grp = f["group"].astype(str).to_numpy()[ok]
    pid, died, day, change, dead = pid[ok], died[ok], day[ok], change[ok], dead[ok]
    score = cafs_scores(died, day, change, window_days)
    scores = tuple(CafsScore(p, g_, int(s), bool(d), _f(dd) if d else None, _f(c))
                   for p, g_, s, d, dd, c in zip(pid, grp, score, dead, day, change))
    by = {g_: score[grp == g_].astype(float) for g_ in order}
    groups = tuple(CafsGroup(g_, len(a), int(dead[grp == g_].sum()), _f(a.mean()) if len(a) else None,
                             _f(np.median(a)) if len(a) else None) for g_, a in by.items())
    test = "Wilcoxon rank-sum" if len(order) == 2 else "Kruskal-Wallis"
    if why:
        return CafsResult(measure, window_months, control, groups, scores, None, None, why, excluded, note)
    few = [g_ for g_ in order if len(by[g_]) < MIN_PER_GROUP]
    if few:
        return CafsResult(measure, window_months, control, groups, scores, test, None,
                          "; ".join(f"group {g_} has {len(by[g_])} ranked patient{'' if len(by[g_]) == 1 else 's'}; "
                                    f"the test needs {MIN_PER_GROUP}" for g_ in few), excluded, note)
    if len(set(score.tolist())) == 1:
        return CafsResult(measure, window_months, control, groups, scores, test, None,
                          "every patient ranks equal: no test is defined", excluded, note)
    if len(order) == 2:
        p = sps.mannwhitneyu(by[order[1]], by[control], alternative="two-sided").pvalue
    else:
        p = sps.kruskal(*by.values()).pvalue
    return CafsResult(measure, window_months, control, groups, scores, test, _f(p), None, excluded, note)
