"""Stage predict for multi-strategy methods: ETD fallback, Combined/SIKeD tag routing.

    from mathdistill.stages.multi_predict import predict
    preds = predict("results/etd/tiny-t5/round0/checkpoint", "results/data/gsm8k.jsonl",
                    {"type": "etd", "strategies": ["cot", "pot", "eot"], "options": {}},
                    "results/etd/tiny-t5/round0/predictions/gsm8k.jsonl",
                    {"max_new_tokens": 160})

- `etd` (and the Table 3 unions): the student is queried with every trained format's
  trigger (all of them, so each format's own accuracy is known: ETD Table 3 "queried as");
  the answer is PoT's, falling back to EoT where the program failed, then to CoT where the
  equations were unsolvable (`methods.etd.fallback_predict`). Each Prediction's meta holds
  "order", "tried", "failed" and "queried" ({strategy: {"pred", "correct", "error"}}), which
  `metrics.compute` turns into `queried_as` and `fallbacks`.
- `combined` / `siked`: the student answers the strategy-neutral prompt, writes a tag and a
  rationale; the body is graded by the tagged strategy's executor. The Prediction's
  strategy is the tag it chose ("untagged" when none; graded as `untagged_as`), so
  `metrics.compute`'s `strategy_share` is the share of each strategy.
Grading is `filtering.score_rationales`, exactly as in the single-strategy predict stage.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from mathdistill.io import read_records, write_jsonl
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["TYPES", "predict", "predict_fallback", "predict_tagged"]

logger = logging.getLogger(__name__)

TYPES = ("etd", "combined", "siked")


def _load(checkpoint, gen_cfg: Mapping | None, threads: int | None):
    from mathdistill.students import GenerationConfig, load

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    cfg = GenerationConfig.from_dict(dict(gen_cfg or {}))
    if isinstance(checkpoint, tuple):  # loaded once for several eval sets (students.preload)
        return checkpoint, cfg
    return load(str(checkpoint), dtype=cfg.dtype), cfg


def _first(outputs) -> list[str]:
    return [seqs[0] if seqs else "" for seqs in outputs]


def _score(problems, strategies, texts) -> list[Rationale]:
    from mathdistill.filtering import score_rationales

    return score_rationales([
        Rationale(id=p.id, question=p.question, answer=p.answer, strategy=s, text=t,
                  source="student", meta={"choices": p.choices} if p.choices else {})
        for p, s, t in zip(problems, strategies, texts, strict=True)])


def predict_fallback(checkpoint, problems_file, strategies, out, gen_cfg: Mapping | None = None,
                     *, order=None, threads: int | None = None) -> tuple[list[Prediction], dict]:
    """ETD inference: every format generated and graded, then the PoT -> EoT -> CoT fallback."""
    from mathdistill.execution.result import Result
    from mathdistill.methods.etd import fallback_order, fallback_predict
    from mathdistill.strategies import student_prompt
    from mathdistill.students import generate

    problems = read_records(problems_file, Problem)
    order = fallback_order(strategies, order)
    loaded, cfg = _load(checkpoint, gen_cfg, threads)
    texts, results, scored = {}, {}, {}
    for s in order:
        texts[s] = _first(generate(loaded, [student_prompt(p.question, s) for p in problems], cfg))
        scored[s] = _score(problems, [s] * len(problems), texts[s])
        results[s] = [Result(r.pred, r.error) for r in scored[s]]
        logger.info("%s queried as %s: %d/%d correct", problems_file, s,
                    sum(bool(r.correct) for r in scored[s]), len(problems))
    preds, stats = fallback_predict(problems, texts, results, order)
    preds = [dataclasses.replace(p, meta={
        **p.meta, "order": order,
        "queried": {s: {"pred": scored[s][i].pred, "correct": bool(scored[s][i].correct),
                        "error": scored[s][i].error} for s in order}})
        for i, p in enumerate(preds)]
    write_jsonl(out, preds)
    return preds, stats


def predict_tagged(checkpoint, problems_file, out, gen_cfg: Mapping | None = None, *,
                   instruction: str | None = None, untagged_as: str | None = None,
                   threads: int | None = None) -> list[Prediction]:
    """Combined/SIKeD inference: neutral prompt, the student's tag routes the grading."""
    from mathdistill.methods import combined
    from mathdistill.students import generate

    instruction = instruction or combined.INSTRUCTION
    untagged_as = untagged_as or combined.DEFAULTS["untagged_as"]
    problems = read_records(problems_file, Problem)
    loaded, cfg = _load(checkpoint, gen_cfg, threads)
    texts = _first(generate(loaded, [combined.combined_prompt(p.question, instruction)
                                     for p in problems], cfg))
    routed = combined.route(texts)
    scored = _score(problems, [tag or untagged_as for tag, _ in routed],
                    [body for _, body in routed])
    preds = [Prediction(id=p.id, dataset=p.dataset, strategy=tag or combined.UNTAGGED, text=text,
                        pred=r.pred, correct=bool(r.correct), error=r.error, answer=p.answer,
                        meta={"tag": tag, "graded_as": r.strategy})
             for p, text, (tag, _), r in zip(problems, texts, routed, scored, strict=True)]
    write_jsonl(out, preds)
    logger.info("%s: %d/%d correct; strategy share %s", problems_file,
                sum(p.correct for p in preds), len(preds), combined.strategy_share(preds))
    return preds


def predict(checkpoint, problems_file, method: Mapping, out, gen_cfg: Mapping | None = None, *,
            threads: int | None = None) -> list[Prediction]:
    """Dispatch on `method["type"]` (the method's config entry: type, strategies, options)."""
    kind, opts = method["type"], dict(method.get("options") or {})
    if kind == "etd":
        preds, _ = predict_fallback(checkpoint, problems_file, method["strategies"], out, gen_cfg,
                                    order=opts.get("order"), threads=threads)
        return preds
    if kind == "combined":
        return predict_tagged(checkpoint, problems_file, out, gen_cfg,
                              instruction=opts.get("instruction"),
                              untagged_as=opts.get("untagged_as"), threads=threads)
    if kind == "siked":
        from mathdistill.methods.siked import options

        return predict_tagged(checkpoint, problems_file, out, gen_cfg,
                              instruction=options(method)["instruction"], threads=threads)
    raise ValueError(f"multi_predict: method type {kind!r} is not one of {TYPES}")
