"""Statistics: pure functions over the dataset's tables (pandas/scipy only).

Every result that can fail to be computable carries a ``note`` saying why,
and ``None`` in place of the number; nothing returns NaN or Infinity.
Conventions: SD uses n - 1; SEM = SD / sqrt(n); slopes are ordinary least
squares, in units per month.  The Wilcoxon signed-rank test treats paired
differences equal up to floating-point noise (``TIE_TOLERANCE``) as ties or
zeros, as they are in exact arithmetic.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd
from scipy import stats as sps

from .data import MEASURES, ONSETS, SEVERITIES, SEXES, WS_MEASURES, functional_measure

WINDOWS = (3, 6, 9, 12)
NOT_COMPUTABLE_N = "not computable: n < 2"
#: For the Wilcoxon test, paired differences that agree to this fraction of the
#: largest |value| are ties, and ones that small are zeros (floating-point noise).
TIE_TOLERANCE = 1e-9


def clean(x):
    """A JSON-safe copy: NaN/Inf -> None, numpy scalars -> Python, recursively."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if x is pd.NA or x is pd.NaT:
        return None
    return x


def _f(x) -> float | None:
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


# ---------------------------------------------------------------- descriptive


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    sd: float | None
    sem: float | None
    note: str | None = None

    def to_dict(self) -> dict:
        return clean(asdict(self))


