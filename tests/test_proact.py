"""The PRO-ACT release as it is (issue 12, items 1 and 5): the forms by their released names, each quirk of
tests/proact_fixtures.py, and the visits of a dataset without nominal visits (days binned to months).

Every expected value is computed here from the fixture's own numbers, not by the importer's functions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard import data, importers, stats
from dashboard.data import DatasetError
from dashboard.importers.rules import visit_bin
from tests import proact_fixtures as F
from tests.helpers import assert_problem, run_cli

DPM = 365.25 / 12  # days per month, written out


def load(directory):
    return importers.load(directory)


def warnings_of(ds) -> list[str]:
    return [str(w) for w in ds.import_report.examples]


def kinds(ds) -> dict[str, int]:
    return dict(ds.import_report.counts)


@pytest.fixture(scope="module")
def quirks(tmp_path_factory):
    """Every quirk at once, under the per-form PROACT_ names (the text onset encoding)."""
    return load(F.write_proact(tmp_path_factory.mktemp("quirks")))


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize("names", ["proact", "f_proact", "2016"])
def test_forms_are_found_by_their_released_names(tmp_path, names):
    d = F.write_proact(tmp_path / names, names=names)
    assert importers.detect_format(d) == "proact"
    ds = load(d)
    assert list(ds.patients["patient_id"]) == list(F.SUBJECTS)
    assert set(ds.measurements["measure"]) == {"ALSFRS", "ALSFRS_R", "FVC"}
    assert ds.patients.set_index("patient_id").loc["101", "arm"] == "Active"  # TREATMENT read
    assert len(ds.adverse_events) == 3


def test_other_forms_are_named_as_not_read(tmp_path):
    d = F.write_proact(tmp_path / "p")
    (d / "PROACT_LABS.csv").write_text("subject_id,Test_Name\n101,Sodium\n", encoding="utf-8")
    assert any("not read" in n and "PROACT_LABS.csv" in n for n in load(d).import_report.notes)


# ---------------------------------------------------------------- subjects


def test_age_from_age_or_date_of_birth(quirks):
    age = quirks.patients.set_index("patient_id")["age"]
    assert age["101"] == 56  # 56.7 completed years
    assert age["102"] == math.floor(22000 / 365.25) == 60
    assert age["103"] == math.floor(25567 / 365.25) == 69  # 69.9986...: not rounded up
    assert pd.isna(age["104"])
    assert any("Date_of_Birth" in n for n in quirks.import_report.notes)


def test_positive_date_of_birth_is_a_warning(tmp_path):
    demo = [row[:] for row in F.DEMOGRAPHICS]
    demo[2][3] = "1200"
    ds = load(F.write_proact(tmp_path / "p", {**F.ALL_FORMS, "DEMOGRAPHICS": demo}))
    assert pd.isna(ds.patients.set_index("patient_id").loc["102", "age"])
    assert_problem(warnings_of(ds), "PROACT_DEMOGRAPHICS.csv", 3, "Date_of_Birth", "not a negative number")


@pytest.mark.parametrize("history", ["text", "one-hot"])
def test_onset_in_both_encodings_with_bulbar(tmp_path, history):
    hist = F.ALSHISTORY_TEXT if history == "text" else F.ALSHISTORY_ONE_HOT
    ds = load(F.write_proact(tmp_path / history, {**F.ALL_FORMS, "ALSHISTORY": hist}))
    p = ds.patients.set_index("patient_id")
    assert p.loc["101", "onset"] == "spinal"
    assert p.loc["102", "onset"] == "bulbar"
    assert p.loc["103", "onset"] == "spinal+bulbar"
    assert pd.isna(p.loc["104", "onset"])  # Other: not recorded
    assert kinds(ds)["onset not recorded (Other)"] == 1
    # −Onset_Delta days in months, within half a day
    for pid, days in (("101", 700), ("102", 400), ("103", 1004), ("104", 365)):
        assert abs(p.loc[pid, "disease_duration_months"] - days / DPM) <= 0.5 / DPM
    c = stats.characteristics(ds.patients.set_index("patient_id", drop=False), list(F.SUBJECTS))
    assert c["onset"] == {"spinal": 1, "spinal+bulbar": 1, "bulbar": 1, "missing": 1}


def test_the_shipped_characteristics_list_no_bulbar(shipped):
    p = shipped.patients
    c = stats.characteristics(p.set_index("patient_id", drop=False), list(p["patient_id"]))
    assert "bulbar" not in c["onset"]


def test_several_history_rows_keep_the_first_value(tmp_path):
    hist = [*F.ALSHISTORY_TEXT, ["101", "Onset: Bulbar", "-700", ""]]
    ds = load(F.write_proact(tmp_path / "p", {**F.ALL_FORMS, "ALSHISTORY": hist}))
    assert ds.patients.set_index("patient_id").loc["101", "onset"] == "spinal"
    assert_problem(warnings_of(ds), "PROACT_ALSHISTORY.csv", len(hist), "Site_of_Onset", "the first is kept")


def test_deaths_from_deathdata_and_from_outcome(quirks):
    p = quirks.patients.set_index("patient_id")
    assert p.loc["101", "died"] == True and p.loc["101", "death_day"] == 400  # noqa: E712 - DEATHDATA Yes
    assert p.loc["102", "died"] == False  # noqa: E712 - DEATHDATA No
    assert p.loc["103", "died"] == True and pd.isna(p.loc["103", "death_day"])  # noqa: E712 - Outcome Death
    assert pd.isna(p.loc["104", "died"])  # nowhere: not recorded
    ae = quirks.adverse_events.set_index("patient_id")
    assert ae.loc["103", "severity"] == "Death"


def test_arms_from_treatment(quirks):
    arms = dict(zip(quirks.patients["patient_id"], quirks.patients["arm"]))
    assert arms == {r[0]: r[1] for r in F.TREATMENT[1:]}


def test_riluzole_is_read_but_not_shown(quirks):
    assert any("RILUZOLE" in n and "1 of 2" in n for n in quirks.import_report.notes)


# ---------------------------------------------------------------- adverse events


def test_adverse_events_without_serious_or_related_are_not_recorded(quirks):
    ae = quirks.adverse_events.set_index("patient_id")
    assert ae["serious"].isna().all() and ae["related"].isna().all()  # never invented
    assert ae.loc["102", "term"] == "Fall"  # Lowest_Level_Term where Preferred_Term is empty
    assert ae.loc["101", "body_system"] == "Nervous system disorders"
    # the preferred term from Preferred_Term, empty where the release has none (the term is the verbatim LLT)
    assert ae.loc["101", "preferred_term"] == "Headache" and pd.isna(ae.loc["102", "preferred_term"])
    assert ae.loc["103", "preferred_term"] == "Pneumonia aspiration"
    assert ae.loc["101", "start_day"] == 3 and ae.loc["101", "duration_days"] == 4 - 3 + 1
    assert bool(ae.loc["102", "ongoing"])
    k = kinds(quirks)
    assert k["seriousness not recorded (no column)"] == 1 and k["relationship not recorded (no column)"] == 1


def test_serious_and_related_are_read_where_given(tmp_path):
    flags = zip(F.ADVERSEEVENTS[1:], ("No", "Yes", ""), ("Probable", "No", ""))
    ae = [[*F.ADVERSEEVENTS[0], "Serious", "Related"]] + [[*r, s, rel] for r, s, rel in flags]
    ds = load(F.write_proact(tmp_path / "p", {**F.ALL_FORMS, "ADVERSEEVENTS": ae}))
    got = ds.adverse_events.set_index("patient_id")
    assert list(got["serious"].astype(object)) == [False, True, pd.NA]
    assert list(got["related"].astype(object)) == [True, False, pd.NA]


# ---------------------------------------------------------------- outcomes


def _values(ds):
    return ds.measurements.set_index(["patient_id", "measure"]).sort_index()


def test_best_of_three_fvc_trials_and_litres(quirks):
    m = _values(quirks)
    row = F.FVC[1]
    assert m.loc[("101", "FVC"), "value"] == max(float(row[2]), float(row[4]), float(row[6]))  # 84.5
    row = F.FVC[2]
    assert m.loc[("102", "FVC"), "value"] == pytest.approx(max(2.1, 2.45, 2.3) / 3.5 * 100)  # 70
    assert ("103", "FVC") not in m.index  # litres without Subject_Normal: never taken as %
    k = kinds(quirks)
    assert k["FVC % predicted computed from litres"] == 1 and k["FVC in litres skipped (no Subject_Normal)"] == 1


def test_alsfrs_and_alsfrs_r_mixed(quirks):
    m = quirks.measurements
    got = {(r.patient_id, r.measure, r.visit): r.value for r in m.itertuples() if r.measure != "FVC"}
    assert got == {("101", "ALSFRS", "M0"): 33, ("101", "ALSFRS", "M3"): 31, ("102", "ALSFRS_R", "M0"): 40,
                   ("102", "ALSFRS", "M3"): 30, ("102", "ALSFRS_R", "M3"): 38, ("104", "ALSFRS", "M0"): 29}
    k = kinds(quirks)
    assert k["record skipped (empty delta)"] == 1 and k["record without a total score skipped"] == 1


def test_validate_exits_0_with_warnings_and_1_when_strict(tmp_path):
    d = F.write_proact(tmp_path / "p", names="f_proact")
    r = run_cli("validate", "--data", str(d))
    assert r.returncode == 0, r.stderr
    assert "read as PRO-ACT-style files" in r.stdout and "FVC in litres skipped" in r.stdout + r.stderr
    s = run_cli("validate", "--strict", "--data", str(d))
    assert s.returncode == 1


def test_no_subjects_is_an_error(tmp_path):
    d = F.write_proact(tmp_path / "p", {**F.ALL_FORMS, "DEMOGRAPHICS": [F.DEMOGRAPHICS[0]]})
    with pytest.raises(DatasetError, match="no patients"):
        load(d)


def test_an_unreadable_form_is_an_error(tmp_path):
    d = F.write_proact(tmp_path / "p")
    (d / "PROACT_FVC.csv").write_bytes(b"\x00\x01binary")
    with pytest.raises(DatasetError, match="PROACT_FVC.csv: not a CSV text file"):
        load(d)


# ---------------------------------------------------------------- visits without nominal visits (item 5)


@pytest.mark.parametrize("day,month", [(0, 0), (14, 0), (-14, 0), (15, None), (16, None), (17, 1), (30, 1),
                                       (77, None), (78, 3), (91, 3), (105, 3), (106, None), (-35, -1),
                                       (365, 12), (352, 12), (351, None)])
def test_the_bin_of_a_day(day, month):
    # month m is day 30.4375 m; a day belongs to it within 14 days (m = 3: 91.3125 ± 14 = 77.3 .. 105.3)
    assert visit_bin(day) == month


def test_realistic_trial_gives_monthly_visit_summaries(tmp_path):
    d, truth = F.realistic(tmp_path / "trial", n=40, jitter=10)
    ds = load(d)
    months = sorted({m for _p, m in truth["days"]})
    assert list(ds.visits["visit"]) == [f"M{m}" for m in months]  # 7 visits, not one per distinct day
    assert len({day for day in truth["days"].values()}) > 100
    s = stats.visit_summaries(ds.measurements, measures=["ALSFRS_R"])
    for row in s.itertuples():
        at = [v for (p, m), v in truth["alsfrs"].items() if m == row.month]
        assert row.n == len(at) >= 30  # close to the 40 patients (about 1 in 10 visits missed)
        assert row.mean == pytest.approx(np.mean(at))
    # each value keeps its own day as its month (patient lines and slopes)
    m = ds.measurements[ds.measurements["measure"] == "ALSFRS_R"]
    for r in m.itertuples():
        day = truth["days"][(str(r.patient_id), int(r.visit_month))]
        assert abs(r.month - day / DPM) <= 0.5 / DPM
    pid = "1003"
    pts = sorted((truth["days"][(p, mo)] / DPM, v) for (p, mo), v in truth["alsfrs"].items() if p == pid)
    slope = np.polyfit([x for x, _ in pts], [y for _, y in pts], 1)[0]
    got = stats.patient_slopes(ds.measurements, "ALSFRS_R", windows=(24,)).loc[pid, "post_slope_24"]
    assert got == pytest.approx(slope, abs=0.02)  # own months (written to within half a day)


def test_values_outside_windows_and_second_values_are_unscheduled(tmp_path):
    forms = {"DEMOGRAPHICS": F.DEMOGRAPHICS,
             "ALSFRS": [["subject_id", "ALSFRS_Delta", "ALSFRS_Total"],
                        ["101", "0", "33"], ["101", "85", "31"], ["101", "95", "30"], ["101", "46", "32"],
                        ["102", "1", "28"], ["102", "92", "27"]],
             "ADVERSEEVENTS": F.ADVERSEEVENTS}
    ds = load(F.write_proact(tmp_path / "p", forms))
    v = ds.visits.set_index("visit")
    assert list(v.index) == ["M0", "D46", "D85", "M3"]
    assert v.loc["M3", "window_days"] == 14 and v.loc["M3", "month"] == 3
    assert not v.loc["D46", "scheduled"] and not v.loc["D85", "scheduled"]
    m = ds.measurements.set_index(["patient_id", "visit"])["value"]
    # day 95 is 3.7 days from month 3 (day 91.3), day 85 6.3 days: 95 is the visit's value
    assert m[("101", "M3")] == 30 and m[("101", "D85")] == 31 and m[("101", "D46")] == 32
    s = stats.visit_summaries(ds.measurements, measures=["ALSFRS"]).set_index("visit")
    assert list(s.index) == ["M0", "M3"]  # unscheduled values are in no summary
    assert s.loc["M3", "n"] == 2 and s.loc["M3", "mean"] == (30 + 27) / 2
    assert s.loc["M3", "change_mean"] == ((30 - 33) + (27 - 28)) / 2
    k = kinds(ds)
    assert k["value outside every visit window"] == 1 and k["second value in a visit window"] == 1
    # all four of patient 101's values are in its slope, at their own days
    slope = np.polyfit(np.array([0, 46, 85, 95]) / DPM, [33, 32, 31, 30], 1)[0]
    got = stats.patient_slopes(ds.measurements, "ALSFRS", windows=(12,)).loc["101", "post_slope_12"]
    assert got == pytest.approx(slope, abs=0.01)


def test_a_binned_dataset_survives_conversion_to_our_format(tmp_path):
    d, _truth = F.realistic(tmp_path / "trial", n=12)
    ds = load(d)
    back = importers.convert(d, "proact", tmp_path / "ours")
    assert back.format == "native"
    pd.testing.assert_frame_equal(stats.visit_summaries(back.measurements), stats.visit_summaries(ds.measurements))
    assert (back.visits["window_days"] == 14).all()


def test_our_format_refuses_a_value_outside_its_visit_window(tmp_path):
    d, _truth = F.realistic(tmp_path / "trial", n=4)
    importers.convert(d, "proact", tmp_path / "ours")
    path = tmp_path / "ours" / "measurements.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    i = next(k for k, line in enumerate(lines) if ",M3," in line)
    cells = lines[i].split(",")
    cells[head.index("month")] = "3.6"  # 18 days after month 3
    lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"month 3.6 contradicts visits.csv \(visit M3 is at month 3 ± 14 days\)"):
        data.load_dataset(tmp_path / "ours")


def test_a_binned_dataset_survives_a_pro_act_export(tmp_path):
    """The export leaves Visit empty at binned and unscheduled visits, so the import bins the days again."""
    forms = {"DEMOGRAPHICS": F.DEMOGRAPHICS,
             "ALSFRS": [["subject_id", "ALSFRS_Delta", "ALSFRS_Total"],
                        ["101", "0", "33"], ["101", "85", "31"], ["101", "95", "30"], ["101", "46", "32"]],
             "ADVERSEEVENTS": F.ADVERSEEVENTS}
    ds = load(F.write_proact(tmp_path / "p", forms))
    importers.export_proact(ds, tmp_path / "out")
    back = load(tmp_path / "out")
    pd.testing.assert_frame_equal(back.visits[["visit", "month", "window_days", "scheduled"]],
                                  ds.visits[["visit", "month", "window_days", "scheduled"]])
    pd.testing.assert_frame_equal(back.measurements.drop(columns="source"), ds.measurements.drop(columns="source"))


def test_alsfrs_totals_from_the_items_where_no_total_is_given(tmp_path):
    forms = {"DEMOGRAPHICS": F.DEMOGRAPHICS, "ALSFRS": F.ALSFRS_ITEMS_ONLY, "ADVERSEEVENTS": F.ADVERSEEVENTS}
    ds = load(F.write_proact(tmp_path / "p", forms))
    head, r101, r102, _r103 = F.ALSFRS_ITEMS_ONLY
    original = [c for c in head if c.split("_")[0] in {f"Q{i}" for i in range(1, 11)} | {"Q5a"}]
    revised = [c for c in head if c.split("_")[0] in {f"Q{i}" for i in range(1, 10)} | {"Q5b", "R"}]
    assert len(original) == 10 and len(revised) == 12
    want = {("101", "ALSFRS"): sum(int(r101[head.index(c)]) for c in original),
            ("102", "ALSFRS_R"): sum(int(r102[head.index(c)]) for c in revised)}
    assert want == {("101", "ALSFRS"): 30, ("102", "ALSFRS_R"): 35}
    got = {(str(r.patient_id), r.measure): r.value for r in ds.measurements.itertuples()}
    assert got == want  # 103 lacks Q3: no total
    k = kinds(ds)
    assert k["ALSFRS total computed from the items"] == 2 and k["record without a total score skipped"] == 1


def test_every_view_and_the_report_render_a_binned_dataset(tmp_path):
    from dashboard import cohorts, reports, views

    d, truth = F.realistic(tmp_path / "trial", n=12)
    with (d / "alsfrs.csv").open("a", encoding="utf-8") as f:
        f.write("1000,46,35\n")  # outside every window: an unscheduled visit
    ds = load(d)
    assert "D46" in set(ds.visits["visit"])
    cohort = cohorts.select(ds, cohorts.CohortFilter.from_params({})[0])
    for view in views.REGISTRY:
        views.run(view.key, ds, cohort, None)
        assert reports.view_html(ds, cohort, view)
    months = {m for _p, m in truth["days"]}
    s = stats.visit_summaries(ds.measurements, measures=["ALSFRS_R"])
    assert set(s["month"]) == months and "D46" not in set(s["visit"])  # the mean line: one point per month
    js = reports.cohort_statistics(ds, cohort)
    assert any("; 1 value(s) outside every window" in n for n in js["import_report"]["notes"])
