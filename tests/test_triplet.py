"""Self-reflection triplet loss (Tailored Learning): values by hand, masking, last token."""

import math

import pytest
import torch

from mathdistill.students.triplet import (
    DEFAULTS,
    cosine_distance,
    last_token_state,
    total_loss,
    triplet_loss,
)


def _tiny():
    # sample 0: cos(a,p) = 1/sqrt(2), cos(a,n) = 0 -> max(0, -0.7071 - 0 + m)
    # sample 1: cos(a,p) = 0, cos(a,n) = 1        -> max(0, 0 - (-1) + m)
    # sample 2: masked out (its values must not count)
    a = torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    p = torch.tensor([[1.0, 1.0], [0.0, 3.0], [-1.0, 0.0]])
    n = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    return a, p, n, torch.tensor([1.0, 1.0, 0.0])


def test_value_matches_hand_computation():
    a, p, n, mask = _tiny()
    s = 1 / math.sqrt(2)
    want = ((1.0 - s) + 2.0) / 2  # margin 1: 0.29289 and 2.0, mean over the 2 unmasked
    assert triplet_loss(a, p, n, mask, margin=1.0).item() == pytest.approx(want, abs=1e-6)
    # margin 0.5: sample 0 is already satisfied (0.5 - 0.7071 < 0), sample 1 gives 1.5
    assert triplet_loss(a, p, n, mask, margin=0.5).item() == pytest.approx(1.5 / 2, abs=1e-6)
    # no mask: the third sample counts too: d(a,p) = 1, d(a,n) = -1 -> 1 + 1 + 1 = 3
    assert triplet_loss(a, p, n, margin=1.0).item() == pytest.approx((1 - s + 2 + 3) / 3, abs=1e-6)


def test_distance_is_negative_cosine():
    x = torch.tensor([[3.0, 4.0]])
    assert cosine_distance(x, x).item() == pytest.approx(-1.0)
    assert cosine_distance(x, -x).item() == pytest.approx(1.0)
    assert cosine_distance(x, torch.tensor([[-4.0, 3.0]])).item() == pytest.approx(0.0, abs=1e-7)


def test_all_masked_is_zero_and_backward_works():
    a, p, n, _ = _tiny()
    a.requires_grad_(True)
    loss = triplet_loss(a, p, n, torch.zeros(3))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.all(a.grad == 0)


def test_gradient_only_from_unmasked_samples():
    a, p, n, mask = _tiny()
    a.requires_grad_(True)
    triplet_loss(a, p, n, mask).backward()
    assert a.grad[0].abs().sum() > 0 and a.grad[1].abs().sum() > 0
    assert torch.all(a.grad[2] == 0)


def test_bool_mask_and_bad_shapes():
    a, p, n, mask = _tiny()
    assert triplet_loss(a, p, n, mask.bool()).item() == pytest.approx(
        triplet_loss(a, p, n, mask).item())
    with pytest.raises(ValueError, match="one shape"):
        triplet_loss(a, p[:2], n)


def test_last_token_state_right_and_left_padding():
    hidden = torch.arange(2 * 4 * 3, dtype=torch.float).reshape(2, 4, 3)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1]])
    got = last_token_state(hidden, right)
    assert torch.equal(got[0], hidden[0, 1]) and torch.equal(got[1], hidden[1, 3])
    got = last_token_state(hidden, left)
    assert torch.equal(got[0], hidden[0, 3]) and torch.equal(got[1], hidden[1, 3])
    with pytest.raises(ValueError):
        last_token_state(hidden, right[:, :3])


def test_total_loss_and_defaults():
    assert DEFAULTS["margin"] == 1.0 and DEFAULTS["lambda"] == 0.5 and DEFAULTS["max_len"] == 192
    assert total_loss(torch.tensor(2.0), torch.tensor(1.0), lam=0.5).item() == 2.5
