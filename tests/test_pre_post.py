"""No lead-in, no pre/post test (issue 12, item 6): the one rule (stats.pre_post_rule) and every place that obeys it.

The trial without a lead-in is a synthetic trial of 60 patients whose values before day 0 are dropped,
except for 4 patients' screening values (as in a PRO-ACT or ADaM trial where a few patients happen to
have one): before the rule, their slopes gave a paired t-test and a p from 4 patients.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dashboard import cohorts, mixed, reports, simulate, state, stats, views
from dashboard.cohorts import CohortFilter
from dashboard.data import load_dataset

KEEP = ("1", "2", "3", "4")


@pytest.fixture(scope="module")
def no_lead_in(tmp_path_factory):
    tables = simulate.synthetic_trial(60, seed=5)
    m = tables["measurements"]
    tables["measurements"] = m[(m["month"] >= 0) | m["patient_id"].astype(str).isin(KEEP)].reset_index(drop=True)
    d = simulate.write_trial(tables, tmp_path_factory.mktemp("trial") / "no-lead-in")
    return load_dataset(d)


def frame(rows):
    return pd.DataFrame(rows, columns=["patient_id", "month", "measure", "value"]).assign(simulated=False)


def lines(n_with_pre, n_without):
    """Patients with values at -3, 0, 3 (a pre slope) and patients with values at 0, 3 only."""
    rows = []
    for i in range(n_with_pre):
        rows += [(f"p{i}", -3, "ALSFRS", 30), (f"p{i}", 0, "ALSFRS", 28), (f"p{i}", 3, "ALSFRS", 27)]
    for i in range(n_without):
        rows += [(f"q{i}", 0, "ALSFRS", 30), (f"q{i}", 3, "ALSFRS", 29)]
    return frame(rows)


def test_rule_counts_patients_with_a_pre_treatment_slope():
    r = stats.pre_post_rule(lines(4, 56), "ALSFRS")
    assert (r.n_patients, r.n_pre, r.computable) == (60, 4, False)
    assert r.reason == ("only 4 of the 60 patients with ALSFRS values have values at 2 or more months up to day 0 "
                        "(a pre-treatment slope); a pre/post comparison needs at least 6 and at least half of them")
    assert stats.pre_post_rule(lines(6, 6), "ALSFRS").computable  # exactly half, and 6
    assert not stats.pre_post_rule(lines(6, 7), "ALSFRS").computable  # 6 of 13: under half
    assert not stats.pre_post_rule(lines(5, 0), "ALSFRS").computable  # all, but only 5
    assert stats.pre_post_rule(lines(2, 0), "FVC").reason == "no FVC values in this dataset"
    # one value before day 0 and one at day 0 make a slope; a value at day 0 alone does not
    assert stats.pre_post_rule(frame([(p, mo, "ALSFRS", 30 - mo) for p in "abcdef" for mo in (-1, 0)]),
                               "ALSFRS").n_pre == 6
    json.dumps(r.to_dict(), allow_nan=False)


def test_six_is_where_a_wilcoxon_test_can_first_reach_5_percent():
    # the reason for MIN_PRE_PATIENTS = 6, checked against scipy: all differences positive is the extreme case
    from scipy import stats as sps

    assert sps.wilcoxon(np.arange(1.0, 6.0)).pvalue > 0.05
    assert sps.wilcoxon(np.arange(1.0, 7.0)).pvalue < 0.05
    assert stats.MIN_PRE_PATIENTS == 6


def test_shipped_dataset_keeps_its_tests(shipped):
    r = stats.pre_post(shipped, "ALSFRS")
    m = shipped.measurements
    a = m[m["measure"] == "ALSFRS"]
    # independent count: patients with ALSFRS at 2 or more distinct months <= 0
    n_pre = int((a[a["month"] <= 0].groupby("patient_id", observed=True)["month"].nunique() >= 2).sum())
    assert (r.n_patients, r.n_pre) == (a["patient_id"].nunique(), n_pre) and r.computable
    assert stats.progression_reason(shipped) is None
    assert not stats.pre_post(shipped, "FVC").computable  # one FVC visit before day 0: never a pre slope


def test_no_lead_in_has_no_slope_test_and_says_why(no_lead_in):
    m = no_lead_in.measurements
    a = m[(m["measure"] == "ALSFRS")]
    assert sorted(a.loc[a["month"] < 0, "patient_id"].astype(str).unique()) == list(KEEP)
    # what used to be shown: a paired test of those 4 patients' slopes, with a p
    slopes = stats.patient_slopes(m, "ALSFRS")
    both = stats.with_both_slopes(slopes, 6)
    assert 2 < len(both) <= 4 and stats.paired_test(both["pre_slope"], both["post_slope_6"])["p_ttest"] is not None
    rule = stats.pre_post(no_lead_in, "ALSFRS")
    assert (rule.n_pre, rule.n_patients) == (4, 60)
    for t in stats.slope_tests(m, "ALSFRS"):
        assert t.p_ttest is None and t.p_wilcoxon is None and t.t is None and t.mean_difference is None
        assert t.not_computable == rule.reason and t.note == f"not computable: {rule.reason}"
        assert "only 4 of the 60 patients" in t.note


def test_no_lead_in_mixed_model_is_not_fitted(no_lead_in):
    for r in mixed.mixed_models(no_lead_in.measurements, "ALSFRS", None):
        assert r.slope_change is None and r.p is None and not r.converged
        assert "only 4 of the 60 patients" in r.note
    eff = cohorts.select(no_lead_in, CohortFilter(population="efficacy"))
    r = mixed.cached_model(no_lead_in, "ALSFRS", eff.patient_ids, 12)
    assert r.slope_change is None and "only 4 of the 60" in r.note


def test_no_lead_in_view_shows_not_computable(no_lead_in):
    cohort = cohorts.select(no_lead_in, CohortFilter())
    res = views.run("alsfrs", no_lead_in, cohort)
    assert res.slope_rows == () and "only 4 of the 60 patients" in res.message
    for fig in (res.pairs, res.waterfall):
        text = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
        assert "not computable" in text and "only 4 of the 60 patients" in text
        assert not [t for t in fig.data if len(getattr(t, "x", None) or ())]  # nothing drawn
    fitted = views.run("alsfrs", no_lead_in, cohort, show_fits=True).figure
    assert fitted.layout.title.text == res.figure.layout.title.text
    fit_labels = [str(c) for t in fitted.data if str(t.name).startswith("Fitted") for c in t.customdata
                  if c is not None]
    assert any("(post slope" in c for c in fit_labels)
    assert not [c for c in fit_labels if "(pre slope" in c]  # no pre-treatment fits drawn
    rendered = str(res.slope_table)
    assert "only 4 of the 60 patients" in rendered
    html = reports.html_report(no_lead_in, cohort)
    assert "only 4 of the 60 patients" in html
    assert "p (paired t)" not in html  # no slope-test table at all


def test_no_lead_in_stats_json(no_lead_in):
    r = subprocess.run([sys.executable, "-m", "dashboard", "stats", "--data", str(no_lead_in.directory)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    als = [t for t in out["slope_tests"] if t["measure"] == "ALSFRS"]
    assert len(als) == 4
    for t in als + [t for g in out["groups"] for t in g["slope_tests"] if t["measure"] == "ALSFRS"]:
        assert "only 4 of the 60 patients" in t["not_computable"]
        assert t["p_ttest"] is None and t["p_wilcoxon"] is None and t["mean_difference"] is None
    rule = [p for p in out["pre_post"] if p["measure"] == "ALSFRS"][0]
    assert rule["computable"] is False and (rule["n_pre"], rule["n_patients"]) == (4, 60)
    assert all(m["slope_change"] is None for m in out["mixed_models"] if m["measure"] == "ALSFRS")


def test_shipped_stats_json_says_the_rule_holds(shipped):
    c = cohorts.select(shipped, CohortFilter(population="efficacy"))
    out = reports.cohort_statistics(shipped, c, with_mixed=False)
    rule = [p for p in out["pre_post"] if p["measure"] == "ALSFRS"][0]
    assert rule["computable"] is True and rule["reason"] is None
    t = [t for t in out["slope_tests"] if t["measure"] == "ALSFRS"][0]
    assert t["not_computable"] is None and t["p_ttest"] is not None


# ---------------------------------------------------------------- progressors/stable only with a lead-in


def test_progression_populations_not_offered_without_lead_in(no_lead_in, shipped):
    values = [o["value"] for o in state.population_options(no_lead_in, 2.0)]
    assert values == ["safety", "efficacy"]
    assert "only 4 of the 60 patients" in stats.progression_reason(no_lead_in)
    assert [o["value"] for o in state.population_options(shipped, 2.0)] == list(cohorts.POPULATIONS)


@pytest.mark.parametrize("population", ["progressors", "stable", "compare"])
def test_a_link_asking_for_progressors_gets_a_message(no_lead_in, population):
    r = state.reconcile(None, f"?cohort={population}&tab=alsfrs", state.Controls(), no_lead_in)
    assert r.filter.population == "safety"
    assert any(f"cohort='{population}' ignored" in n and "only 4 of the 60" in n for n in r.notices)
    assert "cohort" not in r.store
    # from the controls too (a stale radio value)
    r = state.reconcile("population", None, state.Controls(population=population), no_lead_in)
    assert r.filter.population == "safety" and r.notices


def test_cli_refuses_progressors_without_lead_in(no_lead_in):
    r = subprocess.run([sys.executable, "-m", "dashboard", "stats", "--data", str(no_lead_in.directory),
                        "--cohort", "progressors"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "not available" in r.stderr and "only 4 of the 60 patients" in r.stderr



def test_overview_says_there_are_no_progressors_without_lead_in(no_lead_in):
    from dashboard import formatting, layout
    from tests.helpers import texts

    res = views.run("overview", no_lead_in, cohorts.select(no_lead_in, CohortFilter()))
    assert "only 4 of the 60 patients" in res.flow.no_grouping
    rows = formatting.flow_rows(res.flow).rows
    assert ("Progressors / stable", f"not defined: {res.flow.no_grouping}") in [tuple(r) for r in rows]
    assert not any(str(r[0]).startswith("Stable") for r in rows)
    assert "not defined" in texts(layout.flow_diagram(res.flow))
