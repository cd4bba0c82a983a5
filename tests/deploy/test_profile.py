import torch

from srdistill.deploy.profile import profile_network
from srdistill.models import SRResNet


def test_flops_match_hand_count_for_head_conv():
    # Only the 9x9 head conv (3 -> 4) and the rest of a 0-block net: count the head alone.
    net = torch.nn.Conv2d(3, 4, 9, padding=4)
    p = profile_network(net, "conv", (10, 12), repeats=2, warmup=0)
    assert p.flops == 2 * (3 * 81) * 4 * 10 * 12
    assert p.params == 3 * 4 * 81 + 4
    assert p.latency_ms > 0


def test_deeper_model_costs_more():
    small = profile_network(SRResNet(2, 1, 8), "s", (16, 16), repeats=2)
    big = profile_network(SRResNet(2, 4, 8), "b", (16, 16), repeats=2)
    assert big.flops > small.flops and big.params > small.params
