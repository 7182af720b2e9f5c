"""Nothing leaves the machine: no toolbar button sends a figure off it, in the dashboard or the report."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard import cohorts, reports
from dashboard.data import DEFAULT_DATA_DIR, load_dataset
from dashboard.formatting import NO_CLOUD_BUTTONS

from .conftest import ConsoleLog, wait_ready

pytestmark = pytest.mark.browser

#: what plotly.js would show for a cloud upload (button titles and the dialog)
CLOUD_WORDS = re.compile(r"share|cloud|chart studio|plotly\.com", re.I)

MODEBAR_JS = """(id) => {
  const c = document.getElementById(id);
  const gd = c.classList.contains('js-plotly-plot') ? c : c.querySelector('.js-plotly-plot');
  const titles = [...gd.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title') || '');
  const names = [...gd.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-attr') + ':' +
    (b.getAttribute('data-val') || ''));
  return {titles, names, send: gd._context.showSendToCloud, server: gd._context.plotlyServerURL,
          links: [...gd.querySelectorAll('a[href]')].map(a => a.href)};
}"""


def _check(bar: dict, where: str):
    assert bar["titles"], f"{where}: no toolbar drawn"
    assert any(t.lower() == "download plot as a png" for t in bar["titles"]), (where, bar["titles"])
    assert not [t for t in bar["titles"] if CLOUD_WORDS.search(t)], (where, bar["titles"])
    assert bar["send"] is False, (where, bar)
    # no upload address either (plotly.js defaults to https://cloud.plotly.com/newchart)
    assert bar["server"] == "", (where, bar["server"])
    assert not [u for u in bar["links"] if not u.startswith(("javascript:", "blob:", "data:"))], (where, bar)


def test_dashboard_toolbar_has_no_cloud_button(page, server_url):
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page)
    for gid in ("alsfrs-spaghetti", "alsfrs-waterfall"):
        page.locator(f"#{gid}").hover()
        page.wait_for_function(f"() => document.querySelectorAll('#{gid} .modebar-btn').length > 0")
        _check(page.evaluate(MODEBAR_JS, gid), gid)


def test_report_toolbar_has_no_cloud_button_and_a_policy_forbidding_the_network(browser, tmp_path):
    ds = load_dataset(DEFAULT_DATA_DIR)
    c = cohorts.select(ds, cohorts.CohortFilter(population="progressors"))
    path = tmp_path / "report.html"
    text = reports.html_report(ds, c)
    path.write_text(text, encoding="utf-8")
    assert "connect-src 'none'" in text and "default-src 'none'" in text
    for name in NO_CLOUD_BUTTONS:
        assert f'"{name}"' in text  # removed by name in every figure's config
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    ctx.set_offline(True)
    pg = ctx.new_page()
    log = ConsoleLog()
    log.attach(pg)
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(path.as_uri())
    expect(pg.locator(".js-plotly-plot").first).to_be_visible()
    ids = pg.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(g => g.id)")
    # 7, Between groups (not grouped here: it says why) and the adverse events' timelines (no event days: says why)
    assert len(ids) == 9
    for gid in ids[:2]:
        pg.locator(f"#{gid}").hover()
        pg.wait_for_function(f"() => document.querySelectorAll('#{gid} .modebar-btn').length > 0")
        _check(pg.evaluate(MODEBAR_JS, gid), f"report {gid}")
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
    assert log.errors == [], log.errors
    # the policy is in force: a request the page tries is refused by the browser, not only by the network
    pg.evaluate("() => { const i = new Image(); i.src = 'http://127.0.0.1:9/x.png'; document.body.append(i); }")
    pg.wait_for_timeout(300)
    ctx.close()
    assert any("Content Security Policy" in e for e in log.errors), log.errors
