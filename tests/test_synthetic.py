"""The synthetic word-problem generator: determinism, consistent programs, variants."""

import json
import math
import re
import statistics

import pytest

from mathdistill import data
from mathdistill.data import synthetic
from mathdistill.records import Problem
from mathdistill.strategies.arith import evaluate


def check_consistent(p: Problem) -> list[dict]:
    """Every step re-evaluates to its value, vars are unique, the last value is the answer."""
    steps = p.gold["steps"]
    assert steps and p.dataset == "synthetic"
    env: dict[str, float] = {}
    for i, s in enumerate(steps):
        assert set(s) == {"var", "expr", "value", "text", "question"}
        assert s["var"].isidentifier() and s["var"] not in env and s["var"] not in ("answer", "ans")
        value = evaluate(s["expr"], env)
        assert math.isclose(value, s["value"], rel_tol=1e-9, abs_tol=1e-9), (p.id, s)
        if i:  # chained: each step uses the previous result
            assert steps[i - 1]["var"] in re.findall(r"[A-Za-z_]\w*", s["expr"]), (p.id, s)
        assert isinstance(s["text"], str) and "=" in s["text"]
        assert isinstance(s["question"], str) and s["question"].endswith("?")
        env[s["var"]] = value
    assert type(p.answer) is float and p.answer == steps[-1]["value"]
    assert p.answer > 0 and round(p.answer, 2) == p.answer  # "nice": at most 2 decimals
    assert p.question.endswith(" " + steps[-1]["question"])
    return steps


def literals(p: Problem) -> list[float]:
    """The numbers written in the steps' exprs (names such as `apples_2` removed first)."""
    exprs = [re.sub(r"[A-Za-z_]\w*", " ", s["expr"]) for s in p.gold["steps"]]
    return [float(n) for e in exprs for n in re.findall(r"\d+(?:\.\d+)?", e)]


def test_determinism_and_seeds():
    a = synthetic.generate(40, seed=3)
    b = synthetic.generate(40, seed=3)
    c = synthetic.generate(40, seed=4)
    assert [p.to_dict() for p in a] == [p.to_dict() for p in b]
    assert [p.question for p in a] != [p.question for p in c]
    assert len({p.question for p in a} & {p.question for p in c}) < 5
    assert synthetic.generate(15, seed=3) == a[:15]  # a smaller n gives a prefix
    assert [p.id for p in a] == [f"synthetic/{i}" for i in range(40)]


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_every_program_is_consistent(difficulty):
    problems = synthetic.generate(300, seed=difficulty, min_steps=1, max_steps=5,
                                  difficulty=difficulty)
    assert len({p.question for p in problems}) == len(problems)
    for p in problems:
        steps = check_consistent(p)
        assert 1 <= len(steps) <= 5
        assert all(round(x, 2) == x for x in literals(p))


def test_steps_state_their_computation():
    for p in synthetic.generate(100, seed=9):
        for s in p.gold["steps"]:
            results = re.findall(r"= \$?(\d+(?:\.\d+)?)", s["text"])
            assert s["value"] in [float(r) for r in results], s


def test_question_is_rendered_from_the_plan():
    for p in synthetic.generate(50, seed=2, max_steps=3):
        # a JSON round trip keeps everything needed to re-render the problem
        q = Problem.from_dict(json.loads(json.dumps(p.to_dict())))
        question, steps, answer = synthetic.render(q.gold["plan"])
        assert (question, steps, answer) == (p.question, p.gold["steps"], p.answer)


def test_template_variety():
    problems = synthetic.generate(2000, seed=0)
    used = {op["t"] for p in problems for op in p.gold["plan"]["ops"]}
    assert len(used) >= 20 and len(synthetic.TEMPLATES) >= 20
    assert len({p.gold["plan"]["scene"]["persons"][0][0] for p in problems}) >= 20
    assert len({p.gold["plan"]["scene"]["item"][1] for p in problems}) >= 15
    first_sentences = {p.question.split(". ")[1].split()[1] for p in problems
                       if p.question.count(". ") >= 2}
    assert len(first_sentences) >= 10  # varied verbs in the step sentences
    assert {len(p.gold["steps"]) for p in problems} == {1, 2, 3, 4}


