"""Command line: `python -m mathdistill <command> ...`, every stage runnable without snakemake.

    python -m mathdistill prepare --dataset gsm8k --split train --out data/gsm8k.jsonl --limit 100
    python -m mathdistill prepare --dataset synthetic --split train --out syn.jsonl --n 50 --seed 1
    python -m mathdistill teach --teacher annotated --strategy pot --problems data/gsm8k.jsonl \\
        --out teacher/annotated/pot/raw.jsonl
    python -m mathdistill teach --teacher openai --config teacher.yaml --strategy cot --n 4 \\
        --problems data/gsm8k.jsonl --out teacher/openai/cot/raw.jsonl   # + cost.json beside it
    python -m mathdistill filter --in raw.jsonl --out filtered.jsonl --stats filter_stats.json
    python -m mathdistill solve --strategy pot --in predictions.jsonl --out scored.jsonl

`main(argv) -> int`: 0 on success, 2 on bad input (a missing or malformed file, an unknown
name), printed as one line `mathdistill <command>: error: <file:line: reason>` on stderr.
Logs go to stderr (-v for debug, -q for warnings only); a one-line summary goes to stdout.
All outputs are JSONL/JSON written atomically.

Adding a command: write `_add_<name>(sub)` (the parser, with `set_defaults(func=...)`) and
`cmd_<name>(args) -> int`, and append `_add_<name>` to `COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from mathdistill import __version__
from mathdistill.io import (
    DataError,
    iter_jsonl,
    iter_records,
    read_yaml,
    write_json,
    write_jsonl,
)
from mathdistill.records import STRATEGIES, Rationale, RecordError

logger = logging.getLogger("mathdistill.cli")


class UsageError(ValueError):
    """A bad option value (reported like a DataError: one line, exit code 2)."""


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
    p.add_argument("--data-dir",
                   help="data directory (default: $MATHDISTILL_DATA or ../shared/data)")
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


# ------------------------------------------------------------------ teach
def _option(text: str) -> tuple[str, object]:
    key, eq, value = text.partition("=")
    if not eq or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a plain string


def _add_teach(sub) -> None:
    p = sub.add_parser("teach", help="generate teacher rationales for problems",
                       description="Generate rationales with a teacher backend "
                                   "(mathdistill.teachers.get_teacher).")
    p.add_argument("--teacher", default="annotated", help="teacher backend (default: annotated)")
    p.add_argument("--strategy", required=True, choices=STRATEGIES)
    p.add_argument("--problems", required=True, help="problems JSONL (from `prepare`)")
    p.add_argument("--out", required=True, help="output rationales JSONL")
    p.add_argument("--n", type=int, default=1, help="samples per problem (default 1; the "
                   "annotated teacher returns one unless -o repeat=true)")
    p.add_argument("-o", "--option", action="append", type=_option, default=[],
                   metavar="KEY=VALUE", help="backend option (VALUE parsed as JSON if it can "
                   "be, else a string); repeatable")
    _add_teach_backend_options(p)
    p.set_defaults(func=cmd_teach)


# --- teach: real-backend options (teachers helper) ---
def _add_teach_backend_options(p) -> None:
    p.add_argument("--config", help="YAML file of backend options (model, base_url, "
                   "temperature, concurrency, cache, ...); -o options override it")
    p.add_argument("--cost", help="where to write the teacher's calls/tokens record "
                   "(default: cost.json beside --out, for backends that count them)")


def _teach_options(args) -> dict:
    """Backend options: the --config YAML mapping, then -o KEY=VALUE on top."""
    opts: dict = {}
    if args.config:
        loaded = read_yaml(args.config)
        if not isinstance(loaded, dict):
            raise DataError(f"{args.config}: expected a mapping of backend options")
        opts.update(loaded)
    opts.update(dict(args.option))
    return opts


def cmd_teach(args) -> int:
    from mathdistill.stages.teacher import teach

    if args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    n = teach(args.problems, args.teacher, args.strategy, args.out, n=args.n,
              options=_teach_options(args), cost_out=args.cost)
    print(f"teach: {args.teacher} wrote {n} {args.strategy} rationales to {args.out}")
    return 0


def _check_strategy(strategy, where: str, hint: str = "") -> None:
    if strategy not in STRATEGIES:
        raise DataError(f"{where}: strategy {strategy!r} is not one of "
                        f"{', '.join(STRATEGIES)}{hint}")


# ------------------------------------------------------------------ filter
def _add_filter(sub) -> None:
    p = sub.add_parser("filter", help="keep rationales whose answer equals gold",
                       description="Score each rationale with its strategy (CoT/L2M: answer "
                                   "extraction, PoT: sandboxed execution, EoT: equation solving) "
                                   "and keep those whose answer equals the gold answer.")
    p.add_argument("--in", dest="inp", required=True, metavar="FILE", help="rationales JSONL")
    p.add_argument("--out", required=True, help="kept rationales JSONL (pred/correct set)")
    p.add_argument("--stats", help="write the drop statistics here (JSON)")
    p.set_defaults(func=cmd_filter)


def cmd_filter(args) -> int:
    from mathdistill.filtering import filter_rationales

    rationales = []
    for lineno, r in iter_records(args.inp, Rationale):
        _check_strategy(r.strategy, f"{args.inp}:{lineno}")
        rationales.append(r)
    kept, stats = filter_rationales(rationales)
    write_jsonl(args.out, kept)
    if args.stats:
        write_json(args.stats, stats)
    reasons = ", ".join(f"{k} {v}" for k, v in stats["by_error"].items()) or "none"
    print(f"filter: kept {stats['kept']}, dropped {stats['dropped']} of {stats['total']} "
          f"(drop rate {100 * stats['drop_rate']:.1f}%; dropped by: {reasons})")
    return 0


# ------------------------------------------------------------------ solve
_SOLVE_HELP = """\
Compute the answer of every row's text and record it. Input: JSONL rows with a "text"
(Rationale or Prediction records, or any object with "text"). The strategy is --strategy,
else the row's "strategy" field. CoT/L2M: the answer extracted from the text; PoT: the
program run in the sandbox (its `answer` variable); EoT: the equation system solved (`ans`).
Output: every input row, in order, with "strategy", "pred" (the answer or null), "error"
(null, or why there is no answer: no_answer, syntax, runtime, timeout, ...) and "correct"
(is_correct against the row's "answer"; null when the row has no answer) set; all other
fields are kept. Nothing is dropped (use `filter` for that)."""


def _add_solve(sub) -> None:
    p = sub.add_parser("solve", help="answer every text of a rationale/prediction file",
                       description=_SOLVE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--strategy", choices=STRATEGIES,
                   help="how to read the texts (default: each row's 'strategy')")
    p.add_argument("--in", dest="inp", required=True, metavar="FILE",
                   help="rationale/prediction JSONL")
    p.add_argument("--out", required=True, help="output JSONL")
    p.set_defaults(func=cmd_solve)


def cmd_solve(args) -> int:
    from mathdistill.filtering import score_rationales

    rows, items = [], []
    for lineno, row in iter_jsonl(args.inp):
        where = f"{args.inp}:{lineno}"
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DataError(f"{where}: expected an object with a string 'text'")
        strategy = args.strategy or row.get("strategy")
        _check_strategy(strategy, where, hint=" (pass --strategy)")
        answer = row.get("answer")
        if answer is not None and (isinstance(answer, bool)
                                   or not isinstance(answer, (int, float, str))):
            raise DataError(f"{where}: 'answer' must be a number or a label, got {answer!r}")
        rows.append(row)
        meta = row.get("meta")
        items.append(Rationale(id=str(row.get("id", lineno)), question="", strategy=strategy,
                               answer=float(answer) if isinstance(answer, int) else answer,
                               text=row["text"], meta=meta if isinstance(meta, dict) else {}))
    scored = score_rationales(items)
    out = [{**row, "strategy": r.strategy, "pred": r.pred, "error": r.error,
            "correct": r.correct} for row, r in zip(rows, scored, strict=True)]
    write_jsonl(args.out, out)
    answered = sum(r.pred is not None for r in scored)
    graded = [r for r in scored if r.correct is not None]
    acc = (f", {sum(r.correct for r in graded)} of {len(graded)} correct "
           f"({100 * sum(r.correct for r in graded) / len(graded):.1f}%)" if graded else "")
    print(f"solve: {answered} of {len(rows)} texts answered{acc}; wrote {args.out}")
    return 0


# ------------------------------------------------------------------ main
COMMANDS = [_add_prepare, _add_teach, _add_filter, _add_solve]


def build_parser() -> argparse.ArgumentParser:
    examples = __doc__.split("\n\n")[1]  # the usage lines of the module docstring
    parser = argparse.ArgumentParser(
        prog="mathdistill", description=__doc__.split("\n")[0],
        epilog=f"examples:\n{examples}\n\nErrors in the input: one line naming file:line on "
               "stderr, exit code 2. `mathdistill COMMAND --help` lists a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mathdistill {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input, not a bug: one line on stderr, exit code 2."""
    from mathdistill.teachers import TeacherConfigError
    from mathdistill.teachers.backend import TeacherError

    errors: list[type[BaseException]] = [DataError, RecordError, UsageError, TeacherConfigError,
                                         TeacherError, OSError]
    try:
        from mathdistill.strategies import StepsError

        errors.append(StepsError)
    except ImportError:  # pragma: no cover - strategies is part of the package
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, message already printed)
        return int(e.code or 0)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    errors = _user_errors()
    try:
        return args.func(args)
    except errors as e:
        msg = str(e) if not isinstance(e, OSError) or not e.filename else \
            f"{e.filename}: {e.strerror}"
        print(f"mathdistill {args.command}: error: {msg}", file=sys.stderr)
        return 2
