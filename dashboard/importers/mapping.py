"""The one table of how ADaM and PRO-ACT-style variables become our columns.

:data:`MAPPING` is read by the importers (which variables to look for) and
the exports (which variables and codes to write), and rendered into
``data/README.md`` by :func:`mapping_markdown` (a test keeps the two equal).

The schema is open to more formats: :data:`FORMATS` registers each import
format (its column heading and the variable whose values name a measure),
and a :class:`MapRow` holds one entry per format in ``sources`` and
``codes``.  A third format is one more :class:`FormatInfo` and one more key in
the rows it fills; the other formats' entries stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .. import data

NATIVE, ADAM, PROACT = "native", "adam", "proact"


@dataclass(frozen=True)
class FormatInfo:
    """One import format, as the mapping table shows it."""

    name: str
    #: The heading of the format's column in the Markdown table.
    title: str
    #: The variable whose values pick a measure's records (``codes`` of a :class:`MapRow`), if any.
    code_variable: str
    #: What a directory in this format holds, in words ("ADaM datasets").
    label: str = ""


#: The import formats, in the order of the table's columns (and of :func:`~dashboard.importers.detect_format`).
FORMATS: dict[str, FormatInfo] = {
    f.name: f
    for f in (
        FormatInfo(ADAM, "ADaM", "PARAMCD", "ADaM datasets"),
        FormatInfo(PROACT, "PRO-ACT-style", "MS_Test_Name", "PRO-ACT-style files"),
    )
}
IMPORT_FORMATS = tuple(FORMATS)


def _frozen(entries: Mapping[str, tuple[str, ...]] | None) -> Mapping[str, tuple[str, ...]]:
    unknown = set(entries or {}) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown import format(s) {sorted(unknown)} (registered: {', '.join(FORMATS)})")
    return MappingProxyType({k: tuple(v) for k, v in (entries or {}).items()})


@dataclass(frozen=True, eq=False)
class MapRow:
    """How one of our columns is filled from each import format.

    ``sources[fmt]`` lists ``DATASET.VARIABLE`` (ADaM: ``BDS`` = any outcome
    dataset); several variables of one dataset are alternatives, the first
    the dataset has winning (unless ``rule`` says otherwise).  A format
    without an entry fills the column from nothing (the rule says how).
    Rows with a ``measure`` give that measure's values: ``codes[fmt]`` are
    the values of the format's :attr:`FormatInfo.code_variable` that pick
    its records (ADaM ``PARAMCD``, PRO-ACT ``MS_Test_Name``).
    """

    file: str
    column: str
    rule: str
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    measure: str | None = None
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "sources", _frozen(self.sources))
        object.__setattr__(self, "codes", _frozen(self.codes))

    def specs(self, fmt: str) -> tuple[str, ...]:
        """The ``DATASET.VARIABLE`` entries of one format (empty if it has none)."""
        return self.sources.get(fmt, ())

    def codes_of(self, fmt: str) -> tuple[str, ...]:
        return self.codes.get(fmt, ())


def _row(file: str, column: str, adam: tuple[str, ...], proact: tuple[str, ...], rule: str, **kw) -> MapRow:
    """A row with the two formats' variables in table order (a shorthand for the table below)."""
    return MapRow(file, column, rule, sources={ADAM: adam, PROACT: proact}, **kw)


_PROACT_OUTCOMES = ("ALSFRS", "FVC", "MUSCLESTRENGTH")
_PROACT_DELTAS = ("ALSFRS.ALSFRS_Delta", "FVC.Forced_Vital_Capacity_Delta", "MUSCLESTRENGTH.Muscle_Strength_Delta",
                  "MUSCLESTRENGTH.MS_Delta")
_PROACT_VISITS = tuple(f"{f}.Visit" for f in _PROACT_OUTCOMES)

