"""Stage predict: a trained student answers an eval set in one strategy -> Prediction JSONL.

    from mathdistill.stages.predict import predict
    preds = predict("results/potd/tiny-t5/round0/checkpoint", "results/data/gsm8k.jsonl",
                    "pot", "results/potd/tiny-t5/round0/predictions/gsm8k.jsonl",
                    {"max_new_tokens": 160, "num_beams": 1})

students.generate -> the strategy's executor (CoT/L2M extraction, PoT sandbox, EoT solver,
via `filtering.score_rationales`, which grades exactly like the teacher filter) ->
`Prediction` records (first generated sequence per problem; `meta["detail"]` says why an
answer failed). Generated text is untrusted: it is only ever run in the sandbox workers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from mathdistill.io import read_records, write_jsonl
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["predict"]

logger = logging.getLogger(__name__)


def predict(checkpoint, problems_file, strategy: str, out, gen_cfg: Mapping | None = None, *,
            threads: int | None = None) -> list[Prediction]:
    """Generate, score and write one Prediction per problem of `problems_file`.
    `checkpoint`: a path, or the student loaded once (students.preload) for several sets."""
    from mathdistill.filtering import score_rationales
    from mathdistill.strategies import student_prompt
    from mathdistill.students import GenerationConfig, generate

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    problems = read_records(problems_file, Problem)
    prompts = [student_prompt(p.question, strategy) for p in problems]
    outputs = generate(checkpoint, prompts,
                       GenerationConfig.from_dict(dict(gen_cfg or {})))
    texts = [seqs[0] if seqs else "" for seqs in outputs]
    scored = score_rationales([
        Rationale(id=p.id, question=p.question, answer=p.answer, strategy=strategy, text=t,
                  source="student", meta={"choices": p.choices} if p.choices else {})
        for p, t in zip(problems, texts, strict=True)])
    preds = [Prediction(id=p.id, dataset=p.dataset, strategy=strategy, text=r.text, pred=r.pred,
                        correct=bool(r.correct), error=r.error, answer=p.answer)
             for p, r in zip(problems, scored, strict=True)]
    write_jsonl(out, preds)
    logger.info("%s: %d/%d correct (%s)", problems_file, sum(p.correct for p in preds),
                len(preds), strategy)
    return preds
