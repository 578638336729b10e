"""Stage prepare_data: a data set split -> Problem JSONL.

    from mathdistill.stages.data import prepare
    prepare({"dataset": "synthetic", "split": "train", "options": {"n": 100, "seed": 0}},
            "results/data/train.jsonl")
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from mathdistill.io import DataError, write_jsonl
from mathdistill.records import Problem

__all__ = ["prepare"]

logger = logging.getLogger(__name__)


def prepare(spec: Mapping, out) -> list[Problem]:
    """Load `spec` = {dataset, split, limit?, options?, data_dir?} and write it to `out`."""
    from mathdistill import data

    problems = data.load(spec["dataset"], spec["split"], data_dir=spec.get("data_dir"),
                         limit=spec.get("limit"), **(spec.get("options") or {}))
    if not problems:
        raise DataError(f"{spec['dataset']}/{spec['split']}: no problems loaded")
    write_jsonl(out, problems)
    logger.info("prepared %d problems of %s/%s -> %s", len(problems), spec["dataset"],
                spec["split"], out)
    return problems
