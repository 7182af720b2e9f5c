"""dashboard.cohorts: progression groups, selection and the URL round trip, checked by hand."""

from __future__ import annotations

import shutil

import pytest

from dashboard import cohorts, data
from dashboard.cohorts import CohortFilter, select
from tests.helpers import SHIPPED

# A small dataset, written in the documented file format and loaded by data.load_dataset.
#
# id  age sex onset          dur  eff  ALSFRS I(-6) II(-3) V(0)  decline       FVC III(-1.15) V(0)
# 1   40  F   spinal         10   yes  30     29     28          30-28 = 2     80  78 -> baseline 78
# 2   50  M   spinal+bulbar  20   yes  30     .      29          30-29 = 1     90
# 3   60  F   spinal+bulbar  30   yes  .      35     30          35-30 = 5     70     (earliest pre visit is II)
# 4   70  M   spinal         40   yes  30     .      .           none -> unclassified   100
# 5   .   .   .              .    yes  25     .      24          1             .
# 6   45  M   spinal         15   no   38     .      30          8 (not efficacy)        60
# 7   65  F   spinal         35   yes  .      .      31          none -> unclassified   .
# 10  55  F   spinal         25   yes  20     .      22          -2            85
PATIENTS = """\
patient_id,age,sex,onset,disease_duration_months,safety_population,efficacy_population,mri_12m_done,exclusion_reason
10,55,F,spinal,25,true,true,true,
1,40,F,spinal,10,true,true,true,
2,50,M,spinal+bulbar,20,true,true,true,
3,60,F,spinal+bulbar,30,true,true,,
4,70,M,spinal,40,true,true,true,
5,,,,,true,true,,
6,45,M,spinal,15,true,false,true,Withdrawal from study
7,65,F,spinal,35,true,true,true,
"""
MEASUREMENTS = """patient_id,visit,month,measure,value,source
1,I,-6,ALSFRS,30,simulated
1,II,-3,ALSFRS,29,simulated
1,V,0,ALSFRS,28,Table 2
1,III,-1.15,FVC,80,Table 4
1,V,0,FVC,78,Table 4
1,VIII,3,ALSFRS,27,simulated
2,I,-6,ALSFRS,30,simulated
2,V,0,ALSFRS,29,Table 2
2,III,-1.15,FVC,90,Table 4
3,II,-3,ALSFRS,35,simulated
3,V,0,ALSFRS,30,Table 2
3,III,-1.15,FVC,70,Table 4
4,I,-6,ALSFRS,30,simulated
4,III,-1.15,FVC,100,Table 4
5,I,-6,ALSFRS,25,simulated
5,V,0,ALSFRS,24,Table 2
6,I,-6,ALSFRS,38,simulated
6,V,0,ALSFRS,30,Table 2
6,III,-1.15,FVC,60,Table 2
7,V,0,ALSFRS,31,Table 2
10,I,-6,ALSFRS,20,simulated
10,V,0,ALSFRS,22,Table 2
10,III,-1.15,FVC,85,Table 4
"""
AE = "patient_id,term,serious,related,severity,action,duration_days,ongoing\n1,Headache,false,true,Mild,No,2,false\n"

ALL = ("1", "2", "3", "4", "5", "6", "7", "10")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    (d / "patients.csv").write_text(PATIENTS)
    (d / "measurements.csv").write_text(MEASUREMENTS)
    (d / "adverse_events.csv").write_text(AE)
    shutil.copy(SHIPPED / "visits.csv", d / "visits.csv")
    return data.load_dataset(d)


def ids(ds, **kw):
    return select(ds, CohortFilter(**kw)).patient_ids


# ---------------------------------------------------------------- progression


