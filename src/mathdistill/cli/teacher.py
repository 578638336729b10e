"""Commands teach, filter, solve: teacher rationales and their answers.

    python -m mathdistill teach --teacher annotated --strategy pot --problems data/gsm8k.jsonl \\
        --out teacher/annotated/pot/raw.jsonl
    python -m mathdistill teach --teacher openai --config teacher.yaml --strategy cot --n 4 \\
        --problems data/gsm8k.jsonl --out teacher/openai/cot/raw.jsonl   # + cost.json beside it
    python -m mathdistill filter --in raw.jsonl --out filtered.jsonl --stats filter_stats.json
    python -m mathdistill solve --strategy pot --in predictions.jsonl --out scored.jsonl
"""

from __future__ import annotations

import argparse

from mathdistill.cli.common import UsageError, add_config_args, config_options
from mathdistill.io import (
    DataError,
    iter_jsonl,
    iter_records,
    write_json,
    write_jsonl,
)
from mathdistill.records import STRATEGIES, Rationale

__all__ = ["COMMANDS", "check_strategy"]


# ------------------------------------------------------------------ teach
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
    add_config_args(p, "backend options (model, base_url, temperature, concurrency, "
                    "cache, ...)")
    p.add_argument("--cost", help="where to write the teacher's calls/tokens record "
                   "(default: cost.json beside --out, for backends that count them)")
    p.set_defaults(func=cmd_teach)


def cmd_teach(args) -> int:
    from mathdistill.stages.teacher import teach

    if args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    n = teach(args.problems, args.teacher, args.strategy, args.out, n=args.n,
              options=config_options(args), cost_out=args.cost)
    print(f"teach: {args.teacher} wrote {n} {args.strategy} rationales to {args.out}")
    return 0


def check_strategy(strategy, where: str, hint: str = "") -> None:
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
        check_strategy(r.strategy, f"{args.inp}:{lineno}")
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
        check_strategy(strategy, where, hint=" (pass --strategy)")
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


COMMANDS = [_add_teach, _add_filter, _add_solve]
