"""ADaM datasets (CSV or SAS transport): ``adsl``, ``adae`` and BDS datasets of outcomes, as our four tables."""

from __future__ import annotations

from pathlib import Path

from .. import data
from ..data import SCHEMA
from .build import Builder, Imported, Reader, Record, unknown_measure
from .mapping import ADAM, measure_codes, variables
from .rules import ONGOING_OUTCOMES, ONSET, PERCENT_UNITS, SEX, SIMULATED_DTYPE, YES, number, visit_name
from .sources import Source, adam_files, read_csv_source, read_xpt_source


def _is_adam(directory: Path) -> bool:
    """ADSL or ADAE (.csv or .xpt, any case), or any .xpt file."""
    found = adam_files(directory)
    return "ADSL" in found or "ADAE" in found or any(p.suffix.lower() == ".xpt" for ps in found.values() for p in ps)


def read_adam(directory) -> Imported:
    """Our four tables from a directory of ADaM datasets, with the problems found on the way (unvalidated)."""
    directory = Path(directory)
    b = Builder(directory, ADAM)
    imp = b.imp
    found = adam_files(directory)

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
    imp.records["adverse_events.csv"] = None if adae is None else _events(b, adae)

    # BDS -> measurements.csv, visits.csv
    others = [k for k in found if k not in ("ADSL", "ADAE")]
    bds = [s for k, s in sorted(sources.items()) if k not in ("ADSL", "ADAE") and s.col("PARAMCD")]
    if not bds:
        if all(k in sources for k in others):  # (an unreadable one is reported already)
            ignored = "".join(f"; {sources[k].name} has no PARAMCD variable" for k in others)
            b.file_problem(str(directory), "no outcome dataset: expected a BDS dataset (PARAMCD, AVAL, AVISIT, ADY) "
                                           f"besides ADSL and ADAE, e.g. adeff.csv or adqs.xpt{ignored}")
        imp.records["measurements.csv"] = imp.records["visits.csv"] = None
        return b.finish()
    for src in bds:
        _outcomes(b, src)
    imp.names["visits.csv"] = "the visits of " + ", ".join(s.name for s in bds)
    b.build_visits("ADaM ADY")
    return b.finish()


def _patients(b: Builder, src: Source) -> list[Record] | None:
    eff_vars = variables("patients.csv", "efficacy_population", ADAM, "ADSL")
    if not b.require(src, [["USUBJID"], ["SAFFL"], eff_vars], "variable"):
        return None
    V = {c.name: src.first(variables("patients.csv", c.name, ADAM, "ADSL")) for c in SCHEMA["patients.csv"]}
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
        out.append(r)
    return out


def _events(b: Builder, src: Source) -> list[Record] | None:
    term_vars = variables("adverse_events.csv", "term", ADAM, "ADAE")
    rel_vars = variables("adverse_events.csv", "related", ADAM, "ADAE")
    if not b.require(src, [["USUBJID"], term_vars, ["AESER"], rel_vars, ["AESEV"]], "variable"):
        return None
    rel = src.first(rel_vars)
    aesev, aeout, aeenrf = src.col("AESEV"), src.col("AEOUT"), src.col("AEENRF")
    adurn, aduru, astdy, aendy = src.col("ADURN"), src.col("ADURU"), src.col("ASTDY"), src.col("AENDY")
    out = []
    for line, cells in src.rows:
        r = Record(src, line)
        r.set("patient_id", src.get(cells, "USUBJID"), src.col("USUBJID"))
        term, tv = src.first_nonempty(cells, term_vars)
        r.set("term", term, tv)
        r.set("serious", b.yes_no(src, line, src.col("AESER"), src.get(cells, "AESER")), src.col("AESER"))
        r.set("related", b.relatedness(src, line, rel, src.get(cells, rel)), rel)
        outcome = src.get(cells, aeout)
        sev, sv = b.severity(src, line, aesev, aeout, src.get(cells, aesev), outcome)
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
        ongoing = outcome.upper() in ONGOING_OUTCOMES or src.get(cells, aeenrf).upper() == "ONGOING"
        r.set("ongoing", "true" if ongoing else "false", aeout or aeenrf)
        out.append(r)
    return out


def _outcomes(b: Builder, src: Source) -> None:
    """Read one BDS dataset's records into measurements (visits are built afterwards)."""
    needs = [["USUBJID"], ["PARAMCD"], ["AVAL"], ["AVISIT", "AVISITN"], ["ADY", "AVISITN"]]
    if not b.require(src, needs, "variable"):
        return
    codes = measure_codes(ADAM)
    usubjid, paramcd, aval = src.col("USUBJID"), src.col("PARAMCD"), src.col("AVAL")
    avisit, avisitn, ady = src.col("AVISIT"), src.col("AVISITN"), src.col("ADY")
    anl, avalu, simfl, dtype = src.col("ANL01FL"), src.col("AVALU"), src.col("SIMFL"), src.col("DTYPE")
    for line, cells in src.rows:
        if anl and src.get(cells, anl).upper() != "Y":
            continue
        code = src.get(cells, paramcd)
        measure = codes.get(code.upper())
        if measure is None:
            b.problem(src, line, paramcd, f"unknown PARAMCD {code!r} (known: {', '.join(codes)})")
            continue
        if measure not in data.MEASURES:
            b.problem(src, line, paramcd, f"PARAMCD {code!r}: {unknown_measure(measure)}")
            continue
        unit = src.get(cells, avalu)
        if measure == "FVC" and avalu and unit and unit.upper() not in PERCENT_UNITS:
            b.problem(src, line, avalu, f"FVC must be % of predicted, not {unit!r}")
            continue
        # the visit
        if avisit:
            label = src.get(cells, avisit)
            visit, vvar = visit_name(label), avisit
        else:
            label = f"AVISITN {src.get(cells, avisitn)}"
            visit, vvar = src.get(cells, avisitn), avisitn
        if visit == "":
            b.problem(src, line, vvar, "value is required but the cell is empty")
            continue
        if ady:
            days = b.whole_days(src, line, ady, src.get(cells, ady), study_day=True)
            if days is None:
                continue
            when, tvar = ("days", days), ady
        else:
            n = number(src.get(cells, avisitn))
            if n is None:
                b.problem(src, line, avisitn, f"not a number: {src.get(cells, avisitn)!r}")
                continue
            when, tvar = ("months", n), avisitn
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
        b.outcome(r, visit, label, when, (src.name, line, vvar), (src.name, line, tvar))


READER = Reader(ADAM, read_adam, _is_adam, order=10)
