"""FDD: easy/hard split, question candidates, ROUGE-L dedup, majority labels, rounds."""

import pytest

from mathdistill.methods import fdd
from mathdistill.records import Prediction, Problem, Rationale
from mathdistill.teachers.annotated import AnnotatedTeacher


def _p(pid, q="How many apples?", answer=1.0, **kw):
    return Problem(pid, "t", q, answer, **kw)


def _pred(pid, correct):
    return Prediction(pid, "t", "pot", "answer = 1", 1.0 if correct else 2.0, correct)


def test_easy_hard_split_by_the_students_own_answer():
    pool = [_p("a"), _p("b"), _p("c")]
    easy, hard = fdd.split_easy_hard(pool, [_pred("b", False), _pred("a", True),
                                            _pred("c", False), _pred("zz", True)])
    assert [p.id for p in easy] == ["a"] and [p.id for p in hard] == ["b", "c"]
    with pytest.raises(ValueError, match="no prediction"):
        fdd.split_easy_hard(pool, [_pred("a", True)])
    with pytest.raises(ValueError, match="two predictions"):
        fdd.split_easy_hard(pool[:1], [_pred("a", True), _pred("a", False)])
    reqs = fdd.question_requests(easy, hard)
    assert {m: [p.id for p in ps] for m, ps in reqs.items()} == {"harder": ["a"],
                                                                 "similar": ["b", "c"]}


def test_candidates_from_text_and_from_problems():
    seeds = [_p("s1", "Tom has 3 pens."), _p("s2", "Ann has 4 cups."), _p("s3", "Bo has 1 hat.")]
    made = _p("x", "Zed has 9 pens.", 9.0, gold={"steps": [{"var": "a", "expr": "9"}]})
    out = fdd.candidates(seeds, "similar", ["Kim has 5 pens.", None, "bo HAS 1  hat."], round=2)
    assert [(c.id, c.question, c.answer) for c in out] == [
        ("s1/fdd2-similar", "Kim has 5 pens.", None)]  # None and the seed's copy skipped
    assert out[0].gold == {"fdd": {"seed": "s1", "mode": "similar", "round": 2}}
    out = fdd.candidates(seeds[:1], "harder", [made], round=1)
    assert out[0].id == "s1/fdd1-harder" and out[0].answer == 9.0
    assert out[0].gold["steps"] and out[0].gold["fdd"]["mode"] == "harder"
    with pytest.raises(ValueError):
        fdd.candidates(seeds, "easier", [None] * 3, 1)
    with pytest.raises(ValueError):
        fdd.candidates(seeds, "harder", [None], 1)


def test_rouge_dedup_against_existing_and_within_round():
    existing = ["Tom has 3 red pens and buys 4 more pens. How many pens does Tom have now?"]
    cands = [
        _p("dup", "Tom has 3 red pens and buys 5 more pens. How many pens does Tom have now?"),
        _p("new", "A train travels 60 miles per hour for 3 hours. How far does it go?"),
        _p("dup2", "A train travels 60 miles per hour for 4 hours. How far does it go?"),
        _p("other", "Sara bakes 12 cookies and eats 2. How many cookies are left?"),
    ]
    kept, dropped = fdd.dedup_rouge(cands, existing, threshold=0.7)
    assert [c.id for c in kept] == ["new", "other"]
    assert [(d["id"], d["match"]) for d in dropped] == [("dup", existing[0]),
                                                        ("dup2", cands[1].question)]
    assert all(d["score"] > 0.7 for d in dropped)
    kept, _ = fdd.dedup_rouge(cands, existing, threshold=0.7, within=False)
    assert [c.id for c in kept] == ["new", "dup2", "other"]
    kept, _ = fdd.dedup_rouge(cands, existing, threshold=0.99)
    assert len(kept) == 4


def test_rouge_prefilter_gives_the_brute_force_result(data_dir):
    """The bag-of-tokens bound only skips pairs that cannot pass: same answer as scoring all."""
    from rouge_score import rouge_scorer

    from mathdistill import data

    existing = [p.question for p in data.load("gsm8k", "train", data_dir=data_dir, limit=60)]
    teacher = AnnotatedTeacher()
    seeds = data.load("synthetic", "train", n=30, seed=5)
    cands = fdd.candidates(seeds, "similar", teacher.generate_questions(seeds, "similar"), 1)
    cands += [_p("g", existing[3].replace("How", "So how")), _p("s", seeds[0].question + " Yes.")]
    existing += [p.question for p in seeds]
    kept, dropped = fdd.dedup_rouge(cands, existing, 0.7, within=False)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    brute = [c.id for c in cands
             if max(scorer.score(q, c.question)["rougeL"].fmeasure for q in existing) <= 0.7]
    assert [c.id for c in kept] == brute
    assert {"g", "s"} <= {d["id"] for d in dropped} and len(kept) > 10


def _prog(pid, pred, text=None, error=None):
    return Rationale(pid, "q", None, "pot", text or f"answer = {pred}", pred=pred, error=error)


