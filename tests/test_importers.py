"""Importing ADaM datasets and PRO-ACT-style files, proved against generated and broken directories.

The shipped data is exported as ADaM CSV, ADaM XPT and PRO-ACT-style files
(session fixtures); each test copies one export, breaks one thing and checks
that :func:`dashboard.importers.load` names *their* file, row (line number
in a CSV, record number in an XPT) and variable.  The round trip imports each
export back and compares the statistics of every population.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dashboard import cohorts, data, importers, reports
from dashboard.data import DatasetError, load_dataset
from tests.helpers import (
    REPO,
    SHIPPED,
    assert_problem,
    break_cell,
    find_line,
    only_problem,
    only_warning,
    problems,
    read_csv,
    run_cli,
    set_cell,
    write_csv,
)

# ---------------------------------------------------------------- helpers (the CSV helpers are tests.helpers')


def drop_column(path: Path, column: str) -> None:
    rows = read_csv(path)
    i = rows[0].index(column)
    write_csv(path, [r[:i] + r[i + 1:] for r in rows])


def read_xpt(path: Path) -> pd.DataFrame:
    """An XPT file as a DataFrame (pyreadstat: pandas may drop a last record ending in blanks)."""
    import pyreadstat  # test-only dependency (tests/requirements.txt)

    return pyreadstat.read_xport(str(path))[0]


def write_xpt(frame: pd.DataFrame, path: Path) -> None:
    import pyreadstat  # test-only dependency (tests/requirements.txt)

    frame = frame.astype({c: object for c in frame.columns if frame[c].dtype != "float64"})
    pyreadstat.write_xport(frame, str(path), table_name=path.stem.upper(), file_format_version=5)


def statistics_by_population(ds) -> dict:
    """``cohort_statistics`` of every population, without the dataset's directory and hash and the import report
    (which says how the files were read: an import's notes, nothing for our own format).

    Without the mixed models: they are fitted on the measurements table alone, which ``assert_same_tables``
    compares whole (their fits took three quarters of a minute per round trip)."""
    out = {}
    for pop in cohorts.POPULATIONS:
        stats = reports.cohort_statistics(ds, cohorts.select(ds, cohorts.CohortFilter(population=pop)),
                                          with_mixed=False)
        stats["dataset"].pop("directory")
        stats["dataset"].pop("hash")
        stats.pop("import_report")
        # an import sets ``died`` from a fatal outcome (AEOUT FATAL, PRO-ACT Outcome Death: data/README.md), so the
        # deaths listing names patients.died besides the event; the deaths themselves must be the same
        for death in stats["deaths"]["deaths"]:
            assert "adverse event outcome/severity Death" in death.pop("sources")
        out[pop] = json.dumps(stats, sort_keys=True, allow_nan=False)
    return out


# ---------------------------------------------------------------- exports of the shipped data


@pytest.fixture(scope="session")
def exports(shipped, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    importers.export_adam(shipped, root / "adam-csv")
    importers.export_adam(shipped, root / "adam-xpt", xpt=True)
    importers.export_proact(shipped, root / "proact")
    return root


@pytest.fixture
def adam(exports, tmp_path):
    """A writable ADaM CSV export of the shipped data."""
    return Path(shutil.copytree(exports / "adam-csv", tmp_path / "adam"))


@pytest.fixture
def adam_xpt(exports, tmp_path):
    return Path(shutil.copytree(exports / "adam-xpt", tmp_path / "adam-xpt"))


@pytest.fixture
def proact(exports, tmp_path):
    return Path(shutil.copytree(exports / "proact", tmp_path / "proact"))


def test_exports_hold_the_documented_files(exports):
    for kind, ext in (("adam-csv", "csv"), ("adam-xpt", "xpt")):
        assert sorted(p.name for p in (exports / kind).iterdir()) == [f"adae.{ext}", f"adeff.{ext}", f"adsl.{ext}",
                                                                      "metadata.json"]
    assert sorted(p.name for p in (exports / "proact").iterdir()) == [
        "ADVERSEEVENTS.csv", "ALSFRS.csv", "ALSHISTORY.csv", "DEMOGRAPHICS.csv", "FVC.csv", "MUSCLESTRENGTH.csv",
        "metadata.json"]
    assert len(read_xpt(exports / "adam-xpt" / "adeff.xpt")) == 672
    # our export is one of the files pandas alone miscounts (its last record ends in a blank SIMFL)
    assert len(importers.sources.read_xpt_source(exports / "adam-xpt" / "adeff.xpt", "ADEFF", []).rows) == 672


# ---------------------------------------------------------------- round trip


@pytest.fixture(scope="session")
def shipped_statistics(shipped):
    return statistics_by_population(shipped)


def warnings_of(directory) -> list[str]:
    """The import report's warnings of a directory that loads (the first of each kind), as the user sees them."""
    return [str(p) for p in importers.load(directory).import_report.examples]


def assert_same_tables(back, shipped):
    """Equal tables; only the provenance text of non-simulated values and the visit labels and notes differ.

    Of the optional columns, an ADaM export carries deaths back (an event of severity Death is exported with
    outcome FATAL, which marks the patient as died)."""
    core = {name: [c.name for c in data.SCHEMA[name]] for name in data.FILES}
    pd.testing.assert_frame_equal(back.patients[core["patients.csv"]], shipped.patients[core["patients.csv"]])
    pd.testing.assert_frame_equal(back.adverse_events[core["adverse_events.csv"]],
                                  shipped.adverse_events[core["adverse_events.csv"]])
    if back.patients["died"].notna().any():  # read from ADaM (directly or converted)
        dead = set(shipped.adverse_events.loc[shipped.adverse_events["severity"] == "Death", "patient_id"].astype(str))
        assert dead and set(back.patients.loc[back.patients["died"].eq(True).fillna(False), "patient_id"]) == dead
    pd.testing.assert_frame_equal(back.measurements.drop(columns="source"), shipped.measurements.drop(columns="source"))
    pd.testing.assert_frame_equal(back.visits[["visit", "month"]], shipped.visits[["visit", "month"]])
    assert back.simulated_measures == ["ALSFRS"]
    assert back.data_as_of == shipped.data_as_of and back.title == shipped.title


@pytest.mark.parametrize("kind,fmt", [("adam-csv", "adam"), ("adam-xpt", "adam"), ("proact", "proact")])
def test_round_trip_gives_identical_statistics(shipped, shipped_statistics, exports, kind, fmt):
    back = importers.load(exports / kind)
    assert back.format == fmt
    assert_same_tables(back, shipped)
    assert statistics_by_population(back) == shipped_statistics
    assert back.import_report.total == 0  # a round trip skips and recodes nothing


def test_import_functions_return_our_string_tables(exports):
    for tables in (importers.import_adam(exports / "adam-xpt"), importers.import_proact(exports / "proact")):
        assert set(tables) == set(data.FILES)
        for name, frame in tables.items():
            assert list(frame.columns) == [c.name for c in data.columns_of(name)]
            assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
        m = tables["measurements.csv"]
        assert len(m) == 672
        assert set(m.loc[m["measure"] == "ALSFRS", "source"]) <= {"simulated", "ADaM ADEFF", "PRO-ACT ALSFRS"}


def test_import_raises_every_problem(adam):
    break_cell(adam / "adsl.csv", "EFFFL", "maybe", USUBJID="4")  # a population flag: an error
    break_cell(adam / "adeff.csv", "PARAMCD", "XYZ", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    with pytest.raises(DatasetError) as info:
        importers.import_adam(adam)
    assert len(info.value.problems) == 1  # the unknown code is a warning: its records are skipped
    assert any("unknown PARAMCD 'XYZ'" in str(w) for w in info.value.warnings)


@pytest.mark.parametrize("fmt", ["native", "adam", "proact"])
def test_summary_says_which_format_was_read(exports, fmt):
    directory = {"native": SHIPPED, "adam": exports / "adam-csv", "proact": exports / "proact"}[fmt]
    assert f"read as {importers.format_label(fmt)};" in importers.load(directory).summary()


def test_loading_an_import_writes_nothing(adam_xpt):
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in adam_xpt.iterdir()}
    importers.load(adam_xpt)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in adam_xpt.iterdir()} == before


