"""Study C on tiny settings: a given teacher (never trained), paired students, the
compute control, committed student weights, and a page that rebuilds from records."""

import csv
import json
import math
import shutil

import pytest
import torch

from srdistill.engine.checkpoint import save_module
from srdistill.models import IMDN
from srdistill.reproduce.study import file_sha256
from srdistill.reproduce.study_c import ARMS, STUDY_C, study_c
from tests.conftest import write_images

TINY = [
    "model.num_blocks=1",
    "model.num_features=16",
    "train.steps=2",
    "train.batch_size=2",
    "data.patch_size=32",
    "train.progress=false",
    "train.threads=1",
    "train.val_every=2",
    "train.log_every=1",
    "train.ckpt_every=2",
]


def test_the_declaration_pairs_every_kd_arm_with_its_student_alone():
    names = [a.name for a in ARMS]
    assert names[0] == "teacher" and ARMS[0].seeds == 1
    for student in ("imdn3x64", "imdn4x32"):
        for arm in ("alone", "output_kd", "dukd", "feature_kd", "alone_long"):
            assert f"{student}_{arm}" in names
    # Only the depth student can start as a slice of the teacher.
    assert "imdn3x64_teacher_init" in names and "imdn4x32_teacher_init" not in names
    long = STUDY_C.arm_by_name["imdn4x32_alone_long"]
    assert long.flops_of == ("imdn4x32_dukd",) and not long.uses_teacher


def test_study_c_trains_a_tiny_study_and_rebuilds_from_records(tmp_path):
    torch.manual_seed(0)
    teacher = tmp_path / "teacher.safetensors"
    save_module(IMDN(4, 2, 16), teacher)
    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "BSD100", 2, (64, 48), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    records, runs = tmp_path / "records" / "study_c", tmp_path / "runs"
    arms = ["teacher", "imdn3x64_alone", "imdn3x64_dukd", "imdn3x64_teacher_init"]
    arms += ["imdn3x64_alone_long"]
    kwargs = dict(sets=[str(test_dir)], overrides=overrides, arms=arms, teacher=teacher)
    md = study_c("study", 2, runs, records, **kwargs).read_text()

    # The teacher is scored and fingerprinted, never trained, its weights not committed.
    t_rec = json.loads((records / "runs" / "teacher_seed0" / "eval.json").read_text())
    assert t_rec["model_sha256"] == file_sha256(teacher) and t_rec["step"] is None
    assert not (records / "runs" / "teacher_seed0" / "model.safetensors").exists()
    assert not (runs / "study" / "teacher_seed0" / "checkpoints").exists()
    # Every student learnt from that teacher, and its final network is committed.
    for name in ("imdn3x64_dukd_seed0", "imdn3x64_teacher_init_seed1"):
        rec = json.loads((records / "runs" / name / "eval.json").read_text())
        assert rec["teacher_weights_sha256"] == t_rec["weights_sha256"]
        assert rec["model_sha256"] == file_sha256(records / "runs" / name / "model.safetensors")
    # The compute control trains as many steps as match DUKD's FLOPs.
    flops = json.loads((records / "flops.json").read_text())
    steps = json.loads((records / "runs" / "imdn3x64_alone_long_seed0" / "status.json").read_text())
    want = math.ceil(flops["imdn3x64_dukd"]["per_step"] * 2 / flops["imdn3x64_alone"]["per_step"])
    assert steps["step"] == want > 2

    rows = list(csv.DictReader((records / "results.csv").open()))
    assert list(rows[0]) == [
        "arm", "seed", "network", "set", "psnr", "ssim", "train_seconds", "train_flops"
    ]  # fmt: skip
    assert {(r["arm"], r["seed"]) for r in rows} >= {("imdn3x64_dukd", "1"), ("teacher", "0")}
    assert "## Preconditions" in md and "the teacher is stronger than imdn3x64_alone" in md
    # A random tiny teacher is not the published IMDN: said, and no contrast is read.
    assert "vs 27.56: does NOT hold (not the published network)" in md
    assert "A precondition does not hold" in md
    assert "| imdn3x64_dukd − imdn3x64_alone | psnr | BSD100 | 2 |" in md

    # From the records alone: the same page and csv, nothing trained.
    before = {p: (records / p).read_bytes() for p in ("results.md", "results.csv")}
    shutil.rmtree(runs)
    study_c("study", 2, runs, records, train_missing=False, **kwargs)
    assert {p: (records / p).read_bytes() for p in before} == before
    assert not list((runs / "study").glob("*_seed*/checkpoints"))


def test_a_record_trained_with_other_settings_is_refused(tmp_path):
    torch.manual_seed(0)
    teacher = tmp_path / "teacher.safetensors"
    save_module(IMDN(4, 2, 16), teacher)
    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "BSD100", 1, (64, 48), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    records, runs = tmp_path / "records", tmp_path / "runs"
    kwargs = dict(sets=[str(test_dir)], arms=["imdn4x32_alone"], teacher=teacher)
    study_c("study", 1, runs, records, overrides=overrides, **kwargs)
    from srdistill.errors import ConfigError

    with pytest.raises(ConfigError, match=r"optim.lr: 0.0005 -> 0.001"):
        study_c("study", 1, runs, records, overrides=[*overrides, "optim.lr=1e-3"], **kwargs)
