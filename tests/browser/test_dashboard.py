"""The dashboard in real headless Chromium against the real gunicorn server (see conftest.py).

Every expected count is computed here from the dataset files (dashboard.data +
dashboard.cohorts), the same files the server was started with; the literal
numbers of the shipped dataset (26 enrolled, 23 efficacy, 12 progressors, ...)
are asserted once, as a check on the data, in ``test_shipped_data_facts``.

Figures are read from the DOM: ``gd`` is the plotly div inside a dcc.Graph and
``gd._fullData`` / ``gd._fullLayout`` what Plotly drew (Plotly 6+ sends typed
arrays, so ``gd.data`` is not read).  The ``page`` fixture fails a test whose
browser console logged an error or a warning.

``UPDATE_SCREENSHOTS=1`` also copies the screenshots of the views to
tests/screenshots/ (used by README.md).
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from dashboard import stats
from dashboard.cohorts import CohortFilter, select
from dashboard.data import DEFAULT_DATA_DIR, WS_MEASURES, load_dataset
from dashboard.layout import TAB_LABELS
from dashboard.reproduce import reproduce
from dashboard.views import TAB_KEYS as TAB_VALUES
from tests.browser.helpers import TIMEOUT, fig_eval, fig_title, patient_ids, wait_fig, wait_title_n

from .conftest import REPO, shot, wait_ready

pytestmark = pytest.mark.browser

expect.set_options(timeout=TIMEOUT)
README_SCREENSHOTS = REPO / "tests" / "screenshots"


# ---------------------------------------------------------------- expectations from the data files


@pytest.fixture(scope="module")
def ds():
    # the server fixture starts gunicorn without TRIAL_DATA_DIR: the shipped dataset
    return load_dataset(DEFAULT_DATA_DIR)


def cohort(ds, **kw):
    return select(ds, CohortFilter(**kw))


def measured(ds, pids, measures) -> set[str]:
    """Patients among ``pids`` with at least one value of one of ``measures``."""
    m = ds.measurements
    return set(m.loc[m["measure"].isin(list(measures)) & m["patient_id"].isin(list(pids)), "patient_id"])


def with_events(ds, pids, serious_only=False) -> set[str]:
    ae = ds.adverse_events
    if serious_only:
        ae = ae[ae["serious"]]
    return set(ae.loc[ae["patient_id"].isin(list(pids)), "patient_id"])


def event_terms(ds, pids, serious_only=False) -> set[str]:
    ae = ds.adverse_events
    if serious_only:
        ae = ae[ae["serious"]]
    return set(ae.loc[ae["patient_id"].isin(list(pids)), "term"])


def slope_ns(ds, pids) -> list[str]:
    return [str(t.n) for t in stats.slope_tests(ds.measurements, "ALSFRS", pids)]


def count_text(ds, n: int) -> str:
    return f"{n} of {len(ds.patients)} patients"


def test_shipped_data_facts(ds):
    """The shipped dataset's headline numbers, checked once; the tests below compute theirs from the data."""
    assert len(ds.patients) == 26
    assert cohort(ds, population="efficacy").n == 23
    prog = cohort(ds, population="progressors")
    assert prog.n == 12
    assert set(slope_ns(ds, prog.patient_ids)) == {"11"}  # patient 1: no post-treatment ALSFRS
    assert len(measured(ds, cohort(ds, population="efficacy").patient_ids, ["ALSFRS"])) == 23
    assert len(with_events(ds, cohort(ds).patient_ids)) == 15
    assert "4" in cohort(ds, population="stable").patient_ids
    assert "7" in cohort(ds, population="progressors", sex=("F",)).patient_ids


# ---------------------------------------------------------------- page helpers


def open_app(page, server_url, query: str = ""):
    page.goto(f"{server_url}/{query}")
    wait_ready(page)


def tab(page, value: str):
    """The tab header with the label of ``value``."""
    return page.locator("#tabs .tab").filter(has_text=re.compile(rf"^\s*{re.escape(TAB_LABELS[value])}\s*$"))


def click_tab(page, value: str):
    tab(page, value).click()
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS[value])
    wait_ready(page)


def option(page, control_id: str, label: str):
    """A radio / checklist option (its <label>) by its exact text."""
    return page.locator(f"#{control_id} label").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def url_param(name: str, value: str):
    return re.compile(rf"[?&]{re.escape(name)}={re.escape(value)}(&|$)")


