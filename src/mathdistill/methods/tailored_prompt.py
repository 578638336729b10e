"""Tailored Learning's student prompt, target format and upstream answer scoring (spec §2.5-2.6).

    from mathdistill.methods import tailored_prompt as tp
    tp.prompt("Tom has 3 pens ...", "gsm8k")
    # "Question: Betty is saving ...\\nReasoning: ...\\nAnswer: 5\\n\\n... \\nQuestion: Tom has
    #  3 pens ...\\nReasoning:"                       (3 GSM8K demos, then the question)
    tp.continuation("Tom has 3 + 4 = 7 pens.\\nSo 7.", 7.0, "gsm8k")
    # " Tom has 3 + 4 = 7 pens. So 7.\\nAnswer: 7"    (the training target after the prompt)
    tp.cleanup(" 3 + 4 = 7.\\nAnswer: 7\\n\\nQuestion: ...", "gsm8k")  # (" 3 + 4 = 7.\\nAnswer: 7", "7")
    tp.gold_string(problem)                           # upstream's gold string ("72", "b", "yes")
    tp.string_correct("7", "7")                       # case-insensitive string equality

The authors' code [C] (github.com/Raibows/Learn-to-Reason) prompts the student the same way
for training, the exam and evaluation: `{demos}\\nQuestion: {q}\\nReasoning: ` and the model
continues `{rationale}\\nAnswer: {answer}`; CSQA: `{demos}\\nQuestion: {q}\\nAnswer Choices:
\\n(a) ...\\nAnswer: ` and the rationale ends `Therefore, the answer is {text} ({letter}).`.
Here the prompt ends at the cue ("Reasoning:" / "Answer:") and the target starts with its
space, so prompt + target is the authors' text and the BPE split at the boundary is the
natural one. Teacher (and student-mistake) rationales are flattened as upstream: newlines
become spaces, then double spaces are deleted (`flatten`, a quirk kept as is); mistakes get
the *gold* answer appended like teacher data (spec §2.3 quirk). Demos: `prompts/
tailored_demos.yaml` (counts [C], texts [D]). Data sets without demos of their own use
GSM8K's (`DEMO_TASK`, [D]: ASDiv and the synthetic set).

Scoring (spec §2.6): generation stops at the first blank line; math: the first number after
"\\nAnswer" or "Therefore, the answer is", else the last number (commas removed); StrategyQA:
yes/no; CSQA: the letter of the (a)-(e) marker on the first line. The prediction string is
compared with the gold string case-insensitively (`string_correct`): `48.0` != `48`, SVAMP's
gold is `str(int(Answer))`. The project's numeric scorer stays the main metric [D, spec §4];
this one is reported beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources

from mathdistill.io import DataError, read_yaml

__all__ = ["DEMO_TASK", "STOP", "TASKS", "WRONG", "cleanup", "continuation", "demos", "flatten",
           "gold_string", "prompt", "string_correct", "task_of"]

TASKS = ("gsm8k", "svamp", "multiarith", "strategyqa", "csqa")
DEMO_TASK = {"asdiv": "gsm8k", "synthetic": "gsm8k"}  # [D] no demos of their own
STOP = ("\n\n",)
WRONG = "[no answer]"  # a prediction string no gold equals (upstream: a fixed wrong answer)
_DEMO_FILE = resources.files("mathdistill.methods") / "prompts" / "tailored_demos.yaml"
_NUM = re.compile(r"-?\d+\.?\d*")
_LETTER = re.compile(r"\(([a-e])\)")


def task_of(dataset: str) -> str:
    """The Tailored task whose demos prompt problems of `dataset` ("gsm8k/train/3" works)."""
    name = dataset.split("/", 1)[0]
    task = DEMO_TASK.get(name, name)
    if task not in TASKS:
        raise ValueError(f"no Tailored Learning demos for data set {name!r} "
                         f"(tasks: {', '.join(TASKS)}; others: {DEMO_TASK})")
    return task


@cache
def demos(task: str) -> tuple[dict, ...]:
    """The task's demonstrations from tailored_demos.yaml (checked)."""
    rows = (read_yaml(_DEMO_FILE) or {}).get(task_of(task))
    if not rows:
        raise DataError(f"{_DEMO_FILE}: no demos for task {task!r}")
    for i, row in enumerate(rows):
        need = ("question", "reasoning", "answer", *(("choices",) if task == "csqa" else ()))
        missing = [k for k in need if k not in row]
        if missing:
            raise DataError(f"{_DEMO_FILE}: {task} demo {i}: missing {', '.join(missing)}")
    return tuple(rows)


