"""NIQE: against a published MATLAB value and an independent loop-based numpy reference."""

import math

import numpy as np
import pytest
import torch
from scipy.special import gamma

from srdistill.errors import CheckpointError
from srdistill.metrics.niqe_metric import aggd_fit, niqe, niqe_of_luma
from tests.conftest import smooth_image
from tests.ops.test_imresize import direct_resize_2d


@pytest.fixture
def niqe_params(shared_data, monkeypatch):
    path = shared_data / "weights" / "niqe_pris_params.npz"
    if not path.is_file():
        pytest.skip("NIQE pristine parameters not in the shared data")
    monkeypatch.setenv("SRDISTILL_NIQE_PARAMS", str(path))
    return np.load(path)


def reference_aggd(v: np.ndarray) -> tuple[float, float, float]:
    gam = np.arange(0.2, 10.001, 0.001)
    r_gam = gamma(2 / gam) ** 2 / (gamma(1 / gam) * gamma(3 / gam))
    left = math.sqrt(np.mean(v[v < 0] ** 2))
    right = math.sqrt(np.mean(v[v > 0] ** 2))
    g = left / right
    rhat = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
    rn = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = gam[np.argmin((r_gam - rn) ** 2)]
    k = math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left * k, right * k


def matlab_imfilter_replicate(img: np.ndarray, win: np.ndarray) -> np.ndarray:
    """imfilter(img, win, 'replicate') for a double image and a 7x7 (non-separable for
    MATLAB) kernel: per pixel, the products of the window's taps in column-major order,
    accumulated one after another."""
    k = win.shape[0] // 2
    padded = np.pad(img, k, mode="edge")
    h, w = img.shape
    acc = np.zeros_like(img)
    for c in range(win.shape[1]):
        for r in range(win.shape[0]):
            acc = acc + padded[r : r + h, c : c + w] * win[r, c]
    return acc


def reference_niqe(y: np.ndarray, p, halve=lambda img: direct_resize_2d(img, 0.5)) -> float:
    """computequality.m one block at a time: MATLAB-order filtering, the 0-255 image
    halved for the second scale (default: explicit per-pixel bicubic)."""
    mu_p, cov_p, win = p["mu_pris_param"].ravel(), p["cov_pris_param"], p["gaussian_window"]
    nh, nw = y.shape[0] // 96, y.shape[1] // 96
    img = y[: nh * 96, : nw * 96].astype(np.float64)
    rows = [[] for _ in range(nh * nw)]
    for scale in (1, 2):
        mu = matlab_imfilter_replicate(img, win)
        sigma = np.sqrt(np.abs(matlab_imfilter_replicate(img * img, win) - mu * mu))
        mscn = (img - mu) / (sigma + 1)
        b = 96 // scale
        for bi in range(nh):
            for bj in range(nw):
                blk = mscn[bi * b : (bi + 1) * b, bj * b : (bj + 1) * b]
                a, bl, br = reference_aggd(blk.ravel())
                feat = [a, (bl + br) / 2]
                for shift in [(0, 1), (1, 0), (1, 1), (1, -1)]:
                    a, bl, br = reference_aggd((blk * np.roll(blk, shift, axis=(0, 1))).ravel())
                    feat += [a, (br - bl) * gamma(2 / a) / gamma(1 / a), bl, br]
                rows[bi * nw + bj] += feat
        img = halve(img)
    d = np.array(rows)
    diff = mu_p - np.nanmean(d, axis=0)
    cov = np.cov(d[~np.isnan(d).any(axis=1)], rowvar=False)
    return float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov) / 2) @ diff))


def test_matches_published_matlab_value_on_baboon(shared_data, niqe_params):
    """MATLAB R2021a gives 5.7296 for baboon (Y channel, no crop), as reported by BasicSR."""
    from srdistill.data.io import read_image

    img, _ = read_image(shared_data / "benchmark" / "Set14" / "baboon.png")
    assert niqe(img) == pytest.approx(5.7296, abs=0.01)


def test_matches_independent_reference(niqe_params):
    rgb = smooth_image(288, 200, seed=7).astype(np.float64)
    rgb += np.random.default_rng(0).normal(0, 6, rgb.shape)  # texture, so blocks differ
    rgb = np.clip(np.round(rgb), 0, 255)
    y = np.round(16 + rgb @ np.array([65.481, 128.553, 24.966]) / 255)
    expected = reference_niqe(y, niqe_params)
    got = niqe(torch.from_numpy(rgb / 255).permute(2, 0, 1))
    assert got == pytest.approx(expected, abs=1e-6)