def snap(page, name: str):
    """A full-page screenshot in tests/artifacts/screenshots/; with UPDATE_SCREENSHOTS=1 the one of
    each view (named after its tab) is also copied to tests/screenshots/ for README.md."""
    page.mouse.move(0, 0)  # no hover label on the picture
    wait_ready(page)
    path = shot(page, name)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" and name in TAB_VALUES:
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / path.name)
    return path


# ---------------------------------------------------------------- per-view checks


def check_view(page, ds, view: str, sel, highlight: str | None = None):
    """The view on screen shows the selection ``sel`` (a cohorts.Cohort)."""
    pids, n = sel.patient_ids, sel.n
    if view == "overview":
        expect(page.locator("#overview-flow")).to_contain_text(f"Current selection: {n} patients.")
        expect(page.locator("#overview-characteristics")).to_contain_text(f"(n = {n})")
    elif view == "alsfrs":
        want = measured(ds, pids, ["ALSFRS"])
        wait_title_n(page, "alsfrs-spaghetti", len(want))
        assert patient_ids(page, "alsfrs-spaghetti") == want
        expect(page.locator("#simulated-notice")).to_contain_text("SIMULATED")
        if sel.filter.population == "compare":  # one row per window and group
            ns = slope_ns(ds, sel.ids_in_group("progressor")) + slope_ns(ds, sel.ids_in_group("stable"))
        else:
            ns = slope_ns(ds, pids)
        expect(page.locator("#alsfrs-slope-table-table tbody tr td:nth-child(3)")).to_have_text(ns)
        for gid in ("alsfrs-slope-pairs", "alsfrs-waterfall"):
            wait_fig(page, gid, "gd._fullData.length > 0")
    elif view == "fvc":
        want = measured(ds, pids, ["FVC"])
        wait_title_n(page, "fvc-spaghetti", len(want))
        assert patient_ids(page, "fvc-spaghetti") == want
        expect(page.locator("#fvc-share-table table").first).to_be_visible()
    elif view == "weakness":
        want = measured(ds, pids, WS_MEASURES)
        wait_title_n(page, "ws-grid", len(want))
        assert patient_ids(page, "ws-grid") == want
        wait_fig(page, "ws-mean", "gd._fullData.length === arg", len(WS_MEASURES))
        expect(page.locator("#ws-share-table table")).to_be_visible()
    elif view == "safety":
        wait_title_n(page, "ae-heatmap", n)
        assert patient_ids(page, "ae-heatmap") == with_events(ds, pids)
        expect(page.locator("#ae-hierarchy-table")).to_be_visible()
    elif view == "profile":
        if highlight is None:
            expect(page.locator("#profile-content")).to_contain_text("Pick a patient")
        else:
            expect(page.locator("#profile-content h3")).to_have_text(f"Patient {highlight}")
            wait_fig(page, "profile-figure", "(gd._fullLayout.title.text || '').startsWith(arg)",
                     f"Patient {highlight}")
            assert patient_ids(page, "profile-figure") == {highlight}
    elif view == "paper":
        expect(page.locator("#paper-table-table tbody tr")).to_have_count(len(reproduce(ds)))
    else:  # pragma: no cover
        raise AssertionError(view)


# ---------------------------------------------------------------- 1. the page loads


def test_page_loads_with_header_and_default_count(page, server_url, ds):
    open_app(page, server_url)
    info = page.locator("#dataset-info")
    expect(info).to_contain_text(ds.short_hash)
    expect(info).to_contain_text(f"data as of {ds.data_as_of}")
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, len(ds.patients)))
    expect(page.locator("#cohort-count")).to_have_text("26 of 26 patients")
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS["overview"])
    expect(page.locator("#url-notice")).to_have_text("")
    check_view(page, ds, "overview", cohort(ds))
    snap(page, "overview-default")


