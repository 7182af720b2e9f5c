"""ADaM datasets (CSV or SAS transport): ``adsl``, ``adae``, BDS datasets of outcomes and ADTTE, as our tables."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import pandas as pd

from .. import data
from ..data import columns_of
from .build import Builder, Imported, Reader, Record, unknown_measure
from .mapping import ADAM, measure_codes, variables
from .rules import (
    BASELINE_LABELS,
    FVC_FRACTION_MAX,
    LITRE_UNITS,
    ONSET,
    OUTCOME,
    PERCENT_UNITS,
    SEX,
    SIMULATED_DTYPE,
    YES,
    ady_to_days,
    number,
    visit_days,
    visit_name,
)
from .sources import Source, adam_files, read_csv_source, read_xpt_source

#: The dataset directory's own parameter-code mapping (read only): ``paramcd,measure`` per line.
PARAMCD_MAP_FILE = "paramcd_map.csv"
#: Item-level ALSFRS(-R) parameter codes (ALSFRS01..ALSFRS12, ALSFRSR05A, ALSFRSQ1...): skipped, named.
ITEM_CODE_RE = re.compile(r"^ALSFRS(?:R|_R|-R)?_?(?:Q|ITEM)?\d{1,2}[AB]?$", re.I)
#: Efficacy population flags in order of precedence.
EFFICACY_FLAGS = ("EFFFL", "FASFL", "ITTFL", "PPROTFL")


def _is_adam(directory: Path) -> bool:
    """ADSL or ADAE (.csv or .xpt, any case), or any .xpt file."""
    found = adam_files(directory)
    return "ADSL" in found or "ADAE" in found or any(p.suffix.lower() == ".xpt" for ps in found.values() for p in ps)


def _is_tte(src: Source) -> bool:
    """A time-to-event dataset: PARAMCD, AVAL and CNSR, and no AVISIT/AVISITN."""
    return bool(src.col("PARAMCD") and src.col("AVAL") and src.col("CNSR")
                and not src.col("AVISIT") and not src.col("AVISITN"))


def read_adam(directory) -> Imported:
    """Our tables from a directory of ADaM datasets, with the problems found on the way (unvalidated)."""
    directory = Path(directory)
    b = Builder(directory, ADAM)
    imp = b.imp
    found = adam_files(directory)
    found.pop(PARAMCD_MAP_FILE.split(".")[0].upper(), None)

    def read(p: Path, key: str) -> Source | None:
        if p.suffix.lower() == ".xpt":
            return read_xpt_source(p, key, imp.problems)
        return read_csv_source(p, key, imp.problems, b.col)

    sources = b.read_sources(found, read)
    ext = ".xpt" if any(p.suffix.lower() == ".xpt" for ps in found.values() for p in ps) else ".csv"

    # ADSL -> patients.csv
    adsl = sources.get("ADSL")
    imp.names["patients.csv"] = adsl.name if adsl else f"adsl{ext}"
    if "ADSL" not in found:
        b.file_problem(f"adsl{ext}", f"ADSL (the subject-level dataset) is missing from {directory}: "
                                     "expected adsl.csv or adsl.xpt")
    imp.records["patients.csv"] = None if adsl is None else _patients(b, adsl)

    # ADAE -> adverse_events.csv
    adae = sources.get("ADAE")
    if "ADAE" not in found:
        b.file_problem(f"adae{ext}", f"ADAE (the adverse events dataset) is missing from {directory}: "
                                     "expected adae.csv or adae.xpt (it may hold no records)")
    fatal: set[str] = set()
    imp.records["adverse_events.csv"] = None if adae is None else _events(b, adae, fatal)
    if fatal and imp.records["patients.csv"]:
        aeout = adae.col("AEOUT")
        for r in imp.records["patients.csv"]:
            if r.cells.get("patient_id") in fatal and r.cells.get("died") != "true":
                r.set("died", "true", aeout, adae, None)

    # BDS -> measurements.csv, visits.csv; ADTTE -> time_to_event; anything else is ignored
    others = {k: s for k, s in sorted(sources.items()) if k not in ("ADSL", "ADAE")}
    tte = [s for s in others.values() if _is_tte(s)]
    bds = [s for s in others.values() if s.col("PARAMCD") and s not in tte]
    for s in others.values():
        if not s.col("PARAMCD"):
            b.warn(s, None, None, "dataset ignored", "no PARAMCD variable: not an outcome dataset; ignored")
    known_ids = {r.cells.get("patient_id") for r in imp.records.get("patients.csv") or []}
    if tte:
        imp.time_to_event = pd.concat([_time_to_event(b, s, known_ids) for s in tte], ignore_index=True)
        imp.notes.append(f"time-to-event records kept from {', '.join(s.name for s in tte)} "
                         f"({len(imp.time_to_event)} records; not outcomes)")
    codes = _codes(b, directory)
    for src in bds:
        _outcomes(b, src, codes)
    imp.names["visits.csv"] = "the visits of " + (", ".join(s.name for s in bds) or "the outcome datasets")
    b.build_visits("ADaM ADY")
    if not bds:
        imp.notes.append("no outcome dataset (no BDS dataset with PARAMCD and AVISIT besides ADSL, ADAE and ADTTE): "
                         "this dataset has no measurements")
    elif not imp.records["measurements.csv"]:
        imp.notes.append(f"no measurement could be read from {', '.join(s.name for s in bds)}: "
                         "this dataset has no measurements")
    return b.finish()


def _codes(b: Builder, directory: Path) -> dict[str, str]:
    """PARAMCD (upper case) -> our measure: the built-in codes, then the directory's ``paramcd_map.csv``."""
    codes = measure_codes(ADAM)
    path = directory / PARAMCD_MAP_FILE
    if not path.is_file():
        return codes
    problems: list = []
    read = data.read_rows(path, problems)
    if read is None:
        b.imp.problems.extend(problems)
        return codes
    header, body = read
    head = [h.strip().lower() for h in header]
    if head[:2] != ["paramcd", "measure"]:
        b.imp.problems.append(data.Problem(path.name, 1, None, "the header must be paramcd,measure"))
        return codes
    for line, row in body:
        cells = [c.strip() for c in row] + ["", ""]
        code, measure = cells[0], cells[1]
        if not code and not measure:
            continue
        if measure not in data.MEASURES:
            b.warn(path.name, line, "measure", "paramcd_map.csv line ignored",
                   f"{measure!r} is not a measure of the dashboard ({', '.join(data.MEASURES)}); line ignored")
            continue
        codes[code.upper()] = measure
    b.imp.notes.append(f"parameter codes also from {PARAMCD_MAP_FILE}")
    return codes


