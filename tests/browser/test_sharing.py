"""Presenting and sharing, in real headless Chromium against the real gunicorn server (see conftest.py).

What a user takes away from the dashboard: the CSV exports and the HTML report
(downloaded through the buttons, then read back and checked against
``dashboard.stats`` called directly), the report opened with the network off,
presentation mode (by link and by the checkbox, with the arrow keys), the
per-figure slide images, and accessibility: axe-core on every view and a
keyboard walk through the page.

axe-core is the npm package pinned in tests/package.json / package-lock.json
(``npm ci --prefix tests``, run by tests/run.sh), injected from
tests/node_modules: never fetched from a CDN.  The page's Content-Security-Policy
only allows scripts from 'self' and Dash's hashes, so the axe test alone uses a
browser context with ``bypass_csp=True``.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import math
import re
import struct
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard import stats, views
from dashboard.cohorts import CohortFilter, select
from dashboard.data import DEFAULT_DATA_DIR, load_dataset
from dashboard.formatting import SLOPE_HEADER
from dashboard.layout import TAB_LABELS as ALL_TAB_LABELS

from .conftest import REPO, wait_ready

pytestmark = pytest.mark.browser

TIMEOUT = 15_000
expect.set_options(timeout=TIMEOUT)
AXE_JS = REPO / "tests" / "node_modules" / "axe-core" / "axe.min.js"
#: the figures of the HTML report: ALSFRS spaghetti, slope pairs, waterfall, FVC, weakness grid and mean, AE heatmap
REPORT_FIGURES = 9
#: the tabs of the shipped trial, in order (Survival is not offered: it records no dates of death)
TAB_LABELS = {k: label for k, label in ALL_TAB_LABELS.items()
              if views.BY_KEY[k].available(load_dataset(DEFAULT_DATA_DIR)) is None}


# ---------------------------------------------------------------- expectations from the data files


@pytest.fixture(scope="module")
def ds():
    # the server fixture starts gunicorn without TRIAL_DATA_DIR: the shipped dataset
    return load_dataset(DEFAULT_DATA_DIR)


def cohort(ds, **kw):
    return select(ds, CohortFilter(**kw))


def simulated_in(ds, pids) -> bool:
    m = ds.measurements
    return bool(m.loc[m["patient_id"].isin(list(pids)), "simulated"].any())


# ---------------------------------------------------------------- page helpers


def open_app(page, server_url, query: str = ""):
    page.goto(f"{server_url}/{query}")
    wait_ready(page)


def tab(page, value: str):
    return page.locator("#tabs .tab").filter(has_text=re.compile(rf"^\s*{re.escape(TAB_LABELS[value])}\s*$"))


def selected_tab(page):
    return page.locator("#tabs .tab--selected")


def option(page, control_id: str, label: str):
    return page.locator(f"#{control_id} label").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def present_checkbox(page):
    return page.locator("#present input[type=checkbox]")


def url_param(name: str, value: str):
    return re.compile(rf"[?&]{re.escape(name)}={re.escape(value)}(&|$)")


_GD = ("const c = document.getElementById(gid); "
       "const gd = c && (c.classList.contains('js-plotly-plot') ? c : c.querySelector('.js-plotly-plot'));")


def wait_fig(page, gid: str, cond: str = "true", arg=None, timeout: int = TIMEOUT):
    """Wait until graph ``gid`` is drawn and the JS expression ``cond`` (with ``gd``, ``arg``) holds."""
    page.wait_for_function(
        f"([gid, arg]) => {{ {_GD} if (!gd || !gd._fullLayout || !gd._fullData"
        " || !gd.querySelector('.main-svg')) return false;"
        f" return !!({cond}); }}",
        arg=[gid, arg], timeout=timeout,
    )


def font_size(page, gid: str) -> float:
    return page.evaluate(f"(gid) => {{ {_GD} return gd._fullLayout.font.size; }}", gid)


def today_range() -> set[str]:
    """Today's date (and yesterday's, should the test run across midnight) as the server writes it."""
    now = dt.date.today()
    return {now.isoformat(), (now - dt.timedelta(days=1)).isoformat()}


def download(page, button_id: str, tmp_path: Path):
    """Click a toolbar button; the file the browser downloaded: (suggested name, saved path)."""
    with page.expect_download(timeout=TIMEOUT) as info:
        page.locator(f"#{button_id}").click()
    d = info.value
    assert d.failure() is None, d.failure()
    path = tmp_path / d.suggested_filename
    d.save_as(path)
    return d.suggested_filename, path


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return reader.fieldnames, rows


def close(text: str, want, tol=1e-6) -> bool:
    """A CSV cell equals a number (an empty cell: not computable, None)."""
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return text == ""
    return text != "" and math.isclose(float(text), float(want), rel_tol=tol, abs_tol=tol)


# ---------------------------------------------------------------- 1. CSV downloads through the UI


def test_csv_downloads_are_the_selection(page, server_url, ds, tmp_path):
    """Progressors chosen in the UI: Data, Slope tests and Incidence CSV hold exactly that selection."""
    prog = cohort(ds, population="progressors")
    pids = set(prog.patient_ids)
    assert prog.n == 12
    open_app(page, server_url, "?tab=alsfrs")
    option(page, "population", f"Progressors ({prog.n})").click()
    expect(page.locator("#cohort-count")).to_have_text(f"{prog.n} of {len(ds.patients)} patients")
    expect(page).to_have_url(url_param("cohort", "progressors"))
    wait_ready(page)

    # -- the selection's measurements, long format
    name, path = download(page, "download-data", tmp_path)
    assert simulated_in(ds, pids)  # ALSFRS before and after day 0 is simulated in the shipped data
    m = re.fullmatch(r"als-trial_alsfrs_data_(\d{4}-\d{2}-\d{2})_includes-simulated\.csv", name)
    assert m and m.group(1) in today_range(), name
    header, rows = read_csv(path)
    assert header[:11] == ["patient_id", "visit", "month", "measure", "value", "source", "simulated",
                           "age", "sex", "onset", "disease_duration_months"], header
    meas = ds.measurements[ds.measurements["patient_id"].isin(list(pids))]
    assert {r["patient_id"] for r in rows} == pids == set(meas["patient_id"])
    assert len(rows) == len(meas)
    sim_rows = [r for r in rows if r["source"] == "simulated"]
    assert sim_rows and all(r["simulated"] == "true" for r in sim_rows)
    assert all(r["simulated"] == "false" for r in rows if r["source"] != "simulated")
    assert len(sim_rows) == int(meas["simulated"].sum())
    ages = ds.patients.set_index("patient_id")["age"]
    assert all(close(r["age"], ages[r["patient_id"]]) for r in rows)

    # -- the slope tests of the selection
    name, path = download(page, "download-slopes", tmp_path)
    m = re.fullmatch(r"als-trial_alsfrs_slope-tests_(\d{4}-\d{2}-\d{2})_includes-simulated\.csv", name)
    assert m and m.group(1) in today_range(), name
    header, rows = read_csv(path)
    assert header[:4] == ["group", "measure", "window_months", "n"], header
    assert {"mean_difference", "ci95_low", "ci95_high", "p_ttest", "p_wilcoxon"} <= set(header)
    want = stats.slope_tests(ds.measurements, "ALSFRS", prog.patient_ids)
    assert [int(float(r["window_months"])) for r in rows] == list(stats.WINDOWS)
    for r, t in zip(rows, want):
        assert r["measure"] == "ALSFRS"
        assert int(r["n"]) == t.n
        assert close(r["p_ttest"], t.p_ttest), (r, t)
        assert close(r["p_wilcoxon"], t.p_wilcoxon), (r, t)
        assert close(r["mean_difference"], t.mean_difference), (r, t)
        assert close(r["ci95_low"], t.ci95_low) and close(r["ci95_high"], t.ci95_high), (r, t)
        assert r["rests_on_simulated_values"] == "true"
    assert {r["n"] for r in rows} == {"11"}  # patient 1 has no post-treatment ALSFRS

    # -- adverse-event incidence of the selection
    name, path = download(page, "download-incidence", tmp_path)
    m = re.fullmatch(r"als-trial_alsfrs_incidence_(\d{4}-\d{2}-\d{2})\.csv", name)
    assert m and m.group(1) in today_range(), name
    header, rows = read_csv(path)
    assert header == ["term", "patients", "events", "percent", "cohort_n"]
    inc = stats.ae_incidence(ds.adverse_events, prog.patient_ids).set_index("term")
    assert [r["term"] for r in rows] == list(inc.index)
    for r in rows:
        assert int(r["patients"]) == inc.loc[r["term"], "patients"]
        assert int(r["events"]) == inc.loc[r["term"], "events"]
        assert close(r["percent"], inc.loc[r["term"], "percent"], 1e-3)
        assert int(r["cohort_n"]) == prog.n

    # -- every adverse event of the selection
    name, path = download(page, "download-events", tmp_path)
    assert re.fullmatch(r"als-trial_alsfrs_adverse-events_(\d{4}-\d{2}-\d{2})\.csv", name), name
    header, rows = read_csv(path)
    assert header[:4] == ["patient_id", "progression_group", "group", "term"]
    mine = ds.adverse_events[ds.adverse_events["patient_id"].isin(prog.patient_ids)]
    assert len(rows) == len(mine) and {r["progression_group"] for r in rows} == {"progressor"}


# ---------------------------------------------------------------- 2. the HTML report, opened with the network off


def test_html_report_opens_offline(page, new_page, server_url, ds, tmp_path):
    prog = cohort(ds, population="progressors")
    open_app(page, server_url, "?cohort=progressors&tab=fvc")
    expect(page.locator("#cohort-count")).to_have_text(f"{prog.n} of {len(ds.patients)} patients")
    name, path = download(page, "download-report", tmp_path)
    m = re.fullmatch(r"als-trial_fvc_report_(\d{4}-\d{2}-\d{2})\.html", name)
    assert m and m.group(1) in today_range(), name

    offline = new_page(offline=True)
    ctx = offline.context
    ctx.set_offline(True)
    attempts: list[str] = []
    requests: list[str] = []

    def block(route):
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        else:
            attempts.append(url)
            route.abort()

    ctx.route("**/*", block)
    offline.on("request", lambda r: requests.append(r.url))
    offline.goto(path.as_uri())
    offline.wait_for_function(
        "(n) => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(g => g.querySelector('.main-svg')).length === n",
        arg=REPORT_FIGURES, timeout=TIMEOUT)
    expect(offline.locator(".js-plotly-plot")).to_have_count(REPORT_FIGURES)
    # every figure drew its data (not only the empty frame), but for Between groups, which says in words why
    # it has none (the selection is not grouped), and the timelines (the shipped data has no event days)
    traces = offline.evaluate("() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')]"
                              ".map(g => [g.id, (g._fullData || []).length]))")
    assert traces.pop("fig-groups-changes") == 0 and traces.pop("fig-ae-swimmer") == 0, traces
    assert all(n > 0 for n in traces.values()), traces
    expect(offline.locator("#fig-groups-changes")).to_contain_text("Choose a grouping under 'Group by'")

    body = offline.locator("body")
    expect(offline.locator(".sim")).to_contain_text("SIMULATED DATA IN THIS REPORT")
    expect(body).to_contain_text(prog.filter.describe())
    expect(body).to_contain_text(prog.count_text())
    expect(offline.locator("p.meta code")).to_have_text(ds.short_hash)
    generated = offline.locator("p.meta").filter(has_text="Report generated")
    expect(generated).to_contain_text(re.compile(r"Report generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC"))
    slope_table = offline.locator("table").filter(has=offline.locator("caption", has_text=re.compile(r"^Slope tests$")))
    expect(slope_table).to_have_count(1)
    want = stats.slope_tests(ds.measurements, "ALSFRS", prog.patient_ids)
    expect(slope_table.locator("tbody tr")).to_have_count(len(want))
    expect(slope_table.locator("thead th")).to_have_text(SLOPE_HEADER)
    expect(slope_table.locator("tbody tr td:nth-child(3)")).to_have_text([str(t.n) for t in want])

    assert attempts == [], f"the report tried the network: {attempts}"
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests


# ---------------------------------------------------------------- 3. presentation mode


def test_presentation_mode_from_the_link(page, server_url, ds):
    stable = cohort(ds, population="stable")
    open_app(page, server_url, "?cohort=stable&tab=fvc")
    wait_fig(page, "fvc-spaghetti")
    normal = font_size(page, "fvc-spaghetti")
    expect(page.locator("#filter-panel")).to_be_visible()
    expect(page.locator("#present-caption")).to_be_hidden()

    open_app(page, server_url, "?cohort=stable&tab=fvc&present=1")
    expect(present_checkbox(page)).to_be_checked()
    expect(page.locator("#app-root")).to_have_class(re.compile(r"\bpresent\b"))
    expect(page.locator("#filter-panel")).to_be_hidden()
    caption = page.locator("#present-caption")
    expect(caption).to_be_visible()
    expect(caption).to_contain_text(stable.count_text())
    expect(caption).to_contain_text(stable.filter.describe())
    expect(caption).to_contain_text("progressor = ALSFRS fall of at least 2 points")
    wait_fig(page, "fvc-spaghetti", "gd._fullLayout.font.size > arg", normal)
    assert font_size(page, "fvc-spaghetti") > normal
    expect(page).to_have_url(url_param("present", "1"))


def test_presentation_checkbox_and_arrow_keys(page, server_url, ds):
    open_app(page, server_url, "?tab=alsfrs")
    wait_fig(page, "alsfrs-spaghetti")
    normal = font_size(page, "alsfrs-spaghetti")

    # presentation mode off: the arrow keys do nothing
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    wait_ready(page)
    expect(selected_tab(page)).to_have_text(TAB_LABELS["alsfrs"])
    expect(page).to_have_url(url_param("tab", "alsfrs"))

    present_checkbox(page).click()
    expect(page.locator("#filter-panel")).to_be_hidden()
    expect(page).to_have_url(url_param("present", "1"))
    caption = page.locator("#present-caption")
    expect(caption).to_contain_text(cohort(ds).count_text())
    expect(caption).to_contain_text(cohort(ds).filter.describe())
    wait_fig(page, "alsfrs-spaghetti", "gd._fullLayout.font.size > arg", normal)
    wait_ready(page)

    # focus in the checkbox: arrows belong to the control, not to the view
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    expect(selected_tab(page)).to_have_text(TAB_LABELS["alsfrs"])

    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    assert page.evaluate("() => document.activeElement === document.body")
    page.keyboard.press("ArrowRight")
    expect(selected_tab(page)).to_have_text(TAB_LABELS["fvc"])
    expect(page).to_have_url(url_param("tab", "fvc"))
    wait_fig(page, "fvc-spaghetti", "gd._fullLayout.font.size > arg", normal)
    expect(page.locator("#filter-panel")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(selected_tab(page)).to_have_text(TAB_LABELS["alsfrs"])
    expect(page).to_have_url(url_param("tab", "alsfrs"))
    page.keyboard.press("ArrowLeft")
    expect(selected_tab(page)).to_have_text(TAB_LABELS["overview"])
    expect(page).not_to_have_url(re.compile(r"[?&]tab="))
    page.keyboard.press("ArrowLeft")  # the first view stays
    page.wait_for_timeout(300)
    expect(selected_tab(page)).to_have_text(TAB_LABELS["overview"])
    wait_ready(page)

    # off again: the panel is back and the arrows are inert
    present_checkbox(page).click()
    expect(page.locator("#filter-panel")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"[?&]present="))
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    wait_ready(page)
    expect(selected_tab(page)).to_have_text(TAB_LABELS["overview"])


# ---------------------------------------------------------------- 4. per-figure slide export


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_figure_slide_export_png_and_svg(page, server_url, ds, tmp_path):
    n = len(set(ds.measurements.loc[ds.measurements["measure"] == "FVC", "patient_id"]))
    open_app(page, server_url, "?tab=fvc")
    wait_fig(page, "fvc-spaghetti", "(gd._fullLayout.title.text || '').includes(arg)", f"(n = {n})")
    wait_ready(page)
    title = page.evaluate(f"(gid) => {{ {_GD} return gd._fullLayout.title.text; }}", "fvc-spaghetti").split("<br>")[0]
    assert title.startswith("FVC") and f"n = {n}" in title, title

    def export(fmt: str) -> tuple[str, bytes]:
        button = page.locator(f'button[data-export-figure="fvc-spaghetti"][data-export-format="{fmt}"]')
        with page.expect_download(timeout=TIMEOUT) as info:
            button.click()
        d = info.value
        assert d.failure() is None, d.failure()
        path = tmp_path / f"{fmt}-{d.suggested_filename}"
        d.save_as(path)
        return d.suggested_filename, path.read_bytes()

    name, png = export("png")
    assert name == "fvc-spaghetti.png"
    assert png_size(png) == (1600, 900)

    name, svg = export("svg")
    assert name == "fvc-spaghetti.svg"
    text = svg.decode("utf-8")
    assert text.lstrip().startswith("<svg")
    assert re.search(r'<svg[^>]*\bwidth="1600"[^>]*\bheight="900"', text), text[:300]
    assert html.escape(title, quote=False) in text, title
    assert f"n = {n}" in text


# ---------------------------------------------------------------- 5. accessibility: axe-core on every view


#: what shows that a view's content has arrived
VIEW_READY = {
    "overview": "#overview-characteristics table",
    "alsfrs": "#alsfrs-slope-table-table",
    "fvc": "#fvc-share-table table",
    "weakness": "#ws-share-table table",
    "safety": "#ae-hierarchy-table",
    "profile": "#profile-content h3",
    "paper": "#paper-table-table",
    "groups": "#groups-message",
}
BLOCKING = ("serious", "critical")


def wait_view(page, view: str):
    expect(selected_tab(page)).to_have_text(TAB_LABELS[view])
    expect(page.locator(VIEW_READY[view]).first).to_be_visible()
    # every figure of the view drawn
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tab-content .js-plotly-plot')].every(g => g.querySelector('.main-svg'))",
        timeout=TIMEOUT)
    wait_ready(page)
    page.wait_for_timeout(100)  # assets/dashboard.js fixes Dash's markup in the next animation frame


def run_axe(page) -> list[dict]:
    return page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                         targets: v.nodes.map(n => n.target.join(' '))}));
        }""")


