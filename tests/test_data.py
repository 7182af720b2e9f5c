"""The dataset validator, proved against deliberately broken datasets.

Each test takes a copy of the shipped data (fixture ``data_copy``), breaks one
thing, and checks that :func:`dashboard.data.load_dataset` raises
:class:`~dashboard.data.DatasetError` whose problems name the file, the row
(line number in the file, header = 1), the column and what is wrong, in the
documented ``file:row: column: message`` form.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import data
from dashboard.data import FILES, DatasetError, load_dataset
from tests.helpers import (
    SHIPPED,
    assert_problem,
    break_cell,
    find_line,
    only_problem,
    problems,
    read_csv,
    run_cli,
    set_cell,
    write_csv,
)

# ---------------------------------------------------------------- helpers


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``directory`` with its modification time and bytes."""
    return {
        str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- the shipped data


def test_shipped_dataset_is_valid(shipped):
    assert len(shipped.patients) == 26
    assert shipped.measures == [m for m in data.MEASURES if m != "ALSFRS_R"]  # the trial used the original scale
    assert len(shipped.adverse_events) == 18


def test_unchanged_copy_is_valid(data_copy):
    ds = load_dataset(data_copy)
    assert len(ds.patients) == 26


def test_rewriting_a_copy_keeps_it_valid(data_copy):
    """The helpers' csv round trip changes nothing, so a broken test breaks only one thing."""
    for name in data.FILES:
        before = (data_copy / name).read_bytes()
        write_csv(data_copy / name, read_csv(data_copy / name))
        assert (data_copy / name).read_bytes() == before


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("name", data.FILES)
def test_missing_file(data_copy, name):
    (data_copy / name).unlink()
    msg = only_problem(data_copy, name, None, None, "file is missing")
    assert str(data_copy) in msg


@pytest.mark.parametrize("name", data.FILES)
def test_empty_file(data_copy, name):
    (data_copy / name).write_bytes(b"")
    only_problem(data_copy, name, None, None, "file is empty")


def test_whitespace_only_file(data_copy):
    (data_copy / "visits.csv").write_bytes(b" \n\n")
    only_problem(data_copy, "visits.csv", None, None, "file is empty")


def test_bom_only_file(data_copy):
    (data_copy / "visits.csv").write_bytes(b"\xef\xbb\xbf")
    only_problem(data_copy, "visits.csv", None, None, "empty")


def test_binary_garbage(data_copy):
    (data_copy / "patients.csv").write_bytes(bytes(range(256)) * 4)
    only_problem(data_copy, "patients.csv", None, None, "not a CSV text file")


def test_png_instead_of_csv(data_copy):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    (data_copy / "measurements.csv").write_bytes(png)
    msg = only_problem(data_copy, "measurements.csv", None, None, "not")
    assert "CSV" in msg or "UTF-8" in msg


def test_text_that_is_not_csv(data_copy):
    (data_copy / "adverse_events.csv").write_text("<html>\n<body>Not found</body>\n</html>\n", encoding="utf-8")
    only_problem(data_copy, "adverse_events.csv", 1, None, "not a CSV file with the expected header")


def test_malformed_csv_quoting(data_copy):
    path = data_copy / "visits.csv"
    path.write_text(path.read_text(encoding="utf-8") + 'XIII,24,"unclosed,true,x\n', encoding="utf-8")
    only_problem(data_copy, "visits.csv", 11, None, "not valid CSV")


def test_unclosed_quote_is_reported_where_its_row_starts(data_copy):
    path = data_copy / "visits.csv"
    line = find_line(path, visit="IX")
    path.write_text(path.read_text(encoding="utf-8").replace("IX,6,", 'IX,6,"', 1), encoding="utf-8")
    only_problem(data_copy, "visits.csv", line, None, "not valid CSV")


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_wrong_separator(data_copy, sep):
    path = data_copy / "patients.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", sep), encoding="utf-8")
    only_problem(data_copy, "patients.csv", 1, None, "not a CSV file with the expected header")


def test_utf16_file(data_copy):
    path = data_copy / "adverse_events.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    only_problem(data_copy, "adverse_events.csv", None, None, "not a CSV text file")


def test_latin1_file(data_copy):
    path = data_copy / "adverse_events.csv"
    line = find_line(path, patient_id="4", term="Headache")
    set_cell(path, line, "term", "Céphalée")
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    msg = only_problem(data_copy, "adverse_events.csv", line, None, "not UTF-8")
    assert "0xe9" in msg


def test_utf8_byte_order_mark_is_tolerated(data_copy):
    path = data_copy / "patients.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_dataset(data_copy).patients) == 26


def test_crlf_line_endings_are_tolerated(data_copy):
    path = data_copy / "measurements.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert len(load_dataset(data_copy).measurements) == 672


# ---------------------------------------------------------------- header


def test_missing_column(data_copy):
    rows = read_csv(data_copy / "patients.csv")
    i = rows[0].index("sex")
    write_csv(data_copy / "patients.csv", [r[:i] + r[i + 1:] for r in rows])
    only_problem(data_copy, "patients.csv", 1, "sex", "required column is missing")


