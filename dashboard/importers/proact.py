"""PRO-ACT files as released (``DEMOGRAPHICS``, ``ALSHISTORY``, ``ALSFRS``, ``FVC``, ``MUSCLESTRENGTH``,
``ADVERSEEVENTS``, ``DEATHDATA``, ``TREATMENT``, ``RILUZOLE``) as our four tables.

Day 0 is the trial's first treatment day: every ``*_Delta`` is days from it (screening may be negative).
PRO-ACT has no nominal visits: without our ``Visit`` column the values are binned to scheduled months
(:func:`~.rules.visit_bin`, :meth:`~.build.Builder.binned_outcome`).
"""

from __future__ import annotations

import math
from pathlib import Path

from .. import data
from .build import Builder, Imported, Reader, Record, unknown_measure
from .mapping import PROACT, measure_rows, variables
from .rules import (
    DAYS_PER_YEAR,
    FATAL,
    NO,
    ONE_HOT_SET,
    ONSET,
    ONSET_ONE_HOT,
    PROACT_OUTCOME,
    SEX,
    YES,
    day_to_month,
    number,
    visit_name,
)
from .sources import PROACT_OUTCOME_FILES, PROACT_REQUIRED, Source, other_csv_files, proact_files, read_csv_source

#: The FVC form's trials: % of normal and litres, and the predicted (normal) volume in litres.
FVC_PCT = ("pct_of_Normal_Trial_1", "pct_of_Normal_Trial_2", "pct_of_Normal_Trial_3")
FVC_LITRES = ("Subject_Liters_Trial_1", "Subject_Liters_Trial_2", "Subject_Liters_Trial_3")
FVC_NORMAL = "Subject_Normal"
FVC_UNITS = "Forced_Vital_Capacity_Units"
LITRE_WORDS = {"L", "LITER", "LITERS", "LITRE", "LITRES"}


def _is_proact(directory: Path) -> bool:
    return bool(proact_files(directory))


def read_proact(directory) -> Imported:
    """Our four tables from a directory of PRO-ACT files, with the problems found on the way (unvalidated)."""
    directory = Path(directory)
    b = Builder(directory, PROACT)
    imp = b.imp
    found = proact_files(directory)
    sources = b.read_sources(found, lambda p, key: read_csv_source(p, key, imp.problems, b.col))
    for key in PROACT_REQUIRED:
        if key not in found:
            b.file_problem(f"{key}.csv", f"file is missing from {directory} (the PRO-ACT "
                                         f"{'subject' if key == 'DEMOGRAPHICS' else 'adverse event'} file)")
    others = other_csv_files(directory)
    if others:
        imp.notes.append(f"not read (no column of ours for them): {', '.join(others)}")
    demo = sources.get("DEMOGRAPHICS")
    imp.names["patients.csv"] = demo.name if demo else "DEMOGRAPHICS.csv"
    ae = sources.get("ADVERSEEVENTS")
    fatal: dict[str, tuple[Source, int]] = {}
    imp.records["adverse_events.csv"] = None if ae is None else _events(b, ae, fatal)
    imp.records["patients.csv"] = None if demo is None else _patients(b, demo, sources, fatal)
    if "RILUZOLE" in sources:
        _riluzole(b, sources["RILUZOLE"])
    outs = [sources[k] for k in PROACT_OUTCOME_FILES if k in sources]
    for src in outs:
        _outcomes(b, src)
    imp.names["visits.csv"] = "the visits of " + (", ".join(s.name for s in outs) or "the outcome files")
    b.build_visits("PRO-ACT deltas")
    return b.finish()


# ---------------------------------------------------------------- subjects


