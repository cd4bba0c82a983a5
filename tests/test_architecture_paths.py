"""Every path works for every architecture: train (plain; self-distillation where the body
is a chain; KD across architectures; SRGAN cohort generators), then eval, extract,
tiled upscale, profile and ONNX export through the CLI, and a two-process DDP run."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from srdistill.cli import main
from srdistill.config import config_from_dict
from srdistill.deploy.loading import load_sr_model
from srdistill.methods import train
from tests.conftest import tiny_config

TINY = {
    "edsr": {"arch": "edsr", "num_blocks": 2, "num_features": 8},
    "rcan": {"arch": "rcan", "num_groups": 2, "num_blocks": 1, "num_features": 8, "reduction": 4},
    "imdn": {"arch": "imdn", "num_blocks": 2, "num_features": 16},
    "carn_m": {"arch": "carn_m", "num_features": 8, "groups": 2},
    "rfdn": {"arch": "rfdn", "num_blocks": 2, "num_features": 8},
}
LABELS = {"edsr": "EDSR-2x8", "rcan": "RCAN-2x1x8", "imdn": "IMDN-2x16", "carn_m": "CARN-M-8",
          "rfdn": "RFDN-2x8"}  # fmt: skip
# RFDN's attention pools 7-pixel windows of a half-size map: LR inputs of 15 px or more.
LR_SIDE = {"rfdn": 16}


def plain_run(tmp_path, image_dirs, arch: str, **changes):
    patch = 2 * LR_SIDE.get(arch, 8)
    raw = tiny_config(tmp_path, image_dirs, method="plain", train__steps=2, data__patch_size=patch,
                      train__ckpt_every=2, model=TINY[arch], **changes)  # fmt: skip
    return train(config_from_dict(raw)).run_dir


@pytest.mark.parametrize("arch", sorted(TINY))
def test_each_architecture_trains_evaluates_upscales_profiles_and_exports(
    arch, tmp_path, image_dirs
):
    run = plain_run(tmp_path, image_dirs, arch)
    assert json.loads((run / "run.json").read_text())["architecture"] == arch
    assert load_sr_model(run).label == LABELS[arch]
    out = tmp_path / "eval"
    assert main(["eval", str(run), "--sets", str(image_dirs["test"]), "--out", str(out)]) == 0
    assert LABELS[arch] in (out / "eval_summary.json").read_text()
    up = tmp_path / "up"
    tile = str(LR_SIDE.get(arch, 10))
    assert main(["upscale", str(run), str(image_dirs["test"]), "-o", str(up), "--tile", tile]) == 0
    assert len(list(up.glob("*.png"))) == 2
    report = tmp_path / "profile.md"
    side = LR_SIDE.get(arch, 12)
    assert main(["profile", str(run), "--input-size", f"{side}x{side}", "--repeats", "1",
                 "--out", str(report)]) == 0  # fmt: skip
    assert LABELS[arch] in report.read_text()
    assert main(["export", str(run), "-o", str(tmp_path / "net.onnx")]) == 0  # onnxruntime-checked


@pytest.mark.parametrize("arch, groups", [("edsr", "num_blocks"), ("rcan", "num_groups")])
def test_chain_architectures_self_distil_and_cut_out_exits(arch, groups, tmp_path, image_dirs):
    model = {**TINY[arch], "arch": f"multi_exit_{arch}", groups: 3, "exits": [1]}
    raw = tiny_config(tmp_path, image_dirs, train__steps=2, train__ckpt_every=2, model=model)
    run = train(config_from_dict(raw)).run_dir
    light = tmp_path / "light.safetensors"
    assert main(["extract", str(run), "--exit", "1", "-o", str(light)]) == 0
    net = load_sr_model(light).network
    assert net.depth == 1 and type(net).__name__ == arch.upper()
    with torch.no_grad():
        x = torch.rand(1, 3, 8, 8)
        full = load_sr_model(run).full
        # The same float32 operations on the same weights: equal to rounding.
        assert torch.allclose(net(x), full.forward_exit(x, 1), atol=1e-5)


def test_kd_distils_an_edsr_teacher_into_an_imdn_student_with_feature_kd(tmp_path, image_dirs):
    teacher = plain_run(tmp_path / "t", image_dirs, "edsr")
    raw = tiny_config(tmp_path, image_dirs, method="kd", train__steps=2, model=TINY["imdn"])
    raw["kd"] = {"teacher": str(teacher), "feature": "fitnets"}  # widths 16 vs 8: an adaptor
    result = train(config_from_dict(raw))
    logged = (result.run_dir / "metrics.jsonl").read_text()
    assert "fitnets_blocks.1" in logged and "output_kd" in logged
    assert load_sr_model(result.run_dir).label == LABELS["imdn"]


def test_an_srgan_cohort_of_edsr_generators_trains(tmp_path, image_dirs):
    pretrained = plain_run(tmp_path / "p", image_dirs, "edsr")
    raw = tiny_config(tmp_path, image_dirs, method="mutual_gan", train__steps=2,
                      model=TINY["edsr"])  # fmt: skip
    raw["mutual"] = {"content_loss": "l1", "disc_features": 8, "init_from": str(pretrained)}
    run = train(config_from_dict(raw)).run_dir
    for member in (0, 1):
        assert (
            load_sr_model(run, member=member).network.spec()
            == load_sr_model(pretrained).network.spec()
        )


@pytest.mark.slow
def test_a_two_process_ddp_run_trains_an_rcan(tmp_path, image_dirs):
    from tests.engine.test_distributed import torchrun

    raw = tiny_config(tmp_path, image_dirs, method="plain", train__steps=2, train__ckpt_every=2,
                      train__batch_size=4, model=TINY["rcan"])  # fmt: skip
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = torchrun(path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_sr_model(tmp_path / "runs" / "tiny").label == LABELS["rcan"]
