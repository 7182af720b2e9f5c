"""The view registry: tabs, skeletons, callbacks, report and figure export all follow from it."""

import re
from dataclasses import dataclass

import pandas as pd
import pytest

from dashboard import cohorts, formatting, ids, images, layout, reports, stats, views
from dashboard.formatting import Badge, Notice, Para, TableText
from dashboard.views.base import Option, Slot, View
from tests.helpers import html_tables


def _ids_in(component) -> set[str]:
    found = set()

    def walk(c):
        cid = getattr(c, "id", None)
        if isinstance(cid, str):
            found.add(cid)
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, (list, tuple)) else [kids] if kids is not None else []:
            walk(k)

    walk(component)
    return found


def _slot_ids(view):
    for s in view.slots:
        if s.kind == "deferred":
            yield from (ids.slot_id(view.prefix, f"{s.name}-{p}") for p in s.parts)
        else:
            yield ids.slot_id(view.prefix, s.name)


def test_registry_lists_every_view_once_in_tab_order():
    assert views.TAB_KEYS == ("overview", "alsfrs", "fvc", "weakness", "groups", "survival", "safety", "profile",
                              "paper")
    orders = [v.order for v in views.REGISTRY]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert layout.TAB_LABELS == {v.key: v.label for v in views.REGISTRY}


def test_slot_ids_follow_the_rule_and_keep_the_shipped_ids():
    """The constants of ids.py that tests and links use are what the rule makes of the declarations."""
    made = {i for v in views.REGISTRY for i in _slot_ids(v)}
    for const in (ids.OVERVIEW_FLOW, ids.OVERVIEW_TABLE, ids.ALSFRS_SPAGHETTI, ids.ALSFRS_SLOPE_TABLE, ids.ALSFRS_PAIRS,
                  ids.ALSFRS_WATERFALL, ids.ALSFRS_MESSAGE, *ids.ALSFRS_MIXED.values(), ids.FVC_SPAGHETTI,
                  ids.FVC_SHARE_TABLE, ids.WS_GRID, ids.WS_MEAN, ids.WS_SHARE_TABLE, ids.AE_HEATMAP, ids.AE_INCIDENCE,
                  ids.AE_SERIOUS_LIST, ids.PROFILE_CONTENT, ids.PROFILE_FIGURE, ids.PAPER_TABLE):
        assert const in made, const
    options = {ids.slot_id(v.prefix, o.suffix) for v in views.REGISTRY
               for o in (*v.options, *(o for s in v.slots for o in s.options))}
    assert {ids.ALSFRS_SHOW_FITS, ids.ALSFRS_WINDOW, ids.ALSFRS_FIT_MIXED, ids.FVC_THRESHOLD, ids.WS_THRESHOLD,
            ids.AE_COLOUR_BY, ids.AE_ONLY} <= options
    every = [i for v in views.REGISTRY for i in _slot_ids(v)]
    assert len(every) == len(set(every)), "two slots share an id"


def test_layout_has_a_place_for_every_slot_and_control(shipped):
    page = layout.build_layout(shipped, cohorts.patient_frame(shipped))
    present = _ids_in(page)
    for v in views.REGISTRY:
        for sid in _slot_ids(v):
            assert sid in present, sid
        for o in v.options:
            assert ids.slot_id(v.prefix, o.suffix) in present
        for s in v.figures:
            assert f"{ids.slot_id(v.prefix, s.name)}-alt" in present


def test_figure_export_follows_the_figure_slots(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter())
    stems = [s.export for v in views.offered(shipped) for s in v.figures if s.export]
    assert "survival_kaplan_meier" not in stems  # no dates of death in the shipped trial: not offered
    assert list(images.figure_set(shipped, c)) == stems


