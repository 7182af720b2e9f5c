"""Helpers shared by the tests: import them from here, never from another test module or a conftest.

Fixtures stay in conftest.py; the browser tests' page and figure helpers are in
tests/browser/helpers.py.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dashboard import data
from dashboard.data import DatasetError

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "data"
#: The CDISC pilot submission's ADaM datasets (tests/data/cdisc_pilot/README.md).
PILOT = Path(__file__).resolve().parent / "data" / "cdisc_pilot"


def pilot_raw(name: str):
    """A pilot dataset read directly with ``pandas.read_sas`` (byte strings decoded, blanks as ""): the independent
    reading the importer's results are checked against."""
    import pandas as pd

    frame = pd.read_sas(PILOT / f"{name}.xpt", format="xport", encoding="latin-1")
    return frame.apply(lambda c: c.fillna("").str.strip() if c.dtype == object else c)


# ---------------------------------------------------------------- CSV files (rows as lists of strings)


def read_csv(path: Path) -> list[list[str]]:
    """All rows of a CSV file (header first), as lists of strings."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def find_line(path: Path, **match: str) -> int:
    """Line number (header = 1) of the first row whose cells equal ``match``."""
    rows = read_csv(path)
    header = rows[0]
    for i, row in enumerate(rows[1:], start=2):
        if row and all(row[header.index(k)] == v for k, v in match.items()):
            return i
    raise AssertionError(f"no row {match} in {path}")


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Overwrite one cell (line number as in error messages, header = 1)."""
    rows = read_csv(path)
    rows[line - 1][rows[0].index(column)] = value
    write_csv(path, rows)


def break_cell(path: Path, column: str, value: str, **match: str) -> int:
    """Set ``column`` to ``value`` in the first row of the CSV file ``path`` matching ``match``; return its line."""
    line = find_line(path, **match)
    set_cell(path, line, column, value)
    return line


# ---------------------------------------------------------------- the validator's problems


def problems(directory) -> list[str]:
    """The problems of an invalid dataset directory in any format, as the strings the user sees."""
    from dashboard import importers

    with pytest.raises(DatasetError) as info:
        importers.load(directory)
    err = info.value
    assert err.problems, "DatasetError without problems"
    assert "Traceback" not in str(err)
    return [str(p) for p in err.problems]


def assert_problem(found: list[str], file: str, row: int | None, column: str | None, fragment: str) -> str:
    """Some problem starts with ``file:row: column:`` and mentions ``fragment``."""
    where = file if row is None else f"{file}:{row}"
    prefix = f"{where}: {column}: " if column else f"{where}: "
    hits = [p for p in found if p.startswith(prefix) and fragment in p]
    assert hits, f"no problem {prefix!r}...{fragment!r} among:\n" + "\n".join(found)
    return hits[0]


def only_problem(directory, file: str, row: int | None, column: str | None, fragment: str) -> str:
    """The dataset has exactly one problem, and it is this one."""
    found = problems(directory)
    assert len(found) == 1, "expected exactly one problem, got:\n" + "\n".join(found)
    return assert_problem(found, file, row, column, fragment)


# ---------------------------------------------------------------- the command line


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m dashboard ARGS`` in the repository, without the caller's TRIAL_DATA_DIR (unless ``env_extra``)."""
    env = dict(os.environ)
    env.pop(data.DATA_DIR_ENV, None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---------------------------------------------------------------- Dash components


def texts(component) -> str:
    """All text in a component tree (the text of the HTML blocks an ``HtmlBlock`` draws included)."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(texts(c) for c in component)
    if type(component).__name__ == "HtmlBlock":
        return " ".join(html_texts(component.html))
    return texts(getattr(component, "children", None))


class _HTMLTexts(HTMLParser):
    """Texts and table rows of an HTML fragment (what the browser would show)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self.tables, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"attrs": dict(attrs), "header": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            text = "".join(self._cell)
            t = self.tables[-1]
            if tag == "th" and len(t["rows"]) == 1:
                t["header"].append(text)
            else:
                t["rows"][-1].append(text)
            self._cell = None

    def handle_data(self, data):
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def html_texts(fragment: str) -> list[str]:
    p = _HTMLTexts()
    p.feed(fragment or "")
    return p.texts


def html_tables(component) -> list[dict]:
    """The tables a rendered blocks component (``layout.render``) draws: ``attrs``, ``header`` (cell texts) and
    ``rows`` (the body's rows of cell texts), in order."""
    found = []

    def walk(c):
        if c is None or isinstance(c, (str, int, float)):
            return
        if isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
            return
        if type(c).__name__ == "HtmlBlock":
            p = _HTMLTexts()
            p.feed(c.html)
            for t in p.tables:
                found.append({**t, "rows": [r for r in t["rows"][1:] if r]})
            return
        walk(getattr(c, "children", None))
    walk(component)
    return found


def only_warning(directory, file: str, row: int | None, column: str | None, fragment: str) -> str:
    """The dataset loads, with exactly one warning (a value or record skipped), and it is this one."""
    from dashboard import importers
    report = importers.load(directory).import_report
    found = [str(p) for p in report.examples]
    assert report.total == 1, "expected exactly one warning, got:\n" + "\n".join(found)
    return assert_problem(found, file, row, column, fragment)


# ---------------------------------------------------------------- two data cuts with known changes (issue 14)


def edit_csv(path, change):
    rows = read_csv(path)
    write_csv(path, change(rows))


def column_index(rows, name):
    return rows[0].index(name)


def make_cuts(tmp_path):
    """(previous, current) data cuts under ``tmp_path``: the shipped data, and a copy with six known changes
    (tests/test_diff.py checks the diff finds exactly these)."""
    import shutil

    old = shutil.copytree(SHIPPED, tmp_path / "cut1")
    new = shutil.copytree(SHIPPED, tmp_path / "cut2")
    # 1. a new patient, 27, with two values at day 0 (visit V)
    edit_csv(new / "patients.csv", lambda r: r + [["27", "50", "M", "spinal", "30", "true", "true", "true", ""]])
    # 2. a new visit of patient 2: FVC at visit XII (month 18); and 27's values at V
    edit_csv(new / "measurements.csv", lambda r: r + [["2", "XII", "18", "FVC", "60", "Table 4"],
                                                  ["27", "V", "0", "ALSFRS", "30", "Table 2"],
                                                  ["27", "V", "0", "FVC", "90", "Table 4"]])

    def events(rows):
        # 3. a new serious event of patient 3; 4. patient 22's respiratory failure is now fatal (a death);
        # 5. (below) one value changed; 6. patient 26's leukocytosis deleted
        out = [r for r in rows if not (r[0] == "26" and r[1] == "Leukocytosis")]
        sev = column_index(rows, "severity")
        for r in out:
            if r[0] == "22" and r[1] == "Respiratory failure":
                r[sev] = "Death"
        return out + [["3", "Pneumonia", "true", "false", "Severe", "Hospitalization", "5", "false", "Pneumonia",
                       "Infections and infestations"]]

    edit_csv(new / "adverse_events.csv", events)

    def fvc(rows):
        for r in rows:
            if r[:2] == ["1", "III"] and r[3] == "FVC":
                assert r[4] == "76"
                r[4] = "77"
        return rows

    edit_csv(new / "measurements.csv", fvc)
    return old, new
