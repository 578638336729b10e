"""tiny-* presets: small random-init students of real families, with a project-trained tokenizer.

    from mathdistill.students.presets import build_tiny, PRESETS
    path = build_tiny("tiny-qwen2", texts, "results/students/tiny-qwen2", seed=0)
    # path is a complete HF model dir (config.json, model.safetensors, tokenizer files,
    # generation_config.json); load it with mathdistill.students.load(path) or AutoModel*.

Each preset uses the family's own config class (T5Config, Qwen2Config, LlamaConfig,
GemmaConfig), so the tiny model runs the same modelling code as the real student; only the
sizes differ (2 layers; d_model 128, tiny-t5 64). tiny-t5 is the embedded default's student:
at d_model 64 it learned the synthetic PoT task faster than at 128 for the same steps on a CPU
(1,000 steps of 8, lr 2e-3: 51 % vs 21 % on 1-2 step test problems, bench/default_run.py). The vocabulary is trained on the given texts
(see tokenizer.py), so the model matches the data it will see in tests and smoke runs.
`random-qwen2-0.5b` is not tiny: the Qwen2.5-0.5B architecture at full size with random
weights, for GPU throughput benchmarks (bench/students_gpu.sh).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    GemmaConfig,
    GenerationConfig,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2Config,
    T5Config,
)

from mathdistill.io import atomic_dir

from .tokenizer import PROMPT_TEXTS, train_tokenizer

logger = logging.getLogger(__name__)

_DECODER = {"num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 2048}


@dataclass(frozen=True)
class Preset:
    config_cls: type[PretrainedConfig]
    kind: str  # "seq2seq" | "causal"
    sizes: dict[str, Any] = field(default_factory=dict)
    note: str = ""


PRESETS: dict[str, Preset] = {
    "tiny-t5": Preset(
        T5Config,
        "seq2seq",
        {
            "d_model": 64,
            "d_kv": 16,
            "d_ff": 256,
            "num_layers": 2,
            "num_decoder_layers": 2,
            "num_heads": 4,
            "feed_forward_proj": "gated-gelu",
            "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128,
            "dropout_rate": 0.0,
            "tie_word_embeddings": True,
        },
        "T5 architecture with gated-GELU MLP (Flan-T5) and tied embeddings (T5, CodeT5)",
    ),
    "tiny-qwen2": Preset(
        Qwen2Config,
        "causal",
        dict(
            hidden_size=128,
            intermediate_size=512,
            num_key_value_heads=2,
            tie_word_embeddings=True,
            **_DECODER,
        ),
        "Qwen2 / Qwen2.5 architecture (GQA, tied embeddings)",
    ),
    "tiny-llama": Preset(
        LlamaConfig,
        "causal",
        dict(
            hidden_size=128,
            intermediate_size=512,
            num_key_value_heads=2,
            tie_word_embeddings=False,
            **_DECODER,
        ),
        "Llama architecture",
    ),
    "tiny-smollm": Preset(
        LlamaConfig,
        "causal",
        {
            "hidden_size": 144,
            "intermediate_size": 384,
            "num_key_value_heads": 1,
            "num_hidden_layers": 3,
            "num_attention_heads": 3,
            "max_position_embeddings": 2048,
            "tie_word_embeddings": True,
        },
        "SmolLM/SmolLM2 (Llama modelling code, tied embeddings, 3:1 GQA)",
    ),
    "tiny-gemma": Preset(
        GemmaConfig,
        "causal",
        dict(
            hidden_size=128,
            intermediate_size=512,
            num_key_value_heads=1,
            head_dim=32,
            tie_word_embeddings=True,
            **_DECODER,
        ),
        "Gemma architecture (MQA, tied embeddings, GELU MLP)",
    ),
    # Not tiny: the exact Qwen2(.5)-0.5B architecture with random weights, for GPU throughput
    # benchmarks (bench/students_gpu.sh) without a hub download. Learns nothing useful.
    "random-qwen2-0.5b": Preset(
        Qwen2Config,
        "causal",
        {
            "hidden_size": 896,
            "intermediate_size": 4864,
            "num_hidden_layers": 24,
            "num_attention_heads": 14,
            "num_key_value_heads": 2,
            "vocab_size": 151936,
            "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
            "tie_word_embeddings": True,
        },
        "Qwen2.5-0.5B sizes (494M params), random init; the embedding is larger than the "
        "project tokenizer's vocabulary, as in the real model",
    ),
}


def is_preset(name: str | os.PathLike) -> bool:
    return isinstance(name, str) and name in PRESETS


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown tiny preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def make_tiny(
    preset: str, texts=None, *, seed: int = 0, vocab_size: int = 1024,
    max_number: int | None = None, prompt_words: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """Build (model, tokenizer, kind) in memory: tokenizer trained on `texts`, seeded init.
    `max_number`: integers 10..N are single tokens; `prompt_words`: the tokenizer also learns
    the prompts' fixed words (tokenizer.PROMPT_TEXTS), as if each text held them."""
    spec = get_preset(preset)
    max_len = spec.sizes.get("max_position_embeddings", 512)
    tok = train_tokenizer(texts, kind=spec.kind, vocab_size=vocab_size, model_max_length=max_len,
                          max_number=max_number,
                          prompt_words=PROMPT_TEXTS if prompt_words else ())
    ids = {"pad_token_id": tok.pad_token_id, "eos_token_id": tok.eos_token_id}
    if spec.kind == "causal":
        ids["bos_token_id"] = tok.bos_token_id
    sizes = dict(spec.sizes)
    vocab = max(len(tok), sizes.pop("vocab_size", 0))  # a preset may fix a larger embedding
    config = spec.config_cls(vocab_size=vocab, **ids, **sizes)
    if spec.kind == "seq2seq":
        config.decoder_start_token_id = tok.pad_token_id  # T5 starts decoding from <pad>
    auto = AutoModelForSeq2SeqLM if spec.kind == "seq2seq" else AutoModelForCausalLM
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = auto.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        **ids,
        **({"decoder_start_token_id": tok.pad_token_id} if spec.kind == "seq2seq" else {}),
    )
    model.config.name_or_path = preset
    return model, tok, spec.kind


def build_tiny(
    preset: str,
    texts=None,
    out_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    vocab_size: int = 1024,
    max_number: int | None = None,
    prompt_words: bool = False,
) -> Path:
    """Write a complete HF model dir for `preset` to `out_dir` atomically; returns the path.

    `texts` trains the tokenizer (None: a small built-in corpus); `max_number` and
    `prompt_words` as in make_tiny. Same inputs, same files.
    """
    if out_dir is None:
        raise ValueError("build_tiny: out_dir is required")
    if texts is not None:
        texts = [t for t in texts if t]
    model, tok, kind = make_tiny(preset, texts, seed=seed, vocab_size=vocab_size,
                                 max_number=max_number, prompt_words=prompt_words)
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info(
        "built %s (%s, %.2fM params, vocab %d) at %s", preset, kind, n_params / 1e6, len(tok), out
    )
    return out
