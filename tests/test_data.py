"""Loaders of the real data sets (read from the shared data dir), paths and errors."""

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest

from mathdistill import data
from mathdistill.data import loaders
from mathdistill.data.published import SOURCES as PUBLISHED
from mathdistill.io import DataError
from mathdistill.records import Problem

COUNTS = {
    ("gsm8k", "train"): 7473,
    ("gsm8k", "test"): 1319,
    ("svamp", "test"): 1000,
    ("asdiv", "test"): 2084,  # of 2305: 221 answers are not one number
    ("multiarith", "test"): 600,
    ("multiarith", "chilled_test"): 180,  # ChilleD's split of the 600 (data.published)
    ("multiarith", "chilled_train"): 420,
    ("csqa", "train"): 9741,
    ("csqa", "dev"): 1221,
    ("strategyqa", "test"): 2290,
}
LABEL_SETS = {"csqa", "strategyqa"}


@pytest.fixture(scope="module")
def loaded(data_dir):
    return {key: data.load(*key, data_dir=data_dir) for key in COUNTS}


def test_registry_names():
    assert set(data.DATASETS) == {"gsm8k", "svamp", "asdiv", "multiarith", "csqa",
                                  "strategyqa", "synthetic"}
    assert set(data.SPLITS) == set(data.DATASETS)
    local = {(n, s) for n in data.DATASETS for s in data.SPLITS[n] if n != "synthetic"}
    assert local - set(PUBLISHED) == set(COUNTS)  # the rest come from the data fetch
    assert set(PUBLISHED) <= local


@pytest.mark.parametrize("key", list(COUNTS), ids=lambda k: "/".join(k))
def test_counts_ids_and_types(loaded, key):
    name, split = key
    problems = loaded[key]
    assert len(problems) == COUNTS[key]
    assert len({p.id for p in problems}) == len(problems)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.dataset == name
        assert re.fullmatch(rf"{name}/{split}/\d+", p.id)
        assert isinstance(p.question, str) and p.question and p.question == p.question.strip()
        if name in LABEL_SETS:
            assert isinstance(p.answer, str)
        else:
            assert type(p.answer) is float and p.is_numeric
            assert p.choices is None
        assert Problem.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_gsm8k_answers_and_solution(loaded, data_dir):
    raw = [json.loads(line) for line in (data_dir / "gsm8k/train.jsonl").open()]
    problems = loaded[("gsm8k", "train")]
    assert problems[0].answer == 72.0
    assert [p.gold["solution"] for p in problems] == [r["answer"] for r in raw]
    with_comma = [i for i, r in enumerate(raw) if "," in r["answer"].split("#### ")[-1]]
    assert with_comma, "GSM8K train has answers written with thousands separators"
    for i in with_comma:
        final = raw[i]["answer"].split("#### ")[-1].strip()
        assert problems[i].answer == float(final.replace(",", "")) and problems[i].answer >= 1000


def test_gsm8k_socratic(loaded, data_dir):
    plain = loaded[("gsm8k", "test")]
    socratic = data.load("gsm8k", "test", data_dir=data_dir, socratic=True)
    assert [(p.id, p.question, p.answer) for p in socratic] == [
        (p.id, p.question, p.answer) for p in plain]
    assert all(" ** " in p.gold["solution"] for p in socratic)
    with pytest.raises(ValueError, match="test"):
        data.load("gsm8k", "train", data_dir=data_dir, socratic=True)


def test_svamp_question_is_body_plus_question(loaded, data_dir):
    raw = json.loads((data_dir / "svamp/SVAMP.json").read_text())
    problems = loaded[("svamp", "test")]
    for p, r in zip(problems, raw, strict=True):
        assert p.question == f"{r['Body'].strip()} {r['Question'].strip()}"
        assert p.answer == float(r["Answer"]) and p.gold["equation"] == r["Equation"]
    assert problems[0].question == (
        "Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each pack "
        "How much do you have to pay to buy each pack?")


