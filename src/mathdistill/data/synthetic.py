"""Synthetic GSM-style word problems with a known program (`gold["steps"]`).

    from mathdistill.data import synthetic
    problems = synthetic.generate(100, seed=0, min_steps=1, max_steps=4, difficulty=1)
    p = problems[0]
    p.question        # e.g. "Mia has 12 apples. She sells 5 of the apples. Each apple costs $3.
                      #  How much do the apples cost?"
    p.gold["steps"]   # [{"var": "apples_left", "expr": "12 - 5", "value": 7.0,
                      #   "text": "Mia has 12 - 5 = 7 apples left.",
                      #   "question": "How many apples does Mia have left?"},
                      #  {"var": "cost", "expr": "apples_left * 3", "value": 21.0, ...}]
    synthetic.perturb(p, seed=1)   # same templates and wording, new numbers
    synthetic.extend(p, seed=1)    # one more step; the question now asks for it
    # through the registry (train and test are disjoint):
    # data.load("synthetic", "train", n=2000, seed=0)  -> ids "synthetic/train/<i>"

How a problem is built (templates in `synthetic_templates`): a start fact introduces a
quantity, then 1..N step templates each combine the previous quantity with one new
number (add, subtract, times-as-many, packing, percentages, fractions, shares, unit
prices, selling, fees, discounts, change, savings goals, hourly pay, rates, time).
Every choice (scene names and nouns, templates, wording, numbers) is recorded in
`gold["plan"]`, and `render(plan)` derives the question, the steps and the answer from
it, so `perturb`/`extend` edit the plan and re-render everything.

Numbers are exact (`fractions.Fraction`): counts, hours and minutes stay whole,
money stays in cents, divisions are chosen to divide exactly, and values stay below a
cap. `difficulty` (1, 2, 3, ...) scales the numbers (x1, x3, x10, ...), skews the step
count towards `max_steps`, and allows prices in quarters and any multiple-of-5 percent.

Train/test disjointness: `load_split` derives the seed from the split, and each split
keeps only questions whose SHA-256 falls in its half (`split_of`), so no question text
can be in both splits whatever n and seed are.
"""

from __future__ import annotations

import hashlib
import random

from mathdistill.data.synthetic_render import (
    State,
    advance,
    applies,
    arith,
    num,
    render,
    run_plan,
    start_state,
    store,
    to_fraction,
)
from mathdistill.data.synthetic_templates import STARTS, TEMPLATES, new_scene
from mathdistill.records import Problem

DATASET = "synthetic"
SPLITS = ("train", "test")
_START_WEIGHTS = {"count": 6, "money": 3, "hours": 1}


def _problem(plan: dict, pid: str) -> Problem:
    question, steps, answer = render(plan)
    return Problem(id=pid, dataset=DATASET, question=question, answer=float(answer),
                   gold={"steps": steps, "plan": plan})


# ------------------------------------------------------------------ sampling
def _sample_op(rng: random.Random, scene: dict, st: State, used: set[str], d: int):
    """One random applicable step from state `st`: (op, advance result) or None."""
    candidates = [t for t in TEMPLATES.values() if applies(t, st)]
    rng.shuffle(candidates)
    for t in candidates:
        a = t.sample(rng, st, d)
        if a is None:
            continue
        op = {"t": t.id, "w": rng.randrange(len(t.facts)), "p": rng.random() < 0.5,
              "a": store(a)}
        res = advance(scene, st, op, used, d)
        if res is not None:
            return op, res
    return None


def _sample_plan(rng: random.Random, n_steps: int, d: int) -> dict | None:
    scene = new_scene(rng)
    kind = rng.choices(list(_START_WEIGHTS), weights=list(_START_WEIGHTS.values()))[0]
    s = STARTS[kind]
    start = {"t": kind, "w": rng.randrange(len(s.facts)), "a": store(s.sample(rng, d))}
    st, _ = start_state(scene, start)
    ops, used = [], set()
    for _ in range(n_steps):
        got = _sample_op(rng, scene, st, used, d)
        if got is None:
            return None
        ops.append(got[0])
        st = got[1][0]
    return {"scene": scene, "start": start, "ops": ops, "difficulty": d}


def _n_steps(rng: random.Random, lo: int, hi: int, d: int) -> int:
    """Uniform in [lo, hi] at difficulty 1; skewed towards hi as difficulty grows."""
    span = hi - lo + 1
    return lo + min(int(rng.random() ** (1 / d) * span), span - 1)


def split_of(question: str) -> str:
    """The split a question text belongs to ("train" or "test"), by its SHA-256."""
    return "test" if hashlib.sha256(question.encode()).digest()[0] & 1 else "train"


