"""Tailored Learning as published (issue 15, spec §2.5-2.6): few-shot Question/Reasoning/Answer
prompts in training, exam and evaluation, the pretrained round, upstream's string score,
CSQA. Generation is replaced by a recorder in the fast tests (it captures the prompts and
returns fixed texts); the slow test runs a real tiny student."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from mathdistill import data, metrics
from mathdistill.io import read_json, read_records, write_json, write_jsonl
from mathdistill.methods import tailored
from mathdistill.methods import tailored_prompt as tp
from mathdistill.records import Prediction, Problem, Rationale
from mathdistill.stages import tailored as stage
from mathdistill.stages import tailored_eval

COUNTS = {"gsm8k": 3, "svamp": 3, "multiarith": 3, "strategyqa": 4, "csqa": 5}  # upstream [C]


class Recorder:
    """Stands in for students.generate: records prompts/config, returns `texts` per prompt."""

    def __init__(self, texts):
        self.texts, self.prompts, self.cfg = texts, [], None

    def __call__(self, model, prompts, cfg, **kw):
        self.prompts, self.cfg, self.model = list(prompts), cfg, model
        return [[self.texts[i % len(self.texts)]] * cfg.num_samples for i in range(len(prompts))]


def _problems():
    return [Problem(id=f"gsm8k/train/{i}", dataset="gsm8k", question=f"Tom has {i} pens and buys "
                    f"4 more. How many pens?", answer=float(i + 4),
                    gold={"solution": f"{i} + 4 = {i + 4}\n#### {i + 4}"}) for i in range(3)]


def _is_fewshot(prompt: str, question: str | None = None, task: str = "gsm8k") -> bool:
    """The task's demos, then the question with its cue (as upstream's prefix)."""
    cue = "Answer:" if task == "csqa" else "Reasoning:"
    ends = prompt.endswith(f"Question: {question}\n{cue}") if question else prompt.endswith(cue)
    return prompt.count("Question: ") == COUNTS[task] + 1 and ends


def test_demos_counts_answers_and_no_test_question(data_dir):
    test_q = set()
    for name, split in [("gsm8k", "test"), ("svamp", "test"), ("multiarith", "test"),
                        ("csqa", "dev"), ("strategyqa", "test")]:
        test_q |= {" ".join(p.question.lower().split()) for p in data.load(name, split,
                                                                           data_dir=data_dir)}
    asdiv = ET.parse(data_dir / "asdiv" / "ASDiv.xml").getroot()
    test_q |= {" ".join(f"{n.findtext('Body')} {n.findtext('Question')}".lower().split())
               for n in asdiv.iter("Problem")}
    train = {p.id: p for name, split in [("gsm8k", "train"), ("csqa", "train")]
             for p in data.load(name, split, data_dir=data_dir)}
    for task, n in COUNTS.items():
        rows = tp.demos(task)
        assert len(rows) == n
        for row in rows:
            assert " ".join(row["question"].lower().split()) not in test_q, row["question"]
            if row["id"] in train:  # train-split demos: the file's question and gold
                p = train[row["id"]]
                assert p.question == row["question"] and tp.gold_string(p) == row["answer"]
                if task == "csqa":
                    assert p.choices == row["choices"]
            else:
                assert row["id"].startswith("tailored-demo/"), row["id"]
            if task == "csqa":
                assert row["reasoning"].endswith(f"({row['answer']}).")
            elif task == "strategyqa":
                assert row["answer"] in ("yes", "no")
            else:  # the rationale states the answer it ends with
                assert tp.cleanup(f" {row['reasoning']}", task)[1] == row["answer"]


def test_training_examples_are_fewshot_with_upstream_targets():
    r = Rationale(id="gsm8k/train/1", question="Tom has 3 pens and buys 4 more. How many?",
                  answer=7.0, strategy="cot", text="Tom has 3 + 4 = 7 pens.\nThe answer is 7.")
    pools = {r.id: {"positives": ["He has  7 pens.\nSo 7."], "negatives": ["3 - 4 = -1\nAnswer: -1"]}}
    [ex] = tailored.build_examples([r], pools, prompt="fewshot")
    assert _is_fewshot(ex["prompt"], r.question)
    assert ex["prompt"].startswith("Question: Betty is saving money")
    assert ex["target"] == " Tom has 3 + 4 = 7 pens. The answer is 7.\nAnswer: 7"
    assert ex["positives"] == [" He has7 pens. So 7.\nAnswer: 7"]  # upstream's flatten quirk
    assert ex["negatives"] == [" 3 - 4 = -1 Answer: -1\nAnswer: 7"]  # gold appended [C]
    [old] = tailored.build_examples([r], pools)  # default: the project's zero-shot prompt
    assert old["prompt"] == "Question: Tom has 3 pens and buys 4 more. How many?\n" \
                            "Let's think step by step\n" and old["target"] == r.text


def test_exam_is_fewshot_and_cut_at_the_blank_line(tmp_path, monkeypatch):
    from mathdistill import students

    train = tmp_path / "train.jsonl"
    write_jsonl(train, _problems())
    rec = Recorder([" 2 + 4 = 6.\nAnswer: 6\n\nQuestion: next one"])
    monkeypatch.setattr(students, "generate", rec)
    mistakes = stage.exam("base", train, tmp_path / "exam.jsonl", tmp_path / "m.json", round=0,
                          options={"prompt": "fewshot"})
    assert all(_is_fewshot(pr, p.question) for pr, p in zip(rec.prompts, _problems()))
    assert "\n\n" in rec.cfg.stop and rec.cfg.num_samples == 4 and rec.cfg.do_sample
    exam = read_records(tmp_path / "exam.jsonl", Rationale)
    assert {r.text for r in exam} == {"2 + 4 = 6.\nAnswer: 6"}  # cut at the blank line
    assert sorted(mistakes) == ["gsm8k/train/0", "gsm8k/train/1"]  # 6 is train/2's answer
    assert [r.correct for r in exam[8:]] == [True] * 4


def test_evaluation_and_pretrained_round_are_fewshot_with_both_scores(tmp_path, monkeypatch):
    from mathdistill import students

    test = tmp_path / "gsm8k.jsonl"
    probs = [Problem(id="gsm8k/test/0", dataset="gsm8k", question="A?", answer=48.0,
                     gold={"solution": "x\n#### 48"}),
             Problem(id="gsm8k/test/1", dataset="gsm8k", question="B?", answer=1600.0,
                     gold={"solution": "x\n#### 1,600"})]
    write_jsonl(test, probs)
    rec = Recorder([" 6 * 8 = 48.0\nAnswer: 48.0", " so 1600.\nAnswer: 1,600 pages\n\nQ"])
    monkeypatch.setattr(students, "generate", rec)
    preds = tailored_eval.pretrained("EleutherAI/gpt-j-6b", test, tmp_path / "p.jsonl",
                                     generation={"max_new_tokens": 256})
    assert rec.model == "EleutherAI/gpt-j-6b"  # the base student: no training
    assert all(_is_fewshot(pr, p.question) for pr, p in zip(rec.prompts, probs))
    assert "\n\n" in rec.cfg.stop and not rec.cfg.do_sample
    assert [p.correct for p in preds] == [True, True]  # numeric: 48.0 == 48, 1,600 == 1600
    assert [p.meta["string_pred"] for p in preds] == ["48.0", "1600"]
    assert [p.meta["string_gold"] for p in preds] == ["48", "1,600"]
    assert [p.meta["string_correct"] for p in preds] == [False, False]  # upstream's quirks
    assert all(p.meta["round"] == "pretrained" for p in preds)
    m = metrics.compute(read_records(tmp_path / "p.jsonl", Prediction))
    assert m["accuracy"] == 1.0 and m["string_match"] == {"n": 2, "correct": 0, "accuracy": 0.0}
    assert "string_match" not in metrics.compute([Prediction(
        id="x", dataset="x", strategy="cot", text="", pred=None, correct=False, answer=1.0)])


def test_upstream_cleanup_and_gold_strings():
    assert tp.cleanup(" Add them. Therefore, the answer is 12. Then 13.", "svamp") == (
        "Add them. Therefore, the answer is 12", "12")
    assert tp.cleanup(" 3 and 4 make 7 apples", "multiarith")[1] == "7"  # no marker: last
    assert tp.cleanup(" no idea", "gsm8k")[1] == tp.WRONG
    assert tp.cleanup(" Penguins cannot fly. So no.\nAnswer: No.", "strategyqa")[1] == "no"
    assert tp.cleanup(" Food is cooked there. Therefore, the answer is kitchen (c). (d) x",
                      "csqa") == ("Food is cooked there. Therefore, the answer is kitchen (c).", "c")
    assert tp.cleanup(" b", "csqa")[1] == "b"
    svamp = Problem(id="svamp/test/0", dataset="svamp", question="q", answer=2.5)
    assert tp.gold_string(svamp) == "2"  # upstream: str(int(Answer))
    chilled = Problem(id="multiarith/chilled_test/0", dataset="multiarith", question="q",
                      answer=7.0, gold={"final_ans": "7"})
    assert tp.gold_string(chilled) == "7"
    assert tp.string_correct("B", "b") and not tp.string_correct(None, "b")
    with pytest.raises(ValueError, match="no Tailored Learning demos"):
        tp.task_of("aqua")


def test_csqa_is_a_tailored_task(tmp_path, monkeypatch, data_dir):
    from mathdistill import students

    dev = data.load("csqa", "dev", data_dir=data_dir, limit=2)
    prompt = tp.prompt(dev[0].question, "csqa", choices=dev[0].choices)
    assert prompt.count("\nAnswer Choices:\n(a) ") == 6 and prompt.endswith(
        "\n".join(f"({'abcde'[i]}) {c}" for i, c in enumerate(dev[0].choices)) + "\nAnswer:")
    with pytest.raises(ValueError, match="choices"):
        tp.prompt(dev[0].question, "csqa")
    f = tmp_path / "csqa.jsonl"
    write_jsonl(f, dev)
    gold = [p.answer.lower() for p in dev]
    rec = Recorder([f" It fits. Therefore, the answer is x ({gold[0]}).",
                    " I think (z) maybe"])
    monkeypatch.setattr(students, "generate", rec)
    preds = tailored_eval.predict("ckpt", f, tmp_path / "p.jsonl")
    assert preds[0].meta["task"] == "csqa" and preds[0].meta["string_pred"] == gold[0]
    assert preds[0].correct and preds[0].meta["string_correct"]
    assert not preds[1].correct and preds[1].meta["string_pred"] == tp.WRONG
    # training examples carry the choices of their question (from the train file)
    train = data.load("csqa", "train", data_dir=data_dir, limit=1)
    r = Rationale(id=train[0].id, question=train[0].question, answer=train[0].answer,
                  strategy="cot", text="Because. Therefore, the answer is ignore (a).")
    [ex] = tailored.build_examples([r], {}, prompt="fewshot",
                                   choices={train[0].id: train[0].choices})
    assert ex["prompt"].endswith("(e) avoid\nAnswer:") and ex["target"].startswith(" Because.")


def test_stage_examples_and_options(tmp_path):
    t, exam, mist = tmp_path / "t.jsonl", tmp_path / "exam.jsonl", tmp_path / "m.json"
    write_jsonl(t, [Rationale(id=p.id, question=p.question, answer=p.answer, strategy="cot",
                              text=f"{p.answer:g} pens.", correct=True) for p in _problems()])
    write_jsonl(exam, [])
    write_json(mist, {"gsm8k/train/0": ["wrong\nAnswer: 1"]})
    stage.build_examples(0, tmp_path / "mixed.jsonl", tmp_path / "s.json", teacher_files=[t],
                         mistakes_file=mist, exam_file=exam, options={"prompt": "fewshot"})
    rows = [json.loads(line) for line in (tmp_path / "mixed.jsonl").open()]
    assert all(_is_fewshot(r["prompt"]) for r in rows)
    assert {r["prompt"].rsplit("Question: ", 1)[1] for r in rows} == {
        f"{p.question}\nReasoning:" for p in _problems()}
    assert {r["target"] for r in rows} == {" 4 pens.\nAnswer: 4", " 5 pens.\nAnswer: 5",
                                          " 6 pens.\nAnswer: 6"}
    assert read_json(tmp_path / "s.json")["data"]["examples"] == 3
    opts = stage.parse_options({"prompt": "fewshot", "unique_questions": True})
    assert opts["prefix_cache"] is True and opts["task"] is None
    with pytest.raises(ValueError, match="prompt must be"):
        tailored.student_input(_problems()[0], "zero")


@pytest.mark.slow
def test_pretrained_round_with_a_real_tiny_student(tmp_path):
    from mathdistill.students import build_tiny

    base = build_tiny("tiny-llama", [tp.prompt("Tom has 3 pens. How many?", "gsm8k")] * 4,
                      tmp_path / "base", seed=0)
    test = tmp_path / "gsm8k.jsonl"
    write_jsonl(test, [Problem(id=f"gsm8k/test/{i}", dataset="gsm8k", question=f"Q {i}?",
                               answer=float(i)) for i in range(3)])
    preds = tailored_eval.pretrained(base, test, tmp_path / "p.jsonl",
                                     generation={"max_new_tokens": 8, "progress": False})
    assert len(preds) == 3 and all(p.meta["round"] == "pretrained" for p in preds)
    assert all("\n\n" not in p.text for p in preds)
