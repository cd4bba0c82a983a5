import math

import numpy as np
import pytest
import torch

from srdistill.metrics.psnr_ssim import psnr, ssim


def test_identical_images():
    x = torch.rand(3, 20, 20)
    assert math.isinf(psnr(x, x).item())
    assert ssim(x, x).item() == pytest.approx(1.0)


def test_psnr_of_uniform_offset_by_hand():
    hr = torch.full((3, 16, 16), 100 / 255)
    sr = hr + 10 / 255
    # Y difference: 10 * (65.481 + 128.553 + 24.966) / 255 = 10 * 219 / 255
    dy = 10 * 219 / 255
    assert psnr(sr, hr).item() == pytest.approx(20 * math.log10(255 / dy), abs=1e-9)
    # RGB: every channel differs by exactly 10 levels.
    assert psnr(sr, hr, y_channel=False).item() == pytest.approx(20 * math.log10(25.5), abs=1e-9)


def test_rounding_to_8_bits_first():
    hr = torch.full((3, 8, 8), 100 / 255)
    sr = hr + 0.4 / 255  # rounds back to the same 8-bit level
    assert math.isinf(psnr(sr, hr).item())


def test_border_crop_ignores_border_errors():
    hr = torch.rand(3, 20, 20)
    sr = hr.clone()
    sr[:, :2, :] = 1 - sr[:, :2, :]
    assert math.isfinite(psnr(sr, hr, crop_border=0).item())
    assert math.isinf(psnr(sr, hr, crop_border=2).item())


def test_batched_matches_single():
    a, b = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    both = psnr(a, b, 2)
    assert both.shape == (2,)
    assert both[1].item() == pytest.approx(psnr(a[1], b[1], 2).item())


def _ssim_by_windows(a: np.ndarray, b: np.ndarray) -> float:
    """Independent SSIM: explicit loop over every 11x11 'valid' window."""
    coords = np.arange(11) - 5
    g = np.exp(-(coords**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            vals.append(
                ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    return float(np.mean(vals))


def test_ssim_matches_windowed_reference_on_y():
    torch.manual_seed(1)
    hr = torch.rand(3, 18, 21)
    sr = (hr + 0.1 * torch.randn_like(hr)).clamp(0, 1)
    q = lambda t: (t * 255).round() / 255  # noqa: E731
    ya = (16 + (q(sr) * torch.tensor([65.481, 128.553, 24.966]).view(3, 1, 1)).sum(0)).double()
    yb = (16 + (q(hr) * torch.tensor([65.481, 128.553, 24.966]).view(3, 1, 1)).sum(0)).double()
    expected = _ssim_by_windows(ya.numpy(), yb.numpy())
    assert ssim(sr, hr).item() == pytest.approx(expected, abs=1e-5)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        psnr(torch.rand(3, 8, 8), torch.rand(3, 8, 9))


def test_bicubic_set5_matches_published(shared_data, monkeypatch):
    """With MATLAB-faithful resize and metrics, bicubic x4 on Set5 is 28.42 dB / 0.8104."""
    from srdistill.data.datasets import load_benchmark
    from srdistill.ops.imresize import imresize

    monkeypatch.setenv("SRDISTILL_DATA", str(shared_data))
    load_benchmark.cache_clear()
    images = load_benchmark("Set5", 4)
    p = np.mean([psnr(imresize(im.lr, 4.0), im.hr, 4).item() for im in images])
    s = np.mean([ssim(imresize(im.lr, 4.0), im.hr, 4).item() for im in images])
    assert p == pytest.approx(28.42, abs=0.02)
    assert s == pytest.approx(0.8104, abs=0.002)
