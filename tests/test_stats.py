"""dashboard.stats checked against numbers worked out by hand or by independent formulas.

Expected values are literals (with the hand arithmetic in a comment) or come
from an independent computation written here (numpy.polyfit, the textbook
t formula, scipy called directly), never from a second call of the function
under test.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from dashboard import data, stats
from dashboard.stats import StabilityDefinition


def meas(rows) -> pd.DataFrame:
    """Measurements in the loaded format from (patient, visit, month, measure, value[, source]) tuples."""
    out = []
    for r in rows:
        pid, visit, month, measure, value = r[:5]
        source = r[5] if len(r) > 5 else "test"
        out.append(dict(patient_id=str(pid), visit=visit, month=float(month), measure=measure,
                        value=float(value), source=source, simulated=source == "simulated"))
    return pd.DataFrame(out, columns=["patient_id", "visit", "month", "measure", "value", "source", "simulated"])


def json_safe(d) -> str:
    return json.dumps(d, allow_nan=False)


# ---------------------------------------------------------------- describe


def test_describe_textbook_example():
    s = stats.describe([2, 4, 4, 4, 5, 5, 7, 9])
    # n = 8, sum = 40, mean = 5
    # squared deviations 9+1+1+1+0+0+4+16 = 32; SD = sqrt(32/7) = 2.1380899...
    # SEM = SD/sqrt(8) = sqrt(4/7) = 0.7559289...
    assert s.n == 8
    assert s.mean == pytest.approx(5.0, abs=1e-12)
    assert s.sd == pytest.approx(2.138089935299395, rel=1e-12)
    assert s.sem == pytest.approx(0.7559289460184544, rel=1e-12)
    assert s.note is None
    json_safe(s.to_dict())


def test_describe_drops_missing_values():
    s = stats.describe([1.0, None, float("nan"), 3.0])
    # values 1 and 3: mean 2, SD = sqrt(((1-2)^2 + (3-2)^2)/1) = sqrt(2), SEM = sqrt(2)/sqrt(2) = 1
    assert (s.n, s.mean) == (2, 2.0)
    assert s.sd == pytest.approx(math.sqrt(2))
    assert s.sem == pytest.approx(1.0)


def test_describe_nullable_integer_column_with_missing():
    # the patients table holds age as a nullable Int64 column
    s = stats.describe(pd.Series([50, pd.NA, 52], dtype="Int64"))
    # 50, 52: mean 51, SD sqrt(2), SEM 1
    assert (s.n, s.mean) == (2, 51.0)
    assert s.sd == pytest.approx(math.sqrt(2))
    assert s.sem == pytest.approx(1.0)


def test_describe_one_value():
    s = stats.describe([7.5])
    assert (s.n, s.mean, s.sd, s.sem) == (1, 7.5, None, None)
    assert "n < 2" in s.note
    json_safe(s.to_dict())


@pytest.mark.parametrize("values", [[], [float("nan")], [None, None]])
def test_describe_no_value(values):
    s = stats.describe(values)
    assert (s.n, s.mean, s.sd, s.sem) == (0, None, None, None)
    assert s.note
    json_safe(s.to_dict())


# ---------------------------------------------------------------- slopes per patient


def test_patient_slopes_match_polyfit_and_windows():
    rows = [
        # patient 1: irregular values, pre at -6, -3, -1.15, 0; post at 0, 3, 6, 9, 12
        ("1", "I", -6, "ALSFRS", 35), ("1", "II", -3, "ALSFRS", 33), ("1", "III", -1.15, "ALSFRS", 31),
        ("1", "V", 0, "ALSFRS", 30), ("1", "VIII", 3, "ALSFRS", 30), ("1", "IX", 6, "ALSFRS", 28),
        ("1", "X", 9, "ALSFRS", 27), ("1", "XI", 12, "ALSFRS", 24), ("1", "XII", 18, "ALSFRS", 20),
        # patient 2: one pre value only (day 0), post values at 0 and 6 only
        ("2", "V", 0, "ALSFRS", 25), ("2", "IX", 6, "ALSFRS", 22),
        # another measure must not leak in
        ("1", "V", 0, "FVC", 90), ("1", "VIII", 3, "FVC", 10),
    ]
    m = meas(rows)
    s = stats.patient_slopes(m, "ALSFRS", windows=(3, 6, 12))
    assert list(s.index) == ["1", "2"]

    def fit(xs, ys):
        return np.polyfit(xs, ys, 1)[0]

    p1 = s.loc["1"]
    assert p1["pre_slope"] == pytest.approx(fit([-6, -3, -1.15, 0], [35, 33, 31, 30]), abs=1e-12)
    assert p1["pre_n"] == 4
    # window 3: months 0 and 3 (day 0 belongs to both periods): (30-30)/3 = 0
    assert p1["post_slope_3"] == pytest.approx(0.0, abs=1e-12)
    assert p1["post_n_3"] == 2
    assert p1["post_slope_6"] == pytest.approx(fit([0, 3, 6], [30, 30, 28]), abs=1e-12)
    assert p1["post_n_6"] == 3
    # window 12 includes month 12 (inclusive bound) but not month 18
    assert p1["post_slope_12"] == pytest.approx(fit([0, 3, 6, 9, 12], [30, 30, 28, 27, 24]), abs=1e-12)
    assert p1["post_n_12"] == 5

    p2 = s.loc["2"]
    # one value in the pre window and in the 0-3 window: no slope there
    assert math.isnan(p2["pre_slope"]) and p2["pre_n"] == 1
    assert math.isnan(p2["post_slope_3"]) and p2["post_n_3"] == 1
    # 0-6: (22-25)/6 = -0.5
    assert p2["post_slope_6"] == pytest.approx(-0.5, abs=1e-12)


def test_patient_slopes_identical_months():
    m = meas([
        # patient 1: two pre values at the same month: no slope
        ("1", "IIIa", -1, "FVC", 80), ("1", "IIIb", -1, "FVC", 82),
        # patient 2: repeated month plus another one: OLS uses all three points
        ("2", "II", -3, "FVC", 5), ("2", "IIIa", -1, "FVC", 2), ("2", "IIIb", -1, "FVC", 4),
    ])
    s = stats.patient_slopes(m, "FVC", windows=(3,))
    assert math.isnan(s.loc["1", "pre_slope"])
    assert s.loc["1", "pre_n"] == 2
    # x = -3, -1, -1 (mean -5/3), y = 5, 2, 4 (mean 11/3)
    # Sxx = (4/3)^2 + 2*(2/3)^2 = 16/9 + 8/9 = 24/9
    # Sxy = (-4/3)(4/3) + (2/3)(-5/3) + (2/3)(1/3) = (-16 - 10 + 2)/9 = -24/9  -> slope -1
    assert s.loc["2", "pre_slope"] == pytest.approx(-1.0, abs=1e-12)
    assert s.loc["2", "pre_slope"] == pytest.approx(np.polyfit([-3, -1, -1], [5, 2, 4], 1)[0], abs=1e-12)


def test_patient_slopes_ids_restrict_patients():
    m = meas([("1", "I", -6, "FVC", 80), ("1", "V", 0, "FVC", 74), ("2", "I", -6, "FVC", 90), ("2", "V", 0, "FVC", 90)])
    s = stats.patient_slopes(m, "FVC", ids=["2"], windows=(3,))
    assert list(s.index) == ["2"]
    assert s.loc["2", "pre_slope"] == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- paired test


def test_paired_test_tiny_example_by_hand():
    pre = [-1.0, -0.5, -2.0]
    post = [0.0, 1.5, 1.0]
    r = stats.paired_test(pre, post)
    # differences post - pre = 1, 2, 3: mean 2, SD 1, SE 1/sqrt(3) = 0.5773503
    # t = 2 / (1/sqrt 3) = 2 sqrt 3 = 3.4641016, df = 2
    # for df = 2 the t CDF is 1/2 + t / (2 sqrt(2 + t^2)), so the two-sided
    # p = 1 - t / sqrt(2 + t^2) = 1 - 3.4641016 / sqrt(14) = 0.0741799
    # t_{0.975, 2} = (2q-1)/sqrt(2q(1-q)) at q = 0.975 = 0.95/sqrt(0.04875) = 4.3026527
    # CI = 2 -+ 4.3026527/sqrt(3) = 2 -+ 2.4841377 = (-0.4841377, 4.4841377)
    assert r["n"] == 3
    assert r["mean_difference"] == pytest.approx(2.0)
    assert r["t"] == pytest.approx(2 * math.sqrt(3), rel=1e-12)
    assert r["p_ttest"] == pytest.approx(1 - 2 * math.sqrt(3) / math.sqrt(14), rel=1e-9)
    assert r["p_ttest"] == pytest.approx(0.0741799, abs=1e-7)
    assert r["ci95_low"] == pytest.approx(-0.4841377, abs=1e-7)
    assert r["ci95_high"] == pytest.approx(4.4841377, abs=1e-7)
    # pre: -1, -0.5, -2: mean -7/6; deviations 1/6, 2/3, -5/6: squares sum 42/36, /2 = 7/12
    # SD = sqrt(7/12) = 0.7637626, SEM = SD/sqrt 3 = sqrt(7/36) = 0.4409586
    # post: 0, 1.5, 1: mean 5/6; deviations -5/6, 2/3, 1/6: same SD and SEM
    assert r["pre_slope_mean"] == pytest.approx(-7 / 6)
    assert r["post_slope_mean"] == pytest.approx(5 / 6)
    assert r["pre_slope_sem"] == pytest.approx(math.sqrt(7 / 36))
    assert r["post_slope_sem"] == pytest.approx(math.sqrt(7 / 36))
    # Wilcoxon, 3 differences all positive, no ties: exact two-sided p = 2 * (1/2^3) = 0.25
    assert r["p_wilcoxon"] == pytest.approx(0.25)
    assert r["note"] is None
    json_safe(r)


def test_paired_test_five_positive_differences():
    pre = [0.0, 0.0, 0.0, 0.0, 0.0]
    post = [1.0, 2.0, 3.0, 4.0, 5.0]
    r = stats.paired_test(pre, post)
    # differences 1..5: mean 3, SD sqrt(10/4) = 1.5811388, SE = 0.7071068, t = 3 sqrt 2 = 4.2426407, df 4
    # df 4: F(t) = 1/2 + (3/8) u (1 - u^2/12 / ...) -- written out: with s = 1 + t^2/4 = 5.5,
    # F = 1/2 + (3/8) (t / sqrt s) (1 - t^2/(12 s)) = 1/2 + 0.375 * 1.8090681 * 0.7272727 = 0.9933824
    # two-sided p = 2 (1 - F) = 0.0132356
    t = 3 * math.sqrt(2)
    s_ = 1 + t * t / 4
    p_hand = 2 * (1 - (0.5 + 0.375 * (t / math.sqrt(s_)) * (1 - t * t / (12 * s_))))
    assert r["t"] == pytest.approx(t, rel=1e-12)
    assert r["p_ttest"] == pytest.approx(p_hand, rel=1e-9)
    assert r["p_ttest"] == pytest.approx(0.0132356, abs=1e-7)
    # exact Wilcoxon: all 5 positive, no ties: two-sided p = 2 / 2^5 = 2/32 = 0.0625
    assert r["p_wilcoxon"] == 0.0625
    # CI = 3 -+ t_{0.975,4} * 0.7071068; t_{0.975,4} = 2.7764451
    assert r["ci95_low"] == pytest.approx(3 - 2.7764451 * math.sqrt(0.5), abs=1e-6)
    assert r["ci95_high"] == pytest.approx(3 + 2.7764451 * math.sqrt(0.5), abs=1e-6)


def test_paired_test_against_scipy_and_textbook_formulas():
    pre = np.array([-0.9, -1.4, -0.2, -0.55, -2.1, -0.8, -1.05])
    post = np.array([-0.5, -1.0, -0.4, -0.15, -1.2, -0.85, -0.3])
    r = stats.paired_test(pre, post)
    d = post - pre
    n = len(d)
    mean = d.sum() / n
    sd = math.sqrt(((d - mean) ** 2).sum() / (n - 1))
    se = sd / math.sqrt(n)
    tq = sps.t.ppf(0.975, n - 1)
    assert r["n"] == 7
    assert r["mean_difference"] == pytest.approx(mean, rel=1e-12)
    assert r["ci95_low"] == pytest.approx(mean - tq * se, rel=1e-12)
    assert r["ci95_high"] == pytest.approx(mean + tq * se, rel=1e-12)
    assert r["t"] == pytest.approx(mean / se, rel=1e-12)
    tt = sps.ttest_rel(post, pre)
    assert r["t"] == pytest.approx(tt.statistic, rel=1e-12)
    assert r["p_ttest"] == pytest.approx(tt.pvalue, rel=1e-12)
    # in exact arithmetic the differences are 0.4, 0.4, -0.2, 0.4, 0.9, -0.05, 0.75 (three tie at 0.4;
    # in floating point they come out as 0.4, 0.3999999999999999, 0.4000000000000001)
    # ranks of |d|: 0.05 -> 1, 0.2 -> 2, 0.4 x3 -> 4, 0.75 -> 6, 0.9 -> 7; R- = 1 + 2 = 3
    # patterns with negative rank sum <= 3: {}, {1}, {2}, {1,2} -> 4 of 128, two-sided 8/128 = 0.0625
    exact = [0.4, 0.4, -0.2, 0.4, 0.9, -0.05, 0.75]
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon(exact).pvalue, rel=1e-12)
    assert r["p_wilcoxon"] == pytest.approx(8 / 128)
    assert r["pre_slope_mean"] == pytest.approx(pre.sum() / n)
    assert r["post_slope_mean"] == pytest.approx(post.sum() / n)
    assert r["pre_slope_sem"] == pytest.approx(math.sqrt(((pre - pre.mean()) ** 2).sum() / (n - 1)) / math.sqrt(n))
    assert r["post_slope_sem"] == pytest.approx(math.sqrt(((post - post.mean()) ** 2).sum() / (n - 1)) / math.sqrt(n))


def test_paired_test_ties_and_zeros_in_differences():
    # differences 1, 2, 2, 3, -1: |d| ranks 1.5, 3.5, 3.5, 5, 1.5 (ties averaged)
    # R- = 1.5; sign patterns of ranks {1.5, 1.5, 3.5, 3.5, 5} with a negative rank sum <= 1.5:
    # {}, {1.5}, {1.5'} = 3 of 32; two-sided 6/32 = 0.1875 (scipy 1.17's exact distribution with ties)
    pre = [0.0] * 5
    post = [1.0, 2.0, 2.0, 3.0, -1.0]
    r = stats.paired_test(pre, post)
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon(np.array(post) - np.array(pre)).pvalue, rel=1e-12)
    assert r["p_wilcoxon"] == pytest.approx(6 / 32)
    assert r["p_ttest"] == pytest.approx(sps.ttest_rel(post, pre).pvalue, rel=1e-12)
    # zero differences are dropped by the Wilcoxon test (scipy default zero_method='wilcox')
    pre = [1.0, 2.0, 0.0, 0.0, 0.0, 0.0]
    post = [1.0, 2.0, 1.0, 2.0, 3.0, 4.0]
    r = stats.paired_test(pre, post)
    diff = np.array(post) - np.array(pre)
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon(diff).pvalue, rel=1e-12)
    assert r["n"] == 6


def test_paired_test_wilcoxon_ties_despite_float_noise():
    # 0.1 + 0.2 = 0.30000000000000004 in floating point; the differences -0.3, 0.3, 1, 2, 3 tie at |0.3|
    # tied ranks 1.5, 1.5, 3, 4, 5; R- = 1.5; sign patterns with negative rank sum <= 1.5:
    # {}, {1.5}, {1.5'} -> 3 of 32, two-sided 6/32 = 0.1875 (without the tie it would be 4/32)
    r = stats.paired_test([0.0] * 5, [-0.3, 0.1 + 0.2, 1.0, 2.0, 3.0])
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon([-0.3, 0.3, 1.0, 2.0, 3.0]).pvalue)
    assert r["p_wilcoxon"] == pytest.approx(6 / 32)
    # 0.3 - (0.1 + 0.2) = -5.6e-17 is a zero difference and is dropped: differences 1, 2, 3, -4 remain
    # ranks 1..4, R- = 4: patterns with negative rank sum <= 4: {}, {1}, {2}, {3}, {4}, {1,2}, {1,3}
    # -> 7 of 16, two-sided 14/16 = 0.875
    r = stats.paired_test([0.1 + 0.2, 0.0, 0.0, 0.0, 0.0], [0.3, 1.0, 2.0, 3.0, -4.0])
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon([0.0, 1.0, 2.0, 3.0, -4.0]).pvalue)
    assert r["p_wilcoxon"] == pytest.approx(14 / 16)
    # all differences zero up to noise
    r = stats.paired_test([0.1 + 0.2, 0.7], [0.3, 0.7])
    assert r["p_wilcoxon"] is None and "all differences are zero" in r["note"]


def test_paired_test_n0():
    r = stats.paired_test([], [])
    assert r["n"] == 0
    for k in ("pre_slope_mean", "post_slope_mean", "mean_difference", "ci95_low", "ci95_high", "t", "p_ttest",
              "p_wilcoxon"):
        assert r[k] is None
    assert "not computable" in r["note"]
    json_safe(r)


def test_paired_test_n1_and_missing_pairs_dropped():
    # only the first pair has both values
    r = stats.paired_test([-1.0, float("nan"), -2.0], [-0.25, -0.5, float("nan")])
    assert r["n"] == 1
    assert r["pre_slope_mean"] == -1.0
    assert r["post_slope_mean"] == -0.25
    assert r["mean_difference"] == pytest.approx(0.75)
    for k in ("pre_slope_sem", "post_slope_sem", "ci95_low", "ci95_high", "t", "p_ttest", "p_wilcoxon"):
        assert r[k] is None
    assert "n < 2" in r["note"]
    json_safe(r)


def test_paired_test_all_differences_zero():
    r = stats.paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert r["n"] == 3
    assert r["mean_difference"] == 0.0
    assert r["t"] is None and r["p_ttest"] is None and r["p_wilcoxon"] is None
    assert r["ci95_low"] is None and r["ci95_high"] is None
    assert "t-test not computable" in r["note"]
    assert "Wilcoxon not computable" in r["note"]
    json_safe(r)


def test_paired_test_constant_nonzero_differences():
    r = stats.paired_test([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert r["mean_difference"] == pytest.approx(0.5)
    assert r["t"] is None and r["p_ttest"] is None
    assert "zero variance" in r["note"]
    # Wilcoxon still applies: 3 positive (tied) differences: all-positive pattern only, 2 * 1/8 = 0.25
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon([0.5, 0.5, 0.5]).pvalue)
    assert r["p_wilcoxon"] == pytest.approx(0.25)
    json_safe(r)


# ---------------------------------------------------------------- slope tests on known lines


def line_patient(pid, intercept, pre_slope, post_slope, pre_months=(-6, -3, -1.15, 0), post_months=(3, 6, 9, 12, 18),
                 measure="ALSFRS"):
    """Values exactly on a line before day 0 and on another line (through the day-0 value) after it."""
    rows = [(pid, f"m{mo:g}", mo, measure, intercept + pre_slope * mo) for mo in pre_months]
    rows += [(pid, f"m{mo:g}", mo, measure, intercept + post_slope * mo) for mo in post_months]
    return rows


def test_slope_tests_known_identical_slopes():
    rows = []
    for pid, b in (("1", 30), ("2", 25), ("3", 38), ("4", 20), ("5", 33), ("6", 27)):
        rows += line_patient(pid, b, -1.0, -0.25)
    tests = stats.slope_tests(meas(rows), "ALSFRS")
    assert [t.window_months for t in tests] == [3, 6, 9, 12]
    for t in tests:
        assert t.n == 6
        assert t.patient_ids == ("1", "2", "3", "4", "5", "6")
        assert t.pre_slope_mean == pytest.approx(-1.0, abs=1e-12)
        assert t.post_slope_mean == pytest.approx(-0.25, abs=1e-12)
        assert t.mean_difference == pytest.approx(0.75, abs=1e-12)
        assert t.pre_slope_sem == pytest.approx(0.0, abs=1e-12)
        # identical differences: no t-test, with a note; Wilcoxon 6 positive -> 2/64
        assert t.t is None and t.p_ttest is None and t.ci95_low is None
        assert "zero variance" in t.note
        assert t.p_wilcoxon == pytest.approx(2 / 64)
        json_safe(t.to_dict())


def test_slope_tests_known_different_slopes():
    # (pre, post) slopes; differences 0.75, 1.5, 0.5, -0.25
    spec = {"1": (-1.0, -0.25), "2": (-2.0, -0.5), "3": (-1.5, -1.0), "4": (-0.25, -0.5)}
    rows = []
    for pid, (a, b) in spec.items():
        rows += line_patient(pid, 30, a, b)
    # patient 5: a pre line but only day 0 and month 6 after it -> no slope in 0-3, slope in 0-6 onward
    rows += line_patient("5", 30, -3.0, -3.0, post_months=(6,))
    # patient 6: a single pre value -> in no test
    rows += [("6", "m0", 0, "ALSFRS", 30), ("6", "m3", 3, "ALSFRS", 29)]
    # patients 7 and 8: pre-treatment values only -> in no test (with 1-5 the trial has 7 pre slopes: a lead-in)
    rows += [(p, f"m{mo:g}", mo, "ALSFRS", 30 + mo) for p in ("7", "8") for mo in (-6, -3, 0)]
    m = meas(rows)
    tests = {t.window_months: t for t in stats.slope_tests(m, "ALSFRS", windows=(3, 6))}
    t3, t6 = tests[3], tests[6]
    assert t3.patient_ids == ("1", "2", "3", "4")
    assert t6.patient_ids == ("1", "2", "3", "4", "5")
    # window 3: pre mean (-1 - 2 - 1.5 - 0.25)/4 = -1.1875; post (-0.25 - 0.5 - 1 - 0.5)/4 = -0.5625
    # difference mean (0.75 + 1.5 + 0.5 - 0.25)/4 = 0.625
    assert t3.pre_slope_mean == pytest.approx(-1.1875, abs=1e-12)
    assert t3.post_slope_mean == pytest.approx(-0.5625, abs=1e-12)
    assert t3.mean_difference == pytest.approx(0.625, abs=1e-12)
    pre = np.array([-1.0, -2.0, -1.5, -0.25])
    post = np.array([-0.25, -0.5, -1.0, -0.5])
    tt = sps.ttest_rel(post, pre)
    assert t3.t == pytest.approx(tt.statistic, rel=1e-9)
    assert t3.p_ttest == pytest.approx(tt.pvalue, rel=1e-9)
    # differences 0.75, 1.5, 0.5, -0.25: SD by hand: deviations 0.125, 0.875, -0.125, -0.875
    # squares 0.015625 + 0.765625 + 0.015625 + 0.765625 = 1.5625, /3 -> SD = sqrt(0.5208333) = 0.7216878
    # t = 0.625 / (0.7216878 / 2) = 1.7320508 (= sqrt 3)
    assert t3.t == pytest.approx(math.sqrt(3), rel=1e-9)
    # window 6 adds patient 5 with difference 0: pre mean (-4.75 - 3)/5 = -1.55
    assert t6.n == 5
    assert t6.pre_slope_mean == pytest.approx(-1.55, abs=1e-12)
    assert t6.mean_difference == pytest.approx(2.5 / 5, abs=1e-12)


def test_slope_test_notes_when_not_computable():
    m = meas([("1", "V", 0, "FVC", 80), ("1", "VIII", 3, "FVC", 78)])
    t = stats.slope_test(m, "ALSFRS", 3)
    assert t.n == 0 and t.note == "not computable: no ALSFRS values in this dataset"
    t = stats.slope_test(m, "FVC", 3)
    assert t.n == 0 and "up to day 0" in t.note and t.not_computable
    # five more patients with pre-treatment values only: the dataset has a lead-in (stats.pre_post_rule)
    lead_in = [(p, v, mo, "FVC", 80 + mo) for p in ("5", "6", "7", "8", "9") for v, mo in (("I", -6), ("V", 0))]
    m2 = meas([("1", "I", -6, "FVC", 80), ("1", "V", 0, "FVC", 78), ("1", "X", 9, "FVC", 70)] + lead_in)
    t = stats.slope_test(m2, "FVC", 3)
    assert t.n == 0 and "0-3 months" in t.note and t.not_computable is None
    # one patient: means reported, no test
    m3 = meas([("1", "I", -6, "FVC", 80), ("1", "V", 0, "FVC", 74), ("1", "VIII", 3, "FVC", 73)] + lead_in)
    t = stats.slope_test(m3, "FVC", 3)
    assert t.n == 1
    assert t.pre_slope_mean == pytest.approx(-1.0)
    assert t.post_slope_mean == pytest.approx(-1 / 3)
    assert t.t is None and t.p_wilcoxon is None and "n < 2" in t.note
    for test in (t, stats.slope_test(m, "ALSFRS", 3)):
        json_safe(test.to_dict())
        assert "patient_ids" not in test.to_dict(with_ids=False)


def exact_slope(xs, ys):
    """OLS slope in exact rational arithmetic (months and values as written in the CSV), or None."""
    xs = [Fraction(str(x)) for x in xs]
    ys = [Fraction(str(y)) for y in ys]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if len(xs) < 2 or sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


@pytest.mark.parametrize("measure", ["ALSFRS", "WS_UEL", "WS_UER", "WS_LEL", "WS_LER"])
def test_slope_tests_on_shipped_data_match_exact_computation(shipped, measure):
    """Per-patient slopes in exact arithmetic, then scipy's paired tests, for the efficacy population.

    Exact slopes keep the ties and zeros among the differences (many on the
    shipped data: weakness scores are mostly unchanged), so the Wilcoxon p
    must equal scipy's on the exact differences.
    """
    eff = list(shipped.patients.loc[shipped.patients["efficacy_population"], "patient_id"])
    m = shipped.measurements
    a = m[(m["measure"] == measure) & m["patient_id"].isin(eff)]
    got = {t.window_months: t for t in stats.slope_tests(m, measure, ids=eff)}
    for w in (3, 6, 9, 12):
        pre, post, pids = [], [], []
        for pid in eff:
            x = a[a["patient_id"] == pid]
            b = x[x["month"] <= 0]
            f = x[(x["month"] >= 0) & (x["month"] <= w)]
            sb, sf = exact_slope(b["month"], b["value"]), exact_slope(f["month"], f["value"])
            if sb is not None and sf is not None:
                pre.append(sb)
                post.append(sf)
                pids.append(pid)
        t = got[w]
        assert list(t.patient_ids) == pids
        assert t.n == len(pids) > 2
        assert t.pre_slope_mean == pytest.approx(float(sum(pre) / len(pre)), rel=1e-9, abs=1e-12)
        assert t.post_slope_mean == pytest.approx(float(sum(post) / len(post)), rel=1e-9, abs=1e-12)
        assert t.mean_difference == pytest.approx(float((sum(post) - sum(pre)) / len(pre)), rel=1e-9, abs=1e-12)
        pre_f, post_f = np.array([float(v) for v in pre]), np.array([float(v) for v in post])
        tt = sps.ttest_rel(post_f, pre_f)
        assert t.t == pytest.approx(tt.statistic, rel=1e-7)
        assert t.p_ttest == pytest.approx(tt.pvalue, rel=1e-7)
        diffs = [float(q - p) for p, q in zip(pre, post)]
        assert t.p_wilcoxon == pytest.approx(sps.wilcoxon(diffs).pvalue, rel=1e-9)
        json_safe(t.to_dict())


def test_slope_tests_shipped_fvc_has_no_pre_slope(shipped):
    # FVC before day 0 exists only at visit III: no pre-treatment slope for anybody
    tests = stats.slope_tests(shipped.measurements, "FVC")
    assert len(tests) == 4
    for t in tests:
        assert t.n == 0 and t.t is None
        assert t.note.startswith("not computable: no patient has FVC values at 2 or more months up to day 0")
        assert t.not_computable == stats.pre_post(shipped, "FVC").reason


# ---------------------------------------------------------------- visit summaries


def visit_rows():
    return [
        ("1", "III", -1.15, "FVC", 80), ("1", "V", 0, "FVC", 78), ("1", "VIII", 3, "FVC", 74),
        ("1", "IX", 6, "FVC", 73),
        ("2", "III", -1.15, "FVC", 90), ("2", "VIII", 3, "FVC", 84),
        ("3", "V", 0, "FVC", 70), ("3", "VIII", 3, "FVC", 71),
        ("4", "VIII", 3, "FVC", 60),
        ("1", "V", 0, "ALSFRS", 30, "Table 2"), ("1", "VIII", 3, "ALSFRS", 28, "simulated"),
    ]


def test_visit_summaries_by_hand():
    v = stats.visit_summaries(meas(visit_rows()))
    # ALSFRS comes first (canonical measure order), then by month
    assert list(zip(v["measure"], v["visit"])) == [
        ("ALSFRS", "V"), ("ALSFRS", "VIII"), ("FVC", "III"), ("FVC", "V"), ("FVC", "VIII"), ("FVC", "IX")]
    r = v.set_index(["measure", "visit"])
    # FVC VIII: 74, 84, 71, 60 -> n 4, mean 289/4 = 72.25
    # deviations 1.75, 11.75, -1.25, -12.25; squares 3.0625 + 138.0625 + 1.5625 + 150.0625 = 292.75
    # SD = sqrt(292.75/3) = 9.8784276, SEM = SD/2 = 4.9392138
    viii = r.loc[("FVC", "VIII")]
    assert viii["n"] == 4
    assert viii["mean"] == pytest.approx(72.25)
    assert viii["sd"] == pytest.approx(math.sqrt(292.75 / 3))
    assert viii["sem"] == pytest.approx(math.sqrt(292.75 / 3) / 2)
    # baselines (last value at or before day 0): 1 -> 78 (V, not III), 2 -> 90 (III), 3 -> 70, 4 -> none
    # changes at VIII: 74-78 = -4, 84-90 = -6, 71-70 = 1 -> n 3, mean -3,
    # deviations -1, -3, 4 -> squares 26, SD sqrt(13), SEM sqrt(13/3)
    assert viii["change_n"] == 3
    assert viii["change_mean"] == pytest.approx(-3.0)
    assert viii["change_sd"] == pytest.approx(math.sqrt(13))
    assert viii["change_sem"] == pytest.approx(math.sqrt(13 / 3))
    # FVC III: 80, 90: mean 85, SD sqrt(50), SEM 5; change 80-78 = 2, 90-90 = 0: mean 1, SD sqrt 2, SEM 1
    iii = r.loc[("FVC", "III")]
    assert (iii["n"], iii["mean"]) == (2, 85.0)
    assert iii["sd"] == pytest.approx(math.sqrt(50)) and iii["sem"] == pytest.approx(5.0)
    assert iii["change_mean"] == pytest.approx(1.0) and iii["change_sem"] == pytest.approx(1.0)
    assert iii["month"] == pytest.approx(-1.15)
    # FVC V: 78, 70: mean 74, SD sqrt(32), SEM 4; changes 0, 0
    vv = r.loc[("FVC", "V")]
    assert vv["mean"] == pytest.approx(74.0) and vv["sem"] == pytest.approx(4.0)
    assert vv["change_mean"] == 0.0 and vv["change_sd"] == 0.0
    # FVC IX: one value (73): SD and SEM not computable -> None (never NaN); change 73-78 = -5
    ix = r.loc[("FVC", "IX")]
    assert (ix["n"], ix["mean"], ix["sd"], ix["sem"]) == (1, 73.0, None, None)
    assert (ix["change_n"], ix["change_mean"], ix["change_sd"], ix["change_sem"]) == (1, -5.0, None, None)
    # simulated flag
    assert bool(r.loc[("ALSFRS", "VIII"), "simulated"]) is True
    assert bool(r.loc[("ALSFRS", "V"), "simulated"]) is False
    json_safe(v.to_dict(orient="records"))


def test_visit_summaries_ids_and_measures_filters_and_empty():
    v = stats.visit_summaries(meas(visit_rows()), ids=["2", "3"], measures=["FVC"])
    r = v.set_index("visit")
    assert set(v["measure"]) == {"FVC"}
    # VIII: 84, 71: mean 77.5; changes -6, +1: mean -2.5
    assert r.loc["VIII", "n"] == 2
    assert r.loc["VIII", "mean"] == pytest.approx(77.5)
    assert r.loc["VIII", "change_mean"] == pytest.approx(-2.5)
    assert "IX" not in r.index
    empty = stats.visit_summaries(meas(visit_rows()), ids=["nobody"])
    assert empty.empty and "change_mean" in empty.columns


@pytest.mark.parametrize("seed", range(6))
def test_visit_summaries_equal_a_plain_pandas_computation(seed):
    """The numpy group sums against pandas' own groupby on random data (ties in month, missing baselines)."""
    rng = np.random.default_rng(seed)
    visits = [("I", -6.0), ("III", -1.15), ("V", 0.0), ("VIII", 3.0), ("IX", 6.0)]
    rows = []
    for p in range(int(rng.integers(1, 15))):
        for measure in ("ALSFRS", "FVC", "WS_UEL"):
            for visit, month in visits:
                if rng.random() < 0.7:
                    rows.append((str(p + 1), visit, month, measure, float(rng.integers(0, 40)),
                                 "simulated" if rng.random() < 0.2 else "Table 2"))
    m = meas(rows)
    got = stats.visit_summaries(m).set_index(["measure", "visit"])
    base = m[m["month"] <= 0].sort_values("month", kind="stable").groupby(["patient_id", "measure"])["value"].last()
    ref_rows = m.join(base.rename("baseline"), on=["patient_id", "measure"])
    ref_rows = ref_rows.assign(change=ref_rows["value"] - ref_rows["baseline"])
    ref = ref_rows.groupby(["measure", "visit"]).agg(n=("value", "count"), mean=("value", "mean"), sd=("value", "std"),
                                                      change_n=("change", "count"), change_mean=("change", "mean"),
                                                      change_sd=("change", "std"), simulated=("simulated", "any"))
    assert set(got.index) == set(ref.index)
    for key, r in ref.iterrows():
        g = got.loc[key]
        for col in ("n", "change_n"):
            assert g[col] == r[col], (key, col)
        for col in ("mean", "sd", "change_mean", "change_sd"):
            if pd.isna(r[col]):
                assert g[col] is None, (key, col)
            else:
                assert g[col] == pytest.approx(r[col], rel=1e-9, abs=1e-9), (key, col)
        assert bool(g["simulated"]) == bool(r["simulated"])
    flat = got.reset_index()
    rank = {name: i for i, name in enumerate(data.MEASURES)}
    keys = [(rank[a], b) for a, b in zip(flat["measure"], flat["month"])]
    assert keys == sorted(keys)  # canonical measure order, then month


