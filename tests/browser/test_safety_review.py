"""The DSMB's safety review in the browser (issue 14): the CDISC pilot's safety view (summary, hierarchy, a
heatmap of 218 patients whose labels overprint nothing, the swimmer plot) and the changes panel of a server
started with ``DASHBOARD_PREVIOUS_DATA_DIR``.  Real gunicorn, headless Chromium, a clean console.

Screenshots go to tests/screenshots/safety-*.png and changes.png (README.md shows them).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.data import PREVIOUS_DATA_DIR_ENV
from tests.browser.helpers import clashes, fig_eval, wait_fig
from tests.helpers import PILOT, make_cuts

from .conftest import ARTIFACTS, REPO, free_port, start_gunicorn, stop, wait_http, wait_ready

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)
README_SCREENSHOTS = REPO / "tests" / "screenshots"


def serve(data_dir, log: str, extra_env: dict | None = None):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = start_gunicorn(port, data_dir=data_dir, extra_env=extra_env, log_path=ARTIFACTS / log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", timeout=60, proc=proc)
    except Exception:
        stop(proc)
        raise
    return url, proc


@pytest.fixture(scope="module")
def pilot_url():
    url, proc = serve(PILOT, "gunicorn-pilot.log")
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def cuts_url(tmp_path_factory):
    old, new = make_cuts(tmp_path_factory.mktemp("cuts"))
    url, proc = serve(new, "gunicorn-cuts.log", {PREVIOUS_DATA_DIR_ENV: str(old)})
    yield url
    stop(proc)


@pytest.fixture
def cpage(new_page):
    """A page of its own whose console must stay clean (conftest's ``new_page``)."""
    return new_page()


def open_heatmap(page, url: str, query: str) -> None:
    """Open the safety view at ``query`` and wait until its heatmap's labels are drawn."""
    page.goto(url + "/?tab=safety&" + query)
    wait_ready(page, timeout=60_000)
    wait_fig(page, "ae-heatmap", "gd._fullData.length > 0 && gd.querySelector('.xtick')", timeout=60_000)


def snap(page, name: str, selector: str | None = None) -> None:
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    path = README_SCREENSHOTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=False)


def test_pilot_safety_view(cpage, pilot_url):
    page = cpage
    open_heatmap(page, pilot_url, "group=arm&level=preferred")
    summary = page.locator("#ae-summary-table")
    expect(summary).to_contain_text("218 (85.8%)")
    expect(summary).to_contain_text("65 (75.6%)")
    expect(summary).to_contain_text("Xanomeline High Dose − Placebo")
    # the heatmap of 218 patients by 230 preferred terms: no label overprints another or the title
    assert fig_eval(page, "ae-heatmap", "return gd._fullData[0].x.length;") > 200
    assert clashes(page, "ae-heatmap") == []
    # the swimmer plot is drawn: a bar trace per severity, deaths marked
    wait_fig(page, "ae-swimmer", "gd._fullData.length > 2", timeout=60_000)
    names = fig_eval(page, "ae-swimmer", "return gd._fullData.map(t => t.name);")
    assert "Mild" in names and "death" in names
    assert fig_eval(page, "ae-swimmer", "return gd._fullLayout.yaxis._categories.length;") == 218
    assert clashes(page, "ae-swimmer") == []
    # the deaths listing and the hierarchy (a body system opens to its terms)
    expect(page.locator("#ae-deaths-table")).to_contain_text("SUDDEN DEATH")
    first = page.locator("#ae-incidence details").first
    first.locator("summary").click()
    expect(first.locator("table")).to_be_visible()
    page.locator("#ae-summary-table").scroll_into_view_if_needed()
    snap(page, "safety-summary", "#ae-summary")
    snap(page, "safety-hierarchy", "#ae-incidence")
    page.locator("#ae-heatmap").scroll_into_view_if_needed()
    snap(page, "safety-heatmap", "#ae-heatmap")
    page.locator("#ae-swimmer").scroll_into_view_if_needed()
    snap(page, "safety-swimmer", "#ae-swimmer")


