"""Fast greedy/sampled decoding for T5-family students (T5, Flan-T5, CodeT5, mT5).

    from mathdistill.students.fast.seq2seq import generate_ids_seq2seq
    out = generate_ids_seq2seq(model, prompt_ids, max_new_tokens=256, batch_size=256)
    out[i][k]   # token ids of output k for prompt i: forced prefix + new tokens, cut before EOS

Same signature and result as fast.causal.generate_ids (see contracts): `prompts` are encoder
input ids, `prefixes` are forced decoder tokens after decoder_start_token_id (returned with the
output), greedy outputs equal HF `generate`'s (no beam search, no repetition penalty and no
other logits processors from the model's generation_config).

How it is fast:
- batch-synchronous decoding: prompts sorted by length, `batch_size` rows per batch (K rows
  per prompt when sampling), every row at the same decoder position, so a step is one
  fixed-shape computation that is captured once as a CUDA graph (graphs.GraphStep) and replayed;
- the encoder runs once per prompt and the cross-attention K/V are computed once per batch,
  stored once per prompt (K samples share them: their K queries attend together);
- the decoder step is written against the T5 modules' weights (q/k/v/o, layer norms, feed
  forward), with its own static self-attention cache and a precomputed relative-position
  bias table, so no HF cache object, mask builder or host sync is inside the graph;
- forced prefixes are decoded as steps whose token is overridden per row (prefixes are a
  few tokens; rows of one batch may have different prefixes, one graph serves all steps);
- per-step state (finished flags, forced tokens, min/max lengths, output buffer) lives on the
  device; the host looks at the finished flags every `sync_every` steps (default
  CHECK_EVERY; optional `stop_fn` on the rows' ids then too) and ends the batch as soon as
  all its rows are done;
- self-attention reads only the first `kv_len` cache positions, a multiple of KV_CHUNK (one
  graph per chunk count) instead of the whole static cache.
On CPU (or cuda_graphs=False) the same step runs eagerly. The first batch of each call checks
two decoder steps against the HF model's own forward (NotImplementedError if they disagree;
backend "auto" then uses HF), so a change in transformers' T5 code cannot silently give wrong
outputs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .graphs import GraphStep
from .sampling import eos_ids, sample

CHECK_EVERY = 16  # decode steps between host checks of the finished flags (CUDA graphs)
KV_CHUNK = 64  # self-attention reads a multiple of this many cache positions (CUDA graphs)
EAGER_KV_CHUNK = 1  # eager: exactly the positions so far (as HF's dynamic cache)
ENC_PAD = 16  # encoder inputs padded to a multiple of this (fewer graph shapes)


@dataclass
class _T5:
    """The T5 decoder pieces the fast step uses (module references, no copies)."""

    embed: torch.nn.Module
    blocks: list
    final_norm: torch.nn.Module
    lm_head: torch.nn.Module
    out_scale: float | None  # T5 v1.0 / tied: hidden * d_model**-0.5 before lm_head
    n_heads: int
    d_kv: int
    rel_bias: torch.nn.Module  # decoder block 0 SelfAttention (has compute_bias)


def _t5_parts(model) -> _T5:
    dec = getattr(model, "decoder", None)
    blocks = list(getattr(dec, "block", []) or [])
    ok = bool(blocks) and all(
        len(b.layer) == 3 and hasattr(b.layer[0], "SelfAttention")
        and hasattr(b.layer[1], "EncDecAttention")
        for b in blocks
    )
    shared_bias = ok and [
        bool(getattr(b.layer[0].SelfAttention, "has_relative_attention_bias", False))
        for b in blocks
    ] == [True] + [False] * (len(blocks) - 1)  # UMT5: a bias per layer, not supported
    if not shared_bias:
        raise NotImplementedError(
            f"generate_ids_seq2seq supports T5-family models (T5ForConditionalGeneration, "
            f"MT5); got {type(model).__name__}: use generation backend 'hf'"
        )
    cfg = model.config
    scale = getattr(cfg, "scale_decoder_outputs", None)  # transformers >= 5.2x
    if scale is None:
        scale = getattr(cfg, "tie_word_embeddings", True)
    att = blocks[0].layer[0].SelfAttention
    return _T5(
        embed=dec.embed_tokens,
        blocks=blocks,
        final_norm=dec.final_layer_norm,
        lm_head=model.lm_head,
        out_scale=cfg.d_model**-0.5 if scale else None,
        n_heads=att.n_heads,
        d_kv=att.key_value_proj_dim,
        rel_bias=att,
    )


def _clamp_fp16(h: torch.Tensor) -> torch.Tensor:
    """T5Block's fp16 overflow guard (graph-safe: torch.where, no host sync)."""
    if h.dtype != torch.float16:
        return h
    big = torch.finfo(h.dtype).max
    clamp = torch.where(torch.isinf(h).any(), big - 1000, big)
    return torch.clamp(h, min=-clamp, max=clamp)


