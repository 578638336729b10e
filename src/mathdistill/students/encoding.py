"""Turn {"prompt", "target"} examples into token features, and pad them into batches.

    feats, stats = encode_examples(examples, tok, "causal", max_len=1024, loss_on_prompt=False)
    collate = make_collator(tok, kind, model)       # labels padded with -100
    batch = collate(feats[:8])                        # input_ids, attention_mask, labels (tensors)

Layouts (the same ones generation uses, so training and inference agree):
- seq2seq: input = tok(prompt) (the tokenizer's own specials, e.g. T5 "... </s>"),
  labels = tok(target) ending in eos.
- causal: input = tok(prompt) (e.g. Llama "<s> ...") + tok(target, no specials) + eos;
  labels = the same ids, with the prompt part set to -100 unless loss_on_prompt.
Too-long examples are truncated (the target end is cut); a causal example whose prompt leaves
no room for the target is dropped. Counts come back in `stats`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import DataCollatorForSeq2Seq, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

IGNORE = -100
MODEL_KEYS = ("input_ids", "attention_mask", "labels")


def check_examples(examples: Sequence[Mapping[str, Any]]) -> None:
    """ValueError naming the first bad example (index and problem)."""
    if len(examples) == 0:
        raise ValueError("no training examples")
    for i, ex in enumerate(examples):
        if not isinstance(ex, Mapping):
            raise TypeError(
                f"examples[{i}]: expected a dict with 'prompt' and 'target', "
                f"got {type(ex).__name__}"
            )
        for key in ("prompt", "target"):
            if not isinstance(ex.get(key), str):
                raise TypeError(f"examples[{i}]: '{key}' must be a string, got {ex.get(key)!r:.80}")
        if not ex["target"]:
            raise ValueError(f"examples[{i}]: empty 'target'")


def prompt_ids_batch(tok: PreTrainedTokenizerBase, texts: Sequence[str], kind: str
                     ) -> list[list[int]]:
    """Prompt ids of each text with the tokenizer's own special tokens (no trailing eos for
    causal), in one tokenizer call (a fast tokenizer encodes the list in one Rust call)."""
    eos = tok.eos_token_id
    rows = [list(ids) for ids in tok(list(texts), add_special_tokens=True)["input_ids"]] \
        if texts else []
    if kind == "causal" and eos is not None:  # an appended eos would end the prompt early
        rows = [ids[:-1] if ids and ids[-1] == eos else ids for ids in rows]
    return rows


def target_ids_batch(tok: PreTrainedTokenizerBase, texts: Sequence[str], kind: str
                     ) -> list[list[int]]:
    """Target ids of many texts: seq2seq with the tokenizer's specials, causal without;
    each ends in eos."""
    eos = tok.eos_token_id
    rows = [list(ids) for ids in tok(list(texts), add_special_tokens=kind == "seq2seq")[
        "input_ids"]] if texts else []
    if eos is not None:
        rows = [ids if ids and ids[-1] == eos else [*ids, eos] for ids in rows]
    return rows


def encode_examples(
    examples: Sequence[Mapping[str, Any]],
    tok: PreTrainedTokenizerBase,
    kind: str,
    *,
    max_source_len: int = 512,
    max_target_len: int = 512,
    max_len: int = 1024,
    loss_on_prompt: bool = False,
) -> tuple[list[dict[str, list[int]]], dict[str, int]]:
    """Encode examples into input_ids/attention_mask/labels features; returns (features, stats)."""
    check_examples(examples)
    feats: list[dict[str, list[int]]] = []
    truncated = dropped = 0
    sources = prompt_ids_batch(tok, [ex["prompt"] for ex in examples], kind)
    targets = target_ids_batch(tok, [ex["target"] for ex in examples], kind)
    for src, tgt in zip(sources, targets, strict=True):
        if kind == "seq2seq":
            if len(src) > max_source_len or len(tgt) > max_target_len:
                truncated += 1
                src = src[: max_source_len - 1] + src[-1:] if len(src) > max_source_len else src
                tgt = tgt[:max_target_len]
            ids, labels = src, tgt
        else:
            room = max_len - len(src)
            if room < 1:
                dropped += 1
                continue
            if len(tgt) > room:
                truncated += 1
                tgt = tgt[:room]
            ids = src + tgt
            labels = (src if loss_on_prompt else [IGNORE] * len(src)) + tgt
        feats.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    stats = {
        "n_examples": len(examples),
        "n_used": len(feats),
        "truncated": truncated,
        "dropped": dropped,
    }
    if truncated or dropped:
        logger.warning(
            "encoding: %d of %d examples truncated to fit, %d dropped (prompt alone too long)",
            truncated,
            len(examples),
            dropped,
        )
    if not feats:
        raise ValueError(
            f"all {len(examples)} examples were dropped: prompts exceed max_len={max_len}"
        )
    return feats, stats


class StudentCollator:
    """DataCollatorForSeq2Seq (right padding, labels -100) that passes extra keys through.

    Extra per-example fields (e.g. for a custom loss) come back as lists under their keys.
    For seq2seq models the HF collator also builds decoder_input_ids from the labels.
    """

    def __init__(
        self,
        tok: PreTrainedTokenizerBase,
        kind: str,
        model=None,
        pad_to_multiple_of: int | None = None,
    ):
        if tok.padding_side != "right":
            raise ValueError("training collator needs tok.padding_side == 'right'")
        self.inner = DataCollatorForSeq2Seq(
            tok,
            model=model if kind == "seq2seq" else None,
            label_pad_token_id=IGNORE,
            pad_to_multiple_of=pad_to_multiple_of,
            return_tensors="pt",
        )

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        core = [{k: f[k] for k in MODEL_KEYS if k in f} for f in features]
        batch = dict(self.inner(core))
        for key in features[0].keys() - set(MODEL_KEYS):
            batch[key] = [f[key] for f in features]
        return batch


def pad_prompts(
    tok: PreTrainedTokenizerBase, batch_ids: list[list[int]], side: str
) -> dict[str, torch.Tensor]:
    """Pad prompt ids for generation: side 'left' for causal models, 'right' for encoders."""
    enc = tok.pad({"input_ids": batch_ids}, padding=True, padding_side=side, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
