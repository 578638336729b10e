"""Load a student: hub id, local HF dir, LoRA adapter dir, or a tiny-* preset.

    from mathdistill.students import load
    model, tok, kind = load("results/students/tiny-t5")          # kind: "seq2seq" | "causal"
    model, tok, kind = load("Qwen/Qwen2.5-0.5B", lora={"r": 16, "alpha": 32}, dtype="auto")
    model, tok, kind = load("tiny-qwen2")                         # in-memory random init
    kind = model_kind("google/flan-t5-base")                      # config only, no weights

seq2seq vs causal is decided by `config.is_encoder_decoder`. A dir holding a peft adapter
(adapter_config.json) is loaded on its base model and merged, so callers always get a plain
model. The tokenizer always has a pad token (eos, else unk, when the model defines none).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from .config import resolve_dtype
from .lora import apply_lora
from .presets import PRESETS, is_preset, make_tiny

logger = logging.getLogger(__name__)

ADAPTER_FILE = "adapter_config.json"


def _looks_local(name: str) -> bool:
    """Hub ids are "name" or "org/name"; anything else (./x, /x, a/b/c) is a path."""
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def _check_source(name_or_path) -> str:
    """Return the source as a string; a missing local path is a clear FileNotFoundError."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: not a model directory")
        if not (path / "config.json").is_file() and not (path / ADAPTER_FILE).is_file():
            raise FileNotFoundError(f"{path}: no config.json or {ADAPTER_FILE} (not a model dir)")
        return str(path)
    if isinstance(name_or_path, Path) or _looks_local(name):
        raise FileNotFoundError(
            f"{name}: model directory not found (and not a preset: {', '.join(sorted(PRESETS))})"
        )
    return name  # a hub id such as "google/flan-t5-base"


def kind_of(config) -> str:
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"


def model_kind(name_or_path) -> str:
    """'seq2seq' or 'causal' from the config alone (no weights loaded)."""
    if is_preset(str(name_or_path)):
        return PRESETS[str(name_or_path)].kind
    src = _check_source(name_or_path)
    adapter = Path(src) / ADAPTER_FILE
    if adapter.is_file():
        return model_kind(_adapter_base(adapter))
    return kind_of(AutoConfig.from_pretrained(src))


def _adapter_base(adapter_file: Path) -> str:
    base = json.loads(adapter_file.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise FileNotFoundError(f"{adapter_file}: no base_model_name_or_path")
    return base


def ensure_pad_token(tok: PreTrainedTokenizerBase, model: PreTrainedModel | None = None) -> None:
    """Give the tokenizer a pad token (eos, else unk) and tell the model its id."""
    if tok.pad_token is None:
        fallback = tok.eos_token or tok.unk_token
        if fallback is None:
            raise ValueError("tokenizer has no pad, eos or unk token to pad with")
        tok.pad_token = fallback
    if model is not None:
        for cfg in (model.config, getattr(model, "generation_config", None)):
            if cfg is not None and getattr(cfg, "pad_token_id", None) is None:
                cfg.pad_token_id = tok.pad_token_id


def _from_pretrained(src: str, dtype):
    try:
        config = AutoConfig.from_pretrained(src)
        kind = kind_of(config)
        auto = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
        model = auto.from_pretrained(src, config=config, dtype=resolve_dtype(dtype))
        tok = AutoTokenizer.from_pretrained(src)
    except OSError as e:
        raise OSError(
            f"could not load student {src!r}: not a local model dir, not a tiny preset "
            f"({', '.join(sorted(PRESETS))}), and the Hugging Face hub lookup failed: {e}"
        ) from e
    return model, tok, kind


def load(
    name_or_path,
    *,
    lora: dict | None = None,
    dtype=None,
    device: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """Return (model, tokenizer, kind). `lora` adds fresh trainable adapters (see lora.py).

    dtype: None/'float32' (training default), 'auto' (bf16 on a bf16 GPU), 'bfloat16', ...
    device: move the model there (default: leave it on CPU; Trainer/generate move it).
    """
    if is_preset(str(name_or_path)):
        model, tok, kind = make_tiny(str(name_or_path))
        model = model.to(resolve_dtype(dtype))
    else:
        src = _check_source(name_or_path)
        adapter = Path(src) / ADAPTER_FILE
        if adapter.is_file():
            from peft import PeftModel

            model, tok, kind = load(_adapter_base(adapter), dtype=dtype)
            model = PeftModel.from_pretrained(model, src).merge_and_unload()
            if (Path(src) / "tokenizer_config.json").is_file():
                tok = AutoTokenizer.from_pretrained(src)
            logger.info("loaded adapter %s on %s and merged it", src, _adapter_base(adapter))
        else:
            model, tok, kind = _from_pretrained(src, dtype)
    ensure_pad_token(tok, model)
    if lora is not None:
        model = apply_lora(model, lora, kind)
    if device is not None:
        model = model.to(device)
    return model, tok, kind
