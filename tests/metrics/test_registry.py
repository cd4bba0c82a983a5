"""One metric table: PI is a metric like the others, computed from NIQE and Ma once."""

import pytest
import torch

from srdistill.errors import DataError
from srdistill.metrics import METRICS, score, unavailable
from srdistill.metrics import registry as reg


def test_pi_reuses_niqe_and_ma_values(monkeypatch):
    calls = []

    def fake(name, value):
        def fn(sr, hr, crop):
            calls.append(name)
            return value

        return fn

    monkeypatch.setitem(METRICS, "niqe", reg.Metric("niqe", fake("niqe", 5.0), False, False))
    monkeypatch.setitem(METRICS, "ma", reg.Metric("ma", fake("ma", 7.0), True, False))
    img = torch.rand(3, 8, 8)
    computed: dict[str, float] = {}
    for name in ("niqe", "ma", "pi"):
        score(name, img, None, 0, computed)
    assert computed["pi"] == pytest.approx(((10 - 7.0) + 5.0) / 2)
    assert calls == ["niqe", "ma"]  # each computed once


def test_psnr_through_the_registry_equals_the_function():
    from srdistill.metrics.psnr_ssim import psnr

    torch.manual_seed(0)
    hr = torch.rand(3, 16, 16)
    sr = (hr + 0.05 * torch.randn_like(hr)).clamp(0, 1)
    assert score("psnr", sr, hr, 2) == psnr(sr, hr, 2).item()
    assert METRICS["psnr"].needs_reference and not METRICS["niqe"].needs_reference


def test_unknown_metric_and_unavailable_reasons(monkeypatch, tmp_path):
    with pytest.raises(DataError, match="unknown metric 'lpips'"):
        reg.check_names(["psnr", "lpips"])
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path))  # no NIQE params, no Ma model here
    monkeypatch.delenv("SRDISTILL_MA_MODEL", raising=False)
    reasons = unavailable(["psnr", "niqe", "ma", "pi"])
    assert "psnr" not in reasons and {"ma", "pi"} <= set(reasons)