def _day_from_dates(value: str, start: str) -> float | None:
    """Days between two dates given as SAS date numbers (days since 1960) or ISO dates; None if unreadable."""
    def as_day(v: str) -> float | None:
        n = number(v) if v else None
        if n is not None:
            return n
        try:
            return float((_dt.date.fromisoformat(v[:10]) - _dt.date(1960, 1, 1)).days)
        except ValueError:
            return None
    a, b = as_day(value), as_day(start)
    return None if a is None or b is None else a - b


def _patients(b: Builder, src: Source) -> list[Record] | None:
    eff_vars = variables("patients.csv", "efficacy_population", ADAM, "ADSL")
    if not b.require(src, [["USUBJID"], ["SAFFL"], eff_vars], "variable"):
        return None
    V = {c.name: src.first(variables("patients.csv", c.name, ADAM, "ADSL")) for c in columns_of("patients.csv")}
    eff_present = [v for v in eff_vars if src.col(v)]
    b.imp.notes.append(f"efficacy population from {src.col(V['efficacy_population'])} (the first of "
                       f"{', '.join(EFFICACY_FLAGS)} that {src.name} has)"
                       + (f"; {', '.join(eff_present[1:])} ignored" if len(eff_present) > 1 else ""))
    if V["arm"]:
        b.imp.notes.append(f"treatment arm from {V['arm']} (the first of TRT01A, TRT01P, ARM that {src.name} has)")
    # the arm's number goes with the arm variable read (TRT01A -> TRT01AN), never with another one
    arm_number = src.col(f"{V['arm']}N") if V["arm"] else None
    studyid = src.col("STUDYID")
    if studyid:
        ids = sorted({src.get(c, studyid) for _l, c in src.rows} - {""})
        b.imp.source_study_id = ", ".join(ids)
        if ids:
            b.imp.notes.append(f"study {b.imp.source_study_id} (STUDYID)")
    dthdy, dthdt, trtsdt = src.col("DTHDY"), src.col("DTHDT"), src.col("TRTSDT")
    out = []
    for line, cells in src.rows:
        r = Record(src, line)

        def get(c, cells=cells):
            return src.get(cells, V[c])

        r.set("patient_id", get("patient_id"), V["patient_id"])
        r.set("age", get("age"), V["age"])
        r.set("sex", b.lookup(src, line, V["sex"], get("sex"), SEX, "M, F, U"), V["sex"])
        r.set("onset", b.lookup(src, line, V["onset"], get("onset"), ONSET,
                                "SPINAL, LIMB, SPINAL+BULBAR, LIMB AND BULBAR"), V["onset"])
        r.set("disease_duration_months", get("disease_duration_months"), V["disease_duration_months"])
        for c in ("safety_population", "efficacy_population", "mri_12m_done"):
            r.set(c, b.yes_no(src, line, V[c], get(c)), V[c])
        r.set("exclusion_reason", get("exclusion_reason"), V["exclusion_reason"])
        r.set("arm", get("arm"), V["arm"])
        if arm_number:
            n = number(src.get(cells, arm_number))
            r.set("arm_order", "" if n is None else f"{n:.10g}", arm_number)
        if V["died"]:
            r.set("died", "true" if get("died").upper() in YES else "false", V["died"])
        day = None
        if dthdy and src.get(cells, dthdy):
            n = number(src.get(cells, dthdy))
            day, dvar = (None if n is None or n == 0 or n % 1 else ady_to_days(n)), dthdy
        elif dthdt and trtsdt and src.get(cells, dthdt) and src.get(cells, trtsdt):
            day, dvar = _day_from_dates(src.get(cells, dthdt), src.get(cells, trtsdt)), dthdt
        if day is not None:
            r.set("death_day", data.format_number(day), dvar)
        elif (dthdy and src.get(cells, dthdy)) or (dthdt and src.get(cells, dthdt)):
            b.warn(src, line, dthdy or dthdt, "death day not usable",
                   f"death day not usable ({src.get(cells, dthdy or dthdt)!r}): left empty")
        out.append(r)
    return out


