"""Command line: ``python -m dashboard COMMAND [options]``.

Commands: ``validate``, ``simulate-alsfrs``, ``stats``, ``reproduce``, ``serve``.
Errors are one line on standard error; exit code 1 for an invalid dataset,
2 for a bad command line.
"""

from __future__ import annotations

import argparse
import sys

from . import data


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _add_data(p):
    p.add_argument("--data", metavar="DIR", help="dataset directory (default: $TRIAL_DATA_DIR or the shipped data/)")


def _load_or_exit(args):
    try:
        return data.load_dataset(args.data)
    except data.DatasetError as exc:
        sys.stderr.write(f"invalid dataset {exc.directory}: {len(exc.problems)} problem(s)\n")
        for prob in exc.problems:
            sys.stderr.write(f"{prob}\n")
        raise SystemExit(1)


def cmd_validate(args) -> int:
    ds = _load_or_exit(args)
    print(ds.summary())
    return 0


def cmd_simulate(args) -> int:
    from .simulate import AlsfrsSimulation, replace_simulated_alsfrs

    ds = _load_or_exit(args)
    params = AlsfrsSimulation() if args.seed is None else AlsfrsSimulation(seed=args.seed)
    meas = replace_simulated_alsfrs(ds, params)
    path = ds.directory / "measurements.csv"
    data.write_measurements(meas, ds.visits, path)
    n = int(meas["simulated"].sum())
    print(f"wrote {path}: {len(meas)} rows, {n} simulated ALSFRS values (seed {params.seed})")
    return 0


def _add_filters(p):
    """The cohort filter options: the same names as the URL parameters (``--age-min`` = ``age_min``)."""
    from .cohorts import POPULATIONS, RANGES

    p.add_argument("--cohort", default=None, metavar="NAME", help=f"population: {', '.join(POPULATIONS)} (default safety; compare = progressors and stable)")
    p.add_argument("--patients", default=None, metavar="IDS", help="comma-separated patient ids narrowing the population")
    p.add_argument("--min-decline", "--threshold", dest="threshold", default=None, metavar="POINTS",
                   help="ALSFRS fall before day 0 that makes a progressor (default 2)")
    p.add_argument("--sex", default=None, metavar="F|M", help="F, M or F,M")
    p.add_argument("--onset", default=None, metavar="ONSET", help="spinal, spinal+bulbar, or both comma-separated")
    for _name, stem, _col, label, unit in RANGES:
        p.add_argument(f"--{stem}-min", dest=f"{stem}_min", default=None, metavar="X", help=f"{label} at least X {unit}")
        p.add_argument(f"--{stem}-max", dest=f"{stem}_max", default=None, metavar="X", help=f"{label} at most X {unit}")


def _cohort_or_exit(args, ds):
    """Parse the filter options through the same model as the URL; any problem is a usage error (exit 2)."""
    from .cohorts import RANGES, CohortFilter, select

    keys = ["cohort", "patients", "threshold", "sex", "onset"] + [f"{stem}_{e}" for _n, stem, *_ in RANGES for e in ("min", "max")]
    params = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    filt, notices = CohortFilter.from_params(params)
    if notices:
        _usage_error(notices[0].replace(" ignored", " is invalid").replace("=", " = ", 1))
    cohort = select(ds, filt)
    if cohort.unknown_ids:
        _usage_error(f"unknown patient id(s): {', '.join(cohort.unknown_ids)}")
    return cohort


def _usage_error(message: str):
    sys.stderr.write(f"python -m dashboard: error: {message}\n")
    raise SystemExit(2)


def cmd_stats(args) -> int:
    import json

    from .reports import cohort_statistics

    ds = _load_or_exit(args)
    cohort = _cohort_or_exit(args, ds)
    print(json.dumps(cohort_statistics(ds, cohort), indent=1, allow_nan=False))
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
            print(f"NOTE: {', '.join(ds.simulated_measures)} values in this dataset are partly SIMULATED; claims resting on them are marked 'simulated data'.")
        print()
        print(format_table(claims))
    return 0


def cmd_serve(args) -> int:
    """Validate the dataset, then run the production server (gunicorn) on it."""
    import os
    from pathlib import Path

    ds = _load_or_exit(args)
    env = dict(os.environ, TRIAL_DATA_DIR=str(ds.directory), DASHBOARD_BIND=f"{args.host}:{args.port}")
    root = Path(__file__).resolve().parent.parent
    print(f"Serving {ds.directory} (hash {ds.short_hash}) at http://{args.host}:{args.port}", flush=True)
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(root / "dashboard" / "gunicorn_conf.py"), "--chdir", str(root), "app:server"]
    os.execvpe(cmd[0], cmd, env)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description="ALS cell-therapy trial dashboard and its tools.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="validate a dataset and print its summary")
    _add_data(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("simulate-alsfrs", help="(re)write the simulated ALSFRS rows of a dataset's measurements.csv")
    _add_data(p)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the model's own)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("stats", help="print the statistics of a cohort as one JSON object")
    _add_data(p)
    _add_filters(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("serve", help="run the dashboard with gunicorn (default http://127.0.0.1:8050)")
    _add_data(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("reproduce", help="recompute the paper's quantitative claims and compare")
    _add_data(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_reproduce)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
