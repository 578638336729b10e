"""Stage build_round: a method's training data for round r, by method type.

    from mathdistill.stages.rounds import build_round
    build_round({"type": "single", "strategies": ["pot"]}, 0,
                {"rationales": ["teacher/annotated/pot/filtered.jsonl"]},
                "results/potd/tiny-t5/round0/mixed.jsonl", seed=0)

Each method type is a module `mathdistill.methods.<type>` with
`build_round(inputs, cfg, round, *, seed) -> list[{"prompt", "target", ...}]`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence

from mathdistill.io import write_jsonl

__all__ = ["build_round"]

logger = logging.getLogger(__name__)


def build_round(cfg: Mapping, round: int, inputs: Mapping[str, Sequence[str]], out, *,
                seed: int = 0) -> int:
    """Write round `round` of the method `cfg` (type, strategies, options) to `out`."""
    module = importlib.import_module(f"mathdistill.methods.{cfg['type']}")
    examples = module.build_round(inputs, cfg, round, seed=seed)
    n = write_jsonl(out, examples)
    logger.info("%s round %d: %d examples -> %s", cfg["type"], round, n, out)
    return n
