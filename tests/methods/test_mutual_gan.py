import pytest
import torch

from srdistill.config import config_from_dict
from srdistill.engine.checkpoint import load_module
from srdistill.errors import CheckpointError
from srdistill.methods import train
from tests.conftest import tiny_config


def cohort_config(tmp_path, image_dirs, **changes):
    raw = tiny_config(
        tmp_path,
        image_dirs,
        method="mutual_gan",
        model={"arch": "srresnet", "num_blocks": 1, "num_features": 8},
        mutual={
            "vgg_weights": "random",
            "content_layer": "relu2_2",
            "disc_features": 8,
            "mode": "ml",
        },
        train__steps=2,
        train__ckpt_every=1,
        data__patch_size=32,
    )
    for key, value in changes.items():
        node = raw
        *parents, leaf = key.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return raw


def params(run_dir, name):
    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    net = load_module(run_dir / "checkpoints" / latest / f"{name}.safetensors")
    return dict(net.named_parameters())


def test_cohort_trains_every_member_and_records_stand_in(tmp_path, image_dirs):
    result = train(config_from_dict(cohort_config(tmp_path, image_dirs, mutual__members=3)))
    files = {p.name for p in (result.run_dir / "checkpoints" / "step_00000002").iterdir()}
    assert {f"generator_{i}.safetensors" for i in range(3)} <= files
    assert {f"discriminator_{i}.safetensors" for i in range(3)} <= files
    assert {"d0_ml", "d2_ml", "g1_content", "val/psnr_member2"} <= set(result.metrics)
    import json

    assert "stand-in VGG" in json.loads((result.run_dir / "run.json").read_text())["notes"][0]


def test_modes_share_seed_and_data_so_zero_weight_ml_equals_independent(tmp_path, image_dirs):
    indep = train(
        config_from_dict(cohort_config(tmp_path / "a", image_dirs, mutual__mode="independent"))
    )
    zero = train(config_from_dict(cohort_config(tmp_path / "b", image_dirs, mutual__ml_weight=0.0)))
    ml = train(config_from_dict(cohort_config(tmp_path / "c", image_dirs)))
    for name in ["generator_0", "generator_1", "discriminator_0", "discriminator_1"]:
        a, b, c = params(indep.run_dir, name), params(zero.run_dir, name), params(ml.run_dir, name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
        # The distillation term changes every member: its discriminator, then its generator.
        assert any(not torch.equal(a[k], c[k]) for k in a), name


@pytest.mark.parametrize("mode,peer_images", [("ml_soft", "same"), ("ml", "own")])
def test_cohort_resume_is_exact(tmp_path, image_dirs, mode, peer_images):
    raw = cohort_config(
        tmp_path, image_dirs, train__steps=4, mutual__mode=mode, mutual__peer_images=peer_images
    )
    whole = train(config_from_dict({**raw, "output_dir": str(tmp_path / "whole")}))
    train(config_from_dict({**raw, "train": {**raw["train"], "steps": 2}}))
    resumed = train(config_from_dict(raw), resume=True)
    for name in ["generator_0", "generator_1", "discriminator_0", "discriminator_1"]:
        a, b = params(whole.run_dir, name), params(resumed.run_dir, name)
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_generators_start_from_pixel_trained_checkpoint(tmp_path, image_dirs):
    pre = train(
        config_from_dict(
            tiny_config(
                tmp_path / "pre",
                image_dirs,
                method="plain",
                train__steps=2,
                model={"arch": "srresnet", "num_blocks": 1, "num_features": 8},
            )
        )
    )
    raw = cohort_config(
        tmp_path, image_dirs, mutual__init_from=str(pre.run_dir), optim={"lr": 1e-12}
    )
    result = train(config_from_dict(raw))
    start = params(pre.run_dir, "model")
    got = params(result.run_dir, "generator_1")
    assert all(torch.allclose(start[k], got[k], atol=1e-6) for k in start)
    bad = cohort_config(
        tmp_path / "bad",
        image_dirs,
        mutual__init_from=str(pre.run_dir),
        model={"arch": "srresnet", "num_blocks": 2, "num_features": 8},
    )
    with pytest.raises(CheckpointError, match="train a matching generator"):
        train(config_from_dict(bad))
    missing = cohort_config(tmp_path / "m", image_dirs, mutual__init_from=str(tmp_path / "nope"))
    with pytest.raises(CheckpointError, match="not found"):
        train(config_from_dict(missing))


def test_pixel_mse_content_is_srgan_mse_on_minus_one_to_one_images(tmp_path, image_dirs):
    from srdistill.losses import pixel_mse_loss

    sr, hr = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    # SRGAN computes the MSE on images scaled to [-1, 1]: 2x - 1 for both.
    assert pixel_mse_loss(sr, hr) == pytest.approx(
        torch.mean(((2 * sr - 1) - (2 * hr - 1)) ** 2).item(), rel=1e-6
    )
    run = train(
        config_from_dict(
            cohort_config(tmp_path, image_dirs, mutual__content_loss="pixel_mse", mutual__mode="ml")
        )
    )
    import json

    notes = json.loads((run.run_dir / "run.json").read_text())["notes"]
    assert not any("stand-in" in n for n in notes)  # no VGG is built for a pixel content loss
    saved = (run.run_dir / "config.yaml").read_text()
    assert "content_loss: pixel_mse" in saved  # the record names the content loss


@pytest.mark.parametrize("content", ["pixel_mse", "l1"])
def test_pixel_content_losses_build_no_feature_network(content, tmp_path, image_dirs):
    from srdistill.engine.distributed import DistInfo
    from srdistill.engine.method import TrainingContext
    from srdistill.methods.mutual_gan import MutualGANMethod

    cfg = config_from_dict(cohort_config(tmp_path, image_dirs, mutual__content_loss=content))
    method = MutualGANMethod(cfg, TrainingContext(torch.device("cpu"), "fp32", DistInfo()))
    assert method.vgg is None
    sr, hr = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    expected = (
        4 * torch.mean((sr - hr) ** 2) if content == "pixel_mse" else torch.mean((sr - hr).abs())
    )
    assert method._content(sr, hr, None).item() == pytest.approx(expected.item(), rel=1e-6)


def test_unknown_content_loss_is_refused_with_the_choices(tmp_path, image_dirs):
    from srdistill.errors import ConfigError

    with pytest.raises(ConfigError, match="pixel_mse"):
        config_from_dict(cohort_config(tmp_path, image_dirs, mutual__content_loss="mse"))


def test_the_engines_ema_averages_every_generator_of_a_cohort(tmp_path, image_dirs):
    raw = cohort_config(tmp_path, image_dirs, mutual__content_loss="l1")
    raw["train"]["ema_decay"] = 0.5
    run = train(config_from_dict(raw))
    ckpt = run.run_dir / "checkpoints" / "step_00000002"
    assert {p.name for p in ckpt.glob("ema_*")} == {
        "ema_generator_0.safetensors",
        "ema_generator_1.safetensors",
    }  # the deployed networks only, not the discriminators
