"""Ready for the meeting room, in real headless Chromium against the real gunicorn server (see conftest.py).

Presentation mode shows the caption, a thin tab bar and the view's figures, and its main figure (the
view's first) fits the window, legend included, at 1280x720, 1600x1000 (where the spaghetti legend fell below
the window) and 1920x1080; what plotly drew is checked for labels that overprint (the text boxes as drawn,
rotated ones as rotated boxes: ``CLASHES``); tables side by side are never clipped; the mixed models' tables share
their columns; the toolbar's camera gives the same slide as the PNG button, and a slide of many patients does not
print their ids illegibly.

``UPDATE_SCREENSHOTS=1`` also copies the presentation-mode screenshots to tests/screenshots/present-*.png
(used by README.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from dashboard import figures
from dashboard.cohorts import CohortFilter, select
from dashboard.data import DEFAULT_DATA_DIR, MEASURES, load_dataset
from dashboard.layout import TAB_LABELS
from tests.browser.helpers import CLASHES, clashes

from .conftest import REPO, shot, wait_ready

pytestmark = pytest.mark.browser

TIMEOUT = 30_000  # generous: the machine may be shared with other test runs
expect.set_options(timeout=TIMEOUT)
README_SCREENSHOTS = REPO / "tests" / "screenshots"
#: each view's main figure (its first)
MAIN = {"alsfrs": "alsfrs-spaghetti", "fvc": "fvc-spaghetti", "weakness": "ws-grid", "groups": "groups-changes",
        "safety": "ae-heatmap", "profile": "profile-figure"}
#: views whose main figure has no legend here: the heatmap; Between groups, not grouped (it says why in words)
NO_LEGEND = ("safety", "groups")
SIZES = [(1280, 720), (1600, 1000), (1920, 1080)]
PATIENT = "7"  # highlighted: a legend entry more, and the profile's patient (two limbs with the same values)
#: the figures' font size on screen, and in presentation mode (figures.for_projector)
SCREEN_FONT, PROJECTOR_FONT = 13, 20


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DEFAULT_DATA_DIR)


# ---------------------------------------------------------------- what plotly drew

_GD = ("const c = document.getElementById(gid); "
       "const gd = c && (c.classList.contains('js-plotly-plot') ? c : c.querySelector('.js-plotly-plot'));")

#: Where the figure ``gid`` and its parts are on screen (null until it is drawn).
PLACE = """
(gid) => {
  const c = document.getElementById(gid); const gd = c && c.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullData || !gd.querySelector('.main-svg')) return null;
  const r = e => { if (!e) return null; const b = e.getBoundingClientRect();
                   return b.width && b.height ? {l: b.left, t: b.top, r: b.right, b: b.bottom} : null; };
  const busy = !!document.querySelector('[data-dash-is-loading="true"]');
  return {font: gd._fullLayout.font.size, vw: innerWidth, vh: innerHeight, busy, fig: r(gd),
          legend: r(gd.querySelector('.legend')), colorbar: r(gd.querySelector('.colorbar')),
          height: gd._fullLayout.height};
}
"""


def fig_eval(page, gid: str, body: str, arg=None):
    return page.evaluate(f"([gid, arg]) => {{ {_GD} {body} }}", [gid, arg])


def inside(state: dict) -> list[str]:
    """The parts of a figure not wholly inside the window (empty: it fits)."""
    out = []
    for part in ("fig", "legend", "colorbar"):
        b = state.get(part)
        if b and (b["l"] < -0.5 or b["t"] < -0.5 or b["r"] > state["vw"] + 0.5 or b["b"] > state["vh"] + 0.5):
            out.append(f"{part} {b} outside the {state['vw']}x{state['vh']} window")
    fig = state["fig"]
    for part in ("legend", "colorbar"):
        b = state.get(part)
        if b and fig and (b["t"] < fig["t"] - 0.5 or b["b"] > fig["b"] + 0.5):
            out.append(f"{part} {b} outside its figure {fig}")
    return out


def wait_fits(page, gid: str, font: int) -> dict:
    """Wait until figure ``gid`` is drawn at ``font`` and wholly inside the window (with legend and colour bar);
    on a timeout, fail saying where it is."""
    cond = (f"(gid) => {{ const s = ({PLACE})(gid); if (!s || s.busy || s.font !== {font}) return false;"
            " const ok = b => !b || (b.l >= -0.5 && b.t >= -0.5 && b.r <= s.vw + 0.5 && b.b <= s.vh + 0.5);"
            " return ok(s.fig) && ok(s.legend) && ok(s.colorbar); }")
    try:
        page.wait_for_function(cond, arg=gid, timeout=TIMEOUT)
    except PlaywrightTimeout:
        state = page.evaluate(PLACE, gid)
        pytest.fail(f"{gid} does not fit the window: {state and inside(state)} ({state})")
    page.wait_for_timeout(300)  # a fit asked for just now is drawn
    state = page.evaluate(PLACE, gid)
    assert not inside(state), inside(state)
    return state


def visible(page, selector: str) -> bool:
    return page.evaluate("(s) => [...document.querySelectorAll(s)].some(e => e.getClientRects().length > 0"
                         " && getComputedStyle(e).visibility !== 'hidden')", selector)


def selected_tab(page):
    return page.locator("#tabs .tab--selected")


def snap(page, name: str):
    """A screenshot of the window in tests/artifacts/screenshots/; with UPDATE_SCREENSHOTS=1 also in
    tests/screenshots/ for README.md."""
    page.mouse.move(0, 0)
    path = shot(page, name)
    page.screenshot(path=str(path))  # the window, as the room sees it (shot() takes the full page)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / path.name)


def heatmap_rows(page, gid: str = "ae-heatmap") -> tuple[list[str], list[str]]:
    """(the heatmap's rows, the row labels drawn)."""
    return tuple(fig_eval(page, gid, "return [[...gd._fullData[0].y], [...gd.querySelectorAll("
                                     "'.yaxislayer-above .ytick text')].map(e => e.textContent)];"))


# ---------------------------------------------------------------- 1. presentation mode


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_presentation_mode_shows_the_views_figures_and_fits_each_main_figure(new_page, server_url, ds, size):
    width, height = size
    page = new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.goto(f"{server_url}/?present=1&patient={PATIENT}")
    wait_ready(page, timeout=TIMEOUT)
    expect(page.locator("#app-root")).to_have_class(re.compile(r"\bpresent\b"))
    # only the caption, the tabs (a thin bar) and the view: no panel, title, dataset line, downloads, picker
    for hidden in ("#filter-panel", ".app-header h1", "#dataset-info", "#highlight-bar", ".toolbar button",
                   ".app-footer"):
        assert not visible(page, hidden), f"{hidden} shown in presentation mode"
    for shown in ("#present-caption", "#tabs", "#present input[type=checkbox]"):
        assert visible(page, shown), f"{shown} not shown in presentation mode"
    tabs_height = page.evaluate("() => document.getElementById('tabs').getBoundingClientRect().height")
    assert tabs_height <= 44, f"the tab bar is {tabs_height}px high"

    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for view, gid in MAIN.items():
        page.keyboard.press("ArrowRight")  # the presenter steps through the views
        expect(selected_tab(page)).to_have_text(TAB_LABELS[view])
        wait_fits(page, gid, PROJECTOR_FONT)
        wait_ready(page, timeout=TIMEOUT)
        state = wait_fits(page, gid, PROJECTOR_FONT)
        where = f"{view} at {width}x{height}"
        for hidden in (".view-controls", ".figure-exports"):
            assert not visible(page, hidden), f"{hidden} shown in presentation mode ({where})"
        # the main figure comes first in the view
        first = page.evaluate("""(gid) => {
            const body = document.querySelector('.tab-content > .tab-body');
            const tops = [...body.children].filter(e => e.getClientRects().length)
              .map(e => [e.querySelector('#' + gid) ? gid : e.className, e.getBoundingClientRect().top]);
            tops.sort((a, b) => a[1] - b[1]);
            return tops[0][0]; }""", gid)
        assert first == gid, f"{first} above the main figure ({where})"
        if view not in NO_LEGEND:
            assert state["legend"], f"no legend drawn ({where})"
        for g in page.evaluate("() => [...document.querySelectorAll('.tab-content .js-plotly-plot')]"
                               ".map(g => g.parentElement.id)"):
            assert clashes(page, g) == [], f"{g} ({where}): labels overprint"
        if view == "safety":
            rows, labels = heatmap_rows(page)
            assert len(rows) == 15 and sorted(labels) == sorted(rows), (rows, labels)
        if view == "profile":
            ranges = fig_eval(page, gid, "return Object.keys(gd._fullLayout).filter(k => /^yaxis\\d*$/.test(k))"
                                         ".sort().map(k => gd._fullLayout[k].range);")
            assert ranges[0][0] < MEASURES["ALSFRS"].low and ranges[0][1] > MEASURES["ALSFRS"].high, ranges
            colours = fig_eval(page, gid, "return gd._fullData.map(t => t.line.color);")
            assert len(set(colours)) == len(colours) == 6, colours
        if view in ("alsfrs", "safety"):
            snap(page, f"present-{view}-{width}x{height}")


def test_heatmap_of_few_rows_labels_each_row_and_says_what_it_shows(page, server_url, ds):
    """The serious-only heatmap (6 patients): every row labelled, the severity labels apart, the title and
    the notes saying "serious events only", no blank band above; in presentation mode too.  And a heatmap of
    three patients on screen."""
    sel = select(ds, CohortFilter())
    ae = ds.adverse_events
    serious = set(ae.loc[ae["serious"] & ae["patient_id"].isin(list(sel.patient_ids)), "patient_id"])
    page.goto(f"{server_url}/?tab=safety&only=serious")
    wait_ready(page, timeout=TIMEOUT)
    for font in (SCREEN_FONT, PROJECTOR_FONT):
        page.wait_for_function(f"(gid) => {{ const s = ({PLACE})(gid); return s && !s.busy && s.font === {font}; }}",
                               arg="ae-heatmap", timeout=TIMEOUT)
        wait_ready(page, timeout=TIMEOUT)
        page.wait_for_timeout(300)
        rows, labels = heatmap_rows(page)
        assert sorted(rows) == sorted(f"Patient {p}" for p in serious)
        assert sorted(labels) == sorted(rows), f"rows {rows}, labelled {labels}"
        assert clashes(page, "ae-heatmap") == []
        title = fig_eval(page, "ae-heatmap", "return gd._fullLayout.title.text;")
        assert "serious events only" in title, title
        notes = fig_eval(page, "ae-heatmap", "return [...gd.querySelectorAll('.annotation')].map(e => e.textContent);")
        n_without = sel.n - len(serious)
        assert any(f"{n_without} selected patients without a serious event" in n for n in notes), notes
        # no blank band: the title at the top of the figure, the term labels right under it
        band = fig_eval(page, "ae-heatmap", """
            const top = gd.getBoundingClientRect().top, t = gd.querySelector('.gtitle').getBoundingClientRect();
            const labels = [...gd.querySelectorAll('.xaxislayer-above text')].map(e => e.getBoundingClientRect().top);
            return [t.top - top, Math.min(...labels) - t.bottom];""")
        assert band[0] < 24 and band[1] < 24, f"blank band above the heatmap: {band}"
        if font == SCREEN_FONT:
            page.locator("#present input[type=checkbox]").click()
    # three patients: the colour bar's five labels overprinted each other, and the title a term, on screen too
    few = ["2", "7", "12"]
    page.goto(f"{server_url}/?tab=safety&patients={','.join(few)}")
    wait_ready(page, timeout=TIMEOUT)
    page.wait_for_function(f"(gid) => {{ const s = ({PLACE})(gid); return s && !s.busy && s.font === {SCREEN_FONT}"
                           " && s.colorbar; }", arg="ae-heatmap", timeout=TIMEOUT)
    wait_ready(page, timeout=TIMEOUT)
    rows, labels = heatmap_rows(page)
    assert sorted(rows) == sorted(labels) == sorted(f"Patient {p}" for p in few)
    assert clashes(page, "ae-heatmap") == []


# ---------------------------------------------------------------- 2. figures and tables in the dashboard


def test_no_label_overprints_another_in_the_dashboards_figures(page, server_url):
    """Every figure of the figure views, on screen (the waterfall's axis title ran into its title)."""
    page.goto(f"{server_url}/?tab=alsfrs&patient={PATIENT}")
    wait_ready(page, timeout=TIMEOUT)
    for view in ("alsfrs", "weakness", "profile", "safety"):
        if view != "alsfrs":
            page.locator("#tabs .tab").filter(has_text=re.compile(rf"^\s*{TAB_LABELS[view]}\s*$")).click()
            expect(selected_tab(page)).to_have_text(TAB_LABELS[view])
        page.wait_for_function("() => { const g = [...document.querySelectorAll('.tab-content .js-plotly-plot')];"
                               " return g.length && g.every(x => x._fullLayout && x.querySelector('.main-svg')); }",
                               timeout=TIMEOUT)
        wait_ready(page, timeout=TIMEOUT)
        page.wait_for_timeout(300)
        for g in page.evaluate("() => [...document.querySelectorAll('.tab-content .js-plotly-plot')]"
                               ".map(g => g.parentElement.id)"):
            assert clashes(page, g) == [], f"{g}: labels overprint"


def test_tables_side_by_side_are_never_clipped(page, server_url):
    """The safety view's incidence table and serious-event listing wrap or scroll within their column at 1280,
    1600 and 1920 pixels (the listing was cut off on the right at 1600)."""
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{server_url}/?tab=safety")
    wait_ready(page, timeout=TIMEOUT)
    expect(page.locator("#ae-serious-list table")).to_be_visible()
    for width, height in ((1600, 1000), (1280, 720), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
        cut = page.evaluate("""() => {
            const out = [];
            const frame = document.querySelector('.tab-content').getBoundingClientRect();
            for (const t of document.querySelectorAll('.two-col table')) {
              const s = t.closest('.section'), sr = s.getBoundingClientRect(), tr = t.getBoundingClientRect();
              const cs = getComputedStyle(s);
              const right = sr.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
              const id = s.querySelector('[id]') ? s.querySelector('[id]').id : s.className;
              if (tr.right > right + 1) out.push(`${id}: table ends at ${tr.right}, its column at ${right}`);
              if (sr.right > frame.right + 1) out.push(`${id}: column ends at ${sr.right}, the view at ${frame.right}`);
              if (s.scrollWidth > s.clientWidth + 1) out.push(`${id}: ${s.scrollWidth - s.clientWidth}px hidden`);
            }
            return out; }""")
        assert cut == [], f"at {width}x{height}: {cut}"


#: The mixed-model tables (one per window) on the page: each one's column widths, the cells that wrap (except
#: the group's name and the note, text that may take lines), and the cells, headers too, whose text is wider
#: than their column (a heading's word ran into the next column's)
MIXED_TABLES = """(selector) => [...document.querySelectorAll(selector)].map(t => {
  const widths = [...t.querySelectorAll('thead th')].map(e => Math.round(e.getBoundingClientRect().width));
  const wrapped = [...t.querySelectorAll('tbody tr')].flatMap(tr => [...tr.children].slice(1, -1)).filter(td => {
    const r = document.createRange(); r.selectNodeContents(td);
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; }).map(td => td.textContent);
  const over = [...t.querySelectorAll('th, td')].filter(td => td.scrollWidth > td.clientWidth + 1)
    .map(td => td.textContent);
  return {widths, wrapped, over}; })"""


def _mixed_tables_align(tables: list[dict], n: int, where: str):
    assert len(tables) == n, f"{where}: {len(tables)} mixed-model tables, {n} expected"
    widths = [t["widths"] for t in tables]
    for w in widths[1:]:
        assert max(abs(a - b) for a, b in zip(w, widths[0], strict=True)) <= 1, f"{where}: column widths {widths}"
    assert not [t["wrapped"] for t in tables if t["wrapped"]], f"{where}: wrapped cells {tables}"
    assert not [t["over"] for t in tables if t["over"]], f"{where}: cells wider than their column {tables}"


def test_mixed_model_tables_share_their_columns_and_keep_numbers_on_one_line(page, new_page, server_url, ds,
                                                                             tmp_path):
    """The four windows' tables had different column widths and wrapped "< 0.001" (issue 15), in the
    dashboard and the report."""
    from dashboard import reports

    page.goto(f"{server_url}/?tab=alsfrs&cohort=compare")
    wait_ready(page, timeout=TIMEOUT)
    page.wait_for_function("() => [3, 6, 9, 12].every(w => document.querySelector(`#alsfrs-mixed-${w} table`))",
                           timeout=TIMEOUT)
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        _mixed_tables_align(page.evaluate(MIXED_TABLES, ".mixed-grid table"), 4, f"dashboard at {width}")
    # the report: the same tables (it fits every window), opened from a file
    path = tmp_path / "report.html"
    path.write_text(reports.html_report(ds, select(ds, CohortFilter(population="compare"))), encoding="utf-8")
    report = new_page(viewport={"width": 1280, "height": 900})
    report.goto(path.as_uri())
    _mixed_tables_align(report.evaluate(MIXED_TABLES, "table.mixed-table"), 4, "report")


# ---------------------------------------------------------------- 3. slides


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


def test_camera_gives_the_slide_and_a_slide_never_prints_many_patients_illegibly(page, server_url, tmp_path):
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page, timeout=TIMEOUT)
    gid = "alsfrs-waterfall"
    page.wait_for_function(f"([gid]) => {{ {_GD} return gd && gd._fullLayout && gd.querySelector('.main-svg'); }}",
                           arg=[gid], timeout=TIMEOUT)

    def download(click) -> bytes:
        with page.expect_download(timeout=TIMEOUT) as info:
            click()
        d = info.value
        assert d.failure() is None, d.failure()
        assert d.suggested_filename == f"{gid}.png"
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.png"
        d.save_as(path)
        return path.read_bytes()

    png_button = download(lambda: page.locator(f'button[data-export-figure="{gid}"][data-export-format="png"]')
                          .click())

    def camera():
        page.locator(f"#{gid}").hover()
        page.locator(f'#{gid} .modebar-btn[data-title^="Download plot"]').click()

    from_camera = download(camera)
    assert png_size(from_camera) == png_size(png_button) == (1600, 900)
    assert from_camera == png_button, "the camera's image differs from the PNG button's (screen-sized fonts?)"

    # a waterfall of many patients on a slide: the ids legible (large, apart) or not printed at all
    rng = np.random.default_rng(2)
    for n in (30, 70):
        ids = [str(i) for i in range(1, n + 1)]
        slopes = pd.DataFrame({"pre_slope": rng.normal(-1, 0.3, n), "post_slope_3": rng.normal(-0.5, 0.3, n)},
                              index=pd.Index(ids, name="patient_id"))
        fig = json.loads(figures.waterfall(slopes, 3, {p: "all" for p in ids}).to_json())
        ticks = page.evaluate(f"""async (fig) => {{
            const src = document.createElement('div'); src.style.width = '700px';
            document.body.appendChild(src);
            await Plotly.newPlot(src, fig.data, fig.layout);
            const gd = await window.dashboardExport.render(src);
            const labels = [...gd.querySelectorAll('.xaxislayer-above .xtick text')];
            const out = {{n: labels.length, sizes: labels.map(e => parseFloat(getComputedStyle(e).fontSize)),
                         title: gd._fullLayout.xaxis.title.text, clashes: ({CLASHES})(gd),
                         width: gd._fullLayout.width, height: gd._fullLayout.height}};
            Plotly.purge(gd); gd.remove(); Plotly.purge(src); src.remove();
            return out; }}""", fig)
        assert (ticks["width"], ticks["height"]) == (1600, 900)
        assert ticks["clashes"] == [], ticks["clashes"]
        if ticks["n"]:
            assert ticks["n"] == n and min(ticks["sizes"]) >= 16, f"{n} patients: {ticks}"
        else:
            assert f"{n}, too many to label" in ticks["title"], ticks["title"]
    assert n > 40 and not ticks["n"]  # 70 patients: not labelled
