"""SIKeD: self-sample filtering, All/Sparse mixing, alpha, bias, rounds and init plans."""

import pytest

from mathdistill.methods import siked
from mathdistill.records import Problem, Rationale

L2M_OK = "Sub-question 1: How many?\nAnswer to Sub-question 1: 6\nFinal Answer: 6"


def _r(pid, strategy, text="t", source="teacher", correct=True, sample=0):
    return Rationale(id=pid, question=f"Q {pid}?", answer=6.0, strategy=strategy, text=text,
                     source=source, correct=correct, meta={"sample": sample})


def _self(pid, strategy, text="s", correct=True, sample=0):
    return _r(pid, strategy, text, source="student", correct=correct, sample=sample)


def test_filter_keeps_first_correct_chain_per_question_and_strategy():
    scored = [_self("a", "pot", "wrong", correct=False, sample=0), _self("a", "pot", "p1", sample=1),
              _self("a", "pot", "p2", sample=2), _self("a", "cot", "c1"),
              _self("b", "l2m", "Final Answer: 6"),          # no sub-question: dropped
              _self("b", "l2m", L2M_OK), _self("c", "cot", "  ", correct=True)]
    kept = siked.filter_self_samples(scored)
    assert [(r.id, r.strategy, r.text) for r in kept] == [
        ("a", "pot", "p1"), ("a", "cot", "c1"), ("b", "l2m", L2M_OK)]
    every = siked.filter_self_samples(scored, one_per_strategy=False)
    assert [r.text for r in every if r.id == "a"] == ["p1", "p2", "c1"]
    with pytest.raises(ValueError, match="not scored"):
        siked.filter_self_samples([_self("a", "cot", correct=None)])


def _teacher():
    return [_r(q, s, f"T-{q}-{s}") for q in "abc" for s in ("cot", "pot", "l2m")]


def test_sparse_takes_teacher_data_only_where_the_student_has_no_correct_sample():
    self_data = [_self("a", "pot"), _self("a", "cot"), _self("b", "l2m")]
    mixed = siked.mix_sparse(_teacher(), self_data)  # per (question, strategy), as the code
    llm = {(r.id, r.strategy) for r in mixed if r.source == "teacher"}
    assert llm == {("a", "l2m"), ("b", "cot"), ("b", "pot"), ("c", "cot"), ("c", "pot"),
                   ("c", "l2m")}
    assert [r for r in mixed if r.source == "student"] == self_data
    # Algorithm 1's wording: per question
    mixed = siked.mix_sparse(_teacher(), self_data, scope="question")
    assert {r.id for r in mixed if r.source == "teacher"} == {"c"}
    with pytest.raises(ValueError):
        siked.mix_sparse(_teacher(), self_data, scope="x")


def test_alpha_is_llm_share_of_the_mix():
    self_data = [_self("a", "pot"), _self("a", "cot"), _self("b", "l2m")]
    mixed, stats = siked.mix(_teacher(), self_data, variant="all")
    assert len(mixed) == 12 and stats["n_llm"] == 9 and stats["n_self"] == 3
    assert stats["alpha"] == pytest.approx(9 / 12)
    mixed, stats = siked.mix(_teacher(), self_data, variant="sparse")
    assert (stats["n_llm"], stats["n_self"]) == (6, 3)
    assert stats["alpha"] == pytest.approx(6 / 9)
    assert stats["by_strategy"]["pot"] == {"llm": 2, "self": 1}
    assert siked.alpha(0, 0) is None and siked.alpha(3, 1) == 0.75
    # known-wrong teacher rationales never enter the mix
    bad = [_r("z", "cot", correct=False)]
    assert siked.mix(bad, [], variant="all")[1]["n_llm"] == 0


def test_bias_keeps_one_sample_per_question_preferring_the_strategy():
    rs = [_r("a", "cot"), _r("a", "pot"), _self("a", "cot", "self-cot"),
          _r("b", "cot"), _r("b", "l2m"), _self("c", "l2m")]
    got = siked.apply_bias(rs, "pot")
    assert [(r.id, r.strategy, r.source) for r in got] == [
        ("a", "pot", "teacher"), ("b", "cot", "teacher"), ("c", "l2m", "student")]
    got = siked.apply_bias(rs, "cot")  # within a strategy, the student's own sample first
    assert [(r.id, r.text) for r in got] == [("a", "self-cot"), ("b", "t"), ("c", "s")]
    got = siked.apply_bias(rs, "l2m")
    assert [(r.id, r.strategy) for r in got] == [("a", "pot"), ("b", "l2m"), ("c", "l2m")]
    _, stats = siked.mix(rs, [], variant="all", bias="l2m")
    assert stats["n_llm"] + stats["n_self"] == 3 and stats["bias"] == "l2m"