def test_axe_every_view_and_presentation_mode(new_page, server_url, ds):
    assert AXE_JS.exists(), "axe-core missing: run `npm ci --prefix tests` (tests/run.sh does)"
    pid = cohort(ds, population="progressors").patient_ids[0]
    page = new_page(bypass_csp=True)
    open_app(page, server_url, f"?patient={pid}")
    page.add_script_tag(path=str(AXE_JS))
    pinned = json.loads((REPO / "tests" / "package.json").read_text())["dependencies"]["axe-core"]
    assert page.evaluate("() => typeof axe === 'object' && axe.version") == pinned

    found: dict[str, list[dict]] = {}
    for view in TAB_LABELS:
        if view != "overview":
            tab(page, view).click()
        wait_view(page, view)
        if view == "profile":
            expect(page.locator("#profile-content h3")).to_have_text(f"Patient {pid}")
        found[view] = run_axe(page)
    present_checkbox(page).click()
    expect(page.locator("#filter-panel")).to_be_hidden()
    for view in ("alsfrs", "safety"):
        tab(page, view).click()
        wait_view(page, view)
        found[f"{view} (presentation mode)"] = run_axe(page)

    report, blocking = [], []
    for where, violations in found.items():
        for v in violations:
            line = f"[{where}] {v['id']} ({v['impact']}): {v['help']}; {len(v['targets'])} node(s): {v['targets'][:4]}"
            report.append(line)
            if v["impact"] in BLOCKING:
                blocking.append(line)
    if report:
        print("axe violations:\n" + "\n".join(report))
    assert blocking == [], "axe: serious/critical violations:\n" + "\n".join(blocking)


