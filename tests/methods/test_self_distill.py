"""Self-distillation method: warm start from a trained SRResNet, exit weights by name."""

import pytest
import torch

from srdistill.config import config_from_dict
from srdistill.engine.checkpoint import save_module
from srdistill.errors import ConfigError
from srdistill.methods.self_distill import warm_start
from srdistill.models import MultiExitSRResNet, SRResNet
from tests.conftest import tiny_config


def trained_teacher(tmp_path, blocks=6, features=8):
    torch.manual_seed(7)
    teacher = SRResNet(2, blocks, features)
    for m in teacher.modules():  # non-default BN statistics, so copying them is checked too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "teacher.safetensors"
    save_module(teacher, path)
    return teacher.eval(), path


@pytest.mark.parametrize("exit_init", ["teacher", "fresh"])
def test_warm_start_copies_the_teacher_into_the_center(tmp_path, exit_init):
    teacher, path = trained_teacher(tmp_path)
    torch.manual_seed(0)
    net = MultiExitSRResNet(2, 6, [2], 8)
    fresh_exit = {k: v.clone() for k, v in net.exits["2"].state_dict().items()}
    warm_start(net, str(path), exit_init)
    net.eval()
    x = torch.rand(1, 3, 10, 12)
    assert torch.equal(net.forward_exit(x, 6), teacher(x))  # the center is the teacher
    exit_state = net.exits["2"].state_dict()
    for k, v in teacher.recon.state_dict().items():
        same = torch.equal(exit_state[k], v)
        assert same == (exit_init == "teacher") or torch.equal(exit_state[k], fresh_exit[k]), k
    if exit_init == "fresh":
        assert all(torch.equal(exit_state[k], fresh_exit[k]) for k in fresh_exit)


def test_warm_start_from_a_network_of_another_size_is_one_line(tmp_path):
    _, path = trained_teacher(tmp_path, blocks=5)
    wanted = r"needs a plain SRResNet-6 \(x2, 6 blocks, 8 features\)"
    with pytest.raises(ConfigError, match=wanted) as info:
        warm_start(MultiExitSRResNet(2, 6, [2], 8), str(path))
    assert "\n" not in str(info.value)


def test_exit_weights_follow_the_exit_they_name(tmp_path, image_dirs):
    from srdistill.engine.distributed import DistInfo
    from srdistill.methods import TrainingContext
    from srdistill.methods.self_distill import SelfDistillMethod

    ctx = TrainingContext(torch.device("cpu"), "fp32", DistInfo())
    raw = tiny_config(tmp_path, image_dirs, model__num_blocks=5, model__exits=[4, 2])
    raw["self_distill"] = {"exit_weights": [0.5, 3.0]}  # a list reads in model.exits order
    assert SelfDistillMethod(config_from_dict(raw), ctx).exit_weights == {4: 0.5, 2: 3.0}
    raw["self_distill"] = {"exit_weights": {2: 3.0, 4: 0.5}}
    assert SelfDistillMethod(config_from_dict(raw), ctx).exit_weights == {4: 0.5, 2: 3.0}
    raw["self_distill"] = {"exit_weights": {2: 3.0, 3: 0.5}}
    with pytest.raises(ConfigError, match="names exits"):
        config_from_dict(raw)
