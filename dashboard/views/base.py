"""The view registry's vocabulary, and what every view shares (groups, rows, simulated notes).

A view is declared once, as a :class:`View`: its key and tab label, the
function that computes it (Dataset + Cohort + highlight + options in, a
frozen dataclass out), its controls (:class:`Option`), the slots it fills
(:class:`Slot`: figures, tables and notices, in the order they are shown),
its methods sentences and the measures whose simulated values it shows.
The dashboard's tabs, skeletons and callbacks, the HTML report, the
``figures`` command and the presentation order all follow from these
declarations (see ``dashboard/views/__init__.py``).  No Dash import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from .. import cohorts, figures, stats
from ..cohorts import Cohort
from ..data import MEASURES, Dataset, functional_measure

NO_PATIENTS = "No patients match the current filters"
#: What a view that needs measurements says on a dataset without any (a safety-only dataset: ADSL + ADAE).
NO_MEASUREMENTS = "This dataset has no measurements"


def no_values(ds: Dataset, what: str) -> str:
    """'This dataset has no measurements' where it has none at all, else 'This dataset has no <what>'."""
    return NO_MEASUREMENTS if ds.measurements.empty else f"This dataset has no {what}"


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Option:
    """A control of a view, passed to its compute function as the keyword ``name``.

    ``kind``: ``number`` (``low``-``high``, else the default), ``radio`` (one
    of ``choices``), ``checklist`` (any of ``choices``) or ``toggle`` (one
    checkbox: True or False).  ``choices`` are (value, label) pairs.  The
    control's id is ``ids.slot_id(view.prefix, name)`` with ``_`` as ``-``.
    """

    name: str
    kind: str
    label: str
    default: object
    choices: tuple[tuple[object, str], ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    #: the number input's own minimum, where it differs from what is accepted
    input_min: float | None = None
    #: radio/checklist drawn as a fieldset with a legend (else a label above)
    legend: bool = False
    #: radio drawn as a dropdown, for a long list of choices (the heatmap's 28 body systems as radio buttons took
    #: ten lines above the figure); its value is the radio's, parsed and carried in the URL alike
    dropdown: bool = False
    inline: bool = True
    #: the URL parameter that carries the option ("" = not in the URL); unique across views and filters
    param: str = ""
    #: radio: the choices for a dataset, where they depend on it (the survival view's endpoints; the default
    #: "" stands for the dataset's first choice); the control draws them, any string passes ``parse`` and a
    #: code of letters, digits, ``_.-`` passes ``from_param``: the view checks it against the dataset
    choices_of: Callable[[Dataset], tuple[tuple[object, str], ...]] | None = None

    @property
    def suffix(self) -> str:
        return self.name.replace("_", "-")

    def control_value(self, value):
        """What the control holds for a parsed value (a toggle: its one choice ticked or none)."""
        if self.kind == "toggle":
            return [self.choices[0][0]] if value else []
        if self.kind == "checklist":
            return list(value)
        return value

    def to_param(self, raw) -> str | None:
        """The URL value of a control's value, or None at the default (left out of the address)."""
        value = self.parse(raw)
        if value == self.default or (self.kind == "checklist" and not value):
            return None
        if self.kind == "toggle":
            return "1"
        if self.kind == "checklist":
            return ",".join(str(v) for v in value)
        return f"{value:.10g}" if self.kind == "number" else str(value)

    def from_param(self, text: str) -> tuple[object, str | None]:
        """(control value, problem or None) of a URL value; a problem leaves the default."""
        values = {str(v): v for v, _label in self.choices}
        if self.choices_of is not None:
            if re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", text):
                return text, None
            return self.default, f"{self.param}={text!r} ignored: not a code of this view's choices"
        if self.kind == "number":
            try:
                v = float(text)
            except ValueError:
                v = None
            if v is None or not self.low <= v <= self.high:
                return self.default, f"{self.param}={text!r} ignored: a number from {self.low:g} to {self.high:g}"
            return v, None
        if self.kind == "toggle":
            if text not in ("0", "1"):
                return self.control_value(self.default), f"{self.param}={text!r} ignored: use 1 or 0"
            return self.control_value(text == "1"), None
        items = [i.strip() for i in text.split(",") if i.strip()] if self.kind == "checklist" else [text]
        bad = [i for i in items if i not in values]
        problem = f"{self.param}={','.join(bad)!r} ignored: choose from {', '.join(values)}" if bad else None
        if self.kind == "checklist":  # the valid ones are kept
            return list(dict.fromkeys(values[i] for i in items if i in values)), problem
        return (self.control_value(self.default) if bad else values[items[0]]), problem

    def parse(self, raw):
        """The value a control sent, or the default where it is missing or invalid."""
        values = [v for v, _label in self.choices]
        if self.kind == "number":
            ok = isinstance(raw, (int, float)) and not isinstance(raw, bool) and self.low <= raw <= self.high
            return float(raw) if ok else self.default
        if self.kind == "radio":
            if self.choices_of is not None:
                return raw if isinstance(raw, str) else self.default
            return raw if raw in values else self.default
        if self.kind == "checklist":
            return tuple(v for v in (raw or []) if v in values)
        if self.kind == "toggle":
            return raw if isinstance(raw, bool) else bool(raw) and values[0] in raw
        raise ValueError(f"unknown option kind {self.kind!r}")


