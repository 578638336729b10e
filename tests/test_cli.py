"""The command line, end to end through `main([...])`: prepare -> teach -> filter -> solve."""

import json

import pytest

from mathdistill.cli import main
from mathdistill.io import read_json, read_jsonl


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_gsm8k_pipeline(tmp_path, data_dir, capsys):
    problems, raw = tmp_path / "gsm8k.jsonl", tmp_path / "raw.jsonl"
    kept, stats, solved = tmp_path / "kept.jsonl", tmp_path / "stats.json", tmp_path / "s.jsonl"

    rc, out, _ = run(capsys, "prepare", "--dataset", "gsm8k", "--split", "train", "--out",
                     problems, "--limit", 40, "--data-dir", data_dir)
    assert rc == 0 and "wrote 40" in out
    rows = read_jsonl(problems)
    assert len(rows) == 40 and rows[0]["id"] == "gsm8k/train/0"

    rc, out, _ = run(capsys, "teach", "--teacher", "annotated", "--strategy", "pot",
                     "--problems", problems, "--out", raw)
    assert rc == 0
    rationales = read_jsonl(raw)
    with_ann = sum("<<" in r["gold"]["solution"] for r in rows)
    assert len(rationales) == with_ann and f"wrote {with_ann} pot rationales" in out
    assert all(r["strategy"] == "pot" and r["correct"] is None for r in rationales)

    rc, out, _ = run(capsys, "filter", "--in", raw, "--out", kept, "--stats", stats)
    assert rc == 0
    s = read_json(stats)
    assert s["kept"] + s["dropped"] == len(rationales) and s["kept"] > 0
    assert f"kept {s['kept']}, dropped {s['dropped']}" in out and "drop rate" in out
    kept_rows = read_jsonl(kept)
    assert len(kept_rows) == s["kept"] and all(r["correct"] for r in kept_rows)

    # solve the raw file: every row answered, the same verdicts as filter
    rc, out, _ = run(capsys, "solve", "--strategy", "pot", "--in", raw, "--out", solved)
    assert rc == 0
    solved_rows = read_jsonl(solved)
    assert [r["id"] for r in solved_rows] == [r["id"] for r in rationales]
    assert sum(r["correct"] for r in solved_rows) == s["kept"]
    assert f"{s['kept']} of {len(rationales)} correct" in out


@pytest.mark.parametrize("strategy", ["cot", "eot", "l2m"])
def test_synthetic_pipeline(tmp_path, capsys, strategy):
    problems, raw, kept = tmp_path / "syn.jsonl", tmp_path / "raw.jsonl", tmp_path / "kept.jsonl"
    rc, _, _ = run(capsys, "prepare", "--dataset", "synthetic", "--split", "train", "--out",
                   problems, "--n", 12, "--seed", 5)
    assert rc == 0 and len(read_jsonl(problems)) == 12
    assert run(capsys, "teach", "--strategy", strategy, "--problems", problems,
               "--out", raw, "--n", 2, "-o", "repeat=true")[0] == 0
    assert len(read_jsonl(raw)) == 24
    rc, out, _ = run(capsys, "filter", "--in", raw, "--out", kept)
    assert rc == 0 and "kept 24, dropped 0" in out


def test_solve_predictions_without_answers(tmp_path, capsys):
    inp, out_path = tmp_path / "pred.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": "a", "strategy": "pot", "text": "x = 6\nanswer = x * 7", "answer": 42},
            {"id": "b", "strategy": "cot", "text": "So the answer is 5.", "answer": 6},
            {"id": "c", "strategy": "pot", "text": "answer = (", "extra": 1},
            {"id": "d", "strategy": "eot", "text": "a = 2\nans = a + 1"}]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc, out, _ = run(capsys, "solve", "--in", inp, "--out", out_path)
    assert rc == 0
    got = read_jsonl(out_path)
    assert [(g["pred"], g["correct"], g["error"]) for g in got] == [
        (pytest.approx(42.0), True, None), (5.0, False, None), (None, None, "syntax"),
        (pytest.approx(3.0), None, None)]
    assert got[2]["extra"] == 1
    assert "3 of 4 texts answered, 1 of 2 correct" in out