MAPPING: tuple[MapRow, ...] = (
    # patients.csv
    _row("patients.csv", "patient_id", ("ADSL.USUBJID",), ("DEMOGRAPHICS.subject_id",),
         "as is; one record per subject"),
    _row("patients.csv", "age", ("ADSL.AGE",), ("DEMOGRAPHICS.Age", "DEMOGRAPHICS.Date_of_Birth"),
         "years; PRO-ACT ages with decimals are cut to completed years; without `Age`, from `Date_of_Birth` "
         "(days since day 0, negative): floor(−`Date_of_Birth` / 365.25); a positive or non-numeric "
         "`Date_of_Birth` leaves the age empty (a warning)"),
    _row("patients.csv", "sex", ("ADSL.SEX",), ("DEMOGRAPHICS.Sex",),
         "`M`/`Male` → `M`, `F`/`Female` → `F` (any case); `U` or empty → empty; anything else → empty "
         "(a warning)"),
    _row("patients.csv", "onset", ("ADSL.ONSET",),
         ("ALSHISTORY.Site_of_Onset", "ALSHISTORY.Site_of_Onset___Bulbar", "ALSHISTORY.Site_of_Onset___Limb",
          "ALSHISTORY.Site_of_Onset___Limb_and_Bulbar", "ALSHISTORY.Site_of_Onset___Spine",
          "ALSHISTORY.Site_of_Onset___Other"),
         "`Spinal`, `Limb`, `Spine` → `spinal`; `Bulbar` → `bulbar`; `Spinal+bulbar`, `Spinal and bulbar`, "
         "`Limb and bulbar` → `spinal+bulbar` (any case, a leading `Onset:` dropped); PRO-ACT `Onset: Other` → "
         "not recorded (a warning); anything else → empty (a warning). PRO-ACT: the text `Site_of_Onset`, else the "
         "one-hot columns (1 = set; `Bulbar` with `Limb` or `Spine` → `spinal+bulbar`); the first value of a "
         "subject's rows wins, a different later one is a warning. `ONSET` is sponsor-defined"),
    _row("patients.csv", "disease_duration_months", ("ADSL.DURDIS",), ("ALSHISTORY.Onset_Delta",),
         "ADaM: months as is (`DURDIS` is sponsor-defined); PRO-ACT: −`Onset_Delta` days (onset before "
         "day 0) → months by the day rule"),
    _row("patients.csv", "safety_population", ("ADSL.SAFFL",), ("DEMOGRAPHICS.Safety_Population",),
         "`Y`/`N` (or `Yes`/`No`, any case) → true/false; PRO-ACT: optional column, without it every subject is in"),
    _row("patients.csv", "efficacy_population", ("ADSL.EFFFL", "ADSL.FASFL", "ADSL.ITTFL", "ADSL.PPROTFL"),
         ("DEMOGRAPHICS.Efficacy_Population",),
         "`Y`/`N` (or `Yes`/`No`) → true/false from the first of `EFFFL`, `FASFL`, `ITTFL`, `PPROTFL` that ADSL "
         "has (the others are ignored; the import report says which); PRO-ACT: optional column, without it "
         "every subject is in"),
    _row("patients.csv", "mri_12m_done", ("ADSL.MRI12FL",), ("DEMOGRAPHICS.MRI_12m_Done",),
         "`Y`/`N` (or `Yes`/`No`) → true/false, empty → empty (sponsor-defined in ADaM)"),
    _row("patients.csv", "exclusion_reason", ("ADSL.EFFREAS",), ("DEMOGRAPHICS.Exclusion_Reason",),
         "text as is (sponsor-defined)"),
    _row("patients.csv", "arm", ("ADSL.TRT01A", "ADSL.TRT01P", "ADSL.ARM"), ("TREATMENT.Study_Arm",),
         "optional column: the treatment arm as written, from the first of `TRT01A` (actual), `TRT01P` "
         "(planned), `ARM` that ADSL has (the import report says which); PRO-ACT: `Study_Arm` as written"),
    _row("patients.csv", "arm_order", ("ADSL.TRT01AN", "ADSL.TRT01PN", "ADSL.ARMN"), (),
         "optional column: the number of the arm read (`TRT01AN` with `TRT01A`, `TRT01PN` with `TRT01P`, `ARMN` "
         "with `ARM`): arms are listed in its order, a control arm (placebo, sham, ...) first"),
    _row("patients.csv", "died", ("ADSL.DTHFL", "ADAE.AEOUT"), ("DEATHDATA.Subject_Died", "ADVERSEEVENTS.Outcome"),
         "optional column: true where `DTHFL` = `Y` or an adverse event's outcome is `FATAL`; false where ADSL "
         "has `DTHFL` and it is empty or `N`; else empty. PRO-ACT: true where `Subject_Died` = `Yes` or an "
         "adverse event's `Outcome` is `Death`/`Fatal`; false where `Subject_Died` = `No` (and no fatal event); "
         "else empty"),
    _row("patients.csv", "death_day", ("ADSL.DTHDY", "ADSL.DTHDT", "ADSL.TRTSDT"), ("DEATHDATA.Death_Days",),
         "optional column: days since day 0 from `DTHDY` (a study day, no day 0), else `DTHDT` − `TRTSDT` "
         "(dates); PRO-ACT: `Death_Days` (days since day 0); else empty"),
    # measurements.csv
    _row("measurements.csv", "patient_id", ("BDS.USUBJID",), tuple(f"{f}.subject_id" for f in _PROACT_OUTCOMES),
         "as is"),
    _row("measurements.csv", "visit", ("BDS.AVISIT", "BDS.AVISITN"), _PROACT_VISITS,
         "`AVISIT`, every run of characters other than letters, digits, `.`, `_`, `-` replaced by `_` "
         "(`Month 3` → `Month_3`); without `AVISIT`, `AVISITN` as a number. PRO-ACT: the optional `Visit` "
         "column (same rule); without it (PRO-ACT has no nominal visits) the value's day is binned: the visit "
         "`M<m>` of the nearest whole month m within 14 days (`M3` holds days 78-105), one value per patient, "
         "measure and month (the nearest to the scheduled day); any other value is at an unscheduled visit "
         "`D<day>` of its own day (a warning)"),
    _row("measurements.csv", "month", ("BDS.ADY", "BDS.AVISITN"), _PROACT_DELTAS,
         "the month of the record's visit (below), not of its own day (PRO-ACT without `Visit`: its own day, "
         "the visit being binned). `ADY` counts study days with no day 0 "
         "(`ADY` 1 = day 0 = application; `ADY` ≥ 1 is `ADY` − 1 days, `ADY` ≤ −1 is `ADY` days); without "
         "`ADY` (or with it empty), only an `AVISIT` that states its unit is read: `Week n` = 7n days, "
         "`Month n` = n months, `Day n` = study day n, `Baseline` with `AVISITN` 0 = day 0; any other record "
         "is skipped with a warning (`AVISITN` alone is never read: its unit is unknown). PRO-ACT deltas are "
         "whole days since day 0"),
    _row("measurements.csv", "measure", ("BDS.PARAMCD",),
         ("ALSFRS.ALSFRS_Total", "ALSFRS.ALSFRS_R_Total", "FVC.pct_of_Normal_Trial_1", "MUSCLESTRENGTH.MS_Test_Name"),
         "from the `PARAMCD` values (any case) and PRO-ACT columns in the measure rows below, and the dataset "
         "directory's `paramcd_map.csv`; the records of any other `PARAMCD` are skipped with one warning per "
         "code (item-level ALSFRS codes such as `ALSFRS01`..`ALSFRS12` too); any other `MS_Test_Name` is "
         "skipped with one warning per name. Where ADaM has `ANL01FL`, only records with `ANL01FL` = `Y` are read"),
    _row("measurements.csv", "value", ("BDS.AVAL",), ("ALSFRS.ALSFRS_Total",),
         "points, original ALSFRS (0-40)", measure="ALSFRS", codes={ADAM: ("ALSFRS",)}),
    _row("measurements.csv", "value", ("BDS.AVAL",), ("ALSFRS.ALSFRS_R_Total",),
         "points, revised ALSFRS-R (0-48); a PRO-ACT record with both totals gives both measures",
         measure="ALSFRS_R", codes={ADAM: ("ALSFRSR", "ALSFRSRT", "ALSFRSR_T", "ALSFRSRTOT", "ALSFRST",
                                          "ALSFRSTR", "ALSFRS_R", "ALSFRS-R")}),
    _row("measurements.csv", "value", ("BDS.AVAL",),
         ("FVC.pct_of_Normal_Trial_1", "FVC.pct_of_Normal_Trial_2", "FVC.pct_of_Normal_Trial_3",
          "FVC.Subject_Liters_Trial_1", "FVC.Subject_Liters_Trial_2", "FVC.Subject_Liters_Trial_3",
          "FVC.Subject_Normal"),
         "% of predicted (`AVALU`, where given, must be `%`: a record in litres or another unit is skipped with "
         "a warning; values of one dataset all ≤ 1.5 are a fraction, not a percent, and are skipped with a "
         "warning); PRO-ACT: the best (highest) of the trials given in % of normal; where a record gives only "
         "litres, the best litres / `Subject_Normal` (litres) × 100, rounded to 2 decimals (a warning says so); "
         "litres without `Subject_Normal`, or with `Forced_Vital_Capacity_Units` other than litres, are skipped "
         "(a warning), never read as %",
         measure="FVC", codes={ADAM: ("FVCPP", "FVC", "FVCPCT", "FVCPRED", "FVCPPRED", "FVCPCTPR", "PFVC")}),
    *(
        _row("measurements.csv", "value", ("BDS.AVAL",), ("MUSCLESTRENGTH.MS_Test_Result",),
             "weakness score 0-5", measure=f"WS_{limb}", codes={ADAM: (f"WS_{limb}",), PROACT: (limb,)})
        for limb in ("UEL", "UER", "LEL", "LER")
    ),
    _row("measurements.csv", "source", ("BDS.SIMFL", "BDS.DTYPE"), tuple(f"{f}.Simulated" for f in _PROACT_OUTCOMES),
         "`simulated` where `SIMFL` = `Y` or `DTYPE` = `SIMULATED` (PRO-ACT: `Simulated` = `Y` or `Yes`); "
         "otherwise `ADaM <DATASET>` (with ` DTYPE <value>` for other derived records) or `PRO-ACT <FILE>`"),
    # adverse_events.csv
    _row("adverse_events.csv", "patient_id", ("ADAE.USUBJID",), ("ADVERSEEVENTS.subject_id",), "as is"),
    _row("adverse_events.csv", "term", ("ADAE.AETERM", "ADAE.AEDECOD"),
         ("ADVERSEEVENTS.Lowest_Level_Term", "ADVERSEEVENTS.Preferred_Term"),
         "the verbatim (reported) term: the first of them that is not empty in the record (the coded preferred "
         "term where the verbatim one is missing)"),
    _row("adverse_events.csv", "serious", ("ADAE.AESER",), ("ADVERSEEVENTS.Serious",),
         "`Y`/`N` (or `Yes`/`No`) → true/false; empty or anything else → not recorded (an empty cell) and a "
         "warning. PRO-ACT does not record it: without the column every event's is not recorded (one warning)"),
    _row("adverse_events.csv", "related", ("ADAE.AREL", "ADAE.AEREL"), ("ADVERSEEVENTS.Related",),
         "by the relationship table below (ICH E2A: a reasonable possibility of a causal relationship is "
         "related: `POSSIBLE`, `PROBABLE`, `DEFINITE`, `RELATED`...; `NONE`, `REMOTE`, `UNLIKELY`, `DOUBTFUL`, "
         "`NOT RELATED`... are not); any case; empty or not in the table → not recorded and a warning. "
         "`AREL` wins over `AEREL`. PRO-ACT does not record it: without the column every event's is not "
         "recorded (one warning)"),
    _row("adverse_events.csv", "severity", ("ADAE.AESEV", "ADAE.AETOXGR", "ADAE.AEOUT"),
         ("ADVERSEEVENTS.Severity", "ADVERSEEVENTS.Outcome"),
         "by the severity table below (`MILD`/`MODERATE`/`SEVERE`, `LIFE THREATENING` → `Severe`, `FATAL` → "
         "`Death`; any case), else the CTCAE grade `AETOXGR` 1-5; outcome `FATAL` → `Death`, whatever the "
         "severity; empty or not in the tables → not recorded and a warning. PRO-ACT `Outcome` `Death`, "
         "`Died` or `Fatal` → `Death`"),
    _row("adverse_events.csv", "action", ("ADAE.AEACN", "ADAE.AEACNOTH"), ("ADVERSEEVENTS.Action_Taken",),
         "text as is, the first that is not empty"),
    _row("adverse_events.csv", "duration_days", ("ADAE.ADURN", "ADAE.ASTDY", "ADAE.AENDY"),
         ("ADVERSEEVENTS.Duration_Days", "ADVERSEEVENTS.Start_Date_Delta", "ADVERSEEVENTS.End_Date_Delta"),
         "`ADURN` in days (`ADURU`, where given, must be `DAYS`); without it end − start + 1 from "
         "`ASTDY`/`AENDY` (study days, no day 0) or `Start_Date_Delta`/`End_Date_Delta` (days since day 0)"),
    _row("adverse_events.csv", "ongoing", ("ADAE.AEOUT", "ADAE.AEENRF"), ("ADVERSEEVENTS.Outcome",),
         "true where the outcome is `NOT RECOVERED/NOT RESOLVED` (PRO-ACT also `Ongoing`) or `AEENRF` = "
         "`ONGOING`, else false (the outcome table below; PRO-ACT's in data/README.md)"),
    _row("adverse_events.csv", "preferred_term", ("ADAE.AEDECOD",), ("ADVERSEEVENTS.Preferred_Term",),
         "optional column: the MedDRA preferred term as written (empty where the record has none: the safety "
         "hierarchy then uses `term`); `term` is the verbatim (or most specific) term"),
    _row("adverse_events.csv", "body_system", ("ADAE.AEBODSYS", "ADAE.AESOC"), ("ADVERSEEVENTS.System_Organ_Class",),
         "optional column: the MedDRA body system (system organ class) as written, from the first of "
         "`AEBODSYS`, `AESOC` that ADAE has"),
    _row("adverse_events.csv", "start_day", ("ADAE.ASTDY",), ("ADVERSEEVENTS.Start_Date_Delta",),
         "optional column: days since day 0 from the study day `ASTDY` (no day 0), PRO-ACT `Start_Date_Delta` "
         "(days since day 0); empty where not a whole number (with a warning)"),
    _row("adverse_events.csv", "treatment_emergent", ("ADAE.TRTEMFL",), (),
         "optional column: `Y` → true; `N` or empty → false where ADAE has `TRTEMFL` (an ADaM flag is `Y` or "
         "empty); without `TRTEMFL`, empty. Events that are not treatment-emergent are left out of every "
         "view, table and statistic; the safety view and the import report say how many"),
    # visits.csv
    _row("visits.csv", "visit", ("BDS.AVISIT", "BDS.AVISITN"), _PROACT_VISITS,
         "one visit per distinct visit name of the outcome records (see measurements.csv `visit`; PRO-ACT "
         "without `Visit`: `M<m>` per binned month, `D<day>` per unscheduled day)"),
    _row("visits.csv", "month", ("BDS.ADY", "BDS.AVISITN"), _PROACT_DELTAS,
         "the median day of the visit's records → months by the day rule (without `ADY`: the days of the "
         "unit `AVISIT` states, see measurements.csv `month`); a binned visit `M<m>`: m; an unscheduled visit: "
         "its day"),
    _row("visits.csv", "label", ("BDS.AVISIT",), _PROACT_VISITS,
         "the visit as written (else `AVISITN <n>`, or `Day <n>`; binned `Month <m>`, unscheduled `Day <d> "
         "(unscheduled)`)"),
    _row("visits.csv", "month_stated", (), (), "true; false for binned and unscheduled visits (our schedule, "
                                               "not the source's)"),
    _row("visits.csv", "note", (), (),
         "`from ADaM ADY` / `from ADaM AVISITN` / `from PRO-ACT deltas`, with the range of days where the "
         "visit's records differ; `binned: ...` / `unscheduled: ...`"),
    _row("visits.csv", "window_days", (), (),
         "optional column: a binned visit's window, 14 (its values keep their own month, within 14 days of the "
         "visit's); empty for every other visit"),
    _row("visits.csv", "scheduled", (), (),
         "optional column: false for an unscheduled visit (a value outside every window: in patient lines and "
         "slopes, in no visit summary); true for a binned visit; empty (= true) otherwise"),
)


