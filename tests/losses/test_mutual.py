import math

import pytest
import torch
import torch.nn.functional as F

from srdistill.losses import adversarial_loss, discriminator_loss, mutual_loss
from tests.conftest import f32_tolerance


def kl_terms(q: float, p: float) -> list[float]:
    """The four float64 terms of the Bernoulli KL(q || p); their sum is the KL."""
    return [
        q * math.log(q),
        -q * math.log(p),
        (1 - q) * math.log(1 - q),
        -(1 - q) * math.log(1 - p),
    ]


def kl_by_hand(q: float, p: float) -> float:
    return sum(kl_terms(q, p))


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_zero_for_identical_peers_positive_otherwise():
    z = torch.randn(6)
    assert mutual_loss(z, z, [z.clone()], [z.clone()]).item() == pytest.approx(0, abs=1e-7)
    assert mutual_loss(z, z, [z + 0.5], [z]).item() > 0


def test_matches_bernoulli_kl_formula():
    p_real, p_fake, q_real, q_fake = 0.8, 0.3, 0.6, 0.1
    loss = mutual_loss(
        torch.tensor([logit(p_real)]),
        torch.tensor([logit(p_fake)]),
        [torch.tensor([logit(q_real)])],
        [torch.tensor([logit(q_fake)])],
    )
    expected = kl_by_hand(q_fake, p_fake) + kl_by_hand(q_real, p_real)
    # mutual_loss works in float32: bound by float32 rounding of the KL's terms.
    terms = kl_terms(q_fake, p_fake) + kl_terms(q_real, p_real)
    assert loss.item() == pytest.approx(expected, abs=f32_tolerance(*terms))


def test_peers_are_averaged_in_probability():
    q1, q2, p = 0.2, 0.6, 0.5
    loss = mutual_loss(
        torch.tensor([0.0]),
        torch.tensor([logit(p)]),
        [torch.tensor([0.0]), torch.tensor([0.0])],
        [torch.tensor([logit(q1)]), torch.tensor([logit(q2)])],
    )
    q = (q1 + q2) / 2
    assert loss.item() == pytest.approx(kl_by_hand(q, p), abs=f32_tolerance(*kl_terms(q, p)))


def test_temperature_softens_and_scales_by_t_squared():
    zr, zf, pr, pf = (torch.tensor([v]) for v in (2.0, -1.0, 0.5, 1.0))
    t = 2.0
    soft = mutual_loss(zr, zf, [pr], [pf], temperature=t)
    manual = mutual_loss(zr / t, zf / t, [pr / t], [pf / t], temperature=1.0) * t * t
    # Two float32 paths to one value: each within float32 rounding of the terms (x T^2).
    pairs = [(sigmoid(pf.item() / t), sigmoid(zf.item() / t))]
    pairs += [(sigmoid(pr.item() / t), sigmoid(zr.item() / t))]
    terms = [t * t * v for q, p in pairs for v in kl_terms(q, p)]
    assert soft.item() == pytest.approx(manual.item(), abs=2 * f32_tolerance(*terms))
    # Softened probabilities are closer, so the un-scaled KL shrinks.
    assert (soft / t**2).item() < mutual_loss(zr, zf, [pr], [pf]).item()


def test_gradients_do_not_reach_peers():
    own_r, own_f = torch.randn(4, requires_grad=True), torch.randn(4, requires_grad=True)
    peer_r, peer_f = torch.randn(4, requires_grad=True), torch.randn(4, requires_grad=True)
    mutual_loss(own_r, own_f, [peer_r], [peer_f], temperature=2.0).backward()
    assert own_r.grad.abs().sum() > 0 and own_f.grad.abs().sum() > 0
    assert peer_r.grad is None and peer_f.grad is None


def test_gan_losses_by_hand():
    real, fake = torch.tensor([logit(0.9)]), torch.tensor([logit(0.2)])
    assert discriminator_loss(real, fake).item() == pytest.approx(-math.log(0.9) - math.log(0.8))
    assert adversarial_loss(fake).item() == pytest.approx(-math.log(0.2))
    assert F.softplus(-fake).item() == pytest.approx(adversarial_loss(fake).item())
