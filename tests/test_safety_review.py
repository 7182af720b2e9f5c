"""The DSMB's safety review on screen, in the report and in the JSON (issue 14, items 1-6).

Expected values come from the raw CDISC pilot files read with ``pandas.read_sas`` (tests/helpers.pilot_raw),
direct pandas counts written here, or the known changes of two hand-edited data cuts (tests/test_diff.py's
``cuts``), never from a second call of the function under test.
"""

from __future__ import annotations

import json
import re

import pytest

from dashboard import cohorts, data, formatting, images, importers, reports, views
from dashboard.diff import with_previous
from tests.helpers import PILOT, make_cuts, pilot_raw, run_cli

ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")


@pytest.fixture(scope="module")
def pilot():
    return importers.load(PILOT)


def select(ds, **params):
    f, problems = cohorts.CohortFilter.from_params(params)
    assert not problems
    return cohorts.select(ds, f)


def raw_emergent():
    """The pilot's treatment-emergent events and its safety population's arms, straight from the .xpt files."""
    adsl = pilot_raw("adsl")
    adae = pilot_raw("adae")
    safe = adsl[adsl["SAFFL"] == "Y"]
    arm = dict(zip(safe["USUBJID"], safe["TRT01A"]))
    te = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(arm)]
    return te.assign(arm=te["USUBJID"].map(arm)), arm


# ---------------------------------------------------------------- the safety view on the CDISC pilot


def test_pilot_summary_by_arm_equals_the_raw_files(pilot):
    te, arm = raw_emergent()
    assert len(arm) == 254 and te["USUBJID"].nunique() == 218  # the numbers, from the raw files
    r = views.run("safety", pilot, select(pilot, group="arm"))
    s = r.summary
    assert s.groups == ARMS and s.n == 254
    anyrow = s.row("any")
    assert anyrow.overall.patients == 218
    assert [c.patients for c in anyrow.counts] == [te.loc[te["arm"] == a, "USUBJID"].nunique() for a in ARMS] \
        == [65, 77, 76]
    assert [c.denominator for c in anyrow.counts] == [list(arm.values()).count(a) for a in ARMS]
    fatal = te[te["AESDTH"] == "Y"] if "AESDTH" in te.columns else te[te["AEOUT"] == "FATAL"]
    assert s.row("fatal").overall.patients == fatal["USUBJID"].nunique() == 3
    # the table says it: 218 (85.8%) overall, 65 (75.6%) placebo, and a risk difference per active arm
    table = r.summary_table
    first = dict(zip(table.header, table.rows[0]))
    assert first["Overall (n = 254)"] == "218 (85.8%)" and first["Placebo (n = 86)"] == "65 (75.6%)"
    assert "Xanomeline High Dose − Placebo, % [95% CI]" in table.header
    # the pilot records no action leading to withdrawal: the row says "not recorded", never 0
    withdrawal = next(row for row in table.rows if row[0].startswith("Leading to withdrawal"))
    assert set(withdrawal[1:]) == {formatting.NOT_RECORDED}


def test_pilot_hierarchy_totals_equal_the_flat_counts(pilot):
    te, _arm = raw_emergent()
    h = views.run("safety", pilot, select(pilot)).hierarchy
    assert h.total.patients == 218 and h.total.events == len(te)
    assert sum(b.overall.events for b in h.body_systems) == len(te)
    for b in h.body_systems:
        assert sum(t.overall.events for t in b.terms) == b.overall.events
        mine = te[te["AEBODSYS"] == b.body_system]
        assert b.overall.patients == mine["USUBJID"].nunique()
        for t in b.terms:
            assert t.overall.patients == mine.loc[mine["AEDECOD"] == t.term, "USUBJID"].nunique()
    assert len(h.body_systems) == te["AEBODSYS"].nunique() == 23
    assert h.n_terms == te["AEDECOD"].nunique()
    # body systems by frequency, and the rendered disclosure per body system
    pats = [b.overall.patients for b in h.body_systems]
    assert pats == sorted(pats, reverse=True)
    blocks = views.run("safety", pilot, select(pilot)).incidence_table
    details = [b for b in blocks if isinstance(b, formatting.Details)]
    assert len(details) == 23 and details[0].summary.startswith(h.body_systems[0].body_system)


def test_heatmap_levels_and_body_system_filter(pilot):
    c = select(pilot)
    te, _arm = raw_emergent()
    by_level = {lv: views.run("safety", pilot, c, level=lv).heatmap for lv in ("verbatim", "preferred", "body_system")}
    assert set(by_level["body_system"].data[0].x) == set(te["AEBODSYS"])
    assert set(by_level["preferred"].data[0].x) == set(te["AEDECOD"])
    assert "by patient and body system" in by_level["body_system"].layout.title.text
    cardiac = views.run("safety", pilot, c, level="preferred", system="Card").heatmap
    assert set(cardiac.data[0].x) == set(te.loc[te["AEBODSYS"] == "CARDIAC DISORDERS", "AEDECOD"])
    # many columns: at most HEATMAP_LABELLED_TERMS labels, evenly spaced
    ticks = by_level["preferred"].layout.xaxis.tickvals
    assert len(ticks) <= 50 < len(by_level["preferred"].data[0].x)