def _per_subject(b: Builder, src: Source, ids: set[str], columns: dict[str, object]) -> dict[str, dict]:
    """Per subject of ``ids``: column -> (line, value) of the first non-empty value (``columns``: our name ->
    a function (cells, line) -> value or None); a later different value is a warning (the first is kept);
    rows of other subjects are skipped with a warning."""
    out: dict[str, dict] = {}
    sid_var = src.col("subject_id")
    for line, cells in src.rows:
        sid = src.get(cells, sid_var)
        if sid not in ids:
            b.warn(src, line, sid_var, "row of an unknown subject skipped",
                   f"subject {sid!r} is not in DEMOGRAPHICS: row skipped")
            continue
        got = out.setdefault(sid, {})
        for name, read in columns.items():
            value, var = read(cells, line)
            if value in (None, ""):
                continue
            if name in got and got[name][1] != value:
                b.warn(src, line, var, "contradicting value ignored",
                       f"{value!r} contradicts {got[name][1]!r} given for subject {sid} at line {got[name][0]}: "
                       "the first is kept")
                continue
            got.setdefault(name, (line, value, var))
    return out


def _onset_of_row(b: Builder, hist: Source, cells, line) -> tuple[str | None, str | None]:
    """The onset one ALSHISTORY row says (text ``Site_of_Onset``, else the one-hot columns), or None."""
    var = hist.col("Site_of_Onset")
    text = hist.get(cells, var)
    if text:
        u = text.strip().upper().removeprefix("ONSET:").strip()
        if u == "OTHER":
            b.warn(hist, line, var, "onset not recorded (Other)",
                   f"{text!r} is not one of our onsets (spinal, spinal+bulbar, bulbar): not recorded")
            return None, var
        return b.lookup(hist, line, var, text, ONSET, "Onset: Limb, Onset: Spine, Onset: Bulbar, "
                                                      "Onset: Limb and Bulbar, Onset: Other"), var
    got: set[str] = set()
    other = None
    first_var = None
    for suffix, onset in ONSET_ONE_HOT.items():
        col = hist.col(f"Site_of_Onset___{suffix}")
        value = hist.get(cells, col)
        if not col or value.strip().upper() in ("", "0", "0.0", "N", "NO", "FALSE"):
            continue
        if value.strip().upper() not in ONE_HOT_SET:
            b.warn(hist, line, col, "onset flag not read", f"{value!r} is not 1 or empty: ignored")
            continue
        first_var = first_var or col
        if onset is None:
            other = col
        else:
            got.add(onset)
    if other:
        b.warn(hist, line, other, "onset not recorded (Other)",
               "onset Other is not one of our onsets" + (": not recorded" if not got else ": ignored"))
    if not got:
        return None, first_var
    if "spinal+bulbar" in got or got == {"spinal", "bulbar"}:
        return "spinal+bulbar", first_var
    return got.pop(), first_var


