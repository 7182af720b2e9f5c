"""Callbacks called in-process (inside a Flask request context of a real app)."""

import json

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from dashboard import callbacks, cohorts, ids, state, views
from dashboard.cohorts import CohortFilter
from dashboard.server import create_app
from tests.helpers import texts


@pytest.fixture(scope="module")
def app(shipped):
    return create_app(dataset=shipped)


@pytest.fixture
def req(app):
    with app.server.test_request_context():
        yield


def view(key, store=None, tab=None, **kw) -> dict:
    """A view's callback as Dash calls it (keywords: highlight, present and the view's options)."""
    return callbacks.VIEW_CALLBACKS[key](store=store if store is not None else {}, tab=tab or key, **kw)


def alsfrs(store, tab="alsfrs", highlight=None, show_fits=(), window=3, present=None):
    out = view("alsfrs", store, tab, highlight=highlight, show_fits=list(show_fits), window=window, present=present)
    return (out["spaghetti"], out["slope-table"], out["slope-pairs"], out["waterfall"], out["message"],
            out["spaghetti-alt"], out["slope-pairs-alt"], out["waterfall-alt"])


def fvc(store, threshold=70, present=None):
    out = view("fvc", store, highlight=None, threshold=threshold, present=present)
    return out["spaghetti"], out["share-table"], out["spaghetti-alt"]


def safety(store, highlight=None, colour_by="severity", only=(), tab="safety"):
    out = view("safety", store, tab, highlight=highlight, colour_by=colour_by, only=list(only))
    return out["heatmap"], out["incidence"], out["serious-list"], out["heatmap-alt"]


@pytest.mark.parametrize(
    "cohort,n", [("safety", 26), ("efficacy", 23), ("progressors", 12), ("stable", 11), ("compare", 23)]
)
def test_alsfrs_view_counts(req, cohort, n):
    state = {"cohort": cohort} if cohort != "safety" else {}
    fig, table, pairs, water, msg, *alts = alsfrs(state, show_fits=["fits"])
    groups = ("Patients", "Progressors", "Stable")
    ids = {c[0] for t in fig.data if t.name and t.name.split(" (")[0] in groups for c in t.customdata if c[0]}
    assert len(ids) == n
    assert "SIMULATED" in fig.layout.title.text
    assert "0-3 months" in texts(table)


def test_views_not_on_screen_are_not_computed(req):
    with pytest.raises(PreventUpdate):
        alsfrs({}, tab="fvc")
    with pytest.raises(PreventUpdate):
        safety({}, tab="alsfrs")


def test_empty_selection_says_so(req):
    store = {"cohort": "progressors", "patients": "4"}
    fig, table, pairs, water, msg, *alts = alsfrs(store)
    assert "No patients match" in fig.layout.annotations[0].text
    fig, share, alt = fvc(store)
    assert "No patients match" in fig.layout.annotations[0].text
    out = view("overview", store)
    assert "No patients match" in texts(out["characteristics"])


def test_one_patient_slope_table_says_not_computable(req):
    fig, table, pairs, water, msg, *alts = alsfrs({"patients": "3"})
    assert "n < 2" in texts(table)
    assert "n < 2" in texts(msg)


def test_fvc_threshold_and_share(req):
    fig, tables, alt = fvc({"cohort": "efficacy"}, 70)
    text = texts(tables)
    assert "15" in text and "78.9%" in text  # visit X: 15 of 19
    assert any(s.y0 == 70 for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1)


def test_weakness_share_uses_threshold(req):
    t1 = view("weakness", {"cohort": "efficacy"}, threshold=1.0)["share-table"]
    t05 = view("weakness", {"cohort": "efficacy"}, threshold=0.5)["share-table"]
    assert "20 of 23" in texts(t1)
    assert "17 of 23" in texts(t05)


def test_safety_filters(req):
    fig, inc, serious, alt = safety({}, "5")
    assert len(fig.data[0].y) == 15
    fig_s, inc_s, _, _alt = safety({}, None, "serious", ["serious"])
    assert set(fig_s.data[0].x) == {
        "PEG insertion", "Respiratory failure", "Respiratory failure (due to bronchopneumonia)"}
    assert "Headache" not in texts(inc_s)
    assert "Patient 22" in texts(serious)


def test_profile(req):
    out = view("profile", {}, highlight="7")
    content, fig = out["content"], out["figure"]
    text = texts(content)
    assert "Patient 7" in text and "Respiratory failure (due to bronchopneumonia)" in text
    assert "SIMULATED" in fig.layout.title.text
    content = view("profile", {}, highlight=None)["content"]
    assert "Pick a patient" in texts(content)