def test_an_opened_body_system_stays_open_across_a_filter_change(cpage, pilot_url):
    """The hierarchy is drawn again on a filter change (assets/html_block.js sets the new HTML): the body system
    the reader opened stays open, by its name, though its counts and the systems around it change."""
    page = cpage
    page.goto(pilot_url + "/?tab=safety")
    wait_ready(page, timeout=60_000)
    systems = page.locator("#ae-incidence details")
    keys = systems.evaluate_all("ds => ds.map(d => d.dataset.key)")
    assert len(keys) > 3 and len(set(keys)) == len(keys)
    key = keys[2]
    opened = page.locator(f"#ae-incidence details[data-key='{key}']")
    opened.locator("summary").click()
    expect(opened.locator("table")).to_be_visible()
    before = opened.locator("summary").inner_text()
    page.locator("#sex input[value='F']").click()
    wait_ready(page, timeout=60_000)
    expect(opened.locator("summary")).not_to_have_text(before)  # drawn again: its counts are the women's
    assert systems.evaluate_all("ds => ds.filter(d => d.open).map(d => d.dataset.key)") == [key]
    expect(opened.locator("table")).to_be_visible()


def test_pilot_heatmap_by_body_system_and_presented_has_no_overprint(cpage, pilot_url):
    page = cpage
    open_heatmap(page, pilot_url, "level=body_system")
    assert fig_eval(page, "ae-heatmap", "return gd._fullData[0].x.length;") == 23
    assert clashes(page, "ae-heatmap") == []
    # in presentation mode (larger labels) at 1280 x 720, 230 preferred terms: still none overprinted
    page.set_viewport_size({"width": 1280, "height": 720})
    open_heatmap(page, pilot_url, "level=preferred&present=1")
    wait_fig(page, "ae-heatmap", "gd._fullLayout.font.size === 20", timeout=60_000)
    page.wait_for_timeout(300)
    found = clashes(page, "ae-heatmap")
    page.screenshot(path=str(ARTIFACTS / "present-pilot.png"), full_page=True)
    assert found == [], "\n".join(found)


def test_changes_panel_with_a_previous_cut(cpage, cuts_url):
    page = cpage
    page.goto(cuts_url + "/?tab=overview")
    wait_ready(page, timeout=60_000)
    panel = page.locator("#overview-changes")
    expect(panel).to_contain_text("Changes since")
    expect(panel).to_contain_text("New deaths")
    panel.locator("summary", has_text="Changed values").click()
    expect(panel).to_contain_text("76")
    snap(page, "changes", "#overview-changes")
    # the listings mark the new and changed rows
    page.goto(cuts_url + "/?tab=safety")
    wait_ready(page, timeout=60_000)
    expect(page.locator("#ae-serious-list")).to_contain_text("Since last review")
    expect(page.locator("#ae-serious-list .since-new")).to_have_count(1)
    expect(page.locator("#ae-deaths .since-new")).to_have_count(1)


def test_body_system_is_picked_from_a_dropdown_and_narrows_the_heatmap(cpage, pilot_url):
    """The heatmap's body system was a radio list of 28 choices, ten lines between the options and the heatmap;
    it is a dropdown (searchable), carried in the address as before, and the heatmap drawn is the one the
    safety view computes for that body system."""
    from dashboard import cohorts, importers, views
    from dashboard.cohorts import CohortFilter

    page = cpage
    open_heatmap(page, pilot_url, "level=preferred")
    assert page.locator("#ae-system input[type=radio]").count() == 0
    expect(page.locator("#ae-system")).to_have_text("All body systems")
    every = fig_eval(page, "ae-heatmap", "return gd._fullData[0].x.length;")
    # the control takes one line: the heatmap starts less than 90 px below the last option's row above it
    gap = page.evaluate("() => document.getElementById('ae-heatmap').getBoundingClientRect().top"
                        " - document.getElementById('ae-system').getBoundingClientRect().bottom")
    assert gap < 90, gap
    page.locator("#ae-system").click()
    page.locator(".dash-dropdown-search").fill("cardiac")
    option = page.locator(".dash-dropdown-content [role=option]:has(input[value='Card'])")
    expect(option).to_have_count(1)  # "cardiac" finds one body system
    option.click()
    expect(page).to_have_url(re.compile(r"[?&]system=Card(&|$)"))
    expect(page.locator("#ae-system")).to_have_text("Cardiac disorders")
    pilot = importers.load(PILOT)
    want = views.run("safety", pilot, cohorts.select(pilot, CohortFilter()), level="preferred",
                     system="Card").heatmap.data[0].x
    wait_fig(page, "ae-heatmap", "gd._fullData[0].x.length === arg", arg=len(want), timeout=60_000)
    drawn = fig_eval(page, "ae-heatmap", "return Array.from(gd._fullData[0].x);")
    assert drawn == list(want) and 0 < len(drawn) < every
    assert clashes(page, "ae-heatmap") == []