def _patients(b: Builder, demo: Source, sources: dict[str, Source], fatal: dict) -> list[Record] | None:
    if not b.require(demo, [["subject_id"]], "column"):
        return None

    def v(column, dataset="DEMOGRAPHICS", src=demo):
        return src.first(variables("patients.csv", column, PROACT, dataset))

    ids = {demo.get(c, "subject_id") for _l, c in demo.rows}
    hist, death, treat = sources.get("ALSHISTORY"), sources.get("DEATHDATA"), sources.get("TREATMENT")
    history: dict[str, dict] = {}
    if hist is not None and b.require(hist, [["subject_id"]], "column"):
        delta_var = hist.col("Onset_Delta")
        history = _per_subject(b, hist, ids, {
            "onset": lambda cells, line: _onset_of_row(b, hist, cells, line),
            "onset_delta": lambda cells, line: (hist.get(cells, delta_var), delta_var),
        })
        if hist.col("Diagnosis_Delta"):
            b.imp.notes.append(f"{hist.name} Diagnosis_Delta read but not shown (no column of ours for it)")
    deaths: dict[str, dict] = {}
    if death is not None and b.require(death, [["subject_id"]], "column"):
        died_var, day_var = death.col("Subject_Died"), death.col("Death_Days")
        deaths = _per_subject(b, death, ids, {
            "died": lambda cells, line: (death.get(cells, died_var), died_var),
            "day": lambda cells, line: (death.get(cells, day_var), day_var),
        })
    arms: dict[str, dict] = {}
    if treat is not None and b.require(treat, [["subject_id"], ["Study_Arm"]], "column"):
        arm_var = treat.col("Study_Arm")
        arms = _per_subject(b, treat, ids, {"arm": lambda cells, line: (treat.get(cells, arm_var), arm_var)})
        b.imp.notes.append(f"treatment arm from {treat.name} Study_Arm"
                           + (" (Treatment_Group_Delta read but not shown)" if treat.col("Treatment_Group_Delta")
                              else ""))
    from_dob = 0
    out = []
    for line, cells in demo.rows:
        r = Record(demo, line)
        sid = demo.get(cells, "subject_id")
        r.set("patient_id", sid, demo.col("subject_id"))
        age_var, dob_var = demo.col("Age"), demo.col("Date_of_Birth")
        age = demo.get(cells, age_var)
        dob = demo.get(cells, dob_var)
        if age:
            n = number(age)
            r.set("age", data.format_number(math.floor(n)) if n is not None else age, age_var)
        elif dob:
            n = number(dob)
            if n is None or n > 0:
                b.warn(demo, line, dob_var, "age not recorded (Date_of_Birth not usable)",
                       f"Date_of_Birth {dob!r} is not a negative number of days before day 0: age left empty")
                r.set("age", "", dob_var)
            else:
                r.set("age", data.format_number(math.floor(-n / DAYS_PER_YEAR)), dob_var)
                from_dob += 1
        else:
            r.set("age", "", age_var)
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
        if "onset" in h:
            hl, value, var = h["onset"]
            r.set("onset", value, var, hist, hl)
        if "onset_delta" in h:
            hl, value, var = h["onset_delta"]
            days = number(value)
            if days is None:
                r.set("disease_duration_months", value, var, hist, hl)  # validation says: not a number
            elif days > 0:
                b.warn(hist, hl, var, "disease duration not recorded (onset after day 0)",
                       f"onset {value} days after day 0 (Onset_Delta must be 0 or negative): disease duration "
                       "left empty")
                r.set("disease_duration_months", "", var, hist, hl)
            else:
                r.set("disease_duration_months", data.format_number(day_to_month(-days)), var, hist, hl)
        if sid in arms and "arm" in arms[sid]:
            hl, value, var = arms[sid]["arm"]
            r.set("arm", value, var, treat, hl)
        _death(b, r, sid, deaths.get(sid, {}), death, fatal.get(sid))
        out.append(r)
    if from_dob:
        b.imp.notes.append(f"age of {from_dob} subject(s) from Date_of_Birth (days before day 0): "
                           f"completed years = floor(−Date_of_Birth / {DAYS_PER_YEAR:g})")
    return out


def _death(b: Builder, r: Record, sid: str, got: dict, death: Source | None, fatal) -> None:
    """``died``/``death_day`` from DEATHDATA (``Subject_Died``, ``Death_Days``) and fatal adverse events."""
    died = ""
    if "died" in got:
        hl, value, var = got["died"]
        u = value.strip().upper()
        if u in YES:
            died = "true"
        elif u in NO:
            died = "false"
        else:
            b.warn(death, hl, var, "death not recorded (unknown value)", f"{value!r} is not Yes or No: not recorded")
        r.set("died", died, var, death, hl)
    if fatal is not None:
        src, line = fatal
        if died == "false":
            b.warn(src, line, src.col("Outcome"), "contradicting death",
                   f"a fatal adverse event of subject {sid}, whom {death.name} says did not die: read as died")
        r.set("died", "true", src.col("Outcome"), src, line)
    if "day" in got:
        hl, value, var = got["day"]
        n = number(value)
        if n is None or n % 1:
            b.warn(death, hl, var, "death day not usable", f"death day {value!r} is not whole days: left empty")
        else:
            r.set("death_day", data.format_number(n), var, death, hl)


def _riluzole(b: Builder, src: Source) -> None:
    used = src.col("Subject_used_Riluzole")
    if not used:
        b.imp.notes.append(f"{src.name} read but not shown (no Subject_used_Riluzole column)")
        return
    subjects = {src.get(c, "subject_id") for _l, c in src.rows}
    yes = {src.get(c, "subject_id") for _l, c in src.rows if src.get(c, used).upper() in YES}
    b.imp.notes.append(f"{src.name} read but not shown (no column of ours for it): {len(yes)} of {len(subjects)} "
                       "subject(s) used riluzole (Subject_used_Riluzole; Riluzole_use_Delta not shown)")


