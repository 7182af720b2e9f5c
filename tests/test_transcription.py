"""The transcription of the paper's tables, checked against its own summary rows."""

import math

import numpy as np
import pytest


def _mean_sd_sem(values):
    a = np.asarray(values, dtype=float)
    sd = a.std(ddof=1)
    return a.mean(), sd, sd / math.sqrt(len(a))


def test_population_counts(shipped):
    p = shipped.patients
    assert len(p) == 26
    assert p["safety_population"].sum() == 26
    assert p["efficacy_population"].sum() == 23
    excluded = p.loc[~p["efficacy_population"], ["patient_id", "exclusion_reason"]]
    assert dict(zip(excluded["patient_id"], excluded["exclusion_reason"])) == {
        "10": "RF with death", "12": "Myelopathy", "21": "Withdrawal from study"}
    assert sorted(p.loc[p["mri_12m_done"] == False, "patient_id"], key=int) == ["1", "7", "10", "17", "21", "26"]  # noqa: E712


@pytest.mark.parametrize(
    "column,printed_mean,printed_sem",
    [("age", 51.2, 1.7), ("disease_duration_months", 38.1, 4.2)],
)
def test_table2_summary_row_patients(shipped, column, printed_mean, printed_sem):
    mean, _sd, sem = _mean_sd_sem(shipped.patients[column].astype(float))
    assert round(mean, 1) == printed_mean
    assert round(sem, 1) == printed_sem


@pytest.mark.parametrize("measure,visit,printed_mean,printed_sem",
                         [("ALSFRS", "V", 29.5, 1.0), ("FVC", "III", 88.8, 2.3)])
def test_table2_summary_row_measures(shipped, measure, visit, printed_mean, printed_sem):
    m = shipped.measurements
    vals = m[(m["measure"] == measure) & (m["visit"] == visit)]
    assert len(vals) == 26
    assert not vals["simulated"].any()
    mean, _sd, sem = _mean_sd_sem(vals["value"])
    assert round(mean, 1) == printed_mean
    assert round(sem, 1) == printed_sem


TABLE4_ROW = {"III": (89, 11, 23), "VIII": (84, 16, 22), "IX": (82, 14, 22), "X": (79, 17, 19), "XI": (75, 17, 19),
              "XII": (73, 20, 11)}


@pytest.mark.parametrize("visit", list(TABLE4_ROW))
def test_table4_summary_row_is_mean_and_sd(shipped, visit):
    """Table 4's row says Mean ± SEM, but the ± is the sample SD (recorded in data/README.md)."""
    printed_mean, printed_pm, n = TABLE4_ROW[visit]
    m = shipped.measurements
    eff = set(shipped.patients.loc[shipped.patients["efficacy_population"], "patient_id"])
    vals = m[(m["measure"] == "FVC") & (m["visit"] == visit) & m["patient_id"].isin(eff)]["value"]
    assert len(vals) == n
    mean, sd, sem = _mean_sd_sem(vals)
    assert round(mean) == printed_mean
    assert round(sd) == printed_pm
    assert round(sem) != printed_pm


def test_table2_fvc_equals_table4_first_column(shipped):
    m = shipped.measurements
    fvc3 = m[(m["measure"] == "FVC") & (m["visit"] == "III")]
    assert set(fvc3.loc[fvc3["source"] == "Table 2", "patient_id"]) == {"10", "12", "21"}
    assert (fvc3["source"] == "Table 4").sum() == 23


def test_weakness_scores_absolute_and_in_range(shipped):
    m = shipped.measurements
    ws = m[m["measure"].str.startswith("WS_")]
    assert ws["value"].between(0, 5).all()
    assert set(ws["source"]) == {"Table 5"}
    # patient 1, UEL: 1.5 at III, decreases -0.5 at VIII and -1.5 at XI
    p1 = ws[(ws["patient_id"] == "1") & (ws["measure"] == "WS_UEL")].set_index("visit")["value"]
    assert p1.to_dict() == {"III": 1.5, "V": 1.5, "VIII": 1.0, "XI": 0.0}
    # patient 24, UEL: 4 - 3.7 at XI
    p24 = ws[(ws["patient_id"] == "24") & (ws["measure"] == "WS_UEL") & (ws["visit"] == "XI")]["value"]
    assert p24.tolist() == [pytest.approx(0.3)]


def test_adverse_events(shipped):
    ae = shipped.adverse_events
    assert len(ae) == 18
    assert ae["patient_id"].nunique() == 15
    headache = ae[ae["term"] == "Headache"]
    assert sorted(headache["patient_id"], key=int) == ["4", "5", "8", "9", "13", "16", "17"]
    assert ae["ongoing"].sum() == 1
    assert ae.loc[ae["ongoing"], "patient_id"].tolist() == ["7"]
    assert sorted(ae.loc[ae["severity"] == "Death", "patient_id"], key=int) == ["2", "10"]
