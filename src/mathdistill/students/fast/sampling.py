"""Token sampling that can run inside a CUDA graph (no host sync, no torch.multinomial).

    from mathdistill.students.fast.sampling import eos_ids, sample
    ids = sample(logits, temperature=0.0)                          # greedy: argmax
    ids = sample(logits, temperature=0.7, top_p=0.95, top_k=20, generator=gen)
    eos_ids(2) == [2]; eos_ids([2, 7]) == [2, 7]; eos_ids(None) == []   # stop tokens as a list

`logits` is [B, V]; the result is [B] long. Filtering follows HF generate's warper order
(temperature, then top-k, then top-p with at least one token kept); the draw is the
exponential race argmax(p / E), E ~ Exp(1), which picks token i with probability p_i
(the Gumbel-max trick in probability space). temperature/top_p/top_k are Python numbers, so
the captured graph has no data-dependent control flow.
"""

from __future__ import annotations

import torch


def filter_logits(logits: torch.Tensor, top_p: float = 1.0, top_k: int = 0) -> torch.Tensor:
    """Set logits outside the top-k / top-p (nucleus) set to -inf (HF's TopK/TopP warpers)."""
    vocab = logits.shape[-1]
    if top_k and 0 < top_k < vocab:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, dim=-1, descending=False)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cum <= (1.0 - top_p)
        remove[..., -1:] = False  # keep at least the most likely token
        remove = remove.scatter(-1, sorted_idx, remove)
        logits = logits.masked_fill(remove, float("-inf"))
    return logits


def sample(logits: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0,
           top_k: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Next token per row: argmax if temperature <= 0, else a draw from the filtered softmax."""
    if temperature is None or temperature <= 0:
        return logits.argmax(dim=-1)
    x = filter_logits(logits.float() / temperature, top_p=top_p, top_k=top_k)
    probs = x.softmax(dim=-1)
    race = torch.empty_like(probs).exponential_(generator=generator)
    return (probs / race.clamp_min(torch.finfo(probs.dtype).tiny)).argmax(dim=-1)


def eos_ids(eos_token_id: int | list[int] | None) -> list[int]:
    """An EOS id, a list of them, or None (no EOS) as a list of ints."""
    if eos_token_id is None:
        return []
    return [int(eos_token_id)] if isinstance(eos_token_id, int) else [int(e) for e in eos_token_id]