def test_visit_summaries_shipped_fvc_matches_table4(shipped):
    # Table 4's printed row (mean and, mislabelled as SEM, SD) over the 23 efficacy patients
    eff = list(shipped.patients.loc[shipped.patients["efficacy_population"], "patient_id"])
    v = stats.visit_summaries(shipped.measurements, ids=eff, measures=["FVC"]).set_index("visit")
    printed = {"III": (89, 11, 23), "VIII": (84, 16, 22), "IX": (82, 14, 22), "X": (79, 17, 19), "XI": (75, 17, 19),
               "XII": (73, 20, 11)}
    for visit, (mean, sd, n) in printed.items():
        assert v.loc[visit, "n"] == n
        assert round(v.loc[visit, "mean"]) == mean
        assert round(v.loc[visit, "sd"]) == sd


# ---------------------------------------------------------------- characteristics


def test_characteristics_by_hand():
    pf = pd.DataFrame({
        "patient_id": ["1", "2", "3", "4"],
        "age": pd.array([40, 50, 60, pd.NA], dtype="Int64"),
        "sex": pd.array(["F", "M", "F", pd.NA], dtype="string"),
        "onset": pd.array(["spinal", "spinal+bulbar", "spinal", "spinal"], dtype="string"),
        "disease_duration_months": [12.0, 24.0, 36.0, 48.0],
        "baseline_ALSFRS": [30.0, 26.0, np.nan, 34.0],
        "baseline_FVC": [np.nan] * 4,
    }).set_index("patient_id")
    c = stats.characteristics(pf, ["1", "2", "3", "4"])
    assert c["n"] == 4
    # age 40, 50, 60 (one missing): mean 50, SD 10, SEM 10/sqrt 3
    assert c["age"]["n"] == 3 and c["age"]["mean"] == pytest.approx(50.0)
    assert c["age"]["sd"] == pytest.approx(10.0) and c["age"]["sem"] == pytest.approx(10 / math.sqrt(3))
    # duration 12, 24, 36, 48: mean 30, SD sqrt((324+36+36+324)/3) = sqrt(240), SEM sqrt(240)/2
    assert c["disease_duration_months"]["mean"] == pytest.approx(30.0)
    assert c["disease_duration_months"]["sd"] == pytest.approx(math.sqrt(240))
    assert c["sex"] == {"F": 2, "M": 1, "missing": 1}
    assert c["onset"] == {"spinal": 3, "spinal+bulbar": 1}
    # ALSFRS 30, 26, 34: mean 30, SD 4
    assert c["baseline_ALSFRS"]["n"] == 3 and c["baseline_ALSFRS"]["sd"] == pytest.approx(4.0)
    assert c["baseline_FVC"] == {"n": 0, "mean": None, "sd": None, "sem": None, "note": "no values"}
    sub = stats.characteristics(pf, ["2"])
    assert sub["n"] == 1 and sub["age"]["mean"] == 50.0 and sub["age"]["sd"] is None
    json_safe(c)
    json_safe(sub)


