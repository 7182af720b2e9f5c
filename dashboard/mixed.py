"""A piecewise linear mixed model beside the paired t-test of slopes (statsmodels).

value = b0 + b1 * month + b2 * max(month, 0) + u0 + u1 * month + error,
with a random intercept u0 and random slope u1 per patient.  b1 is the
pre-treatment slope and b2 its change after day 0 (the knot).  For a window W
the model uses every value with month <= W.

An estimate is reported only if the fit converged (statsmodels' flag, no
convergence warning, finite standard errors); otherwise the result says
"not converged" and carries no numbers.  Pure: no Dash import.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .stats import WINDOWS, PrePost, clean, pre_post, pre_post_reason, pre_post_rule

#: The dashboard fits the model interactively only up to this many patients (the CLI has no limit) ...
MAX_INTERACTIVE_PATIENTS = 2000
#: ... and on every filter change only up to this many (a fit takes about a second with 100 patients and up
#: to 8 s with 1,000; above, the user asks for it).
AUTO_FIT_PATIENTS = 150
MIN_PATIENTS = 3
#: Said in place of mixed models that were not fitted because nobody asked for them (``stats --no-mixed``).
NOT_ASKED = "not fitted: the mixed models were not asked for (--no-mixed)"

DISAGREEMENT_NOTE = (
    "The paired t-test compares per-patient OLS slopes, weighting every patient equally and leaving out patients with "
    "fewer than 2 values in a period; the mixed model uses every value, weights patients by how much data they have "
    "and shrinks noisy individual slopes. The two can disagree when patients have few or unequal numbers of visits, "
    "when drop-out depends on the outcome, or when the spread of slopes differs before and after day 0."
)


@dataclass(frozen=True)
class MixedModelResult:
    measure: str
    window_months: float
    n_patients: int
    n_observations: int
    pre_slope: float | None
    slope_change: float | None
    ci95_low: float | None
    ci95_high: float | None
    p: float | None
    converged: bool
    note: str | None = None

    def to_dict(self) -> dict:
        return clean(asdict(self))


def _not(measure, window, n_pat, n_obs, note, converged=False) -> MixedModelResult:
    return MixedModelResult(measure, window, n_pat, n_obs, None, None, None, None, None, converged, note)


def piecewise_mixed_model(meas: pd.DataFrame, measure: str, ids: Sequence[str] | None, window: float,
                          max_patients: int | None = None, rule: PrePost | None = None) -> MixedModelResult:
    """Fit the piecewise mixed model on ``measure`` for the patients ``ids`` over months <= ``window``.

    ``rule``: the whole dataset's :func:`dashboard.stats.pre_post_rule` (default: of ``meas``, which is
    then the whole dataset's measurements); where it does not hold, no change in slope is estimated.
    """
    from scipy import stats as sps

    rule = rule if rule is not None else pre_post_rule(meas, measure)
    m = meas[meas["measure"] == measure]
    if ids is not None:
        m = m[m["patient_id"].isin(list(ids))]
    m = m[m["month"] <= window]
    n_pat = int(m["patient_id"].nunique())
    n_obs = int(len(m))
    if max_patients is not None and n_pat > max_patients:
        return _not(measure, window, n_pat, n_obs,
                    f"not fitted here for more than {max_patients:,} patients (use `python -m dashboard stats`)")
    if n_pat < MIN_PATIENTS:
        return _not(measure, window, n_pat, n_obs,
                    f"not computable: needs at least {MIN_PATIENTS} patients (n = {n_pat})")
    if not (m["month"] < 0).any() or not (m["month"] > 0).any():
        return _not(measure, window, n_pat, n_obs, "not computable: needs values both before and after day 0")
    if m.loc[m["month"] <= 0, "month"].nunique() < 2:
        # one pre-treatment time point (e.g. FVC, measured once before day 0) leaves the pre slope unidentified
        return _not(measure, window, n_pat, n_obs,
                    "not computable: the pre-treatment slope needs values at 2 or more distinct months "
                    "at or before day 0")
    if m["value"].std() == 0:
        return _not(measure, window, n_pat, n_obs, "not computable: all values are equal")
    if not rule.computable:
        return _not(measure, window, n_pat, n_obs, pre_post_reason(rule))
    month = m["month"].to_numpy(float)
    y = m["value"].to_numpy(float)
    exog = np.column_stack([np.ones_like(month), month, np.clip(month, 0, None)])
    groups = m["patient_id"].astype(str).to_numpy()
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        return _not(measure, window, n_pat, n_obs, "not computable: the months do not identify a slope and its change")
    fit, why = _fit(y, exog, groups, np.column_stack([np.ones_like(month), month]))
    note = None
    if fit is None:
        fit, why2 = _fit(y, exog, groups, np.ones((len(y), 1)))
        if fit is None:
            return _not(measure, window, n_pat, n_obs, f"not converged: {why}; no estimate is shown")
        note = f"random slope not estimable ({why}); fitted with a random intercept only"
    params, bse = fit
    est, se = float(params[2]), float(bse[2])
    z = sps.norm.ppf(0.975)
    p = float(2 * sps.norm.sf(abs(est / se)))
    return MixedModelResult(measure, window, n_pat, n_obs, float(params[1]), est, est - z * se, est + z * se,
                            p if math.isfinite(p) else None, True, note)


#: statsmodels' warnings (first words, lower case) -> what they mean, in words a trial statistician reads
_PLAIN = (
    ("the mle may be on the boundary", "a variance was estimated at zero"),
    ("hessian matrix at the estimated parameter values is not positive definite",
     "the estimates are unstable (the likelihood is flat or curved the wrong way there)"),
    ("gradient optimization failed", "the optimiser did not converge"),
    ("check mle_retvals", "the optimiser did not converge"),
    ("retrying mixedlm optimization", "the optimiser did not converge"),
    ("singular matrix", "the design is singular"),
)


def plain_words(message: str) -> str:
    """A statsmodels/numpy message as a reason people read (never the raw message)."""
    low = message.lower()
    return next((words for key, words in _PLAIN if key in low), "the optimiser did not converge")


def _fit(y, exog, groups, exog_re, methods=("bfgs", "lbfgs")):
    """(fixed-effect estimates, their SEs) of a converged REML fit (the first of ``methods`` that converges),
    or (None, why not).

    BFGS first: L-BFGS-B can stop, without any warning, short of the REML optimum.  On the shipped data's
    progressors, months <= 3, it reported a change in slope of 0.547 (p = 8.9e-5) at a REML log-likelihood of
    -113.91, where BFGS, Powell and Nelder-Mead all reach -107.95 (0.542, p = 3.2e-8); BFGS is also the
    faster of the two there (the shipped data's 36 piecewise models: 17 s against 27)."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    why = "the optimiser did not converge"
    for method in methods:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = MixedLM(y, exog, groups, exog_re=exog_re).fit(reml=True, method=method, maxiter=300)
                params = np.asarray(res.fe_params, dtype=float)
                bse = np.asarray(res.bse_fe, dtype=float)
        except (np.linalg.LinAlgError, ValueError) as exc:
            why = plain_words(str(exc))
            continue
        problems = [str(w.message).split("\n")[0] for w in caught if issubclass(w.category, ConvergenceWarning)]
        if res.converged and not problems and np.all(np.isfinite(params)) and np.all(np.isfinite(bse)) and bse[2] > 0:
            return (params, bse), None
        why = plain_words(problems[0]) if problems else why
    return None, why


@functools.lru_cache(maxsize=512)
def cached_model(dataset, measure: str, ids: tuple[str, ...], window: float,
                 max_patients: int | None = None) -> MixedModelResult:
    """Memoised per dataset (immutable) and selection: toggling back to a view does not refit."""
    return piecewise_mixed_model(dataset.measurements, measure, ids, window, max_patients,
                                 rule=pre_post(dataset, measure))


def mixed_models(meas: pd.DataFrame, measure: str, ids: Sequence[str] | None, windows: Sequence[float] = WINDOWS,
                 max_patients: int | None = None) -> list[MixedModelResult]:
    rule = pre_post_rule(meas, measure)
    return [piecewise_mixed_model(meas, measure, ids, w, max_patients, rule=rule) for w in windows]


# ---------------------------------------------------------------- group x time (between-group slopes)


@dataclass(frozen=True)
class SlopeDifference:
    """One group's mean slope in the group x time model and its difference from the control's."""

    group: str
    n_patients: int
    slope: float | None
    difference: float | None
    ci95_low: float | None
    ci95_high: float | None
    p: float | None

    def to_dict(self) -> dict:
        return clean(asdict(self))


@dataclass(frozen=True)
class GroupSlopeModel:
    """value ~ month * C(group, Treatment(control)) with a random intercept and slope per patient, on month >= 0.

    ``control_slope`` is the control group's mean slope (units per month); ``differences`` hold every other
    group's slope minus the control's, with a Wald 95 % CI (normal quantile) and p.  Where no estimate can be
    shown (including a fit that did not converge): ``reason``.
    """

    measure: str
    control: str | None
    n_patients: int
    n_observations: int
    control_slope: float | None
    control_n_patients: int
    differences: tuple[SlopeDifference, ...]
    converged: bool
    reason: str | None = None

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("measure", "control", "n_patients", "n_observations", "control_slope",
                                           "control_n_patients", "converged", "reason")}
        d["differences"] = [x.to_dict() for x in self.differences]
        return clean(d)


