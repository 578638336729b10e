"""Combined (SIKeD's multi-strategy baseline): the student writes a strategy tag, then the rationale.

    from mathdistill.methods.combined import build_examples, route, to_predictions
    examples = build_examples(filtered_rationales, ["cot", "pot", "l2m"], seed=0)
    # {"prompt": "Question: ...\\nSolve the following Math Word Problem according to the
    #  given strategy.\\n", "target": "[pot]: x = 3\\nanswer = x * 2", "strategy": "pot", ...}

    # inference: route each generated text by the tag it starts with
    routed = route(texts)                      # [("pot", "x = 3\\nanswer = x * 2"), ...]
    results = answer_routed(routed, lambda s, bodies: get(s).answers(bodies))
    preds = to_predictions(problems, texts, routed, results)
    strategy_share(preds)                      # {"cot": 0.2, "pot": 0.7, "untagged": 0.1}

Algorithm (single stage) [P, SIKeD §2 and Table 1 "Combined"; code [C]]:
1. The teacher's filtered rationales of every strategy (cot, pot, l2m; eot when listed in
   the method's strategies) are merged.
2. Each becomes one example: prompt = the question with one strategy-neutral instruction
   (`combined_prompt`), target = `strategies.tag(s) + rationale` (`"[pot]: ..."`), so the
   student first chooses the strategy, then writes the rationale (SIKeD eq. 1).
3. At test time the student answers the neutral prompt; the text is routed by its tag to
   that strategy's executor (`route`): CoT/L2M extraction, PoT sandbox, EoT solver.

Spec items and defaults:
- [C] tags `[cot]: ` / `[pot]: ` / `[l2m]: ` (`strategies.tag`); `[eot]: ` is this
  project's extension for when eot is enabled.
- [C] instruction: the authors' self-sampling prompt says "Solve the following Math Word
  Problem according to the given strategy." (Alpaca format); here it goes into the
  project's `Question: ...\\n{instruction}\\n` student prompt [D] (option `instruction`).
- [X] a text with no known tag: routed to `untagged_as` (default "cot": answer extraction
  only, nothing is executed) [D] and reported under the strategy name "untagged".
- [C] teacher data: one correct chain per (question, strategy), the first in file order
  (`teacher_chains` = 1; the authors' filter deduplicates by id); None keeps every chain
  (`methods.selection.limit_chains`).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from mathdistill.execution.result import Result
from mathdistill.records import Prediction, Problem, Rationale

__all__ = ["DEFAULTS", "INSTRUCTION", "UNTAGGED", "answer_routed", "build_examples", "build_round",
           "combined_prompt", "route", "strategy_share", "tagged_example", "to_predictions"]

logger = logging.getLogger(__name__)

INSTRUCTION = "Solve the following Math Word Problem according to the given strategy."
UNTAGGED = "untagged"
DEFAULTS = {"strategies": ["cot", "pot", "l2m"], "instruction": INSTRUCTION,
            "untagged_as": "cot", "teacher_chains": 1}


def combined_prompt(question: str, instruction: str = INSTRUCTION) -> str:
    """The student's strategy-neutral input: `"Question: {question}\\n{instruction}\\n"`."""
    return f"Question: {question}\n{instruction}\n"


def tagged_example(r: Rationale, instruction: str = INSTRUCTION) -> dict:
    """One training example `{"prompt", "target", "id", "strategy", "source"}`."""
    from mathdistill.strategies import tag

    return {"prompt": combined_prompt(r.question, instruction), "target": tag(r.strategy) + r.text,
            "id": r.id, "strategy": r.strategy, "source": r.source}