def _events(b: Builder, src: Source, fatal: set[str]) -> list[Record] | None:
    term_vars = variables("adverse_events.csv", "term", ADAM, "ADAE")
    rel_vars = variables("adverse_events.csv", "related", ADAM, "ADAE")
    if not b.require(src, [["USUBJID"], term_vars], "variable"):
        return None
    rel = src.first(rel_vars)
    aeser = src.col("AESER")
    aesev, aeout, aeenrf, aetoxgr = src.col("AESEV"), src.col("AEOUT"), src.col("AEENRF"), src.col("AETOXGR")
    for var, alts, what in ((aeser, ["AESER"], "seriousness"), (rel, rel_vars, "relationship"),
                            (aesev or aetoxgr, ["AESEV", "AETOXGR"], "severity")):
        if not var and src.rows:
            b.warn(src, src.header_row, alts[0], f"{what} not recorded (no variable)",
                   f"no {' or '.join(alts)} variable: the {what} of every event is not recorded")
    adurn, aduru, astdy, aendy = src.col("ADURN"), src.col("ADURU"), src.col("ASTDY"), src.col("AENDY")
    body_var = src.first(variables("adverse_events.csv", "body_system", ADAM, "ADAE"))
    decod_var = src.first(variables("adverse_events.csv", "preferred_term", ADAM, "ADAE"))
    trtemfl = src.col("TRTEMFL")
    out = []
    for line, cells in src.rows:
        r = Record(src, line)
        pid = src.get(cells, "USUBJID")
        r.set("patient_id", pid, src.col("USUBJID"))
        term, tv = src.first_nonempty(cells, term_vars)
        r.set("term", term, tv)
        r.set("serious", b.serious_flag(src, line, aeser, src.get(cells, aeser)) if aeser else "", aeser)
        r.set("related", b.relatedness(src, line, rel, src.get(cells, rel)) if rel else "", rel)
        outcome = src.get(cells, aeout)
        if aesev or aetoxgr:
            sev, sv = b.severity(src, line, aesev, aeout, src.get(cells, aesev), outcome, aetoxgr,
                                 src.get(cells, aetoxgr))
        else:
            sev, sv = ("Death", aeout) if outcome.upper() == "FATAL" else ("", None)
        r.set("severity", sev, sv)
        action, av = src.first_nonempty(cells, variables("adverse_events.csv", "action", ADAM, "ADAE"))
        r.set("action", action, av)
        if adurn:
            unit = src.get(cells, aduru)
            if unit and unit.upper() not in ("DAYS", "DAY", "D"):
                b.problem(src, line, aduru, f"duration unit {unit!r} is not DAYS")
            r.set("duration_days", src.get(cells, adurn), adurn)
        elif astdy and aendy and src.get(cells, astdy) and src.get(cells, aendy):
            start = b.whole_days(src, line, astdy, src.get(cells, astdy), study_day=True)
            end = b.whole_days(src, line, aendy, src.get(cells, aendy), study_day=True)
            r.set("duration_days", "" if start is None or end is None else data.format_number(end - start + 1), aendy)
        else:
            r.set("duration_days", "", None)
        ongoing_out, fatal_out = OUTCOME.get(outcome.upper(), (False, False))
        if outcome and outcome.upper() not in OUTCOME:
            b.warn(src, line, aeout, "outcome not in the table",
                   f"unknown outcome {outcome!r}: read as neither ongoing nor fatal")
        if fatal_out or sev == "Death":
            fatal.add(pid)
        ongoing = ongoing_out or src.get(cells, aeenrf).upper() == "ONGOING"
        r.set("ongoing", "true" if ongoing else "false", aeout or aeenrf)
        r.set("preferred_term", src.get(cells, decod_var), decod_var)
        r.set("body_system", src.get(cells, body_var), body_var)
        start_text = src.get(cells, astdy)
        n = number(start_text) if start_text else None
        if start_text and (n is None or n % 1 or n == 0):
            b.warn(src, line, astdy, "start day not usable", f"start day {start_text!r} is not a study day: left empty")
            n = None
        r.set("start_day", "" if n is None else data.format_number(ady_to_days(n)), astdy)
        if trtemfl:
            r.set("treatment_emergent", "true" if src.get(cells, trtemfl).upper() in YES else "false", trtemfl)
        out.append(r)
    if trtemfl:
        left = sum(1 for r in out if r.cells.get("treatment_emergent") == "false")
        b.imp.notes.append(f"treatment-emergent events only (TRTEMFL = Y): {left} of {len(out)} events of "
                           f"{src.name} left out")
    return out