# ---------------------------------------------------------------- adverse events


def _events(b: Builder, src: Source, fatal: dict) -> list[Record] | None:
    def v(column):
        return variables("adverse_events.csv", column, PROACT, "ADVERSEEVENTS")

    if not b.require(src, [["subject_id"], v("term")], "column"):
        return None
    sev_var, out_var = src.col("Severity"), src.col("Outcome")
    dur, start, end = src.col("Duration_Days"), src.col("Start_Date_Delta"), src.col("End_Date_Delta")
    serious, related = src.col("Serious"), src.col("Related")
    soc = src.first(v("body_system"))
    pt = src.first(v("preferred_term"))
    for var, name, what in ((serious, "Serious", "seriousness"), (related, "Related", "relationship"),
                            (sev_var, "Severity", "severity")):
        if not var and src.rows:
            b.warn(src, src.header_row, name, f"{what} not recorded (no column)",
                   f"no {name} column (PRO-ACT does not record it): the {what} of every event is not recorded")
    out = []
    for line, cells in src.rows:
        r = Record(src, line)
        sid = src.get(cells, "subject_id")
        r.set("patient_id", sid, src.col("subject_id"))
        term, tv = src.first_nonempty(cells, v("term"))
        r.set("term", term, tv)
        r.set("serious", b.serious_flag(src, line, serious, src.get(cells, serious)) if serious else "", serious)
        r.set("related", b.relatedness(src, line, related, src.get(cells, related)) if related else "", related)
        outcome = src.get(cells, out_var)
        ongoing, is_fatal = PROACT_OUTCOME.get(outcome.strip().upper(), (False, False))
        if outcome and outcome.strip().upper() not in PROACT_OUTCOME:
            b.warn(src, line, out_var, "outcome not in the table",
                   f"unknown outcome {outcome!r}: read as neither ongoing nor fatal")
        if sev_var:
            sev, sv = b.severity(src, line, sev_var, out_var, src.get(cells, sev_var), FATAL if is_fatal else "")
        else:
            sev, sv = ("Death", out_var) if is_fatal else ("", None)
        r.set("severity", sev, sv)
        if is_fatal or sev == "Death":
            fatal.setdefault(sid, (src, line))
        action, av = src.first_nonempty(cells, v("action"))
        r.set("action", action, av)
        s_text, e_text = src.get(cells, start), src.get(cells, end)
        s = number(s_text) if s_text else None
        if s_text and (s is None or s % 1):
            b.warn(src, line, start, "start day not usable", f"start day {s_text!r} is not whole days: left empty")
            s = None
        r.set("start_day", "" if s is None else data.format_number(s), start)
        if dur and src.get(cells, dur):
            r.set("duration_days", src.get(cells, dur), dur)
        elif s is not None and e_text:
            e = b.whole_days(src, line, end, e_text)
            r.set("duration_days", "" if e is None else data.format_number(e - s + 1), end)
        else:
            r.set("duration_days", "", dur)
        r.set("ongoing", "true" if ongoing else "false", out_var)
        r.set("preferred_term", src.get(cells, pt), pt)
        r.set("body_system", src.get(cells, soc), soc)
        out.append(r)
    return out


# ---------------------------------------------------------------- outcomes


