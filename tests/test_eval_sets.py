"""stages.eval_sets.answer_eval_sets (one prediction job per model: every eval set answered
and scored, both folders whole or not at all) and students.preload (load once, answer many)."""

import json

import pytest

from mathdistill.io import read_jsonl, write_jsonl
from mathdistill.records import Prediction
from mathdistill.stages.eval_sets import answer_eval_sets


def fake_answer(correct_ids):
    """An `answer` that marks the problems whose id is in `correct_ids` as correct."""
    def answer(problems_file, out):
        rows = read_jsonl(problems_file)
        write_jsonl(out, [Prediction(id=r["id"], dataset=r["dataset"], strategy="pot",
                                     text="x", pred=1.0, correct=r["id"] in correct_ids)
                          for r in rows])
    return answer


def problems(tmp_path, name, n):
    path = tmp_path / "data" / f"{name}.jsonl"
    write_jsonl(path, [{"id": f"{name}/{i}", "dataset": name, "question": "q", "answer": 1.0}
                       for i in range(n)])
    return path


def test_every_eval_set_is_answered_and_scored_with_its_name(tmp_path):
    sets = {"gsm8k": problems(tmp_path, "gsm8k", 4), "svamp": problems(tmp_path, "svamp", 2)}
    preds, mets = tmp_path / "r0" / "predictions", tmp_path / "r0" / "metrics"
    meta = {"method": "potd", "run": "potd", "seed": 0, "student": "s", "round": 0}
    out = answer_eval_sets(fake_answer({"gsm8k/0", "svamp/1"}), sets, preds, mets, meta=meta)
    assert sorted(p.name for p in preds.iterdir()) == ["gsm8k.jsonl", "svamp.jsonl"]
    assert sorted(p.name for p in mets.iterdir()) == ["gsm8k.json", "svamp.json"]
    for name, n, acc in (("gsm8k", 4, 0.25), ("svamp", 2, 0.5)):
        m = json.loads((mets / f"{name}.json").read_text())
        assert m == out[name]
        assert m["n"] == n and m["accuracy"] == acc
        assert {**meta, "dataset": name}.items() <= m.items()
    assert not [p for p in preds.parent.iterdir() if p.name.startswith(".")]  # no temp dirs


def test_a_failing_eval_set_leaves_the_previous_folders_as_they_were(tmp_path):
    sets = {"gsm8k": problems(tmp_path, "gsm8k", 2), "svamp": problems(tmp_path, "svamp", 2)}
    preds, mets = tmp_path / "predictions", tmp_path / "metrics"
    answer_eval_sets(fake_answer(set()), sets, preds, mets, meta={})
    before = {p.name: p.read_bytes() for d in (preds, mets) for p in d.iterdir()}

    def fails_on_svamp(problems_file, out):
        if "svamp" in problems_file.name:
            raise RuntimeError("model crashed")
        fake_answer({"gsm8k/0", "gsm8k/1"})(problems_file, out)

    with pytest.raises(RuntimeError, match="model crashed"):
        answer_eval_sets(fails_on_svamp, sets, preds, mets, meta={})
    assert {p.name: p.read_bytes() for d in (preds, mets) for p in d.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "metrics", "predictions"]
    with pytest.raises(ValueError, match="no eval sets"):
        answer_eval_sets(fake_answer(set()), {}, preds, mets, meta={})


@pytest.mark.slow
def test_preload_loads_once_and_generates_as_the_path_does(tmp_path):
    from mathdistill.students import GenerationConfig, build_tiny, generate, preload

    base = build_tiny("tiny-t5", None, tmp_path / "base")
    cfg = GenerationConfig(max_new_tokens=8)
    loaded = preload(base, cfg)
    assert isinstance(loaded, tuple) and preload(loaded, cfg) is loaded
    prompts = ["2 + 3 =", "what is 4 times 5?"]
    assert generate(loaded, prompts, cfg) == generate(base, prompts, cfg)
    assert preload(base, {"backend": "vllm"}) == base  # vLLM loads the path itself