def describe(values: Iterable[float]) -> Summary:
    """n, mean, SD (n-1) and SEM of the non-missing values."""
    a = np.asarray(pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").dropna(), dtype=float)
    n = len(a)
    if n == 0:
        return Summary(0, None, None, None, "no values")
    mean = float(a.mean())
    if n < 2:
        return Summary(1, mean, None, None, NOT_COMPUTABLE_N + " for SD and SEM")
    sd = float(a.std(ddof=1))
    return Summary(n, mean, sd, sd / math.sqrt(n))


def characteristics(patient_frame: pd.DataFrame, ids: Sequence[str]) -> dict:
    """Table 2-style cohort characteristics of the patients ``ids``."""
    p = patient_frame.loc[list(ids)]
    out = {
        "n": len(p),
        "age": describe(p["age"].astype("float64")).to_dict(),
        "disease_duration_months": describe(p["disease_duration_months"].astype("float64")).to_dict(),
        "sex": {s: int((p["sex"] == s).sum()) for s in SEXES},
        # bulbar onset only where a patient has it (the shipped trial has none)
        "onset": {o: int((p["onset"] == o).sum()) for o in ONSETS if o != "bulbar" or (p["onset"] == o).any()},
    }
    missing_sex = int(p["sex"].isna().sum())
    missing_onset = int(p["onset"].isna().sum())
    if missing_sex:
        out["sex"]["missing"] = missing_sex
    if missing_onset:
        out["onset"]["missing"] = missing_onset
    for meas, spec in MEASURES.items():
        col = f"baseline_{meas}"
        if spec.baseline_label and col in p and (spec.baseline_always or p[col].notna().any()):
            out[col] = describe(p[col].astype("float64")).to_dict()
    if "delta_fs" in p:
        out["delta_fs"] = describe(p["delta_fs"].astype("float64")).to_dict()
    return out


def _sel(meas: pd.DataFrame, ids: Sequence[str] | None, measure: str | None = None) -> pd.DataFrame:
    m = meas
    if measure is not None:
        m = m[m["measure"] == measure]
    if ids is not None:
        m = m[m["patient_id"].isin(list(ids))]
    return m


def _key_codes(*columns: pd.Series) -> np.ndarray:
    """One integer per row, equal for rows whose values agree in every column (missing values form one group)."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        k, uniq = pd.factorize(col, sort=False, use_na_sentinel=True)
        codes = codes * (len(uniq) + 1) + (k + 1)
    return codes


def _group_moments(codes: np.ndarray, k: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group code 0..k-1: count, mean and SD (n - 1) of the non-missing ``x``; NaN where not computable."""
    ok = ~np.isnan(x)
    c, v = codes[ok], x[ok]
    n = np.bincount(c, minlength=k).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(c, v, minlength=k) / n
        ss = np.bincount(c, (v - mean[c]) ** 2, minlength=k)  # two passes: no cancellation
        sd = np.where(n >= 2, np.sqrt(ss / (n - 1)), np.nan)
    return n, mean, sd


def _visit_month(m: pd.DataFrame) -> pd.Series:
    """Each value's visit month (:attr:`dashboard.data.Dataset.measurements` ``visit_month``: a binned value's
    visit, NaN at an unscheduled visit); a frame without the column: its ``month``."""
    return m["visit_month"] if "visit_month" in m.columns else m["month"]


def _baseline_per_row(m: pd.DataFrame, pick: str = "last") -> np.ndarray:
    """Each row's baseline: its patient's last value of its measure at a visit at or before day 0
    (``pick="first"``: the earliest pre-treatment value); NaN where there is none."""
    key = _key_codes(m["patient_id"], m["measure"])
    _u, inv = np.unique(key, return_inverse=True)
    month = _visit_month(m).to_numpy(dtype=float)
    value = m["value"].to_numpy(dtype=float)
    cand = np.flatnonzero((month <= 0) & ~np.isnan(value))
    out = np.full(len(m), np.nan)
    if len(cand) == 0:
        return out
    # per key, the candidate with the largest (pick="last") or smallest month; ties: the later row / the earlier row
    order = cand[np.lexsort((cand, month[cand], inv[cand]))]
    g = inv[order]
    edge = (np.flatnonzero(np.r_[g[1:] != g[:-1], True]) if pick == "last"
            else np.flatnonzero(np.r_[True, g[1:] != g[:-1]]))
    base = np.full(len(_u), np.nan)
    base[g[edge]] = value[order[edge]]
    return base[inv]


def visit_summaries(meas: pd.DataFrame, ids: Sequence[str] | None = None,
                    measures: Sequence[str] | None = None) -> pd.DataFrame:
    """Per measure and visit: n, mean, SD, SEM of the values, and of the change from baseline.

    Baseline is each patient's last value at or before day 0; the change is
    value minus baseline, for patients who have both.  Columns that cannot be
    computed hold None.  A binned visit's values count at the visit's month;
    values at unscheduled visits are in no summary.  (Computed with numpy group
    sums: this runs on every filter change of three views.)
    """
    m = _sel(meas, ids)
    if measures is not None:
        m = m[m["measure"].isin(list(measures))]
    cols = ["measure", "visit", "month", "n", "mean", "sd", "sem", "change_n", "change_mean", "change_sd", "change_sem",
            "simulated"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    vm = _visit_month(m)
    base_all = _baseline_per_row(m)
    keep = vm.notna().to_numpy()
    if not keep.all():
        m, vm, base_all = m[keep], vm[keep], base_all[keep]
        if m.empty:
            return pd.DataFrame(columns=cols)
    key = _key_codes(m["measure"], m["visit"], vm)
    _u, first, inv = np.unique(key, return_index=True, return_inverse=True)
    k = len(_u)
    value = m["value"].to_numpy(dtype=float)
    n, mean, sd = _group_moments(inv, k, value)
    cn, cmean, csd = _group_moments(inv, k, value - base_all)
    with np.errstate(divide="ignore", invalid="ignore"):
        sem, csem = sd / np.sqrt(n), csd / np.sqrt(cn)
    sim = np.bincount(inv, m["simulated"].to_numpy(dtype=bool), minlength=k) > 0
    head = m.iloc[first]
    order = {name: i for i, name in enumerate(MEASURES)}
    agg = pd.DataFrame({
        "measure": head["measure"].astype(object).to_numpy(), "visit": head["visit"].astype(object).to_numpy(),
        "month": vm.iloc[first].to_numpy(dtype=float), "n": n.astype(int), "mean": mean, "sd": sd, "sem": sem,
        "change_n": cn.astype(int), "change_mean": cmean, "change_sd": csd, "change_sem": csem, "simulated": sim,
        "_o": [order.get(x, len(order)) for x in head["measure"].astype(object)], "_first": first,
    })
    agg = agg.sort_values(["_o", "month", "_first"], kind="stable")[cols].reset_index(drop=True).astype(object)
    return agg.where(pd.notna(agg), None)


# ---------------------------------------------------------------- slopes


def _ols_by_code(codes: np.ndarray, k: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group code 0..k-1: (n, OLS slope of y on x); the slope is NaN with < 2 values or no spread in x."""
    n = np.bincount(codes, minlength=k).astype(float)
    sx = np.bincount(codes, x, minlength=k)
    sy = np.bincount(codes, y, minlength=k)
    sxx = np.bincount(codes, x * x, minlength=k)
    sxy = np.bincount(codes, x * y, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        sxx_c = sxx - sx**2 / n
        sxy_c = sxy - sx * sy / n
        slope = np.where((n >= 2) & (sxx_c > 1e-12), sxy_c / sxx_c, np.nan)
    return n, slope


def _ols_slopes(df: pd.DataFrame) -> pd.DataFrame:
    """Per patient: n and OLS slope of value on month (NaN where not computable)."""
    codes, uniq = pd.factorize(df["patient_id"], sort=False)
    n, slope = _ols_by_code(codes, len(uniq), df["month"].to_numpy(dtype=float), df["value"].to_numpy(dtype=float))
    return pd.DataFrame({"n": n.astype(int), "slope": slope}, index=pd.Index(uniq, name="patient_id"))


def patient_slopes(meas: pd.DataFrame, measure: str, ids: Sequence[str] | None = None,
                   windows: Sequence[float] = WINDOWS) -> pd.DataFrame:
    """Per patient: pre-treatment slope (month <= 0) and post-treatment slopes (0 <= month <= W).

    Columns ``pre_slope``, ``pre_n`` and for each window W ``post_slope_W``,
    ``post_n_W``.  A slope needs at least 2 values at distinct months; it is
    NaN otherwise.  Index: patient id (every patient with a value of the measure).
    """
    m = _sel(meas, ids, measure)
    codes, uniq = pd.factorize(m["patient_id"], sort=False)
    k = len(uniq)
    x = m["month"].to_numpy(dtype=float)
    y = m["value"].to_numpy(dtype=float)
    cols = {}
    pre = x <= 0
    n, slope = _ols_by_code(codes[pre], k, x[pre], y[pre])
    cols["pre_slope"], cols["pre_n"] = slope, n.astype(int)
    for w in windows:
        sel = (x >= 0) & (x <= w)
        n, slope = _ols_by_code(codes[sel], k, x[sel], y[sel])
        cols[f"post_slope_{w:g}"], cols[f"post_n_{w:g}"] = slope, n.astype(int)
    return pd.DataFrame(cols, index=pd.Index(uniq, name="patient_id"))


# ---------------------------------------------------------------- the pre/post rule


#: THE rule for every pre- vs post-treatment comparison (the paired slope tests, the slope-pair and waterfall
#: figures, the mixed model's change in slope, the progressor/stable grouping): of the dataset's patients with
#: values of the measure, at least MIN_PRE_PATIENTS and at least MIN_PRE_SHARE of them must have a
#: pre-treatment slope (2 or more values at distinct months at or before day 0).  It asks whether the trial
#: has a pre-treatment (lead-in) period for the measure, so it is evaluated over the whole dataset, not a
#: selection: a trial without a lead-in where a few patients happen to have screening values gets no test;
#: a small selection of a trial with one keeps its tests (each shows its n; n < 2 is not computable).
#: Why 6: with fewer pairs the Wilcoxon signed-rank test cannot reach p < 0.05 whatever the data
#: (n = 5: the smallest two-sided p is 2/32 = 0.0625).
MIN_PRE_PATIENTS = 6
MIN_PRE_SHARE = 0.5


@dataclass(frozen=True)
class PrePost:
    """Whether a pre/post comparison of ``measure`` can be made in a dataset (see :data:`MIN_PRE_PATIENTS`)."""

    measure: str
    #: patients with any value of the measure
    n_patients: int
    #: of them, patients with a pre-treatment slope
    n_pre: int
    #: None when computable, else why not (in words)
    reason: str | None = None

    @property
    def computable(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return clean({**asdict(self), "computable": self.computable})


def pre_post_rule(meas: pd.DataFrame, measure: str) -> PrePost:
    """The rule (:data:`MIN_PRE_PATIENTS`, :data:`MIN_PRE_SHARE`) applied to every patient in ``meas``
    with values of ``measure`` (pass the whole dataset's measurements: the rule is about the design)."""
    slopes = patient_slopes(meas, measure, windows=())
    n, n_pre = len(slopes), int(slopes["pre_slope"].notna().sum()) if len(slopes) else 0
    need = (f"a pre/post comparison needs at least {MIN_PRE_PATIENTS} and at least "
            f"{'half' if MIN_PRE_SHARE == 0.5 else f'{MIN_PRE_SHARE:.0%}'} of them")
    if n == 0:
        return PrePost(measure, 0, 0, f"no {measure} values in this dataset")
    if n_pre < MIN_PRE_PATIENTS or n_pre < MIN_PRE_SHARE * n:
        if n_pre == 0:
            return PrePost(measure, n, 0, f"no patient has {measure} values at 2 or more months up to day 0 "
                                          f"(a pre-treatment slope); {need}")
        return PrePost(measure, n, n_pre,
                       f"only {n_pre} of the {n} patients with {measure} values {'has' if n_pre == 1 else 'have'} "
                       f"values at 2 or more months up to day 0 (a pre-treatment slope); {need}")
    return PrePost(measure, n, n_pre)


@functools.lru_cache(maxsize=64)
def pre_post(dataset, measure: str) -> PrePost:
    """:func:`pre_post_rule` over a whole :class:`~dashboard.data.Dataset` (memoised; datasets are immutable)."""
    return pre_post_rule(dataset.measurements, measure)


def progression_reason(dataset) -> str | None:
    """Why the progressor/stable grouping (the pre-treatment fall of the functional scale) is not offered
    for a dataset (:func:`pre_post_rule` does not hold for that scale), or None when it is."""
    rule = pre_post(dataset, functional_measure(dataset.measures))
    if rule.computable:
        return None
    return f"progressors and stable patients are not defined in this dataset: {rule.reason}"


def pre_post_reason(rule: PrePost) -> str:
    """The not-computable note of a pre/post comparison the rule forbids."""
    return f"not computable: {rule.reason}"


@dataclass(frozen=True)
class SlopeTest:
    measure: str
    window_months: float
    n: int
    pre_slope_mean: float | None
    pre_slope_sem: float | None
    post_slope_mean: float | None
    post_slope_sem: float | None
    mean_difference: float | None
    ci95_low: float | None
    ci95_high: float | None
    t: float | None
    p_ttest: float | None
    p_wilcoxon: float | None
    note: str | None = None
    patient_ids: tuple[str, ...] = field(default=())
    #: why no pre/post comparison is made at all in this dataset (:func:`pre_post_rule`); None: the rule holds
    not_computable: str | None = None

    def to_dict(self, with_ids: bool = True) -> dict:
        # field by field, not asdict (which deep-copies the patient ids, thousands in a large trial)
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "patient_ids"}
        if with_ids:
            d["patient_ids"] = list(self.patient_ids)
        return clean(d)


def _snap_ties(d: np.ndarray, tol: float) -> np.ndarray:
    """``d`` with magnitudes within ``tol`` of a smaller one made equal to it, and those within ``tol`` of 0 made 0.

    Walks the magnitudes in increasing order; each group of values within
    ``tol`` of the group's first value takes that value (signs are kept).
    """
    mag = np.abs(d)
    order = np.argsort(mag, kind="stable")
    snapped = mag[order]
    prev = 0.0
    for i, v in enumerate(snapped):
        if v - prev <= tol:
            snapped[i] = prev
        else:
            prev = v
    out = np.empty_like(mag)
    out[order] = snapped
    return np.where(out == 0, 0.0, np.copysign(out, d))


def _exact_signed_rank_p(d: np.ndarray) -> float:
    """Two-sided p of the signed-rank statistic by exact enumeration of all 2^n sign assignments.

    The statistic is the sum of the (mid)ranks of |d| over the positive d (zeros
    dropped, Wilcoxon's method); its null distribution is counted by dynamic
    programming over doubled midranks (integers), which is what scipy's
    permutation test enumerates, in microseconds instead of tenths of a second.
    """
    nz = d[d != 0]
    if len(nz) == 0:
        return float("nan")
    ranks2 = np.rint(2 * sps.rankdata(np.abs(nz))).astype(np.int64)  # midranks doubled: integers
    t_obs = int(ranks2[nz > 0].sum())
    counts = np.zeros(int(ranks2.sum()) + 1)
    counts[0] = 1.0
    for r in ranks2:
        shifted = np.zeros_like(counts)
        shifted[r:] = counts[:-r] if r else counts
        counts = counts + shifted
    total = counts.sum()
    p_ge = counts[t_obs:].sum() / total
    p_le = counts[: t_obs + 1].sum() / total
    return float(min(1.0, 2 * min(p_ge, p_le)))


def wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided p of ``scipy.stats.wilcoxon(d)`` with its default options.

    scipy answers with ties or zeros among at most 13 differences by a
    permutation test over all 2^n sign flips; that exact p is computed here by
    :func:`_exact_signed_rank_p` (tests check it equals scipy's).  Every other
    case is scipy's own computation.
    """
    d = np.asarray(d, dtype=float)
    nz = d[d != 0]
    has_ties = len(np.unique(np.abs(nz))) < len(nz)
    if len(d) <= 13 and (has_ties or len(nz) < len(d)):
        return _exact_signed_rank_p(d)
    return float(sps.wilcoxon(d).pvalue)


def paired_test(pre: Sequence[float], post: Sequence[float]) -> dict:
    """Paired comparison of post vs pre: means, SEMs, difference with 95% CI, t-test and Wilcoxon.

    Returns a dict of the SlopeTest number fields plus ``note`` (why some are None).
    """
    pre_a = np.asarray(pre, dtype=float)
    post_a = np.asarray(post, dtype=float)
    keep = np.isfinite(pre_a) & np.isfinite(post_a)
    pre_a, post_a = pre_a[keep], post_a[keep]
    n = len(pre_a)
    res = dict(n=n, pre_slope_mean=None, pre_slope_sem=None, post_slope_mean=None, post_slope_sem=None,
               mean_difference=None, ci95_low=None, ci95_high=None, t=None, p_ttest=None, p_wilcoxon=None, note=None)
    if n == 0:
        res["note"] = "not computable: no patient has values in both periods"
        return res
    d_pre, d_post = describe(pre_a), describe(post_a)
    diff = post_a - pre_a
    res.update(pre_slope_mean=d_pre.mean, pre_slope_sem=d_pre.sem, post_slope_mean=d_post.mean,
               post_slope_sem=d_post.sem, mean_difference=float(diff.mean()))
    if n < 2:
        res["note"] = NOT_COMPUTABLE_N
        return res
    notes = []
    sd = float(diff.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(float(diff.mean()))):
        notes.append("t-test not computable: the differences have zero variance")
    else:
        se = sd / math.sqrt(n)
        tcrit = float(sps.t.ppf(0.975, n - 1))
        res["ci95_low"] = res["mean_difference"] - tcrit * se
        res["ci95_high"] = res["mean_difference"] + tcrit * se
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tt = sps.ttest_rel(post_a, pre_a)
        res["t"], res["p_ttest"] = _f(tt.statistic), _f(tt.pvalue)
    # the slopes carry floating-point noise, which must not break the ties and zeros the ranks depend on
    wdiff = _snap_ties(diff, TIE_TOLERANCE * float(max(np.abs(pre_a).max(), np.abs(post_a).max())))
    if np.all(wdiff == 0):
        notes.append("Wilcoxon not computable: all differences are zero")
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p_w = wilcoxon_p(wdiff)
            res["p_wilcoxon"] = _f(p_w)
            if res["p_wilcoxon"] is None:
                notes.append("Wilcoxon not computable for these differences")
        except ValueError as exc:
            notes.append(f"Wilcoxon not computable: {exc}")
    res["note"] = "; ".join(notes) or None
    return res


def fit_segments(meas: pd.DataFrame, measure: str, ids: Sequence[str] | None, window: float) -> pd.DataFrame:
    """Per patient, the fitted OLS lines as segments: the pre-treatment fit over its months,
    and the post-treatment fit over 0..``window``.

    Columns: patient_id, period ("pre"/"post"), slope, x0, y0, x1, y1.
    Patients without a slope in a period have no segment there.
    """
    m = _sel(meas, ids, measure)
    parts = []
    for period, sub in (("pre", m[m["month"] <= 0]), ("post", m[(m["month"] >= 0) & (m["month"] <= window)])):
        if sub.empty:
            continue
        fit = _ols_slopes(sub)
        g = sub.groupby("patient_id", sort=False)
        mean_x, mean_y = g["month"].mean(), g["value"].mean()
        x0, x1 = g["month"].min(), g["month"].max()
        ok = fit["slope"].notna()
        slope = fit["slope"][ok]
        icpt = mean_y[ok] - slope * mean_x[ok]
        parts.append(pd.DataFrame({
            "patient_id": slope.index, "period": period, "slope": slope.to_numpy(),
            "x0": x0[ok].to_numpy(), "y0": (icpt + slope * x0[ok]).to_numpy(),
            "x1": x1[ok].to_numpy(), "y1": (icpt + slope * x1[ok]).to_numpy(),
        }))
    cols = ["patient_id", "period", "slope", "x0", "y0", "x1", "y1"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def with_both_slopes(slopes: pd.DataFrame, window: float) -> pd.DataFrame:
    """The rows of a :func:`patient_slopes` table with a pre slope and a post slope for ``window``."""
    if slopes.empty:
        return slopes
    return slopes[slopes["pre_slope"].notna() & slopes[f"post_slope_{window:g}"].notna()]


def slope_exclusions(slopes: pd.DataFrame, ids: Sequence[str], window: float,
                     measure: str = "") -> list[tuple[str, str]]:
    """(patient, why) for each of ``ids`` that a window's slope test leaves out (see :func:`with_both_slopes`),
    in the order of ``ids``.  The slopes are looked up at once (a ``.loc`` per patient took 2.6 s per window
    at 10,000 patients)."""
    post, post_n = f"post_slope_{window:g}", f"post_n_{window:g}"
    ids = [str(p) for p in ids]
    if not ids:
        return []
    at = slopes.index.get_indexer(ids) if len(slopes) else np.full(len(ids), -1)
    found = at >= 0
    pre = np.full(len(ids), np.nan)
    after = np.full(len(ids), np.nan)
    pre_n = np.zeros(len(ids), dtype=np.int64)
    post_count = np.zeros(len(ids), dtype=np.int64)
    if found.any():
        rows = slopes.iloc[at[found]]
        pre[found] = rows["pre_slope"].to_numpy(dtype=float)
        after[found] = rows[post].to_numpy(dtype=float)
        pre_n[found] = rows["pre_n"].to_numpy(dtype=np.int64)
        post_count[found] = rows[post_n].to_numpy(dtype=np.int64)
    no_value = f"no {measure} value".replace("  ", " ")
    out = []
    for i in np.flatnonzero(~found | np.isnan(pre) | np.isnan(after)):
        pid = ids[i]
        if not found[i]:
            out.append((pid, no_value))
        elif np.isnan(pre[i]):
            out.append((pid, f"{pre_n[i]} value(s) at or before day 0: a slope needs 2 at distinct months"))
        else:
            out.append((pid, f"{post_count[i]} value(s) from day 0 to month {window:g}: a slope needs 2 at "
                             "distinct months"))
    return out


def slope_test(meas: pd.DataFrame, measure: str, window: float, ids: Sequence[str] | None = None,
               slopes: pd.DataFrame | None = None, rule: PrePost | None = None) -> SlopeTest:
    """Paired test of post- vs pre-treatment slopes for one window.

    Patients need a pre slope and a post slope in the window (>= 2 values each);
    the others are left out.  ``slopes`` may pass a precomputed
    :func:`patient_slopes` table.  ``rule``: :func:`pre_post_rule` of the whole
    dataset (default: of ``meas``); where it does not hold there is no test, only its reason.
    """
    rule = rule if rule is not None else pre_post_rule(meas, measure)
    if not rule.computable:
        empty = dict.fromkeys(("pre_slope_mean", "pre_slope_sem", "post_slope_mean", "post_slope_sem",
                               "mean_difference", "ci95_low", "ci95_high", "t", "p_ttest", "p_wilcoxon"))
        return SlopeTest(measure=measure, window_months=window, n=0, note=pre_post_reason(rule),
                         not_computable=rule.reason, **empty)
    if slopes is None:
        slopes = patient_slopes(meas, measure, ids, windows=(window,))
    elif ids is not None:
        slopes = slopes[slopes.index.isin(list(ids))]
    col = f"post_slope_{window:g}"
    both = with_both_slopes(slopes, window)
    res = paired_test(both["pre_slope"].to_numpy() if len(both) else [], both[col].to_numpy() if len(both) else [])
    if len(slopes) == 0 and not (meas["measure"] == measure).any():  # the full scan only when nothing was found
        res["note"] = f"not computable: no {measure} values in this dataset"
    elif res["n"] == 0 and len(slopes):
        if slopes["pre_slope"].notna().sum() == 0:
            res["note"] = f"not computable: no patient has 2 or more {measure} values before day 0"
        else:
            res["note"] = (f"not computable: no patient has 2 or more {measure} values in 0-{window:g} months "
                           "and a pre-treatment slope")
    return SlopeTest(measure=measure, window_months=window, patient_ids=tuple(both.index), **res)


def slope_tests(meas: pd.DataFrame, measure: str, ids: Sequence[str] | None = None, windows: Sequence[float] = WINDOWS,
                slopes: pd.DataFrame | None = None, rule: PrePost | None = None) -> list[SlopeTest]:
    """The slope test of every window; ``slopes`` may pass a :func:`patient_slopes` table covering ``ids``,
    ``rule`` the whole dataset's :func:`pre_post_rule` (default: of ``meas``)."""
    rule = rule if rule is not None else pre_post_rule(meas, measure)
    if slopes is None and rule.computable:
        slopes = patient_slopes(meas, measure, ids, windows)
    return [slope_test(meas, measure, w, ids, slopes=slopes, rule=rule) for w in windows]


def has_pre_treatment(meas: pd.DataFrame, measure: str) -> bool:
    m = meas[meas["measure"] == measure]
    return bool((m["month"] < 0).any())


# ---------------------------------------------------------------- adverse events


def ae_incidence(ae: pd.DataFrame, ids: Sequence[str], by: str | None = None) -> pd.DataFrame:
    """Per term (and ``by`` = severity, serious or related): patients with it, events, percent of the cohort.

    The percent is of the ``len(ids)`` patients of the cohort (None when the
    cohort is empty).  Sorted by patients (descending), then term.  By serious or related, an event whose
    value was not recorded is its own row (the value missing), never counted as "no".
    """
    n = len(ids)
    a = ae[ae["patient_id"].isin(list(ids))]
    keys = ["term"] + ([by] if by else [])
    cols = keys + ["patients", "events", "percent"]
    if a.empty:
        return pd.DataFrame(columns=cols)
    by_key = a.groupby(keys, observed=True, dropna=False)["patient_id"]  # (a named .agg() is several times slower)
    g = pd.DataFrame({"patients": by_key.nunique(), "events": by_key.size()}).reset_index()
    g["percent"] = (100.0 * g["patients"] / n) if n else None
    g = g.sort_values(["patients", "events", "term"], ascending=[False, False, True],
                      kind="stable").reset_index(drop=True)
    if by == "severity":
        g["severity"] = pd.Categorical(g["severity"], categories=list(SEVERITIES), ordered=True)
    return g[cols]


def ae_summary(ae: pd.DataFrame, ids: Sequence[str]) -> dict:
    """Patients with any event, any serious, any related event, and deaths, among ``ids``."""
    n = len(ids)
    a = ae[ae["patient_id"].isin(list(ids))]

    def pct(k):
        return None if n == 0 else 100.0 * k / n

    out = {}
    for key, sub in (
        ("any", a),
        ("serious", a[a["serious"]]),
        ("related", a[a["related"]]),
        ("death", a[a["severity"] == "Death"]),
    ):
        k = int(sub["patient_id"].nunique())
        out[key] = {"patients": k, "events": int(len(sub)), "percent": pct(k)}
    # events whose seriousness, relationship or severity was not recorded: their own category, never "no"
    nr = {col: a[a[col].isna()] for col in ("serious", "related", "severity") if a[col].isna().any()}
    if nr:
        out["not_recorded"] = {col: {"patients": int(sub["patient_id"].nunique()), "events": int(len(sub))}
                               for col, sub in nr.items()}
    return out


# ---------------------------------------------------------------- stability shares


@dataclass(frozen=True)
class StabilityDefinition:
    """When a patient counts as 'stable' at a visit.

    - ``mode="at_or_above"``: value >= ``threshold`` at that visit (FVC 70%).
    - ``mode="change_below"``: fall from baseline < ``threshold`` (WS 1.0).
    - ``mode="at_or_above_or_change_below"``: either.
    ``per_limb``: for the weakness scores, a patient is stable only if all
    four limbs are (``all``), or the share counts limb values (``limbs``).
    ``missing``: ``exclude`` leaves patients without a value out of the
    denominator; ``unstable`` counts them as not stable.
    ``baseline``: ``last`` = each patient's last value at or before day 0;
    ``first`` = the earliest pre-treatment value (Table 5's visit III).
    """

    mode: str = "at_or_above"
    threshold: float = 70.0
    change_threshold: float | None = None
    missing: str = "exclude"
    per_limb: str = "all"
    baseline: str = "last"

    def __post_init__(self):
        if self.mode not in ("at_or_above", "change_below", "at_or_above_or_change_below"):
            raise ValueError(f"unknown stability mode {self.mode!r}")
        if self.mode == "at_or_above_or_change_below" and self.change_threshold is None:
            raise ValueError("mode 'at_or_above_or_change_below' needs change_threshold")
        if self.missing not in ("exclude", "unstable"):
            raise ValueError(f"unknown missing rule {self.missing!r}")
        if self.per_limb not in ("all", "limbs"):
            raise ValueError(f"unknown per_limb rule {self.per_limb!r}")
        if self.baseline not in ("last", "first"):
            raise ValueError(f"unknown baseline {self.baseline!r}")

    def _baseline_words(self) -> str:
        return "the last value at or before day 0" if self.baseline == "last" else "the first pre-treatment value"

    def describe(self, measure: str) -> str:
        if self.mode == "at_or_above":
            rule = f"{measure} >= {self.threshold:g}"
        elif self.mode == "change_below":
            rule = f"fall from {self._baseline_words()} < {self.threshold:g}"
        else:
            rule = f"{measure} >= {self.threshold:g} or fall from {self._baseline_words()} < {self.change_threshold:g}"
        if measure == "WS":
            rule += " in all four limbs" if self.per_limb == "all" else " (each limb value counted)"
        miss = ("patients without a value left out" if self.missing == "exclude"
                else "patients without a value counted as not stable")
        return f"{rule}; {miss}"


@dataclass(frozen=True)
class Share:
    month: float
    stable: int
    denominator: int
    percent: float | None
    missing: int
    definition: str
    note: str | None = None

    def to_dict(self) -> dict:
        return clean(asdict(self))


def stability_share(meas: pd.DataFrame, ids: Sequence[str], measure: str, month: float,
                    definition: StabilityDefinition) -> Share:
    """Share of the patients ``ids`` stable at ``month`` for ``measure`` (``"WS"`` = the four limbs)."""
    limbs = list(WS_MEASURES) if measure == "WS" else [measure]
    m = meas[meas["measure"].isin(limbs) & meas["patient_id"].isin(list(ids))]
    base = _baseline_per_row(m, definition.baseline)
    at = np.isclose(_visit_month(m).to_numpy(dtype=float), month)
    value = m["value"].to_numpy(dtype=float)[at]
    fall = base[at] - value
    with np.errstate(invalid="ignore"):
        if definition.mode == "at_or_above":
            ok, defined = value >= definition.threshold, np.ones(len(value), dtype=bool)
        elif definition.mode == "change_below":
            ok, defined = fall < definition.threshold, ~np.isnan(fall)
        else:
            ok = (value >= definition.threshold) | (fall < definition.change_threshold)
            defined = np.ones(len(value), dtype=bool)
    ok &= defined
    n_ids = len(set(ids))
    text = definition.describe("WS" if measure == "WS" else measure)
    if measure == "WS" and definition.per_limb == "limbs":
        stable = int(ok.sum())
        have = int(defined.sum())
        denom = have if definition.missing == "exclude" else n_ids * len(limbs)
        missing = denom - have if definition.missing != "exclude" else n_ids * len(limbs) - have
    else:
        # per patient with a value at the visit: stable if every limb is, complete if every limb has a verdict
        codes, _u = pd.factorize(m["patient_id"][at], sort=False)
        k = len(_u)
        complete = np.bincount(codes, defined, minlength=k) == len(limbs)
        all_ok = np.bincount(codes, ok, minlength=k) == np.bincount(codes, minlength=k)
        have = int(complete.sum())
        stable = int((all_ok & complete).sum())
        denom = have if definition.missing == "exclude" else n_ids
        missing = n_ids - have
    if denom == 0:
        return Share(month, 0, 0, None, missing, text, "not computable: no patient has a value at this visit")
    return Share(month, stable, denom, 100.0 * stable / denom, missing, text)


def share_at_or_above(meas: pd.DataFrame, ids: Sequence[str], measure: str, threshold: float) -> pd.DataFrame:
    """Per visit: how many of the patients with a value are at or above ``threshold``."""
    m = meas[(meas["measure"] == measure) & meas["patient_id"].isin(list(ids))]
    cols = ["visit", "month", "n", "at_or_above", "percent"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    m = m.assign(month=_visit_month(m))
    m = m[m["month"].notna()]  # a binned value counts at its visit's month; an unscheduled one nowhere
    g = m.assign(ok=m["value"] >= threshold).groupby(["visit", "month"], observed=True).agg(
        n=("ok", "size"), at_or_above=("ok", "sum")).reset_index()
    g["percent"] = 100.0 * g["at_or_above"] / g["n"]
    return g.sort_values("month").reset_index(drop=True)[cols]
