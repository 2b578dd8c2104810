"""The ``hpo-lab`` command line: ``demo``, ``list``, ``show``, ``worker``."""

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
    return {"list": _list, "show": _show}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
