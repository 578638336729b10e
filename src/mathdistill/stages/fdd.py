"""Stages of FDD (Feedback-Driven Distillation, spec §1; data logic in `methods.fdd`).

    from mathdistill.stages import fdd
    opts = fdd.parse_options({"pool_limit": 300, "k": 1, "min_agree": 1})
    # round 1's pool P_1: the train questions with a kept teacher program (D_0)
    fdd.make_pool("results/fdd/tiny-t5/round1/pool.jsonl", train="results/data/train.jsonl",
                  d0="results/teacher/annotated/pot/filtered.jsonl", limit=300, seed=0)
    # (the exam, S_0 greedy PoT on P_1, is stages.predict.predict -> round1/exam.jsonl)
    stats = fdd.generate("round1/pool.jsonl", "round1/exam.jsonl", ["...pot/filtered.jsonl"],
                         "round1/generated.jsonl", "round1/programs.jsonl",
                         "round1/fdd_stats.json", teacher="annotated", options=opts, round=1)
    fdd.make_pool("round2/pool.jsonl", pool="round1/pool.jsonl", exam="round1/exam.jsonl",
                  generated="round1/generated.jsonl", limit=300, seed=0)   # P_2
    fdd.build_examples(["...pot/filtered.jsonl", "round1/programs.jsonl"],
                       "round1/mixed.jsonl", strategy="pot", seed=0)      # D_1 = D_0 ∪ G_1

Per round r >= 1 (files under {method}/{student}/round{r}/):
- pool.jsonl: P_r, the questions S_{r-1} is examined on (P_1 = the questions of D_0;
  P_r = hard(P_{r-1}) ∪ the questions generated in round r-1); `pool_limit` keeps a
  seeded sample of at most that many (the paper examines all of them).
- exam.jsonl: S_{r-1}'s greedy PoT answer per pool question (Prediction records).
- generated.jsonl: the new questions that passed dedup and labelling, with their majority
  label as `answer` (`Problem` records: nothing without an answer is written);
  programs.jsonl: their agreeing teacher programs G_r; fdd_stats.json: the counts of each
  step (easy/hard, requested, candidates, deduped, label rejections, accepted).
- mixed.jsonl: D_r = D_0 ∪ G_1 ∪ ... ∪ G_r as training examples (S_r trains from the base).
"""

from __future__ import annotations

import inspect
import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from mathdistill.io import DataError, read_records, write_json, write_jsonl
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["EXTRA_OPTIONS", "build_examples", "generate", "make_pool", "parse_options"]

logger = logging.getLogger(__name__)

# options of this stage on top of methods.fdd.DEFAULTS
EXTRA_OPTIONS = {"pool_limit": None, "exam": {}}


def parse_options(opts: Mapping | None) -> dict:
    """methods.fdd.DEFAULTS + EXTRA_OPTIONS overridden by `opts`; unknown keys -> ValueError."""
    from mathdistill.methods.fdd import DEFAULTS
    from mathdistill.methods.rounds import round_options

    return round_options("fdd", DEFAULTS, EXTRA_OPTIONS, opts, limit="pool_limit")


def _sample(problems: list[Problem], limit: int | None, seed: int) -> list[Problem]:
    """At most `limit` problems, a seeded sample in the original order."""
    if not limit or len(problems) <= limit:
        return problems
    keep = set(random.Random(seed).sample(range(len(problems)), int(limit)))
    return [p for i, p in enumerate(problems) if i in keep]


def _read_rationales(paths: Sequence) -> list[Rationale]:
    out: list[Rationale] = []
    for path in paths:
        out.extend(read_records(path, Rationale))
    return out


def make_pool(out, *, train=None, d0=None, pool=None, exam=None, generated=None,
              limit: int | None = None, seed: int = 0) -> list[Problem]:
    """Write P_r: from (train, d0) for round 1, else from round r-1's (pool, exam, generated)."""
    from mathdistill.methods import fdd

    if train is not None and d0 is not None:
        problems = fdd.initial_pool(read_records(train, Problem), read_records(d0, Rationale))
    elif pool is not None and exam is not None and generated is not None:
        _, hard = fdd.split_easy_hard(read_records(pool, Problem), read_records(exam, Prediction))
        problems = fdd.next_pool(hard, read_records(generated, Problem))
    else:
        raise ValueError("make_pool: give train and d0 (round 1), or pool, exam and generated")
    sampled = _sample(problems, limit, seed)
    if not sampled:
        raise DataError(f"{out}: the FDD pool is empty (every question was easy and no new "
                        "question was generated); use fewer rounds")
    write_jsonl(out, sampled)
    logger.info("fdd pool: %d questions (%d before the limit %s) -> %s", len(sampled),
                len(problems), limit, out)
    return sampled