def test_trial_data_dir_may_name_an_adam_directory(adam, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(adam))
    assert importers.load().format == "adam"


# ---------------------------------------------------------------- format detection


def test_detect_format(exports, tmp_path):
    assert importers.detect_format(SHIPPED) == "native"
    assert importers.detect_format(exports / "adam-csv") == "adam"
    assert importers.detect_format(exports / "adam-xpt") == "adam"
    assert importers.detect_format(exports / "proact") == "proact"
    assert importers.detect_format(tmp_path) is None
    assert importers.detect_format(tmp_path / "missing") is None
    (tmp_path / "ADSL.XPT").write_bytes(b"")
    assert importers.detect_format(tmp_path) == "adam"
    (tmp_path / "visits.csv").write_text("")
    assert importers.detect_format(tmp_path) == "native"  # any of our own files: our format


def test_an_empty_directory_is_still_reported_as_our_format(tmp_path):
    found = problems(tmp_path)
    assert sorted(found) == sorted(f"{name}: file is missing from {tmp_path}" for name in data.FILES)


# ---------------------------------------------------------------- the day rule


@pytest.mark.parametrize("days,month", [(0, 0), (91, 3), (-35, -1.15), (-183, -6), (14, 0.46), (365, 12),
                                        (548, 18), (731, 24), (-700, -23), (1, 0.03), (30, 1), (15, 0.5)])
def test_day_to_month(days, month):
    assert importers.day_to_month(days) == month


@pytest.mark.parametrize("month", [-6, -3, -1.15, 0, 3, 6, 9, 12, 18, 24, 0.5, 1.25, 38.5, 99])
def test_months_survive_whole_days(month):
    assert importers.day_to_month(importers.month_to_day(month)) == month


# ---------------------------------------------------------------- generated ADaM directories


def _write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text.lstrip("\n"), encoding="utf-8")


def _small_adam(d: Path) -> Path:
    """Lower-case variable names, FASFL instead of EFFFL, AVISIT text, actual days varying around the visits."""
    _write(d, "ADSL.csv", """
studyid,usubjid,age,sex,saffl,fasfl,pprotfl,ittfl
S1,S1-001,61,F,Y,Y,N,Y
S1,S1-002,58,M,Y,N,N,Y
S1,S1-003,,U,Y,Y,Y,Y
""")
    _write(d, "adae.csv", """
USUBJID,AETERM,AEDECOD,AESER,AREL,AEREL,AESEV,AEOUT,AEACN,ASTDY,AENDY
S1-001,head ache,Headache,N,POSSIBLY RELATED,N,MILD,RECOVERED/RESOLVED,DOSE NOT CHANGED,-2,2
S1-002,breathing,Respiratory failure,Y,NOT RELATED,,SEVERE,FATAL,,10,12
S1-003,back pain,,N,UNLIKELY RELATED,,moderate,NOT RECOVERED/NOT RESOLVED,,5,
""")
    _write(d, "adqs.csv", """
USUBJID,PARAMCD,PARAM,AVISIT,AVISITN,ADY,AVAL,ANL01FL,DTYPE
S1-001,ALSFRS,ALSFRS total,Baseline,0,1,30,Y,
S1-001,ALSFRS,ALSFRS total,Month 3,3,89,28,Y,
S1-001,ALSFRS,ALSFRS total,Month 3,3,95,27,,
S1-002,ALSFRS,ALSFRS total,Baseline,0,1,25,Y,
S1-002,ALSFRS,ALSFRS total,Month 3,3,93,24,Y,
S1-003,ALSFRS,ALSFRS total,Baseline,0,1,33,Y,
S1-003,ALSFRS,ALSFRS total,Month 3,3,92,33,Y,LOCF
S1-001,LBGLUC,Glucose,Baseline,0,1,5.5,N,
""")
    _write(d, "adre.csv", """
USUBJID,PARAMCD,AVISIT,ADY,AVAL,AVALU,SIMFL
S1-001,FVCPP,Screening,-35,80.5,%,
S1-001,FVCPP,Month 3,92,78,%,Y
""")
    _write(d, "adcm.csv", "USUBJID,CMTRT\nS1-001,Riluzole\n")  # no PARAMCD: not an outcome dataset, ignored
    return d


