"""Teacher-student KD: every term trains the student, the teacher never changes."""

import pytest
import torch

from srdistill.config import config_from_dict
from srdistill.engine.checkpoint import save_module
from srdistill.engine.distributed import DistInfo
from srdistill.engine.trainer import build_method
from srdistill.errors import ConfigError
from srdistill.methods import METHODS, KDMethod, PlainMethod, TrainingContext, train
from srdistill.models import SRResNet
from tests.conftest import tiny_config

CTX = TrainingContext(torch.device("cpu"), "fp32", DistInfo())


def teacher_file(tmp_path, scale=2, blocks=3, features=12):
    torch.manual_seed(123)
    teacher = SRResNet(scale, blocks, features)
    path = tmp_path / "teacher.safetensors"
    save_module(teacher, path)
    return path


def kd_config(tmp_path, image_dirs, **kd):
    raw = tiny_config(tmp_path, image_dirs, method="kd")
    raw["model"] = {"arch": "srresnet", "num_blocks": 2, "num_features": 8}
    raw["kd"] = {"teacher": str(teacher_file(tmp_path)), **kd}
    return config_from_dict(raw)


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 16, 16, generator=g)


@pytest.mark.parametrize(
    "kd, term",
    [
        ({"output_weight": 1.0}, "output_kd"),
        ({"output_weight": 0.0, "feature": "fitnets"}, "fitnets_body.1"),
        ({"output_weight": 0.0, "feature": "fakd"}, "fakd_body.1"),
    ],
)
def test_every_kd_term_reaches_the_student(tmp_path, image_dirs, kd, term):
    method = KDMethod(kd_config(tmp_path, image_dirs, **kd), CTX)
    lr, hr = batch()
    parts = method.losses(lr, hr)
    assert parts[term].item() > 0
    params = list(method.model.parameters())
    grads = torch.autograd.grad(parts[term], params, allow_unused=True, retain_graph=True)
    reached = [g for g in grads if g is not None and g.abs().sum() > 0]
    # The distillation term alone moves the student: its gradient is non-zero in the body.
    assert len(reached) >= 4, f"{term} reaches only {len(reached)} student tensors"
    if kd.get("feature") == "fitnets":  # widths differ (8 vs 12): a trained 1x1 adaptor
        assert method.adaptor is not None
        (g,) = torch.autograd.grad(parts[term], [method.adaptor.convs[0].weight])
        assert g.abs().sum() > 0


def test_teacher_is_frozen_and_out_of_the_optimizer(tmp_path, image_dirs):
    method = KDMethod(kd_config(tmp_path, image_dirs, feature="fitnets"), CTX)
    before = {k: v.clone() for k, v in method.teacher.state_dict().items()}
    optimised = {id(p) for g in method.optimizers["model"].param_groups for p in g["params"]}
    assert not optimised & {id(p) for p in method.teacher.parameters()}
    for step in range(3):
        method.train_step(*batch(step))
    assert not method.teacher.training
    for k, v in method.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k  # BN running stats included


def test_student_starts_from_the_plain_baseline_weights(tmp_path, image_dirs):
    cfg = kd_config(tmp_path, image_dirs, feature="fitnets")
    plain_raw = cfg.to_dict() | {"method": "plain"}
    # As the engine builds them: seeded, then constructed. Build order inside KD (student,
    # teacher, adaptor) must not shift the student's init.
    plain = build_method(config_from_dict(plain_raw), CTX, METHODS["plain"])
    kd = build_method(cfg, CTX, METHODS["kd"])
    assert isinstance(plain, PlainMethod) and isinstance(kd, KDMethod)
    for (k, a), b in zip(
        plain.model.state_dict().items(), kd.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k


@pytest.mark.parametrize(
    "change, message",
    [
        ({"teacher_blocks": 5}, "has 3 blocks but kd.teacher_blocks declares 5"),
        ({"teacher_features": 64}, "has 12 features but kd.teacher_features declares 64"),
        ({"feature": "fakd", "feature_pairs": ["body.1:body.9"]}, "no module 'body.9'"),
    ],
)
def test_teacher_that_differs_from_its_declaration_is_one_line(
    tmp_path, image_dirs, change, message
):
    with pytest.raises(ConfigError, match=message) as info:
        KDMethod(kd_config(tmp_path, image_dirs, **change), CTX)
    assert "\n" not in str(info.value)


def test_teacher_of_another_scale_is_refused(tmp_path, image_dirs):
    cfg = kd_config(tmp_path, image_dirs)
    cfg.kd.teacher = str(
        teacher_file(tmp_path / "x4", scale=4) if (tmp_path / "x4").mkdir() is None else ""
    )
    with pytest.raises(ConfigError, match="is a x4 model but this run is x2"):
        KDMethod(cfg, CTX)


def test_kd_run_trains_and_checkpoints_the_adaptor(tmp_path, image_dirs):
    result = train(kd_config(tmp_path, image_dirs, feature="fitnets"))
    ckpt = result.final_checkpoint
    assert (ckpt / "model.safetensors").is_file() and (ckpt / "adaptor.safetensors").is_file()
    assert not (ckpt / "teacher.safetensors").exists()
    assert "val/psnr_model" in result.metrics
