"""Command line: ``python -m dashboard COMMAND [options]``.

Commands: ``validate``, ``convert``, ``simulate-alsfrs``, ``generate``, ``stats``, ``serve``, ``report``,
``figures``, ``add-user``, ``reproduce``, ``diff`` (``python -m dashboard COMMAND --help`` for each one's options).
Errors are one line on standard error; exit code 1 for an invalid dataset,
2 for a bad command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import data, importers


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _add_data(p):
    p.add_argument("--data", metavar="DIR", help="dataset directory (default: $TRIAL_DATA_DIR or the shipped data/)")


def _invalid_dataset_exit(exc: data.DatasetError):
    sys.stderr.write(f"invalid dataset {exc.directory}: {len(exc.problems)} problem(s)\n")
    for prob in exc.problems:
        sys.stderr.write(f"{prob}\n")
    if exc.warnings:
        report = data.ImportReport.of(exc.warnings)
        sys.stderr.write(f"and {report.headline()}; the first of each kind:\n")
        for prob in report.examples:
            sys.stderr.write(f"warning: {prob}\n")
    raise SystemExit(1)


def import_report_text(report: data.ImportReport) -> list[str]:
    """The import report as lines: the notes, the counts per kind, the first warnings of each kind, and a
    suggested ``paramcd_map.csv`` for the parameter codes skipped as unknown."""
    lines = [f"note: {n}" for n in report.notes]
    if report.total:
        lines.append(f"import report: {report.headline()}")
        lines += [f"warning: {p}" for p in report.examples]
        shown = len(report.examples)
        if shown < report.total:
            lines.append(f"({report.total - shown} more warnings of the same kinds not listed)")
    if report.unknown_codes:
        lines.append("suggested paramcd_map.csv for the unknown parameter codes (put it in the dataset directory, "
                     f"give each code one of the measures {', '.join(data.MEASURES)}, delete the lines of codes "
                     "that are none of them):")
        lines.append("paramcd,measure")
        lines += [f"{code}," for code, _n in report.unknown_codes]
    return lines


def _load_or_exit(args):
    try:
        return importers.load(args.data)
    except data.DatasetError as exc:
        _invalid_dataset_exit(exc)


def cmd_validate(args) -> int:
    """Print the summary and the import report; exit 0 with only warnings (1 with ``--strict``)."""
    ds = _load_or_exit(args)
    print(ds.summary())
    for line in import_report_text(ds.import_report):
        print(line)
    if args.strict and ds.import_report.total:
        sys.stderr.write(f"invalid dataset {ds.directory} (--strict): {ds.import_report.headline()}\n")
        return 1
    return 0


def cmd_convert(args) -> int:
    """Import ADaM or PRO-ACT-style files and write them as a dataset in our format."""
    src = Path(args.in_dir).expanduser().resolve()
    out = Path(args.out).expanduser().resolve()
    shipped = data.DEFAULT_DATA_DIR.resolve()
    if out == shipped or shipped in out.parents:
        _usage_error(f"refusing to write into the shipped dataset directory {shipped}: choose another --out")
    if out == src or src in out.parents:
        _usage_error(f"--out {out} must not be the input directory or inside it")
    if out.exists() and not out.is_dir():
        _usage_error(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        _usage_error(f"--out {out} is not empty: choose a new or empty directory, "
                     "or add --force to overwrite its dataset files")
    try:
        ds = importers.convert(src, args.from_format, out)
    except data.DatasetError as exc:
        _invalid_dataset_exit(exc)
    print(f"converted {src} ({importers.format_label(args.from_format)}) to {out}:"
          f" {len(ds.patients)} patients, {len(ds.measurements)} measurements, {len(ds.adverse_events)} adverse events,"
          f" {len(ds.visits)} visits"
          + (f"; SIMULATED values in {', '.join(ds.simulated_measures)}" if ds.simulated_measures else ""))
    return 0


def cmd_simulate(args) -> int:
    from .simulate import AlsfrsSimulation, replace_simulated_alsfrs

    ds = _load_or_exit(args)
    if ds.format != "native":
        _usage_error(f"{ds.directory} holds {ds.format_label}: simulate-alsfrs rewrites measurements.csv"
                     " of a dataset in the dashboard's own format; convert it first (python -m dashboard convert)")
    params = AlsfrsSimulation() if args.seed is None else AlsfrsSimulation(seed=args.seed)
    import os
    import tempfile

    meas = replace_simulated_alsfrs(ds, params)
    path = ds.directory / "measurements.csv"
    # written beside it and renamed over it: a failed write never leaves a truncated measurements.csv
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".measurements-", suffix=".csv.tmp", dir=ds.directory)
        os.close(fd)
        data.write_measurements(meas, ds.visits, Path(tmp))
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
        except OSError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        sys.stderr.write(f"python -m dashboard simulate-alsfrs: error: cannot write {path}:"
                         f" {exc.strerror or exc}; nothing was changed\n")
        return 1
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    n = int(meas["simulated"].sum())
    print(f"wrote {path}: {len(meas)} rows, {n} simulated ALSFRS values (seed {params.seed})")
    return 0


MAX_GENERATED_PATIENTS = 1_000_000


def cmd_generate(args) -> int:
    """Write a synthetic trial (every value simulated) as a new dataset directory."""
    from pathlib import Path

    from .simulate import synthetic_trial, write_trial

    if not 1 <= args.patients <= MAX_GENERATED_PATIENTS:
        _usage_error(f"--patients must be between 1 and {MAX_GENERATED_PATIENTS}, not {args.patients}")
    out = Path(args.out).expanduser().resolve()
    shipped = data.DEFAULT_DATA_DIR.resolve()
    if out == shipped or shipped in out.parents:
        _usage_error(f"refusing to write into the shipped dataset directory {shipped}: choose another --out")
    if out.exists() and not out.is_dir():
        _usage_error(f"--out {out} exists and is not a directory")
    arms = _arms_or_exit(args)
    if not arms and (args.slope_effect is not None or args.hazard_ratio is not None):
        _usage_error("--slope-effect and --hazard-ratio need --arms")
    if args.hazard_ratio is not None and not args.hazard_ratio > 0:
        _usage_error(f"--hazard-ratio must be positive, not {args.hazard_ratio:g}")
    if args.slope_effect is not None and not abs(args.slope_effect) <= 10:
        _usage_error(f"--slope-effect must be between -10 and 10 points per month, not {args.slope_effect:g}")
    from .simulate import TrialSimulation

    params = TrialSimulation(arms=arms, slope_effect=args.slope_effect or 0.0,
                             hazard_ratio=args.hazard_ratio if args.hazard_ratio is not None else 1.0)
    tables = synthetic_trial(args.patients, seed=args.seed, params=params)
    meta = {
        "title": f"Synthetic trial: {args.patients} simulated patients (seed {args.seed})",
        "description": "Generated by python -m dashboard generate. Every value is SIMULATED; none is trial data.",
        # every view, export and report of the dataset says so (data.Dataset.simulated_dataset)
        "simulated": True,
    }
    effects = ""
    if arms:
        effects = (f"; randomised to {', '.join(arms)} (control {arms[0]}); true effects vs the control: ALSFRS "
                   f"slope {params.slope_effect:+g} points/month, hazard ratio of death {params.hazard_ratio:g}")
        meta["title"] = (f"Synthetic randomised trial: {args.patients} simulated patients in {len(arms)} arms "
                         f"(seed {args.seed})")
        meta["description"] += " R" + effects[3:] + "."
        meta["simulated_effects"] = {"arms": list(arms), "control": arms[0], "slope_effect": params.slope_effect,
                                     "hazard_ratio": params.hazard_ratio,
                                     "death_hazard_per_month": params.death_hazard_per_month}
    write_trial(tables, out, metadata=meta)
    p = tables["patients"]
    print(f"wrote {out}: {len(p)} patients ({int(p['efficacy_population'].sum())} efficacy),"
          f" {len(tables['measurements'])} measurements, {len(tables['adverse_events'])} adverse events"
          + (f", {int(p['died'].sum())} deaths" if arms else "")
          + f" (seed {args.seed}){effects}; every value is SIMULATED")
    return 0


def _arms_or_exit(args) -> tuple[str, ...]:
    """``--arms``: a count (2: Placebo, Active; k: Placebo, Active 1 .. Active k-1) or comma-separated names."""
    text = (args.arms or "").strip()
    if not text:
        return ()
    if text.isdigit():
        k = int(text)
        if not 2 <= k <= 10:
            _usage_error(f"--arms must be 2 to 10 arms, not {k}")
        return ("Placebo", "Active") if k == 2 else ("Placebo", *(f"Active {i}" for i in range(1, k)))
    names = tuple(x.strip() for x in text.split(","))
    if len(names) < 2 or any(not x for x in names) or len(set(names)) != len(names):
        _usage_error(f"--arms needs 2 or more distinct names separated by commas (the control first), not {text!r}")
    return names


def _add_filters(p):
    """The cohort filter options: the same names as the URL parameters (``--age-min`` = ``age_min``)."""
    from .cohorts import CATEGORIES, COMPARE, DEFAULT_POPULATION, GROUPINGS, POPULATIONS, RANGES

    p.add_argument("--cohort", default=None, metavar="NAME",
                   help=f"population: {', '.join(POPULATIONS)} (default {DEFAULT_POPULATION}; "
                        f"{COMPARE} = progressors and stable)")
    p.add_argument("--group", default=None, metavar="|".join(GROUPINGS),
                   help=f"show the patients in groups side by side: {', '.join(GROUPINGS)}")
    p.add_argument("--patients", default=None, metavar="IDS",
                   help="comma-separated patient ids narrowing the population")
    p.add_argument("--min-decline", "--threshold", dest="threshold", default=None, metavar="POINTS",
                   help="ALSFRS (or ALSFRS-R) fall before day 0 that makes a progressor (default 2)")
    for cat in CATEGORIES:
        p.add_argument(f"--{cat.param}", dest=cat.param, default=None, metavar="|".join(cat.choices),
                       help=f"{cat.label}: {', '.join(cat.choices)}; several comma-separated")
    for _name, stem, _col, label, unit in RANGES:
        unit = unit.replace("%", "%%")  # argparse formats help with %
        for end, words in (("min", "at least"), ("max", "at most")):
            p.add_argument(f"--{stem}-{end}", dest=f"{stem}_{end}", default=None, metavar="X",
                           help=f"{label} {words} X {unit}")


def _cohort_or_exit(args, ds):
    """Parse the filter options through the same model as the URL; any problem is a usage error (exit 2)."""
    from .cohorts import CATEGORIES, RANGES, CohortFilter, select

    keys = (["cohort", "patients", "threshold", "group"] + [cat.param for cat in CATEGORIES]
            + [f"{stem}_{e}" for _n, stem, *_ in RANGES for e in ("min", "max")])
    params = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    filt, notices = CohortFilter.from_params(params)
    if notices:
        _usage_error(notices[0].replace(" ignored", " is invalid").replace("=", " = ", 1))
    from .state import offered_filter

    _offered, problems = offered_filter(ds, filt)
    if problems:
        _usage_error(problems[0].replace("cohort=", "--cohort ").replace("group=", "--group ")
                     .replace(" ignored:", " is not available:", 1).split("; showing")[0])
    cohort = select(ds, filt)
    if cohort.unknown_ids:
        _usage_error(f"unknown patient id(s): {', '.join(cohort.unknown_ids)}")
    return cohort


def _with_previous(args, ds):
    """The dataset with its previous data cut (``--previous``, else ``$DASHBOARD_PREVIOUS_DATA_DIR``), whose
    changes the report and the JSON then carry; one that cannot be read is a usage error."""
    from .diff import with_previous

    if data.resolve_previous_data_dir(getattr(args, "previous", None)) is None:
        return ds
    ds = with_previous(ds, getattr(args, "previous", None))
    if ds.previous_problem:
        _usage_error(ds.previous_problem)
    return ds


def _usage_error(message: str):
    sys.stderr.write(f"python -m dashboard: error: {message}\n")
    raise SystemExit(2)


def cmd_stats(args) -> int:
    import json

    from .reports import cohort_statistics

    ds = _with_previous(args, _load_or_exit(args))
    cohort = _cohort_or_exit(args, ds)
    print(json.dumps(cohort_statistics(ds, cohort, with_mixed=not args.no_mixed), indent=1, allow_nan=False))
    return 0


def _export_target(args):
    """The dataset, the selected cohort and the output path of an export; never inside the dataset directory."""
    ds = _with_previous(args, _load_or_exit(args))
    cohort = _cohort_or_exit(args, ds)
    out = Path(args.out)
    if out.resolve().is_relative_to(ds.directory):
        _usage_error("--out must not be inside the dataset directory")
    return ds, cohort, out


def cmd_report(args) -> int:
    from .reports import html_report

    ds, cohort, out = _export_target(args)
    out.write_text(html_report(ds, cohort, open_session=args.open_session, confidentiality=args.confidential),
                   encoding="utf-8")
    version = "DSMB open-session version (pooled, no patient-level listings)" if args.open_session else "closed session"
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {version}): {cohort.count_text()}, {cohort.describe()}")
    return 0


def cmd_figures(args) -> int:
    from .images import ImageExportError, write_figures

    ds, cohort, out = _export_target(args)
    try:
        written = write_figures(ds, cohort, out, confidentiality=args.confidential)
    except ImageExportError as exc:
        sys.stderr.write(f"python -m dashboard figures: error: {exc}\n")
        return 1
    for path in written:
        print(path)
    return 0


def cmd_reproduce(args) -> int:
    import json

    from .reproduce import format_table, reproduce

    ds = _load_or_exit(args)
    claims = reproduce(ds)
    if args.json:
        print(json.dumps([c.to_dict() for c in claims], indent=1, allow_nan=False))
    else:
        print(f"Paper check on {ds.directory} (hash {ds.short_hash}, data as of {ds.data_as_of})")
        if ds.simulated_measures:
            print(f"NOTE: {', '.join(ds.simulated_measures)} values in this dataset are partly SIMULATED; "
                  "claims resting on them are marked 'simulated data'.")
        print()
        print(format_table(claims))
    return 0


def cmd_diff(args) -> int:
    """Print what changed between the previous data cut and the dataset, as text or JSON."""
    import json

    from .diff import diff

    previous = data.resolve_previous_data_dir(args.previous)
    if previous is None:
        _usage_error(f"name the previous data cut with --previous DIR or {data.PREVIOUS_DATA_DIR_ENV}")
    old = _load_or_exit(argparse.Namespace(data=str(previous)))
    new = _load_or_exit(args)
    result = diff(old, new)
    print(json.dumps(result.to_dict(), indent=1, allow_nan=False) if args.json else result.text())
    return 0


def _previous_or_exit(args) -> Path | None:
    """``--previous`` (else ``$DASHBOARD_PREVIOUS_DATA_DIR``): the previous data cut's directory, or None."""
    previous = data.resolve_previous_data_dir(getattr(args, "previous", None))
    if previous is not None and not previous.is_dir():
        _usage_error(f"--previous {previous} is not a directory")
    return previous


