"""Least-to-Most: sub-question / answer pairs, then `Final Answer: N` (SIKeD format).

    from mathdistill.strategies.l2m import L2M
    L2M().render([{"var": "total_cost", "expr": "3 * 20", "value": 60.0,
                   "text": "The shirts cost 3 * 20 = 60 dollars.",
                   "question": "How much did the shirts cost?"}], 60.0)
    # "Sub-question 1: How much did the shirts cost?\n"
    # "Answer to Sub-question 1: The shirts cost 3 * 20 = 60 dollars.\n"
    # "Final Answer: 60"

Steps without a `question` (GSM8K train has no socratic text) get a generic
sub-question built from the variable name, which is honest about what the step
computes and invents nothing: `total_cost` -> "What is the total cost?",
`numEggs` -> "What is the num eggs?". Steps that only restate a given number
(`expr` is a bare literal such as "3") and have no `question` are left out: they
answer no sub-question. If that would leave nothing, all steps are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mathdistill.execution.result import Result
from mathdistill.strategies.base import (
    Strategy,
    check_steps,
    extraction_results,
    final_answer,
    show,
)

_LITERAL = re.compile(r"\s*\(?\s*-?\s*(?:\d+\.?\d*|\.\d+)\s*\)?\s*")


def generic_question(var: str) -> str:
    """A plain sub-question from a variable name: "total_cost" -> "What is the total cost?"."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", var)  # camelCase -> camel Case
    words = re.sub(r"([A-Za-z])(\d)", r"\1 \2", words)  # step2 -> step 2
    words = " ".join(w for w in words.replace("_", " ").split()).lower()
    return f"What is the {words}?" if words else "What is the result?"


@dataclass(frozen=True)
class L2M(Strategy):
    name: str = "l2m"
    # Project default: ETD has no L2M; this names the decomposition the target shows.
    trigger: str = "Let's break down the problem into sub-questions"
    # SIKeD appendix, Figure 9.
    teacher_instruction: str = (
        "Solve the given math problem by decomposing it into smaller, manageable "
        "sub-questions. Put your final answer after 'Final answer: '."
    )

    def render(self, steps: list[dict], answer: float | str | None = None) -> str:
        steps = check_steps(steps, need=("text",))
        value = final_answer(steps, answer)
        kept = [s for s in steps if s.get("question") or not _is_given(s)] or steps
        lines = []
        for k, s in enumerate(kept, 1):
            question = (s.get("question") or "").strip() or generic_question(s.get("var") or "")
            lines.append(f"Sub-question {k}: {question}")
            lines.append(f"Answer to Sub-question {k}: {s['text'].strip()}")
        lines.append(f"Final Answer: {show(value)}")
        return "\n".join(lines)

    def answers(self, texts: list[str], **options) -> list[Result]:
        return extraction_results(texts)


def _is_given(step: dict) -> bool:
    """A step that only states a number from the question (expr is a literal)."""
    return bool(_LITERAL.fullmatch(step.get("expr") or ""))