def test_the_page_runs_on_the_browsers_own_builtins(page, server_url):
    """Dash's @babel/polyfill put core-js 2 in the page, which took Chromium's parseInt, parseFloat and trim for
    broken (U+180E) and replaced them with its own, 10-50 times slower, under plotly.js's drawing.  The page now
    has the browser's own: read through a fresh frame's Function.prototype.toString, which core-js does not
    patch (it makes its replacements' toString say "[native code]").  Dash's bundles still find
    regeneratorRuntime, and the async components (the graphs, the sliders) load with a clean console."""
    open_app(page, server_url, "?tab=fvc")
    page.wait_for_selector("#fvc-spaghetti .main-svg")
    found = page.evaluate("""() => {
      const frame = document.createElement('iframe'); document.body.appendChild(frame);
      const source = frame.contentWindow.Function.prototype.toString;
      const builtins = {parseInt, parseFloat, Number, Promise, trim: String.prototype.trim,
                        'Number.parseFloat': Number.parseFloat, 'Array.from': Array.from};
      const out = {};
      for (const [name, f] of Object.entries(builtins)) out[name] = source.call(f).includes('[native code]');
      frame.remove();
      out.regeneratorRuntime = typeof regeneratorRuntime === 'object' && typeof regeneratorRuntime.mark === 'function';
      out.coreJs = '__core-js_shared__' in window;
      return out; }""")
    assert found == {"parseInt": True, "parseFloat": True, "Number": True, "Promise": True, "trim": True,
                     "Number.parseFloat": True, "Array.from": True, "regeneratorRuntime": True, "coreJs": False}


#: The figures of the views drawn over months or slopes, by the address that shows them
LINE_FIGURES = (("?tab=alsfrs", ["alsfrs-spaghetti", "alsfrs-slope-pairs", "alsfrs-waterfall"]),
                ("?tab=fvc", ["fvc-spaghetti"]), ("?tab=weakness", ["ws-grid", "ws-mean"]))


def test_left_margins_fit_the_axis_titles_so_plotly_draws_once(page, server_url):
    """A margin that plotly's automargin has to widen makes plotly.js draw the figure a second time: the slope
    pairs' and the waterfall's two-line y titles needed 92 px of a 64 px margin, which doubled their first
    drawing and every redraw of the waterfall.  Their margins now fit: plotly draws with the margin set."""
    margins = {}
    for query, gids in LINE_FIGURES:
        open_app(page, server_url, query)
        for gid in gids:
            wait_fig(page, gid, "gd._fullLayout._size && gd.querySelector('.ytitle')")
            margins[gid] = fig_eval(page, gid, "return [gd._fullLayout.margin.l, Math.round(gd._fullLayout._size.l),"
                                               " gd.querySelector('.ytitle').getBoundingClientRect().left"
                                               " - gd.getBoundingClientRect().left];")
    # plotly drew with the margin set (not widened), and the y title is inside the figure
    assert {gid: m[0] for gid, m in margins.items()} == {gid: m[1] for gid, m in margins.items()}, margins
    assert all(m[2] >= 0 for m in margins.values()), margins
    assert margins["alsfrs-waterfall"][0] > margins["alsfrs-spaghetti"][0]  # the two-line title's room


def test_tick_labels_are_never_measured_for_hiding_and_none_lies_outside_its_figure(page, server_url):
    """Every axis is drawn with ticklabeloverflow "allow" (figures.AXIS_DEFAULTS): plotly.js's default re-measured
    every label of an axis after placing each one, to hide those past the figure.  None is past it: every tick
    label drawn on the four views' figures (the heatmap's patient rows and event terms too) lies inside."""
    found = {}
    for query, gids in LINE_FIGURES + (("?tab=safety", ["ae-heatmap"]),):
        open_app(page, server_url, query)
        for gid in gids:
            wait_fig(page, gid, "gd._fullLayout._size && gd.querySelector('.xtick, .ytick')")
            found[gid] = fig_eval(page, gid, """
                const axes = Object.keys(gd._fullLayout).filter(k => /^[xy]axis\\d*$/.test(k));
                const box = gd.getBoundingClientRect();
                const labels = [...gd.querySelectorAll('.xtick text, .ytick text')]
                    .filter(t => t.style.display !== 'none' && t.textContent);
                const outside = labels.map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) =>
                    r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
                    || r.bottom > box.bottom + 0.5).map(([text]) => text);
                return {overflow: [...new Set(axes.map(k => gd._fullLayout[k].ticklabeloverflow))],
                        labels: labels.length, outside};""")
    assert {gid: f["overflow"] for gid, f in found.items()} == {gid: ["allow"] for gid in found}, found
    assert all(f["labels"] >= 4 for f in found.values()), found  # labels were drawn and read
    assert {gid: f["outside"] for gid, f in found.items()} == {gid: [] for gid in found}, found


