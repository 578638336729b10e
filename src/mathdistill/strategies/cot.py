"""Chain-of-Thought: natural-language steps, then `The answer is N.`

    from mathdistill.strategies.cot import CoT
    CoT().render([{"var": "c", "expr": "3 * 20", "value": 60.0,
                   "text": "The shirts cost 3 * 20 = 60 dollars."}], 60.0)
    # "The shirts cost 3 * 20 = 60 dollars.\nThe answer is 60."

One step text per line. Answers are read back with `extract_answer` (a missing
number gives Result(None, "no_answer")).
"""

from __future__ import annotations

from dataclasses import dataclass

from mathdistill.execution.result import Result
from mathdistill.strategies.base import (
    Strategy,
    check_steps,
    extraction_results,
    final_answer,
    show,
)


@dataclass(frozen=True)
class CoT(Strategy):
    name: str = "cot"
    trigger: str = "Let's think step by step"
    # SIKeD appendix, Figure 8.
    teacher_instruction: str = (
        "Solve the given math problem step by step. Put your final answer after 'Final answer:'."
    )

    def render(self, steps: list[dict], answer: float | str | None = None) -> str:
        steps = check_steps(steps, need=("text",))
        lines = [s["text"].strip() for s in steps]
        lines.append(f"The answer is {show(final_answer(steps, answer))}.")
        return "\n".join(lines)

    def answers(self, texts: list[str], **options) -> list[Result]:
        return extraction_results(texts)