def test_patient_frame_decline_and_baselines(small):
    pf = cohorts.patient_frame(small)
    assert list(pf.index) == list(ALL)  # natural order: 10 after 6
    decline = pf["decline"].to_dict()
    assert {k: v for k, v in decline.items() if v == v} == {"1": 2.0, "2": 1.0, "3": 5.0, "5": 1.0, "6": 8.0,
                                                            "10": -2.0}
    assert pf.loc["4", "decline"] != pf.loc["4", "decline"]  # NaN: no day-0 value
    assert pf.loc["7", "decline"] != pf.loc["7", "decline"]  # NaN: no value before day 0
    # baseline = last value at or before day 0: patient 1's FVC at V (78), not at III (80)
    assert pf.loc["1", "baseline_FVC"] == 78.0
    assert pf.loc["2", "baseline_FVC"] == 90.0
    assert pf.loc["4", "baseline_ALSFRS"] == 30.0  # visit I is its last ALSFRS at or before day 0


def test_progression_groups(small):
    g = cohorts.progression_groups(small).to_dict()
    assert g == {
        "1": "progressor",  # decline 2 >= 2 (threshold inclusive)
        "2": "stable",
        "3": "progressor",
        "4": "unclassified",
        "5": "stable",
        "6": "not in efficacy population",  # decline 8 but not classified
        "7": "unclassified",
        "10": "stable",  # improved by 2
    }
    g1 = cohorts.progression_groups(small, min_decline=1).to_dict()
    assert [p for p, v in g1.items() if v == "progressor"] == ["1", "2", "3", "5"]
    g5 = cohorts.progression_groups(small, min_decline=5.5).to_dict()
    assert [p for p, v in g5.items() if v == "progressor"] == []


# ---------------------------------------------------------------- populations


def test_select_populations(small):
    assert ids(small) == ALL
    assert ids(small, population="efficacy") == ("1", "2", "3", "4", "5", "7", "10")
    assert ids(small, population="progressors") == ("1", "3")
    assert ids(small, population="stable") == ("2", "5", "10")
    assert ids(small, population="compare") == ("1", "2", "3", "5", "10")
    assert ids(small, population="progressors", min_decline=1) == ("1", "2", "3", "5")
    assert ids(small, population="stable", min_decline=1) == ("10",)


def test_select_cohort_fields(small):
    c = select(small, CohortFilter(population="compare"))
    assert c.n == 5 and c.n_enrolled == 8
    assert c.count_text() == "5 of 8 patients"
    assert c.groups == {"1": "progressor", "2": "stable", "3": "progressor", "5": "stable", "10": "stable"}
    assert c.ids_in_group("progressor") == ("1", "3")
    assert c.ids_in_group("stable") == ("2", "5", "10")
    assert c.unclassified == ("4", "7")
    assert c.unknown_ids == ()
    d = c.to_dict()
    assert d["patient_ids"] == ["1", "2", "3", "5", "10"]
    assert d["unclassified_patient_ids"] == ["4", "7"]
    safety = select(small, CohortFilter())
    assert safety.unclassified == ()
    assert safety.groups["4"] == "unclassified" and safety.groups["6"] == "not in efficacy population"
    assert select(small, CohortFilter(population="efficacy")).unclassified == ()


def test_unclassified_follows_subgroup_filters(small):
    # unclassified: 4 (M) and 7 (F); a female subgroup has only 7
    assert select(small, CohortFilter(population="compare", sex=("F",))).unclassified == ("7",)
    assert select(small, CohortFilter(population="compare", sex=("M",))).unclassified == ("4",)
    assert select(small, CohortFilter(population="progressors", patients=("1", "3"))).unclassified == ()


# ---------------------------------------------------------------- subgroup filters


def test_sex_and_onset_filters(small):
    assert ids(small, sex=("F",)) == ("1", "3", "7", "10")
    # patient 5 has no sex recorded: excluded once sex is filtered, even with both sexes
    assert ids(small, sex=("F", "M")) == ("1", "2", "3", "4", "6", "7", "10")
    assert ids(small, onset=("spinal+bulbar",)) == ("2", "3")
    assert ids(small, onset=("spinal",)) == ("1", "4", "6", "7", "10")
    assert ids(small, population="efficacy", sex=("M",)) == ("2", "4")
    assert ids(small, population="progressors", sex=("F",), onset=("spinal",)) == ("1",)