def cmd_serve(args) -> int:
    """Validate the dataset, then run the production server (gunicorn) on it."""
    import os
    from pathlib import Path

    ds = _load_or_exit(args)
    previous = _previous_or_exit(args)
    env = dict(os.environ, TRIAL_DATA_DIR=str(ds.directory), DASHBOARD_BIND=f"{args.host}:{args.port}")
    if previous is not None:  # the previous data cut, for the "changes since" panel (read by the app)
        env[data.PREVIOUS_DATA_DIR_ENV] = str(previous)
    root = Path(__file__).resolve().parent.parent
    print(f"Serving {ds.directory} (hash {ds.short_hash}) at http://{args.host}:{args.port}", flush=True)
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(root / "dashboard" / "gunicorn_conf.py"), "--chdir", str(root),
           "app:server"]
    os.execvpe(cmd[0], cmd, env)
    return 0


def cmd_add_user(args) -> int:
    """Add a user to the credentials file; the password is prompted for (or read from standard input)."""
    import getpass
    import os

    from .security import USERS_ENV, UsersFileError, add_user

    path = args.users_file or os.environ.get(USERS_ENV)
    if not path:
        _usage_error(f"name the credentials file with --users-file or {USERS_ENV}")
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            sys.stderr.write("the passwords differ; nothing written\n")
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        new = add_user(path, args.name, password)
    except UsersFileError as exc:
        sys.stderr.write(f"python -m dashboard add-user: error: {exc}\n")
        return 1
    print(f"{'added' if new else 'updated'} user {args.name} in {path}")
    return 0