def test_pilot_deaths_listing_and_swimmer(pilot):
    r = views.run("safety", pilot, select(pilot, group="arm"))
    adsl = pilot_raw("adsl")
    died = set(adsl.loc[adsl["DTHFL"] == "Y", "USUBJID"]) if "DTHFL" in adsl.columns else set()
    assert set(r.deaths.patient_ids) >= died and len(r.deaths.deaths) == 3
    rows = r.deaths_listing.rows
    assert {row[0] for row in rows} == {f"Patient {p}" for p in r.deaths.patient_ids}
    assert all(row[1] in ARMS for row in rows)
    fig = r.swimmer
    assert fig.layout.meta["swimmer"]["rows"] == 218
    assert {t.name for t in fig.data} >= {"Mild", "death"}
    # sorted by arm: a line after the 65 placebo and the 77 low-dose patients with an event (the raw counts)
    assert [sh.y0 for sh in fig.layout.shapes if sh.type == "line" and sh.yref == "y"] == [65 - 0.5, 65 + 77 - 0.5]
    by_first = views.run("safety", pilot, select(pilot), swimmer_sort="first_event").timelines
    firsts = [t.first_event_day for t in by_first.patients]
    assert firsts == sorted(firsts)


def test_the_shipped_death_conflict_is_flagged_in_the_listing_and_the_profile(shipped):
    c = select(shipped)
    r = views.run("safety", shipped, c)
    row = next(row for row in r.deaths_listing.rows if row[0] == "Patient 2")
    assert isinstance(row[-1], formatting.Badge) and "measured after day 0" in row[-1].text
    # no event days in the shipped data: the timeline says why
    assert "no start days" in r.swimmer.layout.annotations[0].text
    profile = views.run("profile", shipped, c, "2").content
    warn = [b for b in profile if isinstance(b, formatting.Notice) and b.kind == "warn"]
    assert warn and "measured after day 0" in warn[0].text
    assert not any(isinstance(b, formatting.Notice) and "conflicting" in b.text
                   for b in views.run("profile", shipped, c, "1").content)


def test_profile_timeline_of_a_pilot_patient(pilot):
    pid = "01-701-1211"  # a death: SUDDEN DEATH
    adae = pilot_raw("adae")
    mine = adae[(adae["USUBJID"] == pid) & (adae["TRTEMFL"] == "Y")]
    fig = views.run("profile", pilot, select(pilot), pid).timeline
    assert fig.layout.meta["swimmer"]["rows"] == len(mine)
    assert any(t.name == "death" for t in fig.data)


# ---------------------------------------------------------------- the report and the JSON


def test_open_report_names_no_pilot_patient_and_says_it_is_open(pilot):
    c = select(pilot, group="arm")
    html = reports.html_report(pilot, c, open_session=True, generated_at="x")
    ids = set(pilot.patients["patient_id"].astype(str))
    assert not [p for p in ids if p in html]
    assert "OPEN SESSION" in html[:html.index("<h2>")]
    assert "Xanomeline" not in html  # pooled over the arms: no group columns
    assert formatting.DEFAULT_CONFIDENTIALITY in html and "@top-center" in html and "@bottom-center" in html
    closed = reports.html_report(pilot, c, generated_at="x", confidentiality="Closed session: DSMB members only")
    assert "01-701-1211" in closed and "Xanomeline High Dose" in closed
    assert closed.count("Closed session: DSMB members only") >= 4  # top, bottom, both print boxes
    assert "<details class='details-block' data-key='" in closed and "<summary>" in closed


