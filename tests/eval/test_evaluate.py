import math

from srdistill.eval.evaluate import bicubic_upscaler, evaluate, unavailable_metrics
from tests.conftest import write_images


def test_missing_niqe_model_is_reported_not_raised(tmp_path, monkeypatch):
    from srdistill.metrics import niqe_metric as niqe_module

    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("SRDISTILL_NIQE_PARAMS", raising=False)
    niqe_module.load_params.cache_clear()
    folder = write_images(tmp_path / "imgs", 1, (200, 200))
    result = evaluate(bicubic_upscaler(2), [str(folder)], 2, metrics=["psnr", "niqe", "pi"])
    row = result.rows[0]
    assert math.isfinite(row["psnr"]) and math.isnan(row["niqe"]) and math.isnan(row["pi"])
    reasons = unavailable_metrics(["psnr", "niqe", "pi"])
    assert "niqe_pris_params.npz" in reasons["niqe"] and "pi" in reasons
    niqe_module.load_params.cache_clear()
