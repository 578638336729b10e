"""ETD (Equations-of-Thought Distillation, Zhu et al. 2401.11864 v5) and its Table 3 unions.

    from mathdistill.methods.etd import build_examples, fallback_predict, fallback_needed
    examples = build_examples(filtered_rationales, ["cot", "pot", "eot"], seed=0)
    # one student, the union of the three filtered teacher sets, each with its trigger:
    # {"prompt": "Question: ...\\nSystem of linear equations: (Do not simplify)\\n", ...}

    # inference (spec 3.5): PoT first; EoT where the program failed; CoT where the
    # equations were unsolvable. The caller generates and executes; this only decides.
    preds, stats = fallback_predict(problems,
        texts={"pot": pot_texts, "eot": eot_texts, "cot": cot_texts},
        results={"pot": pot_results, "eot": eot_results, "cot": cot_results})
    stats["chosen"]      # {"pot": 70, "eot": 20, "cot": 10}: which format answered
    stats["fallbacks"]   # {"pot->eot": 30, "eot->cot": 10}
    stats["by_strategy"] # each format's own accuracy (Table 3 "queried as")

Algorithm (single stage, no rounds) [P]:
1. The teacher writes CoT/PoT/EoT rationales for every train question; each set is
   filtered against the gold answer (the shared filter stage).
2. Training data = the union of the filtered sets of the method's strategies, each example
   prompted with its format's trigger (`strategies.student_prompt`): ETD = cot+pot+eot;
   the Table 3 combinations are cot+pot, cot+eot, pot+eot. The student is trained once.
3. Inference queries the same student with each trigger in the order `order` (default
   pot, eot, cot, restricted to the method's strategies): a program that runs (Result.ok)
   gives the answer even if it is wrong; otherwise the next format is tried; the last
   format's answer (or failure) is final.

Spec items and defaults:
- [P] triggers, union, fallback order; "fails" = any executor error (timeout, syntax,
  runtime, no_answer, forbidden, unsolvable) or no value [D, spec 3.5].
- [X] teacher decoding, paths per question (4 in the paper): `teachers.<name>.n` in config.
- [X] student decoding for inference: greedy [D] (the generation config of the method).
- Options (`methods.<name>.options`): `order` (default `DEFAULTS["order"]`); the teacher
  data selection of `methods.selection` (`teacher_chains`, `data_size`, `data_fraction`,
  `data_unit`, `data_seed`): Fig. 5's data sizes are `data_size: 500` / `1000` [P] on the
  union of the filtered sets (examples, not questions: [D]), seeded.
`fallback_needed(results)` lists the problems that need the next format, so a caller can
generate EoT/CoT only where needed; texts/results may then hold None for the rest.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import pairwise

from mathdistill.execution.result import Result
from mathdistill.methods import selection as _selection
from mathdistill.methods import single
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["DEFAULTS", "ETD_STRATEGIES", "build_examples", "build_round", "fallback_from_predictions",
           "fallback_needed", "fallback_order", "fallback_predict"]

logger = logging.getLogger(__name__)

ETD_STRATEGIES = ("cot", "pot", "eot")
DEFAULTS = {"order": ["pot", "eot", "cot"], **_selection.DEFAULTS}


def _check_strategies(strategies: Sequence[str]) -> list[str]:
    bad = [s for s in strategies if s not in ETD_STRATEGIES]
    if bad or not strategies:
        raise ValueError(f"ETD strategies must be a non-empty subset of {ETD_STRATEGIES}, "
                         f"got {list(strategies)}")
    return list(strategies)


def build_examples(rationales: Sequence[Rationale], strategies: Sequence[str] = ETD_STRATEGIES,
                   *, seed: int = 0) -> list[dict]:
    """Training examples: the union of the strategies' rationales, each with its trigger."""
    return single.build_examples(rationales, _check_strategies(strategies), seed=seed)


def build_round(inputs: Mapping[str, Sequence[str]], cfg: Mapping, round: int = 0, *,
                seed: int = 0) -> list[dict]:
    """Stage entry point (as `single.build_round`): `inputs["rationales"]` = filtered files."""
    _check_strategies(cfg["strategies"])
    return single.build_round(inputs, cfg, round, seed=seed)


def fallback_order(strategies: Sequence[str], order: Sequence[str] | None = None) -> list[str]:
    """The inference order restricted to the trained strategies (pot+eot -> [pot, eot])."""
    order = list(order or DEFAULTS["order"])
    unknown = [s for s in strategies if s not in order]
    if unknown:
        raise ValueError(f"strategies {unknown} are not in the fallback order {order}")
    return [s for s in order if s in strategies]