@dataclass(frozen=True)
class Slot:
    """One thing a view shows, filled from the attribute ``attr`` of its result.

    ``kind``: ``figure`` (a plotly figure), ``blocks`` (formatting blocks:
    tables, notices, paragraphs), ``flow`` (the patient-flow diagram) or
    ``deferred`` (blocks computed in their own request per part, e.g. one
    mixed-model fit per window: ``compute(ds, cohort, part, **options)``).
    The slot's id is ``ids.slot_id(view.prefix, name)``.
    """

    name: str
    kind: str
    attr: str = ""
    #: section heading in the dashboard and the report ("" = none)
    title: str = ""
    #: file stem of the figure in the ``figures`` command ("" = not exported)
    export: str = ""
    #: a click on the figure highlights the patient clicked
    clickable: bool = False
    #: consecutive slots with the same row name share a two-column row
    row: str = ""
    #: figures: also drawn in the HTML report
    in_report: bool = True
    #: shows individual patients (rows, listings, timelines): left out of the DSMB open-session report
    patient_level: bool = False
    # deferred slots
    parts: tuple = ()
    compute: Callable | None = None
    options: tuple[Option, ...] = ()
    #: paragraphs under a deferred slot's parts (methods)
    notes: tuple[str, ...] = ()
    #: whether a deferred slot's options are offered for a cohort (None: always)
    offer: Callable | None = None


@dataclass(frozen=True)
class View:
    key: str
    label: str
    #: prefix of the view's component ids (``alsfrs`` -> ``alsfrs-spaghetti``)
    prefix: str
    #: position in the tab bar, the report and presentation mode
    order: int
    compute: Callable
    slots: tuple[Slot, ...]
    options: tuple[Option, ...] = ()
    #: index in ``slots`` before which the controls are drawn
    controls_at: int = 0
    #: methods sentences shown at the end of the view (keys of ``formatting.METHODS``)
    methods: tuple[str, ...] = ()
    #: the measures whose simulated values the view shows
    measures: Callable[[Dataset], list[str]] = field(default=lambda ds: [])
    #: True: the view rests on the whole dataset, not the selection (the paper check)
    whole_dataset: bool = False
    #: the view reads the filter store / the highlighted patient
    uses_cohort: bool = True
    uses_highlight: bool = True
    in_report: bool = True
    report_title: str = ""
    #: None when the view is offered for a dataset, else why not (the paper check: only for the seed trial);
    #: the tab bar, the address, the callbacks and the report follow it
    available: Callable[[Dataset], str | None] = field(default=lambda ds: None)
    #: the tab label in the dataset's words (the functional view names the scale in use); None: ``label``
    label_of: Callable[[Dataset], str] | None = None

    def tab_label(self, ds: Dataset) -> str:
        return self.label_of(ds) if self.label_of is not None else self.label

    def heading_for(self, ds: Dataset) -> str:
        """The view's heading in the report, in the dataset's words."""
        return self.report_title or self.tab_label(ds)

    @property
    def figures(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.kind == "figure")

    @property
    def heading(self) -> str:
        return self.report_title or self.label


# ---------------------------------------------------------------- groups and rows


