"""A generated randomised trial grouped by arm in the browser: the Between groups and Survival views (issue 13).

What Plotly drew (``gd._fullData``) is checked against the views computed in this process on the same files:
one Kaplan-Meier step line per arm in the arm's colour with one point per event time (from day 0, on to the
last censoring), and the between-group table's difference.  ``UPDATE_SCREENSHOTS=1`` also copies the
screenshots to tests/screenshots/arms-*.png (README.md).
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

from dashboard import cohorts, formatting, simulate, views
from dashboard.cohorts import CohortFilter
from dashboard.data import load_dataset
from dashboard.simulate import TrialSimulation
from tests.browser.helpers import TIMEOUT, fig_eval, wait_fig

from .conftest import REPO, serve, shot, wait_ready

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT)
README_SCREENSHOTS = REPO / "tests" / "screenshots"
ARMS = ("Placebo", "Active")


@pytest.fixture(scope="module")
def rct(tmp_path_factory):
    """A randomised trial of 120 patients (at most 150: the group × time model is fitted at once)."""
    tables = simulate.synthetic_trial(120, seed=1, params=TrialSimulation(
        arms=ARMS, slope_effect=0.3, hazard_ratio=0.6, death_hazard_per_month=0.05))
    directory = simulate.write_trial(tables, tmp_path_factory.mktemp("rct") / "trial")
    with serve(directory, "gunicorn-arms.log") as url:
        yield url, load_dataset(directory)


def _snap(page, name: str):
    page.mouse.move(0, 0)
    wait_ready(page)
    path = shot(page, name)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / path.name)


_LINES = """
return gd._fullData.filter(t => t.mode === 'lines' && t.showlegend !== false)
  .map(t => ({name: t.name, colour: t.line.color, shape: t.line.shape, n: t.x.length}));
"""


def test_between_groups_and_survival_by_arm(new_page, rct):
    url, ds = rct
    apage = new_page()
    c = cohorts.select(ds, CohortFilter(group_by="arm"))
    styles = views.base.group_styles(c)

    # Between groups: the slope table's difference, the change-by-visit lines, the group x time model
    expected = views.run("groups", ds, c)
    (diff,) = expected.slopes.differences
    apage.goto(url + "/?group=arm&tab=groups")
    wait_ready(apage, timeout=30000)
    expect(apage.locator("#tabs .tab--selected")).to_have_text("Between groups")
    row = apage.locator("#groups-slopes-table tbody tr").filter(has_text="Active")
    expect(row).to_contain_text(f"{diff.difference:+.3f} [{diff.ci95_low:+.3f}, {diff.ci95_high:+.3f}]")
    expect(apage.locator("#groups-slopes-table tbody tr").first).to_contain_text("reference")
    wait_fig(apage, "groups-changes", "gd._fullData.length === 2")
    drawn = fig_eval(apage, "groups-changes", "return gd._fullData.map(t => [t.name, t.line.color]);")
    assert drawn == [[k, styles[k].colour] for k in ARMS]
    expect(apage.locator("#groups-mixed-functional")).to_contain_text("Difference vs Placebo")
    expect(apage.locator("#groups-cafs")).to_contain_text("Wilcoxon rank-sum")
    _snap(apage, "arms-groups")

    # Survival: one step line per arm, in its colour, with the points the curve has
    km = views.run("survival", ds, c).analysis
    apage.goto(url + "/?group=arm&tab=survival")
    wait_ready(apage, timeout=30000)
    expect(apage.locator("#tabs .tab--selected")).to_have_text("Survival")
    wait_fig(apage, "survival-km", "gd._fullData.length >= 2")
    lines = fig_eval(apage, "survival-km", _LINES)
    assert [(t["colour"], t["shape"]) for t in lines] == [(styles[k].colour, "hv") for k in ARMS]
    for t, curve in zip(lines, km.curves):
        later = 1 if curve.censored and max(curve.censored) > curve.time[-1] else 0
        assert t["n"] == len(curve.time) + later
        assert t["name"] == f"{curve.group} (n = {curve.n}, {curve.events} events)"
    expect(apage.locator("#survival-at-risk-table")).to_contain_text("Day 0")
    hr = km.hazard_ratio
    expect(apage.locator("#survival-summary")).to_contain_text(
        f"Cox hazard ratio, Active vs Placebo: {formatting.fmt(hr.hazard_ratio, 2)}")
    _snap(apage, "arms-survival")


def test_survival_tab_of_the_shipped_trial_says_why_it_is_not_there(page, server_url):
    page.goto(server_url + "/?tab=survival")
    wait_ready(page)
    expect(page.locator("#url-notice")).to_contain_text("this dataset records no dates of death")
    expect(page.locator("#tabs .tab").filter(has_text="Survival")).to_have_count(0)
    expect(page.locator("#tabs .tab").filter(has_text="Between groups")).to_have_count(1)