def test_report_cli_open_and_confidential(tmp_path, monkeypatch):
    out = tmp_path / "open.html"
    r = run_cli("report", "--data", str(PILOT), "--open", "--confidential", "Sponsor X: strictly confidential",
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "open-session" in r.stdout
    html = out.read_text()
    assert "Sponsor X: strictly confidential" in html and "01-701-1211" not in html


def test_exported_figures_carry_the_confidentiality_line(shipped, monkeypatch):
    monkeypatch.setenv(formatting.CONFIDENTIALITY_ENV, "Confidential: DSMB of trial 42")
    figs = images.figure_set(shipped, select(shipped))
    assert figs and all(f.layout.meta["confidentiality"] == "Confidential: DSMB of trial 42" for f in figs.values())
    assert all("Confidential: DSMB of trial 42" in f.layout.title.text for f in figs.values())


def test_stats_json_has_the_safety_review(pilot):
    out = reports.cohort_statistics(pilot, select(pilot, group="arm"), with_mixed=False)
    back = json.loads(json.dumps(out, allow_nan=False))
    s = back["safety_summary"]
    assert [g["group"] for g in s["groups"]] == list(ARMS)
    anyrow = next(r for r in s["rows"] if r["key"] == "any")
    assert [g["patients"] for g in anyrow["groups"]] == [65, 77, 76] and anyrow["overall"]["patients"] == 218
    assert len(back["adverse_event_hierarchy"]["body_systems"]) == 23
    assert len(back["deaths"]["deaths"]) == 3
    assert back["changes"] is None


# ---------------------------------------------------------------- since the last review


def test_changes_panel_and_marks_on_two_cuts(tmp_path):
    old, new = make_cuts(tmp_path)
    ds = with_previous(data.load_dataset(new), old)
    c = select(ds)
    panel = views.run("overview", ds, c).changes
    head = panel[0]
    assert isinstance(head, formatting.Heading) and head.text == f"Changes since {ds.previous.data_as_of}"
    counts = dict(next(b for b in panel if isinstance(b, formatting.TableText)).rows)
    assert counts["New patients"] == "1" and counts["New adverse events"] == "1"
    assert counts["New serious adverse events"] == "1" and counts["New deaths"] == "1"
    assert counts["Changed records"] == "2 (2 values)" and counts["Deleted records"] == "1"
    assert counts["New visits (patient visits with new values)"] == "2 (3 values)"
    changed = next(b for b in panel if isinstance(b, formatting.Details) and b.summary.startswith("Changed"))
    assert ("measurements.csv patient 1, FVC at visit III", "value", "76", "77") in changed.content[0].rows
    # the listings mark the new and changed rows
    r = views.run("safety", ds, c)
    serious = {row[0] + " " + row[1]: row[-1] for row in r.serious_listing[-1].rows}
    assert serious["Patient 3 Pneumonia"].text == "new"
    assert serious["Patient 22 Respiratory failure"].text == "changed"
    assert formatting.cell_text(serious["Patient 1 PEG insertion"]) == ""
    deaths = {row[0]: row[-1] for row in r.deaths_listing.rows}
    assert deaths["Patient 22"].text == "new"
    # the report carries the panel, the JSON its changes
    html = reports.html_report(ds, c, generated_at="x")
    assert f"Changes since {ds.previous.data_as_of}" in html
    js = reports.cohort_statistics(ds, c, with_mixed=False)["changes"]
    assert js["counts"]["new_deaths"] == 1 and js["new_patients"] == ["27"]


def test_no_previous_cut_shows_nothing_and_a_bad_one_is_a_notice(shipped, tmp_path, monkeypatch):
    monkeypatch.delenv(data.PREVIOUS_DATA_DIR_ENV, raising=False)
    assert views.run("overview", shipped, select(shipped)).changes is None
    assert "Changes since" not in reports.html_report(shipped, select(shipped), generated_at="x")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "patients.csv").write_text("nonsense\n")
    ds = with_previous(shipped, bad)
    assert ds.previous is None and ds.changes is None
    notice = views.run("overview", ds, select(ds)).changes
    assert isinstance(notice, formatting.Notice) and notice.kind == "warn" and str(bad) in notice.text
    missing = with_previous(shipped, tmp_path / "nowhere")
    assert "could not be read" in missing.previous_problem
    assert re.search(r"nowhere", views.run("overview", missing, select(missing)).changes.text)


def test_stats_and_report_commands_take_the_previous_cut(tmp_path):
    old, new = make_cuts(tmp_path)
    r = run_cli("stats", "--data", str(new), "--previous", str(old), "--no-mixed")
    assert r.returncode == 0, r.stderr
    changes = json.loads(r.stdout)["changes"]
    assert changes["new_deaths"] == ["22"] and changes["counts"]["deleted_records"] == 1
    out = tmp_path / "r.html"
    r = run_cli("report", "--data", str(new), "--out", str(out), env_extra={data.PREVIOUS_DATA_DIR_ENV: str(old)})
    assert r.returncode == 0, r.stderr
    assert "Changes since" in out.read_text()
    r = run_cli("stats", "--data", str(new), "--previous", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "could not be read" in r.stderr


def test_open_report_of_the_shipped_data_names_no_patient_but_keeps_the_aggregates(shipped):
    html = reports.html_report(shipped, select(shipped, cohort="compare"), open_session=True, generated_at="x",
                               highlight="7")
    assert not re.search(r"[Pp]atient \d+\b", html)  # no listing, profile, heatmap row or flow exclusion by id
    assert "Characteristics of the selection" in html and "Summary of adverse events" in html
    assert "Slope tests" in html and "highlighted patient" not in html