class _State:
    """Device state of one batch shape: caches, masks, per-row limits, outputs."""

    def __init__(self, t5: _T5, n_prompts: int, k: int, enc_len: int, n_pos: int,
                 dtype: torch.dtype, device: torch.device):
        self.P, self.K, self.R = n_prompts, k, n_prompts * k
        self.S, self.T = enc_len, n_pos
        H, D = t5.n_heads, t5.d_kv
        kw = {"dtype": dtype, "device": device}
        L = len(t5.blocks)
        self.self_k = [torch.zeros(self.R, H, n_pos, D, **kw) for _ in range(L)]
        self.self_v = [torch.zeros(self.R, H, n_pos, D, **kw) for _ in range(L)]
        self.cross_k = [torch.zeros(self.P, H, enc_len, D, **kw) for _ in range(L)]
        self.cross_v = [torch.zeros(self.P, H, enc_len, D, **kw) for _ in range(L)]
        self.cross_mask = torch.zeros(self.P, 1, 1, enc_len, **kw)
        ilong = {"dtype": torch.long, "device": device}
        self.cur = torch.zeros(self.R, **ilong)  # decoder input token of this step
        self.pos = torch.zeros(1, **ilong)  # decoder position of this step (same for all rows)
        self.forced = torch.full((self.R, n_pos), -1, **ilong)  # forced output token or -1
        self.plen = torch.zeros(self.R, **ilong)  # prefix length per row
        self.lo = torch.zeros(self.R, **ilong)  # EOS banned while pos < lo (min_new_tokens)
        self.hi = torch.zeros(self.R, **ilong)  # row done once pos + 1 >= hi (max_new_tokens)
        self.out = torch.zeros(self.R, n_pos, **ilong)
        self.done = torch.zeros(self.R, dtype=torch.bool, device=device)


def _bias_table(t5: _T5, n_pos: int, dtype: torch.dtype, device) -> torch.Tensor:
    """[H, T, T] decoder self-attention bias: relative position bias, finfo.min above the
    diagonal (causal), as HF's sdpa path builds it from compute_bias and the causal mask."""
    bias = t5.rel_bias.compute_bias(n_pos, n_pos, device)[0].to(dtype)
    causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=device).tril()
    return torch.where(causal, bias, torch.finfo(dtype).min).contiguous()


@dataclass
class _Decode:
    """Per-call decoding settings the step reads (Python values: fixed in a captured graph)."""

    temperature: float
    top_p: float
    top_k: int
    eos: torch.Tensor  # [E] long on the device
    pad: int
    ban_eos: bool  # min_new_tokens > 0 and there is an EOS


