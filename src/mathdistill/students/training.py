"""Fine-tune a student (full or LoRA) with the HF Trainer; write a checkpoint dir atomically.

    from mathdistill.students import train, TrainConfig
    cfg = TrainConfig(lr=5e-4, epochs=10, batch_size=8, lora={"r": 16, "alpha": 32})
    summary = train("results/students/tiny-t5", [{"prompt": "...", "target": "..."}],
                    "results/run/round0/checkpoint", cfg)
    # next on-policy round: continue from the previous round's weights
    train(base, examples_r1, "results/run/round1/checkpoint", cfg,
          resume_from="results/run/round0/checkpoint")

The checkpoint dir holds a plain HF model (LoRA merged, unless cfg.keep_adapter), the
tokenizer, train_config.json, train_log.jsonl (one line per logging step) and summary.json.
Custom losses: subclass StudentTrainer, override compute_loss, pass trainer_cls=...
(extra per-example fields given in the examples reach the batch via `extra_fields`).

cfg.packing (causal students, standard loss): examples are packed into rows of cfg.pack_tokens
tokens (fast/packing.py) and trained with fast/train_step.FastTrainStep (varlen attention, no
cross-sample attention, chunked cross entropy, fused AdamW and compiled layers on CUDA) -- the
code path bench/gpu.py measures. A step is then one row (x grad_accum), not batch_size examples.
Checkpoint, train_log.jsonl and summary.json look the same either way (summary: + tokens_per_s).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
import transformers
from tqdm.auto import tqdm
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

from mathdistill.io import atomic_dir, write_json

from .config import bf16_available, cuda_available
from .encoding import StudentCollator, encode_examples
from .loading import load
from .lora import is_peft
from .presets import is_preset
from .train_config import TrainConfig

logger = logging.getLogger(__name__)


class StudentTrainer(Trainer):
    """Trainer whose loss is the model's token cross-entropy; override compute_loss to change it.

    `inputs` holds input_ids, attention_mask, labels (-100 = ignored), decoder_input_ids for
    seq2seq, and any TrainConfig.extra_fields as python lists.
    """

    extra_fields: tuple[str, ...] = ()
    _flos_params: int | None = None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = {k: v for k, v in inputs.items() if k not in self.extra_fields}
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def floating_point_ops(self, inputs) -> int:
        """The Trainer's estimate (6 x input tokens x non-embedding parameters) with the
        parameter count taken once, not by walking the model at every step."""
        main = getattr(self.model, "main_input_name", "input_ids")
        if self._flos_params is None:
            self._flos_params = super().floating_point_ops({main: torch.zeros(1)}) // 6
        ids = inputs.get(main)
        return 0 if ids is None else 6 * ids.numel() * self._flos_params


class JsonlLogCallback(TrainerCallback):
    """Append each Trainer log (loss, lr, grad_norm, epoch, step) to a JSONL file and the logger."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs:
            return
        row = {"step": state.global_step, **{k: v for k, v in logs.items() if _jsonable(v)}}
        self.rows.append(row)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        logger.info(
            "step %d/%d loss %.4f lr %.2e",
            state.global_step,
            state.max_steps,
            row["loss"],
            row.get("learning_rate", float("nan")),
        )


def _jsonable(v) -> bool:
    return isinstance(v, (int, float, str, bool)) and not (isinstance(v, float) and math.isnan(v))


def _checkpointing_arg(on: bool) -> dict:
    """transformers >= 5.2x calls it activation_checkpointing, earlier gradient_checkpointing."""
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else \
        "gradient_checkpointing"
    return {key: on}


def _training_args(cfg: TrainConfig, out: Path, on_gpu: bool) -> TrainingArguments:
    optim = (
        {}
        if cfg.fused_optim is None
        else {"optim": "adamw_torch_fused" if cfg.fused_optim else "adamw_torch"}
    )
    return TrainingArguments(
        **optim,  # None: the HF default (fused AdamW with torch >= 2.8)
        torch_compile=bool(cfg.compile),
        output_dir=str(out),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps is not None else -1,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.scheduler,
        lr_scheduler_kwargs=cfg.scheduler_kwargs(),
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        bf16=bf16_available() if cfg.bf16 is None else cfg.bf16,
        **_checkpointing_arg(cfg.gradient_checkpointing),
        logging_strategy="steps",
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="no",
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        use_cpu=not on_gpu,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        remove_unused_columns=False,
        dataloader_pin_memory=on_gpu,
        disable_tqdm=False,
    )