def test_unknown_column(data_copy):
    rows = read_csv(data_copy / "measurements.csv")
    write_csv(data_copy / "measurements.csv", [rows[0] + ["unit"]] + [r + ["x"] for r in rows[1:]])
    only_problem(data_copy, "measurements.csv", 1, "unit", "unknown column")


def test_misspelled_column_is_both_unknown_and_missing(data_copy):
    rows = read_csv(data_copy / "adverse_events.csv")
    rows[0][rows[0].index("severity")] = "Severity"
    write_csv(data_copy / "adverse_events.csv", rows)
    found = problems(data_copy)
    assert_problem(found, "adverse_events.csv", 1, "Severity", "unknown column")
    assert_problem(found, "adverse_events.csv", 1, "severity", "required column is missing")


def test_trailing_comma_in_header(data_copy):
    path = data_copy / "patients.csv"
    path.write_text("".join(line[:-1] + ",\n" for line in path.read_text(encoding="utf-8").splitlines(keepends=True)),
                    encoding="utf-8")
    only_problem(data_copy, "patients.csv", 1, None, "a column has an empty name")


def test_duplicate_column(data_copy):
    rows = read_csv(data_copy / "visits.csv")
    write_csv(data_copy / "visits.csv", [rows[0] + ["label"]] + [r + ["x"] for r in rows[1:]])
    only_problem(data_copy, "visits.csv", 1, "label", "column appears twice")


def test_columns_in_any_order(data_copy):
    rows = read_csv(data_copy / "patients.csv")
    write_csv(data_copy / "patients.csv", [list(reversed(r)) for r in rows])
    assert len(load_dataset(data_copy).patients) == 26


# ---------------------------------------------------------------- row shape


@pytest.mark.parametrize("extra", [["surplus"], None], ids=["too-many", "too-few"])
def test_wrong_number_of_fields(data_copy, extra):
    path = data_copy / "patients.csv"
    rows = read_csv(path)
    line = find_line(path, patient_id="7")
    rows[line - 1] = rows[line - 1] + extra if extra else rows[line - 1][:-2]
    write_csv(path, rows)
    found = problems(data_copy)
    n = len(rows[0]) + 1 if extra else len(rows[0]) - 2
    assert_problem(found, "patients.csv", line, None, f"expected {len(rows[0])} fields, found {n}")
    # the bad row is dropped, so its patient's measurements and events are reported as unknown
    assert all(p.startswith("patients.csv:") or "'7' is not in patients.csv" in p for p in found), found


def test_blank_lines_do_not_shift_row_numbers(data_copy):
    path = data_copy / "patients.csv"
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text.insert(3, "\n")  # a blank line 4
    path.write_text("".join(text), encoding="utf-8")
    line = find_line(path, patient_id="9")  # now line 11
    assert line == 11
    set_cell(path, line, "age", "x")
    only_problem(data_copy, "patients.csv", 11, "age", "not a number: 'x'")


def test_multiline_cell_does_not_shift_row_numbers(data_copy):
    """A quoted cell spanning lines: rows after it are reported at their line in the file."""
    path = data_copy / "visits.csv"
    rows = read_csv(path)
    rows[1][rows[0].index("note")] = "first line\nsecond line\nthird line"
    rows[5][rows[0].index("month_stated")] = "maybe"  # record 5 (visit VIII), now on line 8
    write_csv(path, rows)
    assert path.read_text(encoding="utf-8").splitlines()[7].startswith("VIII,")
    only_problem(data_copy, "visits.csv", 8, "month_stated", "'maybe' is not a boolean")


# ---------------------------------------------------------------- types


@pytest.mark.parametrize(
    "file,column,value,match",
    [
        ("patients.csv", "age", "fifty", {"patient_id": "5"}),
        ("patients.csv", "disease_duration_months", "23 months", {"patient_id": "5"}),
        ("measurements.csv", "value", "n/a", {"patient_id": "3", "visit": "V", "measure": "ALSFRS"}),
        ("measurements.csv", "month", "day 0", {"patient_id": "3", "visit": "V", "measure": "ALSFRS"}),
        ("adverse_events.csv", "duration_days", "two", {"patient_id": "4"}),
        ("visits.csv", "month", "three", {"visit": "VIII"}),
    ],
)
def test_text_in_number_column(data_copy, file, column, value, match):
    line = break_cell(data_copy / file, column, value, **match)
    found = problems(data_copy)
    assert_problem(found, file, line, column, f"not a number: {value!r}")
    # a bad visit month leaves its measurements unchecked, so nothing else is reported
    assert len(found) == 1, found


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf"])
def test_nan_and_infinity_are_rejected(data_copy, value):
    line = break_cell(data_copy / "patients.csv", "disease_duration_months", value, patient_id="2")
    found = problems(data_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"patients.csv:{line}: disease_duration_months: not a")


