"""LoRA adapters via peft: validated spec, per-family default target modules, apply/merge.

    from mathdistill.students.lora import apply_lora, lora_spec
    spec = lora_spec({"r": 16, "alpha": 32, "dropout": 0.0})   # SIKeD settings
    model = apply_lora(model, spec, kind="causal")              # a peft PeftModel
    plain = model.merge_and_unload()                            # back to a plain HF model

Default targets (`target_modules` None): all attention and MLP projections of the family
(SIKeD: q/k/v/o/gate/up/down for decoder LMs; q/k/v/o/wi/wo for T5), keeping only names
the model actually has; an unknown family falls back to peft's "all-linear".
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peft import PeftModel

logger = logging.getLogger(__name__)

LORA_KEYS = {"r", "alpha", "dropout", "target_modules"}
_DECODER_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DEFAULT_TARGETS: dict[str, list[str]] = {
    "t5": ["q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"],
    "mt5": ["q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"],
    "umt5": ["q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gptj": ["q_proj", "k_proj", "v_proj", "out_proj", "fc_in", "fc_out"],
    "opt": ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
}
for _family in ("llama", "qwen2", "qwen3", "gemma", "gemma2", "mistral", "smollm3", "phi3"):
    DEFAULT_TARGETS[_family] = _DECODER_TARGETS


def lora_spec(lora: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate a LoRA dict {r, alpha, dropout, target_modules}; fills defaults."""
    if lora is None:
        return None
    if not isinstance(lora, dict):
        raise TypeError(f"lora must be a dict with keys {sorted(LORA_KEYS)} or None, got {lora!r}")
    unknown = set(lora) - LORA_KEYS
    if unknown:
        raise ValueError(f"unknown lora keys {sorted(unknown)}; allowed: {sorted(LORA_KEYS)}")
    spec = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": None, **lora}
    if int(spec["r"]) <= 0:
        raise ValueError(f"lora r must be > 0, got {spec['r']}")
    if not 0.0 <= float(spec["dropout"]) < 1.0:
        raise ValueError(f"lora dropout must be in [0, 1), got {spec['dropout']}")
    return spec


def default_target_modules(model) -> list[str] | str:
    """Projection names for the model's family that exist in the model, else 'all-linear'."""
    family = getattr(model.config, "model_type", "")
    wanted = DEFAULT_TARGETS.get(family)
    if not wanted:
        logger.warning("no default LoRA targets for model_type %r; using 'all-linear'", family)
        return "all-linear"
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    found = [m for m in wanted if m in present]
    return found or "all-linear"


def apply_lora(model, lora: dict[str, Any], kind: str) -> PeftModel:
    """Wrap `model` with fresh LoRA adapters (only they are trainable)."""
    from peft import LoraConfig, TaskType, get_peft_model  # (peft: only where LoRA is used)

    spec = lora_spec(lora)
    targets = spec["target_modules"] or default_target_modules(model)
    config = LoraConfig(
        r=int(spec["r"]),
        lora_alpha=float(spec["alpha"]),
        lora_dropout=float(spec["dropout"]),
        target_modules=targets,
        bias="none",
        task_type=TaskType.SEQ_2_SEQ_LM if kind == "seq2seq" else TaskType.CAUSAL_LM,
    )
    peft_model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in peft_model.parameters())
    logger.info(
        "LoRA r=%s alpha=%s on %s: %d / %d params trainable",
        spec["r"],
        spec["alpha"],
        targets,
        trainable,
        total,
    )
    return peft_model


def is_peft(model) -> bool:
    peft = sys.modules.get("peft")  # not imported: no model can be a PeftModel
    return peft is not None and isinstance(model, peft.PeftModel)
