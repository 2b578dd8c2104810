"""The ``hpo-lab`` command line: ``demo``, ``list``, ``show``, ``export``, ``worker``."""

from __future__ import annotations

import argparse
import sys


def _list(args: argparse.Namespace) -> int:
    import hpo_lab as hl

    df = hl.list_sessions(args.storage)
    print("no sessions" if df.empty else df.to_string(index=False))
    return 0


def _show(args: argparse.Namespace) -> int:
    import hpo_lab as hl

    try:
        s = hl.Session.load(args.name, storage=args.storage, progress=False)
    except hl.SessionNotFoundError as exc:
        print(f"hpo-lab: {exc}", file=sys.stderr)
        return 2
    print(s)
    df = s.trials_dataframe()
    if not df.empty:
        cols = [
            c
            for c in df.columns
            if c in ("number", "state", "value", "last_step")
            or c.startswith("params_")
            or c.startswith("values_")
        ]
        print(df[cols].tail(args.last).to_string(index=False))
    return 0


def _trial_arg(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _weights_arg(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(
                f"--weights must look like name=2,other=1; got {text!r}"
            )
    return out


def _export(args: argparse.Namespace) -> int:
    import warnings

    import hpo_lab as hl
    from hpo_lab.export import export_from_storage

    trial = args.weights if args.weights is not None else args.trial
    if args.weights is not None and args.trial is not None:
        print("hpo-lab: give either --trial or --weights, not both", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            path = export_from_storage(args.study, args.storage, trial, args.output, args.format)
        except (hl.SessionNotFoundError, ValueError, TypeError) as exc:
            print(f"hpo-lab: {exc}", file=sys.stderr)
            return 2
    for w in caught:
        print(f"hpo-lab: warning: {w.message}", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``hpo-lab``."""
    p = argparse.ArgumentParser(prog="hpo-lab", description="Interactive hyperparameter search.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the quickstart search headless", add_help=False)
    ls = sub.add_parser("list", help="list the sessions in a storage")
    ls.add_argument("--storage", default=None, help="folder, journal file or database URL")
    show = sub.add_parser("show", help="summarise one session")
    show.add_argument("name")
    show.add_argument("--storage", default=None, help="folder, journal file or database URL")
    show.add_argument("--last", type=int, default=20, help="how many trials to list")
    ex = sub.add_parser(
        "export",
        help="write a trial out as a script, notebook, JSON or YAML",
        description="Write a trial of a session out, from its storage alone.",
    )
    ex.add_argument("--study", required=True, help="the session's (study's) name")
    ex.add_argument("--storage", default=None, help="folder, journal file or database URL")
    ex.add_argument(
        "--trial",
        type=_trial_arg,
        default=None,
        help="a trial number, or for several objectives 'knee' or 'best:<objective>' "
        "(default: the best trial)",
    )
    ex.add_argument(
        "--weights",
        type=_weights_arg,
        default=None,
        help="choose from the Pareto front by weights, e.g. val_error=2,params=1",
    )
    ex.add_argument(
        "--format",
        choices=["script", "notebook", "json", "yaml"],
        default=None,
        help="default: from the output's suffix, else script",
    )
    ex.add_argument("-o", "--output", default=None, help="the file to write (default best.py)")
    worker = sub.add_parser("worker", help="run a session's trials here, from shared storage")
    from hpo_lab.worker import add_arguments

    add_arguments(worker)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "demo":
        from hpo_lab.demo import main as demo_main

        return demo_main(argv[1:])
    args = p.parse_args(argv)
    if args.command == "worker":
        from hpo_lab.worker import main as worker_main

        return worker_main(args)
    return {"list": _list, "show": _show, "export": _export}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
