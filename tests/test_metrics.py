"""metrics.compute / evaluate_file on hand-made Prediction records."""

import json

import pytest

from mathdistill.io import DataError, write_jsonl
from mathdistill.metrics import compute, evaluate_file
from mathdistill.records import Prediction


def pred(i, strategy, correct, pred=1.0, error=None):
    return Prediction(id=f"t/test/{i}", dataset="t", strategy=strategy, text="...", pred=pred,
                      correct=correct, error=error)


def test_compute_counts_accuracy_and_errors():
    ps = [pred(0, "pot", True), pred(1, "pot", False, pred=None, error="syntax"),
          pred(2, "cot", False, pred=3.0), pred(3, "cot", True), pred(4, "cot", True)]
    m = compute(ps)
    assert m["n"] == 5 and m["correct"] == 3 and m["answered"] == 4
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["by_strategy"]["pot"] == {"n": 2, "correct": 1, "accuracy": 0.5}
    assert m["by_strategy"]["cot"]["accuracy"] == pytest.approx(2 / 3)
    assert m["strategy_share"] == {"cot": 0.6, "pot": 0.4}
    assert m["errors"] == {"syntax": 1, "wrong_answer": 1}


def test_compute_empty_has_no_accuracy():
    m = compute([])
    assert m["accuracy"] is None and m["n"] == 0 and m["by_strategy"] == {}


def test_evaluate_file_writes_metrics_with_meta(tmp_path):
    src, out = tmp_path / "p.jsonl", tmp_path / "m.json"
    write_jsonl(src, [pred(0, "eot", True), pred(1, "eot", False, error="unsolvable")])
    meta = {"method": "eotd", "student": "s", "round": 0, "dataset": "t"}
    evaluate_file(src, out, meta=meta)
    m = json.loads(out.read_text())
    assert {k: m[k] for k in meta} == meta
    assert m["accuracy"] == 0.5 and m["errors"] == {"unsolvable": 1}


def test_evaluate_file_rejects_duplicate_ids(tmp_path):
    src = tmp_path / "p.jsonl"
    write_jsonl(src, [pred(0, "pot", True), pred(0, "pot", False)])
    with pytest.raises(DataError, match="p.jsonl.*more than once"):
        evaluate_file(src, tmp_path / "m.json")


def test_evaluate_file_names_bad_line(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps(pred(0, "pot", True).to_dict()) + "\n{\"id\": 1}\n")
    with pytest.raises(DataError, match=r"p.jsonl:2"):
        evaluate_file(src, tmp_path / "m.json")