@pytest.mark.parametrize("kind,raw,expected", [
    ("number", 5.0, 5.0), ("number", 500, 70.0), ("number", None, 70.0), ("number", True, 70.0),
    ("radio", 6, 6), ("radio", 7, 3), ("checklist", ["serious", "x"], ("serious",)), ("checklist", None, ()),
    ("toggle", ["on"], True), ("toggle", [], False), ("toggle", None, False), ("toggle", True, True),
])
def test_option_parsing(kind, raw, expected):
    o = {"number": Option("t", "number", "", 70.0, low=0, high=200),
         "radio": Option("w", "radio", "", 3, choices=((3, "3"), (6, "6"))),
         "checklist": Option("only", "checklist", "", (), choices=(("serious", "S"), ("related", "R"))),
         "toggle": Option("f", "toggle", "", False, choices=(("on", "On"),))}[kind]
    assert o.parse(raw) == expected


def test_table_text_is_written_once_and_rendered_alike(shipped):
    """The dashboard and the report show the same cells: the share table's note and '—' (never '—%')."""
    share = stats.Share(12, 0, 0, None, 3, "fall < 1", "not computable: no patient has a value at this visit")
    t = formatting.share_table([("Efficacy, 12 months", share)])
    assert t.rows[0][2] == "—"
    html_text = reports.render_html(t)
    assert "—%" not in html_text and "not computable: no patient has a value" in html_text
    (drawn,) = html_tables(layout.render(t))
    assert drawn["rows"] == [[formatting.cell_text(c) for c in t.rows[0]]]
    assert drawn["header"] == list(t.header)


def test_a_view_declared_in_one_place_is_drawn_reported_and_wired():
    """A made-up view: declared once, the skeleton, the callback's output and the report section follow."""

    @dataclass(frozen=True)
    class Result:
        figure: object
        table: object

    def compute(ds, cohort, highlight=None, level=1.0):
        from dashboard import figures

        rows = [["a", Badge("ok", "verdict verdict-agrees")], ["b", f"{level:g}"]]
        return Result(figures.message_figure(f"level {level:g}"),
                      (TableText(("Name", "Value"), tuple(tuple(r) for r in rows)), Notice("careful", "warn")))

    v = View(key="toy", label="Toy", prefix="toy", order=99, compute=compute,
             options=(Option("level", "number", "Level", 1.0, low=0, high=10, step=1),),
             slots=(Slot("figure", "figure", attr="figure", export="toy_figure"),
                    Slot("table", "blocks", attr="table", title="A table")), methods=("summary",))
    body = layout.tab_body(None, v)
    assert {"toy-figure", "toy-figure-alt", "toy-table", "toy-level"} <= _ids_in(body)
    from dashboard import callbacks

    out = callbacks.render_view(v, compute(None, None, level=4.0))
    assert set(out) == {"figure", "figure-alt", "table"}
    assert "level 4" in out["figure-alt"]
    section = "".join(reports.render_html(compute(None, None, level=4.0).table))
    assert "<span class='verdict verdict-agrees'>ok</span>" in section and "careful" in section


def test_report_sections_follow_the_registry(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter())
    html_text = reports.html_report(shipped, c, generated_at="2026-11-30 12:00 UTC",
                                    options={"fvc": {"threshold": 80}})
    headings = re.findall(r"<h2>(.*?)</h2>", html_text)
    # the views offered for the dataset (the shipped trial records no dates of death: no survival section)
    assert headings == [v.heading for v in views.offered(shipped) if v.in_report]
    assert "Survival" not in headings and "Between groups" in headings
    assert "≥ 80%" in html_text and "≥ 70%" not in html_text
    for v in views.offered(shipped):
        for m in v.methods:
            assert formatting.METHODS[m].split(";")[0][:60] in html_text.replace("&#x27;", "'")


def test_serious_listing_and_empty_blocks():
    assert layout.render(None) is None
    ae = pd.DataFrame({"patient_id": ["1"], "term": ["X"], "serious": [True], "related": [False],
                       "severity": ["Severe"], "action": [None], "duration_days": pd.array([2], dtype="Int64"),
                       "ongoing": [False]})
    blocks = formatting.serious_listing(ae, limit=5)
    assert isinstance(blocks[0], TableText) and blocks[0].rows[0][0] == "Patient 1"
    assert isinstance(formatting.serious_listing(ae.iloc[:0])[0], Para)
