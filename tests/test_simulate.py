"""The simulated ALSFRS trajectories: reproducible byte for byte and shaped as promised."""

import json
import math
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


def test_ten_thousand_patients_generate(tmp_path):
    """(Its time, about a second, is for bench/bench.py to print, not for a test to assert.)"""
    simulate.write_trial(simulate.synthetic_trial(10_000, seed=0), tmp_path / "big")
    assert sum(1 for _ in open(tmp_path / "big" / "patients.csv")) == 10_001


# ---------------------------------------------------------------- randomised trials (generate --arms)

from dashboard import between, mixed, survival  # noqa: E402
from dashboard.simulate import TrialSimulation  # noqa: E402


def _arm_trial(tmp_path, n, seed, slope_effect=0.0, hazard_ratio=1.0, arms=("Placebo", "Active")):
    tables = simulate.synthetic_trial(n, seed=seed, params=TrialSimulation(
        arms=arms, slope_effect=slope_effect, hazard_ratio=hazard_ratio))
    return data.load_dataset(simulate.write_trial(tables, tmp_path / f"t{seed}-{slope_effect}-{hazard_ratio}"))


def _arms_of(ds):
    return pd.Series(ds.patients["arm"].astype(str).to_numpy(), index=ds.patients["patient_id"].astype(str))


def _analyses(ds, arms=("Placebo", "Active")):
    groups = _arms_of(ds)
    slopes = between.slope_comparison(ds.measurements, "ALSFRS", groups, list(arms))
    deaths = survival.death_times(ds)
    times = deaths.frame.assign(group=groups.reindex(deaths.frame["patient_id"]).to_numpy())
    return slopes, survival.kaplan_meier(times, list(arms))