# ---------------------------------------------------------------- 2. every view, by clicking and by URL


def test_each_view_by_clicking_its_tab(page, server_url, ds):
    sel = cohort(ds)
    open_app(page, server_url)
    for view in ("alsfrs", "fvc", "weakness", "safety", "profile", "paper", "overview"):
        click_tab(page, view)
        if view == "overview":
            expect(page).not_to_have_url(re.compile(r"[?&]tab="))
        else:
            expect(page).to_have_url(url_param("tab", view))
        check_view(page, ds, view, sel)
        expect(page.locator("#cohort-count")).to_have_text(count_text(ds, sel.n))


VIEW_URLS = {
    "overview": ("?cohort=compare", {"population": "compare"}, None),
    "fvc": ("?tab=fvc&cohort=efficacy", {"population": "efficacy"}, None),
    "weakness": ("?tab=weakness", {}, None),
    "safety": ("?tab=safety", {}, None),
    "profile": ("?tab=profile&patient=7", {}, "7"),
    "paper": ("?tab=paper", {}, None),
}


@pytest.mark.parametrize("view", list(VIEW_URLS))
def test_view_from_url(page, server_url, ds, view):
    query, filt, highlight = VIEW_URLS[view]
    sel = cohort(ds, **filt)
    open_app(page, server_url, query)
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS[view])
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, sel.n))
    if view == "overview":  # compare mode: one column per group and both
        for group in ("progressors", "stable"):
            n = cohort(ds, population=group).n
            expect(page.locator("#overview-characteristics thead")).to_contain_text(f"{group.capitalize()} (n = {n})")
    check_view(page, ds, view, sel, highlight)
    snap(page, view)


def test_alsfrs_compare_mode_with_fits_and_highlight(page, server_url, ds):
    """Compare mode: progressors and stable drawn as two groups; fitted slopes on; patient 7 highlighted."""
    open_app(page, server_url, "?cohort=compare&tab=alsfrs&patient=7")
    both = cohort(ds, population="compare")
    check_view(page, ds, "alsfrs", both)
    groups = patient_ids(page, "alsfrs-spaghetti", by_group=True)
    assert groups == {
        "progressor": measured(ds, cohort(ds, population="progressors").patient_ids, ["ALSFRS"]),
        "stable": measured(ds, cohort(ds, population="stable").patient_ids, ["ALSFRS"]),
    }
    expect(page.locator("#highlight")).to_contain_text("Patient 7")
    wait_fig(page, "alsfrs-spaghetti", "gd._fullData.some(t => t.name === 'Patient 7')")
    option(page, "alsfrs-show-fits", "Show each patient's fitted pre- and post-treatment slopes").click()
    # fitted segments: customdata "7 (pre slope -0.50/month)" strings, one trace per group
    wait_fig(page, "alsfrs-spaghetti",
             "gd._fullData.filter(t => t.customdata"
             " && t.customdata.some(c => typeof c === 'string' && / slope /.test(c))).length === 2")
    expect(page.locator("#alsfrs-slope-table-table tbody tr")).to_have_count(2 * len(stats.WINDOWS))
    snap(page, "alsfrs")


@pytest.mark.parametrize("population,literal", [("efficacy", 23), ("progressors", 12)])
def test_alsfrs_patients_by_population(page, server_url, ds, population, literal):
    open_app(page, server_url, f"?tab=alsfrs&cohort={population}")
    check_view(page, ds, "alsfrs", cohort(ds, population=population))
    assert len(patient_ids(page, "alsfrs-spaghetti")) == literal
    assert f"n = {literal}" in fig_title(page, "alsfrs-spaghetti")


def test_simulated_notice_on_alsfrs_not_on_fvc(page, server_url, ds):
    open_app(page, server_url, "?tab=alsfrs")
    expect(page.locator("#simulated-notice")).to_contain_text("SIMULATED")
    wait_fig(page, "alsfrs-spaghetti", "(gd._fullLayout.title.text || '').includes('SIMULATED')")
    click_tab(page, "fvc")
    wait_title_n(page, "fvc-spaghetti", len(measured(ds, cohort(ds).patient_ids, ["FVC"])))
    expect(page.locator("#simulated-notice")).to_be_hidden()
    expect(page.locator("#sim-notice-text")).to_have_text("")
    assert "SIMULATED" not in fig_title(page, "fvc-spaghetti")


