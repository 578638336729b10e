"""HF attention implementation "md_varlen": causal attention on packed rows, per sample only.

    from mathdistill.students.fast.attention import use_varlen
    use_varlen(model)                               # model.set_attn_implementation("md_varlen")
    out = model(**packed_batch.model_kwargs())      # cu_seq_lens_q/k, max_length_q/k in kwargs

HF passes extra forward kwargs down to the attention function, so the packed batch's
cu_seqlens reach `varlen_attention_forward`. On CUDA with bf16/fp16 q/k/v it runs
torch.nn.attention.varlen.varlen_attn (flash-attention varlen kernel with autograd, in torch
>= 2.9); its signature changed between torch releases (is_causal vs window_size, enable_gqa,
scale), so the call is built from inspect.signature once at import. Elsewhere (CPU, fp32) it
runs causal SDPA on each segment in turn: the same math, for tests and small runs
(a host sync on cu_seqlens; not meant to be fast). Without cu_seqlens (e.g. generate()) it is plain SDPA with
the mask HF built. The registered mask function returns None when there is no padding mask,
so HF never builds a [T, T] mask for packed training.
"""

from __future__ import annotations

import inspect
import itertools
import logging

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

logger = logging.getLogger(__name__)

NAME = "md_varlen"

try:  # present (CPU builds included) in torch >= 2.9
    from torch.nn.attention.varlen import varlen_attn as _varlen_attn

    _VARLEN_PARAMS = frozenset(inspect.signature(_varlen_attn).parameters)
except (ImportError, AttributeError):  # pragma: no cover - torch < 2.9
    _varlen_attn = None
    _VARLEN_PARAMS = frozenset()

_HALF = (torch.bfloat16, torch.float16)


def varlen_available() -> bool:
    return _varlen_attn is not None and torch.cuda.is_available()


def _target_dtype(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.dtype | None:
    """bf16/fp16 dtype for the flash kernel, or None when q/k/v are all fp32 (no autocast).

    Under bf16 autocast v is bf16 (a linear's output) while q/k may be fp32 (the rotary
    embedding multiplies by cos/sin of the fp32 residual stream's dtype): all go to v's dtype.
    (No torch.is_autocast_enabled() query, to keep compiled layers free of graph breaks.)"""
    for t in (v, q, k):
        if t.dtype in _HALF:
            return t.dtype
    return None


def _flash_varlen(q, k, v, cu, max_len: int, scale: float):
    """q [T, H, D], k/v [T, Hkv, D] -> [T, H, D] via torch's varlen_attn (causal)."""
    kwargs = {}
    if "window_size" in _VARLEN_PARAMS:  # torch >= 2.11-ish: causal = window (-1, 0)
        kwargs["window_size"] = (-1, 0)
    else:  # torch 2.9/2.10
        kwargs["is_causal"] = True
    if k.shape[1] != q.shape[1]:
        if "enable_gqa" in _VARLEN_PARAMS:
            kwargs["enable_gqa"] = True
        else:
            rep = q.shape[1] // k.shape[1]
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
    if "scale" in _VARLEN_PARAMS:
        kwargs["scale"] = scale
    elif abs(scale - q.shape[-1] ** -0.5) > 1e-12:
        q = q * (scale * q.shape[-1] ** 0.5)  # the kernel's default scale is 1/sqrt(D)
    return _varlen_attn(q, k, v, cu, cu, max_len, max_len, **kwargs)


def _segment_sdpa(q, k, v, cu, scale: float):
    """Same math as the varlen kernel, one causal SDPA per segment (O(max_len^2) memory):
    q [T, H, D], k/v [T, Hkv, D] -> [T, H, D]."""
    rep = q.shape[1] // k.shape[1]
    if rep > 1:
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
    q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [H, T, D]
    bounds = cu.tolist()
    outs = [
        F.scaled_dot_product_attention(q[:, a:b], k[:, a:b], v[:, a:b], is_causal=True, scale=scale)
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    return torch.cat(outs, dim=1).transpose(0, 1)


def varlen_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    sliding_window: int | None = None,
    **kwargs,
):
    """HF attention function: query [B, H, T, D], key/value [B, Hkv, T, D] -> ([B, T, H, D], None)."""
    cu = kwargs.get("cu_seq_lens_q")
    if cu is None:  # not a packed call: ordinary SDPA with HF's own mask
        return sdpa_attention_forward(
            module,
            query,
            key,
            value,
            attention_mask,
            dropout=dropout,
            scaling=scaling,
            sliding_window=sliding_window,
            **{k: v for k, v in kwargs.items() if k not in ("max_length_q", "max_length_k")},
        )
    if query.shape[0] != 1:
        raise ValueError(f"md_varlen: packed rows need batch size 1, got {query.shape[0]}")
    if dropout:
        raise ValueError("md_varlen: attention dropout is not supported")
    if sliding_window is not None:
        raise ValueError("md_varlen: sliding-window layers are not supported")
    scale = float(scaling) if scaling is not None else query.shape[-1] ** -0.5
    max_len = int(kwargs.get("max_length_q") or query.shape[2])
    q = query[0].transpose(0, 1)  # [T, H, D]
    k = key[0].transpose(0, 1)
    v = value[0].transpose(0, 1)
    dtype = _target_dtype(q, k, v)
    if _varlen_attn is not None and q.device.type == "cuda" and dtype is not None:
        out = _flash_varlen(
            q.to(dtype).contiguous(),
            k.to(dtype).contiguous(),
            v.to(dtype).contiguous(),
            cu,
            max_len,
            scale,
        )
    else:
        if dtype is not None:
            q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
        out = _segment_sdpa(q, k, v, cu, scale)
    return out.unsqueeze(0), None  # [1, T, H, D]


def varlen_mask(*args, attention_mask=None, **kwargs):
    """Mask function for md_varlen: no mask at all for packed training (attention_mask None),
    the SDPA mask otherwise (e.g. padded generation)."""
    if attention_mask is None:
        return None
    return sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


def register() -> None:
    """Register "md_varlen" with transformers (idempotent; done on import)."""
    AttentionInterface.register(NAME, varlen_attention_forward)
    AttentionMaskInterface.register(NAME, varlen_mask)


def use_varlen(model) -> str:
    """Switch `model` (HF or peft-wrapped) to md_varlen; returns the previous implementation."""
    register()
    hf = model.get_base_model() if hasattr(model, "get_base_model") else model
    previous = hf.config._attn_implementation
    set_attention(model, NAME)
    return previous


def set_attention(model, name: str) -> None:
    """model.set_attn_implementation(name), or set the config where transformers declines."""
    hf = model.get_base_model() if hasattr(model, "get_base_model") else model
    if hf.config._attn_implementation != name:
        hf.set_attn_implementation(name)
    if hf.config._attn_implementation != name:  # a model transformers will not switch
        logger.warning("set_attn_implementation(%r) declined; setting the config", name)
        hf.config._attn_implementation = name


register()