def _fvc(b: Builder, src: Source, line: int, cells) -> tuple[str, str] | None:
    """The FVC % of predicted of one record, (value, column), or None: the best (highest) of the trials in %
    of normal; where only litres are given, the best litres / ``Subject_Normal`` × 100 (a warning says so)."""
    def best(columns):
        nums = []
        for c in columns:
            col = src.col(c)
            text = src.get(cells, col)
            if not text:
                continue
            n = number(text)
            if n is None:
                b.problem(src, line, col, f"not a number: {text!r}")
            else:
                nums.append((n, col, text))
        return max(nums, key=lambda t: t[0]) if nums else None

    pct = best(FVC_PCT)
    if pct is not None:
        return pct[2], pct[1]
    litres = best(FVC_LITRES)
    if litres is None:
        return None
    unit_var = src.col(FVC_UNITS)
    unit = src.get(cells, unit_var)
    if unit and unit.strip().upper() not in LITRE_WORDS:
        b.warn(src, line, unit_var, "FVC skipped (unit)", f"FVC unit {unit!r} is not litres: record skipped")
        return None
    normal_var = src.col(FVC_NORMAL)
    normal = number(src.get(cells, normal_var)) if normal_var else None
    if normal is None or normal <= 0:
        b.warn(src, line, litres[1], "FVC in litres skipped (no Subject_Normal)",
               f"FVC {litres[2]} L without a predicted volume (Subject_Normal): % of predicted unknown, record "
               "skipped (litres are never read as %)")
        return None
    value = litres[0] / normal * 100
    if not 0 <= value <= 200:
        b.warn(src, line, normal_var, "FVC in litres skipped (implausible)",
               f"{litres[2]} L / Subject_Normal {src.get(cells, normal_var)} = {value:.4g} %: not plausible, "
               "record skipped")
        return None
    b.warn(src, line, litres[1], "FVC % predicted computed from litres",
           f"% of predicted = {litres[2]} L (best trial) / Subject_Normal {src.get(cells, normal_var)} L × 100 = "
           f"{data.format_number(round(value, 2))}")
    return data.format_number(round(value, 2)), litres[1]