@pytest.mark.parametrize(
    "file,column,value,match",
    [
        ("patients.csv", "age", "51.5", {"patient_id": "6"}),
        ("adverse_events.csv", "duration_days", "2.5", {"patient_id": "5"}),
    ],
)
def test_fraction_in_integer_column(data_copy, file, column, value, match):
    line = break_cell(data_copy / file, column, value, **match)
    only_problem(data_copy, file, line, column, f"not a whole number: {value!r}")


def test_whole_number_written_with_decimals_is_an_integer(data_copy):
    break_cell(data_copy / "patients.csv", "age", "58.0", patient_id="2")
    assert load_dataset(data_copy).patients.set_index("patient_id").loc["2", "age"] == 58


def test_alsfrs_not_a_whole_number(data_copy):
    line = break_cell(data_copy / "measurements.csv", "value", "33.5", patient_id="3", visit="V", measure="ALSFRS")
    only_problem(data_copy, "measurements.csv", line, "value", "ALSFRS value 33.5 is not a whole number")


def test_fvc_may_have_decimals(data_copy):
    break_cell(data_copy / "measurements.csv", "value", "76.5", patient_id="1", visit="III", measure="FVC")
    load_dataset(data_copy)


@pytest.mark.parametrize("value", ["True", "FALSE", "yes", "no", "1", "0", "X"])
def test_bad_boolean_spelling(data_copy, value):
    line = break_cell(data_copy / "patients.csv", "efficacy_population", value, patient_id="8")
    msg = only_problem(data_copy, "patients.csv", line, "efficacy_population", f"{value!r} is not a boolean")
    assert "use true or false" in msg
    if value.lower() in ("true", "false"):
        assert "lower case" in msg


@pytest.mark.parametrize(
    "file,column,match",
    [
        ("patients.csv", "mri_12m_done", {"patient_id": "3"}),
        ("adverse_events.csv", "serious", {"patient_id": "4"}),
        ("adverse_events.csv", "related", {"patient_id": "4"}),
        ("adverse_events.csv", "ongoing", {"patient_id": "4"}),
        ("visits.csv", "month_stated", {"visit": "IX"}),
    ],
)
def test_bad_boolean_in_every_boolean_column(data_copy, file, column, match):
    line = break_cell(data_copy / file, column, "yes", **match)
    only_problem(data_copy, file, line, column, "'yes' is not a boolean")


@pytest.mark.parametrize(
    "file,column,match",
    [
        ("patients.csv", "patient_id", {"patient_id": "11"}),
        ("patients.csv", "safety_population", {"patient_id": "11"}),
        ("adverse_events.csv", "term", {"patient_id": "4"}),
        ("measurements.csv", "measure", {"patient_id": "1", "visit": "III", "measure": "FVC"}),
        ("measurements.csv", "source", {"patient_id": "1", "visit": "III", "measure": "FVC"}),
        ("visits.csv", "label", {"visit": "X"}),
    ],
)
def test_required_cell_empty(data_copy, file, column, match):
    line = break_cell(data_copy / file, column, "", **match)
    found = problems(data_copy)
    assert_problem(found, file, line, column, "value is required but the cell is empty")


@pytest.mark.parametrize("pid", ["patient 1", "1/2", "x" * 41])
def test_invalid_patient_id(data_copy, pid):
    line = break_cell(data_copy / "patients.csv", "patient_id", pid, patient_id="13")
    found = problems(data_copy)
    assert_problem(found, "patients.csv", line, "patient_id", f"invalid patient id {pid!r}")


# ---------------------------------------------------------------- allowed values


@pytest.mark.parametrize(
    "file,column,value,match",
    [
        ("measurements.csv", "measure", "FEV1", {"patient_id": "1", "visit": "III", "measure": "FVC"}),
        ("measurements.csv", "measure", "alsfrs", {"patient_id": "3", "visit": "V", "measure": "ALSFRS"}),
        ("patients.csv", "sex", "female", {"patient_id": "1"}),
        ("patients.csv", "sex", "f", {"patient_id": "1"}),
        ("patients.csv", "onset", "Bulbar", {"patient_id": "2"}),  # bulbar (lower case) is an onset
        ("patients.csv", "onset", "Spinal + bulbar", {"patient_id": "1"}),
        ("adverse_events.csv", "severity", "mild", {"patient_id": "4"}),
        ("adverse_events.csv", "severity", "Fatal", {"patient_id": "2"}),
    ],
)
def test_unknown_enum_value(data_copy, file, column, value, match):
    line = break_cell(data_copy / file, column, value, **match)
    msg = only_problem(data_copy, file, line, column, f"unknown value {value!r}")
    assert "allowed:" in msg


def test_unknown_visit(data_copy):
    line = break_cell(data_copy / "measurements.csv", "visit", "IV", patient_id="3", visit="V", measure="ALSFRS")
    only_problem(data_copy, "measurements.csv", line, "visit", "unknown visit 'IV' (not in visits.csv)")


