"""Controls say what they do: the population counts follow the threshold, a refused value is named."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard import cohorts
from dashboard.data import DEFAULT_DATA_DIR, load_dataset

from .conftest import wait_ready

pytestmark = pytest.mark.browser


def _threshold(page, value: str):
    box = page.locator("#threshold")
    box.fill(value)
    box.press("Enter")
    wait_ready(page)


def test_population_counts_follow_the_threshold_and_a_bad_one_is_named(page, server_url):
    ds = load_dataset(DEFAULT_DATA_DIR)
    n5 = cohorts.select(ds, cohorts.CohortFilter(population="progressors", min_decline=5)).n
    assert n5 != 12
    page.goto(f"{server_url}/?cohort=progressors")
    wait_ready(page)
    radio = page.locator("#population")
    expect(radio).to_contain_text("Progressors (12)")
    _threshold(page, "5")
    expect(radio).to_contain_text(f"Progressors ({n5})")
    expect(page.locator("#cohort-count")).to_have_text(f"{n5} of 26 patients")
    _threshold(page, "-1")
    expect(page.locator("#url-notice")).to_contain_text("progressor threshold -1 ignored")
    expect(radio).to_contain_text("Progressors (12)")


def test_view_options_are_in_a_shared_link(page, server_url):
    page.goto(f"{server_url}/?tab=alsfrs&window=9&fits=1")
    wait_ready(page)
    expect(page.locator("#alsfrs-window input[value='9']")).to_be_checked()
    expect(page.locator("#alsfrs-show-fits input[value='fits']")).to_be_checked()
    page.wait_for_function("() => { const g = document.querySelector('#alsfrs-slope-pairs .js-plotly-plot');"
                           " return g && g._fullLayout && /0-9 months/.test(g._fullLayout.title.text); }")
    page.locator("#tabs .tab").filter(has_text="Safety").click()
    wait_ready(page)
    page.locator("#ae-colour-by input[value='serious']").check()
    wait_ready(page)
    page.wait_for_function("() => location.search.includes('colour=serious')")
    assert "window=9" in page.evaluate("() => location.search")
    # the link opens the same views
    link = page.evaluate("() => location.href")
    page.goto(link)
    wait_ready(page)
    expect(page.locator("#ae-colour-by input[value='serious']")).to_be_checked()


def test_the_mixed_model_request_is_offered_only_where_it_is_needed(page, server_url):
    """'Fit the mixed models for selections of more than 150 patients' was offered on 26."""
    page.goto(f"{server_url}/?tab=alsfrs")
    wait_ready(page)
    page.wait_for_function("() => document.querySelector('#alsfrs-mixed-3 table') !== null", timeout=30_000)
    expect(page.locator("#alsfrs-mixed-options")).to_be_hidden()
    expect(page.locator("#alsfrs-fit-mixed")).to_be_hidden()
