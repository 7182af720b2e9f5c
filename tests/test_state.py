"""dashboard.state and CohortFilter.from_controls: the URL <-> controls rules, without Flask or Dash.

The shipped dataset's slider bounds: age 33-64, disease duration 11-99, baseline ALSFRS 15-37,
deltaFS 0.1-1.1, baseline FVC 70-118; patients "1".."26".
"""

from __future__ import annotations

import argparse
from urllib.parse import quote

import pytest

from dashboard import cohorts, ids, state, views
from dashboard.__main__ import _add_filters
from dashboard.cohorts import CATEGORIES, RANGES, CohortFilter
from dashboard.state import Controls, reconcile

KNOWN = {str(i) for i in range(1, 27)}
ALL_RANGES = {"age": [33, 64], "disease_duration": [11, 99], "baseline_alsfrs": [15, 37], "delta_fs": [0.1, 1.1],
              "baseline_fvc": [70, 118]}


@pytest.fixture(scope="module")
def bounds(shipped):
    return state.slider_bounds(shipped, cohorts.patient_frame(shipped))


def test_slider_bounds_of_the_shipped_data(bounds):
    assert bounds == {name: tuple(v) for name, v in ALL_RANGES.items()}


def controls(**kw) -> Controls:
    """Controls as the page shows them with no filter, changed by ``kw``."""
    return Controls(**{"categories": {c.field: [] for c in CATEGORIES}, "ranges": dict(ALL_RANGES), "patients": [],
                       **kw})


def from_controls(bounds, population="safety", threshold=2, categories=None, ranges=None, patients=()):
    return CohortFilter.from_controls(population, threshold, categories or {}, {**ALL_RANGES, **(ranges or {})},
                                      list(patients), bounds, KNOWN)


# ---------------------------------------------------------------- CohortFilter.from_controls


def test_from_controls_untouched_is_the_default_filter(bounds):
    assert from_controls(bounds) == (CohortFilter(), [])
    # empty or missing values: no filter either
    assert CohortFilter.from_controls(None, None, {}, {}, None, bounds, KNOWN) == (CohortFilter(), [])


def test_from_controls_reads_every_control(bounds):
    filt, notices = from_controls(bounds, "compare", 3.5, {"sex": ["F"], "onset": ["spinal", "spinal+bulbar"]},
                                  {"age": [40, 64], "baseline_fvc": [70, 100]}, ["3", "1"])
    assert notices == []
    assert filt == CohortFilter(population="compare", min_decline=3.5, sex=("F",), onset=("spinal", "spinal+bulbar"),
                                age=(40, None), baseline_fvc=(None, 100), patients=("3", "1"))


def test_from_controls_drops_what_is_not_a_choice(bounds):
    filt, notices = from_controls(bounds, "bogus", 2, {"sex": ["F", "X", None], "onset": ["cervical"]},
                                  patients=["1", "99", 5, None, "<b>"])
    assert notices == []
    assert (filt.population, filt.sex, filt.onset, filt.patients) == ("safety", ("F",), (), ("1",))


@pytest.mark.parametrize("threshold,expected", [
    (0, 2.0), (-1, 2.0), (1001, 2.0), (float("nan"), 2.0), (float("inf"), 2.0), (None, 2.0), ("3", 2.0),
    (1000, 1000.0), (0.5, 0.5), (4, 4.0),
])
def test_from_controls_threshold_in_zero_to_thousand(bounds, threshold, expected):
    filt, notices = from_controls(bounds, threshold=threshold)
    assert filt.min_decline == expected
    # a value the control sent that is not used is said (issue 15: a negative threshold reverted silently)
    ignored = threshold is not None and expected == 2.0 and threshold != 2
    assert len(notices) == int(ignored) and all("progressor threshold" in n for n in notices)


