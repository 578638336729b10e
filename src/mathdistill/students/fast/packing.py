"""Pack causal-LM examples into fixed-size rows (first-fit-decreasing), with no cross-sample leakage.

    from mathdistill.students.fast.packing import pack
    batches = pack([(ids, labels), ...], tokens_per_batch=16384)   # labels: -100 = no loss
    b = batches[0].to("cuda")
    b.input_ids, b.labels, b.position_ids        # [1, T] each, T == tokens_per_batch always
    b.cu_seqlens, b.max_seqlen                   # int32 [n+1] sample boundaries, fixed int
    model(**b.model_kwargs())                    # with attn_implementation "md_varlen" (attention.py)

Every row has exactly `tokens_per_batch` tokens (the tail is a no-loss filler: pad id, labels -100,
its own segment(s)), so a compiled step never sees a new shape. position_ids restart at 0 per
sample. The first label of every sample is set to -100: with the usual shift (position t predicts
labels[t + 1]) the last token of a sample would otherwise predict the next sample's first token;
unpacked, that first label is never a target either, so packed and unpacked losses are equal.
`max_seqlen` is one value for all rows of a pack() call (the longest sample rounded up to 128,
or what the caller fixes), so it never changes between steps either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

IGNORE = -100


@dataclass
class PackedBatch:
    """One packed row. Tensors are [1, T] except cu_seqlens ([n_segments + 1], int32)."""

    input_ids: torch.Tensor
    labels: torch.Tensor
    position_ids: torch.Tensor
    cu_seqlens: torch.Tensor
    max_seqlen: int
    n_tokens: int  # real (non-filler) tokens
    n_loss_tokens: int  # labels != -100
    n_samples: int  # real samples (the filler segments are not counted)
    attn_sq_tokens: int = 0  # sum of len(sample)**2 (attention FLOPs, see flops.py)

    def to(self, device, non_blocking: bool = True) -> PackedBatch:
        moved = {
            f.name: (v.to(device, non_blocking=non_blocking) if isinstance(v, torch.Tensor) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return PackedBatch(**moved)

    def varlen_kwargs(self) -> dict:
        """The packing kwargs HF passes down to the attention function (same names as
        transformers' DataCollatorWithFlattening)."""
        return {
            "cu_seq_lens_q": self.cu_seqlens,
            "cu_seq_lens_k": self.cu_seqlens,
            "max_length_q": self.max_seqlen,
            "max_length_k": self.max_seqlen,
        }

    def model_kwargs(self, with_labels: bool = True) -> dict:
        """Keyword arguments for a plain HF causal-LM forward with attn_implementation md_varlen."""
        kw = {"input_ids": self.input_ids, "position_ids": self.position_ids, "use_cache": False}
        if with_labels:
            kw["labels"] = self.labels
        return {**kw, **self.varlen_kwargs()}


def first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Bins of example indices (each bin's total length <= capacity), first-fit-decreasing."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties keep input order
    bins: list[list[int]] = []
    free: list[int] = []
    open_bins: list[int] = []  # bins that may still take the (ever shorter) remaining items
    smallest = min(lengths) if lengths else 0
    for i in order:
        n = lengths[i]
        for j in open_bins:
            if free[j] >= n:
                bins[j].append(i)
                free[j] -= n
                break
        else:
            bins.append([i])
            free.append(capacity - n)
            open_bins.append(len(bins) - 1)
        if len(open_bins) > 64:  # drop bins nothing left can fit into
            open_bins = [j for j in open_bins if free[j] >= smallest]
    return bins


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def pack(
    examples: Sequence[tuple[Sequence[int], Sequence[int]]],
    tokens_per_batch: int,
    *,
    pad_id: int = 0,
    max_seqlen: int | None = None,
) -> list[PackedBatch]:
    """Pack (input_ids, labels) examples into rows of exactly `tokens_per_batch` tokens.

    max_seqlen: the value attention kernels get (>= the longest sample and filler segment);
    None = the longest sample rounded up to 128 (capped at tokens_per_batch).
    """
    if tokens_per_batch < 1:
        raise ValueError(f"tokens_per_batch must be >= 1, got {tokens_per_batch}")
    lengths = []
    for k, (ids, labels) in enumerate(examples):
        if len(ids) != len(labels):
            raise ValueError(f"example {k}: {len(ids)} input_ids but {len(labels)} labels")
        if not 0 < len(ids) <= tokens_per_batch:
            raise ValueError(
                f"example {k}: length {len(ids)} not in 1..tokens_per_batch={tokens_per_batch}"
            )
        lengths.append(len(ids))
    if not lengths:
        return []
    longest = max(lengths)
    if max_seqlen is None:
        max_seqlen = min(_round_up(longest, 128), tokens_per_batch)
    if max_seqlen < longest:
        raise ValueError(f"max_seqlen={max_seqlen} < longest example ({longest})")
    out = []
    for members in first_fit_decreasing(lengths, tokens_per_batch):
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        cu = [0]
        n_loss = sq = 0
        for i in members:
            x, y = examples[i]
            y = [IGNORE, *list(y)[1:]]
            ids += list(x)
            labels += y
            pos += range(len(x))
            cu.append(cu[-1] + len(x))
            n_loss += sum(1 for t in y if t != IGNORE)
            sq += len(x) ** 2
        n_real = cu[-1]
        rest = tokens_per_batch - n_real
        while rest > 0:  # filler segments no longer than max_seqlen (kernels index by it)
            seg = min(rest, max_seqlen)
            ids += [pad_id] * seg
            labels += [IGNORE] * seg
            pos += range(seg)
            cu.append(cu[-1] + seg)
            rest -= seg
        out.append(
            PackedBatch(
                input_ids=torch.tensor([ids], dtype=torch.long),
                labels=torch.tensor([labels], dtype=torch.long),
                position_ids=torch.tensor([pos], dtype=torch.long),
                cu_seqlens=torch.tensor(cu, dtype=torch.int32),
                max_seqlen=int(max_seqlen),
                n_tokens=n_real,
                n_loss_tokens=n_loss,
                n_samples=len(members),
                attn_sq_tokens=sq,
            )
        )
    return out
