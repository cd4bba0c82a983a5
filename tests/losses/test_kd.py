import pytest
import torch

from srdistill.losses.kd import fakd_loss, fitnets_loss, output_kd_loss, spatial_affinity


def test_spatial_affinity_equals_a_direct_loop_in_float64():
    f = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    got = spatial_affinity(f).double()
    for b in range(2):
        cols = f[b].reshape(5, -1)
        for i in range(12):
            for j in range(12):
                ci, cj = cols[:, i], cols[:, j]
                want = (ci @ cj) / (ci.norm() * cj.norm())
                # spatial_affinity works in float32: compare at float32 precision
                assert got[b, i, j].item() == pytest.approx(want.item(), abs=1e-6)


def test_fakd_is_zero_for_equal_features_and_ignores_width():
    f = torch.randn(1, 8, 4, 4)
    assert fakd_loss(f, f.clone()).item() == pytest.approx(0.0, abs=1e-6)
    wider = torch.cat([f, f], dim=1)  # same directions per position, twice the channels
    assert fakd_loss(f, wider).item() == pytest.approx(0.0, abs=1e-6)
    assert fakd_loss(f, torch.randn(1, 16, 4, 4)).item() > 0.01
    with pytest.raises(ValueError, match="same spatial size"):
        fakd_loss(f, torch.randn(1, 8, 2, 2))


def test_kd_terms_do_not_send_gradient_to_the_teacher():
    s = torch.randn(1, 3, 4, 4, requires_grad=True)
    t = torch.randn(1, 3, 4, 4, requires_grad=True)
    (output_kd_loss("l1", s, t) + fitnets_loss(s, t) + fakd_loss(s, t)).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None
