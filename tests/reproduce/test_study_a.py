"""Study A: arms, records, paired contrasts, and rebuilding tables from committed records."""

import csv
import hashlib
import json
import math
import shutil
import statistics

import pytest
import yaml

from srdistill.reproduce.study import image_contrast, paired_contrast, read_curves, seed_spread
from srdistill.reproduce.study_a import (
    ARMS,
    jobs,
    precondition,
    results_markdown,
    study_a,
    teacher_mismatches,
)
from srdistill.reproduce.study_tables import validation_curves as light_model_curves
from tests.conftest import write_images


def fake_results(psnr):
    """results[(arm, seed)] with one network and set, from {(arm, seed): [per-image psnr]}."""
    out = {}
    for (arm, seed), values in psnr.items():
        net = {"alone": "student", "teacher": "teacher"}.get(arm, "exit4")
        rows = [{"image": f"i{i}", "psnr": v, "ssim": 0.5} for i, v in enumerate(values)]
        out[(arm, seed)] = {"networks": {net: {"BSD100": rows}}, "train_seconds": 1.0}
    return out


def test_paired_contrast_mean_interval_and_win_rate():
    res = fake_results(
        {
            ("self_distill", 0): [30.0, 31.0],
            ("self_distill", 1): [30.5, 30.5],
            ("self_distill", 2): [29.0, 29.0],
            ("alone", 0): [29.9, 31.1],  # diff +0.0 (one win, one loss)
            ("alone", 1): [30.0, 30.0],  # diff +0.5 (two wins)
            ("alone", 2): [29.0, 28.0],  # diff +0.5 (one tie, one win)
        }
    )
    c = paired_contrast(res, "self_distill", "exit4", "alone", "student", "BSD100")
    diffs = [0.0, 0.5, 0.5]
    sd = math.sqrt(sum((d - 1 / 3) ** 2 for d in diffs) / 2)
    assert c.mean == pytest.approx(1 / 3)
    assert c.high - c.mean == pytest.approx(4.302653 * sd / math.sqrt(3), rel=1e-6)
    assert c.win_rate == pytest.approx((1 + 2 + 1.5) / 6)
    assert (c.seeds, c.images) == (3, 2)


def test_single_seed_ablation_interval_is_over_images_and_is_reported():
    res = fake_results(
        {
            ("alpha05", 0): [30.2, 31.0, 29.1],
            ("self_distill_warm", 0): [30.0, 31.1, 29.0],  # diffs +0.2, -0.1, +0.1
            ("self_distill_warm", 1): [30.0, 31.0, 29.0],
            ("deep_supervision", 0): [29.9, 31.0, 29.0],  # warm - deep: +0.2 / 3 ...
            ("deep_supervision", 1): [30.0, 31.0, 28.7],  # ... and +0.3 / 3
        }
    )
    c = image_contrast(res, "alpha05", "exit4", "self_distill_warm", "exit4", "BSD100")
    diffs = [0.2, -0.1, 0.1]
    mean = sum(diffs) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2)
    assert c.mean == pytest.approx(mean)
    assert c.high - c.mean == pytest.approx(4.302653 * sd / math.sqrt(3), rel=1e-6)
    assert c.win_rate == pytest.approx(2 / 3) and c.images == 3
    assert image_contrast(res, "alpha05", "exit4", "self_distill_warm", "exit4", "Set5") is None
    assert seed_spread(
        res, "self_distill_warm", "exit4", "deep_supervision", "exit4", "BSD100"
    ) == pytest.approx(abs(0.2 / 3 - 0.3 / 3) / math.sqrt(2))  # sd of two values
    page = results_markdown(res, {}, "study", 3, "plot.png")
    row = "| alpha05/exit4 − self_distill_warm/exit4 | BSD100 |"
    assert f"{row} 1 | {mean:+.3f} | [{c.low:+.3f}, {c.high:+.3f}] over images (1 seed) |" in page
    # A second seed turns the interval into one over seeds, as for the main contrasts.
    res.update(fake_results({("alpha05", 1): [30.0, 31.0, 28.9]}))  # seed 1 diff -0.1 / 3
    two = paired_contrast(res, "alpha05", "exit4", "self_distill_warm", "exit4", "BSD100")
    assert two.seeds == 2 and two.mean == pytest.approx((mean - 0.1 / 3) / 2)
    page = results_markdown(res, {}, "study", 3, "plot.png")
    assert f"{row} 2 | {two.mean:+.3f} | [{two.low:+.3f}, {two.high:+.3f}] over seeds |" in page


