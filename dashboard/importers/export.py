"""Writing a dataset as ADaM datasets or PRO-ACT-style files, and converting an import to our own format.

Writing SAS transport files (:func:`export_adam` with ``xpt=True``) needs the
optional ``pyreadstat`` package (a test-only dependency).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pandas as pd

from .. import data
from .loading import format_label, validated
from .mapping import ADAM, PROACT, export_code, measure_rows, variables
from .rules import FATAL, days_to_ady, month_to_day
from .sources import PROACT_OUTCOME_FILES

#: The ADaM dataset name of the outcomes that :func:`export_adam` writes.
EXPORT_BDS = "ADEFF"


class ExportError(Exception):
    """An export cannot be written (e.g. SAS transport without pyreadstat)."""


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """A string DataFrame as a CSV file (header first, ``\\n`` line ends, UTF-8)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        w.writerow(row)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def convert(in_dir, fmt: str, out_dir) -> data.Dataset:
    """Import ``in_dir`` (``adam`` or ``proact``) and write it to ``out_dir`` in our format; return it loaded.

    Writes the four CSV files and ``metadata.json`` (the source's own, or a
    new one whose ``data_as_of`` keeps the source's date).  Raises
    :class:`~dashboard.data.DatasetError` (nothing written) if the source is invalid.
    """
    imp, typed, meta = validated(in_dir, fmt)
    src_ds = data.build_dataset(imp.directory, typed, meta, sorted(imp.files), fmt, format_label(fmt))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in imp.frames().items():
        write_csv(out / name, frame)
    meta = dict(meta)
    meta.setdefault("title", src_ds.title)
    meta.setdefault("data_as_of", src_ds.data_as_of)
    note = f"Converted from the {format_label(fmt)} in {imp.directory.name}/ by python -m dashboard convert."
    meta["description"] = f"{meta['description']} {note}" if meta.get("description") else note
    (out / data.METADATA_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data.load_dataset(out)


# ---------------------------------------------------------------- cell helpers


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _yn(v) -> str:
    return "" if _missing(v) else ("Y" if bool(v) else "N")


def _text(v) -> str:
    return "" if _missing(v) else str(v)


def _num(v) -> float:
    return float("nan") if _missing(v) else float(v)


def _floats(series: pd.Series) -> pd.Series:
    """A numeric column (nullable or not) as float64 with NaN for missing."""
    return pd.Series([_num(v) for v in series], index=series.index, dtype="float64")


def _metadata_for(ds: data.Dataset) -> dict:
    meta = {"title": ds.title}
    if ds.data_as_of_source == "metadata.json":
        meta["data_as_of"] = ds.data_as_of
    return meta


def _write_metadata(dataset: data.Dataset, out: Path) -> Path:
    path = out / data.METADATA_FILE
    path.write_text(json.dumps(_metadata_for(dataset), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _onset_adam(v) -> str:
    return {"spinal": "SPINAL", "spinal+bulbar": "SPINAL+BULBAR"}.get(_text(v), "")


# ---------------------------------------------------------------- ADaM


def export_adam(dataset: data.Dataset, out_dir, xpt: bool = False) -> list[Path]:
    """Write ``dataset`` as ADaM datasets ``adsl``, ``adae`` and ``adeff`` (CSV, or SAS transport v5 with ``xpt``).

    Only the variables the importer reads are written (see
    :data:`~dashboard.importers.mapping.MAPPING`); simulated values carry
    ``SIMFL`` = ``Y``.  A measure's ``PARAMCD`` is the first of its mapping
    row's codes; a measure without a row (one added to the dashboard before
    the mapping) gets its own code, which the importer reads back
    (:func:`~dashboard.importers.mapping.export_code`).  ``metadata.json`` is
    written beside them so the title and data date survive.  Returns the files written.
    """
    if xpt:
        try:
            import pyreadstat  # noqa: F401
        except ImportError as exc:
            raise ExportError("writing SAS transport (.xpt) files needs the pyreadstat package "
                              "(pip install -r tests/requirements.txt); export CSV with xpt=False") from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = dataset.patients
    adsl = pd.DataFrame({
        "USUBJID": p["patient_id"].map(_text),
        "AGE": _floats(p["age"]),
        "AGEU": "YEARS",
        "SEX": p["sex"].map(_text),
        "ONSET": p["onset"].map(_onset_adam),
        "DURDIS": _floats(p["disease_duration_months"]),
        "SAFFL": p["safety_population"].map(_yn),
        "EFFFL": p["efficacy_population"].map(_yn),
        "MRI12FL": p["mri_12m_done"].map(_yn),
        "EFFREAS": p["exclusion_reason"].map(_text),
    })
    ae = dataset.adverse_events
    adae = pd.DataFrame({
        "USUBJID": ae["patient_id"].map(_text),
        # the verbatim term (read back as ``term``) and the coded preferred term (read back as ``preferred_term``;
        # the verbatim one where a record has none)
        "AETERM": ae["term"].map(_text),
        "AEDECOD": ae["preferred_term"].where(ae["preferred_term"].notna(), ae["term"]).map(_text),
        "AEBODSYS": ae["body_system"].map(_text),
        "AESER": ae["serious"].map(_yn),
        "AREL": ae["related"].map(lambda v: "RELATED" if v else "NOT RELATED"),
        "AESEV": ae["severity"].map(lambda s: "SEVERE" if s == "Death" else _text(s).upper()),
        "AEOUT": [FATAL if s == "Death" else ("NOT RECOVERED/NOT RESOLVED" if o else "")
                  for s, o in zip(ae["severity"], ae["ongoing"])],
        "AEACN": ae["action"].map(_text),
        "ADURN": _floats(ae["duration_days"]),
        "ADURU": ae["duration_days"].map(lambda v: "" if _text(v) == "" else "DAYS"),
    }, columns=["USUBJID", "AETERM", "AEDECOD", "AEBODSYS", "AESER", "AREL", "AESEV", "AEOUT", "AEACN", "ADURN",
                "ADURU"])
    m = dataset.measurements
    code = {x: export_code(x, ADAM) for x in data.MEASURES}
    days = m["month"].map(lambda mo: month_to_day(float(mo)))
    adeff = pd.DataFrame({
        "USUBJID": m["patient_id"].map(_text),
        "PARAMCD": m["measure"].map(lambda x: code[str(x)]),
        "PARAM": m["measure"].map(lambda x: data.MEASURES[str(x)].axis_title),
        "AVISIT": m["visit"].map(_text),
        "AVISITN": _floats(m["month"]),
        "ADY": days.map(lambda d: float(days_to_ady(d))).astype("float64"),
        "AVAL": _floats(m["value"]),
        "AVALU": m["measure"].map(lambda x: "%" if x == "FVC" else ""),
        "SIMFL": m["simulated"].map(lambda s: "Y" if s else ""),
    }, columns=["USUBJID", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY", "AVAL", "AVALU", "SIMFL"])
    written = []
    for name, frame in (("adsl", adsl), ("adae", adae), (EXPORT_BDS.lower(), adeff)):
        if xpt:
            import pyreadstat

            path = out / f"{name}.xpt"
            frame = frame.astype({c: object for c in frame.columns if frame[c].dtype != "float64"})
            pyreadstat.write_xport(frame, str(path), table_name=name.upper(), file_format_version=5)
        else:
            path = out / f"{name}.csv"
            write_csv(path, frame.map(lambda v: data.format_number(v) if isinstance(v, float) else v))
        written.append(path)
    return written + [_write_metadata(dataset, out)]


# ---------------------------------------------------------------- PRO-ACT


def _proact_targets() -> dict[str, tuple[str, str, str | None]]:
    """Our measure → (PRO-ACT file, value column, ``MS_Test_Name`` or None), from the mapping's first column."""
    out = {}
    for r in measure_rows():
        specs = r.specs(PROACT)
        if specs:
            file, column = specs[0].split(".", 1)
            codes = r.codes_of(PROACT)
            out[r.measure] = (file, column, codes[0] if codes else None)
    return out


def _proact_outcome_frame(m: pd.DataFrame, key: str, targets: dict, binned: set[str] = frozenset()) -> pd.DataFrame:
    """The measurements that go to one PRO-ACT outcome file, with the mapping's columns of that file.  Values
    at ``binned`` visits (binned or unscheduled: our schedule, not the source's) have no ``Visit``: they are
    binned again on import."""
    fmt = data.format_number
    rows = [r for r in measure_rows() if r.specs(PROACT) and r.specs(PROACT)[0].startswith(key + ".")]
    value_columns = list(dict.fromkeys(s.split(".", 1)[1] for r in rows for s in r.specs(PROACT)))
    part = m[m["measure"].isin([x for x, t in targets.items() if t[0] == key])]

    def var(column: str) -> str:
        return variables("measurements.csv", column, PROACT, key)[0]

    frame = pd.DataFrame({var("patient_id"): part["patient_id"].map(_text).to_numpy(),
                          var("month"): part["month"].map(lambda mo: str(month_to_day(float(mo)))).to_numpy(),
                          var("visit"): part["visit"].map(lambda v: "" if _text(v) in binned else _text(v)).to_numpy()})
    measures = [str(x) for x in part["measure"]]
    if any(r.codes_of(PROACT) for r in rows):
        frame[var("measure")] = [targets[x][2] for x in measures]
    for column in value_columns:
        frame[column] = [fmt(v) if targets[x][1] == column else "" for x, v in zip(measures, part["value"])]
    frame[var("source")] = part["simulated"].map(lambda s: "Y" if s else "").to_numpy()
    return frame


def export_proact(dataset: data.Dataset, out_dir) -> list[Path]:
    """Write ``dataset`` as PRO-ACT-style files (with our extension columns; see the mapping).

    Each measure goes to the first PRO-ACT column of its mapping row (FVC to
    ``pct_of_Normal_Trial_1`` only, ALSFRS-R to ``ALSFRS_R_Total``); visit
    names to the ``Visit`` column; simulated values carry ``Simulated`` = ``Y``.
    A measure with values but no PRO-ACT column in the mapping raises
    :class:`ExportError` naming it (nothing is written).  Returns the files written.
    """
    targets = _proact_targets()
    unmapped = [x for x in dataset.measures if x not in targets]
    if unmapped:
        raise ExportError(f"no PRO-ACT-style column for measure {', '.join(unmapped)} in the import mapping "
                          "(dashboard/importers/mapping.py): add its row there to export it, or export ADaM")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = data.format_number

    def yes(v):
        return {"Y": "Yes", "N": "No"}.get(_yn(v), "")

    onsets = {"spinal": "Onset: Limb", "spinal+bulbar": "Onset: Limb and Bulbar"}
    p = dataset.patients
    demo = pd.DataFrame({
        "subject_id": p["patient_id"].map(_text),
        "Age": p["age"].map(lambda v: fmt(_num(v))),
        "Sex": p["sex"].map(lambda s: {"M": "Male", "F": "Female"}.get(_text(s), "")),
        "Safety_Population": p["safety_population"].map(yes),
        "Efficacy_Population": p["efficacy_population"].map(yes),
        "MRI_12m_Done": p["mri_12m_done"].map(yes),
        "Exclusion_Reason": p["exclusion_reason"].map(_text),
    })
    hist = pd.DataFrame({
        "subject_id": p["patient_id"].map(_text),
        "Site_of_Onset": p["onset"].map(lambda v: onsets.get(_text(v), "")),
        "Onset_Delta": p["disease_duration_months"].map(
            lambda v: "" if _text(v) == "" else str(-month_to_day(float(v)))),
    })
    v = dataset.visits
    binned = set(v.loc[v["window_days"].notna() | v["scheduled"].eq(False).fillna(False), "visit"].astype(str))
    outcomes = {key: _proact_outcome_frame(dataset.measurements, key, targets, binned) for key in PROACT_OUTCOME_FILES}
    ae = dataset.adverse_events
    events = pd.DataFrame({
        "subject_id": ae["patient_id"].map(_text),
        "Lowest_Level_Term": ae["term"].map(_text),
        "Preferred_Term": ae["preferred_term"].where(ae["preferred_term"].notna(), ae["term"]).map(_text),
        "System_Organ_Class": ae["body_system"].map(_text),
        "Severity": ae["severity"].map(lambda s: "Severe" if s == "Death" else _text(s)),
        "Outcome": ["Fatal" if s == "Death" else ("Not recovered/not resolved" if o else "")
                    for s, o in zip(ae["severity"], ae["ongoing"])],
        "Serious": ae["serious"].map(yes),
        "Related": ae["related"].map(yes),
        "Action_Taken": ae["action"].map(_text),
        "Duration_Days": ae["duration_days"].map(lambda v: fmt(_num(v))),
    }, columns=["subject_id", "Lowest_Level_Term", "Preferred_Term", "System_Organ_Class", "Severity", "Outcome",
                "Serious", "Related",
                "Action_Taken", "Duration_Days"])
    written = []
    for name, frame in (("DEMOGRAPHICS", demo), ("ALSHISTORY", hist), *outcomes.items(), ("ADVERSEEVENTS", events)):
        path = out / f"{name}.csv"
        write_csv(path, frame)
        written.append(path)
    return written + [_write_metadata(dataset, out)]
