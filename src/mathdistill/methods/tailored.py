"""Tailored Learning (Wang et al., EMNLP 2023, "Democratizing Reasoning Ability"), data logic.

    from mathdistill.methods import tailored
    # the exam: the student samples answers on the train questions (caller generates/scores)
    samples = tailored.exam_rationales(train_problems, outputs, round=r)
    mistakes = tailored.collect_mistakes(filtering.score_rationales(samples))
    # {"gsm8k/train/3": ["wrong rationale 1", "wrong rationale 2"], ...}
    probs, wrong = tailored.feedback_requests(train_problems, mistakes)
    feedback = filtering.filter_rationales(teacher.feedback(probs, wrong))[0]
    data = tailored.round_rationales(r + 1, teacher_all, feedback)
    pools = tailored.triplet_pools(data, mistakes, seed=0)     # <= 10 positives, <= 4 negatives
    examples = tailored.build_examples(data, pools, seed=0)
    # {"prompt", "target", "id", "strategy": "cot", "positives": [...], "negatives": [...]}
    tailored.draw_triplet(examples[0], random.Random(0))       # (positive, negative) | None

Algorithm, round by round (spec §2.2; project round r = the paper's round r + 1):
- exam (before every round): the current student (round 0: the base model) samples
  answers for every train question; wrong ones are its mistakes, deduplicated per
  question (`exam_rationales`, `collect_mistakes`).
- round 0: training data = the teacher's rationales for the whole training set, answer-
  filtered [M][C] (`round_rationales(0, ...)`); the student starts from the base model.
- round r >= 1: the teacher gets each mistaken question with a wrong rationale (and the
  gold answer) and writes a corrected rationale (`feedback_requests`; the annotated
  teacher returns its reference rationale); training data = those rationales (answer-
  filtered), new data only as the released README swaps files [C] (`accumulate`: also
  keep the earlier rounds' data); training continues from the round r-1 checkpoint [C]
  (`round_plan`).
- loss: L = L_LM + lambda * L_SR (`students.triplet`): anchor = the training rationale,
  positive = a different teacher rationale of the same question (<= 10 kept per question,
  random), negative = one of the student's mistakes (<= 4 kept, random) [C]; a sample
  with no different positive or no negative is masked out.

Spec items and defaults (`DEFAULTS`, the method's config `options`):
- [C] exam: 4 samples, T = 1.0, top-k 50, 128 new tokens (`EXAM_GENERATION`).
- [C] caps 10 / 4, margin 1.0, lambda 0.5, continuation cut at 192 tokens.
- [X] teacher feedback prompt: the spec's stand-in (`teachers/prompts/feedback.yaml`);
  [X] rationales per mistake: one per distinct mistake, at most `feedback_per_question`
  (default 4 = the exam's samples) [D]; [X] rounds: 3 [S].
- `prompt` "project" (default [D]: the project's zero-shot `student_prompt(question,
  "cot")`) | "fewshot" (the paper [C], spec §2.5: `methods.tailored_prompt`, per-task demos
  then `Question: ...\nReasoning:`, targets ` {flat rationale}\nAnswer: {answer}`, the same
  prompt for training, exam and evaluation; mistakes formatted like teacher data);
  `task` None = the data set of the question ids (`tailored_prompt.task_of`). The upstream
  0.1 prompt-token weight is a training option (`prompt_loss_weight`).
- [D] `positives_from_exam` (default False, upstream: teacher rationales only): also use
  the student's correct exam samples as positives. With a teacher that gives one
  rationale per question (the annotated one) no sample has a *different* positive, so the
  self-reflection term is 0 unless this is on.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence

from mathdistill.methods import rounds
from mathdistill.records import Problem, Rationale

__all__ = ["DEFAULTS", "EXAM_GENERATION", "PROMPTS", "build_examples", "collect_mistakes",
           "draw_triplet", "exam_rationales", "feedback_requests", "round_plan",
           "round_rationales", "student_input", "triplet_pools"]

logger = logging.getLogger(__name__)

EXAM_GENERATION = {"do_sample": True, "num_samples": 4, "temperature": 1.0, "top_k": 50,
                   "max_new_tokens": 128}
DEFAULTS = {"strategy": "cot", "rounds": 3, "max_pos": 10, "max_neg": 4, "margin": 1.0,
            "lambda": 0.5, "max_sr_len": 192, "feedback_per_question": 4, "accumulate": False,
            "positives_from_exam": False, "init": "previous", "prompt": "project",
            "task": None}
PROMPTS = ("project", "fewshot")


def student_input(problem: Problem, prompt: str = "project", task: str | None = None,
                  strategy: str = "cot") -> str:
    """The student's prompt for `problem`: the project's zero-shot one or the paper's
    few-shot one (`tailored_prompt.prompt`, demos of `task` or of the problem's data set)."""
    if prompt not in PROMPTS:
        raise ValueError(f"tailored: prompt must be one of {PROMPTS}, got {prompt!r}")
    if prompt == "project":
        from mathdistill.strategies import student_prompt

        return student_prompt(problem.question, strategy)
    from mathdistill.methods import tailored_prompt

    return tailored_prompt.prompt(problem.question, task or problem.dataset,
                                  choices=problem.choices)


# ---------------------------------------------------------------- the exam
def exam_rationales(problems: Sequence[Problem], outputs: Sequence[Sequence[str]], round: int,
                    strategy: str = "cot") -> list[Rationale]:
    """The student's exam answers -> Rationale(source="student"), one per sampled text."""
    if len(problems) != len(outputs):
        raise ValueError(f"{len(problems)} problems but {len(outputs)} output lists")
    return [Rationale(id=p.id, question=p.question, answer=p.answer, strategy=strategy,
                      text=(t or "").strip(), source="student", round=round, meta={"sample": k})
            for p, texts in zip(problems, outputs) for k, t in enumerate(texts)]


def collect_mistakes(scored: Sequence[Rationale]) -> dict[str, list[str]]:
    """{problem id: distinct wrong rationale texts, in sample order} (empty texts skipped).

    `scored` must carry `correct` (e.g. `filtering.score_rationales`); a sample with no
    answer counts as wrong."""
    unscored = [r for r in scored if r.correct is None]
    if unscored:
        raise ValueError(f"collect_mistakes: {len(unscored)} samples are not scored "
                         f"(e.g. {unscored[0].id!r}); run filtering.score_rationales first")
    out: dict[str, list[str]] = {}
    for r in scored:
        text = r.text.strip()
        if r.correct or not text:
            continue
        texts = out.setdefault(r.id, [])
        if text not in texts:
            texts.append(text)
    logger.info("tailored exam: %d of %d questions have mistakes",
                len(out), len({r.id for r in scored}))
    return out


def feedback_requests(problems: Sequence[Problem], mistakes: Mapping[str, Sequence[str]], *,
                      per_question: int = DEFAULTS["feedback_per_question"]
                      ) -> tuple[list[Problem], list[str]]:
    """Aligned (problems, wrong rationales) for `teacher.feedback`: the first
    `per_question` distinct mistakes of each mistaken problem, in problem order."""
    if per_question < 1:
        raise ValueError(f"per_question must be >= 1, got {per_question}")
    probs, wrong = [], []
    for p in problems:
        for text in list(mistakes.get(p.id, ()))[:per_question]:
            probs.append(p)
            wrong.append(text)
    return probs, wrong


# ---------------------------------------------------------------- round data
def round_rationales(round: int, teacher: Sequence[Rationale], feedback: Sequence[Rationale] = (),
                     previous: Sequence[Rationale] = (), *, accumulate: bool = False,
                     strategy: str = "cot") -> list[Rationale]:
    """Round 0: all teacher rationales; round r >= 1: the feedback rationales (plus
    `previous` rounds' data with `accumulate`). Known-wrong ones are dropped."""
    if round < 0:
        raise ValueError(f"tailored: round must be >= 0, got {round}")
    new = teacher if round == 0 else feedback
    rs = [*(previous if accumulate and round > 0 else ()), *new]
    return [r for r in rs if r.strategy == strategy and r.correct is not False and r.text.strip()]


def triplet_pools(positives: Sequence[Rationale], mistakes: Mapping[str, Sequence[str]], *,
                  max_pos: int = 10, max_neg: int = 4, seed: int = 0,
                  extra_positives: Sequence[Rationale] = ()) -> dict[str, dict[str, list[str]]]:
    """{id: {"positives": [...], "negatives": [...]}}: per question at most `max_pos`
    distinct rationale texts and `max_neg` mistakes, drawn at random (seeded) as
    upstream's `random.sample`. `extra_positives`: e.g. correct exam samples."""
    texts: dict[str, list[str]] = {}
    for r in [*positives, *extra_positives]:
        if r.correct is False or not r.text.strip():
            continue
        lst = texts.setdefault(r.id, [])
        if r.text not in lst:
            lst.append(r.text)
    rng = random.Random(seed)
    out = {}
    for pid in sorted(set(texts) | set(mistakes)):
        pos, neg = texts.get(pid, []), list(dict.fromkeys(mistakes.get(pid, ())))
        out[pid] = {"positives": rng.sample(pos, min(max_pos, len(pos))),
                    "negatives": rng.sample(neg, min(max_neg, len(neg)))}
    return out


def build_examples(rationales: Sequence[Rationale], pools: Mapping[str, Mapping[str, list]], *,
                   seed: int = 0, shuffle: bool = True, prompt: str = "project",
                   task: str | None = None,
                   choices: Mapping[str, Sequence[str]] | None = None) -> list[dict]:
    """Examples {"prompt", "target", "id", "strategy", "positives", "negatives"}; exact
    (prompt, target) repeats are kept once; seeded shuffle. `prompt` "fewshot": the paper's
    prompt and target format for the example and its positives/negatives (`choices`: the
    answer choices per question id, CSQA)."""
    from mathdistill.methods import tailored_prompt

    def fmt(r: Rationale, text: str) -> str:
        if prompt == "project":
            return text
        return tailored_prompt.continuation(text, r.answer, task or r.id)

    seen, out = set(), []
    for r in rationales:
        p = Problem(id=r.id, dataset=r.id.split("/", 1)[0], question=r.question, answer=r.answer,
                    choices=list((choices or {}).get(r.id) or []) or None)
        ex = {"prompt": student_input(p, prompt, task, r.strategy), "target": fmt(r, r.text),
              "id": r.id, "strategy": r.strategy}
        if (ex["prompt"], ex["target"]) in seen:
            continue
        seen.add((ex["prompt"], ex["target"]))
        pool = pools.get(r.id, {})
        ex["positives"] = [fmt(r, t) for t in pool.get("positives", [])]
        ex["negatives"] = [fmt(r, t) for t in pool.get("negatives", [])]
        out.append(ex)
    if shuffle:
        random.Random(seed).shuffle(out)
    usable = sum(1 for ex in out if draw_triplet(ex, None) is not None)
    logger.info("tailored: %d examples, %d with a triplet", len(out), usable)
    return out


def draw_triplet(example: Mapping, rng: random.Random | None) -> tuple[str, str] | None:
    """(positive, negative) for one example, or None (masked): a random positive whose
    text differs from the anchor's target and a random negative (upstream collator).
    With rng None, the first usable ones (deterministic; used for counting)."""
    pos = [p for p in example.get("positives", ()) if p != example["target"]]
    neg = list(example.get("negatives", ()))
    if not pos or not neg:
        return None
    if rng is None:
        return pos[0], neg[0]
    return rng.choice(pos), rng.choice(neg)


def round_plan(round: int, cfg: Mapping | None, base: str, previous: str | None) -> dict:
    """Round 0 starts from `base`; later rounds from the previous checkpoint [C] (`init`
    "previous"; "base" retrains from the base model every round)."""
    return rounds.round_plan("tailored", round, cfg, DEFAULTS, base, previous)