def _train_hf(model, tok, kind, feats, cfg, tmp: Path, on_gpu, trainer_cls, callbacks) -> dict:
    """The HF Trainer path (padded batches)."""
    log_cb = JsonlLogCallback(tmp / "train_log.jsonl")
    trainer = trainer_cls(
        model=model,
        args=_training_args(cfg, tmp / "_trainer", on_gpu),
        train_dataset=feats,
        data_collator=StudentCollator(tok, kind, model, 8 if on_gpu else None),
        processing_class=tok,
        callbacks=[log_cb, *(callbacks or [])],
    )
    if isinstance(trainer, StudentTrainer):
        trainer.extra_fields = cfg.extra_fields
    t0 = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - t0
    shutil.rmtree(tmp / "_trainer", ignore_errors=True)
    state = trainer.state
    return {
        "model": trainer.model,
        "steps": state.global_step,
        "epochs": float(state.epoch or 0.0),
        "seconds": seconds,
        "rows": log_cb.rows,
        "train_loss": result.training_loss,
    }


def _world_size() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def _can_pack(kind: str, cfg: TrainConfig, trainer_cls, callbacks) -> bool:
    """Packing needs a causal student and the standard loss; else warn and use the Trainer."""
    reasons = {
        "a seq2seq student": kind != "causal",
        "a custom trainer_cls": trainer_cls is not StudentTrainer,
        "extra_fields": bool(cfg.extra_fields),
        "Trainer callbacks": bool(callbacks),
        "a multi-process launch (no DDP in the packed path)": _world_size() > 1,
    }
    why = [name for name, hit in reasons.items() if hit]
    if why:
        logger.warning("packing is off (%s: HF Trainer path)", ", ".join(why))
    return not why