def test_generated_adam_directory(tmp_path):
    ds = importers.load(_small_adam(tmp_path / "adam"))
    assert ds.format == "adam"
    p = ds.patients.set_index("patient_id")
    assert list(p.index) == ["S1-001", "S1-002", "S1-003"]
    assert p.loc["S1-003", "age"] is pd.NA and p["sex"].isna()["S1-003"]
    assert list(p["efficacy_population"]) == [True, False, True]  # FASFL: the first efficacy flag present
    ae = ds.adverse_events.set_index("patient_id")
    # AETERM: the verbatim term; AREL wins over AEREL
    assert ae.loc["S1-001", "term"] == "head ache" and bool(ae.loc["S1-001", "related"])
    assert ae.loc["S1-001", "duration_days"] == 4  # -2, -1, 1, 2: no study day 0
    assert ae.loc["S1-002", "severity"] == "Death" and not ae.loc["S1-002", "related"]
    assert ae.loc["S1-003", "term"] == "back pain"  # AEDECOD empty: AETERM
    assert pd.isna(ae.loc["S1-003", "preferred_term"]) and ae.loc["S1-001", "preferred_term"] == "Headache"
    assert ae.loc["S1-003", "severity"] == "Moderate" and bool(ae.loc["S1-003", "ongoing"])
    assert not ae.loc["S1-003", "related"]
    v = ds.visits.set_index("visit")
    assert list(ds.visits["visit"]) == ["Screening", "Baseline", "Month_3"]
    assert v.loc["Screening", "month"] == -1.15 and v.loc["Baseline", "month"] == 0
    # days 88, 92, 91 (ADY 89, 93, 92; ADY 95 is not ANL01FL): median 91 = month 3
    assert v.loc["Month_3", "month"] == 3 and v.loc["Month_3", "label"] == "Month 3"
    assert "median of days 88 to 92" in v.loc["Month_3", "note"]
    m = ds.measurements
    assert len(m) == 8  # the glucose record (ANL01FL N) and the Month 3 repeat are not read
    src = dict(zip(zip(m["patient_id"], m["visit"], m["measure"]), m["source"]))
    assert src[("S1-003", "Month_3", "ALSFRS")] == "ADaM ADQS DTYPE LOCF"
    assert src[("S1-001", "Month_3", "FVC")] == "simulated"
    assert src[("S1-001", "Screening", "FVC")] == "ADaM ADRE"
    assert ds.simulated_measures == ["FVC"]


def test_generated_adam_without_ady_reads_the_unit_avisit_states(tmp_path):
    """Without ADY, "Month 3" is month 3 and "Baseline" (AVISITN 0) day 0; AVISITN alone is never read as months."""
    d = _small_adam(tmp_path / "adam")
    (d / "adre.csv").unlink()
    drop_column(d / "adqs.csv", "ADY")
    ds = importers.load(d)
    assert dict(zip(ds.visits["visit"], ds.visits["month"])) == {"Baseline": 0, "Month_3": 3}
    assert set(ds.visits["note"]) == {"from ADaM AVISIT"}
    assert not any("visit time unknown" in kind for kind, _n in ds.import_report.counts)


def test_generated_adam_as_xpt(tmp_path):
    csv_dir = _small_adam(tmp_path / "csv")
    xpt_dir = tmp_path / "xpt"
    xpt_dir.mkdir()
    for f in csv_dir.iterdir():
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        for c in ("age", "ADY", "AVAL", "ASTDY", "AENDY", "AVISITN"):
            if c in frame:
                frame[c] = pd.to_numeric(frame[c].replace("", None)).astype("float64")
        write_xpt(frame, xpt_dir / (f.stem.lower() + ".xpt"))
    a, b = importers.load(csv_dir), importers.load(xpt_dir)
    assert statistics_by_population(a) == statistics_by_population(b)
    pd.testing.assert_frame_equal(a.adverse_events, b.adverse_events)


# ---------------------------------------------------------------- broken ADaM (CSV)


def test_missing_adsl(adam):
    (adam / "adsl.csv").unlink()
    msg = only_problem(adam, "adsl.csv", None, None, "ADSL (the subject-level dataset) is missing")
    assert str(adam) in msg


def test_missing_adae(adam):
    (adam / "adae.csv").unlink()
    only_problem(adam, "adae.csv", None, None, "ADAE (the adverse events dataset) is missing")


def test_no_outcome_dataset_is_a_safety_only_dataset(adam):
    (adam / "adeff.csv").unlink()
    ds = importers.load(adam)
    assert ds.measurements.empty and ds.visits.empty and ds.measures == []
    assert len(ds.patients) == 26 and len(ds.adverse_events) == 18
    assert any("no outcome dataset" in n and "no measurements" in n for n in ds.import_report.notes)


def test_adsl_and_xpt_twin(adam, exports):
    shutil.copy(exports / "adam-xpt" / "adsl.xpt", adam / "adsl.xpt")
    assert_problem(problems(adam), "adsl.xpt", None, None, "adsl.csv and adsl.xpt are both present")


def test_missing_usubjid_column(adam):
    drop_column(adam / "adsl.csv", "USUBJID")
    only_problem(adam, "adsl.csv", 1, "USUBJID", "required variable is missing")


def test_missing_efficacy_flag_names_the_alternatives(adam):
    drop_column(adam / "adsl.csv", "EFFFL")
    only_problem(adam, "adsl.csv", 1, "EFFFL", "required variable is missing (or FASFL, ITTFL, PPROTFL)")


