"""Chain networks: exits on any of them, cutting out an exit, starting from the first
blocks or the first channels of a larger network."""

from __future__ import annotations

import pytest
import torch

from srdistill.config import load_config
from srdistill.errors import ConfigError
from srdistill.models import (
    EDSR,
    RCAN,
    MultiExitChain,
    SRResNet,
    build_generator,
    copy_first_blocks,
    slice_width,
)

# Float32 convolutions of the same inputs with the same weights in a network of another
# size may be computed by different kernels: allow a few ulps of the outputs' scale.
F32_TOL = 1e-5


@pytest.mark.parametrize("base", [EDSR(2, 4, 8), RCAN(2, 3, 2, 8, 4)])
def test_an_extracted_exit_equals_the_exit_inside_the_multi_exit_network(base, tmp_path):
    torch.manual_seed(0)
    net = MultiExitChain.around(base, [1, 2])
    x = torch.rand(1, 3, 9, 7)
    outputs = net(x)
    assert sorted(outputs) == [1, 2, base.depth]
    for k in (1, 2):
        light = net.extract_exit(k)
        assert type(light) is type(base) and light.depth == k
        with torch.no_grad():
            assert torch.allclose(light(x), outputs[k], atol=F32_TOL)
    with torch.no_grad():  # the center exit is the base network itself
        assert torch.allclose(net.extract_exit(base.depth)(x), base(x), atol=F32_TOL)


def test_a_multi_exit_config_builds_exits_and_refuses_bad_ones():
    cfg = load_config(
        "architectures/rcan", "quick",
        ["method=self_distill", "model.arch=multi_exit_rcan", "model.exits=[1, 2]"],
    )  # fmt: skip
    net = build_generator(cfg.scale, cfg.model)
    assert isinstance(net, MultiExitChain) and net.exit_blocks == [1, 2, 3]
    with pytest.raises(
        ConfigError, match=r"model.exits \[3\] must lie in 1..2 \(model.num_groups\)"
    ):
        load_config("architectures/rcan", "quick", ["model.arch=multi_exit_rcan", "model.exits=[3]",
                                                     "method=self_distill"])  # fmt: skip
    with pytest.raises(ConfigError, match="set model.arch: rcan"):
        load_config(
            "architectures/rcan", "quick", ["model.arch=multi_exit_rcan", "model.exits=[1]"]
        )


def test_a_student_starts_as_the_first_blocks_of_a_deeper_network():
    torch.manual_seed(0)
    teacher, student = EDSR(2, 4, 8), EDSR(2, 2, 8)
    copy_first_blocks(student, teacher)
    assert torch.equal(student.body[1].conv2.weight, teacher.body[1].conv2.weight)
    assert torch.equal(student.recon.tail.weight, teacher.recon.tail.weight)
    with pytest.raises(ValueError, match="same architecture"):
        copy_first_blocks(EDSR(2, 2, 4), teacher)


@pytest.mark.parametrize("make", [lambda f: EDSR(2, 2, f), lambda f: SRResNet(2, 2, f),
                                  lambda f: RCAN(2, 1, 2, f, 4)])  # fmt: skip
def test_width_slicing_takes_the_leading_channels(make):
    torch.manual_seed(0)
    wide, narrow = make(16), make(8)
    slice_width(narrow, wide)
    for name, value in narrow.state_dict().items():
        source = wide.state_dict()[name]
        assert torch.equal(value, source[tuple(slice(0, n) for n in value.shape)] if value.dim()
                           else source), name  # fmt: skip
    # The sub-pixel conv's first 4c outputs are the first c channels after the shuffle:
    # zeroing the wide network's extra channels leaves the narrow network's output.
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        narrow.eval()(x)  # runs: every sliced shape fits
    with pytest.raises(ValueError, match="differs only in being wider"):
        slice_width(make(16), make(8))


def test_width_slicing_is_exact_for_edsr_with_the_extra_channels_zeroed():
    torch.manual_seed(0)
    wide = EDSR(2, 2, 16)
    state = wide.state_dict()
    for name, value in state.items():  # channels 8.. carry nothing into channels ..8
        if value.dim() == 4 and value.shape[1] == 16:
            value[:, 8:] = 0
        if name.startswith("head.") and value.shape[0] == 16:
            value[8:] = 0
    wide.load_state_dict(state)
    narrow = EDSR(2, 2, 8)
    slice_width(narrow, wide)
    # With the extra input channels zeroed, the wide network's first 8 feature channels
    # and its RGB output depend only on the sliced weights.
    x = torch.rand(1, 3, 5, 5)
    with torch.no_grad():
        assert torch.allclose(narrow(x), wide(x), atol=F32_TOL)