def _step(t5: _T5, st: _State, bias: torch.Tensor, dec: _Decode, kv_len: int) -> None:
    """One decoder step for all rows at position st.pos, reading cache positions [0, kv_len)."""
    R, P, K, H, D = st.R, st.P, st.K, t5.n_heads, t5.d_kv
    pos = st.pos
    h = t5.embed(st.cur).unsqueeze(1)  # [R, 1, d_model]
    pb = bias.index_select(1, pos)[:, :, :kv_len].unsqueeze(0).contiguous()  # [1, H, 1, kv]
    for i, blk in enumerate(t5.blocks):
        sa = blk.layer[0]
        att = sa.SelfAttention
        x = sa.layer_norm(h)
        q = att.q(x).view(R, 1, H, D).transpose(1, 2)
        st.self_k[i].index_copy_(2, pos, att.k(x).view(R, 1, H, D).transpose(1, 2))
        st.self_v[i].index_copy_(2, pos, att.v(x).view(R, 1, H, D).transpose(1, 2))
        a = F.scaled_dot_product_attention(
            q, st.self_k[i][:, :, :kv_len], st.self_v[i][:, :, :kv_len], attn_mask=pb, scale=1.0
        )
        h = _clamp_fp16(h + att.o(a.transpose(1, 2).reshape(R, 1, H * D)))
        ca = blk.layer[1]
        att = ca.EncDecAttention
        x = ca.layer_norm(h)
        # the K samples of a prompt are K queries against that prompt's one encoder K/V
        q = att.q(x).view(P, K, H, D).transpose(1, 2)  # [P, H, K, D]
        a = F.scaled_dot_product_attention(
            q, st.cross_k[i], st.cross_v[i], attn_mask=st.cross_mask, scale=1.0
        )
        h = _clamp_fp16(h + att.o(a.transpose(1, 2).reshape(R, 1, H * D)))
        h = _clamp_fp16(blk.layer[-1](h))
    h = t5.final_norm(h)
    if t5.out_scale is not None:
        h = h * t5.out_scale
    logits = t5.lm_head(h[:, 0]).float()  # [R, V]
    if dec.ban_eos:  # MinNewTokensLengthLogitsProcessor
        ban = (pos < st.lo).unsqueeze(1)
        logits.index_copy_(
            1, dec.eos, logits.index_select(1, dec.eos).masked_fill(ban, float("-inf"))
        )
    tok = sample(logits, dec.temperature, dec.top_p, dec.top_k)
    forced = st.forced.index_select(1, pos).squeeze(1)
    tok = torch.where(forced >= 0, forced, tok)
    tok = torch.where(st.done, torch.full_like(tok, dec.pad), tok)
    st.out.index_copy_(1, pos, tok.unsqueeze(1))
    hit_eos = (tok.unsqueeze(1) == dec.eos.unsqueeze(0)).any(1) & (pos >= st.plen)
    st.done |= hit_eos | (pos + 1 >= st.hi)
    st.cur.copy_(tok)
    pos.add_(1)