@pytest.mark.parametrize("value,expected", [
    ([33, 64], (None, None)),          # at the bounds: no limit
    ([20, 80], (None, None)),          # beyond them: no limit either
    ([40, 64], (40.0, None)),
    ([33, 50], (None, 50.0)),
    ([40, 50], (40.0, 50.0)),
    ([45, 45], (45.0, 45.0)),
    ([55, 45], (None, None)),          # low above high: no limit
    (None, (None, None)),
    ([], (None, None)),
    ("ab", (None, None)),              # not numbers: no limit
    ([40], (None, None)),
    ({}, (None, None)),
    ([float("nan"), 50], (None, 50.0)),
    ([float("inf"), 50], (None, None)),  # low above high
])
def test_from_controls_clamps_sliders_to_their_bounds(bounds, value, expected):
    filt, notices = from_controls(bounds, ranges={"age": value})
    assert filt.age == expected and notices == []


def test_from_controls_resets_a_filter_that_does_not_validate(bounds):
    # an infinite low with a high at the bound: (inf, None), which CohortFilter refuses
    filt, notices = from_controls(bounds, "stable", 3, {"sex": ["F"]}, {"age": [float("inf"), 80]})
    assert filt == CohortFilter()
    assert notices == ["Filters reset: age bound must be a finite number, not inf"]


# ---------------------------------------------------------------- reconcile: the address


def test_page_load_with_no_address_shows_everything(shipped):
    r = reconcile(None, "", controls(), shipped)
    assert r.filter == CohortFilter() and r.notices == () and r.search is None and r.store == {}
    assert r.count_text == "26 of 26 patients"
    assert r.words == "Safety population (all enrolled)"
    assert r.controls == Controls(population="safety", threshold=2.0, categories={"sex": [], "onset": []},
                                  ranges=ALL_RANGES, patients=[], tab="overview", highlight=None, present=False,
                                  options={o.param: o.control_value(o.default) for _v, o in views.URL_OPTIONS})
    assert r.slider_texts == {"age": "33 - 64 years (all)", "disease_duration": "11 - 99 months (all)",
                              "baseline_alsfrs": "15 - 37 points (all)", "delta_fs": "0.1 - 1.1 points/month (all)",
                              "baseline_fvc": "70 - 118 % predicted (all)"}


def test_address_with_bad_parameters_names_each_and_keeps_the_rest(shipped):
    search = ("?cohort=bogus&threshold=0&sex=X,F&onset=cervical&age_min=abc&age_max=30&fvc_min=90&fvc_max=80"
              "&duration_min=nan&patients=1,99,<b>&tab=nope&present=maybe&patient=77")
    r = reconcile(ids.URL, search, controls(population="stable", tab="fvc", highlight="3", present=True), shipped)
    assert list(r.notices) == [
        "cohort='bogus' ignored: choose from safety, efficacy, progressors, stable, compare",
        "threshold='0' ignored: not a positive number",
        "sex='X' ignored: choose from F, M",
        "onset='cervical' ignored: choose from spinal, spinal+bulbar, bulbar",
        "age_min='abc' ignored: not a number",
        "duration_min='nan' ignored: not a number",
        "fvc_min=90 and fvc_max=80 ignored: minimum above maximum",
        "patients: invalid id(s) '<b>' ignored",
        "patients: unknown id(s) 99 ignored",
        f"tab='nope' ignored: choose from {', '.join(views.TAB_KEYS)}",
        "present='maybe' ignored: use 1 or 0",
        "patient='77' ignored: no such patient",
    ]
    assert r.filter == CohortFilter(sex=("F",), age=(None, 30.0), patients=("1",))
    assert r.store == {"sex": "F", "age_max": "30", "patients": "1"}
    assert r.search == "?sex=F&age_max=30&patients=1"  # the address is rewritten without what was ignored
    # the address wins over the controls: its view, not theirs
    assert (r.controls.tab, r.controls.highlight, r.controls.present) == ("overview", None, False)
    assert r.controls.ranges["age"] == [33, 30.0] and r.slider_texts["age"] == "33 - 30 years"


def test_address_too_long_is_ignored(shipped):
    r = reconcile(ids.URL, "?" + "a=1&" * 7000, controls(), shipped)
    assert r.notices == ("The address was too long and was ignored.",)
    assert r.filter == CohortFilter() and r.search == ""


