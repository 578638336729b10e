"""The `Teacher` interface every backend implements (annotated, openai, vllm, hf).

    teacher = get_teacher("annotated")
    rationales = teacher.generate(problems, "pot", n=1)

A teacher returns one list of `Rationale` per call, `n` per problem at most (a backend
may return fewer for a problem it cannot serve, e.g. a GSM8K item with no annotation);
`correct`/`pred` are left unset: filtering is a separate stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from mathdistill.records import Problem, Rationale


@runtime_checkable
class Teacher(Protocol):
    name: str

    def generate(self, problems: Sequence[Problem], strategy: str, n: int = 1) -> list[Rationale]:
        """Rationales in `strategy` ("cot", "pot", "eot", "l2m") for each problem."""
        ...
