"""Per-paper protocol (issue 15): teacher data per method and the papers' own test sets.

SIKeD keeps one correct teacher chain per (question, strategy); ETD Fig. 5 trains on seeded
subsets of its data; SIKeD scores all 2,305 ASDiv problems and a 180-problem MultiArith
split derived from the local MultiArith.json (ChilleD/MultiArith)."""

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from mathdistill import data
from mathdistill.data import published
from mathdistill.io import DataError, write_jsonl
from mathdistill.methods import combined, etd, selection, siked, single
from mathdistill.records import Rationale
from mathdistill.strategies import is_correct


def _r(pid, strategy, text, correct=True, sample=0):
    return Rationale(id=pid, question=f"Q {pid}?", answer=6.0, strategy=strategy, text=text,
                     source="teacher", correct=correct, meta={"sample": sample})


# four teacher samples per (question, strategy), the first one wrong for question "a"
TEACHER = [_r(q, s, f"{q}-{s}-{k}", correct=not (q == "a" and k == 0), sample=k)
           for q in "abc" for s in ("cot", "pot", "l2m") for k in range(4)]


@pytest.fixture
def teacher_file(tmp_path):
    path = tmp_path / "filtered.jsonl"
    write_jsonl(path, TEACHER)
    return str(path)


def _chains(examples):
    return Counter((e["id"], e["strategy"]) for e in examples)


def test_siked_teacher_data_has_one_chain_per_question_and_strategy(teacher_file):
    cfg = {"type": "siked", "strategies": ["cot", "pot", "l2m"], "options": {}}
    for build in (siked.build_round, combined.build_round):  # SIKeD round 0 and Combined
        ex = build({"rationales": [teacher_file]}, cfg, 0)
        assert set(_chains(ex).values()) == {1} and len(ex) == 9
        # the first *correct* chain in sample order: "a"'s sample 0 is wrong
        assert {e["target"].split(": ", 1)[1] for e in ex if e["id"] == "a"} == {
            "a-cot-1", "a-pot-1", "a-l2m-1"}
        assert {e["target"].split(": ", 1)[1] for e in ex if e["id"] == "b"} == {
            "b-cot-0", "b-pot-0", "b-l2m-0"}
    # every round of SIKeD mixes the same one-chain teacher data
    ex, stats = siked.round_examples(TEACHER, [], cfg, 1)
    assert stats["n_llm"] == 9 and set(_chains(ex).values()) == {1}
    # None keeps every correct chain (ETD's 4 paths)
    every = combined.build_round({"rationales": [teacher_file]},
                                 {**cfg, "options": {"teacher_chains": None}}, 0)
    assert len(every) == 33 and _chains(every)[("a", "cot")] == 3
    # SIKeD's single-strategy baselines are type single: the option is wired per method
    one = single.build_round({"rationales": [teacher_file]},
                             {"strategies": ["pot"], "options": {"teacher_chains": 1}}, 0)
    assert set(_chains(one).values()) == {1} and len(one) == 3
    assert len(single.build_round({"rationales": [teacher_file]}, {"strategies": ["pot"]}, 0)) == 11
    with pytest.raises(ValueError, match="teacher_chains"):
        siked.options({"teacher_chains": 0})


def test_limit_chains_never_keeps_a_wrong_or_empty_chain():
    rs = [_r("q", "cot", "w", correct=False), _r("q", "cot", " "), _r("q", "cot", "ok1"),
          _r("q", "cot", "ok2"), _r("q", "pot", "p", correct=None)]
    assert [r.text for r in selection.limit_chains(rs, 1)] == ["ok1", "p"]
    assert [r.text for r in selection.limit_chains(rs, 2)] == ["ok1", "ok2", "p"]
    assert selection.limit_chains(rs, None) == rs


def test_etd_data_size_subsamples_seeded(teacher_file):
    base = {"type": "etd", "strategies": ["cot", "pot", "eot"]}
    rs = [_r(f"q{i}", s, f"t{i}{s}{k}", sample=k) for i in range(50) for s in ("cot", "pot", "eot")
          for k in range(2)]
    path = teacher_file.replace("filtered", "etd")
    write_jsonl(path, rs)
    inputs = {"rationales": [path]}
    full = etd.build_round(inputs, base, 0, seed=0)
    assert len(full) == 300
    small = etd.build_round(inputs, {**base, "options": {"data_size": 120}}, 0, seed=0)
    again = etd.build_round(inputs, {**base, "options": {"data_size": 120}}, 0, seed=0)
    other = etd.build_round(inputs, {**base, "options": {"data_size": 120, "data_seed": 7}}, 0)
    assert len(small) == 120 and small == again and small != other
    assert all(e in full for e in small)
    half = etd.build_round(inputs, {**base, "options": {"data_fraction": 0.5}}, 0)
    assert len(half) == 150
    by_q = etd.build_round(inputs, {**base, "options": {"data_size": 10,
                                                        "data_unit": "question"}}, 0)
    assert len({e["id"] for e in by_q}) == 10 and len(by_q) == 60  # all 6 of each question
    with pytest.raises(ValueError, match="exceeds"):
        etd.build_round(inputs, {**base, "options": {"data_size": 301}}, 0)
    with pytest.raises(ValueError, match="not both"):
        selection.options({"data_size": 1, "data_fraction": 0.5})


