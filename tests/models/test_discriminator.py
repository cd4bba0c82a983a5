import torch

from srdistill.models import Discriminator


def test_logits_per_image_for_several_sizes():
    d = Discriminator(num_features=8)
    for size in (96, 64, 128):
        assert d(torch.rand(3, 3, size, size)).shape == (3,)


def test_layout_follows_srgan():
    d = Discriminator(num_features=64)
    convs = [m for m in d.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    bns = [m for m in d.features if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 7
    assert d.classifier[1].out_features == 1024 and d.classifier[3].out_features == 1