def test_generate_arms_writes_a_randomised_trial(tmp_path):
    out = tmp_path / "rct"
    r = subprocess.run([sys.executable, "-m", "dashboard", "generate", "--patients", "301", "--out", str(out),
                        "--arms", "Placebo,Low,High", "--slope-effect", "0.3", "--hazard-ratio", "0.7"],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "Placebo, Low, High" in r.stdout and "hazard ratio of death 0.7" in r.stdout and "SIMULATED" in r.stdout
    v = subprocess.run([sys.executable, "-m", "dashboard", "validate", "--data", str(out)], capture_output=True,
                       text=True, cwd=REPO)
    assert v.returncode == 0, v.stderr
    header = (out / "patients.csv").read_text().splitlines()[0]
    assert header == ",".join([c.name for c in data.SCHEMA["patients.csv"]] + ["arm", "died", "death_day"])
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["simulated_effects"] == {"arms": ["Placebo", "Low", "High"], "control": "Placebo",
                                         "slope_effect": 0.3, "hazard_ratio": 0.7, "death_hazard_per_month": 0.025}
    ds = data.load_dataset(out)
    p = ds.patients
    assert p["arm"].value_counts().to_dict() == {"Placebo": 101, "Low": 100, "High": 100}
    assert p["died"].notna().all() and (p["death_day"].notna() == p["died"]).all()
    assert (p.loc[p["died"], "death_day"] >= 1).all()
    assert (ds.measurements["source"] == "simulated").all()
    # no value on or after a patient's day of death; deaths are not adverse events
    m = ds.measurements.assign(pid=ds.measurements["patient_id"].astype(str))
    day = p.set_index(p["patient_id"].astype(str))["death_day"].astype("float64")
    assert not (m["month"] * data.DAYS_PER_MONTH >= day.reindex(m["pid"]).to_numpy()).any()
    assert not (ds.adverse_events["severity"] == "Death").any()


@pytest.mark.parametrize("argv, words", [
    (["--slope-effect", "0.3"], "need --arms"),
    (["--arms", "Placebo"], "2 or more distinct names"),
    (["--arms", "A,A"], "2 or more distinct names"),
    (["--arms", "1"], "2 to 10 arms"),
    (["--arms", "2", "--hazard-ratio", "0"], "must be positive"),
])
def test_generate_arms_usage_errors(tmp_path, argv, words):
    r = subprocess.run([sys.executable, "-m", "dashboard", "generate", "--patients", "10", "--out",
                        str(tmp_path / "o"), *argv], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_arm_count_names_the_arms():
    t = simulate.synthetic_trial(9, seed=0, params=TrialSimulation(arms=("Placebo", "Active 1", "Active 2")))
    assert sorted(t["patients"]["arm"].value_counts().to_list()) == [3, 3, 3]
    with pytest.raises(ValueError):
        simulate.synthetic_trial(9, params=TrialSimulation(arms=("Only",)))


def test_a_generated_effect_is_found_near_its_true_size(tmp_path):
    """2,000 patients, true slope effect +0.3 points/month and hazard ratio 0.6: the between-group slope test,
    the group x time mixed model and the Cox model find them, near the truth (about 3 SEs)."""
    ds = _arm_trial(tmp_path, 2000, seed=0, slope_effect=0.3, hazard_ratio=0.6)
    slopes, km = _analyses(ds)
    d = slopes.differences[0]
    assert d.group == "Active" and d.difference == pytest.approx(0.3, abs=0.1) and slopes.p_welch < 1e-6
    hr = km.hazard_ratio
    assert 0.6 * math.exp(-0.3) < hr.hazard_ratio < 0.6 * math.exp(0.3) and hr.p < 0.01 and km.logrank_p < 0.01
    assert sum(c.events for c in km.curves) > 300
    eff = ds.patients.loc[ds.patients["efficacy_population"], "patient_id"].astype(str)
    some = eff[:500]  # the mixed model on a quarter of the trial (a fit on 2,000 patients takes a while)
    mm = mixed.group_slope_model(ds.measurements, "ALSFRS", _arms_of(ds)[some], ["Placebo", "Active"])
    assert mm.reason is None and mm.differences[0].difference == pytest.approx(0.3, abs=0.12)
    assert mm.differences[0].p < 0.001


def test_no_generated_effect_shows_none(tmp_path):
    """No effect: over 8 trials of 600 patients, the slope test and the log-rank test are significant at 5 % in
    at most 2 each (a correct test: 0.4 on average; 3 or more has probability 0.006) and the CIs mostly cover 0."""
    slope_hits = logrank_hits = slope_cover = hr_cover = 0
    for seed in range(8):
        slopes, km = _analyses(_arm_trial(tmp_path, 600, seed=seed))
        d, hr = slopes.differences[0], km.hazard_ratio
        slope_hits += slopes.p_welch < 0.05
        logrank_hits += km.logrank_p < 0.05
        slope_cover += d.ci95_low < 0 < d.ci95_high
        hr_cover += hr.ci95_low < 1 < hr.ci95_high
    assert slope_hits <= 2 and logrank_hits <= 2
    assert slope_cover >= 6 and hr_cover >= 6


def test_a_generated_trial_says_it_is_simulated_in_every_view_and_export(tmp_path):
    """Its deaths, arms and adverse events are simulated too, not only the measurements marked so."""
    from dashboard import reports, views

    _generate(tmp_path / "t", 60, seed=2)
    meta = json.loads((tmp_path / "t" / "metadata.json").read_text())
    assert meta["simulated"] is True
    ds = data.load_dataset(tmp_path / "t")
    assert ds.simulated_dataset and not data.load_dataset(SHIPPED).simulated_dataset
    c = cohorts.select(ds, cohorts.CohortFilter())
    for view in views.offered(ds):
        assert views.simulated_notes(ds, c, view.key)[0].startswith("every value of this dataset is simulated")
        result = views.run(view.key, ds, c)
        for slot in view.figures:
            fig = getattr(result, slot.attr)
            assert "SIMULATED" in fig.layout.title.text, (view.key, slot.name)
    assert "every value of this dataset is simulated" in reports.html_report(ds, c)
    assert reports.export_filename("safety", "adverse-events", "2026-11-30", ds.simulated_dataset).endswith(
        "_includes-simulated.csv")
    # a metadata flag that is not a boolean is refused, never guessed
    (tmp_path / "t" / "metadata.json").write_text(json.dumps({**meta, "simulated": "yes"}))
    with pytest.raises(data.DatasetError, match="simulated"):
        data.load_dataset(tmp_path / "t")
