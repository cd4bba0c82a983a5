import torch

from srdistill.models import SRResNet
from srdistill.ops.tiling import tiled_forward


def test_tiled_equals_untiled_with_enough_overlap():
    torch.manual_seed(0)
    net = SRResNet(scale=2, num_blocks=2, num_features=8).eval()
    lr = torch.rand(1, 3, 37, 29)
    with torch.no_grad():
        full = net(lr)
        # Receptive-field radius: 4 (head 9x9) + 2 per block * 2 + 1 (trunk) + upsampler/tail
        tiled = tiled_forward(net, lr, 2, tile=12, overlap=16)
    assert tiled.shape == full.shape
    assert (tiled - full).abs().max().item() < 1e-5


def test_small_overlap_shows_seams():
    torch.manual_seed(0)
    net = SRResNet(scale=2, num_blocks=2, num_features=8).eval()
    lr = torch.rand(1, 3, 30, 30)
    with torch.no_grad():
        diff = (tiled_forward(net, lr, 2, tile=10, overlap=0) - net(lr)).abs().max().item()
    assert diff > 1e-3