def group_map(cohort: Cohort) -> dict[str, str]:
    """Patient -> the key of its colour group (``cohort.shown_groups``; "all" when the cohort is not grouped)."""
    return cohort.shown_group_of()


def group_styles(cohort: Cohort) -> dict[str, figures.GroupStyle]:
    """Colour group key -> its label and fixed colour, in display order (the same in every view and export)."""
    return figures.group_styles(cohort.shown_groups, grouped=bool(cohort.filter.grouping))


def groups(cohort: Cohort) -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, label, ids) per group shown: one per group of the grouping, else one for the whole cohort."""
    return [(g.key, g.label, g.patient_ids) for g in cohort.shown_groups]


def measure_rows(ds: Dataset, cohort: Cohort, measures, group_key: str = "all") -> pd.DataFrame:
    """The cohort's (or one colour group's) rows of the measures, sorted by patient and month."""
    return cohorts.rows(ds.rows_of(measures), cohort, None if group_key == "all" else group_key)


def cohort_rows(ds: Dataset, cohort: Cohort, measures) -> dict[str, pd.DataFrame]:
    """The cohort's rows of the measures ("all") and each colour group's, selected once per view."""
    rows = {"all": measure_rows(ds, cohort, measures)}
    for key, _label, _pids in groups(cohort):
        if key not in rows:
            rows[key] = measure_rows(ds, cohort, measures, key)
    return rows


def group_summaries(ds: Dataset, cohort: Cohort, measures,
                    rows: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame | None:
    """Visit summaries per colour group (``rows``: the view's :func:`cohort_rows` of these measures)."""
    rows = rows if rows is not None else cohort_rows(ds, cohort, measures)
    parts = []
    for key, _label, _pids in groups(cohort):
        s = stats.visit_summaries(rows[key])
        if len(s):
            parts.append(s.assign(group=key))
    return pd.concat(parts, ignore_index=True) if parts else None


def outcome_over_time(ds: Dataset, cohort: Cohort, measure: str, highlight=None, fits=None, title=None,
                      reference=None, reference_label="", rows: dict[str, pd.DataFrame] | None = None) -> object:
    """The spaghetti plot of one measure for the cohort, or a message figure (``rows``: see :func:`group_summaries`)."""
    if measure not in ds.measures:
        return figures.message_figure(no_values(ds, f"{measure} values"))
    if cohort.n == 0:
        return figures.message_figure(NO_PATIENTS)
    rows = rows if rows is not None else cohort_rows(ds, cohort, [measure])
    return figures.spaghetti(rows["all"], measure, group_map(cohort),
                             group_summaries(ds, cohort, [measure], rows), highlight, fits, title=title,
                             styles=group_styles(cohort),
                             simulated=simulated_text(ds, measure, cohort),
                             reference=reference, reference_label=reference_label, time=figures.TimeWords.of(ds))


# ---------------------------------------------------------------- simulated values


#: What every view of a generated dataset says (metadata.json ``"simulated": true``).
SIMULATED_DATASET = ("every value of this dataset is simulated (a generated trial: patients, arms, deaths, adverse "
                     "events and measurements), not trial data")


def simulated_text(ds: Dataset, measure: str, cohort: Cohort | None = None) -> str | None:
    """'ALSFRS at visits I, II, ... is simulated, not trial data' (for the cohort's patients; None: the
    whole dataset), or None when none of those values is simulated."""
    visits = [v for v, where in ds.simulated_visits.get(measure, ())
              if cohort is None or cohort.mask[where].any()]
    if not visits:
        return None
    return f"{measure} at visit{'s' if len(visits) > 1 else ''} {', '.join(visits)} is simulated, not trial data"


def simulated_notes_for(ds: Dataset, cohort: Cohort, measures, whole_dataset: bool = False) -> list[str]:
    """What is simulated among the values of ``measures`` that a view (or the report) shows."""
    notes = [t for m in measures if (t := simulated_text(ds, m, None if whole_dataset else cohort))]
    if ds.simulated_dataset:
        notes.insert(0, SIMULATED_DATASET)
    fs = functional_measure(ds.measures)
    if cohort.filter.uses_progression and fs in ds.simulated_measures:
        notes.append(f"the progressor/stable grouping rests on simulated pre-treatment {MEASURES[fs].label}")
    return notes