def test_characteristics_shipped_table2(shipped):
    from dashboard import cohorts

    pf = cohorts.patient_frame(shipped)
    c = stats.characteristics(pf, list(shipped.patients["patient_id"]))
    # Table 2 "Mean ± SEM": age 51.2 ± 1.7, disease duration 38.1 ± 4.2, ALSFRS 29.5 ± 1.0, FVC 88.8 ± 2.3
    assert c["n"] == 26
    assert (round(c["age"]["mean"], 1), round(c["age"]["sem"], 1)) == (51.2, 1.7)
    assert (round(c["disease_duration_months"]["mean"], 1),
            round(c["disease_duration_months"]["sem"], 1)) == (38.1, 4.2)
    assert (round(c["baseline_ALSFRS"]["mean"], 1), round(c["baseline_ALSFRS"]["sem"], 1)) == (29.5, 1.0)
    # the last FVC at or before day 0 is visit III for every patient (no FVC at V)
    assert (round(c["baseline_FVC"]["mean"], 1), round(c["baseline_FVC"]["sem"], 1)) == (88.8, 2.3)
    # counted from data/patients.csv: F = patients 1,2,6,7,8,11,13,16,18,19,23,24 (12), M 14
    assert c["sex"] == {"F": 12, "M": 14}
    json_safe(c)


