"""The record types that flow between stages (one JSON object per JSONL line).

    from mathdistill.records import Problem
    p = Problem(id="gsm8k/test/0", dataset="gsm8k", question="...", answer=18.0)
    Problem.from_dict(p.to_dict()) == p

Math problems carry a float `answer`; label tasks (csqa, strategyqa) carry a str
`answer` (a choice letter, or "yes"/"no") and, for multiple choice, `choices`.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

STRATEGIES = ("cot", "pot", "eot", "l2m")


class RecordError(ValueError):
    """A record is missing a field or has a field of the wrong type."""


def _check(cls, d: dict) -> dict:
    if not isinstance(d, dict):
        raise RecordError(f"{cls.__name__}: expected a JSON object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    missing = sorted(required - d.keys())
    if missing:
        raise RecordError(f"{cls.__name__}: missing field(s) {', '.join(missing)}")
    return {k: v for k, v in d.items() if k in names}


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
        return {k: v for k, v in asdict(self).items() if v is not None or k == "gold"}

    @classmethod
    def from_dict(cls, d: dict) -> "Problem":
        d = _check(cls, d)
        ans = d["answer"]
        if isinstance(ans, int) and not isinstance(ans, bool):
            d["answer"] = float(ans)
        elif not isinstance(ans, (float, str)):
            raise RecordError(f"Problem {d.get('id')!r}: answer must be a number or a label")
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
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Rationale":
        return cls(**_check(cls, d))


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
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Prediction":
        return cls(**_check(cls, d))
