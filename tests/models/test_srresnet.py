import pytest
import torch
from safetensors.torch import load_file

from srdistill.models import MultiExitSRResNet, SRResNet, build_model


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shape_per_scale(scale):
    net = SRResNet(scale=scale, num_blocks=1, num_features=8)
    assert net(torch.rand(2, 3, 7, 9)).shape == (2, 3, 7 * scale, 9 * scale)


def test_parameter_count_matches_srresnet_paper():
    # SRResNet-16 (x4, 64 features) has about 1.5M parameters (Ledig et al. 2017).
    n = sum(p.numel() for p in SRResNet(4, 16, 64).parameters())
    assert 1.5e6 < n < 1.6e6


def test_multi_exit_returns_every_exit_and_stops_early():
    net = MultiExitSRResNet(scale=2, num_blocks=6, exits=[2, 4], num_features=8)
    out = net(torch.rand(1, 3, 6, 6))
    assert sorted(out) == [2, 4, 6]
    calls = []
    hooks = [
        b.register_forward_hook(lambda *a, i=i: calls.append(i)) for i, b in enumerate(net.body)
    ]
    net.forward_exit(torch.rand(1, 3, 6, 6), 2)
    assert calls == [0, 1]
    for h in hooks:
        h.remove()


def test_extracted_exit_equals_exit_inside_model(tmp_path):
    torch.manual_seed(0)
    net = MultiExitSRResNet(scale=4, num_blocks=5, exits=[2], num_features=8)
    # Give BatchNorm non-trivial running statistics first.
    net.train()
    for _ in range(3):
        net(torch.rand(4, 3, 8, 8))
    net.eval()
    light = net.extract_exit(2).eval()
    assert isinstance(light, SRResNet) and light.num_blocks == 2
    x = torch.rand(2, 3, 10, 12)
    with torch.no_grad():
        assert torch.equal(light(x), net.forward_exit(x, 2))
    # It is a plain SRResNet: a fresh SRResNet-2 loads its weights.
    from srdistill.engine.checkpoint import save_module

    save_module(light, tmp_path / "light.safetensors")
    fresh = SRResNet(4, 2, 8)
    fresh.load_state_dict(load_file(str(tmp_path / "light.safetensors")))
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), light(x))


def test_center_extraction_is_the_whole_model():
    net = MultiExitSRResNet(scale=2, num_blocks=3, exits=[1], num_features=8).eval()
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        assert torch.equal(net.extract_exit(3).eval()(x), net(x)[3])


def test_bad_exits_are_rejected():
    with pytest.raises(ValueError):
        MultiExitSRResNet(scale=2, num_blocks=3, exits=[5])
    net = MultiExitSRResNet(scale=2, num_blocks=3, exits=[1], num_features=8)
    with pytest.raises(ValueError):
        net.extract_exit(2)
    with pytest.raises(ValueError):
        net(torch.rand(1, 3, 4, 4), exits=[2])


def test_spec_round_trip():
    for net in [SRResNet(3, 2, 8), MultiExitSRResNet(2, 4, [1, 2], 8)]:
        rebuilt = build_model(net.spec())
        assert type(rebuilt) is type(net)
        assert rebuilt.load_state_dict(net.state_dict()) is not None


def test_bicubic_skip_adds_the_bicubic_upscale_and_survives_extraction(tmp_path):
    import torch.nn.functional as F

    from srdistill.engine.checkpoint import load_module, save_module
    from srdistill.models import MultiExitSRResNet, SRResNet

    torch.manual_seed(0)
    x = torch.rand(1, 3, 6, 7)
    plain = SRResNet(2, 2, 8).eval()
    skip = SRResNet(2, 2, 8, bicubic_skip=True).eval()
    skip.load_state_dict(plain.state_dict())
    base = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    assert torch.equal(skip(x), plain(x) + base)
    fresh = SRResNet(2, 2, 8, bicubic_skip=True).eval()
    assert torch.equal(fresh(x), base)  # its residual head starts at zero: exact bicubic
    multi = MultiExitSRResNet(2, 4, [1], 8, bicubic_skip=True).eval()
    light = multi.extract_exit(1).eval()
    assert light.bicubic_skip and torch.equal(light(x), multi.forward_exit(x, 1))
    save_module(light, tmp_path / "l.safetensors")
    assert load_module(tmp_path / "l.safetensors").bicubic_skip
    save_module(plain, tmp_path / "p.safetensors")  # off: the spec is as before
    assert (
        "bicubic_skip" not in plain.spec()
        and not load_module(tmp_path / "p.safetensors").bicubic_skip
    )