def test_missing_aval_column(adam):
    drop_column(adam / "adeff.csv", "AVAL")
    assert_problem(problems(adam), "adeff.csv", 1, "AVAL", "required variable is missing")


def test_bad_age(adam):
    line = break_cell(adam / "adsl.csv", "AGE", "abc", USUBJID="4")
    msg = only_warning(adam, "adsl.csv", line, "AGE", "not a number: 'abc'")
    assert msg == f"adsl.csv:{line}: AGE: not a number: 'abc': value left empty"
    patients = importers.load(adam).patients.set_index("patient_id")
    assert pd.isna(patients.loc["4", "age"]) and len(patients) == 26 and patients["age"].notna().sum() == 25


def test_age_out_of_range(adam):
    line = break_cell(adam / "adsl.csv", "AGE", "130", USUBJID="4")
    only_warning(adam, "adsl.csv", line, "AGE", "130 is out of range 0-120")


def test_unknown_paramcd_is_skipped_with_one_warning(adam):
    line = break_cell(adam / "adeff.csv", "PARAMCD", "FEV1", USUBJID="1", AVISIT="III", PARAMCD="FVCPP")
    ds = importers.load(adam)
    assert len(ds.measurements) == 671
    assert warnings_of(adam) == [f"adeff.csv:{line}: PARAMCD: unknown PARAMCD 'FEV1': 1 records skipped (not a "
                                 "measure of the dashboard; map it in paramcd_map.csv if it is one)"]
    assert ds.import_report.unknown_codes == (("FEV1", 1),)