def test_generation_requests_and_self_rationales():
    probs = [Problem("a", "t", "Q a?", 6.0)]
    reqs = siked.generation_requests(probs, ["cot", "pot"])
    assert [(r["strategy"], r["prefix"]) for r in reqs] == [("cot", "[cot]: "), ("pot", "[pot]: ")]
    assert reqs[0]["prompt"] == f"Question: Q a?\n{siked.combined.INSTRUCTION}\n"
    outs = [["The answer is 6.", "[cot]: So 6."], ["[l2m]: Sub-question 1: x?"]]
    rs = siked.self_rationales(probs, reqs, outs, round=2)
    assert [(r.strategy, r.text, r.meta["sample"], r.meta["forced"]) for r in rs] == [
        ("cot", "The answer is 6.", 0, "cot"), ("cot", "So 6.", 1, "cot"),
        ("l2m", "Sub-question 1: x?", 0, "pot")]
    assert all(r.source == "student" and r.round == 2 and r.answer == 6.0 for r in rs)
    with pytest.raises(ValueError):
        siked.self_rationales(probs, reqs, outs[:1], round=2)


def test_self_samples_scored_for_real_and_mixed():
    from mathdistill.filtering import score_rationales

    probs = [Problem("a", "t", "Q a?", 6.0), Problem("b", "t", "Q b?", 6.0)]
    reqs = siked.generation_requests(probs, ["cot", "l2m"])  # extraction only: no sandbox
    outs = [["So 5. The answer is 5.", "So 6. The answer is 6."], ["Final Answer: 6", L2M_OK],
            ["The answer is 7."], ["nothing"]]
    kept = siked.filter_self_samples(score_rationales(siked.self_rationales(probs, reqs, outs, 1)))
    assert [(r.id, r.strategy, r.text) for r in kept] == [
        ("a", "cot", "So 6. The answer is 6."), ("a", "l2m", L2M_OK)]
    teacher = [_r(q, s, f"T{q}{s}") for q in "ab" for s in ("cot", "l2m")]
    ex, stats = siked.round_examples(teacher, kept, {"variant": "sparse",
                                                     "strategies": ["cot", "l2m"]}, round=1)
    assert sorted(e["target"] for e in ex) == sorted(
        ["[cot]: So 6. The answer is 6.", f"[l2m]: {L2M_OK}", "[cot]: Tbcot", "[l2m]: Tbl2m"])
    assert stats["alpha"] == 0.5 and stats["round"] == 1 and stats["n_examples"] == 4
    ex0, stats0 = siked.round_examples(teacher, None, {"strategies": ["cot", "l2m"]}, round=0)
    assert len(ex0) == 4 and stats0["alpha"] == 1.0
    with pytest.raises(ValueError, match="self samples"):
        siked.round_examples(teacher, None, {}, round=1)


def test_round_plan_on_and_off_policy():
    plan = siked.round_plan(2, {"policy": "on", "variant": "sparse"}, "base", "r1/checkpoint")
    assert plan == {"round": 2, "policy": "on", "init": "r1/checkpoint",
                    "resume_from": "r1/checkpoint", "merge_lora_first": True, "variant": "sparse"}
    plan = siked.round_plan(2, {"policy": "off", "variant": "sparse"}, "base", "r1/checkpoint")
    assert plan["init"] == "base" and plan["resume_from"] is None
    assert plan["variant"] == "all"  # the paper's off-policy runs use all LLM data
    assert siked.round_plan(0, {}, "base", None)["init"] == "base"
    with pytest.raises(ValueError, match="checkpoint"):
        siked.round_plan(1, {}, "base", None)


def test_options_from_a_method_config():
    cfg = {"type": "siked", "strategies": ["pot", "cot"], "rounds": 4,
           "options": {"variant": "sparse", "bias": "pot"}}
    opts = siked.options(cfg)
    assert opts["strategies"] == ["pot", "cot"] and opts["variant"] == "sparse"
    assert opts["k"] == 10 and opts["temperature"] == 0.7
    with pytest.raises(ValueError, match="unknown option"):
        siked.options({"varaint": "all"})
    with pytest.raises(ValueError, match="variant"):
        siked.options({"variant": "some"})


def test_build_round_reads_teacher_and_self_files(tmp_path):
    from mathdistill.io import write_jsonl

    t, s = tmp_path / "t.jsonl", tmp_path / "s.jsonl"
    write_jsonl(t, [_r("a", "cot", "Ta"), _r("b", "cot", "Tb")])
    write_jsonl(s, [_self("a", "cot", "Sa"), _self("b", "cot", "x", correct=False)])
    cfg = {"type": "siked", "strategies": ["cot"], "options": {"variant": "sparse"}}
    ex = siked.build_round({"rationales": [str(t)], "self_samples": [str(s)]}, cfg, 1)
    assert sorted(e["target"] for e in ex) == ["[cot]: Sa", "[cot]: Tb"]
    ex0 = siked.build_round({"rationales": [str(t)]}, cfg, 0)
    assert sorted(e["target"] for e in ex0) == ["[cot]: Ta", "[cot]: Tb"]