def build_examples(rationales: Sequence[Rationale], strategies: Sequence[str] | None = None, *,
                   instruction: str = INSTRUCTION, seed: int = 0,
                   shuffle: bool = True) -> list[dict]:
    """Tagged examples of the given strategies; wrong (`correct is False`), empty and
    exactly repeated (prompt, target) rationales are skipped; seeded shuffle."""
    wanted = set(strategies or DEFAULTS["strategies"])
    seen: set[tuple[str, str]] = set()
    out, skipped = [], 0
    for r in rationales:
        if r.strategy not in wanted or r.correct is False or not r.text.strip():
            skipped += 1
            continue
        ex = tagged_example(r, instruction)
        key = (ex["prompt"], ex["target"])
        if key not in seen:
            seen.add(key)
            out.append(ex)
    if shuffle:
        random.Random(seed).shuffle(out)
    logger.info("combined: %d examples from %d rationales (%d skipped)", len(out),
                len(rationales), skipped)
    return out


def build_round(inputs: Mapping[str, Sequence[str]], cfg: Mapping, round: int = 0, *,
                seed: int = 0) -> list[dict]:
    """Stage entry point (as `single.build_round`): `inputs["rationales"]` = filtered files."""
    from mathdistill.io import DataError, read_records
    from mathdistill.methods.selection import limit_chains
    from mathdistill.methods.selection import options as selection_options

    if round != 0:
        raise ValueError(f"combined is a single-round method: no round {round}")
    opts = {**DEFAULTS, **dict(cfg.get("options") or {})}
    rationales: list[Rationale] = []
    for path in inputs["rationales"]:
        rationales.extend(read_records(path, Rationale))
    rationales = limit_chains(rationales, selection_options(opts)["teacher_chains"])
    out = build_examples(rationales, cfg.get("strategies") or opts["strategies"],
                         instruction=opts["instruction"], seed=seed)
    if not out:
        raise DataError(f"{', '.join(inputs['rationales'])}: no usable rationales")
    return out


def route(texts: Sequence[str]) -> list[tuple[str | None, str]]:
    """(tag, body) per generated text: `"[pot]: x = 1"` -> ("pot", "x = 1"); no tag -> None."""
    from mathdistill.strategies import split_tag

    return [split_tag(t or "") for t in texts]


def answer_routed(routed: Sequence[tuple[str | None, str]],
                  answers: Callable[[str, list[str]], list[Result]],
                  untagged_as: str = DEFAULTS["untagged_as"]) -> list[Result]:
    """Results in input order: `answers(strategy, bodies)` is called once per strategy
    (e.g. `lambda s, b: strategies.get(s).answers(b)`); untagged bodies go to `untagged_as`."""
    groups: dict[str, list[int]] = {}
    for i, (s, _) in enumerate(routed):
        groups.setdefault(s or untagged_as, []).append(i)
    out: list[Result | None] = [None] * len(routed)
    for s, idx in groups.items():
        res = answers(s, [routed[i][1] for i in idx])
        if len(res) != len(idx):
            raise ValueError(f"answers({s!r}) returned {len(res)} results for {len(idx)} texts")
        for i, r in zip(idx, res):
            out[i] = r
    return out  # type: ignore[return-value]


def to_predictions(problems: Sequence[Problem], texts: Sequence[str],
                   routed: Sequence[tuple[str | None, str]],
                   results: Sequence[Result]) -> list[Prediction]:
    """One Prediction per problem; strategy = the tag the student chose (or "untagged")."""
    from mathdistill.strategies import is_correct

    if not len(problems) == len(texts) == len(routed) == len(results):
        raise ValueError("to_predictions: problems, texts, routed and results differ in length")
    out = []
    for p, text, (s, _), r in zip(problems, texts, routed, results):
        out.append(Prediction(
            id=p.id, dataset=p.dataset, strategy=s or UNTAGGED, text=text, pred=r.value,
            correct=bool(r.ok and is_correct(r.value, p.answer)),
            error=None if r.ok else (r.error or "no_answer"), answer=p.answer,
            meta={"tag": s}))
    return out


def strategy_share(items: Sequence[Prediction | Rationale | dict | str]) -> dict[str, float]:
    """Share of each strategy among predictions, rationales, examples or strategy names."""
    names = [x if isinstance(x, str) else x["strategy"] if isinstance(x, dict) else x.strategy
             for x in items]
    counts = Counter(names)
    return {s: counts[s] / len(names) for s in sorted(counts)} if names else {}