def test_curves_plot_the_exit_of_a_multi_exit_run_and_seed_0_only():
    rows = [
        {"step": 250, "val/psnr_exit16": 29.0, "val/psnr_exit4": 28.0},
        {"step": 250, "loss": 0.1},
        {"step": 500, "val/psnr_exit16": 29.5, "val/psnr_exit4": 28.5},
    ]
    curves = {
        "deep_supervision_seed0": rows,
        "alone_seed0": [{"step": 250, "val/psnr_model": 27.0}],
        "alone_seed1": [{"step": 250, "val/psnr_model": 26.0}],
    }
    assert light_model_curves(curves) == {
        "alone": [(250, 27.0)],
        "deep_supervision": [(250, 28.0), (500, 28.5)],
    }


def test_curves_come_from_the_committed_record_like_the_scores(tmp_path):
    records, runs_dir = tmp_path / "records", tmp_path / "runs"
    for folder, psnr in (
        (records / "runs" / "teacher_seed0", 30.0),  # the record the table reads
        (runs_dir / "teacher_seed0", 20.0),  # another run left in the run folder
        (runs_dir / "alone_seed0", 25.0),  # not committed yet
    ):
        folder.mkdir(parents=True)
        (folder / "metrics.jsonl").write_text(json.dumps({"step": 1, "val/psnr_model": psnr}))
    curves = read_curves(records, runs_dir, ["teacher_seed0", "alone_seed0", "alone_seed1"])
    assert {k: v[0]["val/psnr_model"] for k, v in curves.items()} == {
        "teacher_seed0": 30.0,
        "alone_seed0": 25.0,
    }


def test_precondition_uses_the_mean_of_alone_seeds():
    res = fake_results(
        {("teacher", 0): [27.1], ("alone", 0): [26.7], ("alone", 1): [26.9], ("alone", 2): [26.8]}
    )
    gain, holds = precondition(res)
    assert gain == pytest.approx(0.3) and holds
    res[("teacher", 0)]["networks"]["teacher"]["BSD100"][0]["psnr"] = 26.9
    assert precondition(res)[1] is False


def test_jobs_train_the_teacher_first_then_seed_by_seed():
    order = [(a.name, s) for a, s in jobs(3)]
    assert order[0] == ("teacher", 0)
    multi = [a.name for a in ARMS if a.seeds > 1]
    assert order[1 : 1 + len(multi)] == [(n, 0) for n in multi]
    assert order.count(("teacher", 0)) == 1 and ("teacher", 1) not in order
    assert ("alpha05", 1) in order and ("alpha05", 2) not in order  # at most its seeds
    single = {a.name for a in ARMS if a.seeds == 1 and a.name != "teacher"}
    assert {n for n, s in order[-len(single) :]} == single  # one seed: last
    assert {"mse_distill", "feature_kd", "alone_flops"} <= single


TINY = [
    "model.num_features=8",
    "train.steps=2",
    "train.batch_size=2",
    "data.patch_size=16",
    "train.progress=false",
    "train.threads=1",
    "train.val_every=1",
    "train.log_every=1",
    "train.ckpt_every=2",
]


