"""The simulated ALSFRS trajectories: reproducible byte for byte and shaped as promised."""

import subprocess
import sys

import pandas as pd

from dashboard import cohorts, data
from tests.helpers import REPO, SHIPPED


def test_simulate_rewrites_exactly_the_committed_rows(data_copy):
    target = data_copy / "measurements.csv"
    # scramble the simulated rows first, so the command must really regenerate them
    lines = target.read_text().splitlines(keepends=True)
    target.write_text("".join(line for line in lines if "simulated" not in line))
    r = subprocess.run([sys.executable, "-m", "dashboard", "simulate-alsfrs", "--data", str(data_copy)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() == (SHIPPED / "measurements.csv").read_bytes()


def test_simulated_rows_are_labelled_and_shaped(shipped):
    m = shipped.measurements
    als = m[m["measure"] == "ALSFRS"]
    assert (als.loc[als["visit"] == "V", "source"] == "Table 2").all()
    assert (als.loc[als["visit"] != "V", "source"] == "simulated").all()
    assert als["value"].between(0, 40).all() and (als["value"] % 1 == 0).all()
    pre = als[als["visit"].isin(["I", "II", "III"])]
    assert pre["patient_id"].nunique() == 26
    eff = set(shipped.patients.loc[shipped.patients["efficacy_population"], "patient_id"])
    post = als[als["month"] > 0]
    assert set(post["patient_id"]) <= eff
    # same attendance as FVC in Table 4
    fvc_post = m[(m["measure"] == "FVC") & (m["month"] > 0)]
    assert set(zip(post["patient_id"], post["visit"])) == set(zip(fvc_post["patient_id"], fvc_post["visit"]))


def test_twelve_progressors_eleven_stable(shipped):
    pf = cohorts.patient_frame(shipped)
    eff = pf[pf["efficacy_population"]]
    assert eff["decline"].between(2, 11).sum() == 12
    assert (eff["decline"] <= 1).sum() == 11


# ---------------------------------------------------------------- synthetic trials (python -m dashboard generate)

import csv  # noqa: E402
import io  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from dashboard import simulate  # noqa: E402


def _generate(out, n, seed=None):
    cmd = [sys.executable, "-m", "dashboard", "generate", "--patients", str(n), "--out", str(out)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)


def test_generated_trial_validates_and_has_n_patients(tmp_path):
    out = tmp_path / "trial"
    r = _generate(out, 300, seed=7)
    assert r.returncode == 0, r.stderr
    assert "300 patients" in r.stdout and "SIMULATED" in r.stdout
    v = subprocess.run([sys.executable, "-m", "dashboard", "validate", "--data", str(out)], capture_output=True,
                       text=True, cwd=REPO)
    assert v.returncode == 0, v.stderr
    ds = data.load_dataset(out)
    assert list(ds.patients["patient_id"]) == [str(i) for i in range(1, 301)]
    assert ds.patients["safety_population"].all()
    assert (ds.measurements["source"] == "simulated").all()
    assert set(ds.measures) == set(data.MEASURES) - {"ALSFRS_R"}  # the generator writes the original scale
    assert list(ds.visits["visit"]) == list(data.load_dataset(SHIPPED).visits["visit"])
    assert (out / "visits.csv").read_bytes() == (SHIPPED / "visits.csv").read_bytes()
    for name in data.FILES:  # canonical format: exact header, "\n" line endings, lower-case booleans
        text = (out / name).read_bytes().decode("utf-8")
        assert text.splitlines()[0] == ",".join(c.name for c in data.SCHEMA[name])
        assert "\r" not in text
        cells = {c for row in csv.reader(io.StringIO(text)) for c in row}
        assert not cells & {"True", "False", "nan", "NaN", "None", "<NA>"}


def test_generated_trial_is_deterministic_for_a_seed(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert _generate(tmp_path / name, 120, seed=seed).returncode == 0
    for f in data.FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "measurements.csv").read_bytes() != (tmp_path / "c" / "measurements.csv").read_bytes()
    t1, t2 = simulate.synthetic_trial(50, seed=1), simulate.synthetic_trial(50, seed=1)
    for k in t1:
        pd.testing.assert_frame_equal(t1[k], t2[k])


def test_generated_tables_have_the_csv_columns_and_the_promised_shape():
    t = simulate.synthetic_trial(4000, seed=0)
    for key, name in (("patients", "patients.csv"), ("measurements", "measurements.csv"),
                      ("adverse_events", "adverse_events.csv"), ("visits", "visits.csv")):
        assert list(t[key].columns) == [c.name for c in data.SCHEMA[name]]
    p, m, ae = t["patients"], t["measurements"], t["adverse_events"]
    assert 0.87 < p["efficacy_population"].mean() < 0.93
    assert p.loc[~p["efficacy_population"], "exclusion_reason"].notna().all()
    assert p.loc[p["efficacy_population"], "exclusion_reason"].isna().all()
    assert 0.6 < len(ae) / len(p) < 0.8
    shipped = data.load_dataset(SHIPPED)
    assert set(ae["term"]) <= set(shipped.adverse_events["term"])
    assert set(ae["severity"]) <= set(data.SEVERITIES)
    assert (ae[ae["severity"] == "Death"].groupby("patient_id").size() <= 1).all()
    # ALSFRS at every visit, FVC and WS only where the shipped data has them
    for meas in ("FVC", "WS_UEL"):
        assert set(m.loc[m["measure"] == meas, "visit"]) == set(
            shipped.measurements.loc[shipped.measurements["measure"] == meas, "visit"])
    assert set(m.loc[m["measure"] == "ALSFRS", "visit"]) == set(shipped.visits["visit"])
    # every patient has a day-0 ALSFRS; drop-out thins the later visits; excluded patients stop at day 0
    als = m[m["measure"] == "ALSFRS"]
    assert set(als.loc[als["month"] == 0, "patient_id"]) == set(p["patient_id"])
    per_visit = als.groupby("month").size()
    assert per_visit[18] < per_visit[12] < per_visit[3] < per_visit[0]
    excluded = set(p.loc[~p["efficacy_population"], "patient_id"])
    assert (m.loc[m["patient_id"].isin(excluded), "month"] <= 0).all()
    assert not m["patient_id"].isin(excluded).loc[m["measure"].str.startswith("WS_")].any()
    for code, spec in data.MEASURES.items():
        v = m.loc[m["measure"] == code, "value"]
        assert v.between(spec.low, spec.high).all()
    assert (als["value"] % 1 == 0).all()


def test_about_half_the_generated_efficacy_patients_are_progressors(tmp_path):
    out = simulate.write_trial(simulate.synthetic_trial(2000, seed=2), tmp_path / "t")
    ds = data.load_dataset(out)
    groups = cohorts.progression_groups(ds)
    eff = groups[groups != cohorts.NOT_EFFICACY]
    share = (eff == cohorts.PROGRESSOR).mean()
    assert 0.4 < share < 0.6
    # progressors slow down after day 0 (the model's slow-down), stable patients do not
    from dashboard import stats
    prog = tuple(eff.index[eff == cohorts.PROGRESSOR])
    test = stats.slope_test(ds.measurements, "ALSFRS", 6, prog)
    assert test.n > 500 and test.mean_difference > 0


def test_generate_refuses_the_shipped_data_directory():
    for target in (SHIPPED, SHIPPED / "sub"):
        r = _generate(target, 10)
        assert r.returncode == 2
        assert "refusing to write into the shipped dataset" in r.stderr
    assert not (SHIPPED / "sub").exists()


@pytest.mark.parametrize("n", ["0", "-3", "x"])
def test_generate_rejects_a_bad_patient_count(tmp_path, n):
    r = subprocess.run([sys.executable, "-m", "dashboard", "generate", "--patients", n, "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_ten_thousand_patients_generate_in_seconds(tmp_path):
    start = time.perf_counter()
    simulate.write_trial(simulate.synthetic_trial(10_000, seed=0), tmp_path / "big")
    assert time.perf_counter() - start < 10  # about 1 s on a 2-core machine
    assert sum(1 for _ in open(tmp_path / "big" / "patients.csv")) == 10_001
