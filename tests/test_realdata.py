"""Real sponsor ADaM in (issue 12): the CDISC pilot submission's datasets, and small fixtures of each quirk.

Every expected number is computed from the raw files with ``pandas.read_sas`` (independently of the importer)
and, for the published facts, compared with the numbers written in tests/data/cdisc_pilot/README.md.
"""

from __future__ import annotations

import inspect
import json

import pandas as pd
import pytest

from dashboard import callbacks, cohorts, importers, reports, stats, views
from dashboard.importers.rules import day_to_month
from dashboard.server import create_app
from tests import adam_fixtures as fx
from tests.helpers import PILOT, pilot_raw, run_cli

raw = pilot_raw


@pytest.fixture(scope="module")
def pilot():
    return importers.load(PILOT)


def everyone(ds):
    return cohorts.select(ds, cohorts.CohortFilter.from_params({})[0])


# ---------------------------------------------------------------- the CDISC pilot


def test_validate_exits_0_and_names_the_warnings():
    r = run_cli("validate", "--data", str(PILOT))
    assert r.returncode == 0, r.stderr
    qs, ae = raw("adqscibc"), raw("adae")
    n_cibic, n_blank = int((qs["PARAMCD"] == "CIBICVAL").sum()), int((ae["AEREL"] == "").sum())
    assert (n_cibic, n_blank) == (730, 4)
    out = r.stdout
    assert f"unknown PARAMCD 'CIBICVAL': {n_cibic} records skipped" in out
    assert f"relationship not recorded (empty): {n_blank}" in out
    assert sum(line.startswith("warning: adae.xpt:") and "AEREL: empty" in line for line in out.splitlines()) == 4
    assert "paramcd,measure\nCIBICVAL," in out  # the suggested mapping file
    strict = run_cli("validate", "--strict", "--data", str(PILOT))
    assert strict.returncode == 1 and "--strict" in strict.stderr


def test_patients_and_arms(pilot):
    adsl = raw("adsl")
    assert len(pilot.patients) == len(adsl) == 254
    arms = pilot.patients["arm"].value_counts().to_dict()
    assert arms == adsl["TRT01A"].value_counts().to_dict()
    assert arms == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    assert pilot.patients["safety_population"].all()
    assert int(pilot.patients["efficacy_population"].sum()) == int((adsl["EFFFL"] == "Y").sum())
    assert pilot.source_study_id == "CDISCPILOT01"
    assert any("TRT01A" in n for n in pilot.import_report.notes)
    assert any(n.startswith("efficacy population from EFFFL") for n in pilot.import_report.notes)


def test_treatment_emergent_events_by_arm(pilot):
    adae, adsl = raw("adae"), raw("adsl")
    te = adae[adae["TRTEMFL"] == "Y"].merge(adsl[["USUBJID", "TRT01A"]], on="USUBJID")
    expected = te.groupby("TRT01A")["USUBJID"].nunique().to_dict()
    ae = pilot.adverse_events.assign(patient_id=pilot.adverse_events["patient_id"].astype(str))
    got = ae.merge(pilot.patients[["patient_id", "arm"]].astype({"patient_id": str}), on="patient_id") \
        .groupby("arm")["patient_id"].nunique().to_dict()
    assert got == expected == {"Placebo": 65, "Xanomeline Low Dose": 77, "Xanomeline High Dose": 76}
    assert ae["patient_id"].nunique() == 218
    assert len(ae) == int((adae["TRTEMFL"] == "Y").sum())
    assert pilot.non_emergent_events == int((adae["TRTEMFL"] != "Y").sum()) == 65
    assert len(pilot.all_adverse_events) == len(adae)


def test_deaths_body_systems_and_terms(pilot):
    adae = raw("adae")
    fatal = adae[adae["AEOUT"] == "FATAL"]
    assert len(fatal) == 3
    assert int(pilot.patients["died"].eq(True).sum()) == fatal["USUBJID"].nunique() == 3
    assert int((pilot.all_adverse_events["severity"] == "Death").sum()) == 3
    assert int(pilot.all_adverse_events["serious"].eq(True).sum()) == int((adae["AESER"] == "Y").sum()) == 3
    every = pilot.all_adverse_events
    assert every["body_system"].nunique() == adae["AEBODSYS"].nunique() == 23
    assert every["term"].nunique() == adae["AEDECOD"].nunique() == 242
    assert every["preferred_term"].tolist() == adae["AEDECOD"].tolist()  # AEDECOD is never empty in the pilot
    assert every["body_system"].tolist() == adae["AEBODSYS"].tolist()
    # REMOTE is not related (ICH E2A), blank is not recorded, never "no"
    rel = pd.Series(every["related"].astype(object).where(every["related"].notna(), "nr").tolist())
    expected = adae["AEREL"].map({"PROBABLE": True, "POSSIBLE": True, "NONE": False, "REMOTE": False, "": "nr"})
    assert rel.tolist() == expected.tolist()
    assert (every["start_day"].astype("Float64") == adae["ASTDY"].map(lambda d: d - 1 if d >= 1 else d)).all()