# ---------------------------------------------------------------- 6. keyboard


_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const cs = getComputedStyle(e);
  const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) \
|| (cs.boxShadow && cs.boxShadow !== 'none');
  return {tag: e.tagName.toLowerCase(), id: e.id, type: e.getAttribute('type'), role: e.getAttribute('role'),
          text: (e.textContent || '').trim().slice(0, 40), value: e.value === undefined ? null : String(e.value),
          group: (e.closest('[id]') || {}).id || '', ring,
          outline: cs.outlineStyle + ' ' + cs.outlineWidth, shadow: cs.boxShadow};
}"""


def test_keyboard_reaches_controls_tabs_and_buttons_with_a_visible_focus_ring(page, server_url, ds):
    open_app(page, server_url)
    # Dash loads the drop-down's code in a chunk of its own: tab only once both pickers are drawn
    for picker in ("patient-picker", "highlight"):
        expect(page.locator(f"button#{picker}")).to_be_visible()
    assert page.evaluate("() => document.activeElement === document.body")
    stops = []
    for _ in range(80):
        page.keyboard.press("Tab")
        f = page.evaluate(_FOCUSED)
        if f is None:
            break
        stops.append(f)
        if f["role"] == "tab" and f["text"] == TAB_LABELS["paper"]:
            break
    where = "\n".join(f"{s['tag']}#{s['id']} role={s['role']} type={s['type']} in #{s['group']}: {s['text']!r} "
                      f"ring={s['ring']}"
                      for s in stops)

    radios = [s for s in stops if s["type"] == "radio" and s["group"] == "population"]
    assert radios, f"no population radio in the tab order:\n{where}"
    tabs = [s["text"] for s in stops if s["role"] == "tab"]
    assert tabs == list(TAB_LABELS.values()), f"tabs in the tab order: {tabs}\n{where}"
    buttons = {s["id"] for s in stops if s["tag"] == "button"}
    for bid in ("reset", "download-data", "download-slopes", "download-incidence", "download-events", "download-report",
                "open-profile", "patient-picker", "highlight"):
        assert bid in buttons, f"#{bid} not reached by Tab:\n{where}"
    assert [s for s in stops if s["id"] == "threshold"], where
    assert [s for s in stops if s["type"] == "checkbox" and s["group"] == "present"], where
    no_ring = [s for s in stops if not s["ring"]]
    assert no_ring == [], "focused without a visible focus ring:\n" + "\n".join(
        f"{s['tag']}#{s['id']} role={s['role']} in #{s['group']}: outline {s['outline']}, shadow {s['shadow']}"
        for s in no_ring)

    # the keyboard focus is on the last view's tab: go back to FVC with Shift+Tab and open it with Enter
    expect(page.locator("#tabs .tab:focus")).to_have_text(TAB_LABELS["paper"])
    for _ in range(len(TAB_LABELS) - 1 - list(TAB_LABELS).index("fvc")):
        page.keyboard.press("Shift+Tab")
    expect(page.locator("#tabs .tab:focus")).to_have_text(TAB_LABELS["fvc"])
    expect(selected_tab(page)).to_have_text(TAB_LABELS["overview"])
    page.keyboard.press("Enter")
    expect(selected_tab(page)).to_have_text(TAB_LABELS["fvc"])
    expect(page).to_have_url(url_param("tab", "fvc"))
    expect(page.locator("#tabs .tab[aria-selected=true]")).to_have_text(TAB_LABELS["fvc"])
    wait_fig(page, "fvc-spaghetti")
    wait_ready(page)
    # the highlighted-patient dropdown opens and picks with the keyboard (its tab stop is the labelled button)
    page.locator("#download-report").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#highlight")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#highlight")).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".dash-dropdown-search")).to_be_focused()  # the list takes the focus
    page.keyboard.press("ArrowDown")
    first = page.locator(".dash-dropdown-content input.dash-options-list-option-checkbox:focus")
    expect(first).to_have_count(1)
    pid = first.get_attribute("value")
    page.keyboard.press("Enter")
    expect(page.locator("#highlight")).to_have_attribute("aria-expanded", "false")
    expect(page).to_have_url(url_param("patient", pid))
    expect(page.locator("#highlight")).to_have_text(f"Patient {pid}")
    expect(page.locator("#highlight")).to_be_focused()
    wait_ready(page)
    # and the population radios are operated with the arrow keys (native radio group)
    page.locator("#population input[value='safety']").focus()
    page.keyboard.press("ArrowDown")
    eff = cohort(ds, population="efficacy")
    expect(page.locator("#cohort-count")).to_have_text(eff.count_text())
    expect(page).to_have_url(url_param("cohort", "efficacy"))