def group_slope_model(meas: pd.DataFrame, measure: str, groups: pd.Series, order: Sequence[str],
                      control: str | None = None, until: float | None = None,
                      max_patients: int | None = None) -> GroupSlopeModel:
    """The group x time linear mixed model (REML, statsmodels MixedLM) on the values of ``measure`` at
    month >= 0 (and <= ``until``) of the patients in ``groups`` (index patient id, value group key) whose
    group is in ``order``; ``control`` defaults to ``order[0]``.  The usual primary analysis of ALSFRS-R
    slopes in ALS trials: the fixed effects are an intercept and a slope per group, the random effects an
    intercept and a slope per patient.  An estimate is shown only for a converged fit (as
    :func:`piecewise_mixed_model`)."""
    from scipy import stats as sps

    from .between import group_series, resolve_groups

    order, control, too_few_groups = resolve_groups(order, control)
    g = group_series(groups)
    g = g[g.isin(order)]
    m = meas[(meas["measure"] == measure) & (meas["month"] >= 0) & meas["value"].notna()]
    if until is not None:
        m = m[m["month"] <= until]
    pid = m["patient_id"].astype(str)
    m, pid = m[pid.isin(list(g.index)).to_numpy()], pid[pid.isin(list(g.index)).to_numpy()]
    grp = g.reindex(pid).to_numpy()
    per_group = {k: int(pd.unique(pid[grp == k]).size) for k in order}
    n_pat, n_obs = int(pid.nunique()), int(len(m))

    def refuse(why: str) -> GroupSlopeModel:
        diffs = tuple(SlopeDifference(k, per_group[k], None, None, None, None, None) for k in order if k != control)
        return GroupSlopeModel(measure, control, n_pat, n_obs, None, per_group.get(control, 0), diffs, False, why)

    if too_few_groups:
        return refuse(too_few_groups)
    if max_patients is not None and n_pat > max_patients:
        return refuse(f"not fitted here for more than {max_patients:,} patients (use `python -m dashboard stats`)")
    few = [k for k in order if per_group[k] < 2]
    if few:
        return refuse("; ".join(f"group {k} has {per_group[k]} patient{'' if per_group[k] == 1 else 's'} with "
                                f"{measure} values from day 0" for k in few) + "; the model needs 2 in each group")
    month = m["month"].to_numpy(float)
    if np.unique(month).size < 2:
        return refuse(f"not computable: the {measure} values from day 0 are all at one month (no slope)")
    y = m["value"].to_numpy(float)
    if np.std(y) == 0:
        return refuse("not computable: all values are equal")
    others = [k for k in order if k != control]
    dummies = np.column_stack([(grp == k).astype(float) for k in others])
    # month and value standardised (minus the mean, over the SD): the same model, its slopes and their SEs scaled
    # by sd(value) / sd(month) (undone below), on which BFGS converges where with raw months and points it often
    # stops short.  Slope differences first (columns 2..), as _fit checks column 2's SE.
    scale = float(np.std(y) / np.std(month))
    mc = (month - month.mean()) / np.std(month)
    y = (y - y.mean()) / np.std(y)
    exog = np.column_stack([np.ones_like(mc), mc, dummies * mc[:, None], dummies])
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        return refuse("not computable: the months do not identify a slope in every group")
    # no fallback to a random intercept only: with slopes that vary between patients it understates the
    # uncertainty of a slope difference (too narrow a CI), so an unconverged fit shows no estimate
    fit, why = _fit(y, exog, pid.to_numpy(), np.column_stack([np.ones_like(mc), mc]), ("bfgs", "powell"))
    if fit is None:
        return refuse(f"not converged: {why}; no estimate is shown")
    params, bse = fit
    params, bse = params * scale, bse * scale  # the slope terms in units per month (the others are not used)
    z = float(sps.norm.ppf(0.975))
    diffs = []
    for j, k in enumerate(others):
        est, se = float(params[2 + j]), float(bse[2 + j])
        p = float(2 * sps.norm.sf(abs(est / se)))
        diffs.append(SlopeDifference(k, per_group[k], float(params[1] + est), est, est - z * se, est + z * se,
                                     p if math.isfinite(p) else None))
    return GroupSlopeModel(measure, control, n_pat, n_obs, float(params[1]), per_group[control], tuple(diffs), True)