def test_invalid_visit_name(data_copy):
    line = break_cell(data_copy / "visits.csv", "visit", "visit 13", visit="XII")
    found = problems(data_copy)
    assert_problem(found, "visits.csv", line, "visit", "invalid visit name 'visit 13'")


def test_month_contradicts_visits(data_copy):
    line = break_cell(data_copy / "measurements.csv", "month", "3", patient_id="3", visit="V", measure="ALSFRS")
    only_problem(data_copy, "measurements.csv", line, "month", "month 3 contradicts visits.csv (visit V is at month 0)")


def test_month_equal_within_tolerance(data_copy):
    break_cell(data_copy / "measurements.csv", "month", "-1.1500000001", patient_id="1", visit="III", measure="FVC")
    load_dataset(data_copy)


@pytest.mark.parametrize(
    "measure,visit,pid,value,expected",
    [
        ("ALSFRS", "V", "3", "41", "ALSFRS value 41 is out of range 0-40"),
        ("ALSFRS", "V", "3", "-1", "ALSFRS value -1 is out of range 0-40"),
        ("FVC", "III", "1", "250", "FVC value 250 is out of range 0-200"),
        ("FVC", "III", "1", "-0.5", "FVC value -0.5 is out of range 0-200"),
        ("WS_UEL", "III", "1", "5.5", "WS_UEL value 5.5 is out of range 0-5"),
        ("WS_LER", "V", "3", "-1", "WS_LER value -1 is out of range 0-5"),
    ],
)
def test_measurement_out_of_range(data_copy, measure, visit, pid, value, expected):
    line = break_cell(data_copy / "measurements.csv", "value", value, patient_id=pid, visit=visit, measure=measure)
    only_problem(data_copy, "measurements.csv", line, "value", expected)


@pytest.mark.parametrize(
    "file,column,value,match,expected",
    [
        ("patients.csv", "age", "130", {"patient_id": "4"}, "130 is out of range 0-120"),
        ("patients.csv", "age", "-1", {"patient_id": "4"}, "-1 is out of range 0-120"),
        ("patients.csv", "disease_duration_months", "601", {"patient_id": "4"}, "601 is out of range 0-600"),
        ("adverse_events.csv", "duration_days", "-3", {"patient_id": "4"}, "-3 is out of range"),
    ],
)
def test_patient_and_event_values_out_of_range(data_copy, file, column, value, match, expected):
    line = break_cell(data_copy / file, column, value, **match)
    only_problem(data_copy, file, line, column, expected)


def test_range_limits_are_inclusive(data_copy):
    break_cell(data_copy / "measurements.csv", "value", "40", patient_id="3", visit="V", measure="ALSFRS")
    break_cell(data_copy / "measurements.csv", "value", "0", patient_id="1", visit="III", measure="WS_UEL")
    break_cell(data_copy / "measurements.csv", "value", "200", patient_id="1", visit="III", measure="FVC")
    break_cell(data_copy / "patients.csv", "age", "120", patient_id="4")
    break_cell(data_copy / "patients.csv", "age", "0", patient_id="5")
    load_dataset(data_copy)


# ---------------------------------------------------------------- uniqueness and references


def test_duplicate_patient(data_copy):
    path = data_copy / "patients.csv"
    rows = read_csv(path)
    dup = list(rows[find_line(path, patient_id="2") - 1])
    dup[rows[0].index("age")] = "60"
    rows.append(dup)
    write_csv(path, rows)
    only_problem(data_copy, "patients.csv", len(rows), "patient_id", "duplicate patient '2'")


def test_duplicate_measurement(data_copy):
    path = data_copy / "measurements.csv"
    rows = read_csv(path)
    line = find_line(path, patient_id="3", visit="V", measure="ALSFRS")
    rows.insert(line, list(rows[line - 1]))  # the copy is line + 1
    rows[line][rows[0].index("value")] = "32"
    write_csv(path, rows)
    only_problem(data_copy, "measurements.csv", line + 1, "measure",
                 "duplicate measurement: patient 3, visit V, ALSFRS already given")


def test_same_measure_at_another_visit_is_not_a_duplicate(data_copy):
    path = data_copy / "measurements.csv"
    rows = read_csv(path)
    rows.append(["3", "IV", "1", "ALSFRS", "33", "x"])
    write_csv(path, rows)
    only_problem(data_copy, "measurements.csv", len(rows), "visit", "unknown visit 'IV'")


def test_duplicate_visit(data_copy):
    path = data_copy / "visits.csv"
    rows = read_csv(path)
    rows.append(["XII", "24", "Follow-up 24 months", "false", ""])
    write_csv(path, rows)
    found = problems(data_copy)
    assert_problem(found, "visits.csv", len(rows), "visit", "duplicate visit 'XII'")


@pytest.mark.parametrize(
    "file,match",
    [
        ("measurements.csv", {"patient_id": "3", "visit": "V", "measure": "ALSFRS"}),
        ("adverse_events.csv", {"patient_id": "4"}),
    ],
)
def test_patient_not_in_patients(data_copy, file, match):
    line = break_cell(data_copy / file, "patient_id", "99", **match)
    only_problem(data_copy, file, line, "patient_id", "patient '99' is not in patients.csv")


