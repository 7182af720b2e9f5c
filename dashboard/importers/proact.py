"""PRO-ACT-style CSV files (``DEMOGRAPHICS``, ``ALSHISTORY``, outcome files, ``ADVERSEEVENTS``) as our four tables."""

from __future__ import annotations

import math
from pathlib import Path

from .. import data
from .build import Builder, Imported, Reader, Record, unknown_measure
from .mapping import PROACT, measure_rows, variables
from .rules import ONGOING_OUTCOMES, ONSET, SEX, YES, day_to_month, number, visit_name
from .sources import PROACT_OUTCOME_FILES, PROACT_REQUIRED, Source, proact_files, read_csv_source


def _is_proact(directory: Path) -> bool:
    return bool(proact_files(directory))


def read_proact(directory) -> Imported:
    """Our four tables from a directory of PRO-ACT-style files, with the problems found on the way (unvalidated)."""
    directory = Path(directory)
    b = Builder(directory, PROACT)
    imp = b.imp
    found = proact_files(directory)
    sources = b.read_sources(found, lambda p, key: read_csv_source(p, key, imp.problems, b.col))
    for key in PROACT_REQUIRED:
        if key not in found:
            b.file_problem(f"{key}.csv", f"file is missing from {directory} (the PRO-ACT-style "
                                         f"{'subject' if key == 'DEMOGRAPHICS' else 'adverse event'} file)")
    demo = sources.get("DEMOGRAPHICS")
    imp.names["patients.csv"] = demo.name if demo else "DEMOGRAPHICS.csv"
    imp.records["patients.csv"] = None if demo is None else _patients(b, demo, sources.get("ALSHISTORY"))
    ae = sources.get("ADVERSEEVENTS")
    imp.records["adverse_events.csv"] = None if ae is None else _events(b, ae)
    outs = [sources[k] for k in PROACT_OUTCOME_FILES if k in sources]
    for src in outs:
        _outcomes(b, src)
    imp.names["visits.csv"] = "the visits of " + (", ".join(s.name for s in outs) or "the outcome files")
    b.build_visits("PRO-ACT deltas")
    return b.finish()


def _patients(b: Builder, demo: Source, hist: Source | None) -> list[Record] | None:
    if not b.require(demo, [["subject_id"]], "column"):
        return None

    def v(column, dataset="DEMOGRAPHICS", src=demo):
        return src.first(variables("patients.csv", column, PROACT, dataset))

    history: dict[str, dict[str, tuple[int, str]]] = {}
    if hist is not None and b.require(hist, [["subject_id"]], "column"):
        ids = {demo.get(c, "subject_id") for _l, c in demo.rows}
        for line, cells in hist.rows:
            sid = hist.get(cells, "subject_id")
            if sid not in ids:
                b.problem(hist, line, hist.col("subject_id"), f"subject {sid!r} is not in {demo.name}")
                continue
            got = history.setdefault(sid, {})
            for column in ("onset", "disease_duration_months"):
                var = v(column, "ALSHISTORY", hist)
                value = hist.get(cells, var)
                if not value:
                    continue
                if column in got and got[column][1] != value:
                    b.problem(hist, line, var, f"{value!r} contradicts {got[column][1]!r} given for subject {sid} "
                                               f"at line {got[column][0]}")
                    continue
                got.setdefault(column, (line, value))
    out = []
    for line, cells in demo.rows:
        r = Record(demo, line)
        sid = demo.get(cells, "subject_id")
        r.set("patient_id", sid, demo.col("subject_id"))
        age_var = v("age")
        age = demo.get(cells, age_var)
        n = number(age) if age else None
        r.set("age", data.format_number(math.floor(n)) if n is not None else age, age_var)
        sex_var = v("sex")
        r.set("sex", b.lookup(demo, line, sex_var, demo.get(cells, sex_var), SEX, "Male, Female, M, F"), sex_var)
        for column in ("safety_population", "efficacy_population", "mri_12m_done"):
            var = v(column)
            if var is None and column != "mri_12m_done":
                r.set(column, "true", None)
            else:
                r.set(column, b.yes_no(demo, line, var, demo.get(cells, var), "Yes or No"), var)
        var = v("exclusion_reason")
        r.set("exclusion_reason", demo.get(cells, var), var)
        h = history.get(sid, {})
        onset_var, delta_var = (v("onset", "ALSHISTORY", hist), v("disease_duration_months", "ALSHISTORY", hist)) \
            if hist is not None else (None, None)
        if "onset" in h:
            hl, value = h["onset"]
            onset = b.lookup(hist, hl, onset_var, value, ONSET, "Onset: Limb, Onset: Spine, Onset: Limb and Bulbar")
            r.set("onset", onset, onset_var, hist, hl)
        if "disease_duration_months" in h:
            hl, value = h["disease_duration_months"]
            days = number(value)
            if days is None:
                r.set("disease_duration_months", value, delta_var, hist, hl)  # validation says: not a number
            elif days > 0:
                b.problem(hist, hl, delta_var, f"onset {value} days after day 0 (Onset_Delta must be 0 or negative)")
                r.set("disease_duration_months", "", delta_var, hist, hl)
            else:
                r.set("disease_duration_months", data.format_number(day_to_month(-days)), delta_var, hist, hl)
        out.append(r)
    return out


