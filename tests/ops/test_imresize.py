import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srdistill.ops.imresize import cubic, degrade, imresize, mod_crop, output_size


def direct_resize_1d(signal: np.ndarray, scale: float) -> np.ndarray:
    """Independent per-pixel MATLAB bicubic on one axis: explicit loops, explicit mirror."""
    n = len(signal)
    out_len = math.ceil(round(n * scale, 8))
    shrink = scale < 1
    width = 4 / scale if shrink else 4

    def kernel(d: float) -> float:
        d = abs(d)
        if d <= 1:
            return 1.5 * d**3 - 2.5 * d**2 + 1
        if d <= 2:
            return -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2
        return 0.0

    def mirror(i: int) -> int:  # 0-based index into [0, n) with symmetric padding
        while i < 0 or i >= n:
            i = -i - 1 if i < 0 else 2 * n - 1 - i
        return i

    out = np.zeros(out_len)
    for o in range(out_len):
        centre = (o + 1) / scale + 0.5 * (1 - 1 / scale) - 1  # 0-based input coordinate
        lo, hi = math.floor(centre - width / 2), math.ceil(centre + width / 2)
        total = acc = 0.0
        for i in range(lo, hi + 1):
            w = scale * kernel(scale * (centre - i)) if shrink else kernel(centre - i)
            total += w
            acc += w * signal[mirror(i)]
        out[o] = acc / total
    return out


def direct_resize_2d(img: np.ndarray, scale: float) -> np.ndarray:
    rows = np.stack([direct_resize_1d(r, scale) for r in img])
    return np.stack([direct_resize_1d(c, scale) for c in rows.T]).T


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 0.6, 2.0, 3.0, 1.5])
def test_matches_direct_per_pixel_formula(scale):
    rng = np.random.default_rng(0)
    img = rng.random((13, 17))
    expected = direct_resize_2d(img, scale)
    got = imresize(torch.from_numpy(img)[None], scale)[0].numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("scale", [1 / 4, 1 / 2, 1 / 3, 2.0, 3.0, 0.37])
def test_constant_image_stays_constant(scale):
    x = torch.full((3, 24, 20), 0.3137, dtype=torch.float64)
    y = imresize(x, scale)
    assert y.shape == (3, output_size(24, scale), output_size(20, scale))
    torch.testing.assert_close(y, torch.full_like(y, 0.3137), atol=1e-12, rtol=0)


def test_flip_symmetry():
    x = torch.rand(1, 3, 32, 24, dtype=torch.float64)
    y = imresize(x, 1 / 4)
    torch.testing.assert_close(imresize(x.flip(-1), 1 / 4), y.flip(-1))
    torch.testing.assert_close(imresize(x.flip(-2), 1 / 4), y.flip(-2))


def test_x4_downscale_interior_equals_strided_convolution():
    """Second path: away from borders, x4 antialiased bicubic is a stride-4 convolution with
    the cubic kernel stretched by 4 (16 taps), built here from the formula."""
    s = 4
    x = torch.rand(1, 1, 64, 64, dtype=torch.float64)
    got = imresize(x, 1 / s)
    # Output o (0-based) is centred at input coordinate 4*o + 1.5, so its 16 taps cover
    # inputs 4*o - 6 .. 4*o + 9. With 2 pixels of padding, conv window j starts at input
    # 4*j - 2, i.e. conv output j is imresize output o = j + 1.
    offsets = torch.arange(-8, 8, dtype=torch.float64) + 0.5
    taps = cubic(offsets / s) / s
    taps = taps / taps.sum()
    k = torch.outer(taps, taps)[None, None]
    conv = F.conv2d(F.pad(x, (2, 2, 2, 2)), k, stride=s)
    inner = got[..., 2:-2, 2:-2]
    # Outputs 2.. are far enough from the border that no mirrored pixel is involved.
    torch.testing.assert_close(conv[..., 1 : 1 + inner.shape[-2], 1 : 1 + inner.shape[-1]], inner)


def test_batch_and_chw_agree():
    x = torch.rand(2, 3, 20, 16)
    y = imresize(x, 1 / 2)
    torch.testing.assert_close(imresize(x[1], 1 / 2), y[1])


def test_size_argument_and_errors():
    x = torch.rand(3, 10, 10)
    assert imresize(x, size=(7, 13)).shape == (3, 7, 13)
    with pytest.raises(ValueError):
        imresize(x)
    with pytest.raises(TypeError):
        imresize(torch.zeros(3, 4, 4, dtype=torch.uint8), 0.5)
    with pytest.raises(ValueError):
        imresize(x, -1.0)


def test_degrade_rounds_to_8_bits_and_mod_crop():
    hr = mod_crop(torch.rand(3, 50, 46), 4)
    assert hr.shape == (3, 48, 44)
    lr = degrade(hr, 4)
    assert lr.shape == (3, 12, 11)
    torch.testing.assert_close(lr * 255, (lr * 255).round())