def test_train_and_test_are_disjoint():
    train = data.load("synthetic", "train", n=1500, seed=0)
    test = data.load("synthetic", "test", n=500, seed=0)
    assert [p.id for p in test] == [f"synthetic/test/{i}" for i in range(500)]
    assert not {p.question for p in train} & {p.question for p in test}
    assert {synthetic.split_of(p.question) for p in train} == {"train"}
    assert {synthetic.split_of(p.question) for p in test} == {"test"}
    other = data.load("synthetic", "train", n=50, seed=1)
    assert [p.question for p in other] != [p.question for p in train[:50]]


def test_perturb_keeps_structure_and_changes_numbers():
    problems = synthetic.generate(200, seed=5, max_steps=5, difficulty=2)
    changed_answer = 0
    for i, p in enumerate(problems):
        q = synthetic.perturb(p, seed=i)
        assert q.id == f"{p.id}/perturb-{i}"
        assert q == synthetic.perturb(p, seed=i)  # deterministic
        check_consistent(q)
        old, new = p.gold["plan"], q.gold["plan"]
        assert [(op["t"], op["w"]) for op in new["ops"]] == [(op["t"], op["w"]) for op in old["ops"]]
        assert new["scene"] == old["scene"] and new["start"]["t"] == old["start"]["t"]
        assert [s["var"] for s in q.gold["steps"]] == [s["var"] for s in p.gold["steps"]]
        assert literals(q) != literals(p) and q.question != p.question
        changed_answer += q.answer != p.answer
    assert changed_answer > 150
    renamed = synthetic.perturb(problems[0], seed=1, new_names=True)
    check_consistent(renamed)
    assert renamed.gold["plan"]["scene"] != problems[0].gold["plan"]["scene"]


def test_extend_adds_one_step():
    problems = synthetic.generate(200, seed=6, max_steps=4)
    for i, p in enumerate(problems):
        e = synthetic.extend(p, seed=i)
        assert e.id == f"{p.id}/extend-{i}" and e == synthetic.extend(p, seed=i)
        steps = check_consistent(e)
        assert len(steps) == len(p.gold["steps"]) + 1
        assert steps[:-1] == p.gold["steps"]
        body = p.question[: -len(p.gold["steps"][-1]["question"])]
        assert e.question.startswith(body) and e.question != p.question
        assert e.answer == steps[-1]["value"]
    twice = synthetic.extend(synthetic.extend(problems[0], seed=1), seed=2)
    assert len(check_consistent(twice)) == len(problems[0].gold["steps"]) + 2


def test_variants_need_a_plan():
    p = Problem(id="gsm8k/test/0", dataset="gsm8k", question="Q?", answer=1.0,
                gold={"solution": "#### 1"})
    with pytest.raises(ValueError, match="synthetic"):
        synthetic.perturb(p, seed=0)
    with pytest.raises(ValueError, match="synthetic"):
        synthetic.extend(p, seed=0)


def test_difficulty_raises_steps_and_magnitudes():
    stats = {}
    for d in (1, 3):
        problems = synthetic.generate(300, seed=11, min_steps=1, max_steps=6, difficulty=d)
        stats[d] = (statistics.mean(len(p.gold["steps"]) for p in problems),
                    statistics.median(max(literals(p)) for p in problems))
    assert stats[3][0] > stats[1][0] + 0.5
    assert stats[3][1] > 3 * stats[1][1]


def test_step_bounds_are_respected():
    problems = synthetic.generate(100, seed=1, min_steps=3, max_steps=3)
    assert {len(p.gold["steps"]) for p in problems} == {3}


@pytest.mark.parametrize("kwargs", [
    {"n": -1}, {"min_steps": 0}, {"min_steps": 3, "max_steps": 2}, {"difficulty": 0},
    {"n": 2.5},
])
def test_bad_arguments(kwargs):
    args = {"n": 3, "seed": 0, **kwargs}
    with pytest.raises(ValueError):
        synthetic.generate(args.pop("n"), **args)


def test_steps_fit_the_strategies():
    from mathdistill.strategies import check_steps

    for p in synthetic.generate(100, seed=4, max_steps=5):
        check_steps(p.gold["steps"], need=("var", "expr", "text"))
