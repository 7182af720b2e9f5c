"""Dataset text is shown as text, never run or parsed as markup (the tables are drawn from escaped HTML).

The view tables are one ``HtmlBlock`` each (``dashboard/html_block.py``), drawn by the browser's HTML parser from
the HTML that ``formatting.blocks_html`` writes (every text escaped); an earlier ``dcc.Markdown`` read that HTML as
JSX, where ``{...}`` would be an expression.  An adverse-event term made of
markup, an event handler, JSX braces and quotes must reach the page as the same characters, in the tables and
the heatmap, and run nothing.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from .conftest import REPO, serve, wait_ready

pytestmark = pytest.mark.browser

HOSTILE = [
    '<img src=x onerror="window.__pwned=1">',
    "{window.__pwned=2}",
    "{(() => { window.__pwned = 3 })()}",
    "</table><script>window.__pwned=4</script>",
    "Fever & \"chills\" 'x' <b>bold</b>",
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(REPO / "data", directory)
    path = directory / "adverse_events.csv"
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    term, pt = head.index("term"), head.index("preferred_term")
    for row, text in zip(rows[1:], HOSTILE):
        row[term] = row[pt] = text
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    with serve(directory, "gunicorn-hostile.log") as url:
        yield url


def test_hostile_terms_are_shown_as_text_and_run_nothing(new_page, hostile):
    page = new_page()
    page.goto(hostile + "/?tab=safety")
    wait_ready(page)
    page.wait_for_selector("#tab-safety table, .tab-body table", state="attached")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__pwned") is None
    # textContent: the body-system table's terms sit in closed <details>
    shown = page.evaluate("() => Array.from(document.querySelectorAll('.blocks')).map(t => t.textContent).join(' ')")
    for text in HOSTILE:
        assert text in shown, f"{text!r} not shown as text"
    # no element made from the data: the only <img>, <script> and <b> are none inside the view's blocks
    assert page.evaluate("() => document.querySelectorAll('.blocks img, .blocks script, .blocks b').length") == 0
