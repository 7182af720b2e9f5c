"""Exports: the selection CSV, slope and incidence CSVs, the self-contained HTML report, static images."""

import csv
import io
import re
import shutil
import subprocess
import sys

import pytest

from dashboard import cohorts, data, reports
from tests.helpers import REPO


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_selection_csv_long_format_with_simulated_flag(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter(population="progressors"))
    rows = _rows(reports.selection_csv(shipped, c))
    assert list(rows[0])[:6] == ["patient_id", "visit", "month", "measure", "value", "source"]
    assert {r["patient_id"] for r in rows} == set(c.patient_ids)
    assert len(rows) == shipped.measurements["patient_id"].isin(c.patient_ids).sum()
    for r in rows:
        assert r["simulated"] == ("true" if r["source"] == "simulated" else "false")
        assert r["progression_group"] == "progressor"
    assert (reports.export_filename("alsfrs", "data", "2026-11-25", True)
            == "als-trial_alsfrs_data_2026-11-25_includes-simulated.csv")


def test_slope_and_incidence_csv(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter(population="compare"))
    slopes = _rows(reports.slope_tests_csv(shipped, c))
    assert [(r["group"], r["window_months"]) for r in slopes][:2] == [("Progressors", "3"), ("Progressors", "6")]
    assert len(slopes) == 8 and all(r["rests_on_simulated_values"] == "true" for r in slopes)
    inc = _rows(reports.incidence_csv(shipped, cohorts.select(shipped, cohorts.CohortFilter())))
    head = inc[0]
    assert head["term"] == "Headache" and head["patients"] == "7" and head["cohort_n"] == "26"
    assert float(head["percent"]) == pytest.approx(100 * 7 / 26, abs=1e-3)


def test_adverse_events_csv_lists_every_event_of_the_selection(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter(population="compare"))
    rows = _rows(reports.adverse_events_csv(shipped, c))
    ae = shipped.adverse_events
    mine = ae[ae["patient_id"].isin(c.patient_ids)]
    assert len(rows) == len(mine) > 0
    assert list(rows[0]) == reports.AE_CSV_COLUMNS
    assert {r["patient_id"] for r in rows} == set(mine["patient_id"].astype(str))
    for r in rows:
        assert r["progression_group"] == c.groups[r["patient_id"]]
        assert r["serious"] in ("true", "false") and r["related"] in ("true", "false")
    order = [data.natural_key(r["patient_id"]) for r in rows]
    assert order == sorted(order)
    # patient 2's death (Table 3) is there with its severity
    assert any(r["patient_id"] == "2" and r["severity"] == "Death"
               for r in _rows(reports.adverse_events_csv(shipped, cohorts.select(shipped, cohorts.CohortFilter()))))
    empty = cohorts.select(shipped, cohorts.CohortFilter(patients=("999",)))
    assert _rows(reports.adverse_events_csv(shipped, empty)) == []