@pytest.mark.slow
def test_study_runs_every_arm_and_rebuilds_from_records(tmp_path):
    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "BSD100", 2, (40, 36), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    records = tmp_path / "records"
    runs = tmp_path / "runs"
    md = study_a("study", 2, runs, records, [str(test_dir)], overrides)
    rows = list(csv.DictReader((records / "results.csv").open()))
    assert list(rows[0]) == [
        "arm",
        "seed",
        "network",
        "set",
        "psnr",
        "ssim",
        "train_seconds",
        "train_flops",
    ]
    assert all(int(r["train_flops"]) > 0 for r in rows)
    # alone_long trains for the teacher's steps plus the warm arm's (2 + 2 here).
    long_run = json.loads((records / "runs" / "alone_long_seed0" / "run.json").read_text())
    alone_run = json.loads((records / "runs" / "alone_seed0" / "run.json").read_text())
    assert long_run["train_flops"]["steps"] == 4 and alone_run["train_flops"]["steps"] == 2
    assert long_run["train_flops"]["total"] == 2 * alone_run["train_flops"]["total"]

    # alone_flops trains until its FLOPs reach the teacher's plus the warm arm's.
    def flops(name):
        run = json.loads((records / "runs" / name / "run.json").read_text())
        return run["train_flops"]

    budget = flops("teacher_seed0")["total"] + flops("self_distill_warm_seed0")["total"]
    matched = flops("alone_flops_seed0")
    assert budget <= matched["total"] < budget + matched["per_step"]
    seen = {(r["arm"], r["seed"], r["network"]) for r in rows}
    for arm in ARMS:
        for seed in range(min(2, arm.seeds)):
            for net, _ in arm.networks:
                assert (arm.name, str(seed), net) in seen, (arm.name, seed, net)
    assert all(r["set"] == "BSD100" and float(r["train_seconds"]) > 0 for r in rows)
    # Warm arms and KD students really used the teacher run.
    warm = json.loads((records / "runs" / "self_distill_warm_seed0" / "run.json").read_text())
    assert warm["method"] == "self_distill"
    cfg = (records / "runs" / "output_kd_seed1" / "config.yaml").read_text()
    assert "teacher_seed0" in cfg
    text = md.read_text()
    assert "Precondition" in text and "| self_distill_warm/exit4 − deep_supervision/exit4 |" in text
    assert (records / "validation_psnr.png").stat().st_size > 1000
    assert (records / "cost_quality.png").stat().st_size > 1000
    assert "teacher_init_kd/student − teacher_init/student" in text
    # Records hold no weights but the teacher's, whose SHA-256 is in its record.
    teacher_rec = records / "runs" / "teacher_seed0"
    assert list(records.rglob("*.safetensors")) == [teacher_rec / "model.safetensors"]
    sha = json.loads((teacher_rec / "eval.json").read_text())["model_sha256"]
    assert sha == hashlib.sha256((teacher_rec / "model.safetensors").read_bytes()).hexdigest()
    # The init-only student started from the teacher's first blocks (its record says
    # which teacher) and its KD twin from the same start.
    init = yaml.safe_load((records / "runs" / "teacher_init_seed0" / "config.yaml").read_text())
    kd = yaml.safe_load((records / "runs" / "teacher_init_kd_seed0" / "config.yaml").read_text())
    assert init["plain"]["init_from"].endswith("teacher_seed0")
    assert kd["kd"]["init_from"] == kd["kd"]["teacher"] == init["plain"]["init_from"]
    # A later session: only the committed records exist; nothing is trained again.
    before = (records / "results.csv").read_text()
    shutil.rmtree(runs)
    # Bicubic is scored once and kept beside the records.
    cached = json.loads((records / "bicubic.json").read_text())
    cached["BSD100"]["psnr"] = 99.999
    (records / "bicubic.json").write_text(json.dumps(cached))
    md = study_a("study", 2, runs, records, [str(test_dir)], overrides)
    assert (records / "results.csv").read_text() == before
    assert "| bicubic | - | - | 99.999 |" in md.read_text()
    assert not (runs / "study").exists() or not list((runs / "study").iterdir())