# ---------------------------------------------------------------- adverse events


def ae_frame():
    rows = [
        # patient, term, serious, related, severity
        ("1", "Headache", False, True, "Mild"),
        ("1", "Headache", False, True, "Mild"),
        ("2", "Headache", True, False, "Moderate"),
        ("3", "Respiratory failure", True, False, "Death"),
        ("5", "Headache", False, True, "Mild"),  # not in the cohort
    ]
    df = pd.DataFrame(rows, columns=["patient_id", "term", "serious", "related", "severity"])
    for c in ("patient_id", "term", "severity"):
        df[c] = df[c].astype("string")
    df["action"] = pd.array(["No"] * len(df), dtype="string")
    df["duration_days"] = pd.array([1] * len(df), dtype="Int64")
    df["ongoing"] = False
    return df


COHORT = ["1", "2", "3", "4"]


def test_ae_incidence_by_hand():
    t = stats.ae_incidence(ae_frame(), COHORT)
    assert list(t.columns) == ["term", "patients", "events", "percent"]
    # Headache: patients 1, 2 (patient 1 twice) -> 2 patients, 3 events, 2/4 = 50 %
    # Respiratory failure: patient 3 -> 1, 1, 25 %; patient 5 is outside the cohort
    assert t.to_dict(orient="records") == [
        {"term": "Headache", "patients": 2, "events": 3, "percent": 50.0},
        {"term": "Respiratory failure", "patients": 1, "events": 1, "percent": 25.0},
    ]


