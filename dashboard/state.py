"""The page state: the address (URL query), the filter controls and the filter store, reconciled.

:func:`reconcile` is the whole rule, with no Dash in it: the ``sync_state`` callback only unpacks
the browser's values into :class:`Controls`, calls it, and returns the :class:`StateResult`.

* The address changed (or the page loaded): it wins.  Its filter is parsed by
  :meth:`CohortFilter.from_params`; the view (``tab``, ``patient``, ``present``) here; anything
  invalid is ignored and named in a notice.
* "Reset filters" was pressed: the default filter, no highlighted patient (the view stays).
* A control changed: :meth:`CohortFilter.from_controls` reads the controls.

Either way the controls, the sliders' texts, the store and the address are then drawn from the
one resulting filter, so they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

import pandas as pd

from . import cohorts, ids, stats, views
from .cohorts import CATEGORIES, DEFAULT_MIN_DECLINE, DEFAULT_POPULATION, RANGES, CohortFilter
from .data import Dataset

#: A longer address is ignored (with a notice), not parsed.
MAX_SEARCH_LENGTH = 20_000
DEFAULT_TAB = views.TAB_KEYS[0]
#: The range sliders' step by cohorts.RANGES field name; their bounds are the data's extent rounded out to it.
SLIDER_STEP = {"age": 1, "disease_duration": 1, "baseline_alsfrs": 1, "baseline_fvc": 1, "delta_fs": 0.05}
#: ``present=`` values: these turn presentation mode on, the others of PRESENT_VALUES off.
PRESENT_ON = ("1", "true", "on")
PRESENT_VALUES = ("0", "1", "true", "false", "on", "off")


def parse_search(search: str | None) -> dict[str, str]:
    """``"?cohort=stable&tab=fvc"`` -> ``{"cohort": "stable", "tab": "fvc"}`` (the last of repeated keys);
    empty for an address longer than MAX_SEARCH_LENGTH."""
    if not search or len(search) > MAX_SEARCH_LENGTH:
        return {}
    q = parse_qs(search.lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in q.items()}


def slider_bounds(ds: Dataset, patient_frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each range filter's full extent in the data (floor/ceil to the slider's step), used by the sliders."""
    out = {}
    for name, _stem, col, *_ in RANGES:
        v = pd.to_numeric(patient_frame[col], errors="coerce").dropna()
        step = SLIDER_STEP.get(name, 1)
        lo, hi = (math.floor(v.min() / step) * step, math.ceil(v.max() / step) * step) if len(v) else (0.0, 1.0)
        if lo == hi:
            hi = lo + step
        out[name] = (round(float(lo), 6), round(float(hi), 6))
    return out


@dataclass(frozen=True)
class Controls:
    """The values of the filter panel's controls and of the view's (tab, highlighted patient, presentation).

    As input: the browser's raw values (anything; they are checked).  As output: what the controls show.
    ``categories``: CATEGORIES field -> the checklist's values; ``ranges``: RANGES field -> ``[low, high]``.
    """

    population: object = DEFAULT_POPULATION
    threshold: object = DEFAULT_MIN_DECLINE
    categories: Mapping[str, object] = field(default_factory=dict)
    ranges: Mapping[str, object] = field(default_factory=dict)
    patients: object = ()
    group_by: object = ""
    tab: object = DEFAULT_TAB
    highlight: object = None
    present: bool = False
    #: the views' options carried by the URL: URL parameter -> the control's value (views.URL_OPTIONS)
    options: Mapping[str, object] = field(default_factory=dict)


def _option_values(controls: Controls) -> dict[str, object]:
    """Each URL option's control value as it should show (invalid or missing: the default)."""
    return {o.param: o.control_value(o.parse(controls.options.get(o.param, o.control_value(o.default))))
            for _v, o in views.URL_OPTIONS}


def _options_from_address(search: str | None) -> tuple[dict[str, object], list[str]]:
    params = parse_search(search)
    values, notices = {}, []
    for _v, o in views.URL_OPTIONS:
        if o.param in params:
            values[o.param], problem = o.from_param(params[o.param])
            if problem:
                notices.append(problem)
        else:
            values[o.param] = o.control_value(o.default)
    return values, notices


