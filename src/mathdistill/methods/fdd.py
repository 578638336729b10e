"""FDD: Feedback-Driven Distillation (Zhu, Li, Ma, Wang; arXiv 2411.14698), data logic.

    from mathdistill.methods import fdd
    pool = fdd.initial_pool(train_problems, d0)               # P_1: questions of D_0
    # round r >= 1 (the caller runs the student, the teacher and the executors):
    easy, hard = fdd.split_easy_hard(pool, exam_predictions)  # S_{r-1}, greedy PoT on P_r
    cands = []
    for mode, seeds in fdd.question_requests(easy, hard).items():   # harder / similar
        cands += fdd.candidates(seeds, mode, teacher.generate_questions(seeds, mode), r)
    cands, dropped = fdd.dedup_rouge(cands, fdd.questions(d_prev), threshold=0.7)
    programs = filtering.score_rationales(teacher.generate(cands, "pot", n=4))
    new_problems, g_r, stats = fdd.label_by_majority(cands, programs, k=4, min_agree=3, round=r)
    d_r = fdd.grow(d_prev, g_r)                               # D_r = D_{r-1} ∪ G_r
    pool = fdd.next_pool(hard, new_problems)                  # P_{r+1}
    examples = fdd.build_examples(d_r, "pot", seed=0)         # S_r trained from the base

Algorithm, round by round (spec §1.2):
- round 0: D_0 = the teacher's PoT programs for the train questions, kept when they run
  and match gold (the shared filter stage); S_0 = the base student trained on D_0.
  P_1 = the questions of D_0 (`initial_pool`) [S; spec open point 3, D_0 not all of train].
- round r >= 1:
  1. S_{r-1} answers P_r (greedy, one PoT sample [D]); correct = easy, else hard
     (`split_easy_hard`);
  2. the teacher writes one harder variant of each easy question and one similar question
     for each hard one (`question_requests`, `candidates`): real teachers use the prompts
     in `teachers/prompts/questions.yaml`; the annotated teacher uses the synthetic
     generator (harder = `synthetic.extend`, similar = `synthetic.perturb`);
  3. near-duplicates are removed: ROUGE-L F1 (rouge_score, no stemming) > threshold
     against every question of D_{r-1} and against candidates accepted before
     (`dedup_rouge`);
  4. labelling, spec default (b): k teacher programs per candidate, executed; a candidate
     is kept when >= min_agree results agree (within `is_correct`'s tolerance); the
     majority value is its label and the agreeing programs are its rationales
     (`label_by_majority`). A candidate that already carries an answer (the annotated
     teacher's) must also agree with it;
  5. D_r = D_{r-1} ∪ G_r (`grow`); P_{r+1} = hard(P_r) ∪ the new questions (`next_pool`);
  6. S_r is trained on D_r from the base model ("from scratch" [S]) (`round_plan`).

Spec items and defaults (`DEFAULTS`, the method's config `options`):
- [S] PoT only (`strategy` "pot"); [X] exam decoding: greedy, one sample [D].
- [X] new questions per seed: 1 [D]; [X] ROUGE-L threshold: 0.7 (Self-Instruct), against
  all questions of D_{r-1}, plus within the round (`dedup_within_round`) [D].
- [X] label of a generated question: option (b), k = 4 programs, agreement >= 3 [D].
- [X] whether easy seeds stay in D: yes, D only grows [S]; [X] rounds: 3 [D].
- [S] retraining from the base each round (`init` "base"; "previous" continues instead).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from mathdistill.methods import rounds, single
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["DEFAULTS", "build_examples", "candidates", "dedup_rouge", "grow", "initial_pool",
           "label_by_majority", "next_pool", "question_requests", "questions", "round_plan",
           "split_easy_hard"]

logger = logging.getLogger(__name__)

DEFAULTS = {"strategy": "pot", "rounds": 3, "k": 4, "min_agree": 3, "rouge_threshold": 0.7,
            "dedup_within_round": True, "init": "base"}
MODES = ("harder", "similar")


# ---------------------------------------------------------------- pools and the exam
def questions(rationales: Sequence[Rationale]) -> list[str]:
    """The distinct questions of a training set, in first-seen order."""
    return list(dict.fromkeys(r.question for r in rationales))


def initial_pool(problems: Sequence[Problem], d0: Sequence[Rationale]) -> list[Problem]:
    """P_1: the train problems that have at least one kept rationale in D_0."""
    ids = {r.id for r in d0 if r.correct is not False}
    return [p for p in problems if p.id in ids]


def split_easy_hard(pool: Sequence[Problem],
                    predictions: Sequence[Prediction]) -> tuple[list[Problem], list[Problem]]:
    """(easy, hard): the student's prediction for a pool problem is correct -> easy.

    One prediction per pool problem is required (matched by id)."""
    by_id: dict[str, Prediction] = {}
    for p in predictions:
        if p.id in by_id:
            raise ValueError(f"split_easy_hard: two predictions for {p.id!r}")
        by_id[p.id] = p
    missing = [p.id for p in pool if p.id not in by_id]
    if missing:
        raise ValueError(f"split_easy_hard: {len(missing)} pool problems have no prediction, "
                         f"e.g. {missing[0]!r}")
    easy = [p for p in pool if by_id[p.id].correct]
    hard = [p for p in pool if not by_id[p.id].correct]
    logger.info("fdd: %d easy, %d hard of %d", len(easy), len(hard), len(pool))
    return easy, hard


# ---------------------------------------------------------------- question generation
def question_requests(easy: Sequence[Problem], hard: Sequence[Problem]) -> dict[str, list[Problem]]:
    """Seeds per generation mode: easy -> "harder", hard -> "similar" (one question each)."""
    return {"harder": list(easy), "similar": list(hard)}


def candidates(seeds: Sequence[Problem], mode: str, generated: Sequence[str | Problem | None],
               round: int) -> list[Problem]:
    """New-question candidates from a teacher's output for `seeds` (aligned lists).

    A str (real teachers) becomes an unlabelled Problem (answer None); a Problem (the
    annotated teacher) keeps its answer and gold steps. None, empty text and copies of the
    seed are skipped. Ids: `"<seed id>/fdd<round>-<mode>"`; gold["fdd"] records the seed.
    """
    from mathdistill.teachers.prompting import norm_question

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    if len(seeds) != len(generated):
        raise ValueError(f"{len(seeds)} seeds but {len(generated)} generated questions")
    out = []
    for seed, g in zip(seeds, generated):
        if g is None:
            continue
        text = g.question if isinstance(g, Problem) else str(g)
        if not text.strip() or norm_question(text) == norm_question(seed.question):
            continue
        info = {"seed": seed.id, "mode": mode, "round": round}
        pid = f"{seed.id}/fdd{round}-{mode}"
        if isinstance(g, Problem):
            out.append(dataclasses.replace(g, id=pid, gold={**(g.gold or {}), "fdd": info}))
        else:
            out.append(Problem(id=pid, dataset=seed.dataset, question=text.strip(),
                               answer=None, gold={"fdd": info}))  # type: ignore[arg-type]
    return out


def dedup_rouge(cands: Sequence[Problem], existing: Sequence[str], threshold: float = 0.7, *,
                within: bool = True) -> tuple[list[Problem], list[dict]]:
    """(kept, dropped): drop a candidate whose ROUGE-L F1 with an existing question (or,
    with `within`, an earlier kept candidate) is > threshold.

    Scores come from `rouge_score` (RougeScorer(["rougeL"]), its default tokenizer). Only
    pairs whose bag-of-tokens bound 2 * overlap / (m + n) exceeds the threshold are
    scored (ROUGE-L F1 = 2 * LCS / (m + n) and LCS <= the multiset overlap), so the result
    is the same as scoring every pair; the overlaps with all texts come from a token index
    in numpy. dropped rows: {"id", "question", "match", "score"} (the first match found)."""
    import numpy as np
    from rouge_score import rouge_scorer, tokenizers

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    tok = tokenizers.DefaultTokenizer()
    texts = [*dict.fromkeys(existing), *(c.question for c in cands)]
    n_existing = len(texts) - len(cands)
    bags = [Counter(tok.tokenize(t)) for t in texts]
    lengths = np.array([sum(b.values()) for b in bags], dtype=float)
    postings: dict[str, tuple[list[int], list[int]]] = {}
    for i, bag in enumerate(bags):
        for t, k in bag.items():
            ids, counts = postings.setdefault(t, ([], []))
            ids.append(i)
            counts.append(k)
    index = {t: (np.array(ids), np.array(counts)) for t, (ids, counts) in postings.items()}
    active = np.zeros(len(texts), dtype=bool)
    active[:n_existing] = True
    kept, dropped = [], []
    for j, c in enumerate(cands):
        i = n_existing + j
        overlap = np.zeros(len(texts))
        for t, k in bags[i].items():
            ids, counts = index[t]
            overlap[ids] += np.minimum(counts, k)
        denom = np.maximum(lengths + lengths[i], 1.0)
        hit = None
        for r in np.flatnonzero(active & (2 * overlap / denom > threshold)):
            score = scorer.score(texts[r], c.question)["rougeL"].fmeasure
            if score > threshold:
                hit = (texts[r], score)
                break
        if hit:
            dropped.append({"id": c.id, "question": c.question, "match": hit[0], "score": hit[1]})
            continue
        kept.append(c)
        if within:
            active[i] = True
    logger.info("fdd dedup: kept %d, dropped %d (ROUGE-L > %s)", len(kept), len(dropped), threshold)
    return kept, dropped


# ---------------------------------------------------------------- labelling
def _clusters(values: Sequence[float]) -> list[list[float]]:
    """Group values that match the first value of a group (`is_correct` tolerance)."""
    from mathdistill.strategies import is_correct

    groups: list[list[float]] = []
    for v in values:
        for g in groups:
            if is_correct(v, g[0]):
                g.append(v)
                break
        else:
            groups.append([v])
    return groups


def _clean(v: float) -> float:
    return float(round(v)) if abs(v - round(v)) < 1e-9 else float(v)


def label_by_majority(cands: Sequence[Problem], programs: Sequence[Rationale], *, k: int = 4,
                      min_agree: int = 3, round: int = 0
                      ) -> tuple[list[Problem], list[Rationale], dict]:
    """(labelled problems, their agreeing programs G_r, stats), spec default (b).

    `programs`: the teacher's programs for the candidates, executed (pred/error set, e.g.
    by `filtering.score_rationales`); the first k per candidate are used. Stats count
    "accepted" and the rejections "no_programs", "no_majority", "label_mismatch"."""
    from mathdistill.strategies import is_correct

    if min_agree < 1 or min_agree > k:
        raise ValueError(f"label_by_majority: need 1 <= min_agree <= k, got {min_agree}, {k}")
    by_id: dict[str, list[Rationale]] = {}
    for r in programs:
        by_id.setdefault(r.id, []).append(r)
    problems, rationales = [], []
    stats = Counter()
    for c in cands:
        runs = [r for r in by_id.get(c.id, [])[:k]
                if r.error is None and isinstance(r.pred, (int, float)) and not isinstance(r.pred, bool)]
        if not runs:
            stats["no_programs"] += 1
            continue
        groups = sorted(_clusters([float(r.pred) for r in runs]), key=len, reverse=True)
        top = groups[0]
        if len(top) < min_agree or (len(groups) > 1 and len(groups[1]) == len(top)):
            stats["no_majority"] += 1
            continue
        label = _clean(Counter(top).most_common(1)[0][0])
        if c.answer is not None and not is_correct(label, c.answer):
            stats["label_mismatch"] += 1
            continue
        stats["accepted"] += 1
        problems.append(dataclasses.replace(c, answer=label))
        seen = set()
        for r in runs:
            if is_correct(float(r.pred), label) and r.text not in seen:
                seen.add(r.text)
                rationales.append(dataclasses.replace(
                    r, question=c.question, answer=label, correct=True, round=round,
                    meta={**r.meta, "fdd": (c.gold or {}).get("fdd")}))
    stats = {"candidates": len(cands), **{key: stats[key] for key in
             ("accepted", "no_programs", "no_majority", "label_mismatch")},
             "rationales": len(rationales)}
    logger.info("fdd labels: %s", stats)
    return problems, rationales, stats


# ---------------------------------------------------------------- the next round
def grow(previous: Sequence[Rationale], new: Sequence[Rationale]) -> list[Rationale]:
    """D_r = D_{r-1} ∪ G_r (a rationale already present, same id/strategy/text, is kept once)."""
    seen, out = set(), []
    for r in [*previous, *new]:
        key = (r.id, r.strategy, r.text)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def next_pool(hard: Sequence[Problem], generated: Sequence[Problem]) -> list[Problem]:
    """P_{r+1} = the hard questions of P_r and the questions generated in round r."""
    seen, out = set(), []
    for p in [*hard, *generated]:
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    return out


def build_examples(d: Sequence[Rationale], strategy: str = "pot", *, seed: int = 0) -> list[dict]:
    """Training examples of D_r (the strategy's trigger prompt, rationale target)."""
    return single.build_examples(d, [strategy], seed=seed)


def round_plan(round: int, cfg: Mapping | None, base: str, previous: str | None) -> dict:
    """How S_r is trained: from `base` every round ([S], `init` "base") or from S_{r-1}."""
    return rounds.round_plan("fdd", round, cfg, DEFAULTS, base, previous)
