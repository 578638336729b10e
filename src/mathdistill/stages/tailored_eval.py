"""Tailored Learning's evaluation (spec §2.6): the few-shot prompt, and the pretrained round.

    from mathdistill.stages import tailored_eval
    # a trained round's checkpoint answers a test set with the paper's few-shot prompt
    tailored_eval.predict("results/tailored/gpt-j-6b/round2/checkpoint",
                          "results/data/gsm8k.jsonl", "predictions/gsm8k.jsonl",
                          task="gsm8k", generation={"max_new_tokens": 256})
    # round "pretrained": the base student, few-shot, no training (the paper's 2.7 on GSM8K)
    tailored_eval.pretrained("EleutherAI/gpt-j-6b", "results/data/gsm8k.jsonl",
                             "results/tailored/gpt-j-6b/pretrained/predictions/gsm8k.jsonl")

Each Prediction is scored twice: `correct` by the project's numeric comparator on the
answer its text commits to (as every method, spec §4 [D]), and in `meta` by upstream's
string equality (`string_pred`, `string_gold`, `string_correct`; `metrics.compute` reports
their accuracy as `string_match`). Generation stops at the first blank line (the demos are
separated by one) and greedy decoding is the student's generation config (spec §2.4:
greedy; max new tokens GSM8K 256, SVAMP/MultiArith 192, CSQA 96, StrategyQA 128).
`task` picks the demos: the training task for a trained student (its prompt had those
demos), by default the problems' own data set (`tailored_prompt.task_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from mathdistill.io import read_records, write_jsonl
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["PRETRAINED", "predict", "pretrained"]

logger = logging.getLogger(__name__)

PRETRAINED = "pretrained"  # the round name of the untrained student's outputs


def predict(model, problems_file, out, *, task: str | None = None, fewshot: bool = True,
            generation: Mapping | None = None, threads: int | None = None,
            round: int | str | None = None) -> list[Prediction]:
    """`model` (a checkpoint or a base model, or either loaded by students.preload) answers
    `problems_file` -> Predictions in `out`."""
    from mathdistill.filtering import score_rationales
    from mathdistill.methods import tailored_prompt as tp
    from mathdistill.students import GenerationConfig, generate

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    problems = read_records(problems_file, Problem)
    if not problems:
        raise ValueError(f"{problems_file}: no problems")
    task = tp.task_of(task or problems[0].dataset)
    gen = GenerationConfig.from_dict(dict(generation or {}))
    gen.stop = [*gen.stop, *(s for s in tp.STOP if s not in gen.stop)]
    prompts = [tp.prompt(p.question, task, choices=p.choices, fewshot=fewshot) for p in problems]
    outputs = generate(model, prompts, gen)
    cleaned = [tp.cleanup(seqs[0] if seqs else "", task) for seqs in outputs]
    scored = score_rationales([
        Rationale(id=p.id, question=p.question, answer=p.answer, strategy="cot", text=text,
                  source="student", meta={"choices": p.choices} if p.choices else {})
        for p, (text, _) in zip(problems, cleaned, strict=True)])
    preds = []
    for p, r, (text, sp) in zip(problems, scored, cleaned, strict=True):
        gold = tp.gold_string(p)
        preds.append(Prediction(
            id=p.id, dataset=p.dataset, strategy="cot", text=text, pred=r.pred,
            correct=bool(r.correct), error=r.error, answer=p.answer,
            meta={"string_pred": sp, "string_gold": gold, "string_correct":
                  tp.string_correct(sp, gold), "task": task, "fewshot": fewshot,
                  **({"round": round} if round is not None else {})}))
    write_jsonl(out, preds)
    logger.info("%s: %d/%d correct, %d/%d by string equality (task %s, %s)", problems_file,
                sum(p.correct for p in preds), len(preds),
                sum(p.meta["string_correct"] for p in preds), len(preds), task,
                "few-shot" if fewshot else "zero-shot")
    return preds


def pretrained(base_model, problems_file, out, **kwargs) -> list[Prediction]:
    """The round before any training (spec §2.2 S_0): the base student, few-shot prompted."""
    return predict(base_model, problems_file, out, round=PRETRAINED, **kwargs)