@pytest.mark.parametrize("search,notice", [
    ("?threshold=1001", "threshold='1001' ignored: not a positive number"),
    ("?threshold=-2", "threshold='-2' ignored: not a positive number"),
    ("?patients=98,99", "patients: unknown id(s) 98, 99 ignored"),
])
def test_address_threshold_out_of_range_and_unknown_patients(shipped, search, notice):
    r = reconcile(ids.URL, search, controls(), shipped)
    assert r.notices == (notice,)
    assert r.filter == CohortFilter() and r.search == ""


def test_address_with_a_valid_view(shipped):
    search = ("?cohort=compare&threshold=3.5&sex=F&onset=spinal%2Bbulbar&age_min=40&patients=3,1"
              "&tab=alsfrs&patient=7&present=1")
    r = reconcile(None, search, controls(), shipped)
    assert r.notices == ()
    assert r.filter == CohortFilter(population="compare", min_decline=3.5, sex=("F",), onset=("spinal+bulbar",),
                                    age=(40.0, None), patients=("3", "1"))
    assert (r.controls.tab, r.controls.highlight, r.controls.present) == ("alsfrs", "7", True)
    assert r.controls.categories == {"sex": ["F"], "onset": ["spinal+bulbar"]}
    assert r.search == ("?cohort=compare&threshold=3.5&sex=F&onset=spinal%2Bbulbar&age_min=40&patients=3%2C1"
                        "&tab=alsfrs&patient=7&present=1")  # the same address, canonically encoded


def test_address_already_canonical_is_left_alone(shipped):
    r = reconcile(ids.URL, "?cohort=stable&tab=fvc", controls(), shipped)
    assert r.search is None and r.store == {"cohort": "stable"} and r.controls.tab == "fvc"
    assert r.count_text == "11 of 26 patients"


# ---------------------------------------------------------------- reconcile: reset and controls


def test_reset_clears_filters_and_highlight_but_keeps_the_view(shipped):
    before = controls(population="stable", threshold=5, categories={"sex": ["F"], "onset": ["spinal"]},
                      patients=["4"], tab="fvc", highlight="4", present=True)
    r = reconcile(ids.RESET, "?cohort=stable&threshold=5&sex=F&onset=spinal&patients=4&tab=fvc&patient=4&present=1",
                  before, shipped)
    assert r.filter == CohortFilter() and r.notices == ()
    assert (r.controls.tab, r.controls.highlight, r.controls.present) == ("fvc", None, True)
    assert r.search == "?tab=fvc&present=1" and r.store == {}
    assert r.controls.categories == {"sex": [], "onset": []} and r.controls.ranges == ALL_RANGES


def test_control_change_updates_filter_store_and_address(shipped):
    now = controls(population="progressors", categories={"sex": ["F"], "onset": []}, tab="alsfrs", highlight="7",
                   ranges={**ALL_RANGES, "age": [40, 64]})
    r = reconcile(ids.POPULATION, "", now, shipped)
    assert r.filter == CohortFilter(population="progressors", sex=("F",), age=(40.0, None))
    assert r.store == {"cohort": "progressors", "sex": "F", "age_min": "40"}
    assert r.search == "?cohort=progressors&sex=F&age_min=40&tab=alsfrs&patient=7"
    assert r.words == ("Progressors; progressor = ALSFRS fall of at least 2 points before day 0; sex F; "
                       "age at least 40 years")
    assert r.slider_texts["age"] == "40 - 64 years" and r.notices == ()
    assert r.count_text == f"{cohorts.select(shipped, r.filter).n} of 26 patients"


def test_control_change_drops_unknown_patients_tabs_and_highlights_silently(shipped):
    now = controls(patients=["1", "99", 7], tab="nope", highlight="99")
    r = reconcile(ids.PATIENT_PICKER, "", now, shipped)
    assert r.filter.patients == ("1",) and r.notices == ()
    assert (r.controls.patients, r.controls.tab, r.controls.highlight) == (["1"], "overview", None)
    assert reconcile(ids.HIGHLIGHT, "", controls(highlight=["7"]), shipped).controls.highlight is None