def test_simulated_notice_only_where_simulated_values_show(req):
    ds = callbacks.dataset()

    def words(params, tab):
        return state.simulated_words(ds, cohorts.select(ds, CohortFilter.from_params(params)[0]), tab)

    assert words({}, "alsfrs").startswith("ALSFRS at visits") and "simulated, not trial data" in words({}, "alsfrs")
    assert words({}, "fvc") == ""
    # the progressors are chosen by their simulated ALSFRS fall: the FVC view says so
    assert "simulated" in words({"cohort": "progressors"}, "fvc")


def test_sync_state_draws_the_visible_view_and_only_when_its_request_changed(req):
    """sync_state's view part (callbacks.visible_view): the selected tab's view alone, drawn for the reconciled
    state; nothing again for the request it was last drawn for; again once the selection changes."""
    ds = callbacks.dataset()
    none = [None] * len(views.REGISTRY)
    r = state.reconcile(None, "?tab=fvc&sex=F&fvc_ref=0", state.Controls(), ds)
    requests, outputs = callbacks.visible_view(r, none)
    at = views.REGISTRY.index(views.BY_KEY["fvc"])
    assert [i for i, q in enumerate(requests) if q is not no_update] == [at]
    drawn = {(v.key, name) for (v, name, _o), value in zip(callbacks.VIEW_OUTPUTS, outputs) if value is not no_update}
    assert drawn == {("fvc", name) for name in callbacks._slot_outputs(views.BY_KEY["fvc"])}
    # the view as its own plain function draws it for the same request
    same = callbacks.VIEW_CALLBACKS["fvc"](**dict(zip(callbacks.request_keys(views.BY_KEY["fvc"]), requests[at])))
    fig = dict(((v.key, name), value) for (v, name, _o), value in zip(callbacks.VIEW_OUTPUTS, outputs))[
        ("fvc", "spaghetti")]
    assert fig.layout.title.text == same["spaghetti"].layout.title.text and "n = 12" in fig.layout.title.text
    # the request as the page keeps it (JSON): nothing to draw
    last = list(none)
    last[at] = json.loads(json.dumps(requests[at]))
    assert callbacks.visible_view(r, last) == ([no_update] * len(views.REGISTRY), [no_update] * len(outputs))
    # another selection, the same tab: drawn again
    r2 = state.reconcile(None, "?tab=fvc&sex=M&fvc_ref=0", state.Controls(), ds)
    requests2, _ = callbacks.visible_view(r2, last)
    assert requests2[at] is not no_update and requests2[at] != last[at]


def test_paper_view(req):
    out = callbacks.VIEW_CALLBACKS["paper"](tab="paper")
    assert "Table 4 Mean" in texts(out["table"])


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
    fig, *_rest, alt_spaghetti, alt_pairs, alt_water = alsfrs({"cohort": "progressors"})
    assert alt_spaghetti.startswith("ALSFRS over time (n = 12) SIMULATED")
    assert "one line per patient" in alt_spaghetti
    assert "11 patients" in alt_pairs and "above zero" in alt_water
    *_x, alt = safety({})
    assert "15 patients with events" in alt


def test_presentation_mode_enlarges_figures(req):
    normal = fvc({}, 70, [])[0]
    big = fvc({}, 70, ["on"])[0]
    assert big.layout.font.size > normal.layout.font.size
    assert big.data[0].line.width > normal.data[0].line.width


def test_mixed_models_fitted_at_once_for_small_selections_and_on_request_above(req, monkeypatch):
    from dashboard.views import alsfrs as alsfrs_view

    parts = callbacks.DEFERRED_CALLBACKS[("alsfrs", "mixed")]

    def fit(window, store, tab, asked):
        return parts[window](store=store, tab=tab, fit_mixed=asked)

    small = texts(fit(3, {"cohort": "progressors"}, "alsfrs", []))
    assert "Tick 'Fit the mixed models'" not in small and "Progressors" in small
    monkeypatch.setattr(alsfrs_view, "AUTO_FIT_PATIENTS", 10)
    asked_not = fit(3, {"cohort": "progressors"}, "alsfrs", [])
    assert "up to 10 patients; this selection has 12" in texts(asked_not)
    assert fit(6, {"cohort": "progressors"}, "alsfrs", []) is None  # the notice once, not per window
    assert texts(fit(3, {"cohort": "progressors"}, "alsfrs", ["fit"])) == small
    with pytest.raises(PreventUpdate):
        fit(3, {"cohort": "progressors"}, "overview", ["fit"])


