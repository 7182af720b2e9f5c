"""What one click asks of the server: the visible view only, and its mixed models after its figures."""

from __future__ import annotations

import json

import pytest

from dashboard import ids, views

from .conftest import wait_ready

pytestmark = pytest.mark.browser


def _outputs_of(view) -> set[str]:
    return {ids.slot_id(view.prefix, s.name) for s in view.slots if s.kind != "deferred"}


def _record(page) -> list[dict]:
    seen: list[dict] = []

    def on_request(r):
        if "/_dash-update-component" in r.url and r.method == "POST":
            body = json.loads(r.post_data or "{}")
            seen.append({"output": body.get("output", ""), "req": r})

    page.on("request", on_request)
    return seen


def _ended(page, seen):
    """Wait for every recorded request's response; each entry gains the browser's start and end times (ms)."""
    for s in seen:
        resp = s["req"].response()
        if resp is not None:
            resp.finished()
        timing = s["req"].timing
        s["start"] = timing["startTime"]
        s["end"] = timing["startTime"] + max(timing["responseEnd"], 0)


def test_a_filter_change_asks_for_the_visible_view_only(page, server_url):
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page)
    page.wait_for_function("() => document.querySelector('#alsfrs-mixed-3 table') !== null", timeout=30_000)
    seen = _record(page)
    page.locator(f"#{ids.SEX} input[value='F']").check()
    page.wait_for_function("() => (document.querySelector('#cohort-count')?.textContent ?? '').startsWith('12 of')",
                           timeout=15_000)
    wait_ready(page)
    page.wait_for_function("() => document.querySelector('#alsfrs-mixed-3 table') !== null", timeout=30_000)
    page.wait_for_timeout(500)
    _ended(page, seen)
    outputs = [s["output"] for s in seen]
    hidden = set().union(*(_outputs_of(v) for v in views.REGISTRY if v.key != "alsfrs"))
    asked_hidden = [o for o in outputs if any(f"{h}." in o for h in hidden)]
    assert asked_hidden == [], f"requests for hidden views: {asked_hidden}\nall: {outputs}"
    main = [s for s in seen if f"{ids.ALSFRS_SPAGHETTI}.figure" in s["output"]]
    assert len(main) == 1, outputs
    mixed = [s for s in seen if "alsfrs-mixed-" in s["output"]]
    assert len(mixed) == 4, outputs
    # the fits start only once the view's figures are back: they never compete with them
    assert min(s["start"] for s in mixed) >= main[0]["end"] - 5, [(s["output"], s["start"]) for s in seen]
    # sync_state (with the simulated-data notice), the view, its four mixed-model windows (the presentation
    # caption is made in the browser)
    assert len(seen) == 6, outputs
    assert not any(ids.PRESENT_CAPTION in o for o in outputs), outputs
    assert sum(ids.SIM_NOTICE in o for o in outputs) == 1 and ids.FILTER_STORE in next(
        o for o in outputs if ids.SIM_NOTICE in o), outputs


def test_back_on_an_unchanged_view_asks_nothing(page, server_url):
    """The gate passes a view's request on only when it differs from the last one it passed: back on the
    ALSFRS tab with the same selection, its figures are those already drawn, with no request."""
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page)
    page.wait_for_function("() => document.querySelector('#alsfrs-mixed-3 table') !== null", timeout=30_000)
    page.locator("#tabs .tab").filter(has_text="FVC").click()
    page.wait_for_function("() => { const g = document.querySelector('#fvc-spaghetti .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length > 0; }", timeout=15_000)
    wait_ready(page)
    seen = _record(page)
    page.locator("#tabs .tab").filter(has_text="ALSFRS").first.click()
    page.wait_for_function("() => { const g = document.querySelector('#alsfrs-spaghetti .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length > 1; }", timeout=15_000)
    wait_ready(page)
    page.wait_for_timeout(500)
    _ended(page, seen)
    outputs = [s["output"] for s in seen]
    mine = _outputs_of(views.BY_KEY["alsfrs"]) | {"alsfrs-mixed-"}
    assert not any(m in o for o in outputs for m in mine), outputs
    # ... and a changed selection there is asked for as before
    page.locator(f"#{ids.SEX} input[value='F']").check()
    page.wait_for_function("() => (document.querySelector('#alsfrs-spaghetti .js-plotly-plot')?.layout?.title?.text"
                           " ?? '').includes('n = 12')", timeout=15_000)


def test_switching_tabs_asks_for_the_new_view(page, server_url):
    page.goto(f"{server_url}/")
    wait_ready(page)
    seen = _record(page)
    page.locator("#tabs .tab").filter(has_text="FVC").click()
    page.wait_for_function("() => { const g = document.querySelector('#fvc-spaghetti .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length > 0; }", timeout=15_000)
    wait_ready(page)
    _ended(page, seen)
    outputs = [s["output"] for s in seen]
    assert any(f"{ids.FVC_SPAGHETTI}.figure" in o for o in outputs), outputs
    assert not any("alsfrs-spaghetti" in o or "ae-heatmap" in o for o in outputs), outputs