# ---------------------------------------------------------------- looking things up


def variables(file: str, column: str, fmt: str, dataset: str) -> list[str]:
    """The variables of ``dataset`` (``BDS`` for any ADaM outcome dataset) that fill our column, in order."""
    out: list[str] = []
    for row in MAPPING:
        if row.file == file and row.column == column and row.measure is None:
            out += [s.split(".", 1)[1] for s in row.specs(fmt) if s.split(".", 1)[0] == dataset]
    return out


def measure_rows() -> list[MapRow]:
    """The rows giving one measure's values, in table order."""
    return [r for r in MAPPING if r.measure]


def measure_row(measure: str) -> MapRow | None:
    """The row of one measure, or None for a measure the table does not have (yet)."""
    return next((r for r in MAPPING if r.measure == measure), None)


def unmapped_measures() -> list[str]:
    """The dashboard's measures (:data:`dashboard.data.MEASURES`) that have no row in :data:`MAPPING`."""
    mapped = {r.measure for r in measure_rows()}
    return [m for m in data.MEASURES if m not in mapped]


def measure_codes(fmt: str) -> dict[str, str]:
    """The values of the format's code variable (upper case) → our measure.

    A measure of :data:`dashboard.data.MEASURES` without a row is picked by
    its own code (the fallback that :func:`export_code` writes), so an export
    of it reads back.
    """
    codes = {c.upper(): r.measure for r in measure_rows() for c in r.codes_of(fmt)}
    for m in unmapped_measures():
        codes.setdefault(m.upper(), m)
    return codes


