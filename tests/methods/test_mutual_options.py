"""Paper B options: SRGAN's content scale, which images peers score, the confidence
control, and the member update order."""

import math

import pytest
import torch

from srdistill.config import config_from_dict
from srdistill.engine.distributed import DistInfo
from srdistill.engine.method import TrainingContext
from srdistill.errors import ConfigError
from srdistill.losses import confidence_loss, content_loss, mutual_loss
from srdistill.methods import MutualGANMethod, train
from tests.conftest import f32_tolerance
from tests.methods.test_mutual_gan import cohort_config, params

CTX = TrainingContext(torch.device("cpu"), "fp32", DistInfo())


def test_content_loss_uses_srgan_feature_scale():
    a = torch.zeros(1, 2, 3, 3)
    b = torch.full((1, 2, 3, 3), 12.75)
    assert content_loss(a, b).item() == pytest.approx(1.0, abs=f32_tolerance(1.0))
    assert content_loss(a, b, scale=1.0).item() == pytest.approx(12.75**2, rel=1e-6)


def test_confidence_control_is_the_kl_to_a_coin():
    z_real, z_fake, t = torch.tensor([1.5]), torch.tensor([-0.5]), 2.0

    def kl_half(z):  # KL(Bernoulli(0.5) || sigmoid(z)), by hand in float64
        p = 1 / (1 + math.exp(-z))
        return 0.5 * math.log(0.5 / p) + 0.5 * math.log(0.5 / (1 - p))

    expected = t * t * (kl_half(1.5 / t) + kl_half(-0.5 / t))
    got = confidence_loss(z_real, z_fake, t).item()
    assert got == pytest.approx(expected, abs=f32_tolerance(t * t * 4 * math.log(2)))
    # It equals mutual learning with a peer that always says 0.5 (logit 0).
    zero = torch.zeros(1)
    peer = mutual_loss(z_real, z_fake, [zero], [zero], t).item()
    assert got == pytest.approx(peer, abs=f32_tolerance(t * t * 4 * math.log(2)))


def test_defaults_follow_paper_b_and_srgan():
    cfg = config_from_dict({})
    assert cfg.mutual.peer_images == "own"
    assert cfg.mutual.content_scale == pytest.approx(1 / 12.75)
    assert cfg.mutual.update_order == "simultaneous"


def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 32, 32, generator=g)


def test_peers_score_their_own_fakes_by_default(tmp_path, image_dirs):
    """With ``own``, peer j's term for member i is D_j(G_j(x)); with ``same``, D_j(G_i(x))."""
    raw = cohort_config(tmp_path, image_dirs)
    for images in ("own", "same"):
        raw["mutual"]["peer_images"] = images
        method = MutualGANMethod(config_from_dict(raw), CTX)
        seen: list[torch.Tensor] = []

        def keep(module, inputs, output, seen=seen):
            seen.append(inputs[0].detach().clone())

        hook = method.discriminators[1].register_forward_hook(keep)
        lr, hr = batch()
        with torch.no_grad():
            fakes = [g(lr) for g in method.generators]
        method._update_discriminators(hr, fakes, {})
        hook.remove()
        scored_g0 = any(torch.equal(x, fakes[0]) for x in seen)
        assert scored_g0 == (images == "same"), images


@pytest.mark.parametrize("mode", ["confidence", "confidence_soft"])
def test_confidence_arm_trains_a_single_srgan_too(tmp_path, image_dirs, mode):
    raw = cohort_config(tmp_path, image_dirs, mutual__mode=mode, mutual__members=1)
    result = train(config_from_dict(raw))
    assert "d0_conf" in result.metrics and result.metrics["d0_conf"] > 0


def test_ml_needs_a_peer(tmp_path, image_dirs):
    with pytest.raises(ConfigError, match="at least 2 members"):
        config_from_dict(cohort_config(tmp_path, image_dirs, mutual__members=1))


def test_update_order_matters_only_when_members_see_each_other(tmp_path, image_dirs):
    def run(folder, **changes):
        return train(config_from_dict(cohort_config(tmp_path / folder, image_dirs, **changes)))

    sim = run("a")
    seq = run("b", mutual__update_order="sequential")
    d1_sim, d1_seq = params(sim.run_dir, "discriminator_1"), params(seq.run_dir, "discriminator_1")
    assert any(not torch.equal(d1_sim[k], d1_seq[k]) for k in d1_sim)
    # Without peers each discriminator's loss involves only itself: the order is moot.
    ind_sim = run("c", mutual__mode="independent")
    ind_seq = run("d", mutual__mode="independent", mutual__update_order="sequential")
    for name in ("discriminator_0", "discriminator_1", "generator_1"):
        a, b = params(ind_sim.run_dir, name), params(ind_seq.run_dir, name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