@pytest.mark.slow
def test_runs_held_elsewhere_are_left_and_the_committed_teacher_is_used(tmp_path):
    from srdistill.engine.lock import RunLock

    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "BSD100", 2, (40, 36), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    records, runs = tmp_path / "records", tmp_path / "runs"
    study_a("study", 1, runs, records, [str(test_dir)], overrides, arms=["teacher"])
    teacher_rec = records / "runs" / "teacher_seed0"
    first = json.loads((teacher_rec / "eval.json").read_text())
    # A new machine: the teacher's record and weights are committed, its run is not here.
    # Another process holds `alone`; this one must skip it (wait 0) and give the KD
    # student the committed teacher without training one.
    shutil.rmtree(runs)
    held = runs / "study" / "alone_seed0"
    held.mkdir(parents=True)
    lock = RunLock(held).acquire()
    try:
        study_a(
            "study",
            1,
            runs,
            records,
            [str(test_dir)],
            overrides,
            wait_seconds=0,
            arms=["teacher", "alone", "output_kd"],
        )
    finally:
        lock.release()
    assert not (records / "runs" / "alone_seed0").exists()
    assert not (runs / "study" / "teacher_seed0").exists()  # not retrained
    kd = (records / "runs" / "output_kd_seed0" / "config.yaml").read_text()
    assert str(teacher_rec / "model.safetensors") in kd
    student = json.loads((records / "runs" / "output_kd_seed0" / "eval.json").read_text())
    assert student["teacher_weights_sha256"] == first["weights_sha256"] is not None
    results = {("teacher", 0): first, ("output_kd", 0): student}
    assert teacher_mismatches(results) == []
    results[("output_kd", 0)] = {**student, "teacher_weights_sha256": "0" * 64}
    assert teacher_mismatches(results) == ["output_kd_seed0"]
    # Weights whose bytes do not match their record are not used: the teacher is trained
    # again (same machine and seed: the same fingerprint, so its record is kept).
    (teacher_rec / "model.safetensors").write_bytes(b"forged")
    shutil.rmtree(runs)
    study_a("study", 1, runs, records, [str(test_dir)], overrides, arms=["feature_kd"])
    assert (runs / "study" / "teacher_seed0" / "status.json").is_file()
    again = json.loads((teacher_rec / "eval.json").read_text())
    assert again["weights_sha256"] == first["weights_sha256"]
    assert (
        again["model_sha256"]
        == hashlib.sha256((teacher_rec / "model.safetensors").read_bytes()).hexdigest()
    )
    with pytest.raises(Exception, match="unknown study arm 'nope'"):
        study_a("study", 1, runs, records, [str(test_dir)], overrides, arms=["nope"])


def test_a_retrained_teacher_is_recorded_beside_the_old_one(tmp_path):
    """Its fingerprint differs (another machine): the old record stays, the new one and
    its weights land in teacher_seed0_<fingerprint>, and both are in the tables."""
    from srdistill.reproduce.study_a import teacher_records

    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "BSD100", 2, (40, 36), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    records, runs = tmp_path / "records", tmp_path / "runs"
    study_a("study", 1, runs, records, [str(test_dir)], overrides, arms=["teacher"])
    old = records / "runs" / "teacher_seed0"
    # As a record made on a GPU lease: another fingerprint and no weights committed.
    rec = json.loads((old / "eval.json").read_text())
    rec["weights_sha256"] = "f" * 64
    (old / "eval.json").write_text(json.dumps(rec))
    (old / "model.safetensors").unlink()
    shutil.rmtree(runs)
    md = study_a("study", 1, runs, records, [str(test_dir)], overrides, arms=["teacher_init"])
    teachers = teacher_records(records, runs / "study")
    assert len(teachers) == 2 and "f" * 64 in teachers
    new = next(fp for fp in teachers if fp != "f" * 64)
    assert (records / "runs" / f"teacher_seed0_{new[:12]}" / "model.safetensors").is_file()
    assert json.loads((old / "eval.json").read_text())["weights_sha256"] == "f" * 64
    text = md.read_text()
    assert "## Teachers" in text and new[:12] in text and "ffffffffffff" in text


