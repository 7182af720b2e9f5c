"""The simulated ALSFRS trajectories: reproducible byte for byte and shaped as promised."""

import subprocess
import sys

from dashboard import cohorts, data
from tests.conftest import REPO, SHIPPED


def test_simulate_rewrites_exactly_the_committed_rows(data_copy):
    target = data_copy / "measurements.csv"
    # scramble the simulated rows first, so the command must really regenerate them
    lines = target.read_text().splitlines(keepends=True)
    target.write_text("".join(l for l in lines if "simulated" not in l))
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
