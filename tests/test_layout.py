"""Component builders: tables and listings."""

import pandas as pd
from dash import html

from dashboard import formatting, layout
from tests.helpers import html_tables, texts


def serious_listing(ae, limit=formatting.SERIOUS_LISTING_ROWS):
    """The listing as the dashboard draws it: formatting writes it, layout renders it."""
    return html.Div(layout.render(formatting.serious_listing(ae, limit)))


def _events(n):
    return pd.DataFrame({
        "patient_id": [str(i) for i in range(1, n + 1)], "term": "Headache", "serious": True, "related": False,
        "severity": "Severe", "action": None, "duration_days": pd.array([3] * n, dtype="Int64"), "ongoing": False,
    })


def _body_rows(component):
    return [r for t in html_tables(component) for r in t["rows"]]


def test_serious_listing_lists_every_event_up_to_the_limit():
    listing = serious_listing(_events(3), limit=5)
    assert len(_body_rows(listing)) == 3
    assert "are listed" not in texts(listing)


def test_serious_listing_above_the_limit_says_how_many_are_left_out():
    listing = serious_listing(_events(12), limit=5)
    rows = _body_rows(listing)
    assert len(rows) == 5
    assert rows[0][0] == "Patient 1"
    assert "The first 5 of 12 serious events (the most severe first) are listed" in texts(listing)


def test_serious_listing_empty():
    assert "No serious adverse events" in texts(serious_listing(_events(0)))


def test_left_out_patients_are_grouped_by_reason_and_named_at_most_thirty_per_row():
    """A row per left-out patient made thousands of cells on a 1,000-patient trial (20 s to show the view)."""
    from dashboard.formatting import LEFT_OUT_IDS, left_out_table
    rows = [("All", 3, str(i), "no value before day 0" if i % 3 else "1 value after day 0") for i in range(1, 71)]
    t = left_out_table(rows)
    assert [tuple(r[:4]) for r in t.rows] == [("All", "0-3 months", "no value before day 0", "47"),
                                       ("All", "0-3 months", "1 value after day 0", "23")]
    first = t.rows[0][4]
    assert first.startswith("1, 2, 4, 5, 7") and first.endswith(f"… and {47 - LEFT_OUT_IDS} more")
    assert len(first.split(" … ")[0].split(", ")) == LEFT_OUT_IDS
    assert t.rows[1][4] == ", ".join(str(i) for i in range(3, 71, 3))
