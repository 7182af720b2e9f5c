"""dashboard.between checked against independent answers: numpy.polyfit slopes, the textbook Welch formula,
scipy called directly, and a CAFS example ranked by hand."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from dashboard import between


def meas(rows) -> pd.DataFrame:
    """Measurements from (patient, visit, month, measure, value) tuples; visit_month = month (all scheduled)."""
    df = pd.DataFrame(rows, columns=["patient_id", "visit", "month", "measure", "value"])
    df["patient_id"] = df["patient_id"].astype(str)
    df["month"] = df["month"].astype(float)
    df["value"] = df["value"].astype(float)
    df["visit_month"] = df["month"]
    df["simulated"] = False
    return df


def trial(slopes_by_group: dict[str, list[float]], months=(-3, 0, 3, 6, 9), seed=0) -> tuple[pd.DataFrame, pd.Series]:
    """Each patient: value = 30 + slope * month + noise; before day 0 a steep fall that no slope may use."""
    rng = np.random.default_rng(seed)
    rows, groups = [], {}
    k = 0
    for grp, slopes in slopes_by_group.items():
        for s in slopes:
            k += 1
            groups[str(k)] = grp
            for mo in months:
                value = 30 + (s * mo if mo >= 0 else 10 * -mo) + rng.normal(0, 0.5)
                rows.append((k, f"v{mo}", mo, "ALSFRS", value))
    return meas(rows), pd.Series(groups)


def polyfit_slopes(m: pd.DataFrame) -> pd.Series:
    post = m[m["month"] >= 0]
    return post.groupby("patient_id").apply(lambda d: np.polyfit(d["month"], d["value"], 1)[0])


def welch_by_hand(x, c):
    """Difference, 95 % CI and p from the textbook formulas (Welch-Satterthwaite df)."""
    x, c = np.asarray(x, float), np.asarray(c, float)
    vx, vc = x.var(ddof=1) / len(x), c.var(ddof=1) / len(c)
    se = math.sqrt(vx + vc)
    df = (vx + vc) ** 2 / (vx**2 / (len(x) - 1) + vc**2 / (len(c) - 1))
    d = x.mean() - c.mean()
    t = sps.t.ppf(0.975, df)
    return d, d - t * se, d + t * se, 2 * sps.t.sf(abs(d / se), df)


# ---------------------------------------------------------------- slopes


def test_two_groups_slope_difference_welch_and_mann_whitney():
    m, groups = trial({"Placebo": [-1.0, -0.8, -1.2, -0.9, -1.1, -0.7], "Active": [-0.5, -0.4, -0.7, -0.2, -0.6]})
    r = between.slope_comparison(m, "ALSFRS", groups, ["Placebo", "Active"])
    ref = polyfit_slopes(m)
    ctrl = ref[groups[groups == "Placebo"].index].to_numpy()
    act = ref[groups[groups == "Active"].index].to_numpy()
    d, lo, hi, p = welch_by_hand(act, ctrl)
    assert r.reason is None and r.control == "Placebo" and len(r.differences) == 1
    diff = r.differences[0]
    assert (diff.group, diff.control) == ("Active", "Placebo")
    assert diff.difference == pytest.approx(d, abs=1e-10)
    assert (diff.ci95_low, diff.ci95_high) == (pytest.approx(lo, abs=1e-10), pytest.approx(hi, abs=1e-10))
    assert r.p_welch == pytest.approx(p, rel=1e-9) == diff.p_welch
    assert r.p_mann_whitney == pytest.approx(sps.mannwhitneyu(act, ctrl, alternative="two-sided").pvalue)
    assert r.p_anova is None and r.p_kruskal is None
    g = {s.group: s for s in r.groups}
    assert g["Placebo"].n == 6 and g["Active"].n == 5
    assert g["Active"].mean == pytest.approx(act.mean()) and g["Active"].sd == pytest.approx(act.std(ddof=1))
    json.dumps(r.to_dict(), allow_nan=False)


def test_slopes_use_only_day_0_and_after_and_until_caps_them():
    m, groups = trial({"A": [-1.0, -1.0], "B": [0.0, 0.0]})
    s = between.post_baseline_slopes(m, "ALSFRS")
    # the steep fall before day 0 (10 points a month) is in no slope
    assert s["slope"].between(-1.5, 0.5).all() and (s["n"] == 4).all()
    s3 = between.post_baseline_slopes(m, "ALSFRS", until=3)
    assert (s3["n"] == 2).all()
    one = m[m["month"] == 0]
    ref = (m[m["month"].isin([0, 3])].sort_values("month").groupby("patient_id")["value"]
           .agg(lambda v: (v.iloc[1] - v.iloc[0]) / 3))
    assert s3["slope"].to_dict() == pytest.approx(ref.to_dict())
    assert between.post_baseline_slopes(one, "ALSFRS")["slope"].isna().all()


def test_three_groups_anova_kruskal_and_pairwise_vs_control():
    m, groups = trial({"Placebo": [-1.0, -0.9, -1.2, -1.1], "Low": [-0.8, -0.6, -0.9, -0.7],
                       "High": [-0.3, -0.5, -0.2, -0.4, -0.1]}, seed=3)
    r = between.slope_comparison(m, "ALSFRS", groups, ["Placebo", "Low", "High"])
    ref = polyfit_slopes(m)
    by = {g: ref[groups[groups == g].index].to_numpy() for g in ("Placebo", "Low", "High")}
    assert r.reason is None
    assert r.p_anova == pytest.approx(sps.f_oneway(*by.values()).pvalue, rel=1e-9)
    assert r.p_kruskal == pytest.approx(sps.kruskal(*by.values()).pvalue, rel=1e-9)
    assert r.p_welch is None and r.p_mann_whitney is None
    assert [d.group for d in r.differences] == ["Low", "High"]
    for d in r.differences:
        diff, lo, hi, p = welch_by_hand(by[d.group], by["Placebo"])
        assert (d.difference, d.ci95_low, d.ci95_high, d.p_welch) == (
            pytest.approx(diff), pytest.approx(lo), pytest.approx(hi), pytest.approx(p))


def test_control_can_be_named_and_must_be_a_group():
    m, groups = trial({"A": [-1.0, -0.9, -1.1], "B": [-0.5, -0.4, -0.6]})
    r = between.slope_comparison(m, "ALSFRS", groups, ["A", "B"], control="B")
    assert r.differences[0].group == "A" and r.differences[0].difference < 0
    with pytest.raises(ValueError):
        between.slope_comparison(m, "ALSFRS", groups, ["A", "B"], control="C")


def test_what_cannot_be_compared_says_why_and_carries_no_p():
    m, groups = trial({"A": [-1.0, -0.9, -1.1], "B": [-0.5]})
    one = between.slope_comparison(m, "ALSFRS", groups[groups == "A"], ["A"])
    assert one.reason.startswith("a between-group comparison needs 2 or more groups") and one.p_welch is None
    few = between.slope_comparison(m, "ALSFRS", groups, ["A", "B"])
    assert "group B has 1 patient" in few.reason and few.p_welch is None and few.p_mann_whitney is None
    assert few.differences[0].difference is None
    baseline_only = m[m["month"] <= 0]
    none = between.slope_comparison(baseline_only, "ALSFRS", groups, ["A", "B"])
    assert "no patient has 2 or more ALSFRS values" in none.reason and none.p_welch is None
    assert len(none.excluded) == 4 and "1 ALSFRS value(s) from day 0" in none.excluded[0][1]
    flat = between.compare_groups(pd.DataFrame({"group": list("AABB"), "value": [1.0] * 4}), ["A", "B"])
    assert "Welch's t is not defined" in flat.reason and flat.p_welch is None
    json.dumps(few.to_dict(), allow_nan=False)


def test_three_groups_one_too_small_keeps_the_other_differences():
    values = pd.DataFrame({"group": ["P", "P", "P", "X", "Y", "Y"], "value": [1.0, 2.0, 3.0, 5.0, 4.0, 6.0]})
    r = between.compare_groups(values, ["P", "X", "Y"])
    assert "group X has 1 patient" in r.reason and r.p_anova is None and r.p_kruskal is None
    d = {x.group: x for x in r.differences}
    assert d["X"].difference is None and d["Y"].difference == pytest.approx(3.0)


# ---------------------------------------------------------------- change from baseline by visit


def test_visit_changes_by_group_by_hand():
    m = meas([
        (1, "V", 0, "ALSFRS", 30), (1, "VIII", 3, "ALSFRS", 28), (1, "IX", 6, "ALSFRS", 25),
        (2, "V", 0, "ALSFRS", 20), (2, "VIII", 3, "ALSFRS", 20), (2, "IX", 6, "ALSFRS", 19),
        (3, "V", 0, "ALSFRS", 35), (3, "VIII", 3, "ALSFRS", 34),
        (4, "III", -1, "ALSFRS", 33), (4, "VIII", 3, "ALSFRS", 30),  # no day-0 value: left out, counted
        (5, "V", 0, "ALSFRS", 10), (5, "VIII", 3, "FVC", 80),
    ])
    groups = pd.Series({"1": "P", "2": "P", "3": "A", "4": "A", "5": "A"})
    r = between.visit_changes(m, "ALSFRS", groups, ["P", "A"])
    assert r.reason is None and dict(r.no_baseline) == {"P": 0, "A": 1}
    rows = {(x.group, x.visit): x for x in r.rows}
    # P at VIII: changes -2 and 0 -> mean -1, SD sqrt(2), SEM 1
    p3 = rows[("P", "VIII")]
    assert (p3.n, p3.mean, p3.sd, p3.sem, p3.month) == (2, -1.0, pytest.approx(math.sqrt(2)), pytest.approx(1.0), 3.0)
    # P at IX: -5 and -1 -> mean -3, SD sqrt(8)
    assert rows[("P", "IX")].mean == -3.0 and rows[("P", "IX")].sd == pytest.approx(math.sqrt(8))
    a3 = rows[("A", "VIII")]
    assert (a3.n, a3.mean, a3.sd, a3.sem) == (1, -1.0, None, None)
    assert ("A", "IX") not in rows
    assert [(x.visit, x.group) for x in r.rows] == [("VIII", "P"), ("VIII", "A"), ("IX", "P")]
    json.dumps(r.to_dict(), allow_nan=False)
    none = between.visit_changes(m[m["month"] != 0], "ALSFRS", groups, ["P", "A"])
    assert none.rows == () and "no patient has a ALSFRS value at the day-0 visit" in none.reason


# ---------------------------------------------------------------- CAFS


def cafs_example() -> pd.DataFrame:
    return pd.DataFrame([
        # patient, group, died, death_day, change
        ("A", "Placebo", True, 100, np.nan),
        ("B", "Placebo", True, 300, -5),
        ("C", "Placebo", False, np.nan, -10),
        ("D", "Active", True, 300, -2),
        ("E", "Active", False, np.nan, -3),
        ("F", "Active", False, np.nan, -3),
        ("G", "Active", True, 400, -1),  # died after the 12-month window (365.25 days): a survivor of it
        ("H", "Active", False, np.nan, np.nan),  # alive without a change: cannot be ranked
    ], columns=["patient_id", "group", "died", "death_day", "change"])


def test_cafs_on_an_example_ranked_by_hand():
    r = between.cafs(cafs_example(), ["Placebo", "Active"], window_months=12)
    # worst to best: A (died day 100) < B (died day 300, change -5) < D (day 300, change -2)
    #   < C (alive, -10) < E = F (alive, -3) < G (alive in the window, -1)
    # scores = (patients ranked below) - (patients ranked above), over the 7 ranked patients:
    expected = {"A": -6, "B": -4, "D": -2, "C": 0, "E": 3, "F": 3, "G": 6}
    assert {s.patient_id: s.score for s in r.scores} == expected
    assert [e[0] for e in r.excluded] == ["H"]
    assert {s.patient_id: s.died_in_window for s in r.scores}["G"] is False
    g = {x.group: x for x in r.groups}
    assert (g["Placebo"].n, g["Placebo"].deaths, g["Active"].n, g["Active"].deaths) == (3, 2, 4, 1)
    assert g["Placebo"].mean_score == pytest.approx(-10 / 3) and g["Active"].median_score == 3.0
    # rank-sum: Active beats Placebo in 11 of the 12 pairs (D loses to C only), U = 11.  E and F tie, so scipy
    # takes the normal approximation with the tie correction and continuity correction: mean n1 n2 / 2 = 6,
    # variance n1 n2 / 12 * (N + 1 - sum(t^3 - t) / (N (N - 1))) = 12/12 * (8 - 6/42), z = (11 - 6 - 0.5) / sd
    assert r.test == "Wilcoxon rank-sum" and r.reason is None
    z = (11 - 6 - 0.5) / math.sqrt(8 - 6 / 42)
    assert r.p == pytest.approx(2 * sps.norm.sf(z), rel=1e-9)
    assert r.p == pytest.approx(sps.mannwhitneyu([-2, 3, 3, 6], [-6, -4, 0], alternative="two-sided").pvalue)


def test_cafs_exact_rank_sum_p_without_ties():
    f = cafs_example()
    f.loc[f["patient_id"] == "F", "change"] = -4  # F now below E: no tied scores
    r = between.cafs(f, ["Placebo", "Active"])
    assert {s.patient_id: s.score for s in r.scores if s.group == "Active"} == {"D": -2, "E": 4, "F": 2, "G": 6}
    # exact: of the C(7, 3) = 35 equally likely splits, U >= 11 in 2 (U = 12, U = 11); two-sided: 4/35
    assert r.p == pytest.approx(float(Fraction(4, 35)))
    json.dumps(r.to_dict(), allow_nan=False)


def test_cafs_window_decides_which_deaths_count():
    # with a 14-month window G's death on day 400 counts: G is now worse than every survivor
    r = between.cafs(cafs_example(), ["Placebo", "Active"], window_months=14)
    s = {x.patient_id: x.score for x in r.scores}
    # worst to best: A < B < D < G < C < E = F
    assert s == {"A": -6, "B": -4, "D": -2, "G": 0, "C": 2, "E": 5, "F": 5}


def test_cafs_scores_match_a_literal_pairwise_loop():
    rng = np.random.default_rng(4)
    n = 300
    died = rng.random(n) < 0.4
    day = np.where(died, rng.integers(10, 60, n) * 8, np.nan)  # deaths on shared days too
    change = np.where(rng.random(n) < 0.1, np.nan, rng.integers(-15, 2, n).astype(float))
    window = 365.25

    def key_compare(i, j):
        di, dj = died[i] and day[i] <= window, died[j] and day[j] <= window
        if di and dj and day[i] != day[j]:
            return 1 if day[i] > day[j] else -1
        if di != dj:
            return -1 if di else 1
        if np.isnan(change[i]) or np.isnan(change[j]) or change[i] == change[j]:
            return 0
        return 1 if change[i] > change[j] else -1

    expected = [sum(key_compare(i, j) for j in range(n) if j != i) for i in range(n)]
    assert between.cafs_scores(died, day, change, window).tolist() == expected


def test_cafs_three_groups_kruskal_and_refusals():
    f = cafs_example()
    f.loc[f["patient_id"].isin(["F", "G"]), "group"] = "High"
    r = between.cafs(f, ["Placebo", "Active", "High"])
    by = {g: [s.score for s in r.scores if s.group == g] for g in ("Placebo", "Active", "High")}
    assert r.test == "Kruskal-Wallis" and r.p == pytest.approx(sps.kruskal(*by.values()).pvalue)
    one = between.cafs(f, ["Placebo"])
    assert one.p is None and "2 or more groups" in one.reason
    few = between.cafs(f[f["patient_id"] != "G"], ["Placebo", "Active", "High"])
    assert few.p is None and "group High has 1 ranked patient" in few.reason


def test_cafs_inputs_from_measurements_and_patients():
    m = meas([
        (1, "V", 0, "ALSFRS", 30), (1, "VIII", 3, "ALSFRS", 28), (1, "XI", 12, "ALSFRS", 22),
        (1, "XII", 18, "ALSFRS", 15),  # after the window
        (2, "V", 0, "ALSFRS", 20), (2, "VIII", 3, "ALSFRS", 18),
        (3, "VIII", 3, "ALSFRS", 18),
    ])
    patients = pd.DataFrame({"patient_id": ["1", "2", "3"], "died": pd.array([False, True, None], dtype="boolean"),
                             "death_day": pd.array([None, 200, None], dtype="Int64")})
    f = between.cafs_inputs(m, "ALSFRS", patients, pd.Series({"1": "A", "2": "B", "3": "B"}), window_months=12)
    f = f.set_index("patient_id")
    assert f.loc["1", "change"] == -8 and f.loc["2", "change"] == -2 and np.isnan(f.loc["3", "change"])
    assert list(f["died"].fillna(False)) == [False, True, False] and f.loc["2", "death_day"] == 200
    assert f["died"].isna().tolist() == [False, False, True]  # not recorded


def test_cafs_without_any_recorded_death_says_it_ranks_on_function_alone(shipped):
    groups = pd.Series(shipped.patients["sex"].astype(str).to_numpy(), index=shipped.patients["patient_id"].astype(str))
    f = between.cafs_inputs(shipped.measurements, "ALSFRS", shipped.patients, groups, window_months=12)
    r = between.cafs(f, ["F", "M"])
    assert r.note.startswith("no death is recorded") and r.p is not None
    assert all(not s.died_in_window for s in r.scores)
    assert r.to_dict()["note"] == r.note


def test_cafs_leaves_out_a_death_without_its_day():
    """A death with no day is never ranked as a survivor (it would be ranked on function alone)."""
    frame = pd.DataFrame({"patient_id": ["a", "b", "c", "d", "e", "f"], "group": ["P", "P", "P", "A", "A", "A"],
                          "died": [True, False, False, False, False, False],
                          "death_day": [np.nan] * 6, "change": [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]})
    r = between.cafs(frame, ["P", "A"])
    assert [s.patient_id for s in r.scores] == ["b", "c", "d", "e", "f"]
    assert r.excluded == (("a", "died on a day not recorded: cannot be ranked on survival"),)
    assert "1 patient(s) died on a day not recorded" in r.note