def test_range_filters_inclusive_and_missing_excluded(small):
    # ages 40, 50, 60, 70, -, 45, 65, 55
    assert ids(small, age=(45, 60)) == ("2", "3", "6", "10")
    assert ids(small, age=(60, None)) == ("3", "4", "7")
    assert ids(small, age=(None, 45)) == ("1", "6")
    assert ids(small, age=(50, 50)) == ("2",)
    # durations 10, 20, 30, 40, -, 15, 35, 25
    assert ids(small, disease_duration=(10, 20)) == ("1", "2", "6")
    # baseline FVC 78, 90, 70, 100, -, 60, -, 85
    assert ids(small, baseline_fvc=(78, 90)) == ("1", "2", "10")
    assert ids(small, baseline_fvc=(None, 1000)) == ("1", "2", "3", "4", "6", "10")  # 5 and 7 have none
    # baseline ALSFRS 28, 29, 30, 30, 24, 30, 31, 22
    assert ids(small, baseline_alsfrs=(29, 30)) == ("2", "3", "4", "6")
    assert ids(small, population="efficacy", age=(40, 60), baseline_alsfrs=(None, 29)) == ("1", "2", "10")


def test_patient_list_and_unknown_ids(small):
    c = select(small, CohortFilter(patients=("3", "1", "x7", "99")))
    assert c.patient_ids == ("1", "3")  # natural order, not the list's
    assert c.unknown_ids == ("99", "x7")
    assert select(small, CohortFilter(population="progressors", patients=("1", "2"))).patient_ids == ("1",)
    assert select(small, CohortFilter(patients=("1",))).unknown_ids == ()


def test_filter_validation():
    with pytest.raises(ValueError):
        CohortFilter(population="bogus")
    with pytest.raises(ValueError):
        CohortFilter(sex=("X",))
    with pytest.raises(ValueError):
        CohortFilter(onset=("cervical",))
    with pytest.raises(ValueError):
        CohortFilter(age=(60, 40))
    with pytest.raises(ValueError):
        CohortFilter(min_decline=float("nan"))


# ---------------------------------------------------------------- URL parameters


def test_to_params_literal_and_round_trip():
    f = CohortFilter(
        population="compare", min_decline=3.5, sex=("F",), onset=("spinal", "spinal+bulbar"),
        age=(40, 60), disease_duration=(None, 24.5), baseline_alsfrs=(20, None), baseline_fvc=(70, 110),
        patients=("1", "3"),
    )
    params = f.to_params()
    assert params == {
        "cohort": "compare", "threshold": "3.5", "sex": "F", "onset": "spinal,spinal+bulbar",
        "age_min": "40", "age_max": "60", "duration_max": "24.5", "alsfrs_min": "20",
        "fvc_min": "70", "fvc_max": "110", "patients": "1,3",
    }
    back, notices = CohortFilter.from_params(params)
    assert notices == []
    assert back == f
    assert CohortFilter().to_params() == {}
    assert CohortFilter.from_params({}) == (CohortFilter(), [])
    assert CohortFilter().is_default and not f.is_default


@pytest.mark.parametrize("params,field,expected", [
    ({"cohort": "bogus"}, "population", "safety"),
    ({"age_min": "abc"}, "age", (None, None)),
    ({"age_min": "60", "age_max": "40"}, "age", (None, None)),
    ({"sex": "X"}, "sex", ()),
    ({"threshold": "0"}, "min_decline", 2.0),
    ({"threshold": "-1"}, "min_decline", 2.0),
    ({"threshold": "two"}, "min_decline", 2.0),
    ({"fvc_max": "inf"}, "baseline_fvc", (None, None)),
    ({"duration_min": "nan"}, "disease_duration", (None, None)),
    ({"patients": "1,<b>,3"}, "patients", ("1", "3")),
])
def test_from_params_ignores_invalid_with_a_notice(params, field, expected):
    f, notices = CohortFilter.from_params(params)
    assert getattr(f, field) == expected
    assert len(notices) == 1
    key = next(iter(params))
    assert key.split("_")[0] in notices[0]


