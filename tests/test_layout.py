"""Component builders: tables and listings."""

import pandas as pd
from dash import html

from dashboard import formatting, layout
from tests.helpers import texts


def serious_listing(ae, limit=formatting.SERIOUS_LISTING_ROWS):
    """The listing as the dashboard draws it: formatting writes it, layout renders it."""
    return html.Div(layout.render(formatting.serious_listing(ae, limit)))


def _events(n):
    return pd.DataFrame({
        "patient_id": [str(i) for i in range(1, n + 1)], "term": "Headache", "serious": True, "related": False,
        "severity": "Severe", "action": None, "duration_days": pd.array([3] * n, dtype="Int64"), "ongoing": False,
    })


def _body_rows(component):
    found = []

    def walk(c):
        if type(c).__name__ == "Tbody":
            found.extend(c.children)
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, (list, tuple)) else [kids] if kids is not None else []:
            walk(k)
    walk(component)
    return found


def test_serious_listing_lists_every_event_up_to_the_limit():
    listing = serious_listing(_events(3), limit=5)
    assert len(_body_rows(listing)) == 3
    assert "are listed" not in texts(listing)


def test_serious_listing_above_the_limit_says_how_many_are_left_out():
    listing = serious_listing(_events(12), limit=5)
    rows = _body_rows(listing)
    assert len(rows) == 5
    assert rows[0].children[0].children == "Patient 1"
    assert "The first 5 of 12 serious events (the most severe first) are listed" in texts(listing)


def test_serious_listing_empty():
    assert "No serious adverse events" in texts(serious_listing(_events(0)))