def test_ae_incidence_by_severity():
    t = stats.ae_incidence(ae_frame(), COHORT, by="severity")
    rows = [(r["term"], str(r["severity"]), r["patients"], r["events"], r["percent"])
            for r in t.to_dict(orient="records")]
    # sorted by patients desc, events desc, term
    assert rows == [
        ("Headache", "Mild", 1, 2, 25.0),
        ("Headache", "Moderate", 1, 1, 25.0),
        ("Respiratory failure", "Death", 1, 1, 25.0),
    ]
    assert list(t["severity"].cat.categories) == ["Mild", "Moderate", "Severe", "Death"]


def test_ae_incidence_empty_cohort():
    assert stats.ae_incidence(ae_frame(), []).empty
    assert stats.ae_incidence(ae_frame(), ["4"]).empty


def test_ae_summary_by_hand():
    s = stats.ae_summary(ae_frame(), COHORT)
    assert s == {
        "any": {"patients": 3, "events": 4, "percent": 75.0},
        "serious": {"patients": 2, "events": 2, "percent": 50.0},
        "related": {"patients": 1, "events": 2, "percent": 25.0},
        "death": {"patients": 1, "events": 1, "percent": 25.0},
    }
    empty = stats.ae_summary(ae_frame(), [])
    assert empty["any"] == {"patients": 0, "events": 0, "percent": None}
    json_safe(s)
    json_safe(empty)