def test_from_params_keeps_the_valid_part():
    f, notices = CohortFilter.from_params({"sex": "F,X", "age_min": "abc", "age_max": "60", "cohort": "stable"})
    assert f.sex == ("F",)
    assert f.age == (None, 60.0)
    assert f.population == "stable"
    assert len(notices) == 2


def test_from_params_onset_plus_arrived_as_space():
    f, notices = CohortFilter.from_params({"onset": "spinal bulbar"})
    assert f.onset == ("spinal+bulbar",) and notices == []
    f, notices = CohortFilter.from_params({"onset": "spinal, spinal bulbar"})
    assert f.onset == ("spinal", "spinal+bulbar") and notices == []


def test_from_params_list_values_take_the_last():
    f, notices = CohortFilter.from_params({"cohort": ["safety", "efficacy"], "sex": ["M"]})
    assert f.population == "efficacy" and f.sex == ("M",) and notices == []


# ---------------------------------------------------------------- shipped data


def test_shipped_twelve_progressors_eleven_stable(shipped):
    """Declines (ALSFRS at visit I minus visit V) read by hand from data/measurements.csv.

    Efficacy patients: 1: 18-15=3, 2: 25-22=3, 3: 36-33=3, 4: 23-22=1, 5: 30-29=1, 6: 38-27=11,
    7: 30-27=3, 8: 34-34=0, 9: 35-34=1, 11: 26-26=0, 13: 35-27=8, 14: 26-26=0, 15: 35-26=9,
    16: 35-32=3, 17: 36-30=6, 18: 38-32=6, 19: 40-34=6, 20: 38-37=1, 22: 32-31=1, 23: 38-27=11,
    24: 29-29=0, 25: 35-34=1, 26: 36-35=1.  (10, 12 and 21 are not in the efficacy population.)
    """
    prog = select(shipped, CohortFilter(population="progressors"))
    stable = select(shipped, CohortFilter(population="stable"))
    assert prog.patient_ids == ("1", "2", "3", "6", "7", "13", "15", "16", "17", "18", "19", "23")
    assert stable.patient_ids == ("4", "5", "8", "9", "11", "14", "20", "22", "24", "25", "26")
    assert prog.unclassified == () and stable.unclassified == ()
    assert select(shipped, CohortFilter(population="compare")).n == 23
    assert select(shipped, CohortFilter(population="efficacy")).n == 23
    assert select(shipped, CohortFilter()).n == 26
    # threshold 4: declines >= 4 are 6 (11), 13 (8), 15 (9), 17, 18, 19 (6), 23 (11)
    assert select(shipped, CohortFilter(population="progressors", min_decline=4)).patient_ids == (
        "6", "13", "15", "17", "18", "19", "23")


# ---------------------------------------------------------------- declarations and named properties


def test_categories_match_the_patient_table_schema():
    schema = {c.name: c for c in data.SCHEMA["patients.csv"]}
    for cat in cohorts.CATEGORIES:
        assert cat.field in cohorts.filter_fields()
        assert schema[cat.column].kind == "enum" and schema[cat.column].choices == cat.choices
    declared = [(c.field, c.param, c.label) for c in cohorts.CATEGORIES]
    assert declared == [("sex", "sex", "Sex"), ("onset", "onset", "Onset")]


@pytest.mark.parametrize("population,comparison,progression", [
    ("safety", False, False), ("efficacy", False, False), ("progressors", False, True), ("stable", False, True),
    ("compare", True, True),
])
def test_population_properties(population, comparison, progression):
    f = CohortFilter(population=population)
    assert f.is_comparison is comparison and f.uses_progression is progression
    assert ("progressor = " in f.describe()) is progression


def test_category_filters_in_words_and_messages():
    assert CohortFilter(sex=("F", "M"), onset=("spinal",)).describe() == (
        "Safety population (all enrolled); sex F or M; onset spinal")
    with pytest.raises(ValueError, match=r"unknown sex 'X' \(choose from F, M\)"):
        CohortFilter(sex=("X",))
    with pytest.raises(ValueError, match=r"unknown onset 'cervical' \(choose from spinal, spinal\+bulbar, bulbar\)"):
        CohortFilter(onset=("cervical",))