def test_siked_asdiv_has_all_2305_problems(data_dir):
    every = data.load("asdiv", "test", data_dir=data_dir, all_problems=True)
    subset = data.load("asdiv", "test", data_dir=data_dir)
    assert len(every) == 2305 and len({p.id for p in every}) == 2305
    rules = Counter(p.gold["answer_rule"] for p in every)
    assert rules == {"number": 2084, "formula": 217, "none": 4}
    # the single-number problems keep their ids and gold answers
    by_id = {p.id: p for p in every}
    assert all(by_id[p.id].answer == p.answer for p in subset)
    # non-number answers: the first integer after the formula's last "=" (authors' code)
    ratio = next(p for p in every if p.gold["answer_text"] == "3:4")
    assert ratio.answer == 3.0 and ratio.gold["answer_rule"] == "formula"
    unscorable = [p for p in every if p.gold["answer_rule"] == "none"]
    assert all(not is_correct(x, p.answer) for p in unscorable for x in (0, 1, 2, -2048))
    assert data.skipped("asdiv", "test", data_dir=data_dir, all_problems=True) == []


def test_siked_asdiv_gold_rule():
    assert published.siked_asdiv_gold("9 (apples)", "4+5=9") == (9.0, "number")
    assert published.siked_asdiv_gold("1,234 (m)", "1000+234=1,234") == (1.0, "formula")
    assert published.siked_asdiv_gold("Yes", "4+5=9 apples < 10 apples") == (9.0, "formula")
    assert published.siked_asdiv_gold("Sara", "Sara is taller") == ("[unscorable] Sara", "none")


def test_multiarith_180_split_is_derived_from_the_local_file(data_dir):
    """SIKeD's 180 MultiArith problems: ChilleD's test split, selected from MultiArith.json by
    the committed positions and checked against the reference copy's digest."""
    test = data.load("multiarith", "chilled_test", data_dir=data_dir)
    train = data.load("multiarith", "chilled_train", data_dir=data_dir)
    assert (len(test), len(train)) == (180, 420)
    assert test[0].id == "multiarith/chilled_test/0" and test[0].gold["final_ans"] == "10"
    assert test[0].question.startswith("Paige had 11 songs on her mp3 player.")
    assert train[0].question.startswith("There are 64 students trying out")
    full = data.load("multiarith", "test", data_dir=data_dir)
    positions = [p.gold["source_id"] for p in test + train]
    assert sorted(positions) == list(range(600))  # a partition of the 600 problems
    for p in test[:20]:
        q = full[p.gold["source_id"]]
        assert (q.question, q.answer) == (p.question, p.answer)
    rows = [(p.question, p.gold["final_ans"]) for p in test]
    assert published.split_digest(rows) == yaml.safe_load(
        (Path(published.__file__).parent / "splits" / "chilled_multiarith.yaml").read_text()
    )["digest"]["test"]
    # Ho et al.'s 420/180 split (reasoning-teacher) is a different one
    assert published.chilled_split("test")[:3] == [123, 29, 122]


def test_multiarith_180_split_stops_on_another_local_file(tmp_path, data_dir):
    folder = tmp_path / "multiarith"
    folder.mkdir()
    rows = json.loads((data_dir / "multiarith" / "MultiArith.json").read_text())
    rows[123]["lSolutions"] = [11.0]  # the first test problem, with another answer
    (folder / "MultiArith.json").write_text(json.dumps(rows))
    with pytest.raises(DataError, match="differ from the reference split"):
        data.load("multiarith", "chilled_test", data_dir=tmp_path)
    assert len(data.load("multiarith", "chilled_train", data_dir=tmp_path)) == 420
    (folder / "MultiArith.json").write_text(json.dumps(rows[:500]))
    with pytest.raises(DataError, match="needs 600"):
        data.load("multiarith", "chilled_test", data_dir=tmp_path)


def test_chilled_svamp_still_names_its_public_source(tmp_path):
    with pytest.raises(DataError, match=r"huggingface\.co/datasets/ChilleD/SVAMP"):
        data.load("svamp", "chilled_test", data_dir=tmp_path)


def test_siked_section5_on_and_off_policy_rows():
    """§5: on-policy (the paper's SIKeD: each iteration from the merged last checkpoint) vs
    off-policy (each iteration from the pretrained model with all LLM data), Gemma 2B."""
    on = {"type": "siked", "strategies": ["cot", "l2m", "pot"], "rounds": 4,
          "options": {"variant": "all", "policy": "on"}}
    off = {**on, "options": {"variant": "all", "policy": "off", "off_policy_all": True}}
    for t in (1, 2, 3):
        a = siked.round_plan(t, on, "google/gemma-2b", f"round{t - 1}/checkpoint")
        assert (a["init"], a["resume_from"], a["merge_lora_first"]) == (
            f"round{t - 1}/checkpoint", f"round{t - 1}/checkpoint", True)
        b = siked.round_plan(t, off, "google/gemma-2b", f"round{t - 1}/checkpoint")
        assert (b["init"], b["resume_from"], b["variant"]) == ("google/gemma-2b", None, "all")
    # off-policy mixes every LLM chain (one per question and strategy) into every round,
    # even when the method's variant is Sparse
    self_data = [Rationale(id="a", question="Q a?", answer=6.0, strategy="cot", text="self",
                           source="student", correct=True)]
    _, stats = siked.round_examples(TEACHER, self_data, {**off["options"],
                                                          "variant": "sparse"}, 2)
    assert stats["variant"] == "all" and (stats["n_llm"], stats["n_self"]) == (9, 1)
    _, stats = siked.round_examples(TEACHER, self_data, {**on["options"],
                                                          "variant": "sparse"}, 2)
    assert stats["variant"] == "sparse" and (stats["n_llm"], stats["n_self"]) == (8, 1)
