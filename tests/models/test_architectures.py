"""EDSR, RCAN and IMDN: published parameter counts, shapes, and the registry paths every
architecture goes through (spec round trip, meta-device shape check)."""

from __future__ import annotations

import pytest
import torch

from srdistill.config import load_config
from srdistill.engine.checkpoint import load_module, save_module
from srdistill.errors import CheckpointError
from srdistill.models import CARNM, EDSR, IMDN, RCAN, RFDN, build_generator, build_model


def count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_edsr_parameter_counts_match_the_paper():
    # Lim et al. 2017, table 1: EDSR-baseline 1.5 M, EDSR 43 M parameters (x4). The exact
    # counts follow from the layer list in the module docstring (no MeanShift parameters).
    baseline = count(EDSR(4, 16, 64, 1.0))
    large = count(EDSR(4, 32, 256, 0.1))
    assert round(baseline / 1e6, 1) == 1.5 and round(large / 1e6) == 43
    assert (baseline, large) == (1_517_571, 43_089_923)


def test_rcan_parameter_count_matches_the_paper():
    # Zhang et al. 2018 and the efficient-SR tables after it: RCAN x4 has 15.59 M parameters.
    n = count(RCAN(4, 10, 20, 64, 16))
    assert round(n / 1e4) / 100 == 15.59 and n == 15_592_355


@pytest.mark.parametrize("scale, published", [(2, 694), (3, 703), (4, 715)])
def test_imdn_parameter_counts_match_the_paper(scale, published):
    # Hui et al. 2019, table 3: IMDN has 694 K / 703 K / 715 K parameters at x2 / x3 / x4.
    assert round(count(IMDN(scale)) / 1e3) == published


def test_rfdn_parameter_count_matches_the_challenge_report():
    # Zhang et al., AIM 2020 efficient SR challenge report: RFDN (x4, 4 blocks x 50) 0.433 M.
    assert round(count(RFDN(4, 4, 50)) / 1e3) == 433


@pytest.mark.parametrize(
    "net",
    [EDSR(3, 2, 8), RCAN(2, 2, 2, 16, 8), IMDN(4, 2, 16), CARNM(3, 8, 2), RFDN(2, 2, 8),
     EDSR(2, 1, 8, rgb_range=255.0), RFDN(4, 1, 8, rgb_range=255.0)],
)  # fmt: skip
def test_output_shape_and_spec_round_trip(net, tmp_path):
    x = torch.rand(2, 3, 15, 17)
    out = net.eval()(x)
    assert out.shape == (2, 3, 15 * net.scale, 17 * net.scale)
    save_module(net, tmp_path / "net.safetensors")
    again = load_module(tmp_path / "net.safetensors")
    assert type(again) is type(net) and again.spec() == net.spec()
    with torch.no_grad():
        assert torch.equal(again(x), out)  # same weights, same operations


def test_a_spec_that_lies_about_the_tensors_is_refused_before_building(tmp_path):
    save_module(EDSR(2, 2, 8), tmp_path / "net.safetensors")
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(tmp_path / "net.safetensors"), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(
        tensors,
        str(tmp_path / "lying.safetensors"),
        metadata={"srdistill_spec": '{"arch": "EDSR", "scale": 2, "num_blocks": 900, '
                  '"num_features": 4000, "res_scale": 1.0}'},
    )  # fmt: skip
    with pytest.raises(CheckpointError, match="does not match its tensors"):
        load_module(tmp_path / "lying.safetensors")


@pytest.mark.parametrize(
    "name, cls", [("architectures/edsr", EDSR), ("architectures/rcan", RCAN),
                  ("architectures/imdn", IMDN)],
)  # fmt: skip
def test_shipped_configs_build_their_architecture(name, cls):
    for preset in ("quick", "paper"):
        cfg = load_config(name, preset)
        with torch.device("meta"):  # the 43 M-parameter EDSR allocates nothing here
            net = build_generator(cfg.scale, cfg.model)
        assert type(net) is cls and net.scale == cfg.scale
    large = load_config("architectures/edsr", "paper").model
    assert (large.num_blocks, large.num_features, large.res_scale) == (32, 256, 0.1)


def test_build_model_rebuilds_every_new_architecture_from_its_spec():
    for net in (EDSR(2, 1, 4), RCAN(2, 1, 1, 8, 4), IMDN(2, 1, 16)):
        assert build_model(net.spec()).spec() == net.spec()