def test_ae_on_shipped_data(shipped):
    ids = list(shipped.patients["patient_id"])
    t = stats.ae_incidence(shipped.adverse_events, ids).set_index("term")
    # data/adverse_events.csv: Headache in patients 4, 5, 8, 9, 13, 16, 17 -> 7 of 26 = 26.92 %
    assert t.loc["Headache", "patients"] == 7 and t.loc["Headache", "events"] == 7
    assert t.loc["Headache", "percent"] == pytest.approx(700 / 26)
    s = stats.ae_summary(shipped.adverse_events, ids)
    # 18 events in 15 patients; deaths: patients 2 and 10
    assert s["any"] == {"patients": 15, "events": 18, "percent": pytest.approx(1500 / 26)}
    assert s["death"]["patients"] == 2


# ---------------------------------------------------------------- stability shares


def fvc_rows():
    return [
        ("1", "III", -1.15, "FVC", 80), ("1", "X", 9, "FVC", 75),
        ("2", "III", -1.15, "FVC", 72), ("2", "X", 9, "FVC", 70),  # exactly at the threshold: stable
        ("3", "III", -1.15, "FVC", 70), ("3", "X", 9, "FVC", 65),
        ("4", "III", -1.15, "FVC", 90), ("4", "IX", 6, "FVC", 88),  # no value at month 9
        ("6", "X", 9, "FVC", 99),  # not in the cohort
    ]