# ---------------------------------------------------------------- 3. changing the population


def test_population_radio_updates_count_url_and_slope_table(page, server_url, ds):
    safety, prog = cohort(ds), cohort(ds, population="progressors")
    open_app(page, server_url, "?tab=alsfrs")
    n_cells = page.locator("#alsfrs-slope-table-table tbody tr td:nth-child(3)")
    expect(n_cells).to_have_text(slope_ns(ds, safety.patient_ids))
    option(page, "population", f"Progressors ({prog.n})").click()
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, prog.n))
    expect(page.locator("#cohort-count")).to_have_text("12 of 26 patients")
    expect(page).to_have_url(url_param("cohort", "progressors"))
    expect(page).to_have_url(url_param("tab", "alsfrs"))
    expect(n_cells).to_have_text(slope_ns(ds, prog.patient_ids))
    expect(n_cells).to_have_text(["11"] * len(stats.WINDOWS))
    wait_title_n(page, "alsfrs-spaghetti", prog.n)
    assert patient_ids(page, "alsfrs-spaghetti") == measured(ds, prog.patient_ids, ["ALSFRS"])


# ---------------------------------------------------------------- 4. the URL restores the view


def test_url_restores_filters_tab_and_highlight(page, server_url, ds):
    want = cohort(ds, population="progressors", sex=("F",))
    assert "7" in want.patient_ids
    open_app(page, server_url, "?cohort=progressors&sex=F&tab=alsfrs&patient=7")
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS["alsfrs"])
    expect(page.locator("#sex input[value='F']")).to_be_checked()
    expect(page.locator("#sex input[value='M']")).not_to_be_checked()
    expect(page.locator("#population input[value='progressors']")).to_be_checked()
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, want.n))
    expect(page.locator("#highlight")).to_contain_text("Patient 7")
    expect(page.locator("#url-notice")).to_have_text("")
    check_view(page, ds, "alsfrs", want)
    wait_fig(page, "alsfrs-spaghetti", "gd._fullData.some(t => t.name === 'Patient 7')")
    for name, value in (("cohort", "progressors"), ("sex", "F"), ("tab", "alsfrs"), ("patient", "7")):
        expect(page).to_have_url(url_param(name, value))


def test_url_with_unencoded_plus(page, server_url, ds):
    want = cohort(ds, onset=("spinal+bulbar",))
    open_app(page, server_url, "?onset=spinal+bulbar")
    expect(page.locator("#onset input[value='spinal+bulbar']")).to_be_checked()
    expect(page.locator("#onset input[value='spinal']")).not_to_be_checked()
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, want.n))
    expect(page.locator("#url-notice")).to_have_text("")
    check_view(page, ds, "overview", want)


def test_invalid_url_parameters_show_a_notice(page, server_url, ds):
    open_app(page, server_url, "?cohort=bogus&tab=nope")
    notice = page.locator("#url-notice")
    expect(notice).to_contain_text("cohort='bogus' ignored")
    expect(notice).to_contain_text("tab='nope' ignored")
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, len(ds.patients)))
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS["overview"])
    check_view(page, ds, "overview", cohort(ds))
    expect(page).not_to_have_url(re.compile("bogus|nope"))


# ---------------------------------------------------------------- 5. clicking a line highlights the patient

# On-screen positions of every drawn point of the figure, the per-patient ones
# labelled with their patient id; a point is "isolated" by its distance to the
# nearest point of another patient or of another kind (mean, fit).
_POINTS = """
gd.scrollIntoView({block: 'center'});
const fl = gd._fullLayout, r = gd.getBoundingClientRect();
const pts = [];
gd._fullData.forEach((t, ti) => {
  if (t.visible !== true || !t.x || !t.y) return;
  for (let i = 0; i < t.x.length; i++) {
    const x = t.x[i], y = t.y[i];
    if (x === null || y === null || x === undefined || y === undefined) continue;
    if (Number.isNaN(+x) || Number.isNaN(+y)) continue;
    const cd = t.customdata ? t.customdata[i] : null;
    const pid = cd && typeof cd === 'object' && typeof cd[0] === 'string' ? cd[0] : null;
    const num = cd && typeof cd === 'object' && typeof cd[0] === 'number';
    pts.push({px: r.left + fl._size.l + fl.xaxis.l2p(+x), py: r.top + fl._size.t + fl.yaxis.l2p(+y), pid, num, ti});
  }
});
const inside = p => p.px > r.left + fl._size.l + 2 && p.px < r.left + fl._size.l + fl._size.w - 2
                 && p.py > r.top + fl._size.t + 2 && p.py < r.top + fl._size.t + fl._size.h - 2;
function isolation(p, same) {
  let d = Infinity;
  for (const q of pts) { if (q === p || same(p, q)) continue; d = Math.min(d, Math.hypot(p.px - q.px, p.py - q.py)); }
  return d;
}
function best(cands, same) {
  let out = null;
  for (const p of cands.filter(inside)) { const d = isolation(p, same); if (!out || d > out.d) out = {...p, d}; }
  return out;
}
"""


