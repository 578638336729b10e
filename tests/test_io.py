"""mathdistill.io (atomic writes, JSONL with file:line errors) and mathdistill.records."""

import json
import os
import re

import pytest

from mathdistill.io import (
    DataError,
    atomic_dir,
    atomic_open,
    iter_jsonl,
    read_json,
    read_jsonl,
    read_records,
    write_json,
    write_jsonl,
)
from mathdistill.records import Prediction, Problem, Rationale, RecordError


def test_write_jsonl_round_trip_and_records(tmp_path):
    path = tmp_path / "sub" / "p.jsonl"  # parent directories are created
    p = Problem(id="gsm8k/test/0", dataset="gsm8k", question="Q?", answer=18.0)
    assert write_jsonl(path, [p, {"id": "x", "dataset": "d", "question": "q", "answer": 3}]) == 2
    got = read_records(path, Problem)
    assert got[0] == p and got[1].answer == 3.0 and type(got[1].answer) is float
    assert read_jsonl(path)[0] == p.to_dict()


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [{"a": 1}])

    def rows():
        yield {"a": 2}
        raise RuntimeError("generator failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        write_jsonl(path, rows())
    assert read_jsonl(path) == [{"a": 1}]
    assert os.listdir(tmp_path) == ["out.jsonl"]  # no temp file left behind


def test_written_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    write_json(tmp_path / "x.json", {"a": 1})
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_errors_name_the_output_not_the_temp_file(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError) as e:
        write_jsonl(tmp_path / "adir", [{"a": 1}])
    assert e.value.filename == str(tmp_path / "adir")
    (tmp_path / "afile").write_text("x")
    # the parent is a file: its directory cannot be created
    with pytest.raises(OSError) as e, atomic_open(tmp_path / "afile" / "out.json") as f:
        f.write("x")
    assert e.value.filename == str(tmp_path / "afile" / "out.json")


def test_jsonl_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": \n')
    with pytest.raises(DataError, match=re.escape(f"{path}:3: invalid JSON")):
        read_jsonl(path)
    assert next(iter_jsonl(path)) == (1, {"a": 1})  # lazy: good rows come before the error
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(DataError, match=re.escape(f"{path}:2: not UTF-8")):
        read_jsonl(path)
    with pytest.raises(DataError, match="file not found"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_read_json_errors(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{\n  "a": 1,\n}\n')
    with pytest.raises(DataError, match=re.escape(f"{path}:3: invalid JSON")):
        read_json(path)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(DataError, match="not UTF-8"):
        read_json(path)


@pytest.mark.parametrize("row, match", [
    ({"id": "a", "question": "q", "answer": 1, "strategy": "cot"}, "missing field.*text"),
    ({"id": "a", "question": "q", "answer": True, "strategy": "cot", "text": "1"},
     "answer must be"),
    ({"id": "a", "question": "q", "answer": [1], "strategy": "cot", "text": "1"},
     "answer must be"),
    ({"id": "a", "question": "q", "answer": 1, "strategy": "cot", "text": 5}, "'text'"),
    ({"id": "a", "question": "q", "answer": 1, "strategy": 3, "text": "1"}, "'strategy'"),
    (["not", "an", "object"], "expected a JSON object"),
])
def test_bad_rationales_name_file_and_line(tmp_path, row, match):
    path = tmp_path / "r.jsonl"
    good = {"id": "a", "question": "q", "answer": None, "strategy": "cot", "text": "1"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=re.escape(f"{path}:2: ") + ".*" + match):
        read_records(path, Rationale)


def test_record_round_trips_and_unknown_keys():
    r = Rationale(id="a", question="q", answer="yes", strategy="cot", text="t", meta={"k": 1})
    assert Rationale.from_dict({**r.to_dict(), "extra": 1}) == r
    pred = Prediction(id="a", dataset="d", strategy="pot", text="x", pred=2.0, correct=False)
    assert Prediction.from_dict(pred.to_dict()) == pred
    with pytest.raises(RecordError, match="answer must be"):
        Prediction.from_dict({**pred.to_dict(), "answer": {"x": 1}})


def test_read_yaml_names_file_and_line(tmp_path):
    from mathdistill.io import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text("model: m\ntemperature: [0.7\n")
    with pytest.raises(DataError, match=re.escape(f"{path}:3: invalid YAML")) as e:
        read_yaml(path)
    assert "\n" not in str(e.value)  # one line: the CLI prints it as is
    path.write_text("model: m\n")
    assert read_yaml(path) == {"model": "m"}
    with pytest.raises(DataError, match="file not found"):
        read_yaml(tmp_path / "missing.yaml")


def test_atomic_dir_replaces_only_on_success(tmp_path):
    out = tmp_path / "ckpt"
    with atomic_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".ckpt.")
        (tmp / "a").write_text("1")
    assert (out / "a").read_text() == "1" and oct(out.stat().st_mode & 0o777) != "0o700"
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "b").write_text("2")
        raise RuntimeError("half written")
    assert sorted(p.name for p in out.iterdir()) == ["a"]        # the old dir, untouched
    with atomic_dir(out) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["c"]        # replaced whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temp dirs left
