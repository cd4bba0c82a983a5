"""The public metric functions: any image form a user holds, PIRM conventions as keywords,
one-line errors for what they cannot score."""

import numpy as np
import pytest
import torch

from srdistill.metrics import MetricUnavailable, ma, niqe, pi, psnr, ssim
from srdistill.metrics import psnr_ssim as tensor_metrics
from tests.conftest import smooth_image


@pytest.fixture
def pair():
    hr = smooth_image(64, 80, seed=3)
    noise = np.random.default_rng(1).normal(0, 8, hr.shape)
    sr = np.clip(np.round(hr + noise), 0, 255).astype(np.uint8)
    return sr, hr


def test_every_image_form_gives_the_same_score(pair):
    sr, hr = pair
    as_tensor = [torch.from_numpy(a).permute(2, 0, 1).float() / 255 for a in (sr, hr)]
    expected = float(tensor_metrics.psnr(*[t.double() for t in as_tensor], 4))
    forms = [
        (sr, hr),  # uint8 HWC arrays
        (sr / 255.0, hr / 255.0),  # float HWC arrays
        tuple(as_tensor),  # float CHW tensors
        tuple(t[None] for t in as_tensor),  # a batch of one
    ]
    for a, b in forms:
        assert psnr(a, b, crop_border=4) == pytest.approx(expected, abs=1e-9)
    grey = [a[..., 1] for a in (sr, hr)]  # HW arrays
    assert psnr(*grey) == pytest.approx(
        float(tensor_metrics.psnr(*[torch.from_numpy(g)[None].double() / 255 for g in grey])),
        abs=1e-9,
    )
    assert 0 < ssim(sr, hr, crop_border=4) < 1
    assert ssim(hr, hr) == pytest.approx(1.0) and psnr(hr, hr) == float("inf")
    assert psnr(sr, hr, y_channel=False) != psnr(sr, hr)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((8, 8, 4), np.uint8), "1 or 3 channels"),
        (torch.zeros(2, 3, 8, 8), "shape"),
        (np.zeros((8, 8, 3), np.int32), "dtype"),
        (np.full((8, 8, 3), 200.0), r"\[0, 1\].*divide by 255"),
        (np.full((8, 8, 3), np.nan), "NaN or infinite"),
        ([[0.5]], "expected an RGB or grey image"),
    ],
)
def test_wrong_inputs_are_one_line_value_errors(bad, message):
    with pytest.raises(ValueError, match=message) as err:
        psnr(bad, bad)
    assert "\n" not in str(err.value)


def test_pairs_and_crops_are_checked(pair):
    sr, hr = pair
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(sr[:32], hr)
    with pytest.raises(ValueError, match="leaves nothing"):
        ssim(sr, hr, crop_border=40)
    with pytest.raises(ValueError, match="non-negative integer"):
        psnr(sr, hr, crop_border=-1)


def test_niqe_function_equals_the_release_computation(shared_data, monkeypatch):
    from srdistill.data.io import read_image
    from srdistill.metrics import niqe_metric

    params = shared_data / "weights" / "niqe_pris_params.npz"
    if not params.is_file():
        pytest.skip("NIQE pristine parameters not in the shared data")
    img, _ = read_image(shared_data / "benchmark" / "Set14" / "baboon.png")
    as_uint8 = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    expected = niqe_metric.niqe(img, 4, params=str(params))
    assert niqe(as_uint8, crop_border=4, params=params) == pytest.approx(expected, abs=1e-12)
    assert niqe(img, crop_border=4, params=params, y_channel=False) != pytest.approx(expected)


def test_missing_model_files_raise_metric_unavailable(tmp_path, monkeypatch):
    for env in ("SRDISTILL_MA_MODEL", "SRDISTILL_NIQE_PARAMS"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no ../shared/data from here
    img = smooth_image(200, 200, seed=0)
    with pytest.raises(MetricUnavailable, match="Ma et al. 2017 model not found"):
        ma(img)
    with pytest.raises(MetricUnavailable, match="Ma et al. 2017 model"):
        pi(img)
    with pytest.raises(MetricUnavailable, match="niqe_pris_params.npz"):
        niqe(img, params=tmp_path / "none.npz")


def test_pi_combines_niqe_and_ma(tmp_path, shared_data, monkeypatch):
    from tests.metrics.test_ma import write_model

    params = shared_data / "weights" / "niqe_pris_params.npz"
    if not params.is_file():
        pytest.skip("NIQE pristine parameters not in the shared data")
    model = tmp_path / "model.mat"
    write_model(model)
    img = smooth_image(200, 220, seed=5)
    n, m = niqe(img, params=params), ma(img, model=model)
    assert pi(img, params=params, model=model) == pytest.approx(((10 - m) + n) / 2)


def test_read_only_arrays_score_without_a_warning(pair):
    """np.asarray(PIL image) is read-only; torch warned on it and the user saw the noise."""
    import warnings

    from PIL import Image

    sr, hr = pair
    frozen = [np.asarray(Image.fromarray(a)) for a in (sr, hr)]
    assert not frozen[0].flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psnr(*frozen) == psnr(sr, hr)


def test_images_the_metrics_cannot_score_are_refused_with_the_reason(shared_data, caplog):
    tiny = np.zeros((1, 1, 3), np.uint8)
    with pytest.raises(ValueError, match="SSIM needs at least 11x11 pixels"):
        ssim(tiny, tiny)
    edge = np.zeros((200, 200, 3), np.uint8)
    edge[:, 100:] = 255  # two levels: every 96x96 block flat or a single step
    for flat in (np.full((200, 200, 3), 128, np.uint8), edge):
        with pytest.raises(ValueError, match="0 of its 4 96x96 blocks have measurable texture"):
            niqe(flat)
    # eval reports such an image as not scored (NaN, one warning), not a crash.
    from srdistill.metrics.registry import score

    value = score("ssim", torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), 0, {})
    assert np.isnan(value) and "SSIM not computed" in caplog.text