def patient_point(page, gid: str) -> dict:
    """The most isolated per-patient point: {px, py, pid, d}."""
    return fig_eval(page, gid, _POINTS + "return best(pts.filter(p => p.pid !== null), (p, q) => q.pid === p.pid);")


def mean_point(page, gid: str) -> dict:
    """The mean ± SEM marker farthest from any per-patient point (customdata [n, sem])."""
    return fig_eval(page, gid, _POINTS + "return best(pts.filter(p => p.num), (p, q) => q.ti === p.ti);")


@pytest.mark.parametrize("view,gid", [("alsfrs", "alsfrs-spaghetti"), ("fvc", "fvc-spaghetti")])
def test_click_on_a_line_highlights_the_patient_and_opens_the_profile(page, server_url, ds, view, gid):
    open_app(page, server_url, f"?tab={view}")
    sel = cohort(ds)
    pids = sel.patient_ids
    check_view(page, ds, view, sel)
    expect(page.locator("#highlight")).not_to_contain_text("Patient")
    p = patient_point(page, gid)
    assert p and p["pid"] in pids
    assert p["d"] > 20, f"no point isolated enough to click unambiguously: {p}"
    page.mouse.move(p["px"], p["py"])
    page.mouse.click(p["px"], p["py"])
    pid = p["pid"]
    expect(page.locator("#highlight")).to_contain_text(f"Patient {pid}")
    expect(page).to_have_url(url_param("patient", pid))
    wait_fig(page, gid, "gd._fullData.some(t => t.name === arg)", f"Patient {pid}")
    wait_ready(page)
    page.locator("#open-profile").click()
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS["profile"])
    expect(page).to_have_url(url_param("tab", "profile"))
    check_view(page, ds, "profile", sel, highlight=pid)


def test_click_on_a_mean_marker_highlights_nobody(page, server_url, ds):
    """The mean ± SEM markers carry [n, sem]: a click on one must not highlight 'patient n'.

    Two patients far apart at one visit: their mean marker there sits well clear of both.
    """
    m = ds.measurements
    alsfrs = m[m["measure"] == "ALSFRS"].pivot_table(index="patient_id", columns="month", values="value")
    month = (alsfrs.max() - alsfrs.min()).idxmax()
    pair = (alsfrs[month].idxmax(), alsfrs[month].idxmin())
    sel = cohort(ds, patients=pair)
    assert sel.n == 2 and "2" in ds.patients["patient_id"].tolist()  # before the fix: 'Patient 2' highlighted
    open_app(page, server_url, f"?tab=alsfrs&patients={','.join(pair)}")
    check_view(page, ds, "alsfrs", sel)
    p = mean_point(page, "alsfrs-spaghetti")
    assert p and p["d"] > 30, f"no mean marker clear of patient points: {p}"
    page.mouse.move(p["px"], p["py"])
    with page.expect_response(lambda r: "_dash-update-component" in r.url and r.request.post_data is not None
                              and "clickData" in r.request.post_data) as resp:
        page.mouse.click(p["px"], p["py"])
    # the click did reach the server, on the mean marker: customdata [n = 2, sem]
    clicks = [i["value"] for i in resp.value.request.post_data_json["inputs"]
              if i["id"] == "alsfrs-spaghetti" and i["property"] == "clickData"]
    assert clicks and clicks[0]["points"][0]["customdata"][0] == 2, clicks
    wait_ready(page)
    expect(page.locator("#highlight")).not_to_contain_text("Patient")
    expect(page).not_to_have_url(re.compile(r"[?&]patient="))


# ---------------------------------------------------------------- 6. the safety heatmap


