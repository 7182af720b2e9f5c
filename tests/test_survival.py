"""dashboard.survival checked against the product-limit estimate, Greenwood's formula and the log-rank statistic
worked out by hand, and the Cox model against cases whose hazard ratio is known."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from dashboard import survival

# group A: 2, 3+, 4, 6, 8+   group B: 1, 2, 3+, 5, 7   (+ = censored)
A = ([2, 3, 4, 6, 8], [True, False, True, True, False])
B = ([1, 2, 3, 5, 7], [True, True, False, True, True])


def frame(**groups) -> pd.DataFrame:
    rows = [(g, d, e) for g, (days, events) in groups.items() for d, e in zip(days, events)]
    return pd.DataFrame(rows, columns=["group", "days", "event"])


def test_kaplan_meier_by_hand():
    r = survival.kaplan_meier(frame(A=A, B=B), ["A", "B"], ticks=[0, 2, 5])
    a = r.curves[0]
    # product limit: day 2, 5 at risk, 1 death: 4/5; day 4, 3 at risk (4, 6, 8): x 2/3; day 6, 2 at risk: x 1/2
    s = [1, 4 / 5, 4 / 5 * 2 / 3, 4 / 5 * 2 / 3 * 1 / 2]
    assert a.time == (0, 2, 4, 6) and a.survival == pytest.approx(s)
    assert (a.n, a.events, a.censored) == (5, 3, (3, 8))
    # Greenwood: var S(t) = S^2 * sum d / (n (n - d)); then the log-log CI S^exp(+-1.96 se / (S |log S|))
    terms = np.cumsum([1 / (5 * 4), 1 / (3 * 2), 1 / (2 * 1)])
    for k, st in enumerate(s[1:]):
        se = st * math.sqrt(terms[k])
        w = 1.959963984540054 * se / (st * abs(math.log(st)))
        assert a.lower[k + 1] == pytest.approx(st ** math.exp(w))
        assert a.upper[k + 1] == pytest.approx(st ** math.exp(-w))
    assert a.lower[0] == a.upper[0] == 1
    # numbers at risk: time >= tick
    assert a.at_risk == ((0, 5), (2, 5), (5, 2))
    # median: the first time S <= 0.5 is day 6 (S = 0.267; at day 4 S = 0.533)
    assert a.median == 6
    b = r.curves[1]
    # B: day 1 4/5, day 2 3/5, (3 censored), day 5 3/5 * 1/2, day 7 0
    assert b.survival == pytest.approx([1, 0.8, 0.6, 0.3, 0.0])
    assert b.lower[-1] is None and b.upper[-1] is None  # S = 0: no CI
    assert b.median == 5
    json.dumps(r.to_dict(), allow_nan=False)


def test_logrank_by_hand():
    r = survival.kaplan_meier(frame(A=A, B=B), ["A", "B"])
    # event times 1, 2, 4, 5, 6, 7; at each: A at risk, B at risk, A deaths, all deaths
    table = [(5, 5, 0, 1), (5, 4, 1, 2), (3, 2, 1, 1), (2, 2, 0, 1), (2, 1, 1, 1), (1, 1, 0, 1)]
    o = sum(da for _, _, da, _ in table)  # 3
    e = sum(na * d / (na + nb) for na, nb, _, d in table)  # 3.8778
    v = sum(na * nb * d * (na + nb - d) / ((na + nb) ** 2 * (na + nb - 1)) for na, nb, _, d in table)  # 1.6443
    chisq = (o - e) ** 2 / v
    assert chisq == pytest.approx(0.4686, abs=1e-4)
    assert r.logrank_chisq == pytest.approx(chisq) and r.logrank_df == 1
    assert r.logrank_p == pytest.approx(sps.chi2.sf(chisq, 1))
    assert r.hazard_ratio is not None and r.hazard_ratio.group == "B" and r.hazard_ratio.control == "A"


def test_three_groups_logrank_no_hazard_ratio():
    c = ([1, 1, 2, 3], [True, True, True, False])
    r = survival.kaplan_meier(frame(A=A, B=B, C=c), ["A", "B", "C"])
    assert r.logrank_df == 2 and 0 < r.logrank_p < 1 and r.hazard_ratio is None


def test_median_not_reached_says_so():
    r = survival.kaplan_meier(frame(A=([1, 5, 6, 7], [True, False, False, False]),
                                    B=([2, 3, 4, 5], [False, False, False, False])), ["A", "B"])
    a, b = r.curves
    assert a.median is None and "not reached" in a.median_note and a.survival[-1] == pytest.approx(0.75)
    assert b.events == 0 and b.median is None and b.median_note == "not reached: no events"
    assert r.hazard_ratio.hazard_ratio is None and "no events in group B" in r.hazard_ratio.reason
    assert r.logrank_p is not None  # the log-rank test only needs an event somewhere
    none = survival.kaplan_meier(frame(A=([1, 2], [False, False]), B=([3], [False])), ["A", "B"])
    assert none.logrank_p is None and "no events" in none.logrank_reason


def test_median_where_survival_is_exactly_one_half():
    # 4 deaths at days 1-4: S = 0.75, 0.5, 0.25, 0; the median is the first time S < 0.5: day 3 (SAS; R: 2.5)
    r = survival.kaplan_meier(frame(A=([1, 2, 3, 4], [True] * 4)), ["A"])
    assert r.curves[0].median == 3
    flat = survival.kaplan_meier(frame(A=([1, 2, 3, 4], [True, True, False, False])), ["A"])
    assert flat.curves[0].median is None and "does not fall below 50 % (lowest 50%)" in flat.curves[0].median_note


def test_one_group_refuses_the_comparison():
    r = survival.kaplan_meier(frame(A=A), ["A"])
    assert r.logrank_p is None and "2 or more groups" in r.logrank_reason and r.hazard_ratio is None
    assert r.curves[0].survival == pytest.approx([1, 0.8, 0.8 * 2 / 3, 0.8 * 2 / 3 / 2])
    empty = survival.kaplan_meier(frame(A=A), ["A", "B"])
    assert "only group A has patients" in empty.logrank_reason and empty.curves[1].reason


def test_identical_groups_have_hazard_ratio_one():
    r = survival.kaplan_meier(frame(A=A, B=A), ["A", "B"])
    hr = r.hazard_ratio
    assert hr.hazard_ratio == pytest.approx(1.0, abs=1e-8) and hr.p == pytest.approx(1.0)
    assert hr.ci95_low < 1 < hr.ci95_high
    assert r.logrank_chisq == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("true_hr", [0.5, 1.0, 2.0])
def test_cox_recovers_a_known_hazard_ratio(true_hr):
    """Exponential times, hazard 1/300 per day in the control and true_hr times that in the other group,
    censored at day 365: the Cox estimate is near the truth and its CI covers it."""
    rng = np.random.default_rng(int(true_hr * 10))
    n = 1500
    t0 = rng.exponential(300, n)
    t1 = rng.exponential(300 / true_hr, n)
    days = np.minimum(np.r_[t0, t1], 365)
    event = np.r_[t0, t1] < 365
    f = pd.DataFrame({"group": ["Placebo"] * n + ["Active"] * n, "days": days, "event": event})
    hr = survival.kaplan_meier(f, ["Placebo", "Active"]).hazard_ratio
    assert hr.group == "Active" and hr.control == "Placebo"
    assert hr.hazard_ratio == pytest.approx(true_hr, rel=0.12)
    assert hr.ci95_low < true_hr < hr.ci95_high


# ---------------------------------------------------------------- event times from a dataset


def dataset(patients, meas, ae=None, tte=None):
    ae = ae if ae is not None else pd.DataFrame({"patient_id": pd.Series([], dtype=str)})
    return SimpleNamespace(patients=patients, measurements=meas, adverse_events=ae,
                           time_to_event=tte if tte is not None else pd.DataFrame(
                               columns=["patient_id", "paramcd", "label", "days", "censored"]))


def test_death_times_event_censoring_and_exclusions():
    patients = pd.DataFrame({
        "patient_id": ["1", "2", "3", "4", "5", "6"],
        "died": pd.array([True, False, True, None, False, None], dtype="boolean"),
        "death_day": pd.array([120, None, None, 200, None, None], dtype="Int64"),
    })
    meas = pd.DataFrame({"patient_id": ["1", "2", "2", "3", "4"], "month": [0.0, 0.0, 6.0, 3.0, 3.0]})
    ae = pd.DataFrame({"patient_id": ["2", "5"], "start_day": pd.array([250, None], dtype="Int64")})
    r = survival.death_times(dataset(patients, meas, ae))
    f = r.frame.set_index("patient_id")
    assert r.reason is None
    assert f.loc["1"].to_dict() == {"days": 120.0, "event": True}
    # patient 2 survived: censored at the latest of day 6 x 30.4375 = 182.6 and the event on day 250
    assert f.loc["2"].to_dict() == {"days": 250.0, "event": False}
    assert f.loc["4"].to_dict() == {"days": 200.0, "event": True}  # a day of death without died: a death
    # patient 6 (no died, no day) is alive and censored at his last measurement... he has none: left out
    assert dict(r.excluded) == {"3": "died; the day of death is not recorded",
                                "5": "alive, and never seen (no measurement or adverse-event day): no time to "
                                     "censor at",
                                "6": "alive, and never seen (no measurement or adverse-event day): no time to "
                                     "censor at"}
    assert (r.n, r.events) == (3, 2)
    json.dumps(r.to_dict(), allow_nan=False)


def test_the_shipped_dataset_records_no_dates_of_death(shipped):
    r = survival.death_times(shipped)
    assert r.reason == "this dataset records no dates of death" and r.n == 0


def test_adtte_parameters():
    tte = pd.DataFrame({"patient_id": ["1", "2", "3", "1", "2"], "paramcd": ["TTDE"] * 3 + ["TTX"] * 2,
                        "label": ["Time to dermatological event"] * 3 + ["Other"] * 2,
                        "days": [10.0, 20.0, np.nan, 5.0, 7.0],
                        "censored": pd.array([False, True, False, True, True], dtype="boolean")})
    out = survival.adtte_times(dataset(pd.DataFrame(), pd.DataFrame(), tte=tte))
    assert [(e.name, e.label, e.n, e.events) for e in out] == [("TTDE", "Time to dermatological event", 2, 1),
                                                              ("TTX", "Other", 2, 0)]
    assert out[0].excluded == (("3", "no days"),)
    assert out[0].frame["event"].tolist() == [True, False]


def test_survival_by_group_joins_groups_and_passes_the_reason_on(shipped):
    times = survival.EventTimes("death", "Time to death", pd.DataFrame({
        "patient_id": ["1", "2", "3", "4", "5"], "days": [2.0, 3.0, 4.0, 1.0, 9.0],
        "event": [True, False, True, True, True]}), excluded=(("6", "died; the day of death is not recorded"),
                                                            ("7", "died; the day of death is not recorded")))
    groups = pd.Series({"1": "P", "2": "P", "3": "A", "4": "A", "5": "X", "6": "P"})
    r = survival.survival_by_group(times, groups, ["P", "A"])
    assert [(c.group, c.n, c.events) for c in r.curves] == [("P", 2, 1), ("A", 2, 2)]
    assert r.excluded == (("6", "died; the day of death is not recorded"),)
    assert r.endpoint == "death" and r.hazard_ratio.group == "A"
    none = survival.survival_by_group(survival.death_times(shipped), groups, ["P", "A"])
    assert none.reason == survival.NO_DEATHS and none.curves == () and none.logrank_p is None
    json.dumps(none.to_dict(), allow_nan=False)


# ---------------------------------------------------------------- the CDISC pilot's ADTTE (TTDE) by arm


def logrank_k_groups(days, event, group, order):
    """The k-group log-rank statistic by its textbook formula: U = O - E per group, V its covariance
    (hypergeometric), chi2 = U' V^-1 U over the first k - 1 groups."""
    k = len(order)
    u = np.zeros(k)
    v = np.zeros((k, k))
    for t in np.unique(days[event]):
        at = days >= t
        n = at.sum()
        d = (event & (days == t)).sum()
        nj = np.array([(at & (group == g)).sum() for g in order])
        dj = np.array([(event & (days == t) & (group == g)).sum() for g in order])
        u += dj - d * nj / n
        if n > 1:
            v += d * (n - d) / (n - 1) * (np.diag(nj / n) - np.outer(nj, nj) / n**2)
    chisq = float(u[:-1] @ np.linalg.solve(v[:-1, :-1], u[:-1]))
    return chisq, float(sps.chi2.sf(chisq, k - 1))


