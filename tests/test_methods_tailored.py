"""Tailored Learning: exam mistakes, feedback requests, round data, triplet pools."""

import random

import pytest

from mathdistill.methods import tailored
from mathdistill.records import Problem, Rationale
from mathdistill.teachers.annotated import AnnotatedTeacher


def _s(pid, text, correct):
    return Rationale(pid, f"Q {pid}?", 6.0, "cot", text, source="student", correct=correct)


def _t(pid, text, correct=None, strategy="cot"):
    return Rationale(pid, f"Q {pid}?", 6.0, strategy, text, correct=correct)


def test_exam_mistakes_are_deduplicated_per_question():
    probs = [Problem("a", "t", "Q a?", 6.0), Problem("b", "t", "Q b?", 6.0)]
    outs = [["The answer is 5.", " The answer is 5. ", "The answer is 6.", "No idea"],
            ["The answer is 6.", "", "The answer is 6.", "The answer is 6."]]
    samples = tailored.exam_rationales(probs, outs, round=0)
    assert len(samples) == 8 and all(r.source == "student" for r in samples)
    from mathdistill.filtering import score_rationales  # CoT: extraction, nothing executed

    mistakes = tailored.collect_mistakes(score_rationales(samples))
    # "No idea" has no answer: a mistake; the empty text is not kept
    assert mistakes == {"a": ["The answer is 5.", "No idea"]}
    with pytest.raises(ValueError, match="not scored"):
        tailored.collect_mistakes([_s("a", "x", None)])
    with pytest.raises(ValueError):
        tailored.exam_rationales(probs, outs[:1], round=0)


def test_feedback_requests_cap_and_order():
    probs = [Problem("a", "t", "Q a?", 6.0), Problem("b", "t", "Q b?", 6.0),
             Problem("c", "t", "Q c?", 6.0)]
    mistakes = {"c": ["c1"], "a": ["a1", "a2", "a3"]}
    ps, wrong = tailored.feedback_requests(probs, mistakes, per_question=2)
    assert [p.id for p in ps] == ["a", "a", "c"] and wrong == ["a1", "a2", "c1"]
    with pytest.raises(ValueError):
        tailored.feedback_requests(probs, mistakes, per_question=0)


def test_round_data_round0_all_teacher_later_feedback_only():
    teacher = [_t("a", "Ta"), _t("b", "Tb"), _t("c", "bad", correct=False), _t("a", "P", strategy="pot")]
    feedback = [_t("a", "Fa"), _t("b", "wrong", correct=False)]
    assert [r.text for r in tailored.round_rationales(0, teacher, feedback)] == ["Ta", "Tb"]
    assert [r.text for r in tailored.round_rationales(1, teacher, feedback)] == ["Fa"]
    got = tailored.round_rationales(2, teacher, feedback, previous=[_t("b", "Tb")], accumulate=True)
    assert [r.text for r in got] == ["Tb", "Fa"]


def test_triplet_pools_cap_positives_and_negatives():
    positives = [_t("a", f"P{i}") for i in range(15)] + [_t("a", "P0"), _t("a", "x", correct=False)]
    mistakes = {"a": [f"N{i}" for i in range(7)], "b": ["Nb"]}
    pools = tailored.triplet_pools(positives, mistakes, seed=3)
    assert len(pools["a"]["positives"]) == 10 and len(set(pools["a"]["positives"])) == 10
    assert set(pools["a"]["positives"]) <= {f"P{i}" for i in range(15)}
    assert len(pools["a"]["negatives"]) == 4 and set(pools["a"]["negatives"]) <= set(mistakes["a"])
    assert pools["b"] == {"positives": [], "negatives": ["Nb"]}
    assert pools == tailored.triplet_pools(positives, mistakes, seed=3)  # seeded
    assert tailored.triplet_pools(positives, mistakes, max_pos=2, max_neg=1)["a"]["negatives"]
    # extra positives (e.g. the student's correct exam answers)
    pools = tailored.triplet_pools([_t("b", "Tb")], mistakes,
                                   extra_positives=[_s("b", "Sb", True), _s("b", "x", False)])
    assert sorted(pools["b"]["positives"]) == ["Sb", "Tb"]


def test_examples_carry_triplet_pools_and_draws_skip_the_anchor():
    data = [_t("a", "A1"), _t("a", "A2"), _t("b", "B1"), _t("c", "C1"), _t("a", "A1")]
    pools = tailored.triplet_pools(data, {"a": ["wa"], "b": ["wb"]})
    ex = {(e["id"], e["target"]): e for e in tailored.build_examples(data, pools, seed=0)}
    assert len(ex) == 4  # the repeated (prompt, target) once
    e = ex[("a", "A1")]
    assert e["prompt"] == "Question: Q a?\nLet's think step by step\n" and e["strategy"] == "cot"
    assert sorted(e["positives"]) == ["A1", "A2"] and e["negatives"] == ["wa"]
    rng = random.Random(0)
    assert all(tailored.draw_triplet(e, rng) == ("A2", "wa") for _ in range(5))
    assert tailored.draw_triplet(ex[("b", "B1")], rng) is None  # no *different* positive
    assert tailored.draw_triplet(ex[("c", "C1")], rng) is None  # no negative


def test_annotated_feedback_returns_reference_rationales():
    from mathdistill.data import synthetic

    probs = synthetic.generate(2, seed=1)
    t = AnnotatedTeacher()
    fb = t.feedback([probs[0], probs[0], probs[1]], ["w1", _s("x", "w2", False), "w3"])
    ref = [r.text for r in t.generate(probs, "cot")]
    assert [r.text for r in fb] == [ref[0], ref[0], ref[1]]
    assert [r.meta["wrong"] for r in fb] == ["w1", "w2", "w3"]
    assert all(r.meta["feedback"] and r.strategy == "cot" for r in fb)
    with pytest.raises(ValueError):
        t.feedback(probs, ["only one"])
    # the round's data: one distinct rationale per question (the reference)
    data = tailored.round_rationales(1, [], fb)
    assert len(tailored.build_examples(data, {})) == 2


def test_round_plan_continues_from_previous_checkpoint():
    assert tailored.round_plan(0, {}, "base", None) == {"round": 0, "init": "base",
                                                         "resume_from": None}
    assert tailored.round_plan(2, {}, "base", "r1") == {"round": 2, "init": "r1",
                                                         "resume_from": "r1"}
    assert tailored.round_plan(2, {"options": {"init": "base"}}, "base", "r1")["init"] == "base"
    with pytest.raises(ValueError):
        tailored.round_plan(1, {}, "base", None)