def test_majority_label_needs_three_of_four():
    cands = [_p(c, f"Question {c}?", None) for c in "abcdef"]
    progs = [_prog("a", 5.0, "x = 5\nanswer = x"), _prog("a", 5.0000001), _prog("a", 5.0),
             _prog("a", 7.0),                                  # 3 of 4 agree: label 5
             _prog("b", 5.0), _prog("b", 5.0), _prog("b", 7.0), _prog("b", 7.0),  # tie
             _prog("c", 5.0), _prog("c", 5.0), _prog("c", None, error="syntax"),
             _prog("c", None, error="timeout"),               # only 2 agree
             _prog("d", None, error="syntax"),                 # nothing ran
             _prog("f", 2.0), _prog("f", 2.0), _prog("f", 2.0), _prog("f", 3.0),
             _prog("f", 3.0)]                                   # 5th program ignored (k=4)
    probs, rats, stats = fdd.label_by_majority(cands, progs, k=4, min_agree=3, round=1)
    assert [(p.id, p.answer) for p in probs] == [("a", 5.0), ("f", 2.0)]
    assert stats == {"candidates": 6, "accepted": 2, "no_programs": 2, "no_majority": 2,
                     "label_mismatch": 0, "rationales": 4}
    # the agreeing programs, identical texts once, labelled and marked correct
    assert [(r.id, r.text) for r in rats] == [
        ("a", "x = 5\nanswer = x"), ("a", "answer = 5.0000001"), ("a", "answer = 5.0"),
        ("f", "answer = 2.0")]
    assert [r.answer for r in rats] == [5.0, 5.0, 5.0, 2.0] and all(r.correct for r in rats)
    assert all(r.round == 1 and r.question == f"Question {r.id}?" for r in rats)
    # a candidate that states an answer must agree with the majority
    probs, _, stats = fdd.label_by_majority([_p("a", "Q?", 6.0)], progs[:4])
    assert probs == [] and stats["label_mismatch"] == 1
    with pytest.raises(ValueError):
        fdd.label_by_majority(cands, progs, k=4, min_agree=5)


def test_pool_and_dataset_updates():
    d0 = [Rationale("a", "qa", 1.0, "pot", "x"), Rationale("b", "qb", 1.0, "pot", "y",
                                                           correct=False)]
    train = [_p("a", "qa"), _p("b", "qb"), _p("c", "qc")]
    assert [p.id for p in fdd.initial_pool(train, d0)] == ["a"]
    g = [Rationale("n", "qn", 2.0, "pot", "z"), Rationale("a", "qa", 1.0, "pot", "x")]
    d1 = fdd.grow(d0, g)
    assert [(r.id, r.text) for r in d1] == [("a", "x"), ("b", "y"), ("n", "z")]
    assert fdd.questions(d1) == ["qa", "qb", "qn"]
    pool = fdd.next_pool([_p("b"), _p("c")], [_p("n"), _p("b")])
    assert [p.id for p in pool] == ["b", "c", "n"]
    ex = fdd.build_examples(d1, "pot")
    assert {e["target"] for e in ex} == {"x", "z"}  # known-wrong rationales are not trained on
    assert fdd.round_plan(2, {}, "base", "r1")["init"] == "base"  # retrained from scratch
    assert fdd.round_plan(2, {"init": "previous"}, "base", "r1")["resume_from"] == "r1"


def test_annotated_teacher_generates_variants():
    from mathdistill.data import synthetic

    seeds = synthetic.generate(4, seed=2, max_steps=2)
    t = AnnotatedTeacher()
    harder = t.generate_questions(seeds, "harder")
    similar = t.generate_questions(seeds, "similar", seed=1)
    for s, h, m in zip(seeds, harder, similar):
        assert len(h.gold["steps"]) == len(s.gold["steps"]) + 1
        assert len(m.gold["steps"]) == len(s.gold["steps"]) and m.question != s.question
        assert h.answer == h.gold["steps"][-1]["value"]
    gsm = Problem("gsm8k/train/0", "gsm8k", "q", 3.0, gold={"solution": "1+2=<<1+2=3>>3\n#### 3"})
    assert t.generate_questions([gsm], "harder") == [None]
    with pytest.raises(ValueError):
        t.generate_questions(seeds, "easier")


def test_one_round_end_to_end_with_the_annotated_teacher():
    """Round 1 on synthetic seeds: generate, dedup, k=4 programs run in the sandbox, label."""
    from mathdistill.data import synthetic
    from mathdistill.filtering import score_rationales

    seeds = synthetic.generate(6, seed=4, max_steps=2)
    t = AnnotatedTeacher(repeat=True)
    d0 = t.generate(seeds, "pot")  # n=1: one program per seed
    easy, hard = fdd.split_easy_hard(seeds, [_pred(p.id, i % 2 == 0) for i, p in enumerate(seeds)])
    cands = []
    for mode, ps in fdd.question_requests(easy, hard).items():
        cands += fdd.candidates(ps, mode, t.generate_questions(ps, mode, seed=1), round=1)
    cands, _ = fdd.dedup_rouge(cands, fdd.questions(d0))
    assert cands
    programs = score_rationales(t.generate(cands, "pot", n=4))
    probs, g1, stats = fdd.label_by_majority(cands, programs, round=1)
    assert stats["accepted"] == len(cands) == len(probs) == len(g1)  # one distinct program each
    assert all(p.answer == c.answer for p, c in zip(probs, cands))
    d1 = fdd.grow(d0, g1)
    assert len(d1) == len(d0) + len(g1)
    assert len(fdd.next_pool(hard, probs)) == len(hard) + len(probs)
