"""Slot KV cache + GQA-aware attention for the fast causal engine (any HF Llama-style decoder).

    from mathdistill.students.fast.cache import SlotCache, fast_attention
    cache = SlotCache(batch=256, length=640)          # K/V allocated on the first prefill
    cache.prefill(slots, repeat=K)                    # next forward: prompts -> these slots
    model(input_ids=..., position_ids=..., attention_mask=mask4d, **cache.kwarg(model))
    cache.decode()                                    # next forwards: one token per slot,
                                                      # written at column cache.col[b]
    with fast_attention(model): ...                   # bool masks, packed GQA when q_len == 1

Per layer the cache holds static K/V [B, kv_heads, L, head_dim]. A decode forward writes the
new token's K/V of row b at column `col[b]` (a scatter with the static `col` buffer, so it
can be captured in a CUDA graph) and returns the whole static tensors; the caller's 4D bool
mask [B, 1, 1, L] says which columns each row sees. A prefill forward writes the prompts'
K/V into columns 0..P-1 of the given slots (each prompt into `repeat` consecutive slots:
prefix sharing of K samples) and returns the prompt K/V, so attention stays within the
prompts. The object duck-types HF's Cache (update / get_seq_length); callers always pass
explicit position_ids and a 4D mask, which HF's masking code uses as is.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator

import torch
import torch.nn.functional as F

ATTN_NAME = "md_fast_decode"


class SlotCache:
    """Static per-slot K/V for all layers; see the module docstring."""

    is_compileable = False

    def __init__(self, batch: int, length: int, device: torch.device | str | None = None):
        self.batch, self.length = batch, length
        self.device = torch.device(device) if device is not None else None
        self.keys: list[torch.Tensor | None] = []
        self.values: list[torch.Tensor | None] = []
        self.col = torch.zeros(batch, dtype=torch.long, device=self.device)
        self._mode = "decode"
        self._slots: torch.Tensor | None = None
        self._repeat = 1

    # -- mode switches (host side, outside any captured graph) --
    def prefill(self, slots: torch.Tensor, repeat: int = 1) -> None:
        self._mode, self._slots, self._repeat = "prefill", slots, repeat

    def decode(self) -> None:
        self._mode, self._slots, self._repeat = "decode", None, 1

    def _layer(self, layer_idx: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        while len(self.keys) <= layer_idx:
            self.keys.append(None)
            self.values.append(None)
        if self.keys[layer_idx] is None:
            _, heads, _, dim = like.shape
            shape = (self.batch, heads, self.length, dim)
            # zeros, not empty: unused columns are masked, but must never hold NaN bit patterns
            self.keys[layer_idx] = torch.zeros(shape, dtype=like.dtype, device=like.device)
            self.values[layer_idx] = torch.zeros(shape, dtype=like.dtype, device=like.device)
        return self.keys[layer_idx], self.values[layer_idx]

    # -- HF Cache protocol --
    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int,
               *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        k_all, v_all = self._layer(layer_idx, key_states)
        if self._mode == "prefill":
            p = key_states.shape[2]
            k, v = key_states, value_states
            if self._repeat > 1:
                k = k.repeat_interleave(self._repeat, dim=0)
                v = v.repeat_interleave(self._repeat, dim=0)
            k_all[:, :, :p].index_copy_(0, self._slots, k)
            v_all[:, :, :p].index_copy_(0, self._slots, v)
            return key_states, value_states
        b, h, _, d = key_states.shape
        idx = self.col.view(b, 1, 1, 1).expand(b, h, 1, d)
        k_all.scatter_(2, idx, key_states)
        v_all.scatter_(2, idx, value_states)
        return k_all, v_all

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return 0  # callers pass explicit position_ids; this is never used for positions

    def __len__(self) -> int:
        return len(self.keys)

    @staticmethod
    def kwarg_name(model) -> str:
        """'cache' (transformers >= 5.2x) or 'past_key_values' (older) for model.forward."""
        params = inspect.signature(model.forward).parameters
        return "cache" if "cache" in params else "past_key_values"


def _attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None,
               is_causal=None, **kwargs):
    """SDPA with a bool mask; for one query token the GQA groups become the query axis."""
    if kwargs.get("softcap") is not None:
        raise NotImplementedError("fast generation: attention logit softcapping is not supported")
    b, heads, q_len, _ = query.shape
    kv_heads = key.shape[1]
    rep = heads // kv_heads
    if q_len == 1 and rep > 1:  # [B, H, 1, D] -> [B, kv, rep, D]: no repeat_kv copy of the cache
        q = query.reshape(b, kv_heads, rep, query.shape[-1])
        out = F.scaled_dot_product_attention(q, key, value, attn_mask=attention_mask,
                                             scale=scaling)
        out = out.reshape(b, heads, 1, value.shape[-1])
    else:
        if rep > 1:
            key = key.repeat_interleave(rep, dim=1)
            value = value.repeat_interleave(rep, dim=1)
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                             scale=scaling)
    return out.transpose(1, 2).contiguous(), None


def _register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTN_NAME, _attention)


@contextlib.contextmanager
def fast_attention(model) -> Iterator[None]:
    """Run `model` with the bool-mask attention above (the config's choice is restored after)."""
    _register()
    configs = [cfg for m in model.modules() if (cfg := getattr(m, "config", None)) is not None]
    seen, saved = set(), []
    for cfg in configs:
        if id(cfg) in seen or not hasattr(cfg, "_attn_implementation"):
            continue
        seen.add(id(cfg))
        saved.append((cfg, cfg._attn_implementation_internal
                      if hasattr(cfg, "_attn_implementation_internal")
                      else cfg._attn_implementation))
        _set_impl(cfg, ATTN_NAME)
    try:
        yield
    finally:
        for cfg, impl in saved:
            _set_impl(cfg, impl)


def _set_impl(cfg, impl) -> None:
    if hasattr(cfg, "_attn_implementation_internal"):
        cfg._attn_implementation_internal = impl  # no setter side effects (sub-config checks)
    else:
        cfg._attn_implementation = impl
