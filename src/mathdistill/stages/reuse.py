"""Round-0 reuse (`methods.<name>.round0_from`): copy another run's round 0 instead of
training (and predicting with) the same model again.

    from mathdistill.stages.reuse import reuse_checkpoint, reuse_file
    reuse_checkpoint("results/combined/tiny-t5/round0/checkpoint",
                     "results/combined/tiny-t5/round0/train_log.json",
                     "results/siked_all/tiny-t5/round0/checkpoint",
                     "results/siked_all/tiny-t5/round0/train_log.json",
                     meta={"method": "siked_all", "run": "siked_all", "seed": 0,
                           "student": "tiny-t5", "round": 0, "reused_from": "combined"})
    reuse_file("results/potd/tiny-t5/round0/predictions/gsm8k.jsonl",
               "results/fdd/tiny-t5/round0/predictions/gsm8k.jsonl")

SIKeD's round 0 is the Combined baseline, FDD's is PoT distillation (a `single` PoTD run):
the workflow (rules/reuse.smk) copies that run's checkpoint (hard links where possible)
and, when the generation settings match, its predictions.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from mathdistill.io import atomic_dir, read_json, write_json

__all__ = ["reuse_checkpoint", "reuse_file"]

logger = logging.getLogger(__name__)


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def reuse_checkpoint(checkpoint, log_json, out_dir, log_out, *, meta: Mapping) -> dict:
    """Copy a checkpoint dir (hard links) and its train log, the log's meta replaced.

    Workflow bookkeeping files (Snakemake's `.snakemake_timestamp`) are not linked: touching
    the copy's would touch the source's too, and make it look newer than its consumers."""
    with atomic_dir(out_dir) as tmp:
        tmp.rmdir()
        shutil.copytree(checkpoint, tmp, copy_function=_link_or_copy,
                        ignore=shutil.ignore_patterns(".snakemake*"))
    log = {**read_json(log_json), **dict(meta)}
    write_json(log_out, log)
    logger.info("reused %s as %s", checkpoint, out_dir)
    return log


def reuse_file(src, out) -> Path:
    """Copy a file (predictions) atomically."""
    from mathdistill.io import atomic_open

    with open(src, "rb") as f, atomic_open(out, "wb") as g:
        shutil.copyfileobj(f, g)
    return Path(out)
