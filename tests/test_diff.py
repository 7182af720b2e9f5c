"""dashboard.diff and ``python -m dashboard diff`` (issue 14): two data cuts with known changes.

The cuts are copies of the shipped data/ edited by hand here (a patient, a visit, a serious event, a death, a
changed value, a deleted row); the diff must find exactly those changes and nothing else.
"""

from __future__ import annotations

import json
import shutil

import pytest

from dashboard import data, diff
from dashboard.__main__ import build_parser
from tests.helpers import SHIPPED, edit_csv, make_cuts, read_csv, run_cli, write_csv


@pytest.fixture
def cuts(tmp_path):
    """(previous, current): the shipped data, and a copy with six known changes (tests/helpers.make_cuts)."""
    return make_cuts(tmp_path)


def test_the_diff_finds_exactly_the_known_changes(cuts):
    old, new = cuts
    d = diff.diff(data.load_dataset(old), data.load_dataset(new))
    assert d.new_patients == ("27",)
    assert [r.key for r in d.new_measurements] == [
        (("patient_id", "2"), ("measure", "FVC"), ("visit", "XII")),
        (("patient_id", "27"), ("measure", "ALSFRS"), ("visit", "V")),
        (("patient_id", "27"), ("measure", "FVC"), ("visit", "V"))]
    assert d.new_visits == (("2", "XII"), ("27", "V"))
    pneumonia = diff.RecordKey("adverse_events.csv",
                               (("patient_id", "3"), ("term", "Pneumonia"), ("occurrence", "1")))
    assert d.new_events == (pneumonia,) and d.new_serious_events == (pneumonia,)
    assert d.new_deaths == ("22",)
    assert [(c.record.label(), c.column, c.old, c.new) for c in d.changed] == [
        ("patient 1, FVC at visit III", "value", "76", "77"),
        ("patient 22, Respiratory failure (occurrence 1)", "severity", "Severe", "Death")]
    assert [(r.file, r.label()) for r in d.deleted] == [
        ("adverse_events.csv", "patient 26, Leukocytosis (occurrence 1)")]
    assert d.counts() == {"new_patients": 1, "new_visits": 2, "new_measurements": 3, "new_events": 1,
                          "new_serious_events": 1, "new_deaths": 1, "changed_records": 2, "changed_values": 2,
                          "deleted_records": 1}
    text = d.text()
    assert "new patients: 1\n  patient 27" in text
    assert "patient 2, visit XII: FVC" in text and "patient 27, visit V: ALSFRS, FVC" in text
    assert "measurements.csv patient 1, FVC at visit III: value 76 → 77" in text
    assert "deleted records: 1\n  adverse_events.csv patient 26, Leukocytosis (occurrence 1)" in text
    back = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert back["new_deaths"] == ["22"] and back["changed"][0] == {
        "record": {"file": "measurements.csv", "patient_id": "1", "measure": "FVC", "visit": "III"},
        "column": "value", "old": "76", "new": "77"}


def test_a_cut_against_itself_is_unchanged(shipped):
    d = diff.diff(shipped, data.load_dataset(SHIPPED))
    assert d.unchanged and set(d.counts().values()) == {0}
    assert "no change" in d.text()


def test_events_with_start_days_are_matched_on_them(tmp_path):
    """With start days the key is (patient, term, start day): a second headache on another day is new, one with
    the same day is told apart by its occurrence, and a moved start day is a deleted and a new event."""
    old = shutil.copytree(SHIPPED, tmp_path / "a")

    def with_days(rows, extra=()):
        out = [rows[0] + ["start_day"]] + [r + [str(10 + i)] for i, r in enumerate(rows[1:])]
        return out + [list(e) for e in extra]

    edit_csv(old / "adverse_events.csv", with_days)
    new = shutil.copytree(old, tmp_path / "b")
    rows = read_csv(new / "adverse_events.csv")
    four = next(r for r in rows if r[0] == "4")  # patient 4's headache, day 12
    late = four[:-1] + ["40"]
    same_day = list(four)
    moved = next(r for r in rows if r[0] == "13" and r[1] == "Cystitis")
    moved[-1] = "99"
    write_csv(new / "adverse_events.csv", rows + [late, same_day])
    d = diff.diff(data.load_dataset(old), data.load_dataset(new))
    assert [r.label() for r in d.new_events] == [
        "patient 4, Headache (day 12, occurrence 2)", "patient 4, Headache (day 40)", "patient 13, Cystitis (day 99)"]
    assert [r.label() for r in d.deleted] == ["patient 13, Cystitis (day 22)"]
    assert d.changed == () and d.new_serious_events == ()


def test_a_death_by_the_patient_file_is_new(tmp_path):
    old = shutil.copytree(SHIPPED, tmp_path / "a")
    new = shutil.copytree(SHIPPED, tmp_path / "b")
    for cut, died_21 in ((old, ""), (new, "true")):
        edit_csv(cut / "patients.csv", lambda r, d=died_21: [r[0] + ["died"]] + [x + [d if x[0] == "21" else ""]
                                                                             for x in r[1:]])
    d = diff.diff(data.load_dataset(old), data.load_dataset(new))
    assert d.new_deaths == ("21",)
    assert [(c.record.label(), c.column, c.old, c.new) for c in d.changed] == [("patient 21", "died", "", "true")]


# ---------------------------------------------------------------- the command line


def test_diff_cli_text_and_json(cuts):
    old, new = cuts
    r = run_cli("diff", "--previous", str(old), "--data", str(new))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Changes since the previous data cut {old} (data as of 2026-11-25")
    assert "new deaths: 1\n  patient 22" in r.stdout and "new serious events: 1" in r.stdout
    j = run_cli("diff", "--json", "--data", str(new), env_extra={data.PREVIOUS_DATA_DIR_ENV: str(old)})
    assert j.returncode == 0, j.stderr
    got = json.loads(j.stdout)
    assert got["counts"]["new_patients"] == 1 and got["previous"]["directory"] == str(old)
    assert got["new_events"] == [{"file": "adverse_events.csv", "patient_id": "3", "term": "Pneumonia",
                                  "occurrence": "1"}]


def test_diff_cli_errors(cuts, tmp_path):
    old, new = cuts
    r = run_cli("diff", "--data", str(new), env_extra={data.PREVIOUS_DATA_DIR_ENV: ""})
    assert r.returncode == 2 and "--previous" in r.stderr
    (new / "patients.csv").write_text("patient_id\n")
    bad = run_cli("diff", "--previous", str(old), "--data", str(new))
    assert bad.returncode == 1 and "invalid dataset" in bad.stderr


def test_serve_takes_the_previous_cut(monkeypatch, tmp_path):
    args = build_parser().parse_args(["serve", "--previous", str(tmp_path)])
    assert args.previous == str(tmp_path)
    assert data.resolve_previous_data_dir(args.previous) == tmp_path.resolve()
    monkeypatch.setenv(data.PREVIOUS_DATA_DIR_ENV, str(tmp_path))
    assert data.resolve_previous_data_dir(None) == tmp_path.resolve()
    monkeypatch.delenv(data.PREVIOUS_DATA_DIR_ENV)
    assert data.resolve_previous_data_dir(None) is None