def test_aggd_fit_recovers_symmetric_gaussian():
    x = torch.from_numpy(np.random.default_rng(0).normal(0, 2.0, (2, 200_000)))
    alpha, bl, br, mean = aggd_fit(x)
    # A Gaussian is a GGD with shape 2 and scale sigma * sqrt(2).
    assert torch.allclose(alpha, torch.full_like(alpha, 2.0), atol=0.03)
    assert torch.allclose(bl, torch.full_like(bl, 2 * math.sqrt(2)), rtol=0.02)
    assert torch.allclose(br, bl, rtol=0.02)
    assert mean.abs().max() < 0.05


def test_bicubic_blur_scores_worse_than_the_original(shared_data, niqe_params):
    from srdistill.data.datasets import load_benchmark
    from srdistill.ops.imresize import imresize

    for im in load_benchmark(str(shared_data / "benchmark" / "Set14"), 4)[:3]:
        assert niqe(imresize(im.lr, 4.0).clamp(0, 1), 4) > niqe(im.hr, 4)


def test_too_small_and_missing_params(tmp_path, monkeypatch, niqe_params):
    with pytest.raises(ValueError, match="two 96x96 blocks"):
        niqe_of_luma(torch.zeros(100, 150))
    from srdistill.metrics import niqe_metric as niqe_module

    niqe_module.load_params.cache_clear()
    monkeypatch.setenv("SRDISTILL_NIQE_PARAMS", str(tmp_path / "none.npz"))
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path))
    with pytest.raises(CheckpointError, match="niqe_pris_params.npz"):
        niqe_module.load_params()
    niqe_module.load_params.cache_clear()


def _y_of(img: torch.Tensor) -> np.ndarray:
    rgb = (img.double() * 255).round().permute(1, 2, 0).numpy()
    return np.round(16 + rgb @ np.array([65.481, 128.553, 24.966]) / 255)


def test_flat_regions_and_ramps_follow_matlabs_summation_exactly(shared_data, niqe_params):
    """Where a pixel equals its local mean exactly (flat areas, linear ramps), the MSCN
    value is rounding noise whose sign the AGGD fit counts: NIQE must sum the filter's
    taps in MATLAB's order there. BSD100 img_009 has saturated flat areas; the second
    image adds exact flat patches and ramps to a real one."""
    from srdistill.data.io import read_image

    img, _ = read_image(shared_data / "benchmark" / "BSD100" / "img_009.png")
    assert niqe(img) == pytest.approx(reference_niqe(_y_of(img), niqe_params), abs=1e-9)
    other, _ = read_image(shared_data / "benchmark" / "BSD100" / "img_001.png")
    y = _y_of(other)
    y[:60, :200] = 255.0  # saturated sky
    y[100:190, :] = np.round(np.linspace(30, 220, y.shape[1]))[None, :]  # ramps
    y[200:, 300:] = 17.0
    got = niqe_of_luma(torch.from_numpy(y))
    assert got == pytest.approx(reference_niqe(y, niqe_params), abs=1e-9)


def test_binary_search_fit_equals_dense_argmin():
    from srdistill.metrics.niqe_metric import _gamma_table, _nearest_on_grid

    _, r_gam, _, _ = _gamma_table("cpu")
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.uniform(0.0, 0.8, 5000),  # includes values below/above the grid's range
            (r_gam[:-1].numpy() + r_gam[1:].numpy()) / 2,  # exact midpoints: ties
        ]
    )
    dense = np.argmin((r_gam.numpy()[None, :] - x[:, None]) ** 2, axis=1)
    got = _nearest_on_grid(r_gam, torch.from_numpy(x)).numpy()
    assert np.array_equal(got, dense)


def test_a_broken_parameter_file_is_an_error_not_a_silent_na(tmp_path):
    import numpy as np

    from srdistill.errors import DataError
    from srdistill.metrics.niqe_metric import load_params

    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="unreadable or incomplete"):
        load_params(str(junk))
    short = tmp_path / "short.npz"
    np.savez(
        short, mu_pris_param=np.zeros(3), cov_pris_param=np.eye(3), gaussian_window=np.ones((7, 7))
    )
    with pytest.raises(DataError, match=r"expected \(36,\)"):
        load_params(str(short))
