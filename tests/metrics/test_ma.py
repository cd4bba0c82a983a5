"""Ma et al. 2017: feature pieces against independent computations, the forest against a
per-tree walk, the model file reader on files in the release's layout, and Ma/PI in eval."""

import math

import numpy as np
import pytest
import scipy.io
import torch
from scipy.fft import dctn
from scipy.special import gamma
from scipy.stats import gennorm

from srdistill.errors import CheckpointError
from srdistill.eval.evaluate import bicubic_upscaler, evaluate, unavailable_metrics
from srdistill.metrics import ma_metric as ma
from srdistill.metrics.ma_metric import stand_in_forest_struct
from srdistill.metrics.perceptual import MetricUnavailable, ma_score, perceptual_index
from tests.conftest import write_images

# --- features ---------------------------------------------------------------------------


def reference_ggd_shape(v: np.ndarray) -> float:
    grid = 0.03 + 0.001 * np.arange(9971)
    r = gamma(1 / grid) * gamma(3 / grid) / gamma(2 / grid) ** 2
    rho = np.var(v, ddof=1) / (np.mean(np.abs(v - v.mean())) ** 2 + 1e-7)
    return float(grid[np.argmin(np.abs(rho - r))])


def test_ggd_shape_matches_a_full_grid_search():
    rng = np.random.default_rng(0)
    rows = [rng.standard_t(df, 48) for df in (2, 3, 5, 30) for _ in range(5)]
    rows.append(np.zeros(48))  # flat block: shape 10, like the reference
    got = ma.ggd_shape(torch.from_numpy(np.stack(rows)))
    assert got.tolist() == pytest.approx([reference_ggd_shape(r) for r in rows], abs=1e-12)


@pytest.mark.parametrize("shape", [0.7, 1.0, 2.0, 4.0])
def test_ggd_shape_recovers_the_shape_of_samples(shape):
    samples = gennorm.rvs(shape, scale=3.0, size=400_000, random_state=1)
    assert float(ma.ggd_shape(torch.from_numpy(samples))) == pytest.approx(shape, rel=0.05)


def reference_dct_blocks(img: np.ndarray) -> np.ndarray:
    """MATLAB blkproc(img, [3 3], [2 2], @dct2), one block at a time."""
    h, w = img.shape
    nh, nw = math.ceil(h / 3), math.ceil(w / 3)
    padded = np.zeros((3 * nh + 4, 3 * nw + 4))
    padded[2 : 2 + h, 2 : 2 + w] = img
    return np.stack(
        [
            dctn(padded[3 * i : 3 * i + 7, 3 * j : 3 * j + 7], norm="ortho")
            for i in range(nh)
            for j in range(nw)
        ]
    )


def test_dct_blocks_follow_blkproc():
    img = np.random.default_rng(2).random((10, 14))
    got = ma.dct_blocks(torch.from_numpy(img)).numpy()
    np.testing.assert_allclose(got, reference_dct_blocks(img), atol=1e-12)


def test_orientation_bands_partition_the_ac_coefficients_symmetrically():
    masks = ma._orientation_masks()
    assert masks.sum(dim=(1, 2)).tolist() == [16, 16, 16]
    assert not masks[:, 0, 0].any() and int(masks.sum(0).max()) == 1
    assert torch.equal(masks[2], masks[0].t()) and torch.equal(masks[1], masks[1].t())


def test_spatial_features_are_singular_values_of_distinct_patches():
    img = np.random.default_rng(3).random((12, 17))
    padded = np.zeros((15, 20))
    padded[:12, :17] = img
    cols = np.stack(
        [padded[i : i + 5, j : j + 5].reshape(-1) for i in range(0, 15, 5) for j in range(0, 20, 5)]
    )
    got = ma.spatial_features(torch.from_numpy(img)).numpy()
    np.testing.assert_allclose(got, np.linalg.svd(cols, compute_uv=False), atol=1e-12)
    flat = ma.spatial_features(torch.full((20, 20), 0.5, dtype=torch.float64))
    assert flat[0] > 0 and flat[1:].abs().max() < 1e-12


def test_gaussian_pyramid_keeps_even_rows_of_the_filtered_image():
    img = torch.rand(9, 8, dtype=torch.float64)
    half = ma._gaussian_pyramid(img, scales=2)[1]
    g = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * 0.25))
    k = np.outer(g, g) / np.outer(g, g).sum()
    padded = np.pad(img.numpy(), 1)
    filtered = np.array(
        [[(padded[i : i + 3, j : j + 3] * k).sum() for j in range(8)] for i in range(9)]
    )
    np.testing.assert_allclose(half.numpy(), filtered[1::2, 1::2], atol=1e-12)