def test_time_to_event_is_kept_not_an_outcome(pilot):
    adtte = raw("adtte")
    tte = pilot.time_to_event
    assert len(tte) == len(adtte) == 254 and set(tte["paramcd"]) == {"TTDE"}
    assert int(tte["censored"].sum()) == int((adtte["CNSR"] == 1).sum())
    assert tte["days"].sum() == adtte["AVAL"].sum()
    assert pilot.measurements.empty and pilot.measures == []


def test_safety_view_report_and_stats_render(pilot):
    cohort = everyone(pilot)
    result = views.run("safety", pilot, cohort, None, colour_by="related")
    assert tuple(result.heatmap.data[0].colorbar.ticktext) == ("none", "not related", "not recorded", "related")
    z = result.heatmap.data[0].z
    assert int((z == 2).sum()) >= 1  # the cells of the 4 events whose relationship is not recorded
    assert result.n == 254
    texts = [n.text for n in result.notices]
    assert any("65 adverse events" in t and "not treatment-emergent" in t for t in texts)
    assert any("relationship of 4 of the" in t for t in texts)
    summary = stats.ae_summary(pilot.adverse_events, cohort.patient_ids)
    assert summary["any"]["patients"] == 218
    assert summary["not_recorded"]["related"]["events"] == 4
    html = reports.html_report(pilot, cohort)
    assert "Import report:" in html and "CIBICVAL" in html and "This dataset has no measurements" in html
    js = json.loads(json.dumps(reports.cohort_statistics(pilot, cohort), allow_nan=False))
    assert js["import_report"]["unknown_paramcd"] == [{"paramcd": "CIBICVAL", "records": 730}]


def test_every_view_and_the_page_open_on_a_safety_only_dataset(tmp_path):
    d = fx.write_adam(tmp_path / "safety", None)
    ds = importers.load(d)
    assert ds.measurements.empty and len(ds.adverse_events) == 4  # the TRTEMFL = N event is left out
    cohort = everyone(ds)
    for view in views.REGISTRY:
        views.run(view.key, ds, cohort, None)
    for key in ("alsfrs", "fvc", "weakness"):
        html = reports.view_html(ds, cohort, next(v for v in views.REGISTRY if v.key == key))
        assert "This dataset has no measurements" in html, key
    app = create_app(dataset=ds)
    page = app.server.test_client().get("/")
    assert page.status_code == 200
    layout = str(app.layout)
    assert "Import report" in layout
    assert "paper" not in {v.key for v in views.offered(ds)}  # the paper check is the seed trial's alone
    with app.server.test_request_context():  # every offered view's callback, as Dash calls it on the page
        for view in views.offered(ds):
            kw = {o.name: o.control_value(o.default) for o in view.options}
            kw = {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()}
            if "present" in inspect.signature(callbacks.VIEW_CALLBACKS[view.key]).parameters:
                kw["present"] = None
            assert callbacks.VIEW_CALLBACKS[view.key](store={}, tab=view.key, highlight=None, **kw), view.key


# ---------------------------------------------------------------- the quirks, one fixture each


def test_relationship_severity_and_emergence(tmp_path):
    ds = importers.load(fx.write_adam(tmp_path / "d", fx.alsfrs_rows()))
    ae = ds.adverse_events.set_index("preferred_term")
    assert ae.loc["Headache", "related"] == False  # noqa: E712 - REMOTE: not related
    assert pd.isna(ae.loc["Nausea", "related"])  # blank: not recorded
    assert ae.loc["Pneumonia", "related"] == False and ae.loc["Pneumonia", "severity"] == "Death"  # noqa: E712
    assert ae.loc["Fatigue", "severity"] == "Moderate"  # AETOXGR 2
    assert "Rash" not in ae.index and ds.non_emergent_events == 1
    assert ae.loc["Headache", "body_system"] == "Nervous system disorders" and ae.loc["Headache", "start_day"] == 4
    assert ae.loc["Headache", "term"] == "headache"  # the verbatim AETERM; AEDECOD is the preferred term
    died = dict(zip(ds.patients["patient_id"].astype(str), ds.patients["died"]))
    assert died == {"S-1": False, "S-2": False, "S-3": False, "S-4": True}
    assert dict(zip(ds.patients["patient_id"].astype(str), ds.patients["arm"])) == fx.ARMS
    (w,) = ds.import_report.examples
    assert str(w) == "adae.csv:3: AEREL: empty: relationship not recorded"