def test_patient_ids_compare_as_text(data_copy):
    """'03' is not patient '3'."""
    line = break_cell(data_copy / "adverse_events.csv", "patient_id", "04", patient_id="4")
    only_problem(data_copy, "adverse_events.csv", line, "patient_id", "patient '04' is not in patients.csv")


def test_removing_a_patient_reports_all_their_rows(data_copy):
    path = data_copy / "patients.csv"
    rows = read_csv(path)
    del rows[find_line(path, patient_id="20") - 1]
    write_csv(path, rows)
    found = problems(data_copy)
    n_meas = sum(1 for r in read_csv(data_copy / "measurements.csv")[1:] if r[0] == "20")
    ae_line = find_line(data_copy / "adverse_events.csv", patient_id="20")
    assert_problem(found, "adverse_events.csv", ae_line, "patient_id", "patient '20' is not in patients.csv")
    meas = [p for p in found if p.startswith("measurements.csv:")]
    assert len(meas) == min(n_meas, data.MAX_PROBLEMS_PER_KIND) + (n_meas > data.MAX_PROBLEMS_PER_KIND)


def test_efficacy_patient_must_be_in_safety_population(data_copy):
    line = break_cell(data_copy / "patients.csv", "safety_population", "false", patient_id="5")
    only_problem(data_copy, "patients.csv", line, "efficacy_population", "must be in the safety population")


def test_no_patients(data_copy):
    rows = read_csv(data_copy / "patients.csv")
    write_csv(data_copy / "patients.csv", rows[:1])
    found = problems(data_copy)
    assert_problem(found, "patients.csv", None, None, "no patients")


# ---------------------------------------------------------------- many problems at once


def test_problems_in_several_files_are_all_reported(data_copy):
    lines = {
        "patients.csv": break_cell(data_copy / "patients.csv", "age", "130", patient_id="4"),
        "measurements.csv": break_cell(data_copy / "measurements.csv", "value", "41",
                                       patient_id="3", visit="V", measure="ALSFRS"),
        "adverse_events.csv": break_cell(data_copy / "adverse_events.csv", "severity", "Fatal", patient_id="2"),
        "visits.csv": break_cell(data_copy / "visits.csv", "month_stated", "True", visit="IX"),
    }
    (data_copy / "metadata.json").write_text("{not json", encoding="utf-8")
    found = problems(data_copy)
    assert_problem(found, "patients.csv", lines["patients.csv"], "age", "out of range")
    assert_problem(found, "measurements.csv", lines["measurements.csv"], "value", "ALSFRS value 41 is out of range")
    assert_problem(found, "adverse_events.csv", lines["adverse_events.csv"], "severity", "unknown value 'Fatal'")
    assert_problem(found, "visits.csv", lines["visits.csv"], "month_stated", "'True' is not a boolean")
    assert_problem(found, "metadata.json", 1, None, "not valid JSON")
    assert len(found) == 5, found


def test_a_missing_file_does_not_hide_problems_in_the_others(data_copy):
    (data_copy / "adverse_events.csv").unlink()
    age = break_cell(data_copy / "patients.csv", "age", "51.5", patient_id="6")
    alsfrs = break_cell(data_copy / "measurements.csv", "value", "41", patient_id="3", visit="V", measure="ALSFRS")
    path = data_copy / "measurements.csv"
    rows = read_csv(path)
    dup = find_line(path, patient_id="1", visit="III", measure="FVC")
    rows.append(list(rows[dup - 1]))
    write_csv(path, rows)
    found = problems(data_copy)
    assert_problem(found, "adverse_events.csv", None, None, "file is missing")
    assert_problem(found, "patients.csv", age, "age", "not a whole number")
    # checks within one file still run although another file is missing
    assert_problem(found, "measurements.csv", alsfrs, "value", "ALSFRS value 41 is out of range")
    assert_problem(found, "measurements.csv", len(rows), "measure", "duplicate measurement")


def test_several_problems_in_one_row(data_copy):
    path = data_copy / "patients.csv"
    line = find_line(path, patient_id="14")
    for column, value in (("age", "x"), ("sex", "X"), ("onset", "limb"), ("mri_12m_done", "yes")):
        set_cell(path, line, column, value)
    found = problems(data_copy)
    for column in ("age", "sex", "onset", "mri_12m_done"):
        assert_problem(found, "patients.csv", line, column, "")
    assert len(found) == 4, found


def test_many_rows_of_one_kind_are_summarised(data_copy):
    path = data_copy / "measurements.csv"
    rows = read_csv(path)
    for r in rows[1:]:
        r[rows[0].index("month")] = "x"
    write_csv(path, rows)
    found = problems(data_copy)
    month = [p for p in found if p.startswith("measurements.csv") and "month" in p]
    cap = data.MAX_PROBLEMS_PER_KIND
    assert len(month) == cap + 1
    assert month[0] == "measurements.csv:2: month: not a number: 'x'"
    assert month[-1] == f"measurements.csv: month: ... and {len(rows) - 1 - cap} more rows with: not a number: 'x'"


