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
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
