"""Dataset-neutral words (issue 12, item 7): the study's words come from its metadata.json, the paper check is
offered for the seed trial only, labels follow the rating scale, an attribute nobody recorded says so."""

import json
import shutil

import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from dashboard import callbacks, cohorts, data, formatting, ids, layout, reports, state, views
from dashboard.cohorts import CohortFilter
from tests import test_alsfrs_r
from tests.helpers import SHIPPED, texts


@pytest.fixture
def bare(tmp_path):
    """The shipped tables without metadata.json: another study, in neutral words."""
    d = tmp_path / "bare"
    shutil.copytree(SHIPPED, d)
    (d / "metadata.json").unlink()
    return data.load_dataset(d)


#: the fixture of the shipped data turned into ALSFRS-R
revised = test_alsfrs_r.revised


def with_patients(tmp_path, change):
    """The shipped data with patients.csv changed by ``change`` (a function of the table)."""
    d = tmp_path / "changed"
    shutil.copytree(SHIPPED, d)
    p = pd.read_csv(d / "patients.csv", dtype=str, keep_default_na=False)
    change(p)
    p.to_csv(d / "patients.csv", index=False, lineterminator="\n")
    return data.load_dataset(d)


def components(tree, kind):
    found = []

    def walk(c):
        if type(c).__name__ == kind:
            found.append(c)
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, (list, tuple)) else [kids] if kids is not None else []:
            walk(k)
    walk(tree)
    return found


def by_id(tree, cid):
    return next(c for c in components(tree, "Checklist") + components(tree, "RadioItems") if c.id == cid)


# ---------------------------------------------------------------- the study's words


def test_metadata_gives_the_study_its_words(shipped, bare):
    meta = json.loads((SHIPPED / "metadata.json").read_text())
    assert (shipped.study_id, shipped.day0_label, shipped.treatment_label) == (
        meta["study_id"], meta["day0_label"], meta["treatment_label"]) == (
        "EudraCT 2011-000362-35", "Day 0: application", "application")
    assert (bare.study_id, bare.day0_label, bare.treatment_label, bare.title) == ("", "Day 0", "treatment", "bare")


def test_figures_name_day_0_as_the_dataset_does(shipped, bare):
    for ds, day0, axis in ((shipped, "Day 0: application", "Months from application (day 0)"),
                           (bare, "Day 0", "Months from day 0")):
        c = cohorts.select(ds, CohortFilter())
        fig = views.run("alsfrs", ds, c).figure
        assert day0 in [a.text for a in fig.layout.annotations]
        assert fig.layout.xaxis.title.text == axis
        assert views.run("weakness", ds, c).mean.layout.xaxis.title.text == axis
        prof = views.run("profile", ds, c, "7").figure
        assert axis in [v["title"]["text"] for k, v in prof.layout.to_plotly_json().items()
                        if k.startswith("xaxis") and "title" in v]
        if ds is bare:
            assert "application" not in str(fig.layout) and "application" not in str(prof.layout)


def test_header_names_the_study(shipped, bare):
    assert "Study EudraCT 2011-000362-35" in texts(layout.build_layout(shipped, cohorts.patient_frame(shipped)))
    page = layout.build_layout(bare, cohorts.patient_frame(bare))
    assert "Study" not in texts(components(page, "Header")[0]) and "bare" in texts(components(page, "Header")[0])


# ---------------------------------------------------------------- the paper check: the seed trial only


def test_paper_check_only_for_the_seed_trial(shipped, bare):
    assert "paper" in [v.key for v in views.offered(shipped)]
    assert "paper" not in [v.key for v in views.offered(bare)]
    assert "seed trial" in views.BY_KEY["paper"].available(bare)
    tabs = components(layout.build_layout(bare, cohorts.patient_frame(bare)), "Tab")
    assert [t.value for t in tabs] == ["overview", "alsfrs", "fvc", "weakness", "groups", "safety", "profile"]
    tabs = components(layout.build_layout(shipped, cohorts.patient_frame(shipped)), "Tab")
    assert [t.value for t in tabs][-1] == "paper"
    r = state.reconcile(None, "?tab=paper", state.Controls(), bare)
    assert r.controls.tab == "overview" and any("tab='paper' ignored" in n for n in r.notices)
    assert state.reconcile(None, "?tab=paper", state.Controls(), shipped).controls.tab == "paper"
    c = cohorts.select(bare, CohortFilter())
    assert "Paper check" not in reports.html_report(bare, c)
    assert "Paper check" in reports.html_report(shipped, cohorts.select(shipped, CohortFilter()))