def pack_tokens_for(lengths: Sequence[int], cfg: TrainConfig) -> int:
    """Row length: cfg.pack_tokens, else about batch_size examples of mean length (>= the
    longest example), rounded up to a multiple of 64."""
    if cfg.pack_tokens is not None:
        return max(cfg.pack_tokens, max(lengths))
    mean = sum(lengths) / len(lengths)
    n = max(max(lengths), math.ceil(cfg.batch_size * mean))
    return -(-n // 64) * 64


def _train_packed(model, feats, cfg: TrainConfig, log_path: Path, pad_id, on_gpu) -> dict:
    """Packed rows through FastTrainStep (the path bench/gpu.py measures); HF-like log rows."""
    from .fast.packing import pack
    from .fast.train_step import FastTrainStep

    device = torch.device("cuda" if on_gpu else "cpu")
    model.to(device)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    lengths = [len(f["input_ids"]) for f in feats]
    tokens = pack_tokens_for(lengths, cfg)
    rows = pack([(f["input_ids"], f["labels"]) for f in feats], tokens, pad_id=pad_id or 0)
    per_epoch = math.ceil(len(rows) / cfg.grad_accum)
    total = cfg.max_steps or max(1, math.ceil(cfg.epochs * per_epoch))
    step = FastTrainStep(
        model,
        cfg.lr,
        cfg.weight_decay,
        cfg.max_grad_norm,
        compile=cfg.compile,
        fused_optim=cfg.fused_optim,
        bf16=cfg.bf16 if on_gpu else False,
    )
    warmup = int(cfg.warmup) if cfg.warmup >= 1 else math.ceil(cfg.warmup * total)
    step.set_schedule(cfg.scheduler, warmup, total, **cfg.scheduler_kwargs())
    logger.info(
        "packing: %d examples -> %d rows of %d tokens (%.1f%% filler), %d steps",
        len(feats),
        len(rows),
        tokens,
        100 * (1 - sum(lengths) / (len(rows) * tokens)),
        total,
    )
    t0 = time.perf_counter()
    try:
        loss_sum, log_rows = _packed_loop(step, rows, cfg, total, log_path)
    finally:  # the caller's model object gets its own attention back, also after an error
        step.restore_attention()
    train_loss = float(loss_sum) / total
    seconds = time.perf_counter() - t0
    done_rows = total * cfg.grad_accum
    return {
        "model": model,
        "steps": total,
        "epochs": done_rows / len(rows),
        "seconds": seconds,
        "rows": log_rows,
        "train_loss": train_loss,
        "packing": {"rows": len(rows), "pack_tokens": tokens, "max_seqlen": rows[0].max_seqlen},
    }


def _packed_loop(step, rows, cfg: TrainConfig, total: int, log_path: Path):
    """`total` optimizer steps over shuffled rows (grad_accum rows each), logged as the HF
    Trainer logs (train_log.jsonl). Returns the summed step losses (a tensor) and the rows."""
    rng = random.Random(cfg.seed)
    log_rows: list[dict[str, Any]] = []
    window: list[torch.Tensor] = []
    loss_sum = torch.zeros((), device=step.device)
    order: list[int] = []
    done_rows = 0
    for k in tqdm(range(1, total + 1), desc="train", unit="step", mininterval=5):
        group = []
        while len(group) < cfg.grad_accum:
            if not order:
                order = list(range(len(rows)))
                rng.shuffle(order)
            group.append(rows[order.pop()])
        loss = step(group)
        done_rows += len(group)
        loss_sum += loss
        window.append(loss)
        if k == 1 or k % cfg.logging_steps == 0:  # as the HF Trainer logs
            row = {
                "step": k,
                "loss": float(torch.stack(window).mean()),
                "grad_norm": None if step.last_grad_norm is None else float(step.last_grad_norm),
                "learning_rate": step.lr,
                "epoch": done_rows / len(rows),
            }
            row = {key: v for key, v in row.items() if _jsonable(v)}
            window = []
            log_rows.append(row)
            with log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            logger.info("step %d/%d loss %.4f lr %.2e", k, total, row["loss"], step.lr)
    return loss_sum, log_rows


def _save_model(model, tmp: Path, cfg: TrainConfig, source: str) -> str:
    """Save merged weights (or the adapter); returns what was saved."""
    if is_peft(model) and cfg.keep_adapter:
        model.peft_config["default"].base_model_name_or_path = source
        model.save_pretrained(tmp)
        return "adapter"
    if is_peft(model):
        model = model.merge_and_unload()
    model.save_pretrained(tmp)
    return "merged" if cfg.lora else "full"


def train(
    model_name_or_path,
    examples: Sequence[Mapping[str, Any]],
    out_dir,
    cfg: TrainConfig | None = None,
    resume_from=None,
    *,
    trainer_cls: type[Trainer] = StudentTrainer,
    callbacks: list[TrainerCallback] | None = None,
) -> dict[str, Any]:
    """Fine-tune on examples [{"prompt", "target", ...}]; writes `out_dir`; returns a summary.

    resume_from: a checkpoint dir whose weights (and tokenizer) to start from, e.g. the
    previous round's; `model_name_or_path` is then recorded as the base model only.
    """
    cfg = cfg or TrainConfig()
    if isinstance(cfg, Mapping):
        cfg = TrainConfig.from_dict(cfg)
    source = str(resume_from if resume_from is not None else model_name_or_path)
    if cfg.keep_adapter and is_preset(source):
        raise ValueError(
            f"keep_adapter needs a base model on disk, not preset {source!r}; "
            "use build_tiny() first"
        )
    if not is_preset(source) and Path(source).exists():
        source = str(Path(source).resolve())
    set_seed(cfg.seed)
    on_gpu = cuda_available()
    model, tok, kind = load(source, lora=cfg.lora)
    padding_side = tok.padding_side
    tok.padding_side = "right"
    feats, stats = encode_examples(
        examples,
        tok,
        kind,
        max_source_len=cfg.max_source_len,
        max_target_len=cfg.max_target_len,
        max_len=cfg.max_len,
        loss_on_prompt=cfg.loss_on_prompt,
    )
    if cfg.extra_fields:
        if stats["dropped"]:  # features must line up with examples
            raise ValueError("extra_fields with dropped examples; raise max_len")
        for f, ex in zip(feats, examples, strict=True):
            f.update({k: ex.get(k) for k in cfg.extra_fields})
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    packed = cfg.packing and _can_pack(kind, cfg, trainer_cls, callbacks)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        logger.info("training %s (%s) on %d examples -> %s", source, kind, len(feats), out_dir)
        if packed:
            run = _train_packed(
                model, feats, cfg, tmp / "train_log.jsonl", tok.pad_token_id, on_gpu
            )
        else:
            run = _train_hf(model, tok, kind, feats, cfg, tmp, on_gpu, trainer_cls, callbacks)
        seconds, epochs_done, rows = run["seconds"], run["epochs"], run["rows"]
        saved = _save_model(run["model"], tmp, cfg, source)
        tok.padding_side = padding_side
        tok.save_pretrained(tmp)
        n_tokens = sum(sum(1 for x in f["labels"] if x != -100) for f in feats)
        n_all = sum(len(f["input_ids"]) for f in feats)
        summary = {
            "out_dir": str(out_dir),
            "kind": kind,
            "saved": saved,
            "steps": run["steps"],
            "epochs": epochs_done,
            "seconds": round(seconds, 3),
            "first_loss": rows[0]["loss"] if rows else None,
            "last_loss": rows[-1]["loss"] if rows else None,
            "train_loss": run["train_loss"],
            "steps_per_s": run["steps"] / seconds,
            "examples_per_s": len(feats) * epochs_done / seconds,
            "target_tokens_per_s": n_tokens * epochs_done / seconds,
            "tokens_per_s": n_all * epochs_done / seconds,  # prompt + target, no padding
            "trainable_params": trainable,
            "device": "cuda" if on_gpu else "cpu",
            **({"packing": run["packing"]} if packed else {}),
            **stats,
        }
        write_json(
            tmp / "train_config.json",
            {
                "model": str(model_name_or_path),
                "resume_from": None if resume_from is None else str(resume_from),
                "kind": kind,
                "config": cfg.to_dict(),
                "encoding": stats,
                "versions": {
                    "torch": torch.__version__,
                    "transformers": transformers.__version__,
                    "peft": version("peft"),
                },
            },
        )
        write_json(tmp / "summary.json", summary)
    logger.info(
        "trained %d steps in %.1fs: loss %s -> %s",
        summary["steps"],
        seconds,
        summary["first_loss"],
        summary["last_loss"],
    )
    return summary