def _questions(teacher, seeds: list[Problem], mode: str, seed: int) -> list:
    """teacher.generate_questions, with a seed for backends that take one (annotated)."""
    if not hasattr(teacher, "generate_questions"):
        raise ValueError(f"teacher {teacher.name!r} cannot generate questions (FDD needs "
                         "generate_questions: annotated, openai, vllm, hf)")
    if not seeds:
        return []
    params = inspect.signature(teacher.generate_questions).parameters
    kwargs = {"seed": seed} if "seed" in params else {}
    return teacher.generate_questions(seeds, mode, **kwargs)


def generate(pool_file, exam_file, previous_files: Sequence, out_generated, out_programs,
             out_stats, *, teacher: str, teacher_options: Mapping | None = None,
             options: Mapping | None = None, round: int, strategy: str = "pot", seed: int = 0,
             meta: Mapping | None = None, cost_out=None) -> dict:
    """Round r's easy/hard split, new questions, dedup and labels (see the module docstring).

    `previous_files`: D_{r-1} (D_0 and G_1..G_{r-1}), the questions new ones are deduped
    against. Generation, labelling and dedup happen here together, so every written
    question has its label. The teacher's calls (questions and labelling programs) ->
    `cost_out` (default: teacher_cost.json beside `out_stats`; see teachers.job: too many
    failed requests raise TeacherFailed before any output is written)."""
    from mathdistill.filtering import score_rationales
    from mathdistill.methods import fdd
    from mathdistill.teachers.job import TeacherJob

    opts = parse_options(options)
    pool = read_records(pool_file, Problem)
    easy, hard = fdd.split_easy_hard(pool, read_records(exam_file, Prediction))
    cost_out = cost_out or Path(out_stats).with_name("teacher_cost.json")
    with TeacherJob(teacher, teacher_options, cost_out=cost_out,
                    label=f"fdd questions+labels ({Path(out_stats).parent})") as job:
        cands: list[Problem] = []
        counts: dict[str, dict] = {}
        for mode, seeds in fdd.question_requests(easy, hard).items():
            got = fdd.candidates(seeds, mode, _questions(job.teacher, seeds, mode, seed + round),
                                 round)
            counts[mode] = {"seeds": len(seeds), "candidates": len(got)}
            cands += got
        previous = _read_rationales(previous_files)
        kept, dropped = fdd.dedup_rouge(cands, fdd.questions(previous),
                                        float(opts["rouge_threshold"]),
                                        within=bool(opts["dedup_within_round"]))
        k, min_agree = int(opts["k"]), int(opts["min_agree"])
        programs = score_rationales(job.teacher.generate(kept, strategy, n=k)) if kept else []
        teacher_meta = job.finish()
    problems, g_r, label_stats = fdd.label_by_majority(kept, programs, k=k, min_agree=min_agree,
                                                       round=round)
    write_jsonl(out_generated, problems)
    write_jsonl(out_programs, g_r)
    stats = {**dict(meta or {}), "round": round, "strategy": strategy, "pool": len(pool),
             "easy": len(easy), "hard": len(hard), "by_mode": counts,
             "candidates": len(cands), "deduped": len(dropped), "after_dedup": len(kept),
             "programs": len(programs), "labels": label_stats, "generated": len(problems),
             "rationales_added": len(g_r), "previous_rationales": len(previous),
             "options": {key: opts[key] for key in ("k", "min_agree", "rouge_threshold",
                                                    "dedup_within_round")},
             "teacher": teacher_meta,
             "dedup_examples": dropped[:5]}
    write_json(out_stats, stats)
    logger.info("fdd round %d: pool %d (easy %d, hard %d), %d candidates, %d deduped, "
                "%d generated questions with %d programs", round, len(pool), len(easy),
                len(hard), len(cands), len(dropped), len(problems), len(g_r))
    return stats


def build_examples(rationale_files: Sequence, out, *, strategy: str = "pot",
                   seed: int = 0) -> int:
    """D_r = D_0 ∪ G_1 ∪ ... ∪ G_r (files in that order) -> training examples at `out`."""
    from mathdistill.methods import fdd

    d: list[Rationale] = []
    for path in rationale_files:
        d = fdd.grow(d, read_records(path, Rationale))
    examples = fdd.build_examples(d, strategy, seed=seed)
    if not examples:
        raise DataError(f"{', '.join(map(str, rationale_files))}: no usable {strategy} rationales")
    n = write_jsonl(out, examples)
    logger.info("fdd: %d examples from %d rationales (%d files) -> %s", n, len(d),
                len(rationale_files), out)
    return n
