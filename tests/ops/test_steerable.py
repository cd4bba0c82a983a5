"""Steerable pyramid: tight-frame energy, orientation selectivity, sizes."""

import math

import pytest
import torch

from srdistill.ops.steerable import steerable_pyramid


def pyramid_energy(image: torch.Tensor) -> float:
    p = steerable_pyramid(image, levels=2, orientations=6)
    energy = (p.highpass**2).sum()
    for level, bands in enumerate(p.bands):
        energy = energy + sum((b**2).sum() for b in bands) / 4**level
    energy = energy + (p.lowpass**2).sum() / 4 ** len(p.bands)
    return float(energy / (image.to(torch.float64) ** 2).sum())


@pytest.mark.parametrize("size", [(64, 64), (81, 97), (120, 77)])
def test_energy_is_preserved_for_noise(size):
    torch.manual_seed(0)
    assert pyramid_energy(torch.randn(*size, dtype=torch.float64)) == pytest.approx(1.0, abs=0.01)


def test_energy_is_preserved_exactly_without_nyquist_content():
    # A smooth image has no energy at the Nyquist frequencies, where taking real parts
    # loses a little; the masks' squares then sum to one to rounding.
    y, x = torch.meshgrid(torch.arange(96.0), torch.arange(80.0), indexing="ij")
    img = torch.sin(2 * math.pi * x / 16) + torch.cos(2 * math.pi * (x + 2 * y) / 40)
    assert pyramid_energy(img.double()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("angle", "band"), [(0.0, 0), (math.pi / 2, 3), (math.pi / 3, 2)])
def test_an_oriented_wave_lands_in_the_band_of_its_orientation(angle, band):
    y, x = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
    freq = 0.3  # cycles per pixel: inside the finest band's pass region
    wave = torch.cos(2 * math.pi * freq * (x * math.cos(angle) + y * math.sin(angle)))
    energies = [float((b**2).sum()) for b in steerable_pyramid(wave.double()).bands[0]]
    assert max(range(6), key=energies.__getitem__) == band


def test_band_sizes_and_small_image_error():
    p = steerable_pyramid(torch.rand(81, 97), levels=2, orientations=6)
    assert p.highpass.shape == (81, 97)
    assert [b.shape for b in p.bands[0]] == [(81, 97)] * 6
    assert [b.shape for b in p.bands[1]] == [(41, 49)] * 6
    assert p.lowpass.shape == (21, 25)
    with pytest.raises(ValueError, match="too small"):
        steerable_pyramid(torch.rand(10, 40))