def test_asdiv_keeps_single_numbers_and_counts_skipped(loaded, data_dir):
    nodes = list(ET.parse(data_dir / "asdiv/ASDiv.xml").getroot().iter("Problem"))
    problems = loaded[("asdiv", "test")]
    skipped = data.skipped("asdiv", "test", data_dir=data_dir)
    assert len(skipped) == 221
    assert len(problems) + len(skipped) == len(nodes) == 2305
    assert {s["index"] for s in skipped}.isdisjoint(int(p.id.rsplit("/", 1)[1]) for p in problems)
    answers = {s["answer"] for s in skipped}
    assert {"3:4", "5/2", "8; 40", "They are equal"} <= answers
    first = problems[0]
    assert first.id == "asdiv/test/0" and first.answer == 9.0
    assert first.question == ("Seven red apples and two green apples are in the basket. "
                              "How many apples are in the basket?")
    for p in problems:  # ids keep the file position; question = Body + " " + Question
        node = nodes[int(p.id.rsplit("/", 1)[1])]
        assert p.question == f"{node.findtext('Body').strip()} {node.findtext('Question').strip()}"
        assert p.gold["answer_text"] == node.findtext("Answer").strip()
        assert float(p.gold["answer_text"].split("(")[0]) == p.answer


def test_asdiv_skip_is_logged(data_dir, caplog):
    with caplog.at_level("INFO", logger="mathdistill.data.loaders"):
        data.load("asdiv", "test", data_dir=data_dir)
    assert "skipped 221 of 2305" in caplog.text


def test_multiarith(loaded, data_dir):
    raw = json.loads((data_dir / "multiarith/MultiArith.json").read_text())
    problems = loaded[("multiarith", "test")]
    assert [p.answer for p in problems] == [float(r["lSolutions"][0]) for r in raw]
    assert problems[0].question.startswith("For Halloween Debby") and problems[0].answer == 39.0


@pytest.mark.parametrize("split", ["train", "dev"])
def test_csqa_labels_and_choices(loaded, data_dir, split):
    raw = [json.loads(line) for line in (data_dir / f"csqa/{split}_rand_split.jsonl").open()]
    for p, r in zip(loaded[("csqa", split)], raw, strict=True):
        assert p.answer in "ABCDE" and len(p.answer) == 1
        assert p.gold["labels"] == ["A", "B", "C", "D", "E"] and len(p.choices) == 5
        by_label = {c["label"]: c["text"] for c in r["question"]["choices"]}
        assert p.choices == [by_label[label] for label in "ABCDE"]
        assert p.choices["ABCDE".index(p.answer)] == by_label[r["answerKey"]]
    first = loaded[("csqa", "dev")][0]
    assert first.answer == "A" and first.choices[0] == "bank"


def test_strategyqa_labels(loaded, data_dir):
    raw = json.loads((data_dir / "strategyqa/task.json").read_text())["examples"]
    problems = loaded[("strategyqa", "test")]
    expected = ["yes" if r["target_scores"]["Yes"] == 1 else "no" for r in raw]
    assert [p.answer for p in problems] == expected
    assert {p.answer for p in problems} == {"yes", "no"}
    for p in problems:  # the explanation starts with the same verdict
        assert p.gold["explanation"].lower().startswith(p.answer)


def test_limit(data_dir):
    full = data.load("gsm8k", "train", data_dir=data_dir)
    assert data.load("gsm8k", "train", data_dir=data_dir, limit=5) == full[:5]
    assert data.load("gsm8k", "train", data_dir=data_dir, limit=0) == []
    asdiv = data.load("asdiv", "test", data_dir=data_dir)
    assert data.load("asdiv", "test", data_dir=data_dir, limit=50) == asdiv[:50]
    assert len(data.load("svamp", "test", data_dir=data_dir, limit=5000)) == 1000
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="limit"):
            data.load("svamp", "test", data_dir=data_dir, limit=bad)


def test_unknown_name_split_option(data_dir):
    with pytest.raises(ValueError, match="valid datasets: gsm8k, svamp"):
        data.load("gsm9k", "test", data_dir=data_dir)
    with pytest.raises(ValueError, match="valid splits: train, test"):
        data.load("gsm8k", "dev", data_dir=data_dir)
    with pytest.raises(ValueError, match="valid splits: train, dev"):
        data.load("csqa", "test", data_dir=data_dir)
    with pytest.raises(ValueError, match="valid options: none"):
        data.load("svamp", "test", data_dir=data_dir, seed=1)
    with pytest.raises(ValueError, match="valid options: n, seed"):
        data.load("synthetic", "train", size=3)


