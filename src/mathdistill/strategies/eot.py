"""Equation-of-Thought: one `var = expr` equation per step, then `ans = <last var>`.

    from mathdistill.strategies.eot import EoT
    EoT().render([{"var": "shirts", "expr": "3"},
                  {"var": "cost", "expr": "shirts * 20", "value": 60.0}], 60.0)
    # "shirts = 3\ncost = shirts * 20\nans = cost"
    EoT().answers(["x = 2\nans = x * 3"])   # solved in a worker -> [Result(6.0)]

Format from XoT (ETD's reference for EoT): one equation per line, `%` lines are
comments, the last line names the answer `ans`. Rendered systems are triangular
(each equation defines one new variable), so they always have one solution.
Equations are solved by `mathdistill.execution.solve_equations` (SymPy, in a worker).
"""

from __future__ import annotations

from dataclasses import dataclass

from mathdistill.execution.result import Result
from mathdistill.strategies.base import (
    StepsError,
    Strategy,
    assignments,
    check_steps,
    final_answer,
)

RESULT_VAR = "ans"


@dataclass(frozen=True)
class EoT(Strategy):
    name: str = "eot"
    trigger: str = "System of linear equations: (Do not simplify)"
    # ETD / XoT use the same sentence for the teacher prompt (with 8 demonstrations).
    teacher_instruction: str = "System of linear equations: (Do not simplify)"

    def render(self, steps: list[dict], answer: float | str | None = None) -> str:
        steps = check_steps(steps)
        final_answer(steps, answer)
        if any(s["var"] == RESULT_VAR for s in steps[:-1]):
            raise StepsError(f"var {RESULT_VAR!r} is reserved for the last EoT step")
        return assignments(steps, RESULT_VAR)

    def answers(self, texts: list[str], **options) -> list[Result]:
        from mathdistill.execution import solve_equations  # lazy: starts a worker pool

        return solve_equations(list(texts), **options)
