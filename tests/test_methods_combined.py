"""Combined: tagged targets, routing generated text by its tag, strategy share."""

import pytest

from mathdistill.execution.result import Result
from mathdistill.methods import combined
from mathdistill.records import Problem, Rationale
from mathdistill.strategies import get


def _rat(pid, strategy, text, correct=None, source="teacher"):
    return Rationale(id=pid, question=f"Q {pid}?", answer=6.0, strategy=strategy, text=text,
                     correct=correct, source=source)


def test_tagged_targets_and_neutral_prompt():
    rs = [_rat("a", "cot", "So 6.\nThe answer is 6."), _rat("a", "pot", "answer = 6"),
          _rat("a", "l2m", "Sub-question 1: x?\nFinal Answer: 6"), _rat("a", "eot", "ans = 6"),
          _rat("b", "pot", "answer = 7", correct=False), _rat("b", "pot", "answer = 6"),
          _rat("b", "pot", "answer = 6")]
    ex = combined.build_examples(rs, seed=0)
    got = sorted((e["id"], e["target"]) for e in ex)
    assert got == [("a", "[cot]: So 6.\nThe answer is 6."),
                   ("a", "[l2m]: Sub-question 1: x?\nFinal Answer: 6"),
                   ("a", "[pot]: answer = 6"), ("b", "[pot]: answer = 6")]
    assert {e["prompt"] for e in ex} == {
        f"Question: Q {q}?\n{combined.INSTRUCTION}\n" for q in "ab"}
    # eot only when enabled
    ex = combined.build_examples(rs, ["cot", "pot", "l2m", "eot"])
    assert "[eot]: ans = 6" in {e["target"] for e in ex}
    # the prompt names no strategy: the student must choose it
    for s in ("cot", "pot", "eot", "l2m"):
        assert get(s).trigger not in ex[0]["prompt"]


def test_route_by_tag():
    texts = ["[pot]: x = 2\nanswer = x * 3", "[cot]: The answer is 6.", "The answer is 6.",
             "  [l2m]: Sub-question 1: a?\nFinal Answer: 6", "[eot]: ans = 6", ""]
    assert combined.route(texts) == [
        ("pot", "x = 2\nanswer = x * 3"), ("cot", "The answer is 6."), (None, "The answer is 6."),
        ("l2m", "Sub-question 1: a?\nFinal Answer: 6"), ("eot", "ans = 6"), (None, "")]


def test_answer_routed_groups_calls_and_keeps_order():
    routed = combined.route(["[pot]: P1", "no tag", "[cot]: C1", "[pot]: P2"])
    calls = []

    def answers(strategy, bodies):
        calls.append((strategy, list(bodies)))
        return [Result(float(len(b))) for b in bodies]

    res = combined.answer_routed(routed, answers)
    assert sorted(calls) == [("cot", ["no tag", "C1"]), ("pot", ["P1", "P2"])]
    assert [r.value for r in res] == [2.0, 6.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="returned"):
        combined.answer_routed(routed, lambda s, b: [])


def test_predictions_and_strategy_share_with_real_extraction():
    probs = [Problem(f"p{i}", "t", "q", 6.0) for i in range(4)]
    texts = ["[cot]: 2 * 3 = 6. The answer is 6.", "[l2m]: Sub-question 1: x?\nFinal Answer: 5",
             "The answer is 6.", "[cot]: no number here"]
    routed = combined.route(texts)
    # only extraction strategies here, so nothing is executed
    results = combined.answer_routed(routed, lambda s, b: get(s).answers(b))
    preds = combined.to_predictions(probs, texts, routed, results)
    assert [p.strategy for p in preds] == ["cot", "l2m", "untagged", "cot"]
    assert [p.correct for p in preds] == [True, False, True, False]
    assert preds[3].error == "no_answer" and preds[2].meta == {"tag": None}
    assert combined.strategy_share(preds) == {"cot": 0.5, "l2m": 0.25, "untagged": 0.25}
    assert combined.strategy_share([]) == {}
    assert combined.strategy_share(["pot", {"strategy": "cot"}]) == {"cot": 0.5, "pot": 0.5}


def test_build_round(tmp_path):
    from mathdistill.io import write_jsonl

    path = tmp_path / "f.jsonl"
    write_jsonl(path, [_rat("a", "cot", "The answer is 6."), _rat("a", "pot", "answer = 6")])
    ex = combined.build_round({"rationales": [str(path)]},
                              {"type": "combined", "strategies": ["pot"]}, 0)
    assert [e["target"] for e in ex] == ["[pot]: answer = 6"]
    with pytest.raises(ValueError, match="single-round"):
        combined.build_round({"rationales": [str(path)]}, {"strategies": ["pot"]}, 1)