def test_pilot_time_to_dermatologic_event_by_arm():
    from dashboard import importers
    from tests.test_realdata import PILOT, raw

    ds = importers.load(PILOT)
    arms = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    groups = pd.Series(ds.patients["arm"].astype(str).to_numpy(), index=ds.patients["patient_id"].astype(str))
    (ttde,) = survival.adtte_times(ds)
    r = survival.survival_by_group(ttde, groups, arms)
    # independently, from the raw ADTTE: AVAL days, CNSR 1 = censored, TRTA the arm
    adtte = raw("adtte")
    days = adtte["AVAL"].to_numpy(dtype=float)
    event = adtte["CNSR"].to_numpy(dtype=float) < 0.5
    arm = adtte["TRTA"].to_numpy(dtype=object)
    assert [(c.group, c.n, c.events) for c in r.curves] == [
        (a, int((arm == a).sum()), int((event & (arm == a)).sum())) for a in arms]
    chisq, p = logrank_k_groups(days, event, arm, arms)
    assert r.logrank_chisq == pytest.approx(chisq, rel=1e-9) and r.logrank_df == 2
    assert r.logrank_p == pytest.approx(p, rel=1e-6) and r.hazard_ratio is None
    # the placebo curve: the product limit at each event time, by hand
    sel = arm == "Placebo"
    s, expected = 1.0, []
    for t in np.unique(days[sel & event]):
        s *= 1 - (sel & event & (days == t)).sum() / (sel & (days >= t)).sum()
        expected.append(s)
    assert r.curves[0].survival[1:] == pytest.approx(expected)
    json.dumps(r.to_dict(), allow_nan=False)