@dataclass(frozen=True)
class StateResult:
    """Everything the page shows of its state after one reconciliation."""

    filter: CohortFilter
    #: What the controls show now (ranges: the sliders' values, within their bounds).
    controls: Controls
    #: The new address query ("" for none), or None when it is the one the browser has.
    search: str | None
    #: The filter store's data (the filter's URL parameters).
    store: dict[str, str]
    #: Ignored link parameters and reset filters, to show in a notice.
    notices: tuple[str, ...]
    #: "n of N patients".
    count_text: str
    #: The filter in words, with the unclassified efficacy patients if any.
    words: str
    #: Each range slider's text by RANGES field, e.g. "40 - 64 years (all)".
    slider_texts: dict[str, str]
    #: The population choices with their counts at the filter's threshold, where this change may alter them
    #: (RECOUNT_TRIGGERS); None where they stay as the page shows them.
    population_options: tuple[dict, ...] | None = None
    #: What is simulated among the values the selected view shows, in words ("" when nothing is).
    simulated: str = ""


def population_options(dataset: Dataset, min_decline: float) -> list[dict]:
    """The population radio's choices, each with its number of patients at the progressor threshold
    ``min_decline`` (progressors and stable change with it); the comparison shows no single count."""
    out = []
    grouping = stats.progression_reason(dataset) is None
    for p in cohorts.POPULATIONS:
        if p in cohorts.PROGRESSION_POPULATIONS and not grouping:
            continue  # no pre-treatment period: no progressors, no stable patients (stats.pre_post_rule)
        label = cohorts.POPULATION_LABELS[p]
        if p != cohorts.COMPARE:
            n = cohorts.select(dataset, CohortFilter(population=p, min_decline=min_decline)).n
            label += f" ({n})"
        out.append({"label": label, "value": p})
    return out


def grouping_reason(dataset: Dataset, grouping: str) -> str | None:
    """Why the dataset's patients cannot be grouped by ``grouping``, or None (progression also needs a
    pre-treatment period)."""
    if grouping == "progression" and (why := stats.progression_reason(dataset)) is not None:
        return why
    return cohorts.grouping_reason(dataset, grouping)


def grouping_options(dataset: Dataset) -> list[dict]:
    """The group-by radio's choices: none, and each grouping the dataset offers."""
    return [{"label": "No grouping", "value": ""}] + [
        {"label": cohorts.GROUPING_LABELS[g], "value": g} for g in cohorts.GROUPINGS
        if grouping_reason(dataset, g) is None]


def unrecorded_categories(patient_frame: pd.DataFrame) -> tuple[str, ...]:
    """The category filters (CATEGORIES fields) whose attribute nobody in the dataset has recorded: not offered."""
    return tuple(cat.field for cat in CATEGORIES if patient_frame[cat.column].isna().all())


def offered_filter(dataset: Dataset, filt: CohortFilter) -> tuple[CohortFilter, list[str]]:
    """The filter without what the dataset does not offer, and a notice for each part dropped: a
    progressor/stable population it cannot define (:func:`dashboard.stats.progression_reason`; the
    default population instead) and a category filter on an attribute nobody has recorded."""
    notices = []
    why = stats.progression_reason(dataset) if filt.population in cohorts.PROGRESSION_POPULATIONS else None
    if why is not None:
        notices.append(f"cohort={filt.population!r} ignored: {why}; showing the "
                       f"{cohorts.POPULATION_LABELS[DEFAULT_POPULATION]}")
        filt = filt.with_(population=DEFAULT_POPULATION)
    if filt.group_by and filt.population != cohorts.COMPARE:
        why = grouping_reason(dataset, filt.group_by)
        if why is not None:
            notices.append(f"group={filt.group_by!r} ignored: {why}")
            filt = filt.with_(group_by="")
    for name in unrecorded_categories(cohorts.patient_frame(dataset)):
        cat = next(c for c in CATEGORIES if c.field == name)
        if getattr(filt, name):
            notices.append(f"{cat.param}={','.join(getattr(filt, name))!r} ignored: {cat.label.lower()} is not "
                           "recorded in this dataset")
            filt = filt.with_(**{name: ()})
    return filt, notices


#: The changes after which the population choices are counted again (the page load, the address, the reset and
#: the threshold: the counts depend on the threshold alone).  Counting them is four selections (29 of the 50 ms
#: of a filter change at 10,000 patients), and every other change leaves them as they are.
RECOUNT_TRIGGERS = (None, ids.URL, ids.RESET, ids.THRESHOLD)