IDS5 = ["1", "2", "3", "4", "5"]  # patient 5 has no FVC at all


def test_stability_share_fvc_exclude_missing():
    s = stats.stability_share(meas(fvc_rows()), IDS5, "FVC", 9, StabilityDefinition())
    # values at 9 months: 75, 70, 65 -> 2 of 3 stable; patients 4 and 5 missing
    assert (s.stable, s.denominator, s.missing) == (2, 3, 2)
    assert s.percent == pytest.approx(200 / 3)
    assert s.note is None
    assert "FVC >= 70" in s.definition
    json_safe(s.to_dict())


def test_stability_share_fvc_missing_counted_unstable():
    s = stats.stability_share(meas(fvc_rows()), IDS5, "FVC", 9, StabilityDefinition(missing="unstable"))
    # 2 stable of all 5 patients = 40 %
    assert (s.stable, s.denominator, s.missing, s.percent) == (2, 5, 2, 40.0)


def test_stability_share_denominator_zero():
    s = stats.stability_share(meas(fvc_rows()), IDS5, "FVC", 18, StabilityDefinition())
    assert (s.stable, s.denominator, s.percent) == (0, 0, None)
    assert "not computable" in s.note
    json_safe(s.to_dict())
    s = stats.stability_share(meas(fvc_rows()), [], "FVC", 9, StabilityDefinition())
    assert s.percent is None and s.note


def ws_rows():
    rows = []
    limbs = ("WS_UEL", "WS_UER", "WS_LEL", "WS_LER")

    def add(pid, visit, month, values):
        for limb, v in zip(limbs, values):
            if v is not None:
                rows.append((pid, visit, month, limb, v))

    # patient 1: baseline is the day-0 value (last at or before 0), not visit III
    add("1", "III", -1.15, (3, 3, 4, 4))
    add("1", "V", 0, (3, 3, 3.5, 4))
    add("1", "XI", 12, (2.5, 3, 3.1, 4))  # falls 0.5, 0, 0.4, 0: all < 1 -> stable
    # patient 2: one limb falls exactly 1.0 -> not stable
    add("2", "III", -1.15, (5, 5, 5, 5))
    add("2", "XI", 12, (5, 5, 4, 5))
    # patient 3: only three limbs at 12 months -> incomplete (missing)
    add("3", "III", -1.15, (4, 4, 4, 4))
    add("3", "XI", 12, (4, 4, 2, None))  # falls 0, 0, 2
    # patient 4: no weakness score at all
    return rows


