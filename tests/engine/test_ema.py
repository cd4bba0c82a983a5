"""engine/ema.py: the weight average follows its formula, also after the live weights are
loaded in place, and copies buffers."""

import torch
from torch import nn

from srdistill.engine.ema import WeightAverage
from tests.conftest import f32_tolerance


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1))


def test_average_follows_the_closed_form_of_repeated_updates():
    live = _net(0)
    ema = WeightAverage({"g": live}, decay=0.9)
    start = {k: v.clone() for k, v in ema.averaged["g"].state_dict().items()}
    target = _net(1).state_dict()
    live.load_state_dict(target)  # in place: the average must see it
    steps = 7
    for _ in range(steps):
        ema.update()
    for name, p in ema.averaged["g"].named_parameters():
        # constant live weights v: ema_n = v + (ema_0 - v) * decay^n
        expected = target[name] + (start[name] - target[name]) * 0.9**steps
        scale = float(start[name].abs().max() + target[name].abs().max())
        assert torch.allclose(p, expected, rtol=0, atol=f32_tolerance(scale, ulps=4 * steps))
        if not torch.equal(start[name], target[name]):  # BatchNorm's 1/0 start in both
            assert not torch.equal(p, target[name])  # an average, not a copy


def test_buffers_are_copied_and_the_live_weights_come_back_after_a_swap():
    live = _net(0)
    ema = WeightAverage({"g": live}, decay=0.5)
    live.train()(torch.randn(2, 3, 8, 8))  # moves the BatchNorm statistics
    ema.update()
    avg_bn, live_bn = ema.averaged["g"][1], live[1]
    assert torch.equal(avg_bn.running_mean, live_bn.running_mean)
    assert int(avg_bn.num_batches_tracked) == 1
    before = {k: v.clone() for k, v in live.state_dict().items()}
    with ema.swapped_in():
        assert torch.equal(live[0].weight, ema.averaged["g"][0].weight)
    assert all(torch.equal(before[k], v) for k, v in live.state_dict().items())