def reconcile(trigger: str | None, search: str | None, controls: Controls, dataset: Dataset) -> StateResult:
    """The page state after ``trigger`` (a component id: ids.URL, ids.RESET or a control's; None on load) changed.

    ``search``: the address's query as the browser has it; ``controls``: the controls' current values.
    """
    pf = cohorts.patient_frame(dataset)
    bounds = slider_bounds(dataset, pf)
    known = set(pf.index)
    tab, highlight, present = controls.tab, controls.highlight, bool(controls.present)
    options = _option_values(controls)
    notices: list[str] = []
    if trigger is None or trigger == ids.URL:
        filt, tab, highlight, present, notices = _from_address(search, known)
        options, option_notices = _options_from_address(search)
        notices += option_notices
    elif trigger == ids.RESET:
        filt = CohortFilter()
        highlight = None
    else:
        filt, notices = CohortFilter.from_controls(
            controls.population, controls.threshold, controls.categories, controls.ranges, controls.patients,
            bounds, known, controls.group_by)
        if tab not in views.TAB_KEYS:
            tab = DEFAULT_TAB
        if not isinstance(highlight, str) or highlight not in known:
            highlight = None
    filt, unavailable = offered_filter(dataset, filt)
    notices += unavailable
    why = views.BY_KEY[tab].available(dataset) if tab in views.BY_KEY else None
    if why:
        notices.append(f"tab={tab!r} ignored: {why}")
        tab = DEFAULT_TAB
    cohort = cohorts.select(dataset, filt)
    params = filt.to_params()
    new_search = _address({**params, **_option_params(options)}, tab, highlight, present)
    slider_values, slider_texts = {}, {}
    for name, _stem, _col, _label, unit in RANGES:
        lo_b, hi_b = bounds[name]
        lo, hi = getattr(filt, name)
        v = [max(lo_b, lo) if lo is not None else lo_b, min(hi_b, hi) if hi is not None else hi_b]
        slider_values[name] = v
        slider_texts[name] = f"{v[0]:g} - {v[1]:g} {unit}" + ("" if (lo, hi) != (None, None) else " (all)")
    words = cohort.describe()
    if cohort.unclassified:
        words += (f". {len(cohort.unclassified)} efficacy patient(s) unclassified "
                  f"(missing {cohort.scale} before or at day 0).")
    shown = Controls(
        population=filt.population, threshold=filt.min_decline,
        categories={cat.field: list(getattr(filt, cat.field)) for cat in CATEGORIES},
        ranges=slider_values, patients=list(filt.patients), group_by=filt.group_by, tab=tab, highlight=highlight,
        present=present,
        options=options)
    return StateResult(
        filter=filt, controls=shown, search=new_search if new_search != (search or "") else None, store=params,
        notices=tuple(notices), count_text=cohort.count_text(), words=words, slider_texts=slider_texts,
        population_options=(tuple(population_options(dataset, filt.min_decline)) if trigger in RECOUNT_TRIGGERS
                            else None),
        simulated=simulated_words(dataset, cohort, tab))


def simulated_words(dataset: Dataset, cohort: cohorts.Cohort, tab: str) -> str:
    """The simulated-data notice's text for a view and a selection ("" when it shows no simulated value)."""
    notes = views.simulated_notes(dataset, cohort, tab)
    return "; ".join(notes) + "." if notes else ""


def _from_address(search: str | None, known: set[str]):
    """Filter, tab, highlighted patient, presentation mode and notices from the address's query."""
    notices: list[str] = []
    params = parse_search(search)
    if search and len(search) > MAX_SEARCH_LENGTH:
        notices.append("The address was too long and was ignored.")
    filt, filter_notices = CohortFilter.from_params(params)
    notices += filter_notices
    unknown = [p for p in filt.patients if p not in known]
    if unknown:
        notices.append(f"patients: unknown id(s) {', '.join(unknown[:10])} ignored")
        filt = filt.with_(patients=tuple(p for p in filt.patients if p in known))
    tab = params.get("tab", DEFAULT_TAB)
    if tab not in views.TAB_KEYS:
        notices.append(f"tab={tab!r} ignored: choose from {', '.join(views.TAB_KEYS)}")
        tab = DEFAULT_TAB
    present = params.get("present") in PRESENT_ON
    if "present" in params and params["present"] not in PRESENT_VALUES:
        notices.append(f"present={params['present']!r} ignored: use 1 or 0")
    highlight = params.get("patient")
    if highlight is not None and highlight not in known:
        notices.append(f"patient={highlight!r} ignored: no such patient")
        highlight = None
    return filt, tab, highlight, present, notices


def _option_params(options: Mapping[str, object]) -> dict[str, str]:
    """The URL parameters of the views' options that differ from their defaults."""
    out = {}
    for _v, o in views.URL_OPTIONS:
        text = o.to_param(options.get(o.param))
        if text is not None:
            out[o.param] = text
    return out


def _address(params: dict[str, str], tab: str, highlight: str | None, present: bool) -> str:
    """The address query of a filter's parameters and a view ("" when all are defaults)."""
    view = dict(params)
    if tab != DEFAULT_TAB:
        view["tab"] = tab
    if highlight:
        view["patient"] = highlight
    if present:
        view["present"] = "1"
    return "?" + urlencode(view) if view else ""
