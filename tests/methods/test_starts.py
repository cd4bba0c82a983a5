"""plain.init_from / kd.init_from: a student starts as a deeper SRResNet's first blocks."""

import pytest
import torch

from srdistill.config import config_from_dict
from srdistill.engine.checkpoint import save_module
from srdistill.errors import ConfigError
from srdistill.methods import KDMethod, PlainMethod, train
from srdistill.models import MultiExitSRResNet, SRResNet, copy_first_blocks
from tests.conftest import tiny_config
from tests.methods.test_kd import CTX


def donor_file(tmp_path, scale=2, blocks=3, features=8, name="donor.safetensors"):
    torch.manual_seed(7)
    donor = SRResNet(scale, blocks, features)
    for p in donor.parameters():  # away from any fresh initialisation
        p.data.uniform_(-0.5, 0.5)
    for m in donor.modules():  # BN running statistics are copied too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    path = tmp_path / name
    save_module(donor, path)
    return donor, path


def student_config(tmp_path, image_dirs, method, source, **section):
    raw = tiny_config(tmp_path, image_dirs, method=method)
    raw["model"] = {"arch": "srresnet", "num_blocks": 2, "num_features": 8}
    raw[method] = {"init_from": str(source), **section}
    return config_from_dict(raw)


def test_copy_takes_head_first_blocks_and_reconstruction():
    donor, student = SRResNet(2, 3, 8), SRResNet(2, 2, 8)
    copied = copy_first_blocks(student, donor)
    theirs = donor.state_dict()
    assert not any(k.startswith("body.2.") for k in copied)
    for key, value in student.state_dict().items():
        assert torch.equal(value, theirs[key]), key
    x = torch.rand(1, 3, 6, 6)
    # The student equals the donor with its last block removed.
    donor.eval(), student.eval()
    donor.body = donor.body[:2]
    torch.testing.assert_close(student(x), donor(x), rtol=0, atol=0)


@pytest.mark.parametrize("method", [PlainMethod, KDMethod])
def test_method_student_starts_from_the_donor(tmp_path, image_dirs, method):
    donor, path = donor_file(tmp_path)
    extra = {"teacher": str(path)} if method is KDMethod else {}
    cfg = student_config(tmp_path, image_dirs, method.section, path, **extra)
    net = method(cfg, CTX).model
    theirs = donor.state_dict()
    for key, value in net.state_dict().items():
        assert torch.equal(value, theirs[key]), key


def test_run_folder_is_a_source_and_training_moves_on_from_it(tmp_path, image_dirs):
    from srdistill.deploy.loading import load_sr_model

    donor, path = donor_file(tmp_path)
    donor_run = train(student_config(tmp_path / "a", image_dirs, "plain", path)).run_dir
    trained = load_sr_model(donor_run).full.state_dict()
    # Training moved the weights away from the donor's ...
    assert not torch.equal(trained["head.0.weight"], donor.state_dict()["head.0.weight"])
    # ... and a run folder as source gives its final weights.
    net = PlainMethod(student_config(tmp_path / "b", image_dirs, "plain", donor_run), CTX).model
    for key, value in net.state_dict().items():
        assert torch.equal(value, trained[key]), key


@pytest.mark.parametrize(
    "donor_args, message",
    [
        ({"scale": 4}, "is a x4 model but x2 was asked"),
        ({"features": 12}, "12 features"),
        ({"blocks": 1}, "at least as many blocks"),
    ],
)
def test_a_donor_that_does_not_fit_is_one_line(tmp_path, image_dirs, donor_args, message):
    _, path = donor_file(tmp_path, **donor_args)
    cfg = student_config(tmp_path, image_dirs, "plain", path)
    with pytest.raises(ConfigError, match=message) as info:
        PlainMethod(cfg, CTX)
    assert "\n" not in str(info.value) and "plain.init_from" in str(info.value)


def test_a_multi_exit_donor_is_refused_with_what_to_do(tmp_path, image_dirs):
    path = tmp_path / "multi.safetensors"
    save_module(MultiExitSRResNet(2, 3, [1], 8), path)
    cfg = student_config(tmp_path, image_dirs, "plain", path)
    with pytest.raises(ConfigError, match="srdistill extract"):
        PlainMethod(cfg, CTX)


def test_a_narrower_student_starts_as_the_first_channels_of_a_wider_network(tmp_path, image_dirs):
    from srdistill.models import EDSR

    torch.manual_seed(7)
    wide = EDSR(2, 2, 16)
    save_module(wide, tmp_path / "wide.safetensors")
    raw = tiny_config(tmp_path, image_dirs, method="plain")
    raw["model"] = {"arch": "edsr", "num_blocks": 2, "num_features": 8}
    raw["plain"] = {"init_from": str(tmp_path / "wide.safetensors")}
    method = PlainMethod(config_from_dict(raw), CTX)  # CSD's inner student
    narrow = method.model.state_dict()
    assert torch.equal(narrow["body.1.conv1.weight"], wide.body[1].conv1.weight[:8, :8])
    assert torch.equal(narrow["recon.upsample.0.weight"], wide.recon.upsample[0].weight[:32, :8])