def export_code(measure: str, fmt: str) -> str:
    """The code that an export writes for ``measure``: the first of its row's codes, else its own code."""
    row = measure_row(measure)
    codes = row.codes_of(fmt) if row is not None else ()
    return codes[0] if codes else measure


# ---------------------------------------------------------------- the table in data/README.md


def code_lists_markdown() -> str:
    """The ADaM code lists (relationship, severity, CTCAE grade, outcome) as the Markdown shown in data/README.md."""
    from .rules import OUTCOME, RELATIONSHIP, SEVERITY, TOXICITY_GRADE

    def codes(table, value) -> str:
        return ", ".join(f"`{k}`" for k, v in table.items() if v == value)

    lines = ["| relationship (`AREL`/`AEREL`) | read as |", "|---|---|",
             f"| {codes(RELATIONSHIP, True)} | related |", f"| {codes(RELATIONSHIP, False)} | not related |",
             "| empty, or any other value | not recorded (a warning) |", "",
             "| severity (`AESEV`) | read as |", "|---|---|"]
    lines += [f"| {codes(SEVERITY, v)} | `{v}` |" for v in dict.fromkeys(SEVERITY.values())]
    lines += ["| empty, or any other value (and no `AETOXGR`) | not recorded (a warning) |", "",
              "| CTCAE grade (`AETOXGR`, where `AESEV` is empty or absent) | read as |", "|---|---|"]
    lines += [f"| {codes(TOXICITY_GRADE, v)} | `{v}` |" for v in dict.fromkeys(TOXICITY_GRADE.values())]
    lines += ["", "| outcome (`AEOUT`) | ongoing | fatal (severity `Death`, patient died) |", "|---|---|---|"]
    lines += [f"| `{k}` | {'yes' if o else 'no'} | {'yes' if f else 'no'} |" for k, (o, f) in OUTCOME.items()]
    return "\n".join(lines)


def mapping_markdown() -> str:
    """:data:`MAPPING` as the Markdown table shown in ``data/README.md``: one column per registered format."""

    def cell(specs: tuple[str, ...], codes: tuple[str, ...], name: str) -> str:
        if not specs:
            return "—"
        text = " / ".join(f"`{s}`" for s in specs)
        if codes:
            text += f" where `{name}` = " + " or ".join(f"`{c}`" for c in codes)
        return text

    titles = " | ".join(f.title for f in FORMATS.values())
    lines = [f"| our file | our column | {titles} | rule |", "|---|---|" + "---|" * len(FORMATS) + "---|"]
    for r in MAPPING:
        ours = f"`{r.column}` of `{r.measure}`" if r.measure else f"`{r.column}`"
        cells = " | ".join(cell(r.specs(f.name), r.codes_of(f.name), f.code_variable) for f in FORMATS.values())
        lines.append(f"| `{r.file}` | {ours} | {cells} | {r.rule} |")
    return "\n".join(lines)
