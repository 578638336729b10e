"""The record types that flow between stages (one JSON object per JSONL line).

    from mathdistill.records import Problem
    p = Problem(id="gsm8k/test/0", dataset="gsm8k", question="...", answer=18.0)
    Problem.from_dict(p.to_dict()) == p

Math problems carry a float `answer`; label tasks (csqa, strategyqa) carry a str
`answer` (a choice letter, or "yes"/"no") and, for multiple choice, `choices`.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

STRATEGIES = ("cot", "pot", "eot", "l2m")


class RecordError(ValueError):
    """A record is missing a field or has a field of the wrong type."""


def _check(cls, d: dict, strings: tuple[str, ...] = (), *, answer_optional: bool) -> dict:
    """The known fields of `d`; RecordError for a missing field, a non-string among
    `strings`, or an `answer` that is not a number or a label (None if `answer_optional`)."""
    if not isinstance(d, dict):
        raise RecordError(f"{cls.__name__}: expected a JSON object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    missing = sorted(required - d.keys())
    if missing:
        raise RecordError(f"{cls.__name__}: missing field(s) {', '.join(missing)}")
    where = f"{cls.__name__} {d.get('id')!r}"
    for key in strings:
        if not isinstance(d[key], str):
            raise RecordError(f"{where}: {key!r} must be a string, got {type(d[key]).__name__}")
    ans = d.get("answer")
    if not (ans is None and answer_optional) and (
            isinstance(ans, bool) or not isinstance(ans, (int, float, str))):
        raise RecordError(f"{where}: answer must be a number or a label, got {ans!r}")
    return {k: v for k, v in d.items() if k in names}


def _fields(record) -> dict:
    """A record's fields as a dict for JSON (write_jsonl). Shallow: nested values (gold, meta)
    are the record's own, not copies (dataclasses.asdict's deep copy cost a quarter of
    preparing 12,000 synthetic problems)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


@dataclass
class Problem:
    id: str
    dataset: str
    question: str
    answer: float | str
    gold: dict[str, Any] | None = None
    choices: list[str] | None = None

    @property
    def is_numeric(self) -> bool:
        return isinstance(self.answer, (int, float)) and not isinstance(self.answer, bool)

    def to_dict(self) -> dict:
        return {k: v for k, v in _fields(self).items() if v is not None or k == "gold"}

    @classmethod
    def from_dict(cls, d: dict) -> Problem:
        d = _check(cls, d, ("id", "dataset", "question"), answer_optional=False)
        if isinstance(d["answer"], int):
            d["answer"] = float(d["answer"])
        return cls(**d)


@dataclass
class Rationale:
    id: str
    question: str
    answer: float | str
    strategy: str
    text: str
    source: str = "teacher"  # "teacher" | "student"
    round: int = 0
    correct: bool | None = None
    pred: float | str | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return _fields(self)

    @classmethod
    def from_dict(cls, d: dict) -> Rationale:
        return cls(**_check(cls, d, ("id", "question", "strategy", "text"), answer_optional=True))


@dataclass
class Prediction:
    id: str
    dataset: str
    strategy: str
    text: str
    pred: float | str | None
    correct: bool
    error: str | None = None
    answer: float | str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return _fields(self)

    @classmethod
    def from_dict(cls, d: dict) -> Prediction:
        return cls(**_check(cls, d, ("id", "dataset", "strategy", "text"), answer_optional=True))
