"""Learning-rate schedules: step and cosine (with warm-up), and exact resume under cosine."""

import math
import shutil

import pytest
import torch

from srdistill.config import OptimConfig, config_from_dict
from srdistill.engine.method import lr_factor, make_scheduler
from srdistill.errors import ConfigError
from srdistill.methods import train
from tests.conftest import tiny_config
from tests.engine.test_trainer import final_weights, losses


def lrs(cfg, total):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
    sched = make_scheduler(opt, cfg, total)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_goes_from_lr_to_min_lr_after_warmup():
    cfg = OptimConfig(lr=1.0, schedule="cosine", warmup_steps=4, min_lr=0.1)
    got = lrs(cfg, 104)
    assert got[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert got[4] == pytest.approx(1.0)
    assert got[54] == pytest.approx(0.1 + 0.9 * 0.5)  # half way: the mean of lr and min_lr
    assert got[-1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 99 / 100)))
    assert all(a >= b for a, b in zip(got[4:-1], got[5:], strict=True))  # never rises after warm-up


def test_step_schedule_is_unchanged_and_warmup_applies_to_it():
    cfg = OptimConfig(lr=1.0, milestones=[3, 5], gamma=0.5)
    assert lrs(cfg, 6) == pytest.approx([1, 1, 1, 0.5, 0.5, 0.25])
    assert isinstance(
        make_scheduler(torch.optim.SGD([torch.zeros(1)], lr=1), cfg, 6),
        torch.optim.lr_scheduler.MultiStepLR,  # earlier runs' checkpoints resume unchanged
    )
    warm = OptimConfig(lr=1.0, milestones=[3], gamma=0.5, warmup_steps=2)
    assert [lr_factor(s, warm, 6) for s in range(5)] == pytest.approx([0.5, 1, 1, 0.5, 0.5])


def test_bad_schedule_settings_are_config_errors(tmp_path, image_dirs):
    for optim, message in [
        ({"warmup_steps": 6}, "warmup_steps"),
        ({"min_lr": 1.0}, "min_lr"),
        ({"schedule": "linear"}, "must be one of step, cosine"),
    ]:
        with pytest.raises(ConfigError, match=message):
            config_from_dict(tiny_config(tmp_path, image_dirs, optim=optim))


def test_resume_under_cosine_is_bit_exact(tmp_path, image_dirs):
    raw = tiny_config(
        tmp_path,
        image_dirs,
        optim={"schedule": "cosine", "warmup_steps": 2, "lr": 1e-3},
        train__ckpt_every=3,
        train__keep_checkpoints=3,
    )
    reference = train(config_from_dict({**raw, "output_dir": str(tmp_path / "ref")}))
    run = train(config_from_dict(raw))
    ckpts = run.run_dir / "checkpoints"
    shutil.rmtree(ckpts / "step_00000006")  # as if killed after the step-3 checkpoint
    (ckpts / "latest").unlink()
    resumed = train(config_from_dict(raw), resume=True)
    assert resumed.step == 6
    ref_w, got_w = final_weights(reference.run_dir), final_weights(run.run_dir)
    assert all(torch.equal(ref_w[k], got_w[k]) for k in ref_w)
    assert losses(run.run_dir) == losses(reference.run_dir)
    # What the curve is drawn from other than the steps (which may grow: a continued run
    # redraws it and says so) cannot change on resume.
    with pytest.raises(ConfigError, match="optim.lr"):
        train(config_from_dict({**raw, "optim": {**raw["optim"], "lr": 5e-4}}), resume=True)