#: ALSFRS items by the prefix of their released column names (``Q1_Speech``, ``Q5a_Cutting_without_Gastrostomy``,
#: ``R_1_Dyspnea``...): the original scale is Q1-Q10 (0-40), the revised Q1-Q9 and R_1-R_3 (0-48); Q5 is
#: Q5a (without gastrostomy) or Q5b (with), whichever is given.
ALSFRS_ITEMS = {"ALSFRS": ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8", "Q9", "Q10"),
                "ALSFRS_R": ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8", "Q9", "R_1", "R_2", "R_3")}


def _item_columns(src: Source) -> dict[str, list[str]]:
    """Item (``Q1``..``Q10``, ``Q5`` = ``Q5a``/``Q5b``, ``R_1``..``R_3``) -> its columns in ``src``."""
    out: dict[str, list[str]] = {}
    for h in src.header:
        u = h.upper()
        for item in ("Q1", "Q2", "Q3", "Q4", "Q5A", "Q5B", "Q6", "Q7", "Q8", "Q9", "Q10", "R_1", "R_2", "R_3"):
            if u == item or u.startswith(item + "_"):
                out.setdefault("Q5" if item.startswith("Q5") else item, []).append(h)
    return out


def _total_from_items(b: Builder, src: Source, line: int, cells, items: dict[str, list[str]],
                      measure: str) -> tuple[str, str] | None:
    """The total of ``measure`` as the sum of its items where every item is given once as a whole number 0-4
    (a warning says so), else None."""
    total, first = 0, None
    for item in ALSFRS_ITEMS[measure]:
        given = [(c, src.get(cells, c)) for c in items.get(item, []) if src.get(cells, c)]
        if len(given) != 1:
            return None
        n = number(given[0][1])
        if n is None or n % 1 or not 0 <= n <= 4:
            return None
        total += int(n)
        first = first or given[0][0]
    b.warn(src, line, first, "ALSFRS total computed from the items",
           f"{'ALSFRS_R_Total' if measure == 'ALSFRS_R' else 'ALSFRS_Total'} empty: the sum of the "
           f"{len(ALSFRS_ITEMS[measure])} items, {total}, is taken")
    return str(total), first


def _outcomes(b: Builder, src: Source) -> None:
    key = src.key
    deltas = variables("measurements.csv", "month", PROACT, key)
    rows = [r for r in measure_rows() if any(s.startswith(key + ".") for s in r.specs(PROACT))]
    needs = [["subject_id"], deltas]
    if key == "MUSCLESTRENGTH":
        needs += [["MS_Test_Name"], ["MS_Test_Result"]]
    else:  # at least one value column (ALSFRS_Total or ALSFRS_R_Total; a pct_of_Normal_Trial_n or litres)
        needs += [[s.split(".", 1)[1] for r in rows for s in r.specs(PROACT) if s.split(".", 1)[1] != FVC_NORMAL]]
    if not b.require(src, needs, "column"):
        return
    sid, dvar, visit_var, sim = src.col("subject_id"), src.first(deltas), src.col("Visit"), src.col("Simulated")
    unknown_tests: dict[str, list[int]] = {}
    no_value: list[int] = []
    items = _item_columns(src) if key == "ALSFRS" else {}
    for line, cells in src.rows:
        values: list[tuple[str, str, str]] = []  # (measure, value, column)
        if key == "MUSCLESTRENGTH":
            name = src.get(cells, "MS_Test_Name")
            hit = [r for r in rows if name.upper() in r.codes_of(PROACT) or name.upper() == (r.measure or "")]
            if not hit:
                unknown_tests.setdefault(name, []).append(line)
                continue
            values.append((hit[0].measure, src.get(cells, "MS_Test_Result"), src.col("MS_Test_Result")))
        elif key == "FVC":
            got = _fvc(b, src, line, cells)
            if got is not None:
                values.append(("FVC", got[0], got[1]))
        else:
            for mr in rows:
                cols = [src.col(s.split(".", 1)[1]) for s in mr.specs(PROACT) if src.col(s.split(".", 1)[1])]
                given = [(c, src.get(cells, c)) for c in cols if src.get(cells, c)]
                if given:
                    values.append((mr.measure, given[0][1], given[0][0]))
            if not values and items:  # no total: the sum of the items, where each is given
                for measure in ALSFRS_ITEMS:
                    got = _total_from_items(b, src, line, cells, items, measure)
                    if got is not None:
                        values.append((measure, got[0], got[1]))
        if not values:
            if key == "ALSFRS":
                no_value.append(line)
            continue
        if src.get(cells, dvar) == "":
            b.warn(src, line, dvar, "record skipped (empty delta)",
                   "empty: the day of the record is unknown, record skipped")
            continue
        days = b.whole_days(src, line, dvar, src.get(cells, dvar))
        if days is None:
            continue
        simulated = sim and src.get(cells, sim).upper() in YES
        nominal = bool(visit_var and src.get(cells, visit_var))
        if nominal:
            label = src.get(cells, visit_var)
            visit, vvar = visit_name(label), visit_var
        for measure, value, column in values:
            if measure not in data.MEASURES:
                b.problem(src, line, column, unknown_measure(measure))
                continue
            r = Record(src, line)
            r.set("patient_id", src.get(cells, sid), sid)
            r.set("visit", visit if nominal else "", vvar if nominal else dvar)
            r.set("month", "", dvar)
            r.set("measure", measure, column)
            r.set("value", value, column)
            r.set("source", data.SOURCES_SIMULATED if simulated else f"PRO-ACT {key}", sim if simulated else None)
            if nominal:
                b.outcome(r, visit, label, ("days", days), (src.name, line, vvar), (src.name, line, dvar))
            else:
                b.binned_outcome(r, days, (src.name, line, dvar))
    if no_value:
        b.warn(src, no_value[0], None, "record without a total score skipped",
               f"{len(no_value)} record(s) without ALSFRS_Total or ALSFRS_R_Total, nor all the items of a scale, "
               "skipped (first at this line)")
    for name, lines in unknown_tests.items():
        known = ", ".join(c for r in rows for c in r.codes_of(PROACT))
        b.warn(src, lines[0], src.col("MS_Test_Name"), "unknown muscle test skipped",
               f"unknown MS_Test_Name {name!r}: {len(lines)} record(s) skipped (known: {known}: the weakness "
               "scores 0-5 of the four limbs)")


READER = Reader(PROACT, read_proact, _is_proact, order=20)
