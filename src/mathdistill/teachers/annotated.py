"""The offline `annotated` teacher: rationales derived from human / generator annotations.

    from mathdistill.teachers import get_teacher
    teacher = get_teacher("annotated")
    rationales = teacher.generate(problems, "pot")      # one Rationale per servable problem

What it serves:
- GSM8K (`gold["solution"]`): the `<<expr=result>>` calculator annotations become solution
  steps (`gsm8k_steps`, see `gsm8k_annotations`). CoT = the solution lines with annotations
  removed + `The answer is N.` (always derivable, even with no annotation); PoT / EoT / L2M
  = the steps rendered by `strategies.get(s).render` with no stated answer, so the program's
  own result is what the filter stage checks (about 5% of the annotated GSM8K train chains
  do not reach the gold answer, mostly because the final step is not annotated). A problem
  with no usable annotation gets no PoT / EoT / L2M rationale. GSM8K train has no socratic text, so L2M
  sub-questions are the generic ones the L2M strategy builds from var names ("What is the
  clips may?"); a socratic solution (`"Q? ** step"` lines) gives real sub-questions.
- Synthetic problems (`gold["steps"]`): all four strategies rendered from their steps and
  the problem's answer.
- Anything else raises `DataError`: this teacher only serves annotated data.

The teacher is deterministic: by default it returns one rationale per problem whatever
`n` is (the Teacher protocol allows fewer than n). `AnnotatedTeacher(repeat=True)` returns
the same rationale n times (meta["sample"] = 0..n-1), for pipelines that expect n rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tqdm import tqdm

from mathdistill.io import DataError
from mathdistill.records import STRATEGIES, Problem, Rationale
from mathdistill.teachers.gsm8k_annotations import gsm8k_steps, solution_lines

__all__ = ["AnnotatedTeacher", "gsm8k_steps", "problem_steps", "rationale_text"]

logger = logging.getLogger(__name__)


def problem_steps(problem: Problem) -> list[dict] | None:
    """The problem's solution steps: `gold["steps"]`, or parsed from a GSM8K solution."""
    gold = problem.gold or {}
    if gold.get("steps"):
        return gold["steps"]
    if isinstance(gold.get("solution"), str):
        return gsm8k_steps(gold["solution"])
    return None


def servable(problem: Problem) -> bool:
    gold = problem.gold or {}
    return bool(gold.get("steps")) or isinstance(gold.get("solution"), str)


def rationale_text(problem: Problem, strategy: str) -> str | None:
    """The rationale text of `problem` in `strategy`, or None when it cannot be derived."""
    from mathdistill.strategies import StepsError, get  # lazy: keeps the registry light

    gold = problem.gold or {}
    if not servable(problem):
        raise DataError(
            f"annotated teacher: problem {problem.id!r} ({problem.dataset}) has no annotations "
            "(gold['steps'] or a GSM8K gold['solution']); use a real teacher backend"
        )
    try:
        if gold.get("steps"):  # synthetic: the steps compute the answer
            return get(strategy).render(gold["steps"], problem.answer)
        if strategy == "cot":
            lines = [{"text": line} for line in solution_lines(gold["solution"])]
            return get("cot").render(lines, problem.answer) if lines else None
        steps = gsm8k_steps(gold["solution"])
        # No stated answer: the rationale says what its own chain computes.
        return get(strategy).render(steps, None) if steps else None
    except StepsError as e:
        raise DataError(f"annotated teacher: problem {problem.id!r}: {e}") from None


class AnnotatedTeacher:
    """Deterministic offline teacher (see the module docstring)."""

    name = "annotated"

    def __init__(self, repeat: bool = False):
        self.repeat = bool(repeat)

    def generate(self, problems: Sequence[Problem], strategy: str, n: int = 1) -> list[Rationale]:
        if strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        bad = next((p for p in problems if not servable(p)), None)
        if bad is not None:  # fail before doing any work
            rationale_text(bad, strategy)
        copies = n if self.repeat else 1
        out: list[Rationale] = []
        skipped = 0
        for p in tqdm(problems, desc=f"annotated {strategy}", unit="problem", disable=None):
            text = rationale_text(p, strategy)
            if text is None:
                skipped += 1
                continue
            for k in range(copies):
                meta = {"teacher": self.name, "dataset": p.dataset, "sample": k}
                out.append(Rationale(id=p.id, question=p.question, answer=p.answer,
                                     strategy=strategy, text=text, meta=meta))
        if skipped:
            logger.info("annotated %s: %d of %d problems have no usable annotation (skipped)",
                        strategy, skipped, len(problems))
        return out