# ---------------------------------------------------------------- valid variations


def test_subset_of_measures_and_patients_loads(data_copy):
    keep = {"2", "5", "13"}
    for name in ("patients.csv", "adverse_events.csv"):
        rows = read_csv(data_copy / name)
        write_csv(data_copy / name, rows[:1] + [r for r in rows[1:] if r[0] in keep])
    rows = read_csv(data_copy / "measurements.csv")
    mi = rows[0].index("measure")
    write_csv(data_copy / "measurements.csv", rows[:1] + [r for r in rows[1:] if r[0] in keep and r[mi] == "FVC"])
    ds = load_dataset(data_copy)
    assert list(ds.patients["patient_id"]) == ["2", "5", "13"]
    assert ds.measures == ["FVC"]
    assert ds.simulated_measures == []
    assert not ds.measurements["simulated"].any()
    assert "3 patients" in ds.summary()
    assert "no simulated values" in ds.summary()


def test_header_only_adverse_events_loads(data_copy):
    rows = read_csv(data_copy / "adverse_events.csv")
    write_csv(data_copy / "adverse_events.csv", rows[:1])
    ds = load_dataset(data_copy)
    assert len(ds.adverse_events) == 0
    assert list(ds.adverse_events.columns) == [c.name for c in data.columns_of("adverse_events.csv")]
    assert rows[0] == [c.name for c in data.SCHEMA["adverse_events.csv"]] + ["preferred_term", "body_system"]
    assert "0 adverse events" in ds.summary()


def test_header_only_measurements_loads(data_copy):
    rows = read_csv(data_copy / "measurements.csv")
    write_csv(data_copy / "measurements.csv", rows[:1])
    ds = load_dataset(data_copy)
    assert ds.measures == []
    assert "no measure" in ds.summary()


def test_optional_cells_may_be_empty(data_copy):
    path = data_copy / "patients.csv"
    line = find_line(path, patient_id="9")
    for column in ("age", "sex", "onset", "disease_duration_months", "mri_12m_done", "exclusion_reason"):
        set_cell(path, line, column, "")
    ds = load_dataset(data_copy)
    row = ds.patients.set_index("patient_id").loc["9"]
    assert row.isna()[["age", "sex", "onset", "disease_duration_months", "mri_12m_done"]].all()


def test_cells_are_stripped(data_copy):
    break_cell(data_copy / "patients.csv", "sex", " M ", patient_id="3")
    break_cell(data_copy / "measurements.csv", "value", " 33 ", patient_id="3", visit="V", measure="ALSFRS")
    load_dataset(data_copy)


def test_patient_ids_need_not_be_numbers(data_copy):
    for name in ("patients.csv", "measurements.csv", "adverse_events.csv"):
        rows = read_csv(data_copy / name)
        write_csv(data_copy / name, rows[:1] + [[f"P-{r[0]}"] + r[1:] for r in rows[1:]])
    ds = load_dataset(data_copy)
    assert list(ds.patients["patient_id"])[:3] == ["P-1", "P-2", "P-3"]


# ---------------------------------------------------------------- metadata.json


def test_metadata_is_optional(data_copy):
    (data_copy / "metadata.json").unlink()
    ds = load_dataset(data_copy)
    assert ds.data_as_of_source == "file modification date"
    assert ds.title == data_copy.name


@pytest.mark.parametrize(
    "content,row,column,fragment",
    [
        (b'{"title": "x",\n "data_as_of": }', 2, None, "not valid JSON"),
        (b"", 1, None, "not valid JSON"),
        (b'{"title": "caf\xe9"}', None, None, "not valid JSON"),
        (b'["a list"]', None, None, "must hold a JSON object"),
        (b'{"data_as_of": "25/11/2026"}', None, "data_as_of", "'25/11/2026' is not a date"),
        (b'{"data_as_of": "2026-02-30"}', None, "data_as_of", "is not a date"),
    ],
    ids=["syntax", "empty", "latin-1", "list", "date-format", "impossible-date"],
)
def test_bad_metadata(data_copy, content, row, column, fragment):
    (data_copy / "metadata.json").write_bytes(content)
    only_problem(data_copy, "metadata.json", row, column, fragment)


# ---------------------------------------------------------------- directory


def test_nonexistent_directory(tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(DatasetError) as info:
        load_dataset(missing)
    assert [str(p) for p in info.value.problems] == [f"{missing}: dataset directory does not exist"]


def test_directory_is_a_file(tmp_path):
    f = tmp_path / "file.csv"
    f.write_text("x\n")
    with pytest.raises(DatasetError):
        load_dataset(f)


def test_empty_directory_reports_every_file(tmp_path):
    found = problems(tmp_path)
    for name in data.FILES:
        assert_problem(found, name, None, None, "file is missing")
    assert len(found) == len(data.FILES)


def test_trial_data_dir_env_is_honoured(data_copy, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(data_copy))
    assert data.resolve_data_dir() == data_copy.resolve()
    assert load_dataset().directory == data_copy.resolve()
    break_cell(data_copy / "patients.csv", "age", "130", patient_id="4")
    with pytest.raises(DatasetError):
        load_dataset()


def test_explicit_directory_beats_env(data_copy, monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "nowhere"))
    assert load_dataset(data_copy).directory == data_copy.resolve()


