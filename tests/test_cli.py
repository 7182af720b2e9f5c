"""The command line: stats JSON, reproduce, usage errors (run as a user would, in a subprocess)."""

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO, run_cli


def run(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "dashboard", *args], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=timeout)


_STATS: dict[tuple[str, ...], subprocess.CompletedProcess] = {}


def stats_of(cohort: str, *extra: str) -> subprocess.CompletedProcess:
    """``stats --cohort COHORT [extra...]`` on the shipped data, run once per cohort and options for the tests of
    this module (a run that fits the mixed models takes 20-60 s here: about a second per fit)."""
    key = (cohort, *extra)
    if key not in _STATS:
        # with the mixed models (compare: 60 fits) a run took over 120 s beside two other test processes
        _STATS[key] = run("stats", "--cohort", cohort, *extra, timeout=600)
    return _STATS[key]


#: The cohorts checked without their mixed models (compare, with them: its two groups and the pooled selection)
@pytest.mark.parametrize("cohort, extra", [("safety", ("--no-mixed",)), ("efficacy", ("--no-mixed",)),
                                           ("progressors", ("--no-mixed",)), ("stable", ("--no-mixed",)),
                                           ("compare", ())],
                         ids=lambda v: v if isinstance(v, str) else "-".join(x.strip("-") for x in v) or "mixed")
def test_stats_is_strict_json_for_every_cohort(cohort, extra):
    r = stats_of(cohort, *extra)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert out["cohort"]["name"] == cohort
    assert out["cohort"]["n"] == len(out["cohort"]["patient_ids"])
    assert {t["window_months"] for t in out["slope_tests"] if t["measure"] == "ALSFRS"} == {3, 6, 9, 12}
    for key in ("characteristics", "visit_summaries", "adverse_events"):
        assert key in out


def test_stats_of_compare_give_each_groups_mixed_models(shipped):
    """The compare view shows a mixed model per group; `stats --cohort compare` gave only the pooled one."""
    from dashboard import mixed

    out = json.loads(stats_of("compare").stdout)
    m = shipped.measurements
    assert [g["name"] for g in out["groups"]] == ["Progressors", "Stable"]
    for g in out["groups"]:
        got = [r for r in g["mixed_models"] if r["measure"] == "ALSFRS"]
        want = mixed.mixed_models(m, "ALSFRS", g["patient_ids"])
        assert [(r["window_months"], r["n_patients"]) for r in got] == [(r.window_months, len(g["patient_ids"]))
                                                                         for r in want]
        for r, w in zip(got, want, strict=True):
            assert r["converged"] == w.converged
            assert r["slope_change"] == pytest.approx(w.slope_change) and r["p"] == pytest.approx(w.p)
    pooled = [(r["measure"], r["window_months"], r["n_patients"]) for r in out["mixed_models"]]
    assert ("ALSFRS", 3, 23) in pooled


def test_stats_no_mixed_leaves_out_only_the_mixed_models_and_says_so():
    """--no-mixed: every other key as without it; each key of mixed models holds the reason, none is empty."""
    from dashboard import mixed

    full, quick = json.loads(stats_of("compare").stdout), json.loads(stats_of("compare", "--no-mixed").stdout)
    reason = {"reason": mixed.NOT_ASKED}
    assert full["mixed_models"] and all(g["mixed_models"] for g in full["groups"])
    assert "reason" not in full["mixed_model_by_group"]
    assert quick["mixed_models"] == reason and quick["mixed_model_by_group"] == reason
    assert [g["mixed_models"] for g in quick["groups"]] == [reason, reason]
    for out in (full, quick):
        out.pop("mixed_models"), out.pop("mixed_model_by_group")
        for g in out["groups"]:
            g.pop("mixed_models")
    assert quick == full


def test_stats_progressor_count_and_ids():
    out = json.loads(stats_of("progressors", "--no-mixed").stdout)
    assert out["cohort"]["n"] == 12
    assert out["characteristics"]["n"] == 12


def test_stats_empty_selection_is_valid_json_with_nulls():
    # patient 4 is stable (fell 1 point), so progressors narrowed to 4 is empty
    r = run("stats", "--cohort", "progressors", "--patients", "4", "--no-mixed")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cohort"]["n"] == 0
    assert out["characteristics"]["age"]["mean"] is None
    for t in out["slope_tests"]:
        assert t["n"] == 0 and t["p_ttest"] is None and "not computable" in t["note"]


def test_stats_one_patient_selection():
    out = json.loads(run("stats", "--patients", "3").stdout)
    assert out["cohort"]["patient_ids"] == ["3"]
    t3 = [t for t in out["slope_tests"] if t["measure"] == "ALSFRS" and t["window_months"] == 3][0]
    assert t3["n"] == 1 and t3["p_ttest"] is None and "n < 2" in t3["note"]
    assert t3["pre_slope_mean"] is not None


def test_stats_subgroup_filters_narrow():
    out = json.loads(run("stats", "--cohort", "efficacy", "--sex", "F", "--age-min", "50", "--no-mixed").stdout)
    ids = out["cohort"]["patient_ids"]
    # from Table 2: female efficacy patients aged >= 50
    assert ids == ["1", "2", "7", "8", "11", "13", "16"]


