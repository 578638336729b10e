"""The `Strategy` base class and checks for "solution steps" (see contracts).

    from mathdistill.strategies import get
    cot = get("cot")
    cot.trigger                      # "Let's think step by step"
    cot.render(steps, 66.0)          # rationale text from problem.gold["steps"]
    cot.answers(["... The answer is 66."])   # [Result(value=66.0)]

A step is `{"var", "expr", "value", "text", "question"}`; `check_steps` validates a
list of them so a malformed gold program fails loudly (`StepsError`, naming the step)
instead of becoming a broken training target.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from typing import Any

from mathdistill.execution.result import Result
from mathdistill.strategies import arith
from mathdistill.strategies.extract import extract_answer, format_number, is_correct

# SIKeD's Alpaca-style prompt header (paper appendix, Figures 8-10).
ALPACA_HEADER = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request."
)


class StepsError(ValueError):
    """Solution steps that cannot be rendered (missing field, bad expr, wrong answer)."""


def _expr_names(expr: str, where: str) -> list[str]:
    """Names used in `expr`; StepsError if it is not plain arithmetic (parsed, never run)."""
    try:
        return arith.names(expr)
    except arith.ArithError as e:
        raise StepsError(f"{where}: {e}") from None


def check_steps(steps: Any, *, need: tuple[str, ...] = ("var", "expr")) -> list[dict]:
    """Validate solution steps; returns them as a list. `need` = fields that must be set.

    Always checked: a non-empty list of dicts; `var` a Python identifier that is not a
    keyword and not reused; `expr` arithmetic over numbers and *earlier* vars only;
    `value` (if present) a finite number; `text`/`question` strings or None.
    """
    if not isinstance(steps, (list, tuple)) or not steps:
        raise StepsError(f"solution steps must be a non-empty list, got {steps!r:.80}")
    seen: set[str] = set()
    for i, step in enumerate(steps, 1):
        where = f"step {i}"
        if not isinstance(step, dict):
            raise StepsError(f"{where}: expected a dict, got {type(step).__name__}")
        for key in need:
            if step.get(key) in (None, ""):
                raise StepsError(f"{where}: missing {key!r}")
        for key in ("var", "expr", "text", "question"):
            if step.get(key) is not None and not isinstance(step[key], str):
                raise StepsError(f"{where}: {key!r} must be a string, got {step[key]!r}")
        var = step.get("var")
        if var is not None:
            if not var.isidentifier() or keyword.iskeyword(var) or not var.isascii():
                raise StepsError(f"{where}: var {var!r} is not a usable identifier")
            if var in seen:
                raise StepsError(f"{where}: var {var!r} is assigned twice")
        if step.get("expr") is not None:
            unknown = [n for n in _expr_names(step["expr"], where) if n not in seen]
            if unknown:
                raise StepsError(f"{where}: expr uses {unknown[0]!r} before it is defined")
        if var is not None:
            seen.add(var)
        value = step.get("value")
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise StepsError(f"{where}: value must be a finite number, got {value!r}")
    return list(steps)


def final_answer(steps: list[dict], answer: float | str | None) -> float | str:
    """The answer to state: `answer`, checked against the last step's value.

    A rationale whose last step computes something other than the answer it states
    would teach the student a wrong chain, so a mismatch raises StepsError.
    """
    last = steps[-1].get("value")
    if answer is None:
        if last is None:
            raise StepsError("no answer given and the last step has no value")
        return last
    if last is not None and not is_correct(last, answer):
        raise StepsError(f"last step's value {last!r} does not match the answer {answer!r}")
    return answer


def assignments(steps: list[dict], result_var: str) -> str:
    """One `var = expr` line per step, then `result_var = <last var>` (PoT and EoT)."""
    lines = [f"{s['var']} = {s['expr'].strip()}" for s in steps]
    if steps[-1]["var"] != result_var:
        lines.append(f"{result_var} = {steps[-1]['var']}")
    return "\n".join(lines)


def show(x: float | str) -> str:
    """A number as rationale text (60.0 -> "60"); labels unchanged."""
    return x if isinstance(x, str) else format_number(x)


def extraction_results(texts: list[str]) -> list[Result]:
    """Answers extracted from free text: Result(value) or Result(None, "no_answer")."""
    out = []
    for text in texts:
        value = extract_answer(text)
        out.append(Result(value) if value is not None else Result(None, "no_answer", "no number"))
    return out


@dataclass(frozen=True)
class Strategy:
    """One rationale format. Subclasses implement `render` and `answers`."""

    name: str
    trigger: str  # the student's instruction (ETD wording)
    teacher_instruction: str  # Alpaca-style instruction for a teacher LLM (SIKeD / XoT)

    def render(self, steps: list[dict], answer: float | str | None = None) -> str:
        """The rationale text in this format for solution steps (see contracts)."""
        raise NotImplementedError

    def answers(self, texts: list[str], **options) -> list[Result]:
        """One Result per rationale text (extraction, execution or solving).

        `options` (e.g. timeout=) go to the executor for pot/eot; cot/l2m ignore them,
        so callers can treat every strategy alike.
        """
        raise NotImplementedError

    def answer(self, text: str, **options) -> Result:
        """`answers` for a single text."""
        return self.answers([text], **options)[0]