def test_control_change_that_does_not_validate_resets_with_a_notice(shipped):
    now = controls(population="stable", ranges={**ALL_RANGES, "age": [float("inf"), 80]})
    r = reconcile(ids.RANGE_IDS["age"], "?cohort=stable", now, shipped)
    assert r.filter == CohortFilter() and r.search == ""
    assert r.notices == ("Filters reset: age bound must be a finite number, not inf",)


def test_threshold_control_out_of_range_keeps_the_default(shipped):
    for bad in (0, -3, 1001, None):
        r = reconcile(ids.THRESHOLD, "", controls(population="progressors", threshold=bad), shipped)
        assert r.filter.min_decline == 2.0 and r.controls.threshold == 2.0
        assert len(r.notices) == (0 if bad is None else 1)
        assert r.count_text == "12 of 26 patients"


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("change", [
    dict(population="compare", threshold=3.5, categories={"sex": ["F"], "onset": ["spinal", "spinal+bulbar"]}),
    dict(ranges={"age": [40, 60], "disease_duration": [11, 24], "baseline_alsfrs": [20, 37], "delta_fs": [0.35, 0.9],
                 "baseline_fvc": [70, 110]}),
    dict(population="stable", threshold=0.5, patients=["2", "4", "9"], tab="weakness", highlight="4", present=True),
    dict(),
])
def test_controls_to_params_to_address_to_the_same_filter(shipped, change):
    ranges = {**ALL_RANGES, **change.pop("ranges", {})}
    r = reconcile(ids.POPULATION, "", controls(ranges=ranges, **change), shipped)
    assert r.notices == ()
    # the store and the address hold the filter ...
    assert CohortFilter.from_params(r.store) == (r.filter, [])
    # ... and opening the address gives the same filter, controls and texts, and leaves the address alone
    opened = reconcile(ids.URL, r.search or "", controls(), shipped)
    assert opened.notices == () and opened.search is None
    assert (opened.filter, opened.controls, opened.slider_texts, opened.words) == (
        r.filter, r.controls, r.slider_texts, r.words)


def test_every_category_and_range_has_a_url_parameter_and_a_cli_option():
    parser = argparse.ArgumentParser()
    _add_filters(parser)
    argv, expected = [], {}
    for cat in CATEGORIES:
        argv += [f"--{cat.param}", ",".join(cat.choices)]
        expected[cat.param] = ",".join(cat.choices)
    for _name, stem, *_ in RANGES:
        argv += [f"--{stem}-min", "1", f"--{stem}-max", "2"]
        expected.update({f"{stem}_min": "1", f"{stem}_max": "2"})
    args = vars(parser.parse_args(argv))
    assert {k: args[k] for k in expected} == expected
    filt, notices = CohortFilter.from_params(expected)
    assert notices == [] and all(getattr(filt, cat.field) == cat.choices for cat in CATEGORIES)
    assert filt.to_params() == expected


def test_category_ids_keep_the_browser_tests_ids():
    assert (ids.CATEGORY_IDS["sex"], ids.CATEGORY_IDS["onset"]) == (ids.SEX, ids.ONSET) == ("sex", "onset")
    assert ids.CATEGORY_IDS["site"] == "category-site"  # a new category needs no entry


def test_parse_search():
    assert state.parse_search("?cohort=stable&tab=fvc&tab=alsfrs") == {"cohort": "stable", "tab": "alsfrs"}
    assert state.parse_search("?onset=" + quote("spinal+bulbar")) == {"onset": "spinal+bulbar"}
    assert state.parse_search(None) == {} and state.parse_search("?" + "a=1&" * 10000) == {}


def test_population_counts_follow_the_threshold(shipped):
    """The radio said "Progressors (12)" after the threshold had made the group 7 (issue 15)."""
    r2 = reconcile(ids.THRESHOLD, "", Controls(threshold=2), shipped)
    r5 = reconcile(ids.THRESHOLD, "", Controls(threshold=5), shipped)
    labels2 = {o["value"]: o["label"] for o in r2.population_options}
    labels5 = {o["value"]: o["label"] for o in r5.population_options}
    for pop, label in labels5.items():
        if pop == cohorts.COMPARE:
            continue
        n = cohorts.select(shipped, CohortFilter(population=pop, min_decline=5)).n
        assert label.endswith(f"({n})"), (pop, label)
    assert labels2["progressors"].endswith("(12)") and labels5["progressors"] != labels2["progressors"]


