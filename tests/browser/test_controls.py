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
