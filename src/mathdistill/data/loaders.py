"""Loaders for the real data sets: files in the data dir -> `Problem` records.

    from mathdistill.data.loaders import load, skipped
    test = load("gsm8k", "test")                 # 1319 Problems, ids "gsm8k/test/<i>"
    socratic = load("gsm8k", "test", socratic=True)  # same problems, socratic solutions
    asdiv = load("asdiv", "test", limit=10)
    skipped("asdiv", "test")                     # the problems left out (no single number)

One parser per data set; the registry `REGISTRY` maps name -> splits (file per split)
and parser. Every problem gets `id = f"{dataset}/{split}/{index}"` where `index` is the
record's 0-based position in the source file (ASDiv keeps the file position of the
problems it keeps, so ids are stable). What each loader puts in `gold`:

| dataset | question | answer | gold |
| --- | --- | --- | --- |
| gsm8k | question | float after `#### ` (commas removed) | solution (raw answer text) |
| svamp | Body + " " + Question | Answer | equation, type, source_id |
| asdiv | Body + " " + Question | the number of `9 (apples)` | formula, solution_type, answer_text, grade, source_id |
| multiarith | sQuestion (stripped) | lSolutions[0] | equations, source_id |
| csqa | question.stem | answerKey letter ("A".."E"); `choices` = texts in label order | labels, concept, source_id |
| strategyqa | input | "yes" / "no" (the target score of 1) | explanation (BIG-bench `target`) |

ASDiv keeps a problem only when its answer is a single decimal number with an optional
unit in parentheses; ratios (`3:4`), times, fractions (`5/2`), several numbers
(`8; 40`) and names are skipped, counted and logged. `all_problems=True` keeps all 2,305
with SIKeD's gold rule (`data.published`). Splits named `chilled_*`: MultiArith 420/180
(SIKeD's 180-problem test set) is selected from MultiArith.json by a committed position
list (`data.published.chilled_split`); SVAMP 700/300 (Tailored's per-task train split [D])
is a file in the data dir, and a missing one names its public source.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathdistill.data import published
from mathdistill.data.paths import data_dir as resolve_data_dir
from mathdistill.io import DataError, iter_jsonl, read_json
from mathdistill.records import Problem

logger = logging.getLogger(__name__)

# A parser yields (index, Problem) for kept records and (index, skip-info dict) for skipped.
Parsed = Iterator[tuple[int, "Problem | dict"]]

_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_ASDIV_ANSWER = re.compile(r"^\s*(?P<num>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(?:\([^();]*\))?\s*$")


def _to_float(text: str, where: str) -> float:
    text = str(text).strip().replace(",", "")
    if not _NUMBER.fullmatch(text):
        raise DataError(f"{where}: answer {text!r} is not a number")
    return float(text)


def _field(row: Any, key: str, where: str) -> Any:
    if not isinstance(row, dict) or key not in row:
        raise DataError(f"{where}: missing field {key!r}")
    return row[key]


def _json_items(path: Path, items: Any, what: str) -> list:
    if not isinstance(items, list):
        raise DataError(f"{path}: expected a JSON list of {what}, got {type(items).__name__}")
    return items


# ------------------------------------------------------------------ parsers
def _gsm8k(path: Path, name: str, split: str) -> Parsed:
    for index, (lineno, row) in enumerate(iter_jsonl(path)):
        where = f"{path}:{lineno}"
        solution = _field(row, "answer", where)
        if not isinstance(solution, str) or "#### " not in solution:
            raise DataError(f"{where}: solution has no final '#### N' line")
        answer = _to_float(solution.rsplit("#### ", 1)[1], where)
        yield index, Problem(id=f"{name}/{split}/{index}", dataset=name,
                             question=str(_field(row, "question", where)).strip(),
                             answer=answer, gold={"solution": solution})


def _svamp(path: Path, name: str, split: str) -> Parsed:
    for index, row in enumerate(_json_items(path, published.json_rows(path), "problems")):
        where = f"{path}: item {index}"
        body = str(_field(row, "Body", where)).strip()
        question = str(_field(row, "Question", where)).strip()
        yield index, Problem(
            id=f"{name}/{split}/{index}", dataset=name, question=f"{body} {question}",
            answer=_to_float(_field(row, "Answer", where), where),
            gold={"equation": row.get("Equation"), "type": row.get("Type"),
                  "source_id": row.get("ID")})


def _asdiv(path: Path, name: str, split: str, all_problems: bool = False) -> Parsed:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        line, _col = e.position
        raise DataError(f"{path}:{line}: invalid XML: {e}") from None
    for index, node in enumerate(root.iter("Problem")):
        source_id = node.get("ID")
        where = f"{path}: problem {source_id or index}"
        parts = {tag: node.findtext(tag) for tag in ("Body", "Question", "Answer")}
        missing = [tag for tag, text in parts.items() if text is None]
        if missing:
            raise DataError(f"{where}: missing <{missing[0]}>")
        answer_text = parts["Answer"].strip()
        match = _ASDIV_ANSWER.match(answer_text)
        extra = {}
        if all_problems:  # SIKeD [C]: every problem, gold by the authors' rule
            answer, rule = published.siked_asdiv_gold(answer_text, node.findtext("Formula"))
            extra = {"answer_rule": rule}
        elif not match:
            yield index, {"index": index, "source_id": source_id, "answer": answer_text}
            continue
        else:
            answer = float(match["num"].replace(",", ""))
        yield index, Problem(
            id=f"{name}/{split}/{index}", dataset=name,
            question=f"{parts['Body'].strip()} {parts['Question'].strip()}",
            answer=answer,
            gold={"formula": node.findtext("Formula"), "answer_text": answer_text,
                  "solution_type": node.findtext("Solution-Type"),
                  "grade": node.get("Grade"), "source_id": source_id, **extra})


def _multiarith(path: Path, name: str, split: str) -> Parsed:
    for index, row in enumerate(_json_items(path, read_json(path), "problems")):
        where = f"{path}: item {index}"
        solutions = _field(row, "lSolutions", where)
        if not isinstance(solutions, list) or len(solutions) != 1:
            raise DataError(f"{where}: expected one solution, got {solutions!r}")
        yield index, Problem(
            id=f"{name}/{split}/{index}", dataset=name,
            question=str(_field(row, "sQuestion", where)).strip(),
            answer=_to_float(solutions[0], where),
            gold={"equations": row.get("lEquations"), "source_id": row.get("iIndex")})


def _chilled_multiarith(path: Path, name: str, split: str) -> Parsed:
    """ChilleD/MultiArith's split of MultiArith.json (`data.published.chilled_split`): row k
    is `multiarith/<split>/k`; the selection is checked against the reference digest."""
    problems = dict(_multiarith(path, name, "test"))
    positions = published.chilled_split(split.removeprefix("chilled_"))
    if max(positions) >= len(problems):
        raise DataError(f"{path}: {len(problems)} problems, but the ChilleD split needs 600")
    rows = []
    for k, i in enumerate(positions):
        p = problems[i]
        final = str(int(p.answer)) if float(p.answer).is_integer() else str(p.answer)
        rows.append(Problem(id=f"{name}/{split}/{k}", dataset=name, question=p.question,
                            answer=p.answer, gold={**p.gold, "final_ans": final,
                                                   "split_source": "ChilleD/MultiArith"}))
    published.check_chilled(path, split.removeprefix("chilled_"),
                            [(p.question, p.gold["final_ans"]) for p in rows])
    yield from enumerate(rows)


def _csqa(path: Path, name: str, split: str) -> Parsed:
    for index, (lineno, row) in enumerate(iter_jsonl(path)):
        where = f"{path}:{lineno}"
        q = _field(row, "question", where)
        choices = _field(q, "choices", where)
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise DataError(f"{where}: 'choices' must be a list of objects")
        choices = sorted(choices, key=lambda c: str(c.get("label")))
        labels = [str(c.get("label")) for c in choices]
        key = _field(row, "answerKey", where)
        if key not in labels:
            raise DataError(f"{where}: answerKey {key!r} is not one of the labels {labels}")
        yield index, Problem(
            id=f"{name}/{split}/{index}", dataset=name,
            question=str(_field(q, "stem", where)).strip(), answer=key,
            choices=[str(c.get("text")) for c in choices],
            gold={"labels": labels, "concept": q.get("question_concept"),
                  "source_id": row.get("id")})


def _strategyqa(path: Path, name: str, split: str) -> Parsed:
    task = read_json(path)
    examples = _json_items(path, _field(task, "examples", str(path)), "examples")
    for index, row in enumerate(examples):
        where = f"{path}: example {index}"
        scores = _field(row, "target_scores", where)
        right = [label for label, score in scores.items() if score == 1] \
            if isinstance(scores, dict) else []
        if len(right) != 1 or right[0].lower() not in ("yes", "no"):
            raise DataError(f"{where}: target_scores {scores!r} is not a Yes/No label")
        yield index, Problem(
            id=f"{name}/{split}/{index}", dataset=name,
            question=str(_field(row, "input", where)).strip(), answer=right[0].lower(),
            gold={"explanation": row.get("target")})


# ------------------------------------------------------------------ registry
@dataclass(frozen=True)
class Spec:
    files: dict[str, str]  # split -> file relative to the data dir
    parse: Callable[[Path, str, str], Parsed]
    options: dict[str, dict[str, str]] | None = None  # flag option -> {split: file instead}
    flags: tuple[str, ...] = ()  # options passed to the parser (e.g. asdiv all_problems)
    parsers: dict[str, Callable[[Path, str, str], Parsed]] | None = None  # split -> own parser


REGISTRY: dict[str, Spec] = {
    "gsm8k": Spec({"train": "gsm8k/train.jsonl", "test": "gsm8k/test.jsonl"}, _gsm8k,
                  {"socratic": {"test": "gsm8k/test_socratic.jsonl"}}),
    "svamp": Spec({"test": "svamp/SVAMP.json", "chilled_train": "svamp/chilled/train.json",
                   "chilled_test": "svamp/chilled/test.json"}, _svamp),
    "asdiv": Spec({"test": "asdiv/ASDiv.xml"}, _asdiv, flags=("all_problems",)),
    "multiarith": Spec({"test": "multiarith/MultiArith.json",
                        "chilled_train": "multiarith/MultiArith.json",
                        "chilled_test": "multiarith/MultiArith.json"}, _multiarith,
                       parsers={"chilled_train": _chilled_multiarith,
                                "chilled_test": _chilled_multiarith}),
    "csqa": Spec({"train": "csqa/train_rand_split.jsonl", "dev": "csqa/dev_rand_split.jsonl"},
                 _csqa),
    "strategyqa": Spec({"test": "strategyqa/task.json"}, _strategyqa),
}
SYNTHETIC_SPLITS = ("train", "test")
SYNTHETIC_OPTIONS = ("n", "seed", "min_steps", "max_steps", "difficulty")
DATASETS: tuple[str, ...] = (*REGISTRY, "synthetic")
SPLITS: dict[str, tuple[str, ...]] = {
    **{name: tuple(spec.files) for name, spec in REGISTRY.items()},
    "synthetic": SYNTHETIC_SPLITS,
}


def _check_name_split(name: str, split: str) -> None:
    if name not in SPLITS:
        raise ValueError(f"unknown dataset {name!r}; valid datasets: {', '.join(DATASETS)}")
    if split not in SPLITS[name]:
        raise ValueError(
            f"unknown split {split!r} for dataset {name!r}; valid splits: {', '.join(SPLITS[name])}"
        )


def _file(name: str, split: str, data_dir, options: dict) -> Path:
    spec = REGISTRY[name]
    allowed = spec.options or {}
    unknown = sorted(set(options) - set(allowed) - set(spec.flags))
    if unknown:
        valid = ", ".join([*allowed, *spec.flags]) or "none"
        raise ValueError(f"dataset {name!r} has no option {unknown[0]!r}; valid options: {valid}")
    relative = spec.files[split]
    for option, value in options.items():
        if option in spec.flags:
            continue
        if value:
            if split not in allowed[option]:
                raise ValueError(f"option {option}=True of {name!r} exists only for split(s) "
                                 f"{', '.join(allowed[option])}, not {split!r}")
            relative = allowed[option][split]
    path = resolve_data_dir(data_dir) / relative
    if not path.is_file():
        raise DataError(published.missing_message(path, name, split))
    return path


def _parse(name: str, split: str, data_dir, limit: int | None, options: dict):
    """(kept problems, skipped infos) of one data set split."""
    path = _file(name, split, data_dir, options)
    problems, skips = [], []
    spec = REGISTRY[name]
    parse = (spec.parsers or {}).get(split, spec.parse)
    stream = parse(path, name, split, **{k: v for k, v in options.items() if k in spec.flags})
    for _index, item in stream if limit is None else _until(stream, limit):
        (problems if isinstance(item, Problem) else skips).append(item)
    return problems, skips, path


def _until(stream: Parsed, limit: int) -> Parsed:
    """Stop after `limit` kept problems (so `limit` never reads the whole file)."""
    kept = 0
    for index, item in stream:
        if kept >= limit:
            return
        kept += isinstance(item, Problem)
        yield index, item


def _check_limit(limit) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")


def load(name: str, split: str, *, data_dir=None, limit: int | None = None,
         **options) -> list[Problem]:
    """Problems of data set `name`, split `split` (the first `limit` when given).

    `options`: gsm8k `socratic=True` (test only: socratic solutions in `gold`); asdiv
    `all_problems=True` (SIKeD: all 2,305, see `data.published`); synthetic `n, seed,
    min_steps, max_steps, difficulty` (see `data.synthetic`).
    Unknown name/split/option -> ValueError listing the valid ones; a missing data dir or
    file -> DataError naming the path; a malformed record -> DataError naming file:line.
    """
    _check_name_split(name, split)
    _check_limit(limit)
    if name == "synthetic":
        from mathdistill.data import synthetic  # lazy: the generator is only needed here

        unknown = sorted(set(options) - set(SYNTHETIC_OPTIONS))
        if unknown:
            raise ValueError(f"dataset 'synthetic' has no option {unknown[0]!r}; "
                             f"valid options: {', '.join(SYNTHETIC_OPTIONS)}")
        return synthetic.load_split(split, limit=limit, **options)
    problems, skips, path = _parse(name, split, data_dir, limit, options)
    if skips:
        logger.info("%s/%s: skipped %d of %d records (%s)", name, split, len(skips),
                    len(skips) + len(problems), path)
    return problems


def skipped(name: str, split: str, *, data_dir=None, **options) -> list[dict]:
    """The records `load(name, split)` leaves out: [{"index", "source_id", "answer"}, ...].

    Only ASDiv skips records (answers that are not a single number); others return [].
    """
    _check_name_split(name, split)
    if name == "synthetic":
        return []
    return _parse(name, split, data_dir, None, options)[1]