def _add_previous(p):
    p.add_argument("--previous", default=None, metavar="DIR",
                   help=f"the previous data cut: its changes are included (default: ${data.PREVIOUS_DATA_DIR_ENV})")


def _add_confidential(p):
    from .formatting import CONFIDENTIALITY_ENV, DEFAULT_CONFIDENTIALITY

    p.add_argument("--confidential", default=None, metavar="TEXT",
                   help=f"the confidentiality line on every page and figure (default: ${CONFIDENTIALITY_ENV}, else "
                        f"{DEFAULT_CONFIDENTIALITY!r})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description="ALS cell-therapy trial dashboard and its tools.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="validate a dataset and print its summary and import report")
    _add_data(p)
    p.add_argument("--strict", action="store_true",
                   help="treat warnings (rows, values or files skipped or recoded) as errors: exit 1")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("convert", help="write ADaM or PRO-ACT-style files as a dataset in the dashboard's format")
    p.add_argument("--from", dest="from_format", required=True, choices=("adam", "proact"),
                   help="the input's format: adam (ADaM datasets, CSV or .xpt) or proact (PRO-ACT-style CSV files)")
    p.add_argument("in_dir", metavar="IN_DIR", help="the directory to import")
    p.add_argument("--out", required=True, metavar="OUT_DIR",
                   help="directory to write (created if needed; never the shipped data/)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out, overwriting its dataset files")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("simulate-alsfrs", help="(re)write the simulated ALSFRS rows of a dataset's measurements.csv")
    _add_data(p)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the model's own)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("generate", help="write a synthetic trial (all values simulated) as a new dataset directory")
    p.add_argument("--patients", type=int, required=True, metavar="N", help="number of patients (ids 1..N)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="directory to write (created if needed; never the shipped data/)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed writes the same files")
    p.add_argument("--arms", default=None, metavar="NAMES|K",
                   help="a randomised trial: comma-separated arm names, the control first (\"Placebo,Active\"), or "
                        "a number of arms (2: Placebo, Active); patients.csv then has arm, died and death_day")
    p.add_argument("--slope-effect", type=float, default=None, metavar="POINTS",
                   help="with --arms: the true effect on the ALSFRS slope after day 0, points per month less "
                        "decline in every arm but the control (default 0)")
    p.add_argument("--hazard-ratio", type=float, default=None, metavar="HR",
                   help="with --arms: the true hazard ratio of death, every arm but the control vs the control "
                        "(default 1)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("stats", help="print the statistics of a cohort as one JSON object")
    _add_data(p)
    _add_filters(p)
    _add_previous(p)
    p.add_argument("--no-mixed", action="store_true",
                   help="leave out the mixed models (about a second per fit: four windows per measure, and per group "
                        "with --cohort compare or --group); their keys then hold a reason instead")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("serve", help="run the dashboard with gunicorn (default http://127.0.0.1:8050)")
    _add_data(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--previous", default=None, metavar="DIR",
                   help=f"the previous data cut, to show what changed since (default: ${data.PREVIOUS_DATA_DIR_ENV})")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="write a self-contained HTML report of a cohort (plotly.js embedded)")
    _add_data(p)
    _add_filters(p)
    p.add_argument("--out", required=True, metavar="FILE")
    _add_previous(p)
    p.add_argument("--open", dest="open_session", action="store_true",
                   help="the DSMB open-session version: pooled over arms, no patient-level listings or profiles")
    _add_confidential(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("figures", help="write every figure of a cohort as PNG and SVG (16:9 slides; needs Chromium)")
    _add_data(p)
    _add_filters(p)
    p.add_argument("--out", required=True, metavar="DIR")
    _add_confidential(p)
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("add-user",
                       help="add a user (salted scrypt hash) to the credentials file; prompts for the password")
    p.add_argument("name")
    p.add_argument("--users-file", default=None, metavar="FILE",
                   help="credentials file (default: $DASHBOARD_USERS_FILE)")
    p.set_defaults(func=cmd_add_user)

    p = sub.add_parser("reproduce", help="recompute the paper's quantitative claims and compare")
    _add_data(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("diff", help="print what changed between two data cuts (new patients, visits, events, "
                                    "deaths; changed and deleted records)")
    p.add_argument("--previous", default=None, metavar="DIR",
                   help=f"the previous data cut (default: ${data.PREVIOUS_DATA_DIR_ENV})")
    _add_data(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_diff)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