def test_a_threshold_out_of_range_says_so():
    """A negative threshold used to revert to 2 without a word."""
    for bad in (-1, 0, 5000):
        filt, notices = CohortFilter.from_controls("progressors", bad, {}, {}, [], {n: (0, 1) for n, *_ in RANGES}, [])
        assert filt.min_decline == 2.0
        assert notices and f"progressor threshold {bad!r} ignored" in notices[0]
    _filt, notices = CohortFilter.from_controls("progressors", None, {}, {}, [], {n: (0, 1) for n, *_ in RANGES}, [])
    assert notices == []


def test_view_options_travel_in_the_address(shipped):
    """The ALSFRS window, the fitted slopes, the reference lines and the safety colouring and filters are in a
    shared link (issue 15: a link lost them)."""
    opts = {"fits": ["fits"], "window": 9, "fvc_ref": 80, "ws_stable": 0.5, "colour": "serious", "only": ["serious"]}
    r = reconcile(ids.ALSFRS_WINDOW, "", controls(tab="alsfrs", options=opts), shipped)
    for part in ("fits=1", "window=9", "fvc_ref=80", "ws_stable=0.5", "colour=serious", "only=serious", "tab=alsfrs"):
        assert part in r.search, (part, r.search)
    back = reconcile(ids.URL, r.search, controls(), shipped)
    assert back.notices == ()
    assert back.controls.options == {"fits": ["fits"], "window": 9, "fvc_ref": 80.0, "ws_stable": 0.5,
                                     "colour": "serious", "only": ["serious"], "allae": [],
                                     "between": "functional", "kmci": [], "endpoint": "",
                                     "level": "verbatim", "system": "all", "swim": "group"}
    # defaults stay out of the address; bad values are named and leave the default
    assert reconcile(ids.ALSFRS_WINDOW, "", controls(options={"window": 3}), shipped).search is None
    bad = reconcile(ids.URL, "?window=7&fits=maybe&fvc_ref=-5&colour=pink&only=serious,x", controls(), shipped)
    assert list(bad.notices) == [
        "fits='maybe' ignored: use 1 or 0",
        "window='7' ignored: choose from 3, 6, 9, 12",
        "fvc_ref='-5' ignored: a number from 0 to 200",
        "colour='pink' ignored: choose from severity, serious, related",
        "only='x' ignored: choose from serious, related",
    ]
    assert bad.controls.options["window"] == 3 and bad.controls.options["only"] == ["serious"]


def test_population_choices_are_counted_again_only_where_a_change_can_alter_them(shipped):
    """The counts depend on the threshold alone: the load, the address, the reset and the threshold count them
    (four selections); any other change leaves the page's choices as they are (None: sync_state sends nothing)."""
    counted = {trigger: reconcile(trigger, "?threshold=5", Controls(threshold=5), shipped).population_options
               for trigger in state.RECOUNT_TRIGGERS}
    assert all(counted.values()), counted
    by_url = {o["value"]: o["label"] for o in counted[ids.URL]}
    n5 = cohorts.select(shipped, CohortFilter(population="progressors", min_decline=5)).n
    assert by_url["progressors"] == f"Progressors ({n5})"
    assert counted[ids.RESET][0]["label"].startswith("Safety")
    for trigger in (ids.CATEGORY_IDS["sex"], ids.POPULATION, ids.TABS, ids.HIGHLIGHT, ids.PATIENT_PICKER,
                    ids.RANGE_IDS["age"]):
        r = reconcile(trigger, "", Controls(threshold=5, categories={"sex": ["F"]}), shipped)
        assert r.population_options is None, trigger
        assert r.filter.min_decline == 5  # what the shown counts were made for