def test_stability_share_weakness_all_limbs():
    d = StabilityDefinition(mode="change_below", threshold=1.0)
    s = stats.stability_share(meas(ws_rows()), ["1", "2", "3", "4"], "WS", 12, d)
    # complete patients 1 and 2; stable: patient 1 only -> 1 of 2 = 50 %; missing 3 and 4
    assert (s.stable, s.denominator, s.missing, s.percent) == (1, 2, 2, 50.0)
    assert "all four limbs" in s.definition
    s = stats.stability_share(meas(ws_rows()), ["1", "2", "3", "4"], "WS", 12,
                              StabilityDefinition(mode="change_below", threshold=1.0, missing="unstable"))
    assert (s.stable, s.denominator, s.percent) == (1, 4, 25.0)


def test_stability_share_weakness_per_limb():
    d = StabilityDefinition(mode="change_below", threshold=1.0, per_limb="limbs")
    s = stats.stability_share(meas(ws_rows()), ["1", "2", "3", "4"], "WS", 12, d)
    # limb values: patient 1: 4 (4 stable), patient 2: 4 (3 stable), patient 3: 3 (2 stable) -> 9 of 11
    # missing limb values: 4 patients x 4 limbs - 11 = 5
    assert (s.stable, s.denominator, s.missing) == (9, 11, 5)
    assert s.percent == pytest.approx(900 / 11)


def test_share_at_or_above():
    t = stats.share_at_or_above(meas(fvc_rows()), IDS5, "FVC", 70)
    assert t.to_dict(orient="records") == [
        # III: 80, 72, 70, 90 -> all 4 at or above 70
        {"visit": "III", "month": -1.15, "n": 4, "at_or_above": 4, "percent": 100.0},
        # IX: 88
        {"visit": "IX", "month": 6.0, "n": 1, "at_or_above": 1, "percent": 100.0},
        # X: 75, 70, 65 (patient 6 is not in the cohort)
        {"visit": "X", "month": 9.0, "n": 3, "at_or_above": 2, "percent": pytest.approx(200 / 3)},
    ]
    assert stats.share_at_or_above(meas(fvc_rows()), ["5"], "FVC", 70).empty


def test_fvc_stability_on_shipped_data(shipped):
    """FVC >= 70 % among efficacy patients with a value, counted by hand from data/measurements.csv.

    Visit X (month 9), 19 values: 42, 85, 79, 79, 76, 113, 79, 99, 83, 73, 57, 83, 73, 92, 73, 74, 61, 63, 109
    below 70: patients 2 (42), 15 (57), 23 (61), 24 (63) -> 15 of 19.
    Visit XI (month 12), 19 values: 34, 80, 63, 69, 84, 90, 87, 91, 73, 74, 54, 92, 62, 96, 60, 75, 65, 63, 107
    below 70: patients 2, 4, 5, 15, 18, 20, 23, 24 -> 11 of 19.
    """
    eff = list(shipped.patients.loc[shipped.patients["efficacy_population"], "patient_id"])
    assert len(eff) == 23
    d = StabilityDefinition(mode="at_or_above", threshold=70.0, missing="exclude")
    s9 = stats.stability_share(shipped.measurements, eff, "FVC", 9, d)
    assert (s9.stable, s9.denominator, s9.missing) == (15, 19, 4)
    assert s9.percent == pytest.approx(1500 / 19)
    s12 = stats.stability_share(shipped.measurements, eff, "FVC", 12, d)
    assert (s12.stable, s12.denominator, s12.missing) == (11, 19, 4)
    assert s12.percent == pytest.approx(1100 / 19)
    s12u = stats.stability_share(shipped.measurements, eff, "FVC", 12, StabilityDefinition(missing="unstable"))
    assert (s12u.stable, s12u.denominator) == (11, 23)
    t = stats.share_at_or_above(shipped.measurements, eff, "FVC", 70).set_index("visit")
    assert (t.loc["X", "n"], t.loc["X", "at_or_above"]) == (19, 15)
    assert (t.loc["XI", "n"], t.loc["XI", "at_or_above"]) == (19, 11)


# ---------------------------------------------------------------- JSON safety


def test_clean_replaces_nan_and_numpy_types():
    out = stats.clean({"a": np.float64("nan"), "b": [np.int64(3), np.bool_(True), float("inf")], 1: (pd.NA, 2.5)})
    assert out == {"a": None, "b": [3, True, None], "1": [None, 2.5]}
    json_safe(out)


def test_fast_exact_wilcoxon_equals_scipy_default_with_ties_and_zeros():
    """stats.wilcoxon_p replaces scipy's slow permutation branch (ties or zeros, n <= 13) by an exact count."""
    import numpy as np
    from scipy import stats as sps

    from dashboard import stats as st

    rng = np.random.default_rng(7)
    cases = 0
    for n in list(range(2, 14)) * 3:  # every n of scipy's permutation branch, three times (scipy's is slow)
        d = rng.integers(-4, 5, size=n).astype(float) / 3  # many ties and zeros
        if np.all(d == 0):
            continue
        assert st.wilcoxon_p(d) == pytest.approx(float(sps.wilcoxon(d).pvalue), rel=1e-9, abs=1e-12), d
        cases += 1
    assert cases > 30
    # no ties: scipy's exact distribution is used as is
    d = np.array([0.5, 1.5, -0.25, 2.0, 3.0])
    assert st.wilcoxon_p(d) == float(sps.wilcoxon(d).pvalue)


def test_slope_exclusions_name_each_left_out_patient_and_why_in_the_order_given():
    """Checked against a plain loop over the patients (the function looks the slopes up at once)."""
    from dashboard.data import load_dataset
    ds = load_dataset()
    ids = ["nobody"] + ds.patients["patient_id"].astype(str).tolist()[::-1]
    for measure in ("ALSFRS", "FVC"):
        slopes = stats.patient_slopes(ds.measurements, measure)
        for w in stats.WINDOWS:
            expected = []
            for pid in ids:
                if pid not in slopes.index:
                    expected.append((pid, f"no {measure} value"))
                elif pd.isna(slopes.loc[pid, "pre_slope"]):
                    expected.append((pid, f"{int(slopes.loc[pid, 'pre_n'])} value(s) at or before day 0: a slope "
                                          "needs 2 at distinct months"))
                elif pd.isna(slopes.loc[pid, f"post_slope_{w:g}"]):
                    expected.append((pid, f"{int(slopes.loc[pid, f'post_n_{w:g}'])} value(s) from day 0 to month "
                                          f"{w:g}: a slope needs 2 at distinct months"))
            assert stats.slope_exclusions(slopes, ids, w, measure) == expected
            assert expected  # the shipped data leaves someone out in every window (FVC: everyone)