def _query(question: str, task: str, choices: Sequence[str] | None) -> str:
    if task == "csqa":
        from mathdistill.strategies.extract import format_choices

        return f"Question: {question}\nAnswer Choices:{format_choices(choices)}\nAnswer:"
    return f"Question: {question}\nReasoning:"


def _demo(row: dict, task: str) -> str:
    head = _query(row["question"], task, row.get("choices"))
    if task == "csqa":
        return f"{head} {row['reasoning']}"
    return f"{head} {row['reasoning']}\nAnswer: {row['answer']}"


def prompt(question: str, task: str, *, choices: Sequence[str] | None = None,
           fewshot: bool = True) -> str:
    """The student's input: the task's demos (blank-line separated), then the question and
    its cue; fewshot=False: the question and cue only (upstream's zero-shot variant)."""
    task = task_of(task)
    if task == "csqa" and not choices:
        raise ValueError("a CSQA prompt needs the answer choices")
    query = _query(question.strip(), task, choices)
    if not fewshot:
        return query
    return "\n\n".join(_demo(r, task) for r in demos(task)) + "\n\n" + query


def flatten(text: str) -> str:
    """Upstream's rationale normalisation: newlines -> spaces, then "  " deleted."""
    return text.replace("\n", " ").strip().replace("  ", "").strip()


def _answer_text(answer: float | str) -> str:
    from mathdistill.strategies import format_number

    return str(answer).strip().lower() if isinstance(answer, str) else format_number(answer)


def continuation(text: str, answer: float | str, task: str) -> str:
    """The training target after `prompt(...)`: " {flat rationale}\\nAnswer: {answer}";
    CSQA: " {rationale}" (it ends with its own "Therefore, the answer is ... (x).")."""
    if task_of(task) == "csqa":
        return " " + text.strip()
    return f" {flatten(text)}\nAnswer: {_answer_text(answer)}"


def cleanup(text: str, task: str) -> tuple[str, str]:
    """(text cut at the first blank line and after its answer, prediction string)."""
    task = task_of(task)
    if task == "csqa":
        line = text.strip().split("\n\n")[0].split("\n")[0].strip()
        m = _LETTER.search(line)
        line = line[: m.end() + 1].strip() if m else line
        letters = _LETTER.findall(line)
        pred = letters[-1] if letters else (line if line in tuple("abcde") else WRONG)
        return line, pred.lower()
    text = text.strip().split("\n\n")[0]
    markers = ("\nAnswer",) if task == "strategyqa" else ("\nAnswer", "Therefore, the answer is")
    marker = next((mk for mk in markers if mk in text), None)
    tail = text.split(marker, 1)[1] if marker else text
    if task == "strategyqa":
        words = [w.lower().strip(".") for w in tail.split()]
        found = [w for w in words if w in ("yes", "no")]
    else:
        found = [n.strip(".") for n in _NUM.findall(tail.replace(",", ""))]
    if not found:
        return text, WRONG
    pred = found[0] if marker else found[-1]
    if marker and task != "strategyqa":  # cut after the answer (upstream trims the rest)
        at = text.index(marker) + len(marker)
        hit = text.find(pred, at)
        text = text[: hit + len(pred)] if hit != -1 else text
    return text, pred.lower()


def gold_string(problem) -> str:
    """The gold answer as the authors' code writes it (spec §2.6)."""
    gold = problem.gold or {}
    if problem.dataset == "gsm8k" and "#### " in str(gold.get("solution", "")):
        return gold["solution"].rsplit("#### ", 1)[1].strip()
    if problem.dataset == "svamp" and not isinstance(problem.answer, str):
        return str(int(problem.answer))
    if gold.get("final_ans") is not None:  # ChilleD files keep the answer as a string
        return str(gold["final_ans"]).strip().lower()
    return _answer_text(problem.answer)


def string_correct(pred: str | None, gold: str) -> bool:
    """Upstream's score: case-insensitive string equality."""
    return pred is not None and pred.lower() == gold.lower()
