"""Fast batched generation for causal LMs: slot KV cache, CUDA-graph decode, continuous refill.

    from mathdistill.students.fast.causal import generate_ids
    out = generate_ids(model, [[5, 17, 9], [5, 3]], max_new_tokens=256, eos_token_id=2,
                       pad_token_id=0, batch_size=256)             # greedy
    out[i][k]   # new token ids of sample k of prompt i (prefix included, cut before EOS)

Encoder-decoder models go to fast/seq2seq.py (`generate_ids_seq2seq`, same signature).

How it works. `batch_size` slots share one static KV cache (cache.SlotCache). Prompts wait in
a queue sorted by length (longest first: each prefill group has little padding); whenever
slots are free, the next prompts are prefilled in one eager forward (left-padded, 4D
causal+padding mask, K/V written into their slots) and sample their first token; with
do_sample and num_samples=K a prompt is prefilled once and its K/V copied into K slots.
The decode step (one token for every slot, HF model forward with explicit per-row
position_ids and a [B, 1, 1, L] bool mask built from the per-row columns, in-graph
sampling, EOS / min_new_tokens / max_new_tokens bookkeeping) only touches static buffers,
so on CUDA it is captured once as a CUDA graph (graphs.GraphStep) and replayed. The host
syncs every `sync_every` steps: it collects finished rows and refills their slots.
Greedy outputs equal HF generate's greedy outputs (tests/test_fast_generation.py, fp32 CPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from .cache import SlotCache, fast_attention
from .graphs import GraphStep
from .sampling import eos_ids, sample

PREFILL_TOKENS = 1 << 15  # padded prompt tokens per prefill forward


class _Engine:
    """State of one generate_ids call (buffers sized batch x capacity)."""

    def __init__(self, model, *, batch: int, length: int, max_new: int, min_new: int,
                 temperature: float, top_p: float, top_k: int, eos: list[int], pad: int,
                 generator: torch.Generator | None, cuda_graphs: bool):
        dev = model.device
        self.model, self.batch, self.length, self.max_new, self.min_new = (
            model, batch, length, max_new, min_new)
        self.sampling = {"temperature": temperature, "top_p": top_p, "top_k": top_k,
                         "generator": generator}
        self.pad = pad
        self.eos = torch.tensor(eos, dtype=torch.long, device=dev) if eos else None
        self.cache = SlotCache(batch, length, dev)
        self.cache_kw = SlotCache.kwarg_name(model)
        long = {"dtype": torch.long, "device": dev}
        self.tok = torch.full((batch,), pad, **long)  # last token of each row (decode input)
        self.pos = torch.zeros(batch, **long)  # its position id
        self.start = torch.zeros(batch, **long)  # first cache column the row attends to
        self.step = torch.zeros(batch, **long)  # tokens generated so far
        self.done = torch.ones(batch, dtype=torch.bool, device=dev)  # free slots count as done
        self.out = torch.full((batch, max_new), pad, **long)
        self.keys = torch.arange(length, **long)
        self.rows = torch.arange(batch, **long)
        self.graph = GraphStep(self._decode, enabled=cuda_graphs)

    def _logits(self, **inputs) -> torch.Tensor:
        inputs[self.cache_kw] = self.cache
        out = self.model(**inputs, use_cache=True, logits_to_keep=1)
        return out.logits[:, -1].float()

    def _next(self, logits: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Sample with EOS forbidden while step < min_new_tokens (HF's MinNewTokens processor)."""
        if self.eos is not None and self.min_new > 0:
            block = (step < self.min_new).unsqueeze(1)
            eos_logits = logits[:, self.eos]
            logits = logits.index_copy(1, self.eos, eos_logits.masked_fill(block, -math.inf))
        return sample(logits, **self.sampling)

    def _finished(self, nxt: torch.Tensor, step_after: torch.Tensor) -> torch.Tensor:
        fin = step_after >= self.max_new
        if self.eos is not None:
            fin = fin | (nxt.unsqueeze(1) == self.eos.unsqueeze(0)).any(dim=1)
        return fin

    def _decode(self) -> None:
        """One token for every slot; static shapes, no host sync (captured as a CUDA graph)."""
        mask = (self.keys.unsqueeze(0) >= self.start.unsqueeze(1)) & (
            self.keys.unsqueeze(0) <= self.cache.col.unsqueeze(1))
        logits = self._logits(input_ids=self.tok.unsqueeze(1),
                              position_ids=self.pos.unsqueeze(1),
                              attention_mask=mask[:, None, None, :])
        live = ~self.done
        nxt = torch.where(live, self._next(logits, self.step), self.pad)
        at = self.step.clamp(max=self.max_new - 1).unsqueeze(1)
        self.out.scatter_(1, at, torch.where(live.unsqueeze(1), nxt.unsqueeze(1),
                                             self.out.gather(1, at)))
        inc = live.long()
        step_after = self.step + inc
        self.done.copy_(self.done | self._finished(nxt, step_after))
        self.step.copy_(step_after)
        self.tok.copy_(torch.where(live, nxt, self.tok))
        self.pos.add_(inc)
        self.cache.col.copy_((self.cache.col + inc).clamp(max=self.length - 1))

    def prefill(self, prompts: list[list[int]], slots: list[int], repeat: int) -> None:
        """Prompts into slots (each into `repeat` consecutive slots) and their first tokens."""
        dev = self.tok.device
        n, p = len(prompts), max(len(x) for x in prompts)
        lens = torch.tensor([len(x) for x in prompts], dtype=torch.long, device=dev)
        ids = torch.tensor([[self.pad] * (p - len(x)) + list(x) for x in prompts],
                           dtype=torch.long, device=dev)
        first = (p - lens).unsqueeze(1)  # first real column per prompt (left padding)
        cols = torch.arange(p, dtype=torch.long, device=dev)
        pos = (cols.unsqueeze(0) - first).clamp(min=0)
        q, k = cols.view(1, p, 1), cols.view(1, 1, p)
        # causal + padding; a pad query sees itself, so no softmax row is empty (no NaN)
        mask = (k <= q) & ((k >= first.view(n, 1, 1)) | (k == q))
        slot_t = torch.tensor(slots, dtype=torch.long, device=dev)
        self.cache.prefill(slot_t, repeat)
        try:
            logits = self._logits(input_ids=ids, position_ids=pos,
                                  attention_mask=mask.unsqueeze(1))
        finally:
            self.cache.decode()
        if repeat > 1:
            logits = logits.repeat_interleave(repeat, dim=0)
            lens, first = lens.repeat_interleave(repeat), first.squeeze(1).repeat_interleave(repeat)
        else:
            first = first.squeeze(1)
        zero = torch.zeros(len(slots), dtype=torch.long, device=dev)
        nxt = self._next(logits, zero)
        self.tok.index_copy_(0, slot_t, nxt)
        self.pos.index_copy_(0, slot_t, lens)
        self.start.index_copy_(0, slot_t, first)
        self.cache.col.index_copy_(0, slot_t, torch.full_like(zero, p))
        self.step.index_copy_(0, slot_t, zero + 1)
        self.done.index_copy_(0, slot_t, self._finished(nxt, zero + 1))
        row = torch.full((len(slots), self.max_new), self.pad, dtype=torch.long, device=dev)
        row[:, 0] = nxt
        self.out.index_copy_(0, slot_t, row)