def _encode(model, t5: _T5, st: _State, ids: list[list[int]], pad: int, start: int,
            prefixes: list[list[int]], min_new: int, max_new: int) -> torch.Tensor:
    """Fill `st` for a new batch: encoder + cross K/V, reset positions and per-row limits.
    Returns the encoder output (for the HF check)."""
    dev = st.cur.device
    enc_ids = torch.full((st.P, st.S), pad, dtype=torch.long)
    mask = torch.zeros(st.P, st.S, dtype=torch.long)
    for j, x in enumerate(ids):
        enc_ids[j, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[j, : len(x)] = 1
    enc_ids, mask = enc_ids.to(dev), mask.to(dev)
    enc = model.get_encoder()(input_ids=enc_ids, attention_mask=mask)[0]  # [P, S, d_model]
    H, D = t5.n_heads, t5.d_kv
    for i, blk in enumerate(t5.blocks):
        att = blk.layer[1].EncDecAttention
        st.cross_k[i].copy_(att.k(enc).view(st.P, st.S, H, D).transpose(1, 2))
        st.cross_v[i].copy_(att.v(enc).view(st.P, st.S, H, D).transpose(1, 2))
    st.cross_mask.copy_(
        torch.zeros_like(mask, dtype=st.cross_mask.dtype)
        .masked_fill(mask == 0, torch.finfo(st.cross_mask.dtype).min)
        .view(st.P, 1, 1, st.S)
    )
    forced = torch.full((st.R, st.T), -1, dtype=torch.long)
    plen = torch.zeros(st.R, dtype=torch.long)
    for j, pre in enumerate(prefixes):
        for r in range(j * st.K, (j + 1) * st.K):
            plen[r] = len(pre)
            if pre:
                forced[r, : len(pre)] = torch.tensor(pre, dtype=torch.long)
    st.forced.copy_(forced)
    st.plen.copy_(plen)
    st.lo.copy_(plen + min_new)
    st.hi.copy_(plen + max_new)
    st.cur.fill_(start)
    st.pos.zero_()
    st.done.zero_()
    return enc


def _check_hf(model, t5: _T5, st: _State, bias: torch.Tensor, dec: _Decode,
              enc: torch.Tensor, enc_mask_row0: int) -> None:
    """Compare two eager fast steps on prompt 0 with the HF forward (logits of positions 0, 1)."""
    sub = _State(t5, 1, 1, st.S, 2, bias.dtype, st.cur.device)
    for dst, src in ((sub.cross_k, st.cross_k), (sub.cross_v, st.cross_v)):
        for a, b in zip(dst, src, strict=True):
            a.copy_(b[:1])
    sub.cross_mask.copy_(st.cross_mask[:1])
    sub.cur.copy_(st.cur[:1])
    sub.hi.fill_(10**9)
    greedy = _Decode(0.0, 1.0, 0, dec.eos, dec.pad, False)
    logits_fast = []
    orig_head = t5.lm_head

    class _Grab(torch.nn.Module):
        def forward(self, x):
            y = orig_head(x)
            logits_fast.append(y.float())
            return y

    t5.lm_head = _Grab()
    try:
        _step(t5, sub, bias[:, :2, :2], greedy, 1)
        _step(t5, sub, bias[:, :2, :2], greedy, 2)
    finally:
        t5.lm_head = orig_head
    dec_ids = torch.stack([st.cur[:1], sub.out[0, :1]], dim=1)  # [1, 2]: start, first token
    mask = torch.zeros(1, st.S, dtype=torch.long, device=enc.device)
    mask[0, :enc_mask_row0] = 1
    ref = model(
        encoder_outputs=(enc[:1],), attention_mask=mask, decoder_input_ids=dec_ids,
        use_cache=False,
    ).logits[0].float()  # [2, V]
    fast = torch.cat(logits_fast, 0)  # [2, V]
    err = (fast - ref).abs().max().item() / max(ref.abs().max().item(), 1e-6)
    tol = 1e-3 if bias.dtype in (torch.float32, torch.float64) else 0.1
    if not math.isfinite(err) or err > tol:
        raise NotImplementedError(  # backend "auto" catches it and uses HF generate
            f"generate_ids_seq2seq: the fast T5 decoder step disagrees with the HF forward "
            f"(relative logit error {err:.2e} > {tol}); transformers' T5 code may have "
            "changed: use generation backend 'hf'"
        )


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def _eos_list(model, eos_token_id) -> list[int]:
    """`eos_token_id`, else the model's generation config's, else its config's."""
    if eos_token_id is None:
        eos_token_id = getattr(model.generation_config, "eos_token_id", None)
        if eos_token_id is None:
            eos_token_id = model.config.eos_token_id
    return eos_ids(eos_token_id)


def _start_id(model, pad_token_id: int) -> int:
    for src in (model.generation_config, model.config):
        start = getattr(src, "decoder_start_token_id", None)
        if start is not None:
            return int(start)
    return int(pad_token_id)


def _cut(row: list[int], plen: int, eos: set[int]) -> list[int]:
    for t in range(plen, len(row)):
        if row[t] in eos:
            return row[:t]
    return row


@torch.inference_mode()
def generate_ids_seq2seq(model, prompts: list[list[int]], *, max_new_tokens: int,
                         min_new_tokens: int = 0, do_sample: bool = False,
                         temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
                         num_samples: int = 1, eos_token_id: int | list[int] | None = None,
                         pad_token_id: int = 0, batch_size: int = 256, seed: int = 0,
                         prefixes: list[list[int]] | None = None,
                         cuda_graphs: bool | None = None, progress: bool = False,
                         sync_every: int = CHECK_EVERY,
                         stop_fn: Callable[[list[int]], bool] | None = None,
                         ) -> list[list[list[int]]]:
    """out[i][k]: prefix + new token ids of output k for prompts[i], cut before the first EOS
    (EOS after the prefix only). Greedy with num_samples > 1: one decode, K copies.

    As fast.causal.generate_ids: `stop_fn(ids)` (prefix + tokens so far), checked on the host
    every `sync_every` steps, ends a row early once true (the caller cuts its text); the host
    also ends a batch once all its rows are done every `sync_every` steps (CPU: every step).
    """
    if max_new_tokens < 1 or num_samples < 1 or batch_size < 1 or sync_every < 1:
        raise ValueError(
            "generate_ids_seq2seq: max_new_tokens, num_samples, batch_size, sync_every >= 1"
        )
    if min_new_tokens > max_new_tokens:
        raise ValueError("generate_ids_seq2seq: min_new_tokens > max_new_tokens")
    if do_sample and temperature <= 0:
        raise ValueError("generate_ids_seq2seq: sampling needs temperature > 0")
    prompts = [list(map(int, p)) for p in prompts]
    if not prompts:
        return []
    if any(not p for p in prompts):
        raise ValueError("generate_ids_seq2seq: empty prompt")
    if prefixes is not None and len(prefixes) != len(prompts):
        raise ValueError(f"generate_ids_seq2seq: {len(prefixes)} prefixes for {len(prompts)} "
                         "prompts")
    pre = [list(map(int, p or [])) for p in prefixes] if prefixes is not None else \
        [[] for _ in prompts]
    t5 = _t5_parts(model)
    device = t5.lm_head.weight.device
    graphs = device.type == "cuda" if cuda_graphs is None else bool(cuda_graphs)
    if graphs and device.type != "cuda":
        raise ValueError("generate_ids_seq2seq: cuda_graphs=True needs the model on CUDA")
    eos = _eos_list(model, eos_token_id)
    run = _Run(
        k=num_samples if do_sample else 1,
        n_steps=max(map(len, pre)) + max_new_tokens,
        min_new=min_new_tokens, max_new=max_new_tokens, pad=int(pad_token_id),
        start=_start_id(model, pad_token_id), eos=eos, graphs=graphs, seed=seed,
        sync_every=sync_every, stop_fn=stop_fn,
    )
    dec = _Decode(
        temperature=float(temperature) if do_sample else 0.0,
        top_p=float(top_p), top_k=int(top_k),
        eos=torch.tensor(eos or [-1], dtype=torch.long, device=device),
        pad=int(pad_token_id), ban_eos=bool(eos) and min_new_tokens > 0,
    )
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    per_batch = max(1, batch_size // run.k)
    batches = [order[i : i + per_batch] for i in range(0, len(order), per_batch)]
    was_training = model.training
    model.eval()
    # sampling seeds the global generators per batch: fork them so the caller's stay as they were
    rng = (torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
           if do_sample else contextlib.nullcontext())
    try:
        with rng:
            rows = _decode_batches(model, t5, run, dec, prompts, pre, batches, progress)
    finally:
        model.train(was_training)
    return [[list(o) for _ in range(num_samples // run.k) for o in outs] for outs in rows]


@dataclass
class _Run:
    """Host-side settings of one generate_ids_seq2seq call."""

    k: int  # rows per prompt
    n_steps: int  # longest prefix + max_new_tokens
    min_new: int
    max_new: int
    pad: int
    start: int
    eos: list[int]
    graphs: bool
    seed: int
    sync_every: int
    stop_fn: Callable[[list[int]], bool] | None


def _decode_batches(model, t5: _T5, run: _Run, dec: _Decode, prompts, pre, batches,
                    progress: bool) -> list[list[list[int]]]:
    device = t5.lm_head.weight.device
    dtype = t5.embed.weight.dtype
    chunk = KV_CHUNK if run.graphs else EAGER_KV_CHUNK
    n_pos = _round_up(run.n_steps, chunk)
    bias = _bias_table(t5, n_pos, dtype, device)
    pool = torch.cuda.graph_pool_handle() if run.graphs else None
    check_every = run.sync_every if run.graphs else 1
    results: list[list[list[int]]] = [[] for _ in prompts]
    st: _State | None = None
    steps: dict[int, GraphStep] = {}
    bar = tqdm(total=len(prompts), desc="generate", unit="prompt", disable=not progress)
    for b, idx in enumerate(batches):
        enc_len = _round_up(max(len(prompts[i]) for i in idx), ENC_PAD)
        if st is None or (st.P, st.S) != (len(idx), enc_len):
            st, steps = None, {}  # free the previous shape's buffers and graphs first
            st = _State(t5, len(idx), run.k, enc_len, n_pos, dtype, device)
        st.out.zero_()
        enc = _encode(model, t5, st, [prompts[i] for i in idx], run.pad, run.start,
                      [pre[i] for i in idx], run.min_new, run.max_new)
        if b == 0:
            _check_hf(model, t5, st, bias, dec, enc, len(prompts[idx[0]]))
        del enc
        if dec.temperature > 0:
            torch.manual_seed(run.seed + b)  # reproducible per batch (CPU and CUDA generators)
        stopped: dict[int, int] = {}  # row -> length when stop_fn ended it
        for t in range(run.n_steps):
            kv_len = min(n_pos, _round_up(t + 1, chunk))
            if kv_len not in steps:
                steps[kv_len] = GraphStep(
                    lambda s=st, kv=kv_len: _step(t5, s, bias, dec, kv),
                    enabled=run.graphs, pool=pool,
                )
            steps[kv_len]()
            if run.stop_fn is not None and (t + 1) % run.sync_every == 0:
                _apply_stop(st, run.stop_fn, t + 1, stopped)
            if (t + 1) % check_every == 0 and bool(st.done.all()):
                break
        rows = st.out.tolist()
        ends = [min(h, stopped.get(r, h)) for r, h in enumerate(st.hi.tolist())]
        plens = st.plen.tolist()
        eos_set = set(run.eos)
        for j, i in enumerate(idx):
            results[i] = [_cut(rows[r][: ends[r]], plens[r], eos_set)
                          for r in range(j * run.k, (j + 1) * run.k)]
        bar.update(len(idx))
    bar.close()
    return results


def _apply_stop(st: _State, stop_fn, n: int, stopped: dict[int, int]) -> None:
    """Mark live rows whose first `n` tokens satisfy stop_fn as done (host side)."""
    done = st.done.tolist()
    live = [r for r in range(st.R) if not done[r]]
    if not live:
        return
    idx = torch.tensor(live, dtype=torch.long, device=st.out.device)
    outs = st.out.index_select(0, idx)[:, :n].tolist()
    hit = [r for r, ids in zip(live, outs, strict=True) if stop_fn(ids)]
    if hit:
        st.done.index_fill_(0, torch.tensor(hit, dtype=torch.long, device=st.done.device), True)
        stopped.update(dict.fromkeys(hit, n))
