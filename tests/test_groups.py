"""Group by arm, progression, sex or onset: the filter model, the URL, the CLI, the state and the views.

Independent answers: the group sizes are counted straight from the patient table with pandas; the CDISC
pilot's arms (86 placebo, 84 high dose, 84 low dose) are those of its define.xml and ADSL.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard import cohorts, data, figures, importers, state, views
from dashboard.cohorts import CohortFilter
from tests.helpers import REPO, run_cli

PILOT = REPO / "tests" / "data" / "cdisc_pilot"


@pytest.fixture(scope="module")
def seed():
    return data.load_dataset(REPO / "data")


@pytest.fixture(scope="module")
def pilot():
    return importers.load(PILOT)


def test_arms_of_the_pilot_control_first_with_their_sizes(pilot):
    c = cohorts.select(pilot, CohortFilter(group_by="arm"))
    arms = pilot.patients["arm"].value_counts()
    assert [(g.key, g.n) for g in c.shown_groups] == [
        ("Placebo", 86), ("Xanomeline Low Dose", 84), ("Xanomeline High Dose", 84)]
    assert {g.key: g.n for g in c.shown_groups} == arms.to_dict()
    assert [g.control for g in c.shown_groups] == [True, False, False]
    assert c.control_group.key == "Placebo"
    # every patient in exactly one group, the groups' ids are the patients of that arm
    arm_of = pilot.patients.set_index("patient_id")["arm"]
    for g in c.shown_groups:
        assert set(arm_of[list(g.patient_ids)]) == {g.key}
    assert sum(g.n for g in c.shown_groups) == c.n


def test_a_group_keeps_its_colour_whatever_the_filter(pilot):
    whole = views.base.group_styles(cohorts.select(pilot, CohortFilter(group_by="arm")))
    assert whole["Placebo"].colour == figures.CONTROL_COLOUR
    assert len({s.colour for s in whole.values()}) == 3
    # without the placebo patients the two doses keep their colours (fixed by rank, not by position)
    ids = tuple(pilot.patients.loc[pilot.patients["arm"] != "Placebo", "patient_id"])
    narrowed = cohorts.select(pilot, CohortFilter(group_by="arm", patients=ids))
    assert [g.key for g in narrowed.shown_groups] == ["Xanomeline Low Dose", "Xanomeline High Dose"]
    styles = views.base.group_styles(narrowed)
    for key, style in styles.items():
        assert style.colour == whole[key].colour
    assert narrowed.control_group.key == "Xanomeline Low Dose"  # no control arm left: the first group


def test_sex_onset_and_progression_groups_of_the_seed(seed):
    pf = seed.patients.set_index("patient_id")
    by_sex = cohorts.select(seed, CohortFilter(group_by="sex"))
    assert [(g.label, g.n) for g in by_sex.shown_groups] == [("Female", int((pf["sex"] == "F").sum())),
                                                              ("Male", int((pf["sex"] == "M").sum()))]
    by_onset = cohorts.select(seed, CohortFilter(group_by="onset"))
    assert {g.key: g.n for g in by_onset.shown_groups} == pf["onset"].value_counts().to_dict()
    # compare = efficacy patients classified, by progression; group=progression on the efficacy population
    # adds nothing unclassified here, so the two are the same groups
    compare = cohorts.select(seed, CohortFilter(population="compare"))
    prog = cohorts.select(seed, CohortFilter(population="efficacy", group_by="progression"))
    assert [(g.key, g.n) for g in compare.shown_groups] == [("progressor", 12), ("stable", 11)]
    assert [(g.key, g.patient_ids) for g in prog.shown_groups] == [
        (g.key, g.patient_ids) for g in compare.shown_groups]
    assert compare.filter.grouping == "progression" and compare.filter.to_params() == {"cohort": "compare"}


def test_url_round_trip_and_refusals():
    f, notices = CohortFilter.from_params({"group": "arm", "sex": "F"})
    assert f.group_by == "arm" and notices == []
    assert f.to_params() == {"sex": "F", "group": "arm"}
    assert CohortFilter.from_params(f.to_params())[0] == f
    f, notices = CohortFilter.from_params({"group": "site"})
    assert f.group_by == "" and notices == ["group='site' ignored: choose from arm, progression, sex, onset"]
    with pytest.raises(ValueError, match="unknown grouping"):
        CohortFilter(group_by="site")
    assert "by sex" in CohortFilter(group_by="sex").describe()


def test_state_drops_a_grouping_the_dataset_does_not_have(seed, pilot):
    r = state.reconcile(None, "?group=arm", state.Controls(), seed)
    assert r.filter.group_by == "" and r.notices == ("group='arm' ignored: this dataset records no treatment arm",)
    r = state.reconcile(None, "?group=progression", state.Controls(), pilot)
    assert r.filter.group_by == "" and "progressors and stable patients are not defined" in r.notices[0]
    r = state.reconcile(None, "?group=arm", state.Controls(), pilot)
    assert r.filter.group_by == "arm" and r.notices == () and r.search is None
    assert [o["value"] for o in state.grouping_options(pilot)] == ["", "arm", "sex"]
    assert [o["value"] for o in state.grouping_options(seed)] == ["", "progression", "sex", "onset"]
    # a control change: the radio's value becomes the filter's, and the address follows
    r = state.reconcile("group-by", "", state.Controls(group_by="sex"), seed)
    assert r.filter.group_by == "sex" and r.search == "?group=sex" and r.controls.group_by == "sex"


def test_cli_group_option(tmp_path):
    out = json.loads(run_cli("stats", "--group", "sex", "--no-mixed").stdout)
    assert [(g["label"], g["n"]) for g in out["cohort"]["groups"]] == [("Female", 12), ("Male", 14)]
    assert out["cohort"]["group_by"] == "sex"
    r = run_cli("stats", "--group", "arm")
    assert r.returncode == 2 and "--group 'arm' is not available: this dataset records no treatment arm" in r.stderr
    r = run_cli("stats", "--group", "site")
    assert r.returncode == 2 and "site" in r.stderr


def test_every_view_draws_each_group_with_its_n_and_colour(seed):
    c = cohorts.select(seed, CohortFilter(group_by="sex"))
    styles = views.base.group_styles(c)
    alsfrs = views.run("alsfrs", seed, c)
    lines = [t for t in alsfrs.figure.data if t.name and "(n = " in t.name]
    pf = seed.patients.set_index("patient_id")
    with_alsfrs = seed.measurements.loc[seed.measurements["measure"] == "ALSFRS", "patient_id"].unique()
    expected = pf.loc[list(with_alsfrs), "sex"].value_counts()
    assert [(t.name, t.line.color) for t in lines] == [
        (f"Female (n = {expected['F']})", styles["F"].colour), (f"Male (n = {expected['M']})", styles["M"].colour)]
    assert list(dict.fromkeys(label for label, _t in alsfrs.slope_rows)) == ["Female", "Male"]
    fvc = views.run("fvc", seed, c)
    assert [label for label, _s in fvc.shares] == ["Female", "Male"]
    ws = views.run("weakness", seed, c)
    ws_lines = [t for t in ws.grid.data if t.name and "(n = " in t.name]
    assert {(t.name.split(" (")[0], t.line.color) for t in ws_lines} == {
        ("Female", styles["F"].colour), ("Male", styles["M"].colour)}
    overview = views.run("overview", seed, c)
    assert [label for label, _c in overview.characteristics] == ["Female", "Male", "Both"]
    assert [col["n"] for _l, col in overview.characteristics] == [12, 14, 26]


def test_rows_of_a_group_are_its_patients_rows(pilot):
    c = cohorts.select(pilot, CohortFilter(group_by="arm"))
    ae = pilot.adverse_events
    for g in c.shown_groups:
        mine = cohorts.rows(ae, c, g.key)
        expected = ae[ae["patient_id"].isin(list(g.patient_ids))]
        pd.testing.assert_frame_equal(mine, expected)


def test_safety_heatmap_sorted_by_arm_with_a_line_between_arms(pilot):
    c = cohorts.select(pilot, CohortFilter(group_by="arm"))
    fig = views.run("safety", pilot, c).heatmap
    rows = [str(y) for y in fig.data[0].y]
    arms = [r[r.index("(") + 1:-1] for r in rows]
    # the arms in their display order, each a block; patients with a treatment-emergent event per arm as counted
    # directly (the 65 / 77 / 76 of 218)
    assert list(dict.fromkeys(arms)) == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    assert arms == sorted(arms, key=["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"].index)
    with_event = pilot.adverse_events.drop_duplicates("patient_id").merge(pilot.patients, on="patient_id")
    assert {a: arms.count(a) for a in set(arms)} == with_event["arm"].value_counts().to_dict()
    assert {a: arms.count(a) for a in arms} == {"Placebo": 65, "Xanomeline Low Dose": 77, "Xanomeline High Dose": 76}
    assert [s.y0 for s in fig.layout.shapes if s.type == "line"] == [64.5, 64.5 + 77]
