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


def test_blocks_are_one_html_block_with_every_text_escaped():
    """The view's blocks reach the page as one HtmlBlock (the browser's own HTML parser draws them): every text
    from the data is escaped, a disclosure's key too, so the fragment holds no element made from the data."""
    hostile = '<img src=x onerror="alert(1)">{x}\'"'
    block = layout.render((formatting.Para(hostile),
                           formatting.Details(f"{hostile} — 3 patients", (formatting.Para("inside"),), key=hostile)))
    assert type(block).__name__ == "HtmlBlock" and block.className == "blocks-host"
    fragment = block.html
    assert "<img" not in fragment and "{x}" not in fragment and 'onerror="' not in fragment
    assert "data-key='&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#123;x&#125;&#x27;&quot;'" in fragment
    assert texts(block).count(hostile) == 2  # the paragraph and the summary, shown as the same characters
    assert layout.render(()) is None


def test_body_system_disclosures_keep_their_key_when_their_counts_change():
    """A reader's open body system stays open across a filter change (assets/html_block.js reopens the
    disclosures of the same key): the key is the body system, not its counts."""
    from dashboard import safety

    ae = pd.DataFrame({"patient_id": ["1", "2", "3"], "term": ["Headache", "Migraine", "Cough"],
                       "preferred_term": ["Headache", "Migraine", "Cough"],
                       "body_system": ["Nervous system disorders", "Nervous system disorders",
                                       "Respiratory disorders"],
                       "serious": False, "related": False, "severity": "Mild"})
    keys = []
    for ids in (["1", "2", "3"], ["1", "3"]):
        blocks = formatting.hierarchy_blocks(safety.hierarchy(ae, ids))
        keys.append([(b.key, b.summary) for b in blocks if isinstance(b, formatting.Details)])
    assert [k for k, _s in keys[0]] == [k for k, _s in keys[1]] == ["Nervous system disorders",
                                                                     "Respiratory disorders"]
    assert keys[0][0][1] != keys[1][0][1]  # the summary's counts changed, its key did not
    assert "data-key='Nervous system disorders'" in layout.render(
        formatting.hierarchy_blocks(safety.hierarchy(ae, ["1"]))).html


def test_mixed_tables_carry_their_column_widths_in_the_html():
    """The four windows' tables share their column widths in the dashboard and the report alike: the widths are
    written into the table (one declaration, formatting.MIXED_WIDTHS), not kept in two stylesheets."""
    row = {"window_months": 3, "n_patients": 12, "n_observations": 59, "converged": True, "pre_slope": -0.748,
           "slope_change": 0.386, "ci95_low": 0.154, "ci95_high": 0.619, "p": 0.0004, "note": None}
    fragment = formatting.blocks_html(formatting.mixed_table([("All", row)]))
    assert "style='table-layout:fixed'" in fragment
    cols = fragment[fragment.index("<colgroup>"):fragment.index("</colgroup>")]
    assert cols.count("<col ") + cols.count("<col>") == len(formatting.MIXED_HEADER) == len(formatting.MIXED_WIDTHS)
    assert "<col style='width:9em'>" in cols and "<col style='width:10em'>" in cols and cols.endswith("<col>")
    assert "<colgroup>" not in formatting.blocks_html(formatting.serious_listing(_events(2)))
