"""The outcome of running a program or solving an equation system.

    from mathdistill.execution.result import Result
    Result(12.0).ok                                  # True
    r = Result(None, "timeout", "more than 5 s of CPU time")
    r.ok, r.to_dict()                                # False, {"value": None, "error": ...}
"""

from __future__ import annotations

from dataclasses import dataclass

# Error kinds shared by the PoT sandbox and the EoT solver.
ERRORS = ("timeout", "memory", "syntax", "runtime", "no_answer", "forbidden", "unsolvable")


@dataclass(frozen=True)
class Result:
    value: float | None
    error: str | None = None  # one of ERRORS, or None on success
    detail: str = ""  # short human-readable reason (exception message, ...)

    @property
    def ok(self) -> bool:
        return self.error is None and self.value is not None

    def to_dict(self) -> dict:
        return {"value": self.value, "error": self.error, "detail": self.detail}
