"""A generated trial of 1,000 patients in the browser: the large-plot drawing paths (lines only, each distinct
segment once, needle waterfalls, thin heatmap rows, capped listings) render, name patients and stay clickable."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard import simulate
from dashboard.cohorts import CohortFilter, select
from dashboard.data import load_dataset
from dashboard.figures import HEATMAP_LABELLED_ROWS, WATERFALL_BARS
from dashboard.formatting import SERIOUS_LISTING_ROWS
from tests.browser.helpers import TIMEOUT, fig_eval, fig_title, wait_fig

from .conftest import ARTIFACTS, ConsoleLog, free_port, start_gunicorn, stop, wait_http, wait_ready

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT)
N = 1000


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    directory = simulate.write_trial(simulate.synthetic_trial(N, seed=1), tmp_path_factory.mktemp("large") / "trial")
    port = free_port()
    proc = start_gunicorn(port, data_dir=directory, log_path=ARTIFACTS / "gunicorn-large.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", timeout=60, proc=proc)
        yield url, load_dataset(directory)
    finally:
        stop(proc)


@pytest.fixture
def lpage(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    log = ConsoleLog()
    log.attach(pg)
    yield pg
    ctx.close()
    assert log.errors == [], "browser console not clean:\n" + "\n".join(log.errors)


def _open(page, url, query):
    page.goto(url + "/" + query)
    wait_ready(page, timeout=60000)


# every drawn point of the figure on screen: the patients' (named like the groups) with their labels, and the others
_SEGMENT_POINTS = """
gd.scrollIntoView({block: 'center'});
const fl = gd._fullLayout, r = gd.getBoundingClientRect(), pts = [];
gd._fullData.forEach(t => {
  const patients = /^(Patients|Progressors|Stable) \\(n = /.test(t.name);
  for (let i = 0; i < t.x.length; i++) {
    if (Number.isNaN(+t.y[i]) || t.y[i] === null) continue;
    pts.push({label: patients ? t.customdata[i] : null, mode: t.mode,
              px: r.left + fl._size.l + fl.xaxis.l2p(+t.x[i]), py: r.top + fl._size.t + fl.yaxis.l2p(+t.y[i])});
  }
});
return pts;
"""


def test_large_alsfrs_view_draws_distinct_segments_and_a_click_highlights_a_patient_there(lpage, large):
    url, ds = large
    sel = select(ds, CohortFilter())
    with_alsfrs = set(ds.measurements.loc[ds.measurements["measure"] == "ALSFRS", "patient_id"].astype(str))
    _open(lpage, url, "?tab=alsfrs")
    wait_fig(lpage, "alsfrs-spaghetti", "gd._fullData.length > 0", timeout=60000)
    assert f"(n = {len(with_alsfrs)})" in fig_title(lpage, "alsfrs-spaghetti")
    # above 150 patients the mixed models wait to be asked for; they are asked once the figures are drawn,
    # and their answer changes the page's height (the scroll position with it): wait for it before aiming
    expect(lpage.locator("#alsfrs-mixed-3")).to_contain_text(f"this selection has {sel.n:,}")
    wait_ready(lpage, timeout=60000)
    every = fig_eval(lpage, "alsfrs-spaghetti", _SEGMENT_POINTS)
    pts = [p for p in every if p["label"] is not None]
    others = [p for p in every if p["label"] is None]  # the mean ± SEM markers
    # drawn as one path shape per group (one SVG element for thousands of segments); the points are on a trace
    # that draws nothing (mode "none") for hover and clicks: the path holds one segment per two of its points
    assert pts and {p["mode"] for p in pts} == {"none"}
    drawn = fig_eval(lpage, "alsfrs-spaghetti", """
      return [...gd.querySelectorAll('.shapelayer path')].map(p => p.getAttribute('d') || '')
        .filter(d => (d.match(/M/g) || []).length > 1).map(d => d.match(/M/g).length);""")
    assert sum(drawn) == len(pts) // 2 and len(drawn) == fig_eval(
        lpage, "alsfrs-spaghetti", "return gd._fullLayout.shapes.filter(s => s.type === 'path').length;")
    named = {p["label"].split(" ")[0] for p in pts}
    assert named <= with_alsfrs
    assert any(" others" in p["label"] for p in pts)  # shared segments say so
    # click a drawn point well clear of the mean markers: the highlighted patient is one named by a point at that spot
    clear = [p for p in pts if min((abs(p["px"] - q["px"]) + abs(p["py"] - q["py"]) for q in others), default=99) > 40]
    target = clear[len(clear) // 2]
    near = {p["label"].split(" ")[0] for p in pts
            if abs(p["px"] - target["px"]) < 3 and abs(p["py"] - target["py"]) < 3}
    lpage.mouse.move(target["px"], target["py"])
    lpage.mouse.click(target["px"], target["py"])
    # the picker is re-rendered when its value changes: wait on the locator, which tolerates a moment without it
    expect(lpage.locator("#highlight")).to_contain_text("Patient ", timeout=30000)
    chosen = lpage.locator("#highlight").text_content().split("Patient ")[1].strip()
    assert chosen in near, (chosen, sorted(near)[:10])
    wait_fig(lpage, "alsfrs-spaghetti", "gd._fullData.some(t => t.name === arg)", f"Patient {chosen}", timeout=60000)
    # the waterfall draws needles (one trace per group), not a bar per patient
    assert sel.n > WATERFALL_BARS
    modes = fig_eval(lpage, "alsfrs-waterfall", "return gd._fullData.map(t => t.type + ':' + t.mode);")
    assert "scatter:lines" in modes and not any(m.startswith("bar") for m in modes)


def test_large_weakness_and_safety_views(lpage, large):
    url, ds = large
    _open(lpage, url, "?tab=weakness")
    wait_fig(lpage, "ws-grid", "gd._fullData.length > 0", timeout=60000)
    modes = fig_eval(lpage, "ws-grid",
                     "return [...new Set(gd._fullData.filter(t => / \\(n = /.test(t.name)).map(t => t.mode))];")
    assert sorted(modes) == ["lines", "none"]  # the legend entry, and the points for hover (drawn as shapes)
    assert fig_eval(lpage, "ws-grid", "return gd._fullLayout.shapes.filter(s => s.type === 'path').length;") >= 4
    # the group's legend entry hides its lines in every panel: the path shapes are no longer drawn
    drawn_paths = """return [...gd.querySelectorAll('.shapelayer path')]
                       .filter(p => ((p.getAttribute('d') || '').match(/M/g) || []).length > 1).length;"""
    assert fig_eval(lpage, "ws-grid", drawn_paths) >= 4
    lpage.locator("#ws-grid .legend .traces").first.click()
    wait_fig(lpage, "ws-grid", "gd._fullLayout.shapes.filter(s => s.type === 'path')"
                               ".every(s => s.visible === 'legendonly')", timeout=30000)
    assert fig_eval(lpage, "ws-grid", drawn_paths) == 0
    _open(lpage, url, "?tab=safety")
    wait_fig(lpage, "ae-heatmap", "gd._fullData.length > 0 && gd._fullData[0].type === 'heatmap'", timeout=60000)
    rows = fig_eval(lpage, "ae-heatmap", "return gd._fullData[0].y.length;")
    with_events = ds.adverse_events["patient_id"].nunique()
    assert rows == with_events > HEATMAP_LABELLED_ROWS
    assert fig_eval(lpage, "ae-heatmap", "return gd._fullLayout.yaxis.showticklabels;") is False
    assert fig_eval(lpage, "ae-heatmap", "return gd._fullLayout.height;") <= 120 + 2400 + 1
    n_serious = int(ds.adverse_events["serious"].sum())
    assert n_serious > SERIOUS_LISTING_ROWS
    expect(lpage.locator("#ae-serious-list")).to_contain_text(
        f"The first {SERIOUS_LISTING_ROWS} of {n_serious} serious events")
    assert lpage.locator("#ae-serious-list tbody tr").count() == SERIOUS_LISTING_ROWS