@pytest.fixture(scope="module")
def set5_features(request):
    from tests.conftest import shared_data_root

    root = shared_data_root()
    if root is None:
        pytest.skip("real benchmark images not found (set SRDISTILL_DATA or add ../shared/data)")
    from srdistill.data.io import read_image
    from srdistill.ops.color import luma_8bit
    from srdistill.ops.imresize import imresize

    hr, _ = read_image(root / "benchmark" / "Set5" / "bird.png")
    blurred = imresize(imresize(hr, 0.25), 4.0)
    return [ma.ma_features(luma_8bit(x)[4:-4, 4:-4]) for x in (hr, blurred)]


def test_features_of_a_real_image_have_the_published_sizes(set5_features):
    for feats in set5_features:
        assert tuple(f.numel() for f in feats) == ma.FEATURE_SIZES
        assert all(bool(torch.isfinite(f).all()) for f in feats)


def test_features_see_the_loss_of_detail_of_bicubic_upscaling(set5_features):
    (_, _, svd_hr), (_, _, svd_blur) = set5_features
    # Per scale, the smallest 20 of 25 singular values carry the fine detail.
    tail = lambda s: float(s.reshape(3, 25)[0, 5:].sum())  # noqa: E731
    assert tail(svd_blur) < 0.6 * tail(svd_hr)


# (set, image, top, left, height, width, flat regions): crops of real images; the last has
# exactly flat regions (a saturated sky and a black corner) written into it.
RELEASE_CASES = [
    ("BSD100", "img_001.png", 40, 60, 96, 128, False),
    ("Set14", None, 100, 120, 104, 120, False),
    ("Urban100", None, 0, 0, 128, 136, False),
    ("BSD100", "img_003.png", 0, 0, 112, 144, True),
]


@pytest.mark.parametrize(
    "case", RELEASE_CASES, ids=lambda c: f"{c[0]}-{'flat' if c[6] else 'real'}"
)
def test_features_equal_an_independent_transcription_of_the_release(case, shared_data):
    from srdistill.data.io import read_image
    from srdistill.ops.color import luma_8bit
    from tests.metrics import matlab_ma

    set_name, image, top, left, height, width, flat = case
    folder = shared_data / "benchmark" / set_name
    path = folder / image if image else sorted(folder.glob("*.png"))[0]
    luma = luma_8bit(read_image(path)[0], True)[top : top + height, left : left + width]
    luma = luma.to(torch.float64).clone()
    if flat:
        luma[:40, :] = 255.0
        luma[80:, 100:] = 0.0
    assert luma.shape == (height, width)
    ours = ma.ma_features(luma)
    release = matlab_ma.feature_all(luma.numpy())
    for name, got, want in zip(("local", "global", "spatial"), ours, release, strict=True):
        # Singular values are only determined to eps * the largest one (backward-stable
        # SVD), so numerically zero ones are compared on that scale.
        floor = 1e-12 * np.abs(want).max() if name == "spatial" else 1e-12
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=floor, err_msg=name)


def test_too_small_image_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        ma.ma_features(torch.rand(40, 80) * 255)


# --- forest and model file --------------------------------------------------------------


def walk(struct: dict, x: np.ndarray) -> float:
    """Per tree, follow the splits from the root: the reference for RegressionForest."""
    preds = []
    for t in range(struct["lDau"].shape[1]):
        k = 0
        while struct["nodestatus"][k, t] != -1:
            f = int(struct["mbest"][k, t]) - 1
            k = (
                int(struct["lDau"][k, t] if x[f] <= struct["upper"][k, t] else struct["rDau"][k, t])
                - 1
            )
        preds.append(struct["avnode"][k, t])
    return float(np.mean(preds))


def test_forest_prediction_matches_a_per_tree_walk():
    struct = stand_in_forest_struct(n_features=6, n_trees=25, depth=4, seed=0)
    forest = ma.forest_from_struct(struct)
    x = np.random.default_rng(1).normal(size=(7, 6))
    np.testing.assert_allclose(forest.predict(x), [walk(struct, row) for row in x], atol=1e-12)
    struct["coef"] = np.array([1.0, 2.0])  # bias correction, as regRF_predict applies it
    corrected = ma.forest_from_struct(struct).predict(x)
    np.testing.assert_allclose(corrected, [1 + 2 * walk(struct, row) for row in x], atol=1e-12)