def test_paper_callback_draws_nothing_for_another_study(bare, monkeypatch):
    monkeypatch.setattr(callbacks, "dataset", lambda: bare)
    with pytest.raises(PreventUpdate):
        callbacks.VIEW_CALLBACKS["paper"](tab="paper")


# ---------------------------------------------------------------- labels follow the scale


def test_labels_follow_the_revised_scale(revised):
    page = layout.build_layout(revised, cohorts.patient_frame(revised))
    words = texts(page)
    assert "Progressor threshold: ALSFRS-R fall before day 0" in words
    assert "Baseline ALSFRS-R (points)" in words and "ALSFRS / ALSFRS-R" not in words
    assert [t.label for t in components(page, "Tab")][1] == "ALSFRS-R"
    filt = CohortFilter(baseline_alsfrs=(30, None))
    assert "baseline alsfrs-r at least 30 points" in cohorts.select(revised, filt).describe()
    assert "<h2>ALSFRS-R</h2>" in reports.html_report(revised, cohorts.select(revised, CohortFilter()))


# ---------------------------------------------------------------- an attribute nobody recorded


def test_onset_nobody_recorded_says_not_recorded(tmp_path):
    ds = with_patients(tmp_path, lambda p: p.__setitem__("onset", ""))
    c = cohorts.select(ds, CohortFilter())
    table = views.run("overview", ds, c).table[0]
    rows = {r[0]: list(r[1:]) for r in table.rows}
    assert rows["Onset: spinal"] == [formatting.NOT_RECORDED]
    assert rows["Onset: spinal + bulbar"] == [formatting.NOT_RECORDED]
    assert "0 (0%)" not in str(table.rows)
    assert rows["Sex: female"] != [formatting.NOT_RECORDED]  # sex is recorded
    page = layout.build_layout(ds, cohorts.patient_frame(ds))
    assert by_id(page, ids.CATEGORY_IDS["onset"]).options == []
    assert len(by_id(page, ids.CATEGORY_IDS["sex"]).options) == 2
    assert "not recorded in this dataset" in texts(page)
    r = state.reconcile(None, "?onset=spinal", state.Controls(), ds)
    assert r.filter.onset == () and r.count_text == "26 of 26 patients"
    assert any("onset='spinal' ignored: onset is not recorded" in n for n in r.notices)


def test_onset_recorded_for_some_counts_those_without(tmp_path):
    def blank_two(p):
        p.loc[p["patient_id"].isin(["1", "2"]), "onset"] = ""
    ds = with_patients(tmp_path, blank_two)
    c = cohorts.select(ds, CohortFilter())
    rows = {r[0]: list(r[1:]) for r in views.run("overview", ds, c).table[0].rows}
    pf = cohorts.patient_frame(ds)
    spinal = int((pf["onset"] == "spinal").sum())
    assert rows["Onset: spinal"] == [f"{spinal} ({100 * spinal / 26:.0f}%)"]
    assert rows["Onset: not recorded"] == [f"2 ({100 * 2 / 26:.0f}%)"]


def test_shipped_characteristics_unchanged(shipped):
    c = cohorts.select(shipped, CohortFilter())
    rows = [r[0] for r in views.run("overview", shipped, c).table[0].rows]
    assert rows[:6] == ["Age, years: mean ± SEM", "Disease duration, months: mean ± SEM", "Sex: female", "Sex: male",
                        "Onset: spinal", "Onset: spinal + bulbar"]


def test_category_filters_offer_only_the_values_someone_has(shipped, tmp_path):
    """Bulbar onset is a valid value (PRO-ACT), but the shipped trial has none: no box that selects nobody."""
    page = layout.build_layout(shipped, cohorts.patient_frame(shipped))
    onsets = [o["value"] for o in by_id(page, ids.CATEGORY_IDS["onset"]).options]
    assert onsets == [v for v in data.ONSETS if (shipped.patients["onset"] == v).any()] == ["spinal", "spinal+bulbar"]
    ds = with_patients(tmp_path, lambda p: p.__setitem__("onset", p["onset"].replace("spinal+bulbar", "bulbar")))
    page = layout.build_layout(ds, cohorts.patient_frame(ds))
    assert [o["value"] for o in by_id(page, ids.CATEGORY_IDS["onset"]).options] == ["spinal", "bulbar"]
