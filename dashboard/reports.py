"""What is exported about a cohort: the statistics JSON (``stats`` command).

Pure: Dataset and Cohort in, plain data out; no Dash import.
"""

from __future__ import annotations

from . import cohorts, stats
from .data import Dataset


def cohort_statistics(ds: Dataset, cohort: cohorts.Cohort) -> dict:
    """The ``stats`` command's JSON object (documented in README.md); NaN-free."""
    ids = cohort.patient_ids
    pf = cohorts.patient_frame(ds)
    m = ds.measurements
    slope_tests = []
    for measure in ds.measures:
        if stats.has_pre_treatment(m, measure):
            slope_tests += [t.to_dict() for t in stats.slope_tests(m, measure, ids)]
    visits = stats.visit_summaries(m, ids)
    ae = stats.ae_incidence(ds.adverse_events, ids)
    out = {
        "dataset": {"directory": str(ds.directory), "hash": ds.short_hash, "data_as_of": ds.data_as_of,
                    "simulated_measures": ds.simulated_measures},
        "cohort": cohort.to_dict(),
        "characteristics": stats.characteristics(pf, ids),
        "slope_tests": slope_tests,
        "visit_summaries": visits.to_dict(orient="records"),
        "adverse_events": ae.to_dict(orient="records"),
        "adverse_event_summary": stats.ae_summary(ds.adverse_events, ids),
    }
    return stats.clean(out)
