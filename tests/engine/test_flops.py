"""Training FLOPs: one real step of a method, counted by PyTorch, equals the count from
the networks' shapes; a frozen teacher adds its forward pass only."""

import torch

from srdistill.config import config_from_dict
from srdistill.engine.flops import train_step_flops
from srdistill.methods import KDMethod, PlainMethod
from tests.conftest import tiny_config
from tests.methods.test_kd import teacher_file


def conv_flops(c_in, c_out, k, pixels):
    return 2 * c_in * c_out * k * k * pixels


def srresnet_forward_flops(blocks, f, lr_pixels, scale=2):
    """Forward FLOPs of an x2 SRResNet per image, conv by conv, and its first conv's."""
    head = conv_flops(3, f, 9, lr_pixels)
    body = 2 * blocks * conv_flops(f, f, 3, lr_pixels)
    trunk = conv_flops(f, f, 3, lr_pixels)
    up = conv_flops(f, 4 * f, 3, lr_pixels)
    tail = conv_flops(f, 3, 9, lr_pixels * scale * scale)
    return head + body + trunk + up + tail, head


def config(tmp_path, image_dirs, method, **section):
    raw = tiny_config(tmp_path, image_dirs, method=method)
    raw["model"] = {"arch": "srresnet", "num_blocks": 2, "num_features": 8}
    raw["data"]["patch_size"] = 16
    raw["train"]["batch_size"] = 3
    if section:
        raw[method] = section
    return config_from_dict(raw)


def test_plain_step_is_forward_and_both_backward_products(tmp_path, image_dirs):
    cfg = config(tmp_path, image_dirs, "plain")
    fwd, head = srresnet_forward_flops(2, 8, 8 * 8)
    # Backward: gradients of inputs and of weights (each a forward's count), except the
    # input gradient of the first conv, whose input is the image.
    expected = 3 * (3 * fwd - head)
    assert train_step_flops(cfg, PlainMethod) == expected


def test_kd_step_adds_the_teachers_forward_only(tmp_path, image_dirs):
    plain = train_step_flops(config(tmp_path, image_dirs, "plain"), PlainMethod)
    teacher = teacher_file(tmp_path, blocks=3, features=12)
    cfg = config(tmp_path, image_dirs, "kd", teacher=str(teacher))
    teacher_fwd, _ = srresnet_forward_flops(3, 12, 8 * 8)
    assert train_step_flops(cfg, KDMethod) == plain + 3 * teacher_fwd


def test_counting_leaves_the_random_stream_alone(tmp_path, image_dirs):
    cfg = config(tmp_path, image_dirs, "plain")
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    train_step_flops(cfg, PlainMethod)
    assert torch.equal(torch.rand(3), expected)
