"""Student models: load (hub id, path, tiny-* preset), LoRA/full fine-tuning, generation.

    from mathdistill.students import GenerationConfig, TrainConfig, build_tiny, generate, load
    from mathdistill.students import train
    path = build_tiny("tiny-t5", texts, "results/students/tiny-t5", seed=0)   # HF model dir
    model, tok, kind = load(path)                                      # kind: seq2seq | causal
    summary = train(path, [{"prompt": p, "target": t}], "results/ckpt", TrainConfig(epochs=10))
    outs = generate("results/ckpt", prompts, GenerationConfig(num_samples=1))  # list[list[str]]

Modules: tokenizer (project-trained BPE), presets (tiny-* families), loading, lora,
encoding (examples -> features, collator), training (TrainConfig, StudentTrainer, train),
generation (GenerationConfig, generate), config (shared helpers). `train` and
`StudentTrainer` are imported on first use: a job that only generates does not import
transformers' Trainer.
"""

import importlib

from .generation import GenerationConfig, generate, preload, truncate_at_stop
from .loading import load, model_kind
from .presets import PRESETS, build_tiny, is_preset, make_tiny
from .tokenizer import train_tokenizer
from .train_config import TrainConfig

# imported on first use (training imports transformers' Trainer, and peft); the workflow's
# code digests follow this table (workflow.closure)
LAZY = {"StudentTrainer": "mathdistill.students.training:StudentTrainer",
        "train": "mathdistill.students.training:train"}


def __getattr__(name):
    if name in LAZY:
        module, _, attr = LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRESETS",
    "GenerationConfig",
    "StudentTrainer",
    "TrainConfig",
    "build_tiny",
    "generate",
    "is_preset",
    "load",
    "make_tiny",
    "model_kind",
    "preload",
    "train",
    "train_tokenizer",
    "truncate_at_stop",
]
