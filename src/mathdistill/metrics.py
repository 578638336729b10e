"""Scoring: Prediction records -> a metrics dict (accuracy, n, per-strategy, error counts).

    from mathdistill.metrics import compute, evaluate_file
    m = compute(predictions)
    # {"accuracy": 0.5, "n": 4, "correct": 2, "answered": 3,
    #  "by_strategy": {"pot": {"n": 4, "correct": 2, "accuracy": 0.5}},
    #  "strategy_share": {"pot": 1.0}, "errors": {"wrong_answer": 1, "syntax": 1}}
    evaluate_file("predictions/gsm8k.jsonl", "metrics/gsm8k.json",
                  meta={"method": "potd", "student": "tiny-t5", "round": 0, "dataset": "gsm8k"})

One prediction per problem is expected (a duplicate id is a DataError naming the file).
`errors` counts the incorrect predictions by kind: the executor's error ("syntax",
"timeout", "no_answer", ...) or "wrong_answer" when an answer was found but is wrong.
Accuracy of an empty set is None (JSON null), never a made-up number.

Tailored Learning's predictions (`stages.tailored_eval`) add `string_match`: the accuracy by
the authors' case-insensitive string equality (meta["string_correct"], spec §2.6), beside the
numeric `accuracy`.
Multi-format methods (ETD) add, from each prediction's meta: `queried_as` (meta["queried"]
= {strategy: {"correct", ...}}: each queried format's own accuracy, ETD Table 3) and
`fallbacks` (meta["order"] and meta["tried"]: how often each hop, e.g. "pot->eot", happened).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from itertools import pairwise

from mathdistill.io import DataError, read_records, write_json
from mathdistill.records import Prediction

__all__ = ["compute", "evaluate_file"]


def _acc(correct: int, n: int) -> float | None:
    return correct / n if n else None


def compute(predictions: Sequence[Prediction]) -> dict:
    """Accuracy, counts, per-strategy accuracy and share, and error kinds."""
    n = len(predictions)
    correct = sum(1 for p in predictions if p.correct)
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        groups[p.strategy].append(p)
    by_strategy = {}
    for s, ps in sorted(groups.items()):
        c = sum(1 for p in ps if p.correct)
        by_strategy[s] = {"n": len(ps), "correct": c, "accuracy": _acc(c, len(ps))}
    errors = Counter(p.error or "wrong_answer" for p in predictions if not p.correct)
    return {
        "accuracy": _acc(correct, n),
        "n": n,
        "correct": correct,
        "answered": sum(1 for p in predictions if p.pred is not None),
        "by_strategy": by_strategy,
        "strategy_share": {s: len(ps) / n for s, ps in sorted(groups.items())},
        "errors": dict(sorted(errors.items())),
        **_multi_format(predictions),
        **_string_match(predictions),
    }


def _string_match(predictions: Sequence[Prediction]) -> dict:
    """{"string_match": {"n", "correct", "accuracy"}} over predictions whose meta has
    "string_correct" (upstream's string-equality score); {} when none has."""
    marks = [bool(p.meta["string_correct"]) for p in predictions if "string_correct" in p.meta]
    if not marks:
        return {}
    return {"string_match": {"n": len(marks), "correct": sum(marks),
                             "accuracy": _acc(sum(marks), len(marks))}}


def _multi_format(predictions: Sequence[Prediction]) -> dict:
    """`queried_as` and `fallbacks` from ETD-style prediction meta (empty dict otherwise)."""
    out: dict = {}
    queried: dict[str, list[bool]] = defaultdict(list)
    for p in predictions:
        for s, q in (p.meta.get("queried") or {}).items():
            queried[s].append(bool(q.get("correct")))
    if queried:
        out["queried_as"] = {s: {"n": len(c), "correct": sum(c), "accuracy": _acc(sum(c), len(c))}
                             for s, c in queried.items()}
    hops: Counter = Counter()
    for p in predictions:
        order, tried = p.meta.get("order"), p.meta.get("tried") or []
        if order:
            hops.update({f"{a}->{b}": 0 for a, b in pairwise(order)})
            hops.update(f"{a}->{b}" for a, b in pairwise(tried))
    if hops:
        out["fallbacks"] = dict(hops)
    return out


def evaluate_file(predictions_path, out, meta: Mapping | None = None) -> dict:
    """Read predictions JSONL, compute metrics, add `meta` (method, student, ...), write JSON."""
    predictions = read_records(predictions_path, Prediction)
    ids = Counter(p.id for p in predictions)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        raise DataError(f"{predictions_path}: {len(dup)} problem id(s) predicted more than "
                        f"once, e.g. {dup[0]!r}")
    metrics = {**dict(meta or {}), **compute(predictions)}
    write_json(out, metrics)
    return metrics
