import pytest
import torch
import torch.nn.functional as F

from srdistill.losses import self_distillation_loss


def test_formula_by_hand():
    hr = torch.zeros(1, 1, 2, 2)
    center = torch.full((1, 1, 2, 2), 0.2)
    exit2 = torch.full((1, 1, 2, 2), 0.5)
    parts = self_distillation_loss({2: exit2, 8: center}, hr, 8, alpha=0.9)
    # center: |0.2| ; exit pixel: |0.5| ; exit distill: |0.5 - 0.2|
    assert parts["center"].item() == pytest.approx(0.2)
    assert parts["exit2_pixel"].item() == pytest.approx(0.5)
    assert parts["exit2_distill"].item() == pytest.approx(0.3)
    assert parts["loss"].item() == pytest.approx(0.2 + 0.9 * 0.5 + 0.1 * 0.3)


def test_mse_and_exit_weights():
    hr = torch.zeros(1, 1, 1, 1)
    outs = {
        1: torch.full((1, 1, 1, 1), 1.0),
        2: torch.full((1, 1, 1, 1), 2.0),
        4: torch.full((1, 1, 1, 1), 3.0),
    }
    weights = {1: 2.0, 2: 0.0}
    parts = self_distillation_loss(outs, hr, 4, alpha=0.5, kind="mse", exit_weights=weights)
    expected = 9.0 + 2.0 * (0.5 * 1.0 + 0.5 * 4.0)
    assert parts["loss"].item() == pytest.approx(expected)
    # Weights follow the exit they name, whatever the order they are written in.
    swapped = self_distillation_loss(
        outs, hr, 4, alpha=0.5, kind="mse", exit_weights={2: 0.0, 1: 2.0}
    )
    assert swapped["loss"].item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="not in"):
        self_distillation_loss(outs, hr, 4, exit_weights={3: 1.0})


def test_pixel_and_distillation_terms_choose_their_loss_separately():
    hr = torch.zeros(1, 1, 1, 1)
    outs = {1: torch.full((1, 1, 1, 1), 2.0), 4: torch.full((1, 1, 1, 1), 3.0)}
    parts = self_distillation_loss(outs, hr, 4, alpha=0.5, kind="l1", distill_kind="mse")
    assert parts["exit1_pixel"].item() == pytest.approx(2.0)  # |2 - 0|
    assert parts["exit1_distill"].item() == pytest.approx(1.0)  # (2 - 3)^2
    assert parts["center"].item() == pytest.approx(3.0)  # the center's term is the pixel kind


def test_distillation_gradient_reaches_center_unless_detached():
    hr = torch.zeros(1, 1, 2, 2)
    for detach, expect_grad in [(False, True), (True, False)]:
        center = torch.full((1, 1, 2, 2), 0.3, requires_grad=True)
        exit_out = torch.full((1, 1, 2, 2), 0.6, requires_grad=True)
        parts = self_distillation_loss({1: exit_out, 2: center}, hr, 2, detach_center=detach)
        # Only the distillation term links the exit to the center.
        parts["exit1_distill"].backward()
        assert (center.grad is not None and center.grad.abs().sum() > 0) == expect_grad
        assert exit_out.grad.abs().sum() > 0


def test_feature_term():
    hr = torch.zeros(1, 1, 2, 2)
    outs = {1: torch.zeros(1, 1, 2, 2), 2: torch.zeros(1, 1, 2, 2)}
    feats = {1: torch.ones(1, 4, 2, 2), 2: torch.zeros(1, 4, 2, 2)}
    parts = self_distillation_loss(outs, hr, 2, features=feats, feature_weight=0.5)
    assert parts["exit1_feature"].item() == pytest.approx(1.0)
    assert parts["loss"].item() == pytest.approx(0.5)
    plain = self_distillation_loss(outs, hr, 2)
    assert F.l1_loss(plain["loss"], torch.tensor(0.0)).item() == 0
