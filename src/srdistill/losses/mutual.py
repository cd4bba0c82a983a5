"""Paper B's mutual-distillation term between discriminators.

Each discriminator gives a Bernoulli probability that an image is real. Member i's
probability p is pulled toward its peers' q (the mean of their probabilities when there is
more than one peer; detached, as in Deep Mutual Learning):

    L_ML = KL(q_fake || p_fake) + KL(q_real || p_real)

ML*: probabilities are softened with a temperature, p = sigmoid(logit / T), and the KL is
multiplied by T^2 so its gradient scale does not shrink with T (as in Hinton et al.).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def bernoulli_kl(
    q_log: torch.Tensor, q_log1m: torch.Tensor, p_logits: torch.Tensor
) -> torch.Tensor:
    """Mean over the batch of KL(q || p) for Bernoulli distributions.

    q is given as log q and log(1 - q); p as logits (stable log-sigmoid inside).
    """
    p_log, p_log1m = F.logsigmoid(p_logits), F.logsigmoid(-p_logits)
    q, q1m = q_log.exp(), q_log1m.exp()
    return (q * (q_log - p_log) + q1m * (q_log1m - p_log1m)).mean()


def peer_log_probs(
    peer_logits: Sequence[torch.Tensor], temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """log q and log(1 - q) of the peers' mean (softened) probability, detached."""
    stacked = torch.stack([z.detach().float() / temperature for z in peer_logits])
    k = math.log(len(peer_logits))
    return (
        torch.logsumexp(F.logsigmoid(stacked), dim=0) - k,
        torch.logsumexp(F.logsigmoid(-stacked), dim=0) - k,
    )


def mutual_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    peer_real_logits: Sequence[torch.Tensor],
    peer_fake_logits: Sequence[torch.Tensor],
    temperature: float = 1.0,
) -> torch.Tensor:
    """KL(q_fake || p_fake) + KL(q_real || p_real), times T^2; no gradient reaches peers."""
    t = float(temperature)
    loss = bernoulli_kl(*peer_log_probs(peer_fake_logits, t), fake_logits.float() / t)
    loss = loss + bernoulli_kl(*peer_log_probs(peer_real_logits, t), real_logits.float() / t)
    return loss * t * t


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Standard GAN discriminator loss: BCE(real -> 1) + BCE(fake -> 0)."""
    real, fake = real_logits.float(), fake_logits.float()
    return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + (
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    )


def adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator's -log D(SR), averaged over the batch."""
    fake = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def confidence_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """The control for L_ML: KL(Bernoulli(0.5) || p) on real and fake, times T^2.

    It calms a discriminator exactly as a KL term does, but toward a fixed, know-nothing
    target instead of a peer: if ML helps only through this, the peer's knowledge is moot.
    """
    t = float(temperature)
    half = torch.full_like(real_logits.float(), math.log(0.5))
    loss = bernoulli_kl(half, half, fake_logits.float() / t)
    loss = loss + bernoulli_kl(half, half, real_logits.float() / t)
    return loss * t * t
