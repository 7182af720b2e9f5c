"""The Between groups and Survival views (issue 13): what they compute, against independent answers.

Independent answers: per-patient slopes from ``np.polyfit`` and scipy's Welch t-test and Mann-Whitney U called
directly; the truth of a generated randomised trial (``simulate`` with arms: the slope effect and the hazard
ratio it was made with); the CDISC pilot's TTDE by arm against ``dashboard.survival`` called directly and the
textbook log-rank of tests/test_survival.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from dashboard import between, cohorts, data, figures, formatting, importers, reports, simulate, survival, views
from dashboard.cohorts import CohortFilter
from dashboard.simulate import TrialSimulation
from dashboard.views import between_groups
from dashboard.views import survival as survival_view
from tests.helpers import REPO

PILOT = REPO / "tests" / "data" / "cdisc_pilot"
ARMS = ("Placebo", "Active")
SLOPE_EFFECT, HAZARD_RATIO = 0.3, 0.6


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    tables = simulate.synthetic_trial(400, seed=3, params=TrialSimulation(
        arms=ARMS, slope_effect=SLOPE_EFFECT, hazard_ratio=HAZARD_RATIO, death_hazard_per_month=0.05))
    return data.load_dataset(simulate.write_trial(tables, tmp_path_factory.mktemp("rct")))


@pytest.fixture(scope="module")
def pilot():
    return importers.load(PILOT)


def _by_arm(ds):
    return cohorts.select(ds, CohortFilter(group_by="arm"))


def _polyfit_slopes(ds, measure="ALSFRS") -> pd.Series:
    m = ds.measurements
    m = m[(m["measure"] == measure) & (m["month"] >= 0) & m["value"].notna()]
    out = {}
    for pid, g in m.groupby(m["patient_id"].astype(str)):
        if g["month"].nunique() >= 2:
            out[pid] = np.polyfit(g["month"].to_numpy(float), g["value"].to_numpy(float), 1)[0]
    return pd.Series(out)


def test_slope_difference_is_welch_and_mann_whitney_on_polyfit_slopes(trial):
    r = views.run("groups", trial, _by_arm(trial))
    assert r.message is None and r.measure == "ALSFRS"
    slopes = _polyfit_slopes(trial)
    arm = trial.patients.set_index(trial.patients["patient_id"].astype(str))["arm"]
    active = slopes[arm.reindex(slopes.index) == "Active"].to_numpy()
    placebo = slopes[arm.reindex(slopes.index) == "Placebo"].to_numpy()
    welch = sps.ttest_ind(active, placebo, equal_var=False)
    ci = welch.confidence_interval(0.95)
    (d,) = r.slopes.differences
    assert (d.group, d.control) == ("Active", "Placebo")
    assert d.difference == pytest.approx(active.mean() - placebo.mean(), abs=1e-9)
    assert (d.ci95_low, d.ci95_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert d.p_welch == pytest.approx(welch.pvalue, rel=1e-9)
    # Mann-Whitney: integer scores make many equal slopes, which polyfit and the view's OLS tell apart only in the
    # 15th digit (a tie or not), so the test is checked on the view's own slopes, themselves checked against polyfit
    own = between.post_baseline_slopes(trial.measurements, "ALSFRS")["slope"].dropna()
    assert own.reindex(slopes.index).to_numpy() == pytest.approx(slopes.to_numpy(), abs=1e-9)
    on = arm.reindex(own.index)
    assert r.slopes.p_mann_whitney == pytest.approx(sps.mannwhitneyu(
        own[on == "Active"].to_numpy(), own[on == "Placebo"].to_numpy(), alternative="two-sided").pvalue, rel=1e-9)
    assert r.slopes.p_mann_whitney == pytest.approx(
        sps.mannwhitneyu(active, placebo, alternative="two-sided").pvalue, rel=0.5)
    assert [(g.group, g.n) for g in r.slopes.groups] == [("Placebo", len(placebo)), ("Active", len(active))]
    # the view finds the simulated effect: the CI covers the truth and excludes no effect
    assert d.ci95_low < SLOPE_EFFECT < d.ci95_high and d.ci95_low > 0
    # and the table shows the difference as the view computed it
    table = formatting.as_blocks(r.slope_table)[0]
    assert table.rows[1][4] == f"{d.difference:+.3f} [{d.ci95_low:+.3f}, {d.ci95_high:+.3f}]"
    assert table.rows[0][4] == "reference"


def test_change_from_baseline_by_visit_by_hand(trial):
    r = views.run("groups", trial, _by_arm(trial))
    m = trial.measurements[trial.measurements["measure"] == "ALSFRS"]
    base = m[m["month"] == 0].set_index("patient_id")["value"]
    arm = trial.patients.set_index("patient_id")["arm"]
    for row in r.changes.rows[:6]:
        at = m[(m["visit"] == row.visit) & m["patient_id"].isin(arm.index[arm == row.group])]
        change = (at.set_index("patient_id")["value"] - base).dropna()
        assert row.n == len(change) and row.mean == pytest.approx(change.mean())
        assert row.sem == pytest.approx(change.std(ddof=1) / np.sqrt(len(change)))
    # one line per arm in the arm's colour, n in the hover
    styles = views.base.group_styles(_by_arm(trial))
    fig = figures.validate(r.figure)
    assert [(t.name, t.line.color) for t in fig.data] == [(k, styles[k].colour) for k in ARMS]
    assert "n = %{customdata[0]}" in fig.data[0].hovertemplate


def test_group_time_mixed_model_and_cafs_find_the_effect(trial):
    c = _by_arm(trial)
    (table,) = formatting.as_blocks(between_groups.mixed_part(trial, c, "functional", interactive=False))
    model = between_groups.group_model(trial, c, "ALSFRS")
    (d,) = model.differences
    assert model.converged and d.ci95_low < SLOPE_EFFECT < d.ci95_high
    assert table.rows[1][4].startswith(f"{d.difference:+.3f}")
    # above AUTO_FIT_PATIENTS the dashboard fits only on request and says so
    ask = between_groups.mixed_part(trial, c, "functional", interactive=True)
    assert "Tick 'Fit the group × time models'" in ask.text
    r = views.run("groups", trial, c)
    assert r.cafs.test == "Wilcoxon rank-sum" and r.cafs.p < 0.05 and r.cafs.note is None
    placebo, active = r.cafs.groups
    assert active.mean_score > placebo.mean_score and placebo.deaths > active.deaths


def test_not_grouped_or_one_group_says_why_and_shows_no_number(trial, shipped):
    placebo = tuple(trial.patients.loc[trial.patients["arm"] == "Placebo", "patient_id"].astype(str)[:3])
    for c, words in ((cohorts.select(trial, CohortFilter()), "Choose a grouping under 'Group by'"),
                     (cohorts.select(trial, CohortFilter(group_by="arm", patients=placebo)),
                      "only one group in the selection (Placebo)")):
        r = views.run("groups", trial, c)
        assert words in r.message and r.slopes is None and r.cafs is None
        assert r.slope_table is None and r.change_table is None
        assert words in between_groups.mixed_part(trial, c, "functional").text
        assert r.figure.layout.meta["summary"] == r.message
    # the shipped trial: offered (it can be grouped by sex, onset, progression)
    assert between_groups.available(shipped) is None
    r = views.run("groups", shipped, cohorts.select(shipped, CohortFilter(group_by="sex")))
    # the shipped deaths (patients 2 and 10, "Death" in Table 3) have no day: left out of CAFS, never ranked as
    # survivors (safety.deaths lists them)
    assert r.cafs.note.startswith("2 patient(s) died on a day not recorded: left out")
    assert {p for p, why in r.cafs.excluded if "died on a day not recorded" in why} == {"2", "10"}
    assert any(b.text.startswith("2 patient(s) died on a day not recorded") for b in formatting.as_blocks(r.cafs_table)
               if isinstance(b, formatting.Notice))


def test_survival_on_the_generated_trial_finds_the_hazard_ratio(trial):
    c = _by_arm(trial)
    r = views.run("survival", trial, c)
    direct = survival.survival_by_group(survival.death_times(trial), pd.Series(c.shown_group_of()), list(ARMS))
    assert r.analysis.to_dict() == direct.to_dict()
    hr = r.analysis.hazard_ratio
    assert (hr.group, hr.control) == ("Active", "Placebo") and hr.ci95_low < HAZARD_RATIO < hr.ci95_high
    assert r.analysis.logrank_p < 0.05
    # one step line per arm in its colour, through each event time (and on to the last censoring)
    styles = views.base.group_styles(c)
    figures.validate(r.figure)  # every property known to plotly
    fig = r.figure
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is not False]
    assert [t.line.color for t in lines] == [styles[k].colour for k in ARMS]
    assert all(t.line.shape == "hv" for t in lines)
    for t, curve in zip(lines, r.analysis.curves):
        extra = 1 if curve.censored and max(curve.censored) > curve.time[-1] else 0
        assert len(t.x) == len(curve.time) + extra
        assert t.name.startswith(f"{curve.group} (n = {curve.n}, {curve.events} events)")
    marks = [t for t in fig.data if t.mode == "markers"]
    assert [len(t.x) for t in marks] == [len(cv.censored) for cv in r.analysis.curves]
    # the numbers at risk under the plot, counted by hand
    times = survival.death_times(trial).frame.set_index("patient_id")
    arm = trial.patients.set_index(trial.patients["patient_id"].astype(str))["arm"]
    table = r.at_risk
    for row, key in zip(table.rows, ARMS):
        days = times.loc[arm.index[arm == key], "days"]
        assert list(row[1:]) == [str(int((days >= t).sum())) for t in r.analysis.ticks]
    # the band on request
    band = views.run("survival", trial, c, show_ci=True).figure
    assert sum(1 for t in band.data if t.fill == "tonexty") == 2


def test_survival_of_the_pilot_ttde_by_arm(pilot):
    from tests.test_survival import logrank_k_groups

    c = _by_arm(pilot)
    assert survival_view.endpoint_choices(pilot) == (("", "Time to First Dermatologic Event (TTDE)"),)
    r = views.run("survival", pilot, c, endpoint="TTDE")
    arms = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    assert [(cv.group, cv.n) for cv in r.analysis.curves] == [(arms[0], 86), (arms[1], 84), (arms[2], 84)]
    (ttde,) = survival.adtte_times(pilot)
    direct = survival.survival_by_group(ttde, pd.Series(c.shown_group_of()), arms)
    assert [(cv.median, cv.median_ci95_low, cv.median_ci95_high) for cv in r.analysis.curves] == [
        (cv.median, cv.median_ci95_low, cv.median_ci95_high) for cv in direct.curves]
    arm_of = pilot.patients.set_index("patient_id")["arm"]
    f = ttde.frame.assign(arm=arm_of.reindex(ttde.frame["patient_id"]).to_numpy())
    chisq, p = logrank_k_groups(f["days"].to_numpy(float), f["event"].to_numpy(bool), f["arm"].to_numpy(object), arms)
    assert r.analysis.logrank_p == pytest.approx(p, rel=1e-6) and r.analysis.hazard_ratio is None
    text = " ".join(b.text for b in formatting.as_blocks(r.summary) if isinstance(b, formatting.Para))
    assert f"χ² = {chisq:.2f}, df = 2" in text
    assert "The Cox hazard ratio is given for two groups; here there are 3" in text
    # the stats JSON: TTDE by arm as above; the pilot (ADSL + ADAE + ADTTE) has no measurements to compare
    out = reports.cohort_statistics(pilot, c, with_mixed=False)
    json.dumps(out, allow_nan=False)
    assert out["survival"]["TTDE"]["logrank"]["p"] == pytest.approx(p, rel=1e-6)
    assert out["between_group_tests"] == {"reason": "This dataset has no measurements"}


def test_survival_is_not_offered_without_dates_of_death(shipped, trial):
    assert survival_view.available(shipped) == "this dataset records no dates of death"
    assert views.BY_KEY["survival"] not in views.offered(shipped)
    assert views.BY_KEY["survival"] in views.offered(trial)
    # not grouped: one curve of the whole selection, and the words why nothing is compared
    r = views.run("survival", trial, cohorts.select(trial, CohortFilter()))
    assert len(r.analysis.curves) == 1 and r.analysis.curves[0].n == trial.patients.shape[0]
    assert "Choose a grouping under 'Group by'" in r.notice[0].text and r.analysis.hazard_ratio is None


def test_stats_json_between_groups_and_survival_strict(trial, shipped):
    out = reports.cohort_statistics(trial, _by_arm(trial), with_mixed=False)
    json.dumps(out, allow_nan=False)
    d = out["between_group_tests"]["ALSFRS"]["differences"][0]
    assert d["ci95_low"] < SLOPE_EFFECT < d["ci95_high"]
    assert set(out["visit_changes"]) == {"ALSFRS", "FVC"} and out["cafs"]["test"] == "Wilcoxon rank-sum"
    death = out["survival"]["death"]
    assert [g["n"] for g in death["groups"]] == [200, 200] and death["logrank"]["p"] < 0.05
    assert death["hazard_ratio"]["ci95_low"] < HAZARD_RATIO < death["hazard_ratio"]["ci95_high"]
    seed = reports.cohort_statistics(shipped, cohorts.select(shipped, CohortFilter()), with_mixed=False)
    json.dumps(seed, allow_nan=False)
    for key in ("between_group_tests", "visit_changes", "mixed_model_by_group", "cafs"):
        assert seed[key] == {"reason": "Choose a grouping under 'Group by' to compare groups"}
    assert seed["survival"] == {"reason": "this dataset records no dates of death"}


def test_report_sections_of_the_two_views(trial):
    c = _by_arm(trial)
    groups_html = reports.view_html(trial, c, views.BY_KEY["groups"])
    (d,) = views.run("groups", trial, c).slopes.differences
    assert "<h2>Between groups</h2>" in groups_html
    assert f"{d.difference:+.3f} [{d.ci95_low:+.3f}, {d.ci95_high:+.3f}]" in groups_html
    assert groups_html.count("Difference vs Placebo") >= 3  # the slopes and the two mixed models (ALSFRS, FVC)
    surv_html = reports.view_html(trial, c, views.BY_KEY["survival"])
    assert "<h2>Survival</h2>" in surv_html and "Numbers at risk" in surv_html and "Cox hazard ratio" in surv_html


def test_no_effect_generated_shows_none(tmp_path):
    tables = simulate.synthetic_trial(400, seed=5, params=TrialSimulation(arms=ARMS, death_hazard_per_month=0.05))
    ds = data.load_dataset(simulate.write_trial(tables, tmp_path / "null"))
    c = _by_arm(ds)
    (d,) = views.run("groups", ds, c).slopes.differences
    (md,) = between_groups.group_model(ds, c, "ALSFRS").differences
    hr = views.run("survival", ds, c).analysis.hazard_ratio
    assert d.ci95_low < 0 < d.ci95_high and md.ci95_low < 0 < md.ci95_high
    assert hr.ci95_low < 1 < hr.ci95_high


def test_the_address_carries_the_views_options(trial):
    from dashboard import ids, state

    r = state.reconcile(ids.URL, "?group=arm&tab=groups&between=FVC&kmci=1", state.Controls(), trial)
    assert r.notices == () and r.controls.tab == "groups"
    assert r.controls.options["between"] == "FVC" and r.controls.options["kmci"] == ["ci"]
    assert views.run("groups", trial, _by_arm(trial), measure="FVC").measure == "FVC"


def test_the_endpoint_travels_in_the_address(pilot, trial):
    from dashboard import ids, state

    r = state.reconcile(ids.URL, "?group=arm&tab=survival&endpoint=TTDE", state.Controls(), pilot)
    assert r.notices == () and r.controls.options["endpoint"] == "TTDE" and r.controls.tab == "survival"
    # the first endpoint is the default, kept out of the address; a code the dataset lacks is named in the view
    assert survival_view.endpoint_choices(trial) == (("", "Time to death"),)
    r = views.run("survival", trial, _by_arm(trial), endpoint="TTDE")
    assert r.endpoint == "death" and "endpoint='TTDE' is not an endpoint of this dataset" in r.notice[0].text
    bad = state.reconcile(ids.URL, "?tab=survival&endpoint=%3Cb%3E", state.Controls(), pilot)
    assert bad.notices == ("endpoint='<b>' ignored: not a code of this view's choices",)


def test_every_view_draws_only_trace_types_its_template_styles(shipped, trial, pilot):
    """figures._template keeps plotly_white's defaults for figures.TRACE_TYPES only: a figure of another type
    would lose its plotly_white styling without a word.  Every figure of every view, on three datasets (one
    arm, by progression; two arms with deaths, by arm; the CDISC pilot's three arms, by arm)."""
    import plotly.io as pio

    from dashboard import figures

    seen = set()
    for ds, flt in ((shipped, CohortFilter(population="compare")), (trial, CohortFilter(group_by="arm")),
                    (pilot, CohortFilter(group_by="arm"))):
        cohort = cohorts.select(ds, flt)
        for view in views.REGISTRY:
            if view.available(ds) is not None:
                continue
            result = views.run(view.key, ds, cohort, None)
            for slot in view.slots:
                if slot.kind == "figure":
                    seen |= {t.type for t in getattr(result, slot.attr).data}
    assert seen == set(figures.TRACE_TYPES), seen
    full = pio.templates["plotly_white"].to_plotly_json()
    ours = figures._template()
    assert ours["data"] == {k: full["data"][k] for k in figures.TRACE_TYPES}
    kept = {k: v for k, v in full["layout"].items() if k not in figures.UNUSED_TEMPLATE_LAYOUT}
    assert ours["layout"] == {**kept, **{a: {**kept[a], **figures.AXIS_DEFAULTS} for a in ("xaxis", "yaxis")}}