def test_every_download_is_audited(app, tmp_path, monkeypatch):
    """An export (CSV or report) leaves an audit line with its file name, size and hash (issue 16)."""
    import hashlib
    import json

    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from dashboard import audit, ids

    log_path = tmp_path / "audit.jsonl"
    monkeypatch.setitem(app.server.config, audit.CONFIG_KEY,
                        audit.AuditLog(str(log_path), app.server.config[audit.CONFIG_KEY].store))
    with app.server.test_request_context():
        token = context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{ids.DOWNLOAD_INCIDENCE}.n_clicks",
                                                                   "value": 1}],
                                                input_values={}, state_values={}, updated_props={}))
        try:
            out = callbacks.download(clicks=[0, 0, 1, 0, 0], store={"cohort": "stable"}, tab="safety")
        finally:
            context_value.reset(token)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["event"] == "export"
    assert lines[0]["filename"] == out["filename"] and "incidence" in out["filename"]
    assert lines[0]["sha256"] == hashlib.sha256(out["content"].encode()).hexdigest()
    assert lines[0]["filter"] == {"cohort": "stable"}


def test_the_page_loads_no_core_js_and_serves_regenerator_runtime_before_the_renderer(app):
    """Dash's @babel/polyfill (core-js 2) replaced Chromium's parseInt, parseFloat and trim with functions 10-50
    times slower, which plotly.js calls while drawing.  The page leaves it out; the one global Dash's bundles need
    from it, regeneratorRuntime, comes from assets/regenerator-runtime.js, before the renderer starts."""
    import re

    page = app.server.test_client().get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts, page[:500]
    assert not [s for s in scripts if "polyfill" in s]
    runtime = [i for i, s in enumerate(scripts) if s.startswith("/assets/regenerator-runtime.js")]
    renderer = [i for i, s in enumerate(scripts) if "dash_renderer" in s]
    assert len(runtime) == 1 and len(renderer) == 1 and runtime[0] < renderer[0]
    body = app.server.test_client().get(scripts[runtime[0]]).get_data(as_text=True)
    assert "regeneratorRuntime = runtime" in body and "MIT License" in body


def _sync_state_on_load(app, search: str) -> dict:
    """sync_state as the page calls it when it loads ``search``: every input and state at its value in the
    page as served; its answer by "id.property" (no_update where nothing is sent)."""
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    page = app.layout() if callable(app.layout) else app.layout
    props = {c.id: c for c in page._traverse() if isinstance(getattr(c, "id", None), str)}
    args = [search if d.component_id == ids.URL else getattr(props[d.component_id], d.component_property, None)
            for d in callbacks.SYNC_INPUTS + callbacks.SYNC_STATES]
    with app.server.test_request_context():
        token = context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{ids.URL}.search", "value": search}],
                                                input_values={}, state_values={}, updated_props={}))
        try:
            out = callbacks.sync_state(*args)
        finally:
            context_value.reset(token)
    return dict(zip((f"{o.component_id}.{o.component_property}" for o in callbacks.SYNC_OUTPUTS), out, strict=True))


def test_a_page_load_sends_only_the_options_and_notice_the_address_changes(app):
    """On a page load, sync_state sends a view's option only where the address sets it to another value than
    the control shows, and no empty notice over an empty one: every property sent is rendered again."""
    options = [f"{ids.slot_id(v.prefix, o.suffix)}.value" for v, o in views.URL_OPTIONS]
    plain = _sync_state_on_load(app, "?tab=weakness")
    assert [k for k in options if plain[k] is not no_update] == []
    assert plain[f"{ids.URL_NOTICE}.children"] is no_update
    assert plain[f"{ids.slot_id('ws', 'grid')}.figure"] is not no_update  # the view itself is drawn
    level = next(o for v, o in views.URL_OPTIONS if v.key == "safety" and o.name == "level")
    linked = _sync_state_on_load(app, f"?tab=safety&{level.param}=preferred")
    assert {k: v for k, v in linked.items() if k in options and v is not no_update} == {
        f"{ids.slot_id('ae', level.suffix)}.value": "preferred"}
    warned = _sync_state_on_load(app, "?tab=weakness&sex=X")
    assert "sex" in texts(warned[f"{ids.URL_NOTICE}.children"])