def _known_dataset(d, post_slope):
    """Values exactly on lines: pre slope -1/month; post slope post_slope(i) for patient i."""
    d.mkdir()
    visits = (("A", -6), ("B", -3), ("C", 0), ("D", 3), ("E", 6), ("F", 9), ("G", 12))
    (d / "visits.csv").write_text("visit,month,label,month_stated,note\n"
                                  + "".join(f"{v},{mo},{v},true,\n" for v, mo in visits))
    (d / "patients.csv").write_text(
        "patient_id,age,sex,onset,disease_duration_months,safety_population,efficacy_population,mri_12m_done,"
        "exclusion_reason\n"
        + "".join(f"{i},50,F,spinal,20,true,true,true,\n" for i in range(1, 7)))
    rows = ["patient_id,visit,month,measure,value,source"]
    for i in range(1, 7):
        base = 30 + i if i <= 4 else 20 + i
        for v, mo in visits:
            if i > 4 and mo > 0:
                continue  # patients 5 and 6: values up to day 0 only, so in no test (the trial has a lead-in)
            val = base - mo if mo <= 0 else base + post_slope(i) * mo
            rows.append(f"{i},{v},{mo},ALSFRS,{round(val, 9):g},measured")
    (d / "measurements.csv").write_text("\n".join(rows) + "\n")
    (d / "adverse_events.csv").write_text("patient_id,term,serious,related,severity,action,duration_days,ongoing\n")
    return d


def test_stats_on_known_slopes_identical(tmp_path):
    d = _known_dataset(tmp_path / "known", lambda i: -1 / 3)
    r = run("stats", "--data", str(d), "--cohort", "efficacy")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["slope_tests"]) == 4
    for t in out["slope_tests"]:
        assert t["n"] == 4
        assert t["pre_slope_mean"] == pytest.approx(-1.0)
        assert t["post_slope_mean"] == pytest.approx(-1 / 3)
        assert t["mean_difference"] == pytest.approx(2 / 3)
        # identical differences: zero variance, so the t-test is not computable and says so
        assert t["t"] is None and t["p_ttest"] is None and "zero variance" in t["note"]


def test_stats_on_known_slopes_varying(tmp_path):
    # patient i: post slope -i/3, so differences 2/3, 1/3, 0, -1/3 in every window
    d = _known_dataset(tmp_path / "known", lambda i: -i / 3)
    out = json.loads(run("stats", "--data", str(d)).stdout)
    assert len(out["slope_tests"]) == 4  # one per window
    for t in out["slope_tests"]:
        assert t["n"] == 4
        assert t["mean_difference"] == pytest.approx(1 / 6)
        # by hand: deviations 1/2, 1/6, -1/6, -1/2 -> var = (5/9)/3 = 5/27; se = sqrt(5/27)/2; t = (1/6)/se
        assert t["t"] == pytest.approx((1 / 6) / ((5 / 27) ** 0.5 / 2))
        assert t["post_slope_mean"] == pytest.approx(-(1 + 2 + 3 + 4) / 12)


@pytest.mark.parametrize("args,needle", [
    (["stats", "--cohort", "bogus"], "cohort"),
    (["stats", "--patients", "99"], "unknown patient id"),
    (["stats", "--sex", "X"], "sex"),
    (["stats", "--age-min", "abc"], "age_min"),
    (["stats", "--age-min", "60", "--age-max", "40"], "minimum above maximum"),
    (["stats", "--frobnicate"], "unrecognized arguments"),
    (["nonsense"], "invalid choice"),
])
def test_usage_errors_are_one_line_exit_2(args, needle):
    r = run(*args)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_reproduce_table_and_json():
    r = run("reproduce")
    assert r.returncode == 0, r.stderr
    assert "| claim | paper | recomputed |" in r.stdout
    assert "SIMULATED" in r.stdout
    claims = json.loads(run("reproduce", "--json").stdout)
    by = {c["claim"]: c for c in claims}
    assert by["Patients in the efficacy analysis"]["verdict"] == "agrees"
    fvc9 = by["FVC stable or above 70% at 9 months in about 80% of patients"]
    assert fvc9["recomputed"].startswith("15/19")
    t4 = [c for c in claims if c["claim"].startswith("Table 4")]
    assert len(t4) == 6 and all("sample SD" in c["note"] for c in t4)
    assert all(c["verdict"] == "simulated data" for c in claims if "ALSFRS decline slower" in c["claim"])


@pytest.mark.parametrize("command", ["stats", "report", "figures", "validate", "convert", "serve", "generate"])
def test_every_command_has_help(command):
    """`stats --help` crashed on a bare '%' in a help text (issue 15)."""
    r = run_cli(command, "--help")
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout and "Traceback" not in r.stderr


def test_validate_strict_on_a_dataset_without_warnings_exits_0():
    """The shipped dataset has no import report: --strict changes nothing (warnings: tests/test_realdata.py)."""
    r = run_cli("validate", "--strict")
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stdout and "note:" not in r.stdout


def test_validate_lists_warnings_beside_errors(tmp_path):
    """An invalid import prints its errors, then the warnings found on the way (marked as such)."""
    from tests import adam_fixtures as fx

    d = fx.write_adam(tmp_path / "adam", fx.alsfrs_rows())
    rows = (d / "adsl.csv").read_text().splitlines()
    # an efficacy flag that is neither Y nor N: an error (an age that is no number would be a warning)
    (d / "adsl.csv").write_text("\n".join([rows[0], rows[1].replace(",Y,Y,Y,", ",Y,Y,X,"), *rows[2:]]) + "\n")
    r = run_cli("validate", "--data", str(d))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[:2] == [f"invalid dataset {d.resolve()}: 1 problem(s)", "adsl.csv:2: EFFFL: 'X' is not Y or N"]
    assert lines[-1] == "warning: adae.csv:3: AEREL: empty: relationship not recorded"