def _error(capsys, *argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    err = _error(capsys, "teach", "--strategy", "cot", "--problems", missing,
                 "--out", tmp_path / "o.jsonl")
    assert f"{missing}: file not found" in err
    assert not (tmp_path / "o.jsonl").exists()
    err = _error(capsys, "prepare", "--dataset", "gsm8k", "--split", "train",
                 "--out", tmp_path / "o.jsonl", "--data-dir", tmp_path / "nodata")
    assert "nodata" in err


def test_malformed_lines_name_file_and_line(tmp_path, capsys):
    bad_json = tmp_path / "bad.jsonl"
    good = {"id": "a", "question": "?", "answer": 1, "strategy": "cot", "text": "1"}
    bad_json.write_text(json.dumps(good) + '\n{"id": \n')
    err = _error(capsys, "filter", "--in", bad_json, "--out", tmp_path / "o.jsonl")
    assert f"{bad_json}:2:" in err

    bad_record = tmp_path / "rec.jsonl"
    ok = {"id": "p", "dataset": "gsm8k", "question": "?", "answer": 1}
    bad_record.write_text(json.dumps(ok) + "\n\n" + json.dumps({"id": "q"}) + "\n")
    err = _error(capsys, "teach", "--strategy", "pot", "--problems", bad_record,
                 "--out", tmp_path / "o.jsonl")
    assert f"{bad_record}:3:" in err and "missing field" in err

    no_text = tmp_path / "notext.jsonl"
    no_text.write_text('{"id": "a", "strategy": "cot"}\n')
    assert f"{no_text}:1:" in _error(capsys, "solve", "--in", no_text, "--out", tmp_path / "o")
    no_strategy = tmp_path / "nostrat.jsonl"
    no_strategy.write_text('{"id": "a", "text": "The answer is 1."}\n')
    err = _error(capsys, "solve", "--in", no_strategy, "--out", tmp_path / "o")
    assert f"{no_strategy}:1:" in err and "--strategy" in err


def test_bad_names(tmp_path, capsys):
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps({"id": "svamp/test/0", "dataset": "svamp",
                                    "question": "?", "answer": 3}) + "\n")
    err = _error(capsys, "teach", "--teacher", "nope", "--strategy", "cot",
                 "--problems", problems, "--out", tmp_path / "o.jsonl")
    assert "unknown teacher 'nope'" in err
    err = _error(capsys, "teach", "--strategy", "cot", "--problems", problems,
                 "--out", tmp_path / "o.jsonl")
    assert "svamp/test/0" in err and "no annotations" in err
    assert main(["teach", "--strategy", "tot", "--problems", str(problems),
                 "--out", "x"]) == 2  # argparse usage error
    assert main(["frobnicate"]) == 2


def test_prepare_bad_options(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert "unknown dataset 'nope'" in _error(capsys, "prepare", "--dataset", "nope",
                                              "--split", "test", "--out", out)
    assert "synthetic" in _error(capsys, "prepare", "--dataset", "gsm8k", "--split", "test",
                                 "--out", out, "--n", 3)
    _error(capsys, "prepare", "--dataset", "gsm8k", "--split", "validation", "--out", out)
    _error(capsys, "prepare", "--dataset", "synthetic", "--split", "train", "--out", out,
           "--n", 3, "--min-steps", 0)
    assert not out.exists()


def test_filter_bad_rows_name_file_and_line(tmp_path, capsys):
    good = {"id": "a", "question": "?", "answer": 1, "strategy": "cot", "text": "The answer is 1."}
    for bad, match in [({**good, "strategy": "tot"}, "strategy 'tot' is not one of"),
                       ({**good, "answer": True}, "answer must be"),
                       ({**good, "text": 5}, "'text' must be a string")]:
        path = tmp_path / "r.jsonl"
        path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
        err = _error(capsys, "filter", "--in", path, "--out", tmp_path / "o.jsonl")
        assert f"{path}:2: " in err and match in err, err
    assert not (tmp_path / "o.jsonl").exists()


def test_output_errors_name_the_output(tmp_path, capsys):
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps({"id": "a", "dataset": "x", "question": "?", "answer": 1,
                                    "gold": {"steps": [{"var": "a", "expr": "1",
                                                        "text": "a is 1."}]}}) + "\n")
    err = _error(capsys, "teach", "--strategy", "cot", "--problems", problems,
                 "--out", tmp_path)  # a directory
    assert f"{tmp_path}: Is a directory" in err and ".tmp" not in err


def test_help_shows_examples(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "examples:" in out and "mathdistill filter --in" in out
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.startswith("mathdistill 0.")
    for command in ("prepare", "teach", "filter", "solve"):
        rc, out, _ = run(capsys, command, "--help")
        assert rc == 0 and f"usage: mathdistill {command}" in out
