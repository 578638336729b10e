"""Stages of SIKeD's iterations: self-generation from round r-1, then round r's mix.

    from mathdistill.stages.siked import self_generate, build_round
    cfg = {"type": "siked", "strategies": ["cot", "pot", "l2m"],
           "options": {"k": 2, "questions": 300, "variant": "sparse"}}
    self_generate("results/siked/tiny-t5/round0/checkpoint", "results/data/train.jsonl",
                  cfg, "results/siked/tiny-t5/round1/self_samples.jsonl",
                  {"batch_size": 64}, round=1, seed=0)
    stats = build_round(cfg, 1, {"rationales": [...filtered.jsonl],
                                 "self_samples": ["results/siked/tiny-t5/round1/self_samples.jsonl"]},
                        "results/siked/tiny-t5/round1/mixed.jsonl",
                        "results/siked/tiny-t5/round1/mix_stats.json", seed=0)
    stats["alpha"]   # |D_LLM| / (|D_LLM| + |D_self|) of round 1

Self-generation: K samples per (question, strategy) at the method's temperature / top_p
(`methods.siked` options k, temperature, top_p, max_new_tokens; the student's generation
settings for the rest), the strategy tag forced as the output prefix
(`students.generate(prefixes=...)`), graded with `filtering.score_rationales`; every
scored sample is written (the filter runs in `build_round`, so its statistics are logged).
`questions` (option) limits self-generation to a seeded sample of train questions.

Round 0 of SIKeD is the Combined baseline (`round0_from`: copied from a Combined run by
`mathdistill.stages.reuse`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence

from mathdistill.io import read_records, write_json, write_jsonl
from mathdistill.records import Problem, Rationale

__all__ = ["build_round", "sample_stats", "self_generate"]

logger = logging.getLogger(__name__)


def _questions(problems: list[Problem], n: int | None, seed: int) -> list[Problem]:
    if not n or n >= len(problems):
        return problems
    keep = set(random.Random(seed).sample(range(len(problems)), n))
    return [p for i, p in enumerate(problems) if i in keep]


def self_generate(checkpoint, problems_file, cfg: Mapping, out, gen_cfg: Mapping | None = None,
                  *, round: int, seed: int = 0, threads: int | None = None) -> list[Rationale]:
    """Round `round`'s scored self samples from the round-1 checkpoint -> `out` (JSONL)."""
    from mathdistill.filtering import score_rationales
    from mathdistill.methods import siked
    from mathdistill.students import GenerationConfig, generate

    if round < 1:
        raise ValueError(f"siked self-generation is for rounds >= 1, not {round}")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    opts = siked.options(cfg)
    problems = _questions(read_records(problems_file, Problem), opts["questions"], seed + round)
    reqs = siked.generation_requests(problems, opts["strategies"],
                                     instruction=opts["instruction"])
    gen = GenerationConfig.from_dict({
        **dict(gen_cfg or {}), "do_sample": True, "num_samples": opts["k"],
        "temperature": opts["temperature"], "top_p": opts["top_p"],
        "max_new_tokens": opts["max_new_tokens"], "seed": seed + round})
    outputs = generate(str(checkpoint), [r["prompt"] for r in reqs], gen,
                       prefixes=[r["prefix"] for r in reqs])
    scored = score_rationales(siked.self_rationales(problems, reqs, outputs, round))
    write_jsonl(out, scored)
    logger.info("siked round %d: %d samples for %d questions x %s, %s", round, len(scored),
                len(problems), opts["strategies"], sample_stats(scored))
    return scored


def sample_stats(scored: Sequence[Rationale]) -> dict:
    """{strategy: {"n", "correct"}} of scored self samples (by the strategy they carry)."""
    out: dict[str, dict[str, int]] = {}
    for r in scored:
        d = out.setdefault(r.strategy, {"n": 0, "correct": 0})
        d["n"] += 1
        d["correct"] += bool(r.correct)
    return dict(sorted(out.items()))


def build_round(cfg: Mapping, round: int, inputs: Mapping[str, Sequence[str]], out, stats_out, *,
                seed: int = 0, meta: Mapping | None = None) -> dict:
    """Round `round`'s tagged examples -> `out`; the mix statistics (alpha, counts per
    strategy and source, self-sample accuracy, training plan, + `meta`) -> `stats_out`."""
    from mathdistill.io import DataError
    from mathdistill.methods import siked

    opts = siked.options(cfg)
    teacher: list[Rationale] = []
    for path in inputs["rationales"]:
        teacher.extend(read_records(path, Rationale))
    scored: list[Rationale] = []
    for path in inputs.get("self_samples") or ():
        scored.extend(read_records(path, Rationale))
    kept = siked.filter_self_samples(scored, one_per_strategy=opts["one_per_strategy"]) \
        if round > 0 else None
    examples, stats = siked.round_examples(teacher, kept, cfg, round, seed=seed)
    if not examples:
        raise DataError(f"{', '.join(inputs['rationales'])}: siked round {round} has no examples")
    plan = siked.round_plan(round, cfg, base="base", previous="previous" if round else None)
    stats = {**dict(meta or {}), **stats, "policy": plan["policy"], "continues_from_previous": plan["resume_from"]
             is not None, "self_samples": sample_stats(scored), "self_kept": len(kept or [])}
    write_jsonl(out, examples)
    write_json(stats_out, stats)
    logger.info("siked round %d: %d examples, alpha %s", round, len(examples), stats["alpha"])
    return stats

