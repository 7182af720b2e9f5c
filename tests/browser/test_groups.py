"""Group by, in Chromium: the radio groups every view, the address carries it, a group keeps its colour."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard import cohorts, views
from dashboard.data import DEFAULT_DATA_DIR, load_dataset
from tests.browser.helpers import fig_eval, patient_ids, wait_fig

from .conftest import shot, wait_ready

pytestmark = pytest.mark.browser

_LINES = ("return gd._fullData.filter(t => / \\(n = \\d+\\)$/.test(t.name || ''))"
          ".map(t => [t.name, t.line.color, t.legendgroup]);")


def test_group_by_sex_draws_each_group_in_its_colour_in_every_view(page, server_url):
    ds = load_dataset(DEFAULT_DATA_DIR)
    c = cohorts.select(ds, cohorts.CohortFilter(group_by="sex"))
    styles = views.base.group_styles(c)
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page)
    page.locator("#group-by label").filter(has_text="Sex").click()
    wait_ready(page)
    page.wait_for_function("() => location.search.includes('group=sex')")
    expect(page.locator("#cohort-words")).to_contain_text("by sex")
    wait_fig(page, "alsfrs-spaghetti", "gd._fullData.some(t => (t.name || '').startsWith('Female'))")
    lines = fig_eval(page, "alsfrs-spaghetti", _LINES)
    assert [(name.split(" (")[0], colour) for name, colour, _g in lines] == [
        ("Female", styles["F"].colour), ("Male", styles["M"].colour)]
    # each group's lines are its patients (those with ALSFRS values), as the data say
    by_group = patient_ids(page, "alsfrs-spaghetti", by_group=True)
    with_alsfrs = set(ds.measurements.loc[ds.measurements["measure"] == "ALSFRS", "patient_id"])
    for g in c.shown_groups:
        assert by_group[g.key] == set(g.patient_ids) & with_alsfrs, g.key
    shot(page, "group_by_sex_alsfrs")
    # the same colours on the FVC view, and the slope-test table per group
    page.locator("#tabs .tab").filter(has_text="FVC").click()
    wait_ready(page)
    wait_fig(page, "fvc-spaghetti", "gd._fullData.some(t => (t.name || '').startsWith('Male'))")
    fvc = fig_eval(page, "fvc-spaghetti", _LINES)
    assert {name.split(" (")[0]: colour for name, colour, _g in fvc} == {
        "Female": styles["F"].colour, "Male": styles["M"].colour}
    # the link restores the grouping
    page.goto(page.evaluate("() => location.href"))
    wait_ready(page)
    expect(page.locator("#group-by input[value='sex']")).to_be_checked()
