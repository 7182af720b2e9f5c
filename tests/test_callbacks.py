"""Callbacks called in-process (inside a Flask request context of a real app)."""

import pytest
from dash import html
from dash.exceptions import PreventUpdate

from dashboard import callbacks, figures
from dashboard.server import create_app


@pytest.fixture(scope="module")
def app(shipped):
    return create_app(dataset=shipped)


@pytest.fixture
def req(app):
    with app.server.test_request_context():
        yield


def _texts(component) -> str:
    """All text in a component tree."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(_texts(c) for c in component)
    return _texts(getattr(component, "children", None))


@pytest.mark.parametrize("cohort,n", [("safety", 26), ("efficacy", 23), ("progressors", 12), ("stable", 11), ("compare", 23)])
def test_alsfrs_view_counts(req, cohort, n):
    fig, table, pairs, water, msg, *alts = callbacks.alsfrs_view({"cohort": cohort} if cohort != "safety" else {}, "alsfrs", None, ["fits"], 3)
    ids = {c[0] for t in fig.data if t.name and t.name.split(" (")[0] in ("Patients", "Progressors", "Stable") for c in t.customdata if c[0]}
    assert len(ids) == n
    assert "SIMULATED" in fig.layout.title.text
    assert "0-3 months" in _texts(table)


def test_views_not_on_screen_are_not_computed(req):
    with pytest.raises(PreventUpdate):
        callbacks.alsfrs_view({}, "fvc", None, [], 3)
    with pytest.raises(PreventUpdate):
        callbacks.safety_view({}, "alsfrs", None, "severity", [])


def test_empty_selection_says_so(req):
    store = {"cohort": "progressors", "patients": "4"}
    fig, table, pairs, water, msg, *alts = callbacks.alsfrs_view(store, "alsfrs", None, [], 3)
    assert "No patients match" in fig.layout.annotations[0].text
    fig, share, alt = callbacks.fvc_view(store, "fvc", None, 70)
    assert "No patients match" in fig.layout.annotations[0].text
    flow, tbl = callbacks.overview(store, "overview")
    assert "No patients match" in _texts(tbl)


def test_one_patient_slope_table_says_not_computable(req):
    fig, table, pairs, water, msg, *alts = callbacks.alsfrs_view({"patients": "3"}, "alsfrs", None, [], 3)
    assert "n < 2" in _texts(table)
    assert "n < 2" in _texts(msg)


def test_fvc_threshold_and_share(req):
    fig, tables, alt = callbacks.fvc_view({"cohort": "efficacy"}, "fvc", None, 70)
    text = _texts(tables)
    assert "15" in text and "78.9%" in text  # visit X: 15 of 19
    assert any(s.y0 == 70 for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1)


def test_weakness_share_uses_threshold(req):
    _g, _m, t1, *_ = callbacks.weakness_view({"cohort": "efficacy"}, "weakness", None, 1.0)
    _g, _m, t05, *_ = callbacks.weakness_view({"cohort": "efficacy"}, "weakness", None, 0.5)
    assert "20 of 23" in _texts(t1)
    assert "17 of 23" in _texts(t05)


def test_safety_filters(req):
    fig, inc, serious, alt = callbacks.safety_view({}, "safety", "5", "severity", [])
    assert len(fig.data[0].y) == 15
    fig_s, inc_s, _, _alt = callbacks.safety_view({}, "safety", None, "serious", ["serious"])
    assert set(fig_s.data[0].x) == {"PEG insertion", "Respiratory failure", "Respiratory failure (due to bronchopneumonia)"}
    assert "Headache" not in _texts(inc_s)
    assert "Patient 22" in _texts(serious)


def test_profile(req):
    content, fig, alt = callbacks.profile_view("profile", "7", {})
    text = _texts(content)
    assert "Patient 7" in text and "Respiratory failure (due to bronchopneumonia)" in text
    assert "SIMULATED" in fig.layout.title.text
    content, fig, alt = callbacks.profile_view("profile", None, {})
    assert "Pick a patient" in _texts(content)


def test_simulated_notice_only_where_simulated_values_show(req):
    assert "SIMULATED" in _texts(callbacks.simulated_notice({}, "alsfrs"))
    assert callbacks.simulated_notice({}, "fvc") is None
    assert "simulated" in _texts(callbacks.simulated_notice({"cohort": "progressors"}, "fvc"))


def test_paper_view(req):
    out = callbacks.paper_view("paper")
    assert "Table 4 Mean" in _texts(out)


@pytest.mark.parametrize("payload,expected", [
    ({"points": [{"customdata": ["7", "observed"]}]}, "7"),
    ({"points": [{"customdata": "12"}]}, "12"),
    ({"points": [{"customdata": "3 (pre slope -0.5/month)"}]}, "3"),
    ({"points": []}, None),
    (None, None),
    ({"points": [{"customdata": {"a": 1}}]}, None),
])
def test_patient_from_click(payload, expected):
    assert callbacks.patient_from_click(payload) == expected


def test_parse_search_ignores_huge_queries():
    assert callbacks.parse_search("?cohort=stable&tab=fvc") == {"cohort": "stable", "tab": "fvc"}
    assert callbacks.parse_search("?" + "a=1&" * 10000) == {}


def test_figures_have_text_alternatives(req):
    fig, *_rest, alt_spaghetti, alt_pairs, alt_water = callbacks.alsfrs_view({"cohort": "progressors"}, "alsfrs", None, [], 3)
    assert alt_spaghetti.startswith("ALSFRS over time (n = 12) SIMULATED")
    assert "one line per patient" in alt_spaghetti
    assert "11 patients" in alt_pairs and "above zero" in alt_water
    *_x, alt = callbacks.safety_view({}, "safety", None, "severity", [])
    assert "15 patients with events" in alt


def test_presentation_mode_enlarges_figures(req):
    normal = callbacks.fvc_view({}, "fvc", None, 70, [])[0]
    big = callbacks.fvc_view({}, "fvc", None, 70, ["on"])[0]
    assert big.layout.font.size > normal.layout.font.size
    assert big.data[0].line.width > normal.data[0].line.width
    cls, caption = callbacks.presentation_mode(["on"], {"cohort": "stable"})
    assert "present" in cls and "11 of 26 patients" in _texts(caption)
    assert callbacks.presentation_mode([], {}) == ("app", None)


def test_mixed_models_fitted_at_once_for_small_selections_and_on_request_above(req, monkeypatch):
    fit3 = callbacks.mixed_views[3]
    small = _texts(fit3({"cohort": "progressors"}, "alsfrs", []))
    assert "Tick 'Fit the mixed models'" not in small and "Progressors" in small
    monkeypatch.setattr(callbacks, "AUTO_FIT_PATIENTS", 10)
    asked_not = fit3({"cohort": "progressors"}, "alsfrs", [])
    assert "up to 10 patients; this selection has 12" in _texts(asked_not)
    assert callbacks.mixed_views[6]({"cohort": "progressors"}, "alsfrs", []) is None  # the notice once, not per window
    assert _texts(fit3({"cohort": "progressors"}, "alsfrs", ["fit"])) == small
    with pytest.raises(PreventUpdate):
        fit3({"cohort": "progressors"}, "overview", ["fit"])
