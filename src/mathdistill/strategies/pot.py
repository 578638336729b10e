"""Program-of-Thought: one `var = expr` line per step, then `answer = <last var>`.

    from mathdistill.strategies.pot import PoT
    PoT().render([{"var": "shirts", "expr": "3"},
                  {"var": "cost", "expr": "shirts * 20", "value": 60.0}], 60.0)
    # "shirts = 3\ncost = shirts * 20\nanswer = cost"
    PoT().answers(["x = 2\nanswer = x * 3"])   # runs in the sandbox -> [Result(6.0)]

The result variable is `answer`, as in SIKeD's PoT prompt. Programs are never run in
this process: `answers` hands them to `mathdistill.execution.run_programs`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mathdistill.execution.result import Result
from mathdistill.strategies.base import Strategy, assignments, check_steps, final_answer

RESULT_VAR = "answer"


@dataclass(frozen=True)
class PoT(Strategy):
    name: str = "pot"
    trigger: str = "Let's break down the code step by step"
    # SIKeD appendix, Figure 10.
    teacher_instruction: str = (
        "Solve the given math problem by writing a python program. "
        "Store your result as a variable named 'answer'."
    )

    def render(self, steps: list[dict], answer: float | str | None = None) -> str:
        steps = check_steps(steps)
        final_answer(steps, answer)  # the program must compute the stated answer
        return assignments(steps, RESULT_VAR)

    def answers(self, texts: list[str], **options) -> list[Result]:
        from mathdistill.execution import run_programs  # lazy: starts a worker pool

        return run_programs(list(texts), **options)