def generate_ids(model, prompts: list[list[int]], *, max_new_tokens: int,
                 min_new_tokens: int = 0, do_sample: bool = False, temperature: float = 1.0,
                 top_p: float = 1.0, top_k: int = 0, num_samples: int = 1,
                 eos_token_id: int | list[int] | None = None, pad_token_id: int = 0,
                 batch_size: int = 256, seed: int = 0,
                 prefixes: list[list[int]] | None = None, cuda_graphs: bool | None = None,
                 progress: bool = False, sync_every: int = 16,
                 stop_fn: Callable[[list[int]], bool] | None = None) -> list[list[list[int]]]:
    """out[i][k] = new token ids of sample k of prompts[i] (prefix included, cut before EOS).

    Greedy (do_sample False) decodes each prompt once and returns num_samples copies.
    `prefixes[i]` is appended to prompt i and starts each of its outputs. `stop_fn(ids)`
    (optional, checked on the host every `sync_every` steps) ends a row early once it is
    true for the row's ids so far (e.g. a stop string appeared; the caller cuts the text).
    """
    if getattr(model.config, "is_encoder_decoder", False):
        from .seq2seq import generate_ids_seq2seq

        return generate_ids_seq2seq(
            model, prompts, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens,
            do_sample=do_sample, temperature=temperature, top_p=top_p, top_k=top_k,
            num_samples=num_samples, eos_token_id=eos_token_id, pad_token_id=pad_token_id,
            batch_size=batch_size, seed=seed, prefixes=prefixes, cuda_graphs=cuda_graphs,
            progress=progress, sync_every=sync_every, stop_fn=stop_fn)
    if max_new_tokens < 1 or num_samples < 1 or batch_size < 1:
        raise ValueError("generate_ids: max_new_tokens, num_samples, batch_size must be >= 1")
    if min_new_tokens > max_new_tokens:
        raise ValueError("generate_ids: min_new_tokens > max_new_tokens")
    if prefixes is not None and len(prefixes) != len(prompts):
        raise ValueError(f"generate_ids: {len(prefixes)} prefixes for {len(prompts)} prompts")
    if not prompts:
        return []
    if any(len(p) == 0 for p in prompts):
        raise ValueError("generate_ids: empty prompt")
    pre = [list(x) for x in prefixes] if prefixes is not None else [[] for _ in prompts]
    full = [list(p) + f for p, f in zip(prompts, pre, strict=True)]
    greedy = not do_sample or temperature <= 0
    reps = 1 if greedy else num_samples  # rows (slots) per prompt
    batch = max(reps, min(batch_size, reps * len(full)))
    longest = max(len(x) for x in full)
    length = -(-(longest + max_new_tokens) // 64) * 64  # round up: aligned SDPA masks
    dev = model.device
    cuda_graphs = dev.type == "cuda" and (cuda_graphs is None or bool(cuda_graphs))
    generator = None
    if not greedy and dev.type != "cuda":
        generator = torch.Generator(device=dev).manual_seed(seed)
    was_training = model.training
    model.eval()
    # CUDA: the default generator advances inside CUDA graphs; fork_rng leaves the caller's
    # RNG state as it was. Samples depend on (seed, prompts, batch_size, sync_every).
    forked = torch.random.fork_rng(devices=[dev] if dev.type == "cuda" and not greedy else [])
    try:
        with forked, torch.inference_mode(), fast_attention(model):
            if not greedy and dev.type == "cuda":
                torch.cuda.manual_seed(seed)
            eng = _Engine(model, batch=batch, length=length, max_new=max_new_tokens,
                          min_new=min_new_tokens, temperature=0.0 if greedy else temperature,
                          top_p=top_p, top_k=top_k, eos=eos_ids(eos_token_id),
                          pad=pad_token_id, generator=generator, cuda_graphs=bool(cuda_graphs))
            rows = _run(eng, full, reps, sync_every, stop_fn, progress)
    finally:
        model.train(was_training)
    eos = set(eos_ids(eos_token_id))
    results = []
    for i in range(len(full)):
        outs = []
        for ids in rows[i]:
            cut = next((j for j, t in enumerate(ids) if t in eos), len(ids))
            outs.append(pre[i] + ids[:cut])  # the forced prefix starts each output
        results.append([list(outs[0]) for _ in range(num_samples)] if greedy else outs)
    return results


def _run(eng: _Engine, full: list[list[int]], reps: int, sync_every: int,
         stop_fn: Callable[[list[int]], bool] | None, progress: bool) -> list[list[list[int]]]:
    """The host loop: admit prompts into free slots, decode, collect finished rows."""
    pending = sorted(range(len(full)), key=lambda i: -len(full[i]))  # longest first
    owner: list[tuple[int, int] | None] = [None] * eng.batch  # slot -> (prompt, sample)
    rows: list[list[list[int]]] = [[[] for _ in range(reps)] for _ in full]
    left = [reps] * len(full)
    bar = tqdm(total=len(full), desc="generate", unit="prompt", disable=not progress)
    while True:
        free = [s for s in range(eng.batch) if owner[s] is None]
        n_admit = min(len(pending), len(free) // reps)
        while n_admit:
            group = [pending.pop(0)]  # prefill groups capped at PREFILL_TOKENS padded tokens
            while (len(group) < n_admit
                   and (len(group) + 1) * len(full[group[0]]) <= PREFILL_TOKENS):
                group.append(pending.pop(0))
            slots = free[: len(group) * reps]
            free = free[len(group) * reps:]
            for j, i in enumerate(group):
                for k in range(reps):
                    owner[slots[j * reps + k]] = (i, k)
            eng.prefill([full[i] for i in group], slots, reps)
            n_admit -= len(group)
        if all(o is None for o in owner):
            break
        done = eng.done.cpu().tolist()
        if not all(d or o is None for d, o in zip(done, owner, strict=True)):
            for _ in range(sync_every):
                eng.graph()
            done = eng.done.cpu().tolist()
            if stop_fn is not None:
                _apply_stop(eng, owner, done, stop_fn)
        finished = [s for s in range(eng.batch) if owner[s] is not None and done[s]]
        if finished:
            idx = torch.tensor(finished, dtype=torch.long, device=eng.out.device)
            outs = eng.out.index_select(0, idx).cpu().tolist()
            steps = eng.step.index_select(0, idx).cpu().tolist()
            for s, ids, n in zip(finished, outs, steps, strict=True):
                i, k = owner[s]
                rows[i][k] = ids[:n]
                owner[s] = None
                left[i] -= 1
                if left[i] == 0:
                    bar.update(1)
    bar.close()
    return rows


def _apply_stop(eng: _Engine, owner, done: list[bool], stop_fn) -> None:
    live = [s for s in range(eng.batch) if owner[s] is not None and not done[s]]
    if not live:
        return
    idx = torch.tensor(live, dtype=torch.long, device=eng.out.device)
    outs = eng.out.index_select(0, idx).cpu().tolist()
    steps = eng.step.index_select(0, idx).cpu().tolist()
    stopped = [s for s, ids, n in zip(live, outs, steps, strict=True) if stop_fn(ids[:n])]
    if stopped:
        eng.done.index_fill_(0, torch.tensor(stopped, dtype=torch.long, device=eng.done.device),
                             True)
        for s in stopped:
            done[s] = True
