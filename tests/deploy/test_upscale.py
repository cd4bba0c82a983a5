"""Upscaling large images: over the memory budget the image is tiled automatically, and the
tiled result equals the whole-image forward pass."""

import logging

import torch

from srdistill.deploy.upscale import activation_bytes, tile_for_budget, upscale_tensor
from srdistill.models import SRResNet


def test_budget_decides_between_one_pass_and_tiles():
    net = SRResNet(scale=2, num_blocks=1, num_features=8)
    need = activation_bytes(net, 400, 300, 2)
    assert tile_for_budget(net, 400, 300, 2, need, 8) is None
    tile = tile_for_budget(net, 400, 300, 2, need // 4, 8)
    assert tile is not None and tile < 300
    assert activation_bytes(net, tile + 16, tile + 16, 2) <= need // 4  # a padded tile fits


def test_an_image_over_the_budget_is_tiled_with_the_same_result(caplog):
    torch.manual_seed(0)
    net = SRResNet(scale=2, num_blocks=2, num_features=8).eval()
    img = torch.rand(3, 61, 53)
    whole = upscale_tensor(net, img, 2)
    budget = activation_bytes(net, 61, 53, 2) // 6
    with caplog.at_level(logging.INFO, logger="srdistill.deploy.upscale"):
        tiled = upscale_tensor(net, img, 2, memory_budget=budget, tile_overlap=16)
    assert "tiling with" in caplog.text
    assert tiled.shape == whole.shape == (3, 122, 106)
    # Same arithmetic per pixel up to float32 summation order (values in [0, 1]).
    assert (tiled - whole).abs().max().item() < 1e-5


def test_an_output_larger_than_the_available_memory_is_refused_before_any_work():
    import pytest

    from srdistill.deploy.upscale import available_memory, check_output_fits
    from srdistill.errors import DataError

    free = available_memory()
    if free is None:
        pytest.skip("no /proc/meminfo here: the check cannot know the memory")
    side = int((free / (3 * 4 * 3)) ** 0.5 / 4) + 100  # an x4 output just over it
    with pytest.raises(DataError, match="upscale it in parts"):
        check_output_fits(side, side, 4)
    check_output_fits(100, 100, 4)  # a normal image passes
    # upscale_tensor refuses from the shape alone: a 1-pixel-high image this wide is cheap
    # to make, and its output would still not fit.
    wide = torch.zeros(3, 1, int(free / (3 * 4 * 3 * 16)) + 10**6)
    with pytest.raises(DataError, match="upscale it in parts"):
        upscale_tensor(SRResNet(4, 1, 4), wide, 4)
