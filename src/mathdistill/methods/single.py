"""Single-round distillation (CoTD, PoTD, EoTD, L2MD): teacher rationales -> training examples.

    from mathdistill.methods.single import build_examples, build_round
    examples = build_examples(filtered_rationales, ["pot"], seed=0)
    # [{"prompt": "Question: ...\\nLet's break down the code step by step\\n",
    #   "target": "x = 3\\nanswer = x * 2", "id": "synthetic/train/7", "strategy": "pot"}, ...]
    examples = build_round({"rationales": ["teacher/annotated/pot/filtered.jsonl"]},
                           {"strategies": ["pot"]}, round=0, seed=0)

The prompt is `strategies.student_prompt(question, strategy)`; the target is the rationale
text. `build_round` applies the method's selection options (`methods.selection`:
`teacher_chains`, e.g. 1 for SIKeD's single-strategy baselines; `data_size` /
`data_fraction` / `data_unit` / `data_seed`, e.g. ETD Fig. 5's data sizes). Rationales known to be wrong (`correct is False`) and other strategies' rationales
are skipped; exact duplicates (same prompt and target) are kept once. The order is a
seeded shuffle, so the training data do not depend on the order of the input files.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence

from mathdistill.io import DataError, read_records
from mathdistill.records import Rationale

__all__ = ["build_examples", "build_round"]

logger = logging.getLogger(__name__)


def build_examples(rationales: Sequence[Rationale], strategies: Sequence[str], *,
                   seed: int = 0, shuffle: bool = True) -> list[dict]:
    """Training examples `{"prompt", "target", "id", "strategy"}` from rationales."""
    from mathdistill.strategies import student_prompt

    wanted = set(strategies)
    seen: set[tuple[str, str]] = set()
    examples, skipped = [], 0
    for r in rationales:
        if r.strategy not in wanted or r.correct is False or not r.text.strip():
            skipped += 1
            continue
        ex = {"prompt": student_prompt(r.question, r.strategy), "target": r.text,
              "id": r.id, "strategy": r.strategy}
        key = (ex["prompt"], ex["target"])
        if key not in seen:
            seen.add(key)
            examples.append(ex)
    examples.sort(key=lambda e: (e["id"], e["strategy"], e["target"]))
    if shuffle:
        random.Random(seed).shuffle(examples)
    logger.info("single: %d examples from %d rationales (%d skipped, strategies %s)",
                len(examples), len(rationales), skipped, ",".join(strategies))
    return examples


def build_round(inputs: Mapping[str, Sequence[str]], cfg: Mapping, round: int = 0, *,
                seed: int = 0) -> list[dict]:
    """The method's round data: `inputs["rationales"]` = filtered teacher JSONL files."""
    if round != 0:
        raise ValueError(f"single-round method: no round {round} (only round 0)")
    from mathdistill.methods import selection

    opts = selection.options(cfg.get("options"))
    rationales: list[Rationale] = []
    for path in inputs["rationales"]:
        rationales.extend(read_records(path, Rationale))
    rationales = selection.limit_chains(rationales, opts["teacher_chains"])
    examples = selection.apply(build_examples(rationales, cfg["strategies"], seed=seed), opts, seed)
    if not examples:
        raise DataError(f"{', '.join(inputs['rationales'])}: no usable rationales for "
                        f"strategies {list(cfg['strategies'])}")
    return examples
