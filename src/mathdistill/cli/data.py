"""Commands prepare, data fetch, data verify: the data sets.

    python -m mathdistill data fetch                      # every data set -> the user cache
    python -m mathdistill data fetch --dest data --datasets gsm8k svamp
    python -m mathdistill data fetch --mirror http://mirror.local/data  # ../shared/data's layout
    python -m mathdistill data verify                     # sha256 of the files data_dir() finds
    python -m mathdistill prepare --dataset gsm8k --split train --out data/gsm8k.jsonl --limit 100
    python -m mathdistill prepare --dataset synthetic --split train --out syn.jsonl --n 50 --seed 1

`data fetch` downloads from the registry `mathdistill.data.sources` (public sources at pinned
revisions, sha256-checked, all or nothing: `mathdistill.data.fetch`).
"""

from __future__ import annotations

import logging

from mathdistill.cli.common import UsageError, user_call
from mathdistill.io import DataError, write_jsonl

__all__ = ["COMMANDS"]

logger = logging.getLogger("mathdistill.cli")


# ------------------------------------------------------------------ prepare
def _add_prepare(sub) -> None:
    p = sub.add_parser("prepare", help="write a data set's problems as JSONL",
                       description="Load a data set split (mathdistill.data.load) and write "
                                   "its problems as JSONL.")
    p.add_argument("--dataset", required=True, help="gsm8k, svamp, asdiv, multiarith, csqa, "
                   "strategyqa or synthetic")
    p.add_argument("--split", required=True, help="train / test / dev (depends on the data set)")
    p.add_argument("--out", required=True, help="output JSONL file")
    p.add_argument("--limit", type=int, help="keep the first N problems")
    p.add_argument("--data-dir", help="data directory (default: $MATHDISTILL_DATA, else "
                   "../shared/data, else the `data fetch` cache)")
    g = p.add_argument_group("synthetic options")
    g.add_argument("--n", type=int, help="number of problems to generate")
    g.add_argument("--seed", type=int)
    g.add_argument("--min-steps", type=int)
    g.add_argument("--max-steps", type=int)
    g.add_argument("--difficulty", type=int, help="1, 2, 3, ... (bigger numbers, more steps)")
    p.set_defaults(func=cmd_prepare)


def cmd_prepare(args) -> int:
    from mathdistill import data

    options = {k: getattr(args, k) for k in ("n", "seed", "min_steps", "max_steps", "difficulty")
               if getattr(args, k) is not None}
    if args.dataset not in data.DATASETS:
        raise UsageError(f"unknown dataset {args.dataset!r}; choose one of "
                         f"{', '.join(data.DATASETS)}")
    if options and args.dataset != "synthetic":
        raise UsageError(f"--{'/--'.join(k.replace('_', '-') for k in options)}: "
                         "options of the synthetic data set only")
    try:
        problems = data.load(args.dataset, args.split, data_dir=args.data_dir,
                             limit=args.limit, **options)
    except DataError:
        raise
    except ValueError as e:  # a bad split or option value
        raise UsageError(str(e)) from None
    n = write_jsonl(args.out, problems)
    print(f"prepare: wrote {n} {args.dataset}/{args.split} problems to {args.out}")
    return 0


# ------------------------------------------------------------------ data fetch / verify
def _add_data(sub) -> None:
    from mathdistill.data import sources
    from mathdistill.data.paths import ENV_VAR, cache_dir

    group = sub.add_parser("data", help="download (fetch) or check (verify) the data sets",
                           description="The data sets' files: fetch downloads them from their "
                           "public sources at pinned revisions (mathdistill.data.sources), "
                           "verify checks their sha256.")
    cmds = group.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    known = ", ".join(sources.DATASETS)
    f = cmds.add_parser("fetch", help="download the data sets (sha256-checked)",
                        description="Download every data set (or --datasets) at its pinned "
                        "revision, check each file's sha256 and move the files into --dest "
                        "only when all are verified (nothing is written otherwise). Files "
                        "already there with the right sha256 are kept (a rerun is a no-op).")
    f.add_argument("--dest", metavar="DIR",
                   help=f"destination (default: {cache_dir()}, which data_dir() finds after "
                   f"${ENV_VAR} and ../shared/data; elsewhere, set ${ENV_VAR}=DIR)")
    f.add_argument("--mirror", metavar="URL", help="download every file from URL/<path> "
                   "instead (a server with the layout of ../shared/data: offline mirrors)")
    f.add_argument("--datasets", nargs="+", metavar="NAME", help=f"only these ({known})")
    f.add_argument("--no-progress", action="store_true", help="no progress bars")
    f.set_defaults(func=cmd_data_fetch, command_name="data fetch")
    v = cmds.add_parser("verify", help="check the sha256 of the data files",
                        description="Check every registry file in the data directory "
                        "(data_dir(): --data-dir, $MATHDISTILL_DATA, ../shared/data, then the "
                        "fetch cache) against its pinned sha256; exit 2 if any is missing "
                        "or differs.")
    v.add_argument("--data-dir", metavar="DIR", help="the directory to check")
    v.add_argument("--datasets", nargs="+", metavar="NAME", help=f"only these ({known})")
    v.set_defaults(func=cmd_data_verify, command_name="data verify")


def cmd_data_fetch(args) -> int:
    from mathdistill.data.fetch import fetch
    from mathdistill.data.paths import ENV_VAR, data_dir

    report = user_call(fetch, args.dest, mirror=args.mirror, datasets=args.datasets,
                       progress=not args.no_progress)
    print(f"data fetch: {len(report.fetched)} files downloaded, {len(report.present)} "
          f"already present and intact, in {report.dest}")
    try:
        found = data_dir()
    except DataError:
        found = None
    if found is None or found.resolve() != report.dest.resolve():
        first = f"finds {found} first" if found else "does not look there"
        print(f"note: data_dir() {first}; set {ENV_VAR}={report.dest} to read this copy")
    return 0


def cmd_data_verify(args) -> int:
    from mathdistill.data.fetch import verify
    from mathdistill.data.paths import data_dir

    root = data_dir(args.data_dir)
    status = user_call(verify, root, args.datasets)
    bad = {path: s for path, s in status.items() if s != "ok"}
    for path, s in bad.items():
        print(f"{root / path}: {s}")
    if bad:
        raise DataError(f"{root}: {len(bad)} of {len(status)} data files missing or altered "
                        "(`python -m mathdistill data fetch --dest DIR` downloads them)")
    print(f"data verify: all {len(status)} files in {root} have their pinned sha256")
    return 0


COMMANDS = [_add_prepare, _add_data]