def _time_to_event(b: Builder, src: Source, known: set[str]) -> pd.DataFrame:
    """An ADTTE dataset's records as :attr:`dashboard.data.Dataset.time_to_event` rows (bad records skipped)."""
    usubjid, paramcd, param = src.col("USUBJID"), src.col("PARAMCD"), src.col("PARAM")
    aval, cnsr, avalu = src.col("AVAL"), src.col("CNSR"), src.col("AVALU")
    rows = []
    for line, cells in src.rows:
        pid, days, cens = src.get(cells, usubjid), number(src.get(cells, aval)), number(src.get(cells, cnsr))
        unit = src.get(cells, avalu).upper()
        if pid not in known:
            b.warn(src, line, usubjid, "time-to-event record skipped", f"subject {pid!r} is not in ADSL: skipped")
        elif days is None or cens not in (0.0, 1.0) or (unit and unit not in ("DAYS", "DAY", "D")):
            b.warn(src, line, aval, "time-to-event record skipped",
                   f"AVAL {src.get(cells, aval)!r} ({unit or 'days'}), CNSR {src.get(cells, cnsr)!r}: not days and "
                   "a censoring flag 0/1: skipped")
        else:
            rows.append((pid, src.get(cells, paramcd), src.get(cells, param), days, cens == 1.0))
    frame = pd.DataFrame(rows, columns=["patient_id", "paramcd", "label", "days", "censored"])
    return frame.astype({"patient_id": "string", "paramcd": "string", "label": "string", "days": "float64",
                         "censored": "boolean"})