def write_model(path, forests=None, linear=(0.5, 0.2, 0.3, 0.4)):
    if forests is None:
        forests = [stand_in_forest_struct(n, 10, 3, seed=i) for i, n in enumerate(ma.FEATURE_SIZES)]
    rf = np.empty((len(forests), 1), dtype=object)
    for i, f in enumerate(forests):
        rf[i, 0] = f
    scipy.io.savemat(path, {"model": {"rf": rf, "linear": np.asarray(linear)[:, None]}})
    return forests


def test_model_file_in_the_release_layout_scores_features(tmp_path):
    path = tmp_path / "model.mat"
    forests = write_model(path)
    model = ma.load_ma_model(str(path))
    rng = np.random.default_rng(5)
    feats = tuple(torch.from_numpy(rng.normal(size=n)) for n in ma.FEATURE_SIZES)
    s = [walk(f, v.numpy()) for f, v in zip(forests, feats, strict=True)]
    assert model.score(feats) == pytest.approx(0.5 + 0.2 * s[0] + 0.3 * s[1] + 0.4 * s[2])


def test_wrong_model_files_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"not a mat file" * 20)
    two = tmp_path / "two.mat"
    write_model(
        two, forests=[stand_in_forest_struct(18, 3, 2, 0), stand_in_forest_struct(45, 3, 2, 1)]
    )
    wide = tmp_path / "wide.mat"
    write_model(wide, forests=[stand_in_forest_struct(n, 3, 2, 0) for n in (99, 45, 75)])
    other = tmp_path / "other.mat"
    scipy.io.savemat(other, {"weights": np.ones(3)})
    for path, message in [
        (junk, "not a readable MATLAB"),
        (two, "expected 3 forests"),
        (wide, "splits on feature"),
        (other, "not the Ma et al. 2017 model"),
    ]:
        with pytest.raises(CheckpointError, match=message) as err:
            ma.load_ma_model(str(path))
        assert "\n" not in str(err.value)


# --- Ma and PI through ma_score and evaluate --------------------------------------------


def test_without_the_model_ma_and_pi_are_unavailable(monkeypatch, tmp_path):
    monkeypatch.delenv("SRDISTILL_MA_MODEL", raising=False)
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path))  # a data root without the model
    with pytest.raises(MetricUnavailable, match="Ma et al. 2017 model not found"):
        ma_score(torch.rand(3, 80, 80))
    reasons = unavailable_metrics(["psnr", "ma", "pi"])
    assert set(reasons) == {"ma", "pi"} and "SRDISTILL_MA_MODEL" in reasons["ma"]


def test_with_a_model_eval_reports_ma_and_pi(tmp_path, monkeypatch, shared_data):
    niqe_params = shared_data / "weights" / "niqe_pris_params.npz"
    if not niqe_params.is_file():
        pytest.skip("NIQE pristine parameters not in the shared data")
    monkeypatch.setenv("SRDISTILL_NIQE_PARAMS", str(niqe_params))
    model_path = tmp_path / "model.mat"
    write_model(model_path)
    monkeypatch.setenv("SRDISTILL_MA_MODEL", str(model_path))
    folder = write_images(tmp_path / "imgs", 1, (200, 200), seed=7)
    result = evaluate(bicubic_upscaler(2), [str(folder)], 2, metrics=["niqe", "ma", "pi"])
    row = result.rows[0]
    assert unavailable_metrics(["ma", "pi"]) == {}
    assert math.isfinite(row["ma"]) and row["pi"] == pytest.approx(
        perceptual_index(row["niqe"], row["ma"])
    )
    # The same score straight from the features of the SR image's Y channel, cropped by
    # the scale (PIRM's convention).
    from srdistill.data.datasets import load_benchmark
    from srdistill.eval.evaluate import super_resolve
    from srdistill.ops.color import luma_8bit

    sr = super_resolve(bicubic_upscaler(2), load_benchmark(str(folder), 2)[0].lr)
    features = ma.ma_features(luma_8bit(sr)[2:-2, 2:-2])
    assert row["ma"] == pytest.approx(ma.load_ma_model(str(model_path)).score(features))