def _events(b: Builder, src: Source) -> list[Record] | None:
    def v(column):
        return variables("adverse_events.csv", column, PROACT, "ADVERSEEVENTS")

    if not b.require(src, [["subject_id"], v("term"), ["Serious"], ["Related"], ["Severity"]], "column"):
        return None
    sev_var, out_var = src.col("Severity"), src.col("Outcome")
    dur, start, end = src.col("Duration_Days"), src.col("Start_Date_Delta"), src.col("End_Date_Delta")
    serious, related = src.col("Serious"), src.col("Related")
    out = []
    for line, cells in src.rows:
        r = Record(src, line)
        r.set("patient_id", src.get(cells, "subject_id"), src.col("subject_id"))
        term, tv = src.first_nonempty(cells, v("term"))
        r.set("term", term, tv)
        r.set("serious", b.yes_no(src, line, serious, src.get(cells, "Serious"), "Yes or No"), serious)
        r.set("related", b.relatedness(src, line, related, src.get(cells, "Related")), related)
        outcome = src.get(cells, out_var)
        sev, sv = b.severity(src, line, sev_var, out_var, src.get(cells, sev_var), outcome)
        r.set("severity", sev, sv)
        action, av = src.first_nonempty(cells, v("action"))
        r.set("action", action, av)
        if dur and src.get(cells, dur):
            r.set("duration_days", src.get(cells, dur), dur)
        elif start and end and src.get(cells, start) and src.get(cells, end):
            s = b.whole_days(src, line, start, src.get(cells, start))
            e = b.whole_days(src, line, end, src.get(cells, end))
            r.set("duration_days", "" if s is None or e is None else data.format_number(e - s + 1), end)
        else:
            r.set("duration_days", "", dur)
        r.set("ongoing", "true" if outcome.upper() in ONGOING_OUTCOMES else "false", out_var)
        out.append(r)
    return out


def _outcomes(b: Builder, src: Source) -> None:
    key = src.key
    delta = variables("measurements.csv", "month", PROACT, key)[0]
    rows = [r for r in measure_rows() if any(s.startswith(key + ".") for s in r.specs(PROACT))]
    needs = [["subject_id"], [delta]]
    if key == "MUSCLESTRENGTH":
        needs += [["MS_Test_Name"], ["MS_Test_Result"]]
    else:  # at least one value column (ALSFRS_Total or ALSFRS_R_Total; a pct_of_Normal_Trial_n)
        needs += [[s.split(".", 1)[1] for r in rows for s in r.specs(PROACT)]]
    if not b.require(src, needs, "column"):
        return
    sid, dvar, visit_var, sim = src.col("subject_id"), src.col(delta), src.col("Visit"), src.col("Simulated")
    for line, cells in src.rows:
        values: list[tuple[str, str, str]] = []  # (measure, value, column)
        if key == "MUSCLESTRENGTH":
            name = src.get(cells, "MS_Test_Name")
            hit = [r for r in rows if name.upper() in r.codes_of(PROACT) or name.upper() == (r.measure or "")]
            if not hit:
                known = ", ".join(c for r in rows for c in r.codes_of(PROACT))
                b.problem(src, line, src.col("MS_Test_Name"), f"unknown MS_Test_Name {name!r} (known: {known}: the "
                                                              "weakness scores 0-5 of the four limbs)")
                continue
            values.append((hit[0].measure, src.get(cells, "MS_Test_Result"), src.col("MS_Test_Result")))
        else:
            for mr in rows:
                cols = [src.col(s.split(".", 1)[1]) for s in mr.specs(PROACT) if src.col(s.split(".", 1)[1])]
                given = [(c, src.get(cells, c)) for c in cols if src.get(cells, c)]
                if not given:
                    continue
                if len(given) > 1:  # FVC trials: the best
                    nums = []
                    for c, text in given:
                        n = number(text)
                        if n is None:
                            b.problem(src, line, c, f"not a number: {text!r}")
                        else:
                            nums.append((n, c, text))
                    if not nums:
                        continue
                    _n, c, text = max(nums, key=lambda t: t[0])
                    given = [(c, text)]
                values.append((mr.measure, given[0][1], given[0][0]))
        if not values:
            continue
        days = b.whole_days(src, line, dvar, src.get(cells, dvar))
        if days is None:
            continue
        if visit_var and src.get(cells, visit_var):
            label = src.get(cells, visit_var)
            visit, vvar = visit_name(label), visit_var
        else:
            visit, vvar, label = f"D{data.format_number(days)}", dvar, f"Day {data.format_number(days)}"
        simulated = sim and src.get(cells, sim).upper() in YES
        for measure, value, column in values:
            if measure not in data.MEASURES:
                b.problem(src, line, column, unknown_measure(measure))
                continue
            r = Record(src, line)
            r.set("patient_id", src.get(cells, sid), sid)
            r.set("visit", visit, vvar)
            r.set("month", "", dvar)
            r.set("measure", measure, column)
            r.set("value", value, column)
            r.set("source", data.SOURCES_SIMULATED if simulated else f"PRO-ACT {key}", sim if simulated else None)
            b.outcome(r, visit, label, ("days", days), (src.name, line, vvar), (src.name, line, dvar))


READER = Reader(PROACT, read_proact, _is_proact, order=20)