def fallback_needed(results: Sequence[Result | None]) -> list[int]:
    """Indexes whose result failed (or is missing): they need the next format."""
    return [i for i, r in enumerate(results) if r is None or not r.ok]


def fallback_predict(problems: Sequence[Problem], texts: Mapping[str, Sequence[str | None]],
                     results: Mapping[str, Sequence[Result | None]],
                     order: Sequence[str] | None = None) -> tuple[list[Prediction], dict]:
    """One Prediction per problem by PoT -> EoT -> CoT fallback, and statistics.

    `texts[s][i]` / `results[s][i]`: format s's generated text for problems[i] and its
    executor result (None = not generated; allowed only where an earlier format
    succeeded). `order` defaults to pot, eot, cot restricted to the keys of `texts`.
    The Prediction's strategy is the format that gave the answer; meta["tried"] lists the
    formats tried and meta["failed"] their error kinds.
    """
    from mathdistill.strategies import is_correct

    order = fallback_order(list(texts), order)
    n = len(problems)
    for s in order:
        if len(texts[s]) != n or len(results.get(s, ())) != n:
            raise ValueError(f"fallback_predict: {s}: {len(texts[s])} texts and "
                             f"{len(results.get(s, ()))} results for {n} problems")
    preds: list[Prediction] = []
    chosen: Counter = Counter()
    hops: Counter = Counter()
    for i, p in enumerate(problems):
        failed: list[str] = []
        for k, s in enumerate(order):
            res, text = results[s][i], texts[s][i]
            if res is None or text is None:
                raise ValueError(f"fallback_predict: problem {p.id!r} needs {s} "
                                 f"(earlier formats failed) but it was not generated")
            if res.ok or k == len(order) - 1:
                break
            failed.append(res.error or "no_answer")
            hops[f"{s}->{order[k + 1]}"] += 1
        chosen[s] += 1
        correct = res.ok and is_correct(res.value, p.answer)
        preds.append(Prediction(
            id=p.id, dataset=p.dataset, strategy=s, text=text, pred=res.value,
            correct=bool(correct), error=None if res.ok else (res.error or "no_answer"),
            answer=p.answer, meta={"tried": order[:len(failed) + 1], "failed": failed}))
    stats = {
        "n": n,
        "correct": sum(p.correct for p in preds),
        "accuracy": sum(p.correct for p in preds) / n if n else None,
        "order": order,
        "chosen": {s: chosen[s] for s in order},
        "fallbacks": {f"{a}->{b}": hops[f"{a}->{b}"] for a, b in pairwise(order)},
        "chosen_accuracy": _chosen_accuracy(preds, order),
        "by_strategy": _standalone(problems, results, order),
    }
    logger.info("ETD fallback: %s correct of %d; chosen %s; fallbacks %s", stats["correct"], n,
                stats["chosen"], stats["fallbacks"])
    return preds, stats


def _chosen_accuracy(preds: Sequence[Prediction], order: Sequence[str]) -> dict:
    out = {}
    for s in order:
        ps = [p for p in preds if p.strategy == s]
        out[s] = sum(p.correct for p in ps) / len(ps) if ps else None
    return out


def _standalone(problems, results, order) -> dict:
    """Each format's accuracy on the problems it was generated for (all, unless lazy)."""
    from mathdistill.strategies import is_correct

    out = {}
    for s in order:
        done = [(p, r) for p, r in zip(problems, results[s]) if r is not None]
        c = sum(1 for p, r in done if r.ok and is_correct(r.value, p.answer))
        out[s] = {"n": len(done), "correct": c, "accuracy": c / len(done) if done else None,
                  "failed": sum(1 for _, r in done if not r.ok)}
    return out


def fallback_from_predictions(problems: Sequence[Problem],
                              predictions: Mapping[str, Sequence[Prediction]],
                              order: Sequence[str] | None = None
                              ) -> tuple[list[Prediction], dict]:
    """`fallback_predict` from per-strategy Prediction records (the predict stage's output),
    matched by problem id; a missing id counts as not generated."""
    texts: dict[str, list] = {}
    results: dict[str, list] = {}
    for s, preds in predictions.items():
        by_id = {p.id: p for p in preds}
        texts[s] = [by_id[p.id].text if p.id in by_id else None for p in problems]
        results[s] = [Result(by_id[p.id].pred, by_id[p.id].error) if p.id in by_id else None
                      for p in problems]
    return fallback_predict(problems, texts, results, order)
