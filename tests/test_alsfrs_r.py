"""ALSFRS-R (0-48) is first class: ranges, labels, progression groups, deltaFS, views."""

import shutil

import pandas as pd
import pytest

from dashboard import cohorts, data, figures, stats, views
from tests.helpers import SHIPPED


@pytest.fixture
def revised(tmp_path):
    """The shipped data with its ALSFRS turned into ALSFRS-R (scores + 8: still within 0-48)."""
    d = tmp_path / "revised"
    shutil.copytree(SHIPPED, d)
    m = pd.read_csv(d / "measurements.csv", dtype=str, keep_default_na=False)
    als = m["measure"] == "ALSFRS"
    m.loc[als, "value"] = (m.loc[als, "value"].astype(float) + 8).map(lambda v: f"{v:g}")
    m.loc[als, "measure"] = "ALSFRS_R"
    m.to_csv(d / "measurements.csv", index=False, lineterminator="\n")
    return data.load_dataset(d)


def test_range_is_0_to_48(tmp_path, data_copy):
    p = data_copy / "measurements.csv"
    p.write_text(p.read_text() + "1,XII,18,ALSFRS_R,49,Table 9\n")
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset(data_copy)
    assert "ALSFRS_R value 49 is out of range 0-48" in str(e.value)
    assert data.MEASURES["ALSFRS_R"].axis_title == "ALSFRS-R (points, 0-48)"


def test_groups_and_delta_fs_use_the_revised_scale(revised, shipped):
    assert data.functional_measure(revised.measures) == "ALSFRS_R"
    pf, pf0 = cohorts.patient_frame(revised), cohorts.patient_frame(shipped)
    # the same declines (a constant shift), so the same 12 progressors
    assert list(pf["decline"]) == list(pf0["decline"])
    assert cohorts.select(revised, cohorts.CohortFilter(population="progressors")).n == 12
    # deltaFS = (48 - score at day 0) / disease duration; patient 1: ALSFRS 15 -> ALSFRS-R 23, 23 months
    assert pf.at["1", "delta_fs"] == pytest.approx((48 - 23) / 23)
    assert pf0.at["1", "delta_fs"] == pytest.approx((40 - 15) / 23)
    c = stats.characteristics(pf, list(pf.index))
    assert c["baseline_ALSFRS_R"]["mean"] == pytest.approx(29.46 + 8, abs=0.01)
    assert c["delta_fs"]["n"] == 26


def test_delta_fs_filter(shipped):
    pf = cohorts.patient_frame(shipped)
    filt, notices = cohorts.CohortFilter.from_params({"deltafs_min": "0.3", "deltafs_max": "0.6"})
    assert notices == []
    c = cohorts.select(shipped, filt)
    expected = [p for p in pf.index if 0.3 <= pf.at[p, "delta_fs"] <= 0.6]
    assert list(c.patient_ids) == expected and 0 < c.n < 26
    assert "pre-treatment progression rate δfs 0.3-0.6 points/month" in filt.describe()


def test_views_label_the_revised_scale(revised):
    c = cohorts.select(revised, cohorts.CohortFilter(population="compare"))
    v = views.run("alsfrs", revised, c, highlight="7")
    assert v.figure.layout.yaxis.title.text == "ALSFRS-R (points, 0-48)"
    assert v.figure.layout.title.text.startswith("ALSFRS-R over time (n = 23)")
    assert {t["measure"] for _g, t in v.slope_rows} == {"ALSFRS_R"}
    assert "ALSFRS_R at visits" in views.simulated_notes(revised, c, "alsfrs")[0]
    prof = views.run("profile", revised, c, "7")
    assert any(k.startswith("ALSFRS-R at day 0") for k, _ in prof.facts)
    figures.validate(prof.figure)
