"""What one click asks of the server: one request that draws the visible view only, and its mixed models after
its figures."""

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
    """Wait for every recorded request's response; each entry gains the browser's start and end times (ms) and
    ``drawn``: the component ids whose properties the answer sets (Dash leaves out what was not updated)."""
    for s in seen:
        resp = s["req"].response()
        s["drawn"] = set()
        if resp is not None:
            resp.finished()
            if resp.status == 200:
                s["drawn"] = set(json.loads(resp.body() or b"{}").get("response", {}))
        timing = s["req"].timing
        s["start"] = timing["startTime"]
        s["end"] = timing["startTime"] + max(timing["responseEnd"], 0)


def _drawn(seen) -> set[str]:
    return set().union(*(s["drawn"] for s in seen))


def _views_drawn(seen) -> set[str]:
    drawn = _drawn(seen)
    return {v.key for v in views.REGISTRY if _outputs_of(v) & drawn}


def _wait_figure(page, fig_id: str, n_min: int = 1):
    page.wait_for_function(f"() => {{ const g = document.querySelector('#{fig_id} .js-plotly-plot');"
                           f" return g && g._fullData && g._fullData.length >= {n_min}; }}", timeout=15_000)


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
    # one request draws the view with the new selection (and sets the store, the count, the address and the
    # simulated-data notice); no other view is computed
    main = [s for s in seen if f"{ids.ALSFRS_SPAGHETTI}" in s["drawn"]]
    assert len(main) == 1, outputs
    assert {ids.FILTER_STORE, ids.COHORT_COUNT, ids.URL} <= main[0]["drawn"], main[0]["drawn"]
    assert _outputs_of(views.BY_KEY["alsfrs"]) <= main[0]["drawn"]
    assert _views_drawn(seen) == {"alsfrs"}, _drawn(seen)
    mixed = [s for s in seen if "alsfrs-mixed-" in s["output"]]
    assert len(mixed) == 4, outputs
    # the fits start only once the view's figures are back: they never compete with them
    assert min(s["start"] for s in mixed) >= main[0]["end"] - 5, [(s["output"], s["start"]) for s in seen]
    # the view with its state, then its four mixed-model windows (the presentation caption is made in the browser)
    assert len(seen) == 5, outputs
    assert not any(ids.PRESENT_CAPTION in o for o in outputs), outputs


def test_back_on_an_unchanged_view_draws_nothing(page, server_url):
    """A view is drawn again only when what it was drawn for changed: back on the ALSFRS tab with the same
    selection, its figures are those already drawn (the tab's request computes no view)."""
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page)
    page.wait_for_function("() => document.querySelector('#alsfrs-mixed-3 table') !== null", timeout=30_000)
    page.locator("#tabs .tab").filter(has_text="FVC").click()
    _wait_figure(page, "fvc-spaghetti")
    wait_ready(page)
    seen = _record(page)
    page.locator("#tabs .tab").filter(has_text="ALSFRS").first.click()
    _wait_figure(page, "alsfrs-spaghetti", 2)
    wait_ready(page)
    page.wait_for_timeout(500)
    _ended(page, seen)
    assert _views_drawn(seen) == set(), _drawn(seen)
    assert not any("alsfrs-mixed-" in s["output"] for s in seen), [s["output"] for s in seen]
    # ... and a changed selection there is drawn as before
    seen.clear()
    page.locator(f"#{ids.SEX} input[value='F']").check()
    page.wait_for_function("() => (document.querySelector('#alsfrs-spaghetti .js-plotly-plot')?.layout?.title?.text"
                           " ?? '').includes('n = 12')", timeout=15_000)
    wait_ready(page)
    _ended(page, seen)
    assert "alsfrs" in _views_drawn(seen)


def test_switching_tabs_asks_for_the_new_view(page, server_url):
    page.goto(f"{server_url}/")
    wait_ready(page)
    seen = _record(page)
    page.locator("#tabs .tab").filter(has_text="FVC").click()
    _wait_figure(page, "fvc-spaghetti")
    wait_ready(page)
    _ended(page, seen)
    assert _views_drawn(seen) == {"fvc"}, _drawn(seen)
