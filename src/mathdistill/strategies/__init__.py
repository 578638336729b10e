"""Rationale formats (CoT, PoT, EoT, L2M): triggers, rendering, answers, scoring.

    from mathdistill.strategies import get, student_prompt, extract_answer, is_correct
    pot = get("pot")
    prompt = student_prompt(problem.question, "pot")
    # "Question: ...\\nLet's break down the code step by step\\n"
    target = pot.render(problem.gold["steps"], problem.answer)
    [result] = pot.answers([generated_text])     # sandboxed execution
    is_correct(result.value, problem.answer)

    tag("cot") + text        # "[cot]: ..." (SIKeD mixed-strategy responses)
    split_tag("[pot]: x = 1") # ("pot", "x = 1")

Triggers (the student's instruction): ETD's wording for cot/pot/eot; l2m is a
project default ("Let's break down the problem into sub-questions").
"""

from __future__ import annotations

import re

from mathdistill.records import STRATEGIES
from mathdistill.strategies.base import ALPACA_HEADER, StepsError, Strategy, check_steps
from mathdistill.strategies.cot import CoT
from mathdistill.strategies.eot import EoT
from mathdistill.strategies.extract import (
    extract_answer,
    extract_label,
    format_number,
    is_correct,
    normalize_number,
)
from mathdistill.strategies.l2m import L2M, generic_question
from mathdistill.strategies.pot import PoT

__all__ = [
    "ALPACA_HEADER",
    "STRATEGY_NAMES",
    "StepsError",
    "Strategy",
    "check_steps",
    "extract_answer",
    "extract_label",
    "format_number",
    "generic_question",
    "get",
    "is_correct",
    "normalize_number",
    "split_tag",
    "student_prompt",
    "tag",
]

STRATEGY_NAMES: tuple[str, ...] = STRATEGIES  # ("cot", "pot", "eot", "l2m")

_REGISTRY: dict[str, Strategy] = {s.name: s for s in (CoT(), PoT(), EoT(), L2M())}
assert tuple(_REGISTRY) == STRATEGY_NAMES


def get(name: str | Strategy) -> Strategy:
    """The strategy called `name` (a Strategy is returned as is)."""
    if isinstance(name, Strategy):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}"
        ) from None


def student_prompt(question: str, strategy: str | Strategy) -> str:
    """The student's input: `"Question: {question}\\n{trigger}\\n"`."""
    return f"Question: {question}\n{get(strategy).trigger}\n"


def tag(strategy: str | Strategy) -> str:
    """SIKeD's strategy prefix for mixed-strategy responses: "cot" -> "[cot]: "."""
    return f"[{get(strategy).name}]: "


_TAG_RE = re.compile(r"\s*\[(" + "|".join(STRATEGY_NAMES) + r")\]:[ ]?")


def split_tag(text: str) -> tuple[str | None, str]:
    """Split a leading strategy tag: "[pot]: x = 1" -> ("pot", "x = 1").

    Text without a known tag comes back unchanged as (None, text);
    `split_tag(tag(s) + rest) == (s, rest)` for every strategy and rest.
    """
    m = _TAG_RE.match(text)
    if m is None:
        return None, text
    return m.group(1), text[m.end() :]