def test_sponsor_code_and_weeks_in_avisit_without_ady(tmp_path):
    ds = importers.load(fx.write_adam(tmp_path / "d", fx.alsfrs_rows(), ady=False))
    assert ds.measures == ["ALSFRS_R"]  # ALSFRSRT is a built-in synonym
    months = dict(zip(ds.visits["visit"], ds.visits["month"]))
    assert months == {"Baseline": 0, "Week_12": day_to_month(84), "Week_24": day_to_month(168)}
    assert months["Week_12"] < 3  # never month 12


def test_avisitn_without_a_unit_is_never_read_as_months(tmp_path):
    ds = importers.load(fx.write_adam(tmp_path / "d", fx.visit_without_unit_rows(), ady=False))
    assert ds.measurements.empty
    w, w3 = [p for p in ds.import_report.examples if p.kind.startswith("visit time unknown")]
    assert "AVISIT 'Visit 2' states no unit" in w.message and "(4 records" in w.message
    assert "AVISIT 'Visit 3' states no unit" in w3.message and "never read as months" in w3.message
    assert dict(ds.import_report.counts)["visit time unknown: records skipped"] == 2  # one per visit label


@pytest.mark.parametrize("values,unit,what", [((0.85, 0.8), "", "a fraction of predicted"),
                                              ((3.1, 2.9), "L", "FVC in litres")])
def test_fvc_as_a_fraction_or_in_litres_is_refused(tmp_path, values, unit, what):
    ds = importers.load(fx.write_adam(tmp_path / "d", fx.alsfrs_rows() + fx.fvc_rows(values, unit)))
    assert ds.measures == ["ALSFRS_R"]
    (w,) = [p for p in ds.import_report.examples if p.file == "adeff.csv"]
    assert what in w.message and "(8 records" in w.message


def test_fvc_percent_is_read(tmp_path):
    ds = importers.load(fx.write_adam(tmp_path / "d", fx.fvc_rows((82.5, 79.0))))
    assert ds.measures == ["FVC"] and sorted(ds.measurements["value"].unique()) == [79.0, 82.5]


def test_unknown_codes_and_items_are_skipped_with_one_warning_each(tmp_path):
    d = fx.write_adam(tmp_path / "d", fx.alsfrs_rows() + fx.unknown_code_rows())
    ds = importers.load(d)
    assert ds.measures == ["ALSFRS_R"] and len(ds.measurements) == 12
    msgs = [p.message for p in ds.import_report.examples if p.file == "adeff.csv"]
    assert len(msgs) == 2
    assert any("unknown PARAMCD 'GRIP': 4 records skipped" in m for m in msgs)
    assert any("ALSFRS01, ALSFRS02 (4 records) skipped" in m for m in msgs)
    r = run_cli("validate", "--data", str(d))
    assert r.returncode == 0 and "paramcd,measure\nGRIP," in r.stdout


def test_a_mapping_file_maps_a_code_and_is_only_read(tmp_path):
    rows = [[s, "ALSTOT", v, u, vis, n, day] for s, _c, v, u, vis, n, day in fx.alsfrs_rows()]
    d = fx.write_adam(tmp_path / "d", rows, extra={"paramcd_map.csv": "paramcd,measure\nALSTOT,ALSFRS_R\n"})
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    ds = importers.load(d)
    assert ds.measures == ["ALSFRS_R"] and len(ds.measurements) == 12
    assert any("paramcd_map.csv" in n for n in ds.import_report.notes)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_the_safety_view_may_include_the_non_emergent_events(pilot):
    """The 'all events' option: the incidence counts every event of the raw ADAE, and the notice says so."""
    adae = raw("adae")
    cohort = everyone(pilot)
    default = views.run("safety", pilot, cohort, None)
    every = views.run("safety", pilot, cohort, None, all_events=True)
    assert int(default.incidence["events"].sum()) == int((adae["TRTEMFL"] == "Y").sum())
    assert int(every.incidence["events"].sum()) == len(adae)
    assert any("including the 65" in n.text for n in every.notices)
