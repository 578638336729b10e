"""Stages of Tailored Learning (spec §2; data logic in `methods.tailored`).

    from mathdistill.stages import tailored
    opts = tailored.parse_options({"exam_limit": 200, "positives_from_exam": True})
    # the exam: the round r-1 student (round 0: the base) samples K answers per train question
    tailored.exam("results/students/tiny-t5/base", "results/data/train.jsonl",
                  "round0/exam.jsonl", "round0/mistakes.json", round=0, options=opts)
    tailored.feedback("results/data/train.jsonl", "round1/mistakes.json", "round1/feedback.jsonl",
                      teacher="annotated", options=opts)           # rounds >= 1
    tailored.build_examples(1, "round1/mixed.jsonl", "round1/tailored_stats.json",
                            teacher_files=["...cot/filtered.jsonl"],
                            feedback_files=["round1/feedback.jsonl"],
                            mistakes_file="round1/mistakes.json", exam_file="round1/exam.jsonl",
                            options=opts)
    tailored.train(base, "round1/mixed.jsonl", "round1/checkpoint", "round1/train_log.json",
                   {"model": "tiny-t5", "train": {"epochs": 3}}, options=opts,
                   resume_from="round0/checkpoint")                 # L = L_LM + lambda * L_SR

Per round r (files under {method}/{student}/round{r}/):
- exam.jsonl: the student's K sampled answers per exam question, scored (Rationale records,
  source "student"; `exam_limit` = a seeded sample of the train questions, the same one
  every round; the paper examines all); mistakes.json: {id: [distinct wrong rationales]}.
- feedback.jsonl (r >= 1): the teacher's rationale per (mistaken question, mistake), scored
  (`correct` set; wrong ones are dropped when the round's data are built).
- mixed.jsonl: examples {"prompt", "target", "id", "strategy", "positives", "negatives"}:
  round 0 the teacher's rationales for the whole train set, round r the feedback (plus the
  earlier rounds' data with `accumulate`); tailored_stats.json: exam, feedback and triplet
  counts.
- checkpoint/, train_log.json: `students.reflection.ReflectionTrainer`, from the base in
  round 0 and from the round r-1 checkpoint after (`init` "previous"); the log has
  `sr_losses` / `lm_losses` per logging step.
Prompt (`prompt` option): "project" (zero-shot, default) or "fewshot" (the paper: per-task
demos, `methods.tailored_prompt`; the exam then stops at the first blank line and keeps the
text up to its answer, as upstream); evaluation and the untrained "pretrained" round with
that prompt: `stages.tailored_eval`. `prefix_cache` / `unique_questions`: see
`students.reflection`.
Positives: the teacher's other rationales of the question (upstream); `positives_from_exam`
adds the student's correct exam samples, `positive_strategies` the teacher's rationales of
the question in other formats (e.g. l2m) [D]: with a teacher that writes one rationale per
question (the annotated one) there is otherwise no *different* positive and L_SR is 0.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from mathdistill.io import DataError, read_json, read_jsonl, read_records, write_json, write_jsonl
from mathdistill.records import Problem, Rationale

__all__ = ["EXTRA_OPTIONS", "build_examples", "exam", "feedback", "parse_options", "train"]

logger = logging.getLogger(__name__)

# options of these stages on top of methods.tailored.DEFAULTS
EXTRA_OPTIONS = {"exam_limit": None, "exam": {}, "positive_strategies": [],
                 "prompt_loss_weight": 0.0, "prefix_cache": True, "unique_questions": False}


def parse_options(opts: Mapping | None) -> dict:
    """methods.tailored.DEFAULTS + EXTRA_OPTIONS overridden by `opts`; unknown -> ValueError."""
    from mathdistill.methods.rounds import round_options
    from mathdistill.methods.tailored import DEFAULTS

    return round_options("tailored", DEFAULTS, EXTRA_OPTIONS, opts, limit="exam_limit")


def exam_problems(train_file, limit: int | None, seed: int) -> list[Problem]:
    """The exam questions: the train set, or a seeded sample of `limit` (order kept)."""
    problems = read_records(train_file, Problem)
    if not limit or len(problems) <= limit:
        return problems
    keep = set(random.Random(seed).sample(range(len(problems)), int(limit)))
    return [p for i, p in enumerate(problems) if i in keep]


def exam_generation(student_generation: Mapping | None, opts: Mapping, seed: int) -> dict:
    """The student's decoding settings, then upstream's exam sampling, then options.exam."""
    from mathdistill.methods.tailored import EXAM_GENERATION

    return {**dict(student_generation or {}), **EXAM_GENERATION, "seed": seed,
            **dict(opts.get("exam") or {})}


def exam(model, train_file, out_exam, out_mistakes, *, round: int, strategy: str = "cot",
         generation: Mapping | None = None, options: Mapping | None = None, seed: int = 0,
         threads: int | None = None) -> dict:
    """The student's exam on the train questions -> scored samples and its mistakes.

    `seed` picks the exam questions (the same every round); sampling uses the generation
    seed (default `seed`) + round."""
    from mathdistill.filtering import score_rationales
    from mathdistill.methods import tailored, tailored_prompt
    from mathdistill.students import GenerationConfig, generate

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    opts = parse_options(options)
    problems = exam_problems(train_file, opts["exam_limit"], seed)
    sample_seed = int((generation or {}).get("seed", seed)) + round  # a seed run's own seed
    gen = GenerationConfig.from_dict(exam_generation(generation, opts, sample_seed))
    fewshot = opts["prompt"] == "fewshot"
    if fewshot:  # the paper's prompt; its answers end at the first blank line [C]
        gen.stop = [*gen.stop, *tailored_prompt.STOP]
    prompts = [tailored.student_input(p, opts["prompt"], opts["task"], strategy) for p in problems]
    outputs = generate(str(model), prompts, gen)
    if fewshot:
        outputs = [[tailored_prompt.cleanup(t, opts["task"] or p.dataset)[0] for t in ts]
                   for p, ts in zip(problems, outputs, strict=True)]
    scored = score_rationales(tailored.exam_rationales(problems, outputs, round, strategy))
    mistakes = tailored.collect_mistakes(scored)
    write_jsonl(out_exam, scored)
    write_json(out_mistakes, mistakes)
    logger.info("tailored exam round %d: %d questions x %d samples, %d correct samples, "
                "%d questions with mistakes", round, len(problems), gen.num_samples,
                sum(bool(r.correct) for r in scored), len(mistakes))
    return mistakes


def feedback(train_file, mistakes_file, out, *, teacher: str,
             teacher_options: Mapping | None = None, options: Mapping | None = None,
             cost_out=None) -> int:
    """The teacher's rationale for each (mistaken question, mistake), scored -> `out`; the
    teacher's calls -> `cost_out` (default: teacher_cost.json beside `out`; see
    teachers.job: too many failed requests raise TeacherFailed and `out` is not written)."""
    from mathdistill.filtering import score_rationales
    from mathdistill.methods import tailored
    from mathdistill.teachers.job import TeacherJob

    opts = parse_options(options)
    mistakes = read_json(mistakes_file)
    problems = [p for p in read_records(train_file, Problem) if p.id in mistakes]
    probs, wrong = tailored.feedback_requests(problems, mistakes,
                                              per_question=int(opts["feedback_per_question"]))
    cost_out = cost_out or Path(out).with_name("teacher_cost.json")
    with TeacherJob(teacher, teacher_options, cost_out=cost_out,
                    label=f"tailored feedback ({Path(out).parent})") as job:
        if not hasattr(job.teacher, "feedback"):
            raise ValueError(f"teacher {teacher!r} cannot give feedback (Tailored Learning "
                             "needs feedback: annotated, openai, vllm, hf)")
        rationales = score_rationales(job.teacher.feedback(probs, wrong)) if probs else []
        job.finish(produced=len(rationales))
    n = write_jsonl(out, rationales)
    logger.info("tailored feedback: %d rationales for %d mistakes on %d questions (%d correct)",
                n, len(wrong), len(problems), sum(bool(r.correct) for r in rationales))
    return n


def _read(paths: Sequence) -> list[Rationale]:
    out: list[Rationale] = []
    for path in paths:
        out.extend(read_records(path, Rationale))
    return out


def build_examples(round: int, out, stats_out, *, teacher_files: Sequence = (),
                   feedback_files: Sequence = (), previous_files: Sequence = (),
                   mistakes_file, exam_file, positive_files: Sequence = (),
                   strategy: str = "cot", options: Mapping | None = None, seed: int = 0,
                   meta: Mapping | None = None, train_file=None) -> dict:
    """Round r's training examples with triplet pools -> `out`; statistics -> `stats_out`.

    teacher_files: the teacher's filtered rationales (round 0's data); feedback_files:
    this round's feedback (r >= 1); previous_files: earlier rounds' data (`accumulate`);
    positive_files: extra positives (teacher rationales in `positive_strategies`);
    train_file: the train problems (their answer choices, for CSQA's few-shot prompt)."""
    from mathdistill.methods import tailored

    opts = parse_options(options)
    feedback_rs = _read(feedback_files)
    data = tailored.round_rationales(round, _read(teacher_files), feedback_rs,
                                     _read(previous_files), accumulate=bool(opts["accumulate"]),
                                     strategy=strategy)
    if not data:
        raise DataError(f"tailored round {round}: no training rationales (teacher "
                        f"{list(map(str, teacher_files))}, feedback {list(map(str, feedback_files))})")
    exam_rs = read_records(exam_file, Rationale)
    mistakes = read_json(mistakes_file)
    extra = [r for r in _read(positive_files) if r.correct is not False]
    if opts["positives_from_exam"]:
        extra += [r for r in exam_rs if r.correct]
    pools = tailored.triplet_pools(data, mistakes, max_pos=int(opts["max_pos"]),
                                   max_neg=int(opts["max_neg"]), seed=seed + round,
                                   extra_positives=extra)
    choices = {p.id: p.choices for p in read_records(train_file, Problem) if p.choices} \
        if train_file else None
    examples = tailored.build_examples(data, pools, seed=seed + round, prompt=opts["prompt"],
                                       task=opts["task"], choices=choices)
    write_jsonl(out, examples)
    usable = [ex for ex in examples if tailored.draw_triplet(ex, None) is not None]
    stats = {**dict(meta or {}), "round": round, "strategy": strategy,
             "exam": {"questions": len({r.id for r in exam_rs}), "samples": len(exam_rs),
                      "correct_samples": sum(bool(r.correct) for r in exam_rs),
                      "questions_solved": len({r.id for r in exam_rs if r.correct}),
                      "questions_with_mistakes": len(mistakes),
                      "mistakes": sum(len(v) for v in mistakes.values())},
             "feedback": {"rationales": len(feedback_rs),
                          "kept": sum(r.correct is not False for r in feedback_rs)},
             "data": {"rationales": len(data), "examples": len(examples),
                      "with_triplet": len(usable), "extra_positives": len(extra),
                      "mean_positives": _mean(len(ex["positives"]) for ex in examples),
                      "mean_negatives": _mean(len(ex["negatives"]) for ex in examples)},
             "options": {k: opts[k] for k in ("max_pos", "max_neg", "accumulate",
                                              "positives_from_exam", "positive_strategies")}}
    write_json(stats_out, stats)
    logger.info("tailored round %d: %d examples, %d with a triplet", round, len(examples),
                len(usable))
    return stats


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def train(base, examples_file, out_dir, log_out, cfg: Mapping, *, options: Mapping | None = None,
          resume_from=None, threads: int | None = None, meta: Mapping | None = None) -> dict:
    """Fine-tune with L = L_LM + lambda * L_SR (`students.reflection`) -> `out_dir`;
    `cfg` = the train rule's params (model, finetune, lora, train, budget)."""
    from mathdistill.students import TrainConfig
    from mathdistill.students import train as fit
    from mathdistill.students.budget import train_options
    from mathdistill.students.reflection import EXTRA_FIELDS, ReflectionTrainer

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    opts = parse_options(options)
    train_opts = train_options(cfg)
    train_opts["extra_fields"] = EXTRA_FIELDS
    tcfg = TrainConfig.from_dict(train_opts)
    reflection = {"margin": float(opts["margin"]), "lam": float(opts["lambda"]),
                  "max_sr_len": int(opts["max_sr_len"]),
                  "prompt_loss_weight": float(opts["prompt_loss_weight"] or 0.0),
                  "prefix_cache": bool(opts["prefix_cache"]),
                  "unique_questions": bool(opts["unique_questions"]), "seed": tcfg.seed}
    examples = read_jsonl(examples_file)
    summary = fit(str(base), examples, out_dir, tcfg,
                  resume_from=None if resume_from is None else str(resume_from),
                  trainer_cls=ReflectionTrainer.configured(**reflection))
    rows = read_jsonl(Path(out_dir) / "train_log.jsonl")
    log = {**dict(meta or {}), "examples": len(examples), **summary,
           "final_loss": summary.get("last_loss"), "losses": [r["loss"] for r in rows],
           "lm_losses": [r.get("lm_loss") for r in rows],
           "sr_losses": [r.get("sr_loss") for r in rows],
           "sr_active": [r.get("sr_active") for r in rows],
           "reflection": reflection,
           "resume_from": None if resume_from is None else str(resume_from),
           "config": read_json(Path(out_dir) / "train_config.json")["config"]}
    write_json(log_out, log)
    return log
