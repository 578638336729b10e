"""Per-rule resources of a local run, and the GPUs this machine lets local jobs use.

    from mathdistill.workflow.resources import LocalResources, visible_gpus
    visible_gpus()                  # NVIDIA GPUs visible here (CUDA_VISIBLE_DEVICES), or
                                    # $MATHDISTILL_GPUS when set
    res = LocalResources(gpus=1)
    res.get("train", "mem_mb")      # 6000
    res.get("train", "gpu")         # 1: a student job takes the GPU when there is one
    res.get("default", "threads")   # 1 (other rules: threads only; profiles set the rest)

Stages: "train" (fine-tuning), "predict" (the student generates: evaluation, exams,
self-generation), "teacher" (teacher calls), "default" (everything else). Students run on
a GPU whenever one is visible (their code picks CUDA by itself), so on a GPU machine every
train/predict job asks for `gpu=1` and the Snakefile caps the `gpu` resource at the number
of GPUs: one GPU, one GPU job at a time. A teacher job asks for one only when its backend
runs the model in-process (hf, vllm). These are defaults for a local run; a profile
overrides them by rule (profiles/slurm: set-resources / set-threads).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["GPU_ENV", "IN_PROCESS_TEACHERS", "LocalResources", "visible_gpus"]

GPU_ENV = "MATHDISTILL_GPUS"
IN_PROCESS_TEACHERS = ("hf", "vllm")
NVIDIA_PROC = "/proc/driver/nvidia/gpus"
NVIDIA_DEV = "/dev"

# runtime in minutes, mem_mb in MB. The other rules ("default") declare threads only, so
# that a profile's default-resources apply to them (a rule's own mem_mb/runtime would win).
DEFAULTS = {
    "default": {"threads": 1},
    "teacher": {"threads": 1, "mem_mb": 2000, "runtime": 120},
    "train": {"threads": 1, "mem_mb": 6000, "runtime": 240},
    "predict": {"threads": 1, "mem_mb": 4000, "runtime": 120},
}


def _count(folder: str | Path, pattern: str) -> int:
    try:
        return sum(1 for name in os.listdir(folder) if re.fullmatch(pattern, name))
    except OSError:
        return 0


def visible_gpus(env: Mapping[str, str] | None = None, proc: str | Path = NVIDIA_PROC,
                 dev: str | Path = NVIDIA_DEV) -> int:
    """GPUs local jobs may use: $MATHDISTILL_GPUS when set, else the NVIDIA GPUs of this
    machine (one folder each in /proc/driver/nvidia/gpus, or /dev/nvidia<N> device files
    in a container) that CUDA_VISIBLE_DEVICES keeps (a list stops at its first "-1" or
    empty entry, as CUDA's does). No torch import: this runs while the DAG is built."""
    env = os.environ if env is None else env
    if env.get(GPU_ENV, "").strip():
        n = int(env[GPU_ENV])
        if n < 0:
            raise ValueError(f"${GPU_ENV} must be >= 0, got {n}")
        return n
    present = max(_count(proc, r".+"), _count(dev, r"nvidia\d+"))
    if not present:
        return 0
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return present
    kept = 0
    for item in visible.split(","):
        if not item.strip() or item.strip() == "-1":
            break
        kept += 1
    return min(present, kept)


class LocalResources:
    """Resource defaults per stage for a machine with `gpus` GPUs."""

    def __init__(self, gpus: int):
        self.gpus = int(gpus)

    def get(self, stage: str, key: str, *, teacher_backend: str | None = None) -> int:
        if key == "gpu":
            if stage in ("train", "predict"):
                return int(self.gpus > 0)
            if stage == "teacher":
                return int(self.gpus > 0 and teacher_backend in IN_PROCESS_TEACHERS)
            return 0
        try:
            return DEFAULTS[stage][key]
        except KeyError:
            raise KeyError(f"no local default {key!r} for stage {stage!r}") from None
