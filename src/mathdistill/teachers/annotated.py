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

FDD / Tailored Learning operations (same names as the real backends'):
- `generate_questions(problems, mode, seed=0)`: "similar" -> `synthetic.perturb` with new
  names and numbers (the FDD prompt asks for "a different scenario and numbers"), "harder"
  -> the same followed by `synthetic.extend` (one more step). Returns Problems (with gold
  steps and answer, so this teacher can also write their rationales), or None for a
  problem without a synthetic plan (e.g. GSM8K: its annotations cannot be re-rendered) or
  when no variant fits. New names matter for FDD's ROUGE-L filter (0.7): measured
  against the seed question alone, a perturb that keeps the names is a near copy (F1 >=
  0.82 on 200 synthetic train problems: none would pass); with new names 73% pass, and
  99% of the harder (perturbed + extended) ones.
- `feedback(problems, wrong_rationales)`: the reference CoT rationale of each problem,
  whatever the mistake (this teacher cannot tailor; meta["wrong"] keeps the mistake).
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

    # ---- FDD / Tailored Learning operations (used by methods.fdd / methods.tailored) ----
    def generate_questions(self, problems: Sequence[Problem], mode: str = "harder", *,
                           seed: int = 0) -> list[Problem | None]:
        """FDD: a harder (perturb + extend) or similar (perturb) variant per problem, or None."""
        from mathdistill.data import synthetic

        if mode not in ("harder", "similar"):
            raise ValueError(f"unknown question mode {mode!r} (harder, similar)")
        out: list[Problem | None] = []
        for p in problems:
            if not (p.gold or {}).get("plan"):
                out.append(None)
                continue
            try:
                q = synthetic.perturb(p, seed, new_names=True)
                out.append(synthetic.extend(q, seed) if mode == "harder" else q)
            except ValueError:  # no new numbers found / no step fits
                out.append(None)
        missing = sum(q is None for q in out)
        if missing:
            logger.info("annotated %s questions: %d of %d problems have no variant", mode,
                        missing, len(problems))
        return out

    def feedback(self, problems: Sequence[Problem], wrong_rationales: Sequence[Rationale | str],
                 n: int = 1) -> list[Rationale]:
        """Tailored Learning: the reference CoT rationale for each (problem, mistake) pair."""
        if len(problems) != len(wrong_rationales):
            raise ValueError(f"{len(problems)} problems but {len(wrong_rationales)} rationales")
        out = []
        for p, w in zip(problems, wrong_rationales):
            text = rationale_text(p, "cot")
            if text is None:
                continue
            wrong = w.text if isinstance(w, Rationale) else str(w)
            for k in range(n if self.repeat else 1):
                meta = {"teacher": self.name, "dataset": p.dataset, "sample": k,
                        "feedback": True, "wrong": wrong}
                out.append(Rationale(id=p.id, question=p.question, answer=p.answer,
                                     strategy="cot", text=text, meta=meta))
        return out