def test_contrasts_across_teachers_are_marked():
    from srdistill.reproduce.study import mixes_teachers

    res = fake_results({("teacher_init", 0): [1.0], ("deep_supervision", 0): [1.0]})
    res[("teacher_init", 0)]["teacher_weights_sha256"] = "a"
    res[("deep_supervision", 0)]["teacher_weights_sha256"] = "b"
    assert mixes_teachers(res, "deep_supervision", "teacher_init")
    res[("deep_supervision", 0)]["teacher_weights_sha256"] = "a"
    assert not mixes_teachers(res, "deep_supervision", "teacher_init")
    assert not mixes_teachers(res, "deep_supervision", "alone")  # alone has no teacher


def test_intervals_use_the_exact_t_quantile_for_every_df():
    from srdistill.reproduce.study import t_quantile

    # Set14 has 14 images: df 13, whose quantile is 2.160 (the old table fell back to 1.96).
    assert t_quantile(13) == pytest.approx(2.1604, abs=1e-4)
    assert t_quantile(2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(99) == pytest.approx(1.9842, abs=1e-4)
    values = [0.1 * ((i * 7) % 5) for i in range(14)]
    res = fake_results({("self_distill", 0): values, ("alone", 0): [0.0] * 14})
    c = image_contrast(res, "self_distill", "exit4", "alone", "student", "BSD100")
    sd = statistics.stdev(values)
    assert c.high - c.mean == pytest.approx(2.1604 * sd / math.sqrt(14), rel=1e-4)


def test_a_finished_run_is_evaluated_by_one_process_only(tmp_path):
    """A run trained elsewhere (a GPU lease) arrives complete but unevaluated; while one
    process evaluates it (holding its lock) another leaves it, and evaluates it later."""
    from srdistill.engine.lock import RunLock

    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "BSD100", 2, (40, 36), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    runs = tmp_path / "runs"
    study_a("study", 1, runs, None, [str(test_dir)], overrides, arms=["alone"])
    run_dir = runs / "study" / "alone_seed0"
    first = json.loads((run_dir / "eval.json").read_text())
    (run_dir / "eval.json").unlink()
    lock = RunLock(run_dir).acquire()
    try:
        study_a("study", 1, runs, None, [str(test_dir)], overrides, wait_seconds=0, arms=["alone"])
        assert not (run_dir / "eval.json").exists()  # left to the holder, not evaluated twice
    finally:
        lock.release()
    study_a("study", 1, runs, None, [str(test_dir)], overrides, arms=["alone"])
    again = json.loads((run_dir / "eval.json").read_text())
    assert again["networks"] == first["networks"]  # evaluated, not retrained
    assert again["step"] == first["step"]


def test_runs_resumed_on_another_device_are_listed_apart(tmp_path):
    from srdistill.reproduce.study import device_lines, run_devices
    from srdistill.reproduce.study_a import STUDY_A

    def session(device, step):
        return {"environment": {"device": device}, "started_at_step": step}

    gpu, mixed = tmp_path / "gpu", tmp_path / "mixed"
    for folder, sessions in [
        (gpu, [session("cuda:0", 0), session("cuda:0", 10950)]),
        (mixed, [session("cuda:0", 0), session("cpu", 1614)]),
    ]:
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"sessions": sessions}))
    assert run_devices(gpu) == [("cuda:0", 0)]  # resumed on the same device: one part
    assert run_devices(mixed) == [("cuda:0", 0), ("cpu", 1614)]
    assert run_devices(tmp_path) == []
    results = {
        ("teacher", 0): {"run": "teacher_seed0", "devices": run_devices(gpu)},
        ("self_distill_warm", 0): {"run": "self_distill_warm_seed0", "devices": run_devices(mixed)},
    }
    text = "\n".join(device_lines(results, STUDY_A.arm_index))
    assert "- cuda:0: teacher_seed0" in text
    assert "- cuda:0, then cpu from step 1614: self_distill_warm_seed0" in text
    one_device = {("teacher", 0): results[("teacher", 0)]}
    assert device_lines(one_device, STUDY_A.arm_index) == []  # one device: silent
