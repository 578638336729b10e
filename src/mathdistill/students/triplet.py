"""Tailored Learning's self-reflection loss: a triplet loss on rationale representations.

    import torch
    from mathdistill.students.triplet import last_token_state, triplet_loss, total_loss
    a = last_token_state(anchor_hidden, anchor_mask)      # (B, H) from (B, L, H), (B, L)
    p = last_token_state(pos_hidden, pos_mask)
    n = last_token_state(neg_hidden, neg_mask)
    sr = triplet_loss(a, p, n, mask=has_triplet, margin=1.0)   # scalar
    loss = total_loss(lm_loss, sr, lam=0.5)                    # L = L_LM + lambda * L_SR

What it computes (authors' code, github.com/Raibows/Learn-to-Reason, trainer.py [C]):
- representation: the last-layer hidden state at the last non-pad token of each
  continuation (`last_token_state`; works for left and right padding);
- distance d(u, v) = -cos(u, v) (`CosineSimilarityDistance`, eps 1e-8);
- per sample max(0, d(a, p) - d(a, n) + margin), through torch's
  `triplet_margin_with_distance_loss` (reduction "none"), NaN -> 0;
- samples whose question has no second positive or no negative are masked out, and the
  loss is the mean over the unmasked ones: sum(loss * mask) / max(sum(mask), 1e-6)
  (0 when every sample is masked; the graph is kept so backward() still works).
Defaults (`DEFAULTS`, from the authors' code): margin `cl_p` = 1.0, lambda `cl_ratio` = 0.5,
continuations cut at 192 tokens. Pure torch: no model, no I/O; the trainer that runs the
three forward passes lives with the students' training code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["DEFAULTS", "cosine_distance", "last_token_state", "total_loss", "triplet_loss"]

DEFAULTS = {"margin": 1.0, "lambda": 0.5, "max_len": 192}
_EPS = 1e-8


def cosine_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d(x, y) = -cos(x, y) along the last dim (range [-1, 1]; -1 = same direction)."""
    return -F.cosine_similarity(x, y, dim=-1, eps=_EPS)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 mask: torch.Tensor | None = None, margin: float = 1.0) -> torch.Tensor:
    """Masked mean of max(0, d(a, p) - d(a, n) + margin) with d = -cos; inputs (B, H).

    `mask` (B,) of 0/1 (or bools): 1 = the sample has a real positive and negative.
    """
    if not (anchor.shape == positive.shape == negative.shape) or anchor.dim() != 2:
        raise ValueError(f"triplet_loss: anchor/positive/negative must be (B, H) of one shape, "
                         f"got {tuple(anchor.shape)}, {tuple(positive.shape)}, "
                         f"{tuple(negative.shape)}")
    losses = F.triplet_margin_with_distance_loss(
        anchor, positive, negative, distance_function=cosine_distance, margin=margin,
        reduction="none")
    losses = torch.nan_to_num(losses)
    if mask is None:
        mask = torch.ones_like(losses)
    mask = mask.to(device=losses.device, dtype=losses.dtype).reshape(losses.shape)
    denom = torch.clamp(mask.sum(), min=1e-6)
    return (losses * mask).sum() / denom


def last_token_state(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, L, H) hidden states -> (B, H) at each row's last position whose mask is 1.

    Works with right or left padding. A row with no real token gives position 0 (such
    rows should be masked out of the loss).
    """
    if hidden.dim() != 3 or attention_mask.shape != hidden.shape[:2]:
        raise ValueError(f"last_token_state: hidden (B, L, H) and mask (B, L) expected, got "
                         f"{tuple(hidden.shape)} and {tuple(attention_mask.shape)}")
    positions = torch.arange(hidden.shape[1], device=hidden.device).expand_as(attention_mask)
    last = torch.where(attention_mask.bool(), positions, torch.full_like(positions, -1))
    idx = last.max(dim=1).values.clamp(min=0)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), idx]


def total_loss(lm_loss: torch.Tensor, sr_loss: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """L = L_LM + lambda * L_SR (one backward pass, as `merge_losses=yes` upstream)."""
    return lm_loss + lam * sr_loss
