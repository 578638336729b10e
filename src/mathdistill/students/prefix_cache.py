"""Continuation states of a causal LM with the prompt run once, under no_grad, as a KV cache.

    from mathdistill.students.prefix_cache import cached_states
    states = cached_states(model, heads, conts, pad_id)   # (len(conts), H)
    # heads: B prompt id lists; conts: reps * B continuation id lists, grouped (all anchors,
    # then all positives, ...): conts[g * B + i] continues heads[i]

Tailored Learning's self-reflection pass (spec §2.3; authors' trainer.py `compute_cl_loss`
[C]): the prefix (few-shot demos + question) goes through the model once under
`torch.no_grad()` with `use_cache=True`, and the anchor, positive and negative continuations
are run on that KV cache. Gradients therefore reach the weights only through the
continuation tokens' own computations: nothing flows through the prefix's keys and values.
The forward values equal a full-sequence pass (tests/test_protocol_training.py checks it).

Layout: prefixes are left-padded (all end at one column), each continuation row is right-
padded, position ids run on from each row's real prefix length, and the attention mask is
[prefix mask | continuation mask]; the cache is repeated (interleaved) once per group so the
continuations of a row sit next to each other. Activation (gradient) checkpointing would
drop the cache (transformers does so for layers that write to it), so it is switched off
for the continuation pass: continuations are short (<= 192 tokens upstream).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch

from .triplet import last_token_state

__all__ = ["cache_kwarg", "cached_states", "no_checkpointing"]


def cache_kwarg(model) -> str:
    """The forward keyword of the KV cache ('cache' in transformers >= 5.2x, else
    'past_key_values'), read from the underlying model of a PEFT wrapper."""
    from .fast.cache import SlotCache

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return SlotCache.kwarg_name(base)


@contextlib.contextmanager
def no_checkpointing(model):
    """Temporarily turn off activation checkpointing on the model's layers."""
    layers = [m for m in model.modules() if getattr(m, "gradient_checkpointing", False) is True]
    for m in layers:
        m.gradient_checkpointing = False
    try:
        yield
    finally:
        for m in layers:
            m.gradient_checkpointing = True


def _pad(rows: Sequence[Sequence[int]], pad_id: int, device, left: bool):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for i, r in enumerate(rows):
        if not r:
            continue
        row = torch.tensor(list(r), dtype=torch.long, device=device)
        if left:
            ids[i, width - len(r):], mask[i, width - len(r):] = row, 1
        else:
            ids[i, : len(r)], mask[i, : len(r)] = row, 1
    return ids, mask


def cached_states(model, heads: Sequence[Sequence[int]], conts: Sequence[Sequence[int]],
                  pad_id: int) -> torch.Tensor:
    """(len(conts), H) last-layer states at the last token of each continuation, the prefix
    `heads[i]` run under no_grad as a KV cache (module docstring)."""
    from transformers import DynamicCache

    n, reps = len(heads), len(conts) // max(len(heads), 1)
    if n == 0 or reps * n != len(conts) or any(not h for h in heads) or any(not c for c in conts):
        raise ValueError(f"cached_states: {len(conts)} non-empty continuations for {n} "
                         "non-empty prefixes expected (a multiple)")
    device = next(model.parameters()).device
    key = cache_kwarg(model)
    pre_ids, pre_mask = _pad(heads, pad_id, device, left=True)
    cache = DynamicCache(config=model.config)
    with torch.no_grad():
        model(input_ids=pre_ids, attention_mask=pre_mask,
              position_ids=(pre_mask.cumsum(-1) - 1).clamp(min=0), use_cache=True,
              **{key: cache})
    cache.batch_repeat_interleave(reps)
    order = [g * n + i for i in range(n) for g in range(reps)]  # row k holds conts[order[k]]
    c_ids, c_mask = _pad([conts[j] for j in order], pad_id, device, left=False)
    pre_len = pre_mask.sum(-1).repeat_interleave(reps)
    positions = pre_len[:, None] + torch.arange(c_ids.shape[1], device=device)[None, :]
    with no_checkpointing(model):
        out = model(input_ids=c_ids, attention_mask=torch.cat(
                        [pre_mask.repeat_interleave(reps, 0), c_mask], dim=1),
                    position_ids=positions, use_cache=True, output_hidden_states=True,
                    **{key: cache})
    states = last_token_state(out.hidden_states[-1], c_mask)
    inverse = torch.empty(len(order), dtype=torch.long, device=device)
    inverse[torch.tensor(order, device=device)] = torch.arange(len(order), device=device)
    return states[inverse]