def test_html_report_is_self_contained(shipped):
    c = cohorts.select(shipped, cohorts.CohortFilter(population="progressors"))
    html = reports.html_report(shipped, c, generated_at="2026-11-25 12:00 UTC")
    assert "12 of 26 patients" in html and "Progressors" in html
    assert shipped.short_hash in html and "data as of 2026-11-25" in html
    assert "SIMULATED DATA IN THIS REPORT" in html
    assert "Report generated 2026-11-25 12:00 UTC" in html
    assert "paired t-test" in html.lower() and "wilcoxon" in html.lower()
    # plotly.js is embedded, and nothing is fetched from the network
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs()[:2000] in html
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=['\"]https?:", html)
    # 7, the between-groups figure (here saying that the selection is not grouped) and the safety view's
    # timeline (a message: the shipped data has no event days)
    assert html.count("class='fig'") == 9


def test_report_command_writes_the_file(tmp_path):
    out = tmp_path / "prog.html"
    r = subprocess.run([sys.executable, "-m", "dashboard", "report", "--cohort", "progressors", "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1_000_000
    assert "12 of 26 patients" in r.stdout


def test_report_command_refuses_to_write_into_the_dataset(data_copy):
    r = subprocess.run([sys.executable, "-m", "dashboard", "report", "--data", str(data_copy),
                        "--out", str(data_copy / "r.html")],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2 and "dataset directory" in r.stderr
    assert not (data_copy / "r.html").exists()


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (tests/run.sh installs it)")
def test_figures_command_writes_png_and_svg(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dashboard", "figures", "--cohort", "stable", "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=REPO, timeout=180)
    assert r.returncode == 0, r.stderr
    pngs = sorted(tmp_path.glob("*.png"))
    svgs = sorted(tmp_path.glob("*.svg"))
    # 7, the between-groups figure and the adverse events' timelines (the survival view is not offered: no
    # dates of death)
    assert len(pngs) == len(svgs) == 9
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "alsfrs_spaghetti.svg").read_text()
    assert "n = 11" in svg and "SIMULATED" in svg


def test_figures_command_without_chromium_fails_clearly(tmp_path):
    env = {"PATH": "/nonexistent", "BROWSER_PATH": "/nonexistent/chrome", "HOME": str(tmp_path)}
    code = ("import sys; from pathlib import Path; import dashboard.images as im; im._find_chromium = lambda: None; "
            "from dashboard.__main__ import main; sys.exit(main(['figures', '--out', sys.argv[1]]))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "figs")], capture_output=True, text=True, cwd=REPO,
                       env=env, timeout=120)
    assert r.returncode == 1
    assert "need Chromium" in r.stderr and "Traceback" not in r.stderr


def test_stats_of_a_two_group_selection_give_both_groups(shipped):
    from dashboard import stats

    c = cohorts.select(shipped, cohorts.CohortFilter(population="compare"))
    out = reports.cohort_statistics(shipped, c, with_mixed=False)
    assert [(g["name"], g["n"]) for g in out["groups"]] == [("Progressors", 12), ("Stable", 11)]
    assert sum(g["n"] for g in out["groups"]) == out["cohort"]["n"] == 23
    for g, group in zip(out["groups"], (cohorts.PROGRESSOR, cohorts.STABLE), strict=True):
        assert g["patient_ids"] == list(c.ids_in_group(group))
        want = stats.slope_tests(shipped.measurements, "ALSFRS", g["patient_ids"])
        got = [t for t in g["slope_tests"] if t["measure"] == "ALSFRS"]
        assert [(t["n"], t["mean_difference"]) for t in got] == [(t.n, t.mean_difference) for t in want]
    # the pooled figures stay as documented
    assert out["slope_tests"][0]["n"] == 22
    one = reports.cohort_statistics(shipped, cohorts.select(shipped, cohorts.CohortFilter()), with_mixed=False)
    assert [g["n"] for g in one["groups"]] == [26]


def test_stats_name_the_patients_each_slope_test_leaves_out(shipped):
    """The slope test of 12 progressors has n = 11: the stats JSON names who is left out and why (issue 15)."""
    c = cohorts.select(shipped, cohorts.CohortFilter(population="compare"))
    out = reports.cohort_statistics(shipped, c, with_mixed=False)
    m = shipped.measurements
    als = m[m["measure"] == "ALSFRS"]
    for tests, ids in [(out["slope_tests"], out["cohort"]["patient_ids"])] + [(g["slope_tests"], g["patient_ids"])
                                                                               for g in out["groups"]]:
        for t in tests:
            if t["not_computable"]:
                assert t["excluded"] == [] and t["n"] == 0
                continue
            left = {p for p, _why in t["excluded"]}
            assert left == set(ids) - set(t["patient_ids"]) and len(left) + t["n"] == len(ids), t
    # progressors, 0-3 months: patient 1 alone, with one ALSFRS value from day 0 to month 3 (counted here)
    t3 = next(t for t in out["groups"][0]["slope_tests"] if t["measure"] == "ALSFRS" and t["window_months"] == 3)
    assert t3["n"] == 11
    one = als[(als["patient_id"] == "1") & als["month"].between(0, 3)]
    assert one["month"].nunique() == 1
    assert t3["excluded"] == [["1", "1 value(s) from day 0 to month 3: a slope needs 2 at distinct months"]]


def test_report_carries_the_fvc_and_weakness_tables_per_visit(shipped):
    """The statistician's per-visit tables (n, mean, SD, SEM, change from baseline) are in the report too."""
    from dashboard import views

    c = cohorts.select(shipped, cohorts.CohortFilter(population="efficacy"))
    html = reports.html_report(shipped, c)
    for key in ("fvc", "weakness"):
        for table in views.run(key, shipped, c).visit_tables:
            assert reports.render_html(table) in html
    assert html.count("<th scope='col'>SEM of change</th>") == 2


def test_slope_csv_names_the_patients_each_test_leaves_out(shipped):
    """The downloaded slope tests say who is left out and why, as the view's table (n = 11 of 12 progressors)."""
    progressors = cohorts.select(shipped, cohorts.CohortFilter(population="progressors"))
    rows = _rows(reports.slope_tests_csv(shipped, progressors))
    assert [(r["n"], r["left_out"]) for r in rows][:2] == [
        ("11", "1 (1 value(s) from day 0 to month 3: a slope needs 2 at distinct months)"),
        ("11", "1 (1 value(s) from day 0 to month 6: a slope needs 2 at distinct months)")]
    everyone = _rows(reports.slope_tests_csv(shipped, cohorts.select(shipped, cohorts.CohortFilter())))
    for r in everyone:
        assert int(r["n"]) + len([x for x in r["left_out"].split("; ") if x]) == 26
