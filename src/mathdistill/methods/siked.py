"""SIKeD: Self-guided Iterative Knowledge Distillation (Adarsh et al.; code: shivam0109/SIKeD).

    from mathdistill.methods import siked
    reqs = siked.generation_requests(train_problems, ["cot", "pot", "l2m"])
    # caller: K=10 samples per request from the round t-1 checkpoint at T=0.7, top_p 0.95,
    # with req["prefix"] (the tag) forced at the start of the output
    samples = siked.self_rationales(train_problems, reqs, outputs, round=t)
    scored = filtering.score_rationales(samples)          # caller runs the executors
    self_data = siked.filter_self_samples(scored)          # correct, one per (q, strategy)
    mixed, stats = siked.mix(teacher_rationales, self_data, variant="sparse")
    stats["alpha"]                                         # |D_LLM| / (|D_LLM| + |D_self|)
    examples = siked.build_examples(mixed, seed=0)         # "[pot]: ..." targets
    plan = siked.round_plan(t, {"policy": "on"}, base="tiny-t5", previous=ckpt_t_minus_1)

Algorithm, round by round (round index = iteration t; paper Algorithm 1):
- round 0 (LLM-based distillation = the Combined baseline): train the base student on the
  tagged teacher data D_LLM (`combined.build_examples`).
- round t >= 1:
  1. self-generation: for every train question and strategy s, K samples from the
     round t-1 student, prompt = the neutral combined prompt, output forced to start with
     `tag(s)` (`generation_requests`, `self_rationales`);
  2. filtering: keep samples whose answer is correct; L2M chains without a
     "Sub-question" are dropped; one chain per (question, strategy), the first correct
     one in sample order [C] (`filter_self_samples`; paper Alg. 1 keeps every correct one:
     `one_per_strategy=False`);
  3. mixing: All = D_LLM ∪ D_self; Sparse = D_self plus D_LLM only where the student has
     no correct sample, per (question, strategy) as in the authors' code [C]
     (`sparse_scope="question"`: per question, as in Alg. 1 [P]) (`mix_all`,
     `mix_sparse`); optional bias towards one strategy: per question keep only the most
     preferred strategy's sample (bias first, then pot, cot, l2m, eot as in the code) [C]
     (`apply_bias`);
  4. alpha(t) = |D_LLM(t)| / (|D_LLM(t)| + |D_self(t)|), counted on the mixed rationales
     (after bias), logged in `mix`'s stats;
  5. training: on-policy (default, the paper's choice) continues from the round t-1
     checkpoint, whose LoRA is merged before a new LoRA is trained (our checkpoints are
     saved merged); off-policy retrains from the base model and uses all teacher data
     ("we used all of the LLM data at each iteration for off-policy training")
     (`round_plan`).

Spec items and defaults (`DEFAULTS`, the method's config `options`):
- [P] K = 10, T = 0.7, three iterations; [C] top_p 0.95, 512 new tokens.
- `variant` "all" | "sparse" (default "all": the paper's D_mix; Sparse is a variation);
  `sparse_scope` "strategy" [C] | "question" [P]; `one_per_strategy` True [C];
  `bias` None | a strategy; `policy` "on" | "off"; `instruction` = combined.INSTRUCTION;
  `teacher_chains` 1 [C]: D_LLM keeps one correct teacher chain per (question, strategy),
  the first in file order, as the authors' filter (dedupe by id); None keeps every chain
  (`methods.selection.limit_chains`; the teacher's own n and temperature are teacher config:
  SIKeD §4 used t = 0).
- §5 on-policy vs off-policy (Gemma 2B): `policy: "on"` (the default, the paper's method:
  each iteration continues from the merged round t-1 checkpoint) and `policy: "off"` with
  `off_policy_all` (each iteration from the pretrained model with all LLM data).
- [X] which sample is kept when several are correct: the first in sample order [D].
- `questions`: None = self-generate for every train question (the paper); N = a seeded
  sample of N questions per round (the workflow's stage reads it; CPU budgets) [D].
- Gap: forcing the tag at the start of the output needs a decoder prefix for seq2seq
  students (`students.generate` has none yet); causal students can append it to the prompt.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from mathdistill.methods import combined
from mathdistill.records import Problem, Rationale

__all__ = ["BIAS_ORDER", "DEFAULTS", "alpha", "apply_bias", "build_examples", "build_round",
           "filter_self_samples", "generation_requests", "mix", "mix_all", "mix_sparse", "options",
           "round_examples", "round_plan", "self_rationales"]

logger = logging.getLogger(__name__)

DEFAULTS = {
    "strategies": ["cot", "pot", "l2m"],
    "k": 10, "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 512,
    "variant": "all", "sparse_scope": "strategy", "one_per_strategy": True,
    "bias": None, "policy": "on", "off_policy_all": True,
    "instruction": combined.INSTRUCTION,
    "questions": None,  # self-generate on a seeded sample of this many train questions [D]
    "teacher_chains": 1,  # [C] one correct teacher chain per (question, strategy); None: all
}
# The authors' bias preference after the chosen strategy (get_biased_data); eot last.
BIAS_ORDER = ("pot", "cot", "l2m", "eot")


def options(cfg: Mapping | None) -> dict:
    """DEFAULTS overridden by options: a method's config entry (its `options`, and its
    `strategies`) or a plain options dict. Unknown option keys are an error."""
    cfg = dict(cfg or {})
    if "type" in cfg or "options" in cfg:  # a `methods.<name>` config entry
        opts = dict(cfg.get("options") or {})
        if cfg.get("strategies"):
            opts.setdefault("strategies", list(cfg["strategies"]))
    else:
        opts = cfg
    unknown = sorted(set(opts) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"siked: unknown option(s) {unknown}; known: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **opts}
    if out["variant"] not in ("all", "sparse"):
        raise ValueError(f"siked: variant must be 'all' or 'sparse', got {out['variant']!r}")
    if out["sparse_scope"] not in ("strategy", "question"):
        raise ValueError(f"siked: sparse_scope must be 'strategy' or 'question', "
                         f"got {out['sparse_scope']!r}")
    if out["policy"] not in ("on", "off"):
        raise ValueError(f"siked: policy must be 'on' or 'off', got {out['policy']!r}")
    from mathdistill.methods.selection import options as selection_options

    selection_options({"teacher_chains": out["teacher_chains"]})  # checks the value
    return out


# ---------------------------------------------------------------- self-generation
def generation_requests(problems: Sequence[Problem], strategies: Sequence[str], *,
                        instruction: str = combined.INSTRUCTION) -> list[dict]:
    """One request per (problem, strategy): {"id", "strategy", "prompt", "prefix"}.

    `prefix` (the tag, e.g. "[pot]: ") must be forced at the start of the output; for a
    causal student, generating from `prompt + prefix` does that."""
    from mathdistill.strategies import tag

    return [{"id": p.id, "strategy": s, "prompt": combined.combined_prompt(p.question, instruction),
             "prefix": tag(s)} for p in problems for s in strategies]


def self_rationales(problems: Sequence[Problem], requests: Sequence[dict],
                    outputs: Sequence[Sequence[str]], round: int) -> list[Rationale]:
    """Student samples -> Rationale(source="student"), one per output text.

    A leading tag in the output (the student wrote it again, or it was not forced) is
    removed; a tag naming another strategy makes the sample that strategy's
    (meta["forced"] keeps the requested one)."""
    from mathdistill.strategies import split_tag

    if len(requests) != len(outputs):
        raise ValueError(f"{len(requests)} requests but {len(outputs)} output lists")
    by_id = {p.id: p for p in problems}
    out = []
    for req, texts in zip(requests, outputs):
        p = by_id.get(req["id"])
        if p is None:
            raise ValueError(f"request for unknown problem {req['id']!r}")
        for k, text in enumerate(texts):
            written, body = split_tag(text or "")
            out.append(Rationale(
                id=p.id, question=p.question, answer=p.answer, strategy=written or req["strategy"],
                text=body.strip(), source="student", round=round,
                meta={"sample": k, "forced": req["strategy"]}))
    return out


def filter_self_samples(scored: Sequence[Rationale], *,
                        one_per_strategy: bool = True) -> list[Rationale]:
    """Correct samples only; L2M chains with no sub-question dropped; with
    `one_per_strategy`, the first correct chain per (question, strategy)."""
    unscored = [r for r in scored if r.correct is None]
    if unscored:
        raise ValueError(f"filter_self_samples: {len(unscored)} samples are not scored "
                         f"(e.g. {unscored[0].id!r}); run filtering.score_rationales first")
    kept, seen = [], set()
    for r in scored:
        if not r.correct or not r.text.strip():
            continue
        if r.strategy == "l2m" and "sub-question" not in r.text.lower():
            continue
        key = (r.id, r.strategy)
        if one_per_strategy and key in seen:
            continue
        seen.add(key)
        kept.append(r)
    logger.info("siked: %d self samples kept of %d", len(kept), len(scored))
    return kept


# ---------------------------------------------------------------- mixing
def mix_all(teacher: Sequence[Rationale], self_samples: Sequence[Rationale]) -> list[Rationale]:
    """All: every teacher rationale and every kept self sample."""
    return [*teacher, *self_samples]


def mix_sparse(teacher: Sequence[Rationale], self_samples: Sequence[Rationale], *,
               scope: str = "strategy") -> list[Rationale]:
    """Sparse: self samples, plus teacher rationales only where the student has no correct
    sample: for the same (question, strategy) (scope "strategy") or question ("question")."""
    if scope == "strategy":
        covered = {(r.id, r.strategy) for r in self_samples}
        llm = [r for r in teacher if (r.id, r.strategy) not in covered]
    elif scope == "question":
        covered_q = {r.id for r in self_samples}
        llm = [r for r in teacher if r.id not in covered_q]
    else:
        raise ValueError(f"mix_sparse: scope must be 'strategy' or 'question', got {scope!r}")
    return [*llm, *self_samples]


def apply_bias(rationales: Sequence[Rationale], strategy: str) -> list[Rationale]:
    """One rationale per question: the most preferred strategy present (`strategy` first,
    then BIAS_ORDER), a self sample before a teacher one, then input order."""
    order = [strategy, *(s for s in BIAS_ORDER if s != strategy)]
    rank = {s: i for i, s in enumerate(order)}
    best: dict[str, tuple] = {}
    for i, r in enumerate(rationales):
        key = (rank.get(r.strategy, len(rank)), r.source != "student", i)
        if r.id not in best or key < best[r.id][0]:
            best[r.id] = (key, r)
    return [r for _, r in sorted(best.values(), key=lambda kr: kr[0][2])]


def alpha(n_llm: int, n_self: int) -> float | None:
    """The mixing rate |D_LLM| / (|D_LLM| + |D_self|); None for an empty mix."""
    total = n_llm + n_self
    return n_llm / total if total else None


def mix(teacher: Sequence[Rationale], self_samples: Sequence[Rationale], *,
        variant: str = "all", scope: str = "strategy",
        bias: str | None = None) -> tuple[list[Rationale], dict]:
    """D_mix(t) for `variant` ("all" | "sparse"), optional bias; and its statistics."""
    teacher = [r for r in teacher if r.correct is not False]
    if variant == "all":
        mixed = mix_all(teacher, self_samples)
    elif variant == "sparse":
        mixed = mix_sparse(teacher, self_samples, scope=scope)
    else:
        raise ValueError(f"siked.mix: variant must be 'all' or 'sparse', got {variant!r}")
    if bias:
        mixed = apply_bias(mixed, bias)
    src = Counter("self" if r.source == "student" else "llm" for r in mixed)
    by_strategy: dict[str, dict[str, int]] = {}
    for r in mixed:
        d = by_strategy.setdefault(r.strategy, {"llm": 0, "self": 0})
        d["self" if r.source == "student" else "llm"] += 1
    stats = {"variant": variant, "scope": scope if variant == "sparse" else None, "bias": bias,
             "teacher_available": len(teacher), "self_available": len(self_samples),
             "n_llm": src["llm"], "n_self": src["self"], "alpha": alpha(src["llm"], src["self"]),
             "by_strategy": dict(sorted(by_strategy.items()))}
    logger.info("siked mix (%s%s): %d LLM + %d self, alpha %s", variant,
                f", bias {bias}" if bias else "", src["llm"], src["self"], stats["alpha"])
    return mixed, stats


def build_examples(rationales: Sequence[Rationale], strategies: Sequence[str] | None = None, *,
                   instruction: str = combined.INSTRUCTION, seed: int = 0) -> list[dict]:
    """Tagged examples (`combined.build_examples`), each with its "source"."""
    return combined.build_examples(rationales, strategies or sorted({r.strategy for r in rationales}),
                                   instruction=instruction, seed=seed)


# ---------------------------------------------------------------- rounds
def round_plan(round: int, cfg: Mapping | None, base: str, previous: str | None) -> dict:
    """How round `round` trains: {"round", "policy", "init", "resume_from",
    "merge_lora_first", "variant"} (round 0 always starts from `base`)."""
    opts = options(cfg)
    if round < 0:
        raise ValueError(f"siked: round must be >= 0, got {round}")
    if round > 0 and previous is None:
        raise ValueError(f"siked round {round}: the round {round - 1} checkpoint is needed")
    on = opts["policy"] == "on" and round > 0
    variant = "all" if opts["policy"] == "off" and opts["off_policy_all"] else opts["variant"]
    return {"round": round, "policy": opts["policy"], "init": previous if on else base,
            "resume_from": previous if on else None, "merge_lora_first": on,
            "variant": variant if round > 0 else None}


def round_examples(teacher: Sequence[Rationale], self_samples: Sequence[Rationale] | None,
                   cfg: Mapping | None, round: int, *, seed: int = 0) -> tuple[list[dict], dict]:
    """Round `round`'s examples and stats: round 0 = tagged teacher data (alpha 1);
    round t >= 1 = `mix` of teacher data and the (already filtered) self samples."""
    from mathdistill.methods.selection import limit_chains

    opts = options(cfg)
    strategies = opts["strategies"]
    teacher = limit_chains([r for r in teacher if r.strategy in strategies],
                           opts["teacher_chains"])
    if round == 0:
        mixed, stats = mix(teacher, [], variant="all")
        stats["variant"] = None
    else:
        if self_samples is None:
            raise ValueError(f"siked round {round}: self samples of round {round - 1} needed")
        plan = round_plan(round, opts, "base", "previous")
        mixed, stats = mix(teacher, [r for r in self_samples if r.strategy in strategies],
                           variant=plan["variant"], scope=opts["sparse_scope"], bias=opts["bias"])
    examples = build_examples(mixed, strategies, instruction=opts["instruction"], seed=seed)
    stats = {**stats, "round": round, "n_examples": len(examples)}
    return examples, stats


def build_round(inputs: Mapping[str, Sequence[str]], cfg: Mapping, round: int = 0, *,
                seed: int = 0) -> list[dict]:
    """Stage entry point: `inputs["rationales"]` = filtered teacher files; for round >= 1
    `inputs["self_samples"]` = scored self-sample files of round t (from checkpoint t-1)."""
    from mathdistill.io import DataError, read_records

    teacher: list[Rationale] = []
    for path in inputs["rationales"]:
        teacher.extend(read_records(path, Rationale))
    self_data = None
    if round > 0:
        scored: list[Rationale] = []
        for path in inputs.get("self_samples") or ():
            scored.extend(read_records(path, Rationale))
        self_data = filter_self_samples(scored,
                                        one_per_strategy=options(cfg)["one_per_strategy"])
    examples, _ = round_examples(teacher, self_data, cfg, round, seed=seed)
    if not examples:
        raise DataError(f"{', '.join(inputs['rationales'])}: siked round {round} has no examples")
    return examples