def derive_seed(*parts) -> int:
    """A 64-bit seed from any parts (stable across runs and Python versions)."""
    text = "\x1f".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def _check_args(n, min_steps, max_steps, difficulty) -> None:
    for label, v, lo in (("n", n, 0), ("min_steps", min_steps, 1), ("difficulty", difficulty, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{label} must be an int >= {lo}, got {v!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < min_steps:
        raise ValueError(f"max_steps must be an int >= min_steps ({min_steps}), got {max_steps!r}")


def generate(n: int, *, seed, min_steps: int = 1, max_steps: int = 4, difficulty: int = 1,
             split: str | None = None) -> list[Problem]:
    """`n` distinct problems with min_steps..max_steps steps (deterministic in `seed`).

    split "train"/"test": ids `synthetic/<split>/<i>` and only questions of that split's
    half (`split_of`); another label only names the ids; None: ids `synthetic/<i>`.
    Problem i depends only on the draws before it, so a smaller n gives a prefix.
    """
    _check_args(n, min_steps, max_steps, difficulty)
    rng = random.Random(seed)
    prefix = f"{DATASET}/{split}" if split else DATASET
    out: list[Problem] = []
    seen: set[str] = set()
    for _ in range(200 * n + 1000):
        if len(out) == n:
            break
        plan = _sample_plan(rng, _n_steps(rng, min_steps, max_steps, difficulty), difficulty)
        if plan is None:
            continue
        problem = _problem(plan, f"{prefix}/{len(out)}")
        if problem.question in seen or (split in SPLITS and split_of(problem.question) != split):
            continue
        seen.add(problem.question)
        out.append(problem)
    if len(out) < n:
        raise RuntimeError(f"synthetic: only {len(out)} of {n} distinct problems generated")
    return out


def load_split(split: str, *, limit: int | None = None, n: int = 1000, seed=0,
               min_steps: int = 1, max_steps: int = 4, difficulty: int = 1) -> list[Problem]:
    """The registry's `load("synthetic", split, ...)`: a split-derived seed, disjoint splits."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} for dataset 'synthetic'; "
                         f"valid splits: {', '.join(SPLITS)}")
    count = n if limit is None else min(n, limit)
    return generate(count, seed=derive_seed(DATASET, split, seed), min_steps=min_steps,
                    max_steps=max_steps, difficulty=difficulty, split=split)


# ------------------------------------------------------------------ variants
def _plan_of(problem: Problem) -> dict:
    plan = (problem.gold or {}).get("plan")
    if not isinstance(plan, dict) or not plan.get("ops"):
        raise ValueError(f"problem {problem.id!r} has no synthetic plan (gold['plan']); "
                         "perturb/extend work on synthetic problems only")
    return plan


def _numbers(plan: dict) -> list:
    return [plan["start"]["a"], *(op["a"] for op in plan["ops"])]


def perturb(problem: Problem, seed, *, new_names: bool = False) -> Problem:
    """The same templates and wording with new numbers (and names/nouns if `new_names`).

    Values, texts, question and answer are recomputed; at least one number changes.
    The id is `<problem.id>/perturb-<seed>`. ValueError if no valid variant is found.
    """
    plan = _plan_of(problem)
    d = plan["difficulty"]
    rng = random.Random(derive_seed("perturb", seed, problem.question))
    for _ in range(500):
        scene = new_scene(rng) if new_names else plan["scene"]
        start = {**plan["start"], "a": store(STARTS[plan["start"]["t"]].sample(rng, d))}
        st, _ = start_state(scene, start)
        ops, used = [], set()
        for op in plan["ops"]:
            t = TEMPLATES[op["t"]]
            a = t.sample(rng, st, d) if applies(t, st) else None
            res = None if a is None else advance(scene, st, {**op, "a": store(a)}, used, d)
            if res is None:
                break
            ops.append({**op, "a": store(a)})
            st = res[0]
        new = {**plan, "scene": scene, "start": start, "ops": ops}
        if len(ops) == len(plan["ops"]) and _numbers(new) != _numbers(plan):
            return _problem(new, f"{problem.id}/perturb-{seed}")
    raise ValueError(f"could not perturb problem {problem.id!r}")


def extend(problem: Problem, seed) -> Problem:
    """The problem with one more step appended (the question now asks for its result).

    The id is `<problem.id>/extend-<seed>`. ValueError if no template fits the last
    quantity (rare: e.g. an amount with no exact divisor for the only applicable step).
    """
    plan = _plan_of(problem)
    st, _facts, steps = run_plan(plan)
    used = {s["var"] for s in steps}
    rng = random.Random(derive_seed("extend", seed, problem.question))
    for _ in range(20):
        got = _sample_op(rng, plan["scene"], st, set(used), plan["difficulty"])
        if got is not None:
            new = {**plan, "ops": [*plan["ops"], got[0]]}
            return _problem(new, f"{problem.id}/extend-{seed}")
    raise ValueError(f"could not extend problem {problem.id!r}: no step fits its last quantity")


__all__ = ["DATASET", "SPLITS", "TEMPLATES", "arith", "derive_seed", "extend", "generate",
           "load_split", "num", "perturb", "render", "split_of", "to_fraction"]
