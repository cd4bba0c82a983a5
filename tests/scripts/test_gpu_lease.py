"""scripts/gpu_lease.py: the runs a GPU lease trains, and what it sends back."""

import importlib.util
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import torch

from srdistill.config import CONFIG_DIR
from srdistill.deploy.loading import load_sr_model
from srdistill.methods import train
from srdistill.reproduce.runner import is_complete, run_config
from srdistill.reproduce.study_a import jobs
from tests.conftest import write_images

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_lease.py"
spec = importlib.util.spec_from_file_location("gpu_lease", SCRIPT)
gpu_lease = importlib.util.module_from_spec(spec)
sys.modules["gpu_lease"] = gpu_lease  # its dataclasses look their module up
spec.loader.exec_module(gpu_lease)


def test_plan_holds_every_run_of_the_study_and_of_paper_b(tmp_path):
    plan = gpu_lease.plan(tmp_path / "study_a", tmp_path / "reproduce", [])
    names = [j.name for j in plan]
    assert len(names) == len(set(names))
    assert sum(n.startswith("study/") for n in names) == len(jobs(3))
    by_name = {j.name: j for j in plan}
    kd = by_name["study/output_kd_seed2"]
    assert kd.needs == ["study/teacher_seed0"]
    assert kd.cfg.kd.teacher == str(tmp_path / "study_a" / "study" / "teacher_seed0")
    # The folders are the ones `reproduce paper-b-2 --preset quick` uses.
    ml = by_name["tables/x4_ml_seed2"]
    assert ml.cfg.run_dir == tmp_path / "reproduce" / "runs" / "quick" / "x4_ml_seed2"
    assert ml.cfg.mutual.init_from == str(
        tmp_path / "reproduce" / "runs" / "quick" / "pretrain_srresnet32_x4_seed2"
    )
    assert ml.needs == ["tables/pretrain_srresnet32_x4_seed2"]
    assert ml.cfg.mutual.content_loss == "pixel_mse" and ml.cfg.mutual.vgg_weights is None
    assert {n for n in names if n.startswith("tables/x2_")} == {
        f"tables/x2_{m}_seed0" for m in ("independent", "ml", "ml_soft", "confidence")
    }


def test_pack_sends_back_an_evaluable_run_without_optimizer_state(tmp_path):
    train_dir = write_images(tmp_path / "imgs", 3, (64, 56), seed=0)
    cfg = run_config(
        "study_a/student.yaml",
        "study",
        0,
        tmp_path / "gpu",
        [
            "model.num_features=8",
            "train.steps=2",
            "train.batch_size=2",
            "data.patch_size=16",
            f"data.train=[{train_dir}]",
            f"data.val={train_dir}",
            "train.progress=false",
            "train.threads=1",
            "train.val_every=2",
            "train.ckpt_every=1",
        ],
        name="alone",
        config_dir=CONFIG_DIR,
    )
    train(cfg)
    ckpt = cfg.run_dir / "checkpoints" / "step_00000002"
    (ckpt / "discriminator_0.safetensors").write_bytes(b"x" * 5000)  # must stay behind
    job = gpu_lease.Job("study/alone_seed0", cfg, weights=("model*",))
    unfinished = gpu_lease.Job("study/other", replace(cfg, output_dir=str(tmp_path / "no")))
    dest = tmp_path / "out"
    gpu_lease.pack([job, unfinished], dest, limit_bytes=20_000)
    tars = sorted(dest.glob("runs*.tar"))
    assert len(tars) > 1  # split under the size limit
    here = tmp_path / "here"
    for t in tars:
        with tarfile.open(t) as f:
            f.extractall(here, filter="data")
    copy = here / cfg.run_dir.relative_to("/")
    names = {p.name for p in (copy / "checkpoints" / "step_00000002").iterdir()}
    assert names == {"model.safetensors", "state.pt"}
    assert (copy / "checkpoints" / "step_00000001").exists() is False  # final one only
    assert is_complete(copy)
    state = torch.load(copy / "checkpoints" / "step_00000002" / "state.pt", weights_only=False)
    assert state["step"] == 2 and "optimizer" not in state
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        ours = load_sr_model(copy, scale=4).network(x)
        theirs = load_sr_model(cfg.run_dir, scale=4).network(x)
    assert torch.equal(ours, theirs)
