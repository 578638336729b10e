"""The filter stage: score rationales against their gold answer and keep the correct ones.

    from mathdistill.filtering import score_rationales, filter_rationales
    scored = score_rationales(rationales)         # new Rationales with pred/correct/error set
    kept, stats = filter_rationales(rationales)   # only the correct ones + drop statistics
    # stats = {"total": 10, "kept": 8, "dropped": 2, "drop_rate": 0.2,
    #          "by_error": {"wrong_answer": 1, "syntax": 1},
    #          "by_strategy": {"pot": {"total": 10, "kept": 8, "dropped": 2, "drop_rate": 0.2}}}

Answers come from each rationale's strategy (`strategies.get(s).answers`): CoT / L2M texts
are read with `extract_answer`, PoT programs run in the sandbox, EoT systems are solved in a
worker. A rationale is correct when its answer `is_correct` (tolerance mode) against
`rationale.answer` (None when that is None: nothing to grade against). Label answers (a gold
that is not a number, e.g. "yes" or "b") are read with `extract_label` (choices from
`meta["choices"]`, else letters a-e for a one-letter gold). In `by_error`, a dropped
rationale counts as its Result error kind ("syntax", "timeout", ...); with an answer:
"wrong_answer", or "no_gold" when there is no gold to compare with; "teacher_failed" when
its teacher request failed (its error "teacher_failed: <why>" is kept: no text to score).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

from mathdistill.records import Rationale

__all__ = ["TEACHER_FAILED", "drop_stats", "filter_rationales", "score_rationales"]

logger = logging.getLogger(__name__)

TEACHER_FAILED = "teacher_failed"  # error prefix of a rationale whose request failed


def _is_label(answer) -> bool:
    from mathdistill.strategies import normalize_number

    return isinstance(answer, str) and normalize_number(answer) is None


def _label_result(r: Rationale):
    from mathdistill.execution.result import Result
    from mathdistill.strategies import extract_label

    choices = r.meta.get("choices")
    if not choices and len(r.answer.strip()) == 1 and r.answer.strip().lower() in "abcde":
        choices = [""] * 5  # letters a-e, no choice texts to fall back on
    label = extract_label(r.text, choices or None)
    return (label, None) if label is not None else (None, Result(None, "no_answer", "no label"))


def score_rationales(rationales: Sequence[Rationale], *, mode: str = "tolerance",
                     **answer_options) -> list[Rationale]:
    """Copies of `rationales` with `pred`, `correct` and `error` filled in (order kept).

    `answer_options` go to the strategy's `.answers` (e.g. timeout=... for PoT/EoT).
    """
    from mathdistill.strategies import get, is_correct

    out: list[Rationale | None] = [None] * len(rationales)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rationales):
        if r.error and r.error.startswith(TEACHER_FAILED):  # no text to score: keep why
            out[i] = dataclasses.replace(r, pred=None, correct=None if r.answer is None else False)
        elif _is_label(r.answer):
            pred, err = _label_result(r)
            out[i] = dataclasses.replace(
                r, pred=pred, correct=is_correct(pred, r.answer, mode=mode),
                error=err.error if err else None)
        else:
            groups[r.strategy].append(i)
    for strategy, idx in groups.items():
        results = get(strategy).answers([rationales[i].text for i in idx], **answer_options)
        for i, res in zip(idx, results, strict=True):
            r = rationales[i]
            ok = None if r.answer is None else res.ok and is_correct(res.value, r.answer, mode=mode)
            out[i] = dataclasses.replace(r, pred=res.value, correct=ok, error=res.error)
    return out  # type: ignore[return-value]


def drop_stats(scored: Sequence[Rationale]) -> dict:
    """Kept/dropped counts, drop rate, drop reasons and a per-strategy breakdown."""

    def counts(rs) -> dict:
        kept = sum(1 for r in rs if r.correct)
        return {"total": len(rs), "kept": kept, "dropped": len(rs) - kept,
                "drop_rate": (len(rs) - kept) / len(rs) if rs else 0.0}

    by_strategy: dict[str, list[Rationale]] = defaultdict(list)
    for r in scored:
        by_strategy[r.strategy].append(r)
    reasons = Counter((r.error or ("no_gold" if r.correct is None else "wrong_answer"))
                      .split(":", 1)[0] for r in scored if not r.correct)
    return {**counts(scored), "by_error": dict(sorted(reasons.items())),
            "by_strategy": {s: counts(rs) for s, rs in sorted(by_strategy.items())}}


def filter_rationales(rationales: Sequence[Rationale], *, rescore: bool = True,
                      mode: str = "tolerance", **answer_options
                      ) -> tuple[list[Rationale], dict]:
    """(kept, stats): the rationales whose answer matches gold, and `drop_stats`.

    With rescore=False, rationales that already carry `correct` are not scored again.
    """
    if rescore:
        scored = score_rationales(rationales, mode=mode, **answer_options)
    else:
        todo = [i for i, r in enumerate(rationales) if r.correct is None]
        scored = list(rationales)
        fresh = score_rationales([rationales[i] for i in todo], mode=mode, **answer_options)
        for i, r in zip(todo, fresh, strict=True):
            scored[i] = r
    kept = [r for r in scored if r.correct]
    stats = drop_stats(scored)
    logger.info("filter: kept %d, dropped %d of %d (drop rate %.1f%%)", stats["kept"],
                stats["dropped"], stats["total"], 100 * stats["drop_rate"])
    return kept, stats