def test_safety_heatmap_rows_colours_and_serious_filter(page, server_url, ds):
    sel = cohort(ds)
    pids = sel.patient_ids
    open_app(page, server_url, "?tab=safety")
    check_view(page, ds, "safety", sel)
    assert len(patient_ids(page, "ae-heatmap")) == 15
    assert fig_eval(page, "ae-heatmap", "return gd._fullData[0].y.length;") == len(with_events(ds, pids))
    assert set(fig_eval(page, "ae-heatmap", "return [...gd._fullData[0].x];")) == event_terms(ds, pids)

    ticks_js = "return [...gd.querySelectorAll('.colorbar .cbaxis text')].map(e => e.textContent);"
    ticks_before = fig_eval(page, "ae-heatmap", ticks_js)
    assert ticks_before == fig_eval(page, "ae-heatmap", "return [...gd._fullData[0].colorbar.ticktext];")
    assert "serious" not in ticks_before
    option(page, "ae-colour-by", "Seriousness").click()
    wait_fig(page, "ae-heatmap", "[...gd._fullData[0].colorbar.ticktext].includes('serious')")
    wait_ready(page)
    ticks_after = fig_eval(page, "ae-heatmap", ticks_js)
    assert ticks_after != ticks_before
    assert ticks_after == fig_eval(page, "ae-heatmap", "return [...gd._fullData[0].colorbar.ticktext];")
    assert "serious" in ticks_after

    n_cols = len(event_terms(ds, pids))
    option(page, "ae-only", "Serious events").click()
    serious_cols = len(event_terms(ds, pids, serious_only=True))
    assert 0 < serious_cols < n_cols
    wait_fig(page, "ae-heatmap", "gd._fullData.length === 1 && gd._fullData[0].x.length === arg", serious_cols)
    assert patient_ids(page, "ae-heatmap") == with_events(ds, pids, serious_only=True)
    snap(page, "safety-serious-only")


# ---------------------------------------------------------------- 7. reset


def test_reset_filters(page, server_url, ds):
    narrowed = cohort(ds, population="progressors", sex=("F",), onset=("spinal",))
    open_app(page, server_url, "?cohort=progressors&sex=F&onset=spinal&tab=fvc&patient=7")
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, narrowed.n))
    assert narrowed.n < len(ds.patients)
    page.locator("#reset").click()
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, len(ds.patients)))
    expect(page.locator("#cohort-count")).to_have_text("26 of 26 patients")
    expect(page.locator("#population input[value='safety']")).to_be_checked()
    expect(page.locator("#sex input:checked")).to_have_count(0)
    expect(page.locator("#onset input:checked")).to_have_count(0)
    expect(page).not_to_have_url(re.compile(r"[?&](cohort|sex|onset|patient)="))
    expect(page.locator("#tabs .tab--selected")).to_have_text(TAB_LABELS["fvc"])
    check_view(page, ds, "fvc", cohort(ds))


# ---------------------------------------------------------------- 8. an empty selection


def test_empty_selection_says_so_in_every_view(page, server_url, ds):
    assert "4" in cohort(ds, population="stable").patient_ids
    assert cohort(ds, population="progressors", patients=("4",)).n == 0
    open_app(page, server_url, "?cohort=progressors&patients=4")
    expect(page.locator("#cohort-count")).to_have_text(count_text(ds, 0))
    expect(page.locator("#overview-characteristics")).to_contain_text("No patients match")
    expect(page.locator("#overview-flow")).to_contain_text("Current selection: 0 patients.")
    graphs = {"alsfrs": ["alsfrs-spaghetti", "alsfrs-slope-pairs", "alsfrs-waterfall"], "fvc": ["fvc-spaghetti"],
              "weakness": ["ws-grid", "ws-mean"], "safety": ["ae-heatmap"]}
    for view, gids in graphs.items():
        click_tab(page, view)
        for gid in gids:
            wait_fig(page, gid, "(gd._fullLayout.annotations || []).some(a => /No patients match/.test(a.text))")
            assert fig_eval(page, gid, "return gd._fullData.length;") == 0, f"{gid}: traces drawn for no patients"
        if view != "safety":
            expect(page.locator(".tab-content").get_by_text("No patients match").first).to_be_visible()
    click_tab(page, "alsfrs")
    expect(page.locator("#alsfrs-slope-table")).to_contain_text("No patients match")
    snap(page, "empty-selection")
