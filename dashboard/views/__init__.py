"""The view registry: every view of the dashboard, declared once.

Each module of this package that defines ``VIEW`` (a :class:`base.View`) is
a view; :data:`REGISTRY` holds them in their ``order``.  From it follow the
tab bar and each tab's skeleton (``layout``), the callbacks (``callbacks``),
the HTML report (``reports``), the ``figures`` command (``images``), the
simulated-data notice and presentation mode's order.  Adding a view is one
module here, its figure functions in ``figures.py`` and its tests.

A view's compute function takes (Dataset, Cohort, highlighted patient,
its options as keywords) and returns a frozen dataclass; the view's slots
name the attributes the dashboard and the report show.  No Dash import.
"""

from __future__ import annotations

import importlib
import pkgutil

from .. import figures
from ..cohorts import Cohort
from ..data import Dataset
from .base import NO_PATIENTS, Option, Slot, View, groups, simulated_notes_for, simulated_text


def _discover() -> tuple[View, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "VIEW", None), View):
            found.append(module.VIEW)
    found.sort(key=lambda v: v.order)
    keys = [v.key for v in found]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"two views share a key: {keys}")
    return tuple(found)


#: Every view, in tab order.
REGISTRY: tuple[View, ...] = _discover()
BY_KEY: dict[str, View] = {v.key: v for v in REGISTRY}
#: The tab values (URL ``tab=``), in order.
TAB_KEYS: tuple[str, ...] = tuple(BY_KEY)
#: (view, option) for every option carried by the URL, in registry order.
URL_OPTIONS: tuple[tuple[View, Option], ...] = tuple((v, o) for v in REGISTRY for o in v.options if o.param)
if len({o.param for _v, o in URL_OPTIONS}) != len(URL_OPTIONS):
    raise RuntimeError("two view options share a URL parameter")


def offered(ds: Dataset) -> tuple[View, ...]:
    """The views offered for a dataset (:attr:`View.available`), in tab order."""
    return tuple(v for v in REGISTRY if v.available(ds) is None)


def run(key: str, ds: Dataset, cohort: Cohort, highlight=None, **options):
    """Compute the view ``key`` with its options (missing ones take their defaults; raw values are parsed)."""
    view = BY_KEY[key]
    kw = {o.name: o.parse(options[o.name]) if o.name in options else o.default for o in view.options}
    result = view.compute(ds, cohort, highlight, **kw)
    if ds.simulated_dataset:  # every figure of a generated trial says so, wherever it is shown or exported
        for slot in view.figures:
            figures.mark_simulated(getattr(result, slot.attr), "every value of this generated dataset is simulated")
    return result


def simulated_notes(ds: Dataset, cohort: Cohort, view: str) -> list[str]:
    """What is simulated among the values a view shows (``report``: every measure; empty: nothing)."""
    if view == "report":
        return simulated_notes_for(ds, cohort, ds.measures)
    spec = BY_KEY.get(view)
    if spec is None:
        return simulated_notes_for(ds, cohort, [])
    return simulated_notes_for(ds, cohort, spec.measures(ds), spec.whole_dataset)


__all__ = ["BY_KEY", "NO_PATIENTS", "REGISTRY", "TAB_KEYS", "Option", "Slot", "View", "groups", "offered", "run",
           "simulated_notes", "simulated_text"]
