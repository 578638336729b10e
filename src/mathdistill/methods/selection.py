"""Which teacher data a method trains on: chains per (question, strategy) and data size.

    from mathdistill.methods import selection
    kept = selection.limit_chains(teacher_rationales, 1)     # SIKeD: one chain per (q, s)
    small = selection.subsample(examples, size=1000, seed=0)  # ETD Fig. 5: a 1K ETD set
    half = selection.subsample(examples, fraction=0.5, unit="question", seed=0)
    opts = selection.options({"teacher_chains": 1})           # the options below, checked

Options (a method's `options`; `DEFAULTS` keep every rationale and every example):
- `teacher_chains` (int >= 1 | None): keep at most this many correct teacher chains per
  (question, strategy), the first ones in file order (the teacher's sample order).
  SIKeD [C]: 1 (the authors' filter keeps one correct chain per question and strategy,
  deduplicated by id; with the paper's greedy teacher (§4, t = 0) there is one chain
  anyway). None = all chains (ETD [P]: the 4 paths per question of Table 1).
- `data_size` (int >= 1 | None) / `data_fraction` (0 < f <= 1 | None): train on a seeded
  random subset of the examples (ETD Fig. 5, §4.7: "We create subsets of varying sizes from
  our reasoning datasets"; 0.5K and 1K ETD examples are quoted). At most one of the two.
- `data_unit` "example" | "question": what `data_size` counts. Fig. 5 says "a 1K ETD
  dataset", which reads as examples [D]; "question" keeps every example (all formats and
  paths) of a random subset of the questions.
- `data_seed` (int | None): the subset's seed; None = the run's seed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence

from mathdistill.records import Rationale

__all__ = ["DEFAULTS", "UNITS", "apply", "limit_chains", "options", "subsample"]

logger = logging.getLogger(__name__)

DEFAULTS = {"teacher_chains": None, "data_size": None, "data_fraction": None,
            "data_unit": "example", "data_seed": None}
UNITS = ("example", "question")


def options(opts: Mapping | None) -> dict:
    """The selection keys of `opts` over DEFAULTS (other keys are ignored), checked."""
    out = {**DEFAULTS, **{k: v for k, v in dict(opts or {}).items() if k in DEFAULTS}}
    chains, size, frac = out["teacher_chains"], out["data_size"], out["data_fraction"]
    if chains is not None and (isinstance(chains, bool) or int(chains) != chains or chains < 1):
        raise ValueError(f"teacher_chains must be an int >= 1 or null, got {chains!r}")
    if size is not None and (isinstance(size, bool) or int(size) != size or size < 1):
        raise ValueError(f"data_size must be an int >= 1 or null, got {size!r}")
    if frac is not None and not 0 < float(frac) <= 1:
        raise ValueError(f"data_fraction must be in (0, 1] or null, got {frac!r}")
    if size is not None and frac is not None:
        raise ValueError("set data_size or data_fraction, not both")
    if out["data_unit"] not in UNITS:
        raise ValueError(f"data_unit must be one of {UNITS}, got {out['data_unit']!r}")
    return out


def limit_chains(rationales: Sequence[Rationale], k: int | None) -> list[Rationale]:
    """At most `k` usable chains per (question id, strategy), the first in input order.

    Known-wrong (`correct is False`) and empty rationales are dropped first, so a wrong
    first sample never takes the place of a correct later one. k None: every rationale,
    unchanged (wrong ones included: the caller's own filter decides)."""
    if k is None:
        return list(rationales)
    count: dict[tuple[str, str], int] = {}
    out = []
    for r in rationales:
        if r.correct is False or not r.text.strip():
            continue
        key = (r.id, r.strategy)
        if count.get(key, 0) < k:
            count[key] = count.get(key, 0) + 1
            out.append(r)
    logger.info("teacher chains: %d of %d rationales kept (<= %d per question and strategy)",
                len(out), len(rationales), k)
    return out


def subsample(examples: Sequence[dict], *, size: int | None = None,
              fraction: float | None = None, unit: str = "example", seed: int = 0) -> list[dict]:
    """A seeded random subset of `examples` (order kept): `size` examples (or questions,
    unit "question", by `example["id"]`) or `fraction` of them; both None: all of them."""
    if size is None and fraction is None:
        return list(examples)
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    keys = list(range(len(examples))) if unit == "example" else \
        sorted({str(ex["id"]) for ex in examples})
    n = int(size) if size is not None else round(float(fraction) * len(keys))
    if n > len(keys):
        raise ValueError(f"data_size {n} exceeds the {len(keys)} {unit}s available")
    chosen = set(random.Random(seed).sample(keys, max(n, 1)))
    out = [ex for i, ex in enumerate(examples)
           if (i if unit == "example" else str(ex["id"])) in chosen]
    logger.info("subsample: %d of %d examples (%d of %d %ss, seed %d)", len(out),
                len(examples), len(chosen), len(keys), unit, seed)
    return out


def apply(examples: Sequence[dict], opts: Mapping | None, seed: int) -> list[dict]:
    """`subsample` with the data_* options of `opts` (data_seed None: `seed`)."""
    o = options(opts)
    return subsample(examples, size=o["data_size"], fraction=o["data_fraction"],
                     unit=o["data_unit"], seed=seed if o["data_seed"] is None else o["data_seed"])