def test_paramcd_alsfrsr_is_read_as_alsfrs_r(adam):
    path = adam / "adeff.csv"
    line = break_cell(path, "PARAMCD", "ALSFRSR", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    rows = read_csv(path)
    aval = float(rows[line - 1][rows[0].index("AVAL")])
    ds = importers.load(adam)
    assert "ALSFRS_R" in ds.measures
    values = ds.measurements.set_index(["patient_id", "visit", "measure"])["value"]
    assert values[("3", "V", "ALSFRS_R")] == aval and ("3", "V", "ALSFRS") not in values.index
    set_cell(path, line, "AVAL", "49")  # the revised scale's range, 0-48
    only_warning(adam, "adeff.csv", line, "AVAL", "ALSFRS_R value 49 is out of range 0-48: measurement record skipped")
    assert "ALSFRS_R" not in importers.load(adam).measures


def test_fvc_in_litres_is_refused(adam):
    line = break_cell(adam / "adeff.csv", "AVALU", "L", USUBJID="1", AVISIT="III", PARAMCD="FVCPP")
    ds = importers.load(adam)
    assert len(ds.measurements) == 671
    (w,) = warnings_of(adam)
    assert w.startswith(f"adeff.csv:{line}: AVALU: FVC in litres (AVALU 'L')") and "(1 record," in w


def test_aval_not_numeric(adam):
    line = break_cell(adam / "adeff.csv", "AVAL", "n/a", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    only_warning(adam, "adeff.csv", line, "AVAL", "not a number: 'n/a'")
    assert len(importers.load(adam).measurements) == 671  # of 672: the record is skipped


def test_aval_out_of_range(adam):
    line = break_cell(adam / "adeff.csv", "AVAL", "41", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    only_warning(adam, "adeff.csv", line, "AVAL", "ALSFRS value 41 is out of range 0-40: measurement record skipped")


def test_duplicate_subject(adam):
    rows = read_csv(adam / "adsl.csv")
    rows.append(list(rows[find_line(adam / "adsl.csv", USUBJID="2") - 1]))
    write_csv(adam / "adsl.csv", rows)
    only_problem(adam, "adsl.csv", len(rows), "USUBJID", "duplicate patient '2'")


def test_duplicate_measurement(adam):
    rows = read_csv(adam / "adeff.csv")
    line = find_line(adam / "adeff.csv", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    rows.append(list(rows[line - 1]))
    write_csv(adam / "adeff.csv", rows)
    only_warning(adam, "adeff.csv", len(rows), "PARAMCD",
                 "duplicate measurement: patient 3, visit V, ALSFRS already given")
    assert len(importers.load(adam).measurements) == 672  # the first is kept


def test_bad_flag(adam):
    line = break_cell(adam / "adsl.csv", "MRI12FL", "maybe", USUBJID="3")
    only_problem(adam, "adsl.csv", line, "MRI12FL", "'maybe' is not Y or N")


def test_empty_population_flag(adam):
    line = break_cell(adam / "adsl.csv", "SAFFL", "", USUBJID="3")
    found = problems(adam)
    assert_problem(found, "adsl.csv", line, "SAFFL", "value is required but the cell is empty")


def test_unknown_sex_and_onset(adam):
    line = break_cell(adam / "adsl.csv", "SEX", "X", USUBJID="5")
    break_cell(adam / "adsl.csv", "ONSET", "CERVICAL", USUBJID="5")  # (BULBAR is an onset: bulbar)
    found = warnings_of(adam)  # values left empty with a warning: the dataset loads
    assert_problem(found, "adsl.csv", line, "SEX", "unknown value 'X' (allowed: M, F, U): left empty")
    assert_problem(found, "adsl.csv", line, "ONSET", "unknown value 'CERVICAL'")
    assert len(found) == 2, found
    p = importers.load(adam).patients.set_index("patient_id")
    assert pd.isna(p.loc["5", "sex"]) and pd.isna(p.loc["5", "onset"]) and p["sex"].notna().sum() == len(p) - 1


def test_study_day_zero(adam):
    line = break_cell(adam / "adeff.csv", "ADY", "0", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    only_problem(adam, "adeff.csv", line, "ADY", "study day 0 does not exist")


def test_empty_avisit(adam):
    line = break_cell(adam / "adeff.csv", "AVISIT", "", USUBJID="3", AVISIT="V", PARAMCD="ALSFRS")
    only_problem(adam, "adeff.csv", line, "AVISIT", "value is required but the cell is empty")


def test_event_of_an_unknown_subject(adam):
    line = break_cell(adam / "adae.csv", "USUBJID", "99", USUBJID="4")
    only_warning(adam, "adae.csv", line, "USUBJID", "patient '99' is not in adsl.csv: adverse event record skipped")


def test_unknown_relationship_and_severity_are_not_recorded(adam):
    line = break_cell(adam / "adae.csv", "AREL", "MAYBE", USUBJID="4")
    break_cell(adam / "adae.csv", "AESEV", "EXTREME", USUBJID="4")
    found = warnings_of(adam)
    assert_problem(found, "adae.csv", line, "AREL", "unknown relationship 'MAYBE': not recorded")
    assert_problem(found, "adae.csv", line, "AESEV", "unknown severity 'EXTREME': not recorded")
    assert len(found) == 2, found
    ae = importers.load(adam).adverse_events
    assert ae["related"].isna().sum() == 1 and ae["severity"].isna().sum() == 1


def test_duration_not_whole(adam):
    line = break_cell(adam / "adae.csv", "ADURN", "2.5", USUBJID="4")
    only_warning(adam, "adae.csv", line, "ADURN", "not a whole number: '2.5': value left empty")


def test_many_bad_values_are_summarised_in_their_names(adam):
    rows = read_csv(adam / "adeff.csv")
    for r in rows[1:]:
        r[rows[0].index("AVAL")] = "x"
    write_csv(adam / "adeff.csv", rows)
    report = importers.load(adam).import_report  # every record skipped: the dataset has no measurements
    assert report.counts == (("invalid measurement record skipped", len(rows) - 1),)
    assert [str(p) for p in report.examples][0] == "adeff.csv:2: AVAL: not a number: 'x': measurement record skipped"
    assert len(report.examples) == data.REPORT_EXAMPLES_PER_KIND


def test_problems_in_several_datasets_are_all_reported(adam):
    age = break_cell(adam / "adsl.csv", "EFFFL", "maybe", USUBJID="4")
    code = break_cell(adam / "adeff.csv", "PARAMCD", "XYZ", USUBJID="1", AVISIT="III", PARAMCD="FVCPP")
    ser = break_cell(adam / "adae.csv", "AESER", "maybe", USUBJID="4")
    with pytest.raises(DatasetError) as info:
        importers.load(adam)
    found, warned = [str(p) for p in info.value.problems], [str(p) for p in info.value.warnings]
    assert_problem(found, "adsl.csv", age, "EFFFL", "'maybe' is not Y or N")
    assert_problem(warned, "adeff.csv", code, "PARAMCD", "unknown PARAMCD 'XYZ'")
    assert_problem(warned, "adae.csv", ser, "AESER", "'maybe' is not Y or N: seriousness not recorded")
    assert len(found) == 1 and len(warned) == 2, (found, warned)


# ---------------------------------------------------------------- broken ADaM (XPT): rows are record numbers


def _edit_xpt(path: Path, edit) -> None:
    frame = read_xpt(path)
    edit(frame)
    write_xpt(frame, path)


def test_xpt_age_out_of_range_names_the_record(adam_xpt):
    frame = read_xpt(adam_xpt / "adsl.xpt")
    record = int(frame.index[frame["USUBJID"] == "4"][0]) + 1
    _edit_xpt(adam_xpt / "adsl.xpt", lambda f: f.__setitem__("AGE", f["AGE"].where(f["USUBJID"] != "4", 130.0)))
    assert only_warning(adam_xpt, "adsl.xpt", record, "AGE", "130 is out of range 0-120") == \
        f"adsl.xpt:{record}: AGE: 130 is out of range 0-120: value left empty"


def test_xpt_text_in_a_number_variable(adam_xpt):
    def edit(f):
        f["AGE"] = [("abc" if i == 4 else f"{v:g}") for i, v in enumerate(f["AGE"])]

    _edit_xpt(adam_xpt / "adsl.xpt", edit)
    only_warning(adam_xpt, "adsl.xpt", 5, "AGE", "not a number: 'abc'")


def test_xpt_missing_variable_has_no_row(adam_xpt):
    frame = read_xpt(adam_xpt / "adeff.xpt").drop(columns="AVAL")
    write_xpt(frame, adam_xpt / "adeff.xpt")
    only_problem(adam_xpt, "adeff.xpt", None, "AVAL", "required variable is missing")


def test_a_dataset_without_paramcd_is_not_an_outcome_dataset(adam_xpt):
    write_xpt(read_xpt(adam_xpt / "adeff.xpt").drop(columns="PARAMCD"), adam_xpt / "adeff.xpt")
    assert warnings_of(adam_xpt) == ["adeff.xpt: no PARAMCD variable: not an outcome dataset; ignored"]
    assert importers.load(adam_xpt).measurements.empty


def test_xpt_unknown_paramcd(adam_xpt):
    _edit_xpt(adam_xpt / "adeff.xpt", lambda f: f.__setitem__("PARAMCD", f["PARAMCD"].where(f.index != 9, "XYZ")))
    (w,) = warnings_of(adam_xpt)
    assert_problem([w], "adeff.xpt", 10, "PARAMCD", "unknown PARAMCD 'XYZ': 1 records skipped")


def test_not_an_xpt_file(adam_xpt):
    (adam_xpt / "adae.xpt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    only_problem(adam_xpt, "adae.xpt", None, None, "not a readable SAS transport (XPORT) file")


def test_xpt_with_two_datasets(adam_xpt):
    one, two = (adam_xpt / "adae.xpt").read_bytes(), (adam_xpt / "adsl.xpt").read_bytes()
    member = two.index(b"HEADER RECORD*******MEMBER")
    (adam_xpt / "adae.xpt").write_bytes(one + two[member:])
    only_problem(adam_xpt, "adae.xpt", None, None, "holds more than one dataset")


def test_xpt_records_ending_in_blanks_are_all_read(tmp_path):
    """pandas counts blank 8-byte words of the last 80-byte card as padding; the importer does not."""
    frame = pd.DataFrame({"USUBJID": ["1", "2", "10"], "AVAL": [1.0, 0.0, 60.0], "SIMFL": ["Y", "", ""]})
    write_xpt(frame, tmp_path / "adx.xpt")
    src = importers.sources.read_xpt_source(tmp_path / "adx.xpt", "ADX", [])
    assert [cells for _n, cells in src.rows] == [["1", "1", "Y"], ["2", "0", ""], ["10", "60", ""]]
    assert [n for n, _c in src.rows] == [1, 2, 3]


# ---------------------------------------------------------------- generated PRO-ACT-style directories


def _small_proact(d: Path) -> Path:
    _write(d, "PROACT_DEMOGRAPHICS.csv", """
subject_id,Demographics_Delta,Age,Sex,Race_Caucasian
101,0,56.7,Male,1
102,0,61,Female,1
""")
    _write(d, "PROACT_ALSHISTORY.csv", """
subject_id,Site_of_Onset,Onset_Delta,Diagnosis_Delta
101,Onset: Limb,-700,-300
101,,,-300
102,Onset: Limb and Bulbar,-1004,-500
""")
    _write(d, "Proact_Alsfrs.csv", """
subject_id,ALSFRS_Delta,ALSFRS_Total,ALSFRS_R_Total,Q1_Speech
101,0,33,,4
101,91,31,,4
102,0,28,,3
102,14,,,3
""")
    _write(d, "PROACT_FVC.csv", """
subject_id,Forced_Vital_Capacity_Delta,pct_of_Normal_Trial_1,pct_of_Normal_Trial_2,pct_of_Normal_Trial_3
101,0,80,84.5,82
101,91,,77,
102,-35,70,,
""")
    _write(d, "PROACT_ADVERSEEVENTS.csv", """
subject_id,Lowest_Level_Term,Preferred_Term,Severity,Outcome,Start_Date_Delta,End_Date_Delta,Serious,Related
101,Headache NOS,Headache,Mild,Recovered,3,4,No,Possibly related
102,Fall,,Moderate,Ongoing,20,,Yes,No
""")
    return d


def test_generated_proact_directory(tmp_path):
    d = _small_proact(tmp_path / "proact")
    assert importers.detect_format(d) == "proact"
    ds = importers.load(d)
    p = ds.patients.set_index("patient_id")
    assert p.loc["101", "age"] == 56 and p.loc["101", "sex"] == "M"  # completed years
    assert p.loc["101", "onset"] == "spinal" and p.loc["102", "onset"] == "spinal+bulbar"
    assert p.loc["101", "disease_duration_months"] == 23 and p.loc["102", "disease_duration_months"] == 33
    assert p["safety_population"].all() and p["efficacy_population"].all()  # no flags: everyone
    assert p["mri_12m_done"].isna().all()
    # day 14 has no total score, so no value and no visit; no Visit column: days binned to whole months
    assert dict(zip(ds.visits["visit"], ds.visits["month"])) == {"M-1": -1, "M0": 0, "M3": 3}
    m = ds.measurements.set_index(["patient_id", "visit", "measure"])
    assert m.loc[("101", "M0", "FVC"), "value"] == 84.5  # the best trial
    assert m.loc[("101", "M3", "FVC"), "value"] == 77
    assert m.loc[("101", "M3", "ALSFRS"), "value"] == 31
    assert m.loc[("102", "M-1", "FVC"), "month"] == -1.15  # day -35 keeps its own month, at visit M-1
    assert ("102", "M0", "ALSFRS") in m.index and len(m.xs("102", level=0)) == 2  # day 14: no total score
    assert set(ds.measurements["source"]) == {"PRO-ACT ALSFRS", "PRO-ACT FVC"}
    ae = ds.adverse_events.set_index("patient_id")
    # the term is the most specific one recorded (Lowest_Level_Term), the preferred term PRO-ACT's Preferred_Term
    assert ae.loc["101", "term"] == "Headache NOS" and ae.loc["101", "preferred_term"] == "Headache"
    assert ae.loc["101", "duration_days"] == 2
    assert bool(ae.loc["101", "related"])
    assert ae.loc["102", "term"] == "Fall" and bool(ae.loc["102", "ongoing"]) and bool(ae.loc["102", "serious"])


def test_proact_missing_demographics(proact):
    (proact / "DEMOGRAPHICS.csv").unlink()
    assert_problem(problems(proact), "DEMOGRAPHICS.csv", None, None, "file is missing")


def test_proact_missing_delta_column(proact):
    drop_column(proact / "FVC.csv", "Forced_Vital_Capacity_Delta")
    only_problem(proact, "FVC.csv", 1, "Forced_Vital_Capacity_Delta", "required column is missing")


def test_proact_bad_trial_value(proact):
    line = break_cell(proact / "FVC.csv", "pct_of_Normal_Trial_2", "high", subject_id="1", Visit="III")
    only_problem(proact, "FVC.csv", line, "pct_of_Normal_Trial_2", "not a number: 'high'")


def test_proact_fvc_value_out_of_range_names_the_trial(proact):
    line = break_cell(proact / "FVC.csv", "pct_of_Normal_Trial_3", "250", subject_id="1", Visit="III")
    only_warning(proact, "FVC.csv", line, "pct_of_Normal_Trial_3", "FVC value 250 is out of range 0-200")


def test_proact_delta_not_whole(proact):
    line = break_cell(proact / "ALSFRS.csv", "ALSFRS_Delta", "90.5", subject_id="3", Visit="V")
    only_problem(proact, "ALSFRS.csv", line, "ALSFRS_Delta", "not a whole number of days: '90.5'")


def test_proact_alsfrs_r_total_is_read_as_alsfrs_r(proact):
    path = proact / "ALSFRS.csv"
    rows = read_csv(path)
    h = rows[0]
    line = find_line(path, subject_id="3", Visit="V")
    total = rows[line - 1][h.index("ALSFRS_Total")]
    rows[line - 1][h.index("ALSFRS_R_Total")] = total  # the revised total only: ALSFRS-R only
    rows[line - 1][h.index("ALSFRS_Total")] = ""
    both = find_line(path, subject_id="4", Visit="V")
    rows[both - 1][h.index("ALSFRS_R_Total")] = "45"  # both totals: both measures
    write_csv(path, rows)
    values = importers.load(proact).measurements.set_index(["patient_id", "visit", "measure"])["value"]
    assert values[("3", "V", "ALSFRS_R")] == float(total) and ("3", "V", "ALSFRS") not in values.index
    assert values[("4", "V", "ALSFRS_R")] == 45 and ("4", "V", "ALSFRS") in values.index


def proact_warnings(directory) -> list[str]:
    """The warnings of a PRO-ACT directory that loads (the import report's examples)."""
    return [str(w) for w in importers.load(directory).import_report.examples]


def test_proact_unknown_muscle_test_is_skipped_with_a_warning(proact):
    line = break_cell(proact / "MUSCLESTRENGTH.csv", "MS_Test_Name", "Deltoid", subject_id="1")
    assert_problem(proact_warnings(proact), "MUSCLESTRENGTH.csv", line, "MS_Test_Name",
                   "unknown MS_Test_Name 'Deltoid': 1 record(s) skipped")


def test_proact_subject_not_in_demographics(proact):
    line = break_cell(proact / "ALSFRS.csv", "subject_id", "999", subject_id="3", Visit="V")
    only_warning(proact, "ALSFRS.csv", line, "subject_id", "patient '999' is not in DEMOGRAPHICS.csv")


def test_proact_bad_sex_and_population(proact):
    line = break_cell(proact / "DEMOGRAPHICS.csv", "Sex", "Other", subject_id="6")
    break_cell(proact / "DEMOGRAPHICS.csv", "Efficacy_Population", "perhaps", subject_id="6")
    with pytest.raises(DatasetError) as info:  # the population flag is an error; the sex a warning
        importers.load(proact)
    found, warned = [str(p) for p in info.value.problems], [str(p) for p in info.value.warnings]
    assert_problem(warned, "DEMOGRAPHICS.csv", line, "Sex", "unknown value 'Other'")
    assert_problem(found, "DEMOGRAPHICS.csv", line, "Efficacy_Population", "'perhaps' is not Yes or No")
    assert len(found) == 1 and len(warned) == 1, (found, warned)


def test_proact_contradicting_history(proact):
    rows = read_csv(proact / "ALSHISTORY.csv")
    first = find_line(proact / "ALSHISTORY.csv", subject_id="2")
    dup = list(rows[first - 1])
    dup[rows[0].index("Onset_Delta")] = "-10"
    rows.append(dup)
    write_csv(proact / "ALSHISTORY.csv", rows)
    assert_problem(proact_warnings(proact), "ALSHISTORY.csv", len(rows), "Onset_Delta",
                   f"given for subject 2 at line {first}: the first is kept")


def test_proact_onset_after_day_0(proact):
    line = break_cell(proact / "ALSHISTORY.csv", "Onset_Delta", "15", subject_id="2")
    assert_problem(proact_warnings(proact), "ALSHISTORY.csv", line, "Onset_Delta", "onset 15 days after day 0")
    assert pd.isna(importers.load(proact).patients.set_index("patient_id").loc["2", "disease_duration_months"])


# ---------------------------------------------------------------- export


def test_export_xpt_without_pyreadstat_is_a_clear_error(shipped, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyreadstat", None)  # import fails
    with pytest.raises(importers.ExportError, match="needs the pyreadstat package"):
        importers.export_adam(shipped, tmp_path / "x", xpt=True)
    assert not (tmp_path / "x").exists()


def test_export_marks_simulated_values(exports):
    adeff = read_csv(exports / "adam-csv" / "adeff.csv")
    h = adeff[0]
    flags = {(r[h.index("PARAMCD")], r[h.index("SIMFL")]) for r in adeff[1:]}
    assert ("ALSFRS", "Y") in flags and ("FVCPP", "Y") not in flags
    alsfrs = read_csv(exports / "proact" / "ALSFRS.csv")
    assert {r[alsfrs[0].index("Simulated")] for r in alsfrs[1:]} == {"Y", ""}


def _revised(directory: Path):
    """The shipped data with its ALSFRS turned into ALSFRS-R (scores + 8: still within 0-48), written and loaded."""
    shutil.copytree(SHIPPED, directory)
    m = pd.read_csv(directory / "measurements.csv", dtype=str, keep_default_na=False)
    als = m["measure"] == "ALSFRS"
    m.loc[als, "value"] = (m.loc[als, "value"].astype(float) + 8).map(lambda v: f"{v:g}")
    m.loc[als, "measure"] = "ALSFRS_R"
    m.to_csv(directory / "measurements.csv", index=False, lineterminator="\n")
    return load_dataset(directory)


@pytest.mark.parametrize("fmt", ["adam", "proact"])
def test_alsfrs_r_survives_a_round_trip(tmp_path, fmt):
    revised = _revised(tmp_path / "revised")
    {"adam": importers.export_adam, "proact": importers.export_proact}[fmt](revised, tmp_path / fmt)
    back = importers.load(tmp_path / fmt)
    assert back.format == fmt and back.measures == revised.measures and "ALSFRS_R" in back.measures
    pd.testing.assert_frame_equal(back.measurements.drop(columns="source"), revised.measurements.drop(columns="source"))
    assert back.simulated_measures == ["ALSFRS_R"]


def test_export_of_a_measure_without_a_mapping_row(shipped, tmp_path, monkeypatch):
    """ADaM: the measure's own code is its PARAMCD (and reads back); PRO-ACT: an ExportError naming it."""
    monkeypatch.setitem(data.MEASURES, "GRIP", data.MeasureSpec("GRIP", "Grip strength", "kg", 0, 100, False))
    assert importers.mapping.measure_row("GRIP") is None
    meas = shipped.measurements.copy()
    meas["measure"] = meas["measure"].cat.add_categories(["GRIP"])
    grip = meas[meas["measure"] == "FVC"].assign(measure="GRIP")
    ds = dataclasses.replace(shipped, measurements=pd.concat([meas, grip], ignore_index=True))
    assert "GRIP" in ds.measures

    importers.export_adam(ds, tmp_path / "adam")  # no KeyError
    adeff = pd.read_csv(tmp_path / "adam" / "adeff.csv", dtype=str, keep_default_na=False)
    written = adeff[adeff["PARAMCD"] == "GRIP"]
    assert len(written) == len(grip) and set(written["PARAM"]) == {"Grip strength (kg)"}
    imp = importers.read_import(tmp_path / "adam", "adam")  # the import reads the code back as the measure
    assert imp.problems == []
    assert (imp.frames()["measurements.csv"]["measure"] == "GRIP").sum() == len(grip)

    with pytest.raises(importers.ExportError, match="GRIP"):
        importers.export_proact(ds, tmp_path / "proact")
    assert not (tmp_path / "proact").exists()


# ---------------------------------------------------------------- the package's layers


def test_data_does_not_import_the_importers():
    code = "import dashboard.data, sys; assert 'dashboard.importers' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_the_loader_refers_other_formats_to_the_importers(adam):
    """data.load_dataset reads our own format only; importers.load reads every format."""
    with pytest.raises(DatasetError) as info:
        load_dataset(adam)
    assert sorted(map(str, info.value.problems)) == sorted(f"{f}: file is missing from {adam}" for f in data.FILES)
    assert importers.load(adam).format == "adam"


# ---------------------------------------------------------------- the mapping table is documented


def test_data_readme_shows_the_mapping_table():
    text = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- mapping:start -->\n(.*?)\n<!-- mapping:end -->", text, re.S)
    assert m, "data/README.md lacks the mapping table markers"
    assert m.group(1) == importers.mapping_markdown()
    assert "## Importing ADaM and PRO-ACT-style data" in text


def test_data_readme_shows_the_code_lists():
    text = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- codes:start -->\n(.*?)\n<!-- codes:end -->", text, re.S)
    assert m, "data/README.md lacks the code list markers"
    assert m.group(1) == importers.mapping.code_lists_markdown()


def test_mapping_covers_every_column_and_measure():
    covered = {(r.file, r.column) for r in importers.MAPPING}
    assert covered == {(name, c.name) for name in data.FILES for c in data.columns_of(name)}
    measures = {r.measure for r in importers.MAPPING if r.measure}
    assert set(data.MEASURES) <= measures


# ---------------------------------------------------------------- the command line


def test_convert_adam_cli(shipped, exports, tmp_path):
    out = tmp_path / "converted"
    r = run_cli("convert", "--from", "adam", str(exports / "adam-xpt"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "26 patients, 672 measurements, 18 adverse events, 9 visits" in r.stdout
    assert "SIMULATED values in ALSFRS" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted([*data.FILES, "metadata.json"])
    back = load_dataset(out)
    assert back.format == "native"
    assert_same_tables(back, shipped)  # (the same tables as the round trip, whose statistics are compared there)


def test_convert_proact_cli_then_validate(shipped, exports, tmp_path):
    out = tmp_path / "converted"
    r = run_cli("convert", "--from", "proact", str(exports / "proact"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    v = run_cli("validate", "--data", str(out))
    assert v.returncode == 0 and "read as dashboard CSV format" in v.stdout
    assert_same_tables(load_dataset(out), shipped)


def test_validate_cli_on_adam_and_proact(exports):
    for kind, label in (("adam-csv", "ADaM datasets"), ("proact", "PRO-ACT-style files")):
        r = run_cli("validate", env_extra={data.DATA_DIR_ENV: str(exports / kind)})
        assert r.returncode == 0, r.stderr
        assert f"read as {label};" in r.stdout and "26 patients" in r.stdout


def test_validate_cli_lists_their_problems(adam):
    line = break_cell(adam / "adsl.csv", "EFFFL", "abc", USUBJID="5")
    r = run_cli("validate", "--data", str(adam))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"invalid dataset {adam.resolve()}: 1 problem(s)",
                                     f"adsl.csv:{line}: EFFFL: 'abc' is not Y or N"]


def test_convert_refuses_a_non_empty_directory_without_force(exports, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    r = run_cli("convert", "--from", "adam", str(exports / "adam-csv"), "--out", str(out))
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--force" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    r = run_cli("convert", "--from", "adam", str(exports / "adam-csv"), "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert load_dataset(out).format == "native"


@pytest.mark.parametrize("where", ["shipped", "inside-shipped", "inside-input", "a-file"])
def test_convert_refuses_bad_destinations(exports, tmp_path, where):
    src = exports / "adam-csv"
    (tmp_path / "file").write_text("x")
    out = {"shipped": SHIPPED, "inside-shipped": SHIPPED / "converted", "inside-input": src / "converted",
           "a-file": tmp_path / "file"}[where]
    r = run_cli("convert", "--from", "adam", str(src), "--out", str(out))
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (SHIPPED / "converted").exists() and not (src / "converted").exists()


def test_convert_an_invalid_input(adam, tmp_path):
    line = break_cell(adam / "adsl.csv", "SAFFL", "n/a", USUBJID="3")
    out = tmp_path / "out"
    r = run_cli("convert", "--from", "adam", str(adam), "--out", str(out))
    assert r.returncode == 1
    assert f"adsl.csv:{line}: SAFFL: 'n/a' is not Y or N" in r.stderr.splitlines()[1]
    assert not out.exists()


def test_convert_with_the_wrong_format(exports, tmp_path):
    r = run_cli("convert", "--from", "proact", str(exports / "adam-csv"), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "DEMOGRAPHICS.csv: file is missing" in r.stderr
    r = run_cli("convert", "--from", "sdtm", str(exports / "adam-csv"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_simulate_refuses_an_imported_directory(adam):
    r = run_cli("simulate-alsfrs", "--data", str(adam))
    assert r.returncode == 2 and "convert it first" in r.stderr
    assert not (adam / "measurements.csv").exists()