def test_default_is_the_shipped_data(monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    assert data.resolve_data_dir() == SHIPPED.resolve()


# ---------------------------------------------------------------- loading is read-only


def test_loading_writes_nothing(data_copy):
    before = snapshot(data_copy)
    load_dataset(data_copy)
    assert snapshot(data_copy) == before


def test_loading_a_broken_dataset_writes_nothing(data_copy):
    break_cell(data_copy / "measurements.csv", "value", "41", patient_id="3", visit="V", measure="ALSFRS")
    (data_copy / "visits.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (data_copy / "adverse_events.csv").unlink()
    before = snapshot(data_copy)
    with pytest.raises(DatasetError):
        load_dataset(data_copy)
    assert snapshot(data_copy) == before


def test_validate_cli_writes_nothing(data_copy):
    before = snapshot(data_copy)
    assert run_cli("validate", "--data", str(data_copy)).returncode == 0
    assert snapshot(data_copy) == before


def test_loading_the_shipped_data_writes_nothing():
    before = snapshot(SHIPPED)
    load_dataset(SHIPPED)
    assert snapshot(SHIPPED) == before


# ---------------------------------------------------------------- the validate command


def test_validate_cli_on_shipped_data():
    r = run_cli("validate", "--data", str(SHIPPED))
    assert r.returncode == 0, r.stderr
    assert "26 patients" in r.stdout
    assert "simulated" in r.stdout.lower()
    assert "Traceback" not in r.stdout + r.stderr


def test_validate_cli_default_is_the_shipped_data():
    r = run_cli("validate")
    assert r.returncode == 0, r.stderr
    assert "26 patients" in r.stdout


def test_validate_cli_lists_problems_one_per_line(data_copy):
    age = break_cell(data_copy / "patients.csv", "age", "130", patient_id="4")
    alsfrs = break_cell(data_copy / "measurements.csv", "value", "41", patient_id="3", visit="V", measure="ALSFRS")
    sev = break_cell(data_copy / "adverse_events.csv", "severity", "Fatal", patient_id="2")
    r = run_cli("validate", "--data", str(data_copy))
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == f"invalid dataset {data_copy.resolve()}: 3 problem(s)"
    assert lines[1:] == [
        f"patients.csv:{age}: age: 130 is out of range 0-120",
        f"adverse_events.csv:{sev}: severity: unknown value 'Fatal' (allowed: Mild, Moderate, Severe, Death)",
        f"measurements.csv:{alsfrs}: value: ALSFRS value 41 is out of range 0-40",
    ]


def test_validate_cli_on_nonexistent_directory(tmp_path):
    r = run_cli("validate", "--data", str(tmp_path / "no-such-dir"))
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert "dataset directory does not exist" in r.stderr


def test_validate_cli_on_garbage_files(data_copy):
    (data_copy / "patients.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (data_copy / "visits.csv").write_bytes(b"")
    (data_copy / "adverse_events.csv").write_bytes("Céphalée\n".encode("latin-1"))
    r = run_cli("validate", "--data", str(data_copy))
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    err = r.stderr
    assert "patients.csv: not a CSV text file" in err
    assert "visits.csv: file is empty" in err
    assert "adverse_events.csv:1: not UTF-8" in err


def test_validate_cli_honours_trial_data_dir(data_copy):
    ok = run_cli("validate", env_extra={data.DATA_DIR_ENV: str(data_copy)})
    assert ok.returncode == 0, ok.stderr
    assert str(data_copy.resolve()) in ok.stdout
    line = break_cell(data_copy / "measurements.csv", "value", "250", patient_id="1", visit="III", measure="FVC")
    bad = run_cli("validate", env_extra={data.DATA_DIR_ENV: str(data_copy)})
    assert bad.returncode == 1
    assert f"measurements.csv:{line}: value: FVC value 250 is out of range 0-200" in bad.stderr.splitlines()


def test_validate_cli_bad_command_line():
    r = run_cli("validate", "--no-such-option")
    assert r.returncode == 2
    assert "Traceback" not in r.stdout + r.stderr


# ---------------------------------------------------------------- the two readers agree


READER_CASES = {
    "plain": "patient_id,visit,month,measure,value,source\n1,V,0,FVC,80,Table 4\n2,V,0,FVC,81,Table 4\n",
    "crlf and no final newline": (
        "patient_id,visit,month,measure,value,source\r\n1,V,0,FVC,80,Table 4\r\n2,V,0,FVC,81,Table 4"
    ),
    "spaces around cells": (
        "patient_id, visit ,month,measure,value,source\n 1,V, 0,FVC,80 ,Table 4\n2,V,0,FVC,81,Table 4 \n"
    ),
    "a tab and a no-break space": "patient_id,visit,month,measure,value,source\n1\t,V,0,FVC,\u00a080,Table 4\n",
    "ASCII control white space": "patient_id,visit,month,measure,value,source\n1,V\x1c,0,FVC,80,Table 4\n",
    "typographic minus": "patient_id,visit,month,measure,value,source\n1,III,\u22121.15,FVC,80,Table 4\n",
    "quoted cells": 'patient_id,visit,month,measure,value,source\n"1",V,0,FVC,80,"Table 4, row 1"\n',
    "a short row": "patient_id,visit,month,measure,value,source\n1,V,0,FVC,80\n2,V,0,FVC,81,Table 4\n",
    "a long row": "patient_id,visit,month,measure,value,source\n1,V,0,FVC,80,Table 4,x\n2,V,0,FVC,81,Table 4\n",
    "short and long rows": "patient_id,visit,month,measure,value,source\n1,V,0,FVC,80,Table 4,x\n2,V,0,FVC,81\n",
    "a blank line": "patient_id,visit,month,measure,value,source\n1,V,0,FVC,80,Table 4\n\n2,V,0,FVC,81,Table 4\n",
    "bad cells": "patient_id,visit,month,measure,value,source\n1 x,V,zero,FVC,,Table 4\n2,??,0,FEV,81,Table 4\n",
    "header only": "patient_id,visit,month,measure,value,source\n",
}


@pytest.mark.parametrize("case", list(READER_CASES))
def test_the_fast_reader_gives_what_the_row_reader_gives(tmp_path, case):
    """load_dataset reads simple files at once (pandas' C parser): same typed table, same problems, same rows."""
    path = tmp_path / "measurements.csv"
    path.write_bytes(READER_CASES[case].encode("utf-8"))
    results = []
    for at_once in (False, True):
        problems: list = []
        header, body = data.read_rows(path, problems, at_once=at_once)
        tables, found = data.validate_tables({"measurements.csv": (header, body)})
        results.append((header, tables["measurements.csv"], [str(p) for p in problems + found]))
    (h1, f1, p1), (h2, f2, p2) = results
    assert h1 == h2
    assert p1 == p2
    assert f1.columns.tolist() == f2.columns.tolist()
    def cells(frame):
        return frame.astype(object).where(frame.notna(), None).values.tolist()

    assert cells(f1) == cells(f2)


def test_the_fast_reader_takes_only_the_simplest_files(tmp_path):
    path = tmp_path / "x.csv"
    for text, simple in (("a,b\n1,2\n", True), ("a,b\n1,2", True), ('a,b\n"1",2\n', False),
                         ("a,b\n1,2\n\n3,4\n", False), ("a,b\n1\n3,4,5\n", False), ("a,b\r1,2\r", False),
                         ("a,b\n", False)):
        path.write_text(text, encoding="utf-8", newline="")
        read = data.read_rows(path, [], at_once=True)
        assert (not isinstance(read[1], list)) is simple, text  # read at once: one block, not a list of rows


@pytest.mark.parametrize("column", ["serious", "related", "severity"])
def test_an_empty_seriousness_relationship_or_severity_is_not_recorded(data_copy, column):
    """An empty cell loads as "not recorded" (a missing value), never as false or as a severity."""
    break_cell(data_copy / "adverse_events.csv", column, "", patient_id="4")
    ds = load_dataset(data_copy)
    mine = ds.adverse_events[ds.adverse_events["patient_id"] == "4"]
    assert mine[column].isna().sum() >= 1
    assert ds.adverse_events[column].notna().sum() == len(ds.adverse_events) - mine[column].isna().sum()


#: The optional columns the shipped files have: the project's coding of the verbatim terms (data/README.md).
SHIPPED_OPTIONAL = {("adverse_events.csv", "preferred_term"), ("adverse_events.csv", "body_system")}


def test_optional_columns_may_be_left_out_or_given(data_copy, shipped):
    """The shipped files lack the optional columns (but the coding) and load with them empty; a file that has them
    loads them."""
    for name in FILES:
        header = (shipped.directory / name).read_text().splitlines()[0].split(",")
        for c in data.OPTIONAL_COLUMNS[name]:
            assert (c.name in header) == ((name, c.name) in SHIPPED_OPTIONAL)
    assert shipped.adverse_events["start_day"].isna().all()
    assert shipped.patients["arm"].isna().all()
    path = data_copy / "adverse_events.csv"
    lines = path.read_text().splitlines()
    lines = [lines[0] + ",start_day,treatment_emergent"] + [
        line + (",-3,false" if i == 0 else ",12,true") for i, line in enumerate(lines[1:])]
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(data_copy)
    assert ds.non_emergent_events == 1
    assert len(ds.adverse_events) == len(shipped.adverse_events) - 1
    assert ds.adverse_events["start_day"].eq(12).all()
    assert ds.adverse_events["treatment_emergent"].all()
