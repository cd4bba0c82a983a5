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
