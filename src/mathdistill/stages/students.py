"""Stages build_student (tiny-* presets) and train.

    from mathdistill.stages.students import build, train, tokenizer_corpus
    build("tiny-t5", "results/data/train.jsonl", "results/students/tiny-t5/base",
          seed=0, options={"vocab_size": 800})
    train("results/students/tiny-t5/base", "results/potd/tiny-t5/round0/mixed.jsonl",
          "results/potd/tiny-t5/round0/checkpoint", "results/potd/tiny-t5/round0/train_log.json",
          {"model": "tiny-t5", "finetune": "full", "lora": {}, "train": {"lr": 3e-3},
           "budget": {"steps_per_round": 400}},
          meta={"method": "potd", "student": "tiny-t5", "round": 0})

`train`'s cfg is the rule's params: the student's model, `finetune` (full | lora), the
LoRA options, the train options (`students.TrainConfig` fields) and the config's `budget`
(`students.budget.train_options` applies it: one step count for every run). The train log JSON is
the trainer's summary (steps, first/last loss, seconds...) plus `losses` (one per
logging step) and the meta, for the tables. Under `accelerate launch` (stages.launch, one
process per GPU) every rank trains; rank 0 writes the checkpoint and the log, the other
ranks write to a scratch dir that is removed; `train_on(gpus, ...)` starts them (the train
rules' scripts call it with the job's `gpu` resource).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from mathdistill.io import read_json, read_jsonl, read_records, write_json
from mathdistill.records import Problem

__all__ = ["build", "tokenizer_corpus", "train", "train_on"]

logger = logging.getLogger(__name__)


def tokenizer_corpus(problems: Sequence[Problem]) -> list[str]:
    """Texts to train a tiny student's tokenizer on: each question with its reference
    solution (GSM8K `gold["solution"]`, or the steps' text, sub-question and `var = expr`).

    No strategy code on purpose: the base model is shared by every method, so it must not
    change when one strategy's rendering changes (the byte-level BPE encodes any text).
    """
    texts = []
    for p in problems:
        parts = [p.question]
        gold = p.gold or {}
        if isinstance(gold.get("solution"), str):
            parts.append(gold["solution"])
        for step in gold.get("steps") or []:
            parts += [step.get("question") or "", step.get("text") or "",
                      f"{step.get('var')} = {step.get('expr')}"]
        parts.append(str(p.answer))
        texts.append("\n".join(x for x in parts if x))
    return texts


def build(preset: str, train_file, out_dir, *, seed: int = 0,
          options: Mapping | None = None) -> Path:
    """A tiny-* student whose tokenizer is trained on the train set's questions/solutions."""
    from mathdistill.students import build_tiny

    texts = tokenizer_corpus(read_records(train_file, Problem))
    return build_tiny(preset, texts, out_dir, seed=seed, **dict(options or {}))


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def train_on(gpus: int, base, examples_file, out_dir, log_out, cfg: Mapping, *,
             threads: int | None = None, meta: Mapping | None = None, resume_from=None):
    """`train` on `gpus` processes, one per GPU, under `accelerate launch` (stages.launch;
    `gpus` <= 1: in this process); each process gets its share of the job's threads."""
    from mathdistill.stages.launch import run

    gpus = int(gpus or 0)
    args = {"base": str(base), "examples_file": str(examples_file), "out_dir": str(out_dir),
            "log_out": str(log_out), "cfg": dict(cfg), "meta": meta,
            "threads": max(1, int(threads or 1) // max(gpus, 1)),
            "resume_from": None if resume_from is None else str(resume_from)}
    return run(f"{train.__module__}:{train.__name__}", args, num_processes=gpus,
               log_out=log_out)


def train(base, examples_file, out_dir, log_out, cfg: Mapping, *, threads: int | None = None,
          meta: Mapping | None = None, resume_from=None) -> dict:
    """Fine-tune `base` (a model dir or hub id) on the round's examples -> `out_dir`;
    `resume_from`: start from this checkpoint instead (on-policy rounds: round r-1's)."""
    from mathdistill.stages.launch import rank
    from mathdistill.students import TrainConfig
    from mathdistill.students import train as fit
    from mathdistill.students.budget import train_options

    scratch = None
    if rank() != 0:  # a non-zero rank of a multi-process launch: its copy is not kept
        scratch = tempfile.mkdtemp(prefix=f"mathdistill-rank{rank()}-")
        out_dir, log_out = Path(scratch) / "checkpoint", Path(scratch) / "train_log.json"
    _set_threads(threads)
    options = train_options(cfg)
    examples = read_jsonl(examples_file)
    summary = fit(str(base), examples, out_dir, TrainConfig.from_dict(options),
                  resume_from=None if resume_from is None else str(resume_from))
    log_file = Path(out_dir) / "train_log.jsonl"
    losses = [row["loss"] for row in read_jsonl(log_file)] if log_file.is_file() else []
    log = {**dict(meta or {}), "examples": len(examples), **summary,
           "final_loss": summary.get("last_loss"), "losses": losses,
           "config": read_json(Path(out_dir) / "train_config.json")["config"]}
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        write_json(log_out, log)
    return log