def _outcomes(b: Builder, src: Source, codes: dict[str, str]) -> None:
    """Read one BDS dataset's records into measurements (visits are built afterwards)."""
    needs = [["USUBJID"], ["PARAMCD"], ["AVAL"], ["AVISIT", "AVISITN"]]
    if not b.require(src, needs, "variable"):
        return
    usubjid, paramcd, aval = src.col("USUBJID"), src.col("PARAMCD"), src.col("AVAL")
    avisit, avisitn, ady = src.col("AVISIT"), src.col("AVISITN"), src.col("ADY")
    anl, avalu, simfl, dtype = src.col("ANL01FL"), src.col("AVALU"), src.col("SIMFL"), src.col("DTYPE")
    unknown: dict[str, list[int]] = {}  # every record of an unknown code counts, whatever its ANL01FL
    rows = []
    for line, cells in src.rows:
        code = src.get(cells, paramcd)
        if code.upper() not in codes:
            unknown.setdefault(code, []).append(line)
        elif not anl or src.get(cells, anl).upper() == "Y":
            rows.append((line, cells))
    # FVC as a fraction of predicted (every value of the dataset at most 1.5) is refused, never read as a percent
    fvc = [number(src.get(c, aval)) for _l, c in rows if codes.get(src.get(c, paramcd).upper()) == "FVC"]
    fvc = [v for v in fvc if v is not None]
    fraction = bool(fvc) and max(fvc) <= FVC_FRACTION_MAX
    skipped: dict[tuple[str, str], list[int]] = {}  # (kind, message) -> lines
    first_var: dict[tuple[str, str], str | None] = {}

    def skip(kind, message, line, var):
        skipped.setdefault((kind, message), []).append(line)
        first_var.setdefault((kind, message), var)

    for line, cells in rows:
        code = src.get(cells, paramcd)
        measure = codes[code.upper()]
        if measure not in data.MEASURES:
            b.problem(src, line, paramcd, f"PARAMCD {code!r}: {unknown_measure(measure)}")
            continue
        unit = src.get(cells, avalu)
        if measure == "FVC":
            if unit and unit.upper() in LITRE_UNITS:
                skip("FVC in litres skipped", f"FVC in litres (AVALU {unit!r}): % of predicted needs each patient's "
                     "predicted volume, which ADaM does not give; records skipped", line, avalu)
                continue
            if unit and unit.upper() not in PERCENT_UNITS:
                skip("FVC unit not % of predicted", f"FVC in {unit!r}, not % of predicted: records skipped", line,
                     avalu)
                continue
            if fraction:
                skip("FVC as a fraction skipped", f"every FVC value is at most {FVC_FRACTION_MAX:g}: a fraction of "
                     "predicted, not a percent; records skipped", line, aval)
                continue
        # the visit
        label = src.get(cells, avisit) if avisit else ""
        if avisit:
            visit, vvar = visit_name(label), avisit
        else:
            label = f"AVISITN {src.get(cells, avisitn)}"
            visit, vvar = src.get(cells, avisitn), avisitn
        if visit == "":
            b.problem(src, line, vvar, "value is required but the cell is empty")
            continue
        if ady and src.get(cells, ady):
            days = b.whole_days(src, line, ady, src.get(cells, ady), study_day=True)
            if days is None:
                continue
            tvar = ady
        else:
            days = visit_days(label) if avisit else None
            if days is None and label.strip().upper() in BASELINE_LABELS and number(src.get(cells, avisitn)) == 0:
                days = 0.0
            if days is None:
                why = ("no ADY" if not ady else "ADY empty") + (
                    f" and AVISIT {label!r} states no unit (Week n, Month n, Day n)" if avisit
                    else " and no AVISIT: AVISITN alone has no unit")
                skip("visit time unknown: records skipped", f"{why}: records skipped (never read as months)", line,
                     vvar)
                continue
            tvar = vvar
        flagged = simfl and src.get(cells, simfl).upper() in YES
        dt = src.get(cells, dtype)
        if flagged or dt.upper() == SIMULATED_DTYPE:
            source, svar = data.SOURCES_SIMULATED, (simfl if flagged else dtype)
        else:
            source, svar = f"ADaM {src.key}" + (f" DTYPE {dt}" if dt else ""), (dtype if dt else None)
        r = Record(src, line)
        r.set("patient_id", src.get(cells, usubjid), usubjid)
        r.set("visit", visit, vvar)
        r.set("month", "", tvar)
        r.set("measure", measure, paramcd)
        r.set("value", src.get(cells, aval), aval)
        r.set("source", source, svar)
        b.outcome(r, visit, label, ("days", days), (src.name, line, vvar), (src.name, line, tvar))
    for (kind, message), lines in skipped.items():
        b.warn(src, lines[0], first_var[(kind, message)], kind,
               f"{message} ({len(lines)} record{'s' if len(lines) != 1 else ''}, first at this row)")
    items = sorted(c for c in unknown if ITEM_CODE_RE.match(c))
    if items:
        n = sum(len(unknown[c]) for c in items)
        b.warn(src, unknown[items[0]][0], paramcd, "ALSFRS item records skipped",
               f"item-level ALSFRS parameters {', '.join(items)} ({n} records) skipped: only the total scores are "
               "measures of the dashboard")
    for code in sorted(set(unknown) - set(items)):
        lines = unknown[code]
        b.warn(src, lines[0], paramcd, "unknown PARAMCD skipped",
               f"unknown PARAMCD {code!r}: {len(lines)} records skipped (not a measure of the dashboard; map it in "
               f"{PARAMCD_MAP_FILE} if it is one)")
        b.imp.unknown_codes.append((code, len(lines)))


READER = Reader(ADAM, read_adam, _is_adam, order=10)
