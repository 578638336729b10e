"""Chunked (fused-linear) cross entropy: the [T, vocab] fp32 logits never exist in full.

    from mathdistill.students.fast.loss import chunked_cross_entropy
    loss = chunked_cross_entropy(hidden, lm_head.weight, targets, chunk=4096)  # mean over targets != -100
    loss.backward()                              # grads for hidden and the weight (tied or not)

hidden [N, d] (already shifted: row i predicts targets[i]), weight [V, d]. Liger-style: the
forward pass walks over chunks of `chunk` rows, computes the chunk's logits (in the inputs'
dtype, bf16 on GPU), its loss (fp32 log-sum-exp) and at once the gradients
d hidden = g @ W and d W += g^T @ h (g = softmax - onehot, scaled), then drops the logits.
Backward only multiplies the stored gradients by the incoming scalar gradient. No extra matmul
(no recomputation); peak extra memory is one chunk's logits plus dW (fp32, V x d).
`denom` fixes the divisor (e.g. the loss tokens of a whole gradient-accumulation group);
None = the number of targets != -100 here. compile=True runs the per-chunk softmax/gradient
math through torch.compile (fused into a couple of passes over the logits; CUDA only).
"""

from __future__ import annotations

import torch

IGNORE = -100


def _ce_chunk(logits: torch.Tensor, targets: torch.Tensor, inv_denom: torch.Tensor):
    """(sum of token losses in fp32, grad of (loss * inv_denom) w.r.t. logits, logits' dtype)."""
    x = logits.float()
    valid = targets != IGNORE
    safe = torch.where(valid, targets, 0)
    lse = torch.logsumexp(x, dim=-1)
    picked = x.gather(1, safe[:, None]).squeeze(1)
    loss_sum = torch.where(valid, lse - picked, 0.0).sum()
    iota = torch.arange(x.shape[1], device=x.device)
    p = torch.exp(x - lse[:, None]) - (iota[None, :] == safe[:, None]).to(x.dtype)
    g = torch.where(valid[:, None], p * inv_denom, 0.0)
    return loss_sum, g.to(logits.dtype)


_COMPILED = {}


def _chunk_fn(compile: bool):
    if not compile:
        return _ce_chunk
    if "fn" not in _COMPILED:
        _COMPILED["fn"] = torch.compile(_ce_chunk, dynamic=False)
    return _COMPILED["fn"]


class _ChunkedCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk, denom, compile):
        fn = _chunk_fn(compile)
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        n = hidden.shape[0]
        inv = torch.tensor(1.0 / max(float(denom), 1.0), device=hidden.device)
        loss = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_h = (
            torch.empty(hidden.shape, dtype=hidden.dtype, device=hidden.device) if need_h else None
        )
        grad_w = (
            torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        )
        wt = weight.t()
        for s in range(0, n, chunk):
            h = hidden[s : s + chunk]
            loss_c, g = fn(h @ wt, targets[s : s + chunk], inv)
            loss += loss_c
            if need_h:
                torch.mm(g, weight, out=grad_h[s : s + chunk])
            if need_w:
                grad_w += (g.t() @ h).float()
        ctx.save_for_backward(grad_h, grad_w)
        ctx.dtypes = (hidden.dtype, weight.dtype)
        return loss * inv

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w = ctx.saved_tensors
        if grad_h is not None:
            grad_h = grad_h * grad_out.to(grad_h.dtype)
        if grad_w is not None:
            grad_w = (grad_w * grad_out).to(ctx.dtypes[1])
        return grad_h, grad_w, None, None, None, None


def chunked_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    *,
    chunk: int = 4096,
    denom: float | None = None,
    compile: bool = False,
) -> torch.Tensor:
    """sum over targets != -100 of CE(hidden @ weight.T, target) / denom (default: their count).

    hidden and weight must share a dtype (cast the fp32 master weight to bf16 before calling;
    the cast's gradient flows back to it). Returns a 0-dim fp32 tensor.
    """
    if hidden.dim() != 2 or targets.shape != hidden.shape[:1]:
        raise ValueError(
            f"hidden [N, d] and targets [N] expected, got {hidden.shape} {targets.shape}"
        )
    if hidden.dtype != weight.dtype:
        raise ValueError(f"hidden {hidden.dtype} and weight {weight.dtype} differ; cast first")
    if denom is None:
        denom = int((targets != IGNORE).sum())
    return _ChunkedCE.apply(hidden, weight, targets, int(chunk), float(denom), bool(compile))
