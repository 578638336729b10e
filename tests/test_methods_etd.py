"""ETD: the training union with triggers, and PoT -> EoT -> CoT fallback at inference."""

import pytest

from mathdistill.execution.result import Result
from mathdistill.methods import etd
from mathdistill.records import Prediction, Problem, Rationale
from mathdistill.strategies import get


def _rat(pid, strategy, text, correct=None):
    return Rationale(id=pid, question=f"Q {pid}?", answer=1.0, strategy=strategy, text=text,
                     correct=correct)


def test_union_with_each_trigger():
    rs = [_rat("a", "cot", "c1"), _rat("a", "pot", "p1"), _rat("a", "eot", "e1"),
          _rat("b", "l2m", "l1"), _rat("b", "pot", "wrong", correct=False),
          _rat("b", "pot", "p1b"), _rat("b", "pot", "p1b")]
    ex = etd.build_examples(rs, ["cot", "pot", "eot"], seed=0)
    got = sorted((e["id"], e["strategy"], e["target"]) for e in ex)
    assert got == [("a", "cot", "c1"), ("a", "eot", "e1"), ("a", "pot", "p1"), ("b", "pot", "p1b")]
    for e in ex:
        assert e["prompt"] == f"Question: Q {e['id']}?\n{get(e['strategy']).trigger}\n"
    # Table 3 combination: only the listed formats
    assert {e["strategy"] for e in etd.build_examples(rs, ["pot", "eot"])} == {"pot", "eot"}
    with pytest.raises(ValueError, match="subset"):
        etd.build_examples(rs, ["cot", "l2m"])


def test_fallback_order_and_counts():
    probs = [Problem(f"p{i}", "t", f"q{i}", 10.0) for i in range(5)]
    ok, wrong = Result(10.0), Result(3.0)
    results = {
        # p0 PoT right; p1 PoT crashes, EoT right; p2 PoT+EoT fail, CoT right;
        # p3 PoT runs but is wrong: no fallback; p4 everything fails
        "pot": [ok, Result(None, "syntax"), Result(None, "timeout"), wrong,
                Result(None, "runtime")],
        "eot": [wrong, ok, Result(None, "unsolvable"), ok, Result(None, "unsolvable")],
        "cot": [wrong, wrong, ok, ok, Result(None, "no_answer")],
    }
    texts = {s: [f"{s}{i}" for i in range(5)] for s in results}
    preds, stats = etd.fallback_predict(probs, texts, results)
    assert [p.strategy for p in preds] == ["pot", "eot", "cot", "pot", "cot"]
    assert [p.correct for p in preds] == [True, True, True, False, False]
    assert [p.text for p in preds] == ["pot0", "eot1", "cot2", "pot3", "cot4"]
    assert preds[4].error == "no_answer" and preds[4].pred is None
    assert preds[2].meta == {"tried": ["pot", "eot", "cot"], "failed": ["timeout", "unsolvable"]}
    assert stats["chosen"] == {"pot": 2, "eot": 1, "cot": 2}
    assert stats["fallbacks"] == {"pot->eot": 3, "eot->cot": 2}
    assert stats["accuracy"] == pytest.approx(3 / 5)
    assert stats["chosen_accuracy"] == {"pot": 0.5, "eot": 1.0, "cot": 0.5}
    # each format alone (Table 3 "queried as"): pot 1/5, eot 2/5, cot 2/5
    assert {s: v["correct"] for s, v in stats["by_strategy"].items()} == {"pot": 1, "eot": 2,
                                                                          "cot": 2}
    assert stats["by_strategy"]["pot"]["failed"] == 3


def test_combination_without_pot_and_lazy_generation():
    probs = [Problem("a", "t", "q", 2.0), Problem("b", "t", "q", 2.0)]
    eot = [Result(2.0), Result(None, "unsolvable")]
    assert etd.fallback_needed(eot) == [1]
    # CoT only generated where EoT failed (None elsewhere is fine)
    preds, stats = etd.fallback_predict(
        probs, {"cot": [None, "The answer is 2."], "eot": ["ans = 2", "x = x + 1"]},
        {"cot": [None, Result(2.0)], "eot": eot})
    assert stats["order"] == ["eot", "cot"] and stats["fallbacks"] == {"eot->cot": 1}
    assert [p.strategy for p in preds] == ["eot", "cot"] and all(p.correct for p in preds)
    assert stats["by_strategy"]["cot"]["n"] == 1
    # a needed format that was not generated is an error, not a silent miss
    with pytest.raises(ValueError, match="needs cot"):
        etd.fallback_predict(probs, {"cot": [None, None], "eot": ["", ""]},
                             {"cot": [None, None], "eot": eot})
    with pytest.raises(ValueError, match="texts"):
        etd.fallback_predict(probs, {"eot": ["x"]}, {"eot": eot})
    with pytest.raises(ValueError, match="not in the fallback order"):
        etd.fallback_order(["l2m"])


def test_fallback_from_prediction_records():
    probs = [Problem("a", "t", "q", 4.0), Problem("b", "t", "q", 4.0)]
    per = {
        "pot": [Prediction("a", "t", "pot", "answer = 4", 4.0, True),
                Prediction("b", "t", "pot", "answer = (", None, False, error="syntax")],
        "eot": [Prediction("b", "t", "eot", "ans = 4", 4.0, True)],  # only where needed
        "cot": [],
    }
    preds, stats = etd.fallback_from_predictions(probs, per)
    assert [(p.strategy, p.correct) for p in preds] == [("pot", True), ("eot", True)]
    assert stats["fallbacks"] == {"pot->eot": 1, "eot->cot": 0}


def test_build_round_reads_filtered_files(tmp_path):
    from mathdistill.io import write_jsonl

    path = tmp_path / "filtered.jsonl"
    write_jsonl(path, [_rat("a", "pot", "p"), _rat("a", "eot", "e"), _rat("a", "cot", "c")])
    ex = etd.build_round({"rationales": [str(path)]}, {"strategies": ["pot", "eot"]}, 0)
    assert sorted(e["strategy"] for e in ex) == ["eot", "pot"]
    with pytest.raises(ValueError, match="subset"):
        etd.build_round({"rationales": [str(path)]}, {"strategies": ["l2m"]}, 0)