def test_missing_dir_and_file(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(str(missing))):
        data.load("svamp", "test", data_dir=missing)
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "svamp" / "SVAMP.json"))):
        data.load("svamp", "test", data_dir=tmp_path)  # the dir exists, the file does not


def _write_gsm8k(root, lines):
    path = root / "gsm8k" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_env_var_override(tmp_path, monkeypatch, data_dir):
    row = json.dumps({"question": "Q?", "answer": "1 + 1 = <<1+1=2>>2\n#### 2"})
    _write_gsm8k(tmp_path, [row])
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert data.data_dir() == tmp_path
    problems = data.load("gsm8k", "train")
    assert [(p.id, p.question, p.answer) for p in problems] == [("gsm8k/train/0", "Q?", 2.0)]
    # an explicit argument beats the environment
    assert len(data.load("gsm8k", "train", data_dir=data_dir)) == 7473
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "missing"))):
        data.load("gsm8k", "train")


def test_default_dir_is_relative_to_the_repo(monkeypatch, repo, tmp_path):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)  # not found via cwd: found via the package's checkout
    expected = repo.parent / "shared" / "data"
    if not expected.is_dir():
        pytest.skip(f"{expected} does not exist in this checkout")
    assert data.data_dir() == expected.resolve()


def test_malformed_line_names_file_and_line(tmp_path):
    good = json.dumps({"question": "Q?", "answer": "#### 3"})
    path = _write_gsm8k(tmp_path, [good, good, '{"question": "broken"', good])
    with pytest.raises(DataError, match=re.escape(f"{path}:3")):
        data.load("gsm8k", "train", data_dir=tmp_path)


def test_bad_records_name_the_place(tmp_path):
    path = _write_gsm8k(tmp_path, [json.dumps({"question": "Q?", "answer": "no final line"})])
    with pytest.raises(DataError, match=re.escape(f"{path}:1") + ".*####"):
        data.load("gsm8k", "train", data_dir=tmp_path)
    xml = tmp_path / "asdiv" / "ASDiv.xml"
    xml.parent.mkdir()
    xml.write_text("<ProblemSet>\n<Problem ID='x'>\n<Body>b</Body>\n</ProblemSet>\n")
    with pytest.raises(DataError, match=re.escape(str(xml)) + r":\d+"):
        data.load("asdiv", "test", data_dir=tmp_path)


def test_gsm8k_train_loads_fast(data_dir):
    data.load("gsm8k", "train", data_dir=data_dir)  # warm the OS file cache
    start = time.process_time()  # CPU time: other jobs on a shared machine do not count
    data.load("gsm8k", "train", data_dir=data_dir)
    assert time.process_time() - start < 1.0


def test_synthetic_through_the_registry():
    train = data.load("synthetic", "train", n=30, seed=0)
    assert [p.id for p in train] == [f"synthetic/train/{i}" for i in range(30)]
    assert data.load("synthetic", "train", n=30, seed=0, limit=10) == train[:10]
    assert data.skipped("synthetic", "train") == []
    assert loaders.SYNTHETIC_OPTIONS == ("n", "seed", "min_steps", "max_steps", "difficulty")


def test_malformed_label_records_name_the_place(tmp_path):
    csqa = tmp_path / "csqa" / "dev_rand_split.jsonl"
    csqa.parent.mkdir()
    csqa.write_text(json.dumps({"answerKey": "A", "question": {"stem": "?", "choices": "A"}}) + "\n")
    with pytest.raises(DataError, match=re.escape(f"{csqa}:1") + ".*choices"):
        data.load("csqa", "dev", data_dir=tmp_path)
    task = tmp_path / "strategyqa" / "task.json"
    task.parent.mkdir()
    task.write_text(json.dumps({"examples": [{"input": "?", "target_scores": ["Yes"]}]}))
    with pytest.raises(DataError, match=re.escape(f"{task}: example 0") + ".*Yes/No"):
        data.load("strategyqa", "test", data_dir=tmp_path)
