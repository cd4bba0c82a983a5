import csv
import json
import math
import statistics

import pytest
import torch

from srdistill.config import CONFIG_DIR
from srdistill.reproduce.cohort_eval import (
    COHORT,
    classification,
    cohort_mean,
    colour_shift,
    crop_positions,
    roc_auc,
)
from srdistill.reproduce.cohort_tables import discriminator_value
from srdistill.reproduce.study import Arm, Study, StudySpec, paired_contrast
from srdistill.reproduce.study_b import ARMS, TRADE_OFF_ENDS, check_preconditions, study_b
from srdistill.reproduce.study_tables import line_excess, scalar_contrast
from tests.conftest import write_images

TINY = [
    "model.num_blocks=1",
    "model.num_features=8",
    "mutual.disc_features=8",
    "train.steps=2",
    "train.batch_size=2",
    "data.patch_size=32",
    "train.progress=false",
    "train.threads=1",
    "train.val_every=2",
    "train.log_every=1",
    "train.ckpt_every=2",
]


def test_roc_auc_and_accuracy_of_a_discriminator():
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1], [0.9]) == 0.0
    assert roc_auc([0.5, 0.7], [0.5, 0.1]) == pytest.approx((0.5 + 1 + 1 + 1) / 4)
    c = classification([0.9, 0.4], [0.2, 0.6])  # one right of each kind
    assert c["accuracy"] == 0.5 and c["p_real"] == pytest.approx(0.65)


def test_colour_shift_is_the_mean_channel_offset_in_levels():
    hr = torch.full((3, 8, 8), 0.5)
    sr = hr.clone()
    sr[0] += 6 / 255  # red lifted by 6 levels, others equal: mean shift 2 levels
    assert colour_shift(sr, hr, 4) == pytest.approx(2.0, abs=1e-4)
    assert colour_shift(hr, hr, 4) == 0.0


def test_crops_are_the_same_for_every_arm_and_inside_the_image():
    a = crop_positions((3, 100, 80), 7, 3, 32)
    assert a == crop_positions((3, 100, 80), 7, 3, 32)  # fixed by the image index
    assert a != crop_positions((3, 100, 80), 8, 3, 32)
    assert all(0 <= y <= 68 and 0 <= x <= 48 for y, x in a)


def _fake(arm_scores, bsd_key="BSD100"):
    """results[(arm, seed)] from {(arm, seed): (member0 psnrs, member1 psnrs)}."""
    out = {}
    for (arm, seed), (m0, m1) in arm_scores.items():

        def rows(values):
            return [
                {"image": f"i{i}", "psnr": v, "ssim": 0.5, "niqe": 6 - v / 10, "color_shift": 0.1}
                for i, v in enumerate(values)
            ]

        nets = {"member0": {bsd_key: rows(m0)}, "member1": {bsd_key: rows(m1)}}
        nets[COHORT] = cohort_mean([nets["member0"], nets["member1"]])
        out[(arm, seed)] = {"networks": nets, "train_seconds": 1.0}
    return out


def test_contrasts_pair_seeds_on_the_mean_of_the_two_members():
    res = _fake(
        {
            ("ml", 0): ([30.0, 31.0], [30.2, 31.2]),  # cohort mean 30.1, 31.1
            ("ml", 1): ([29.0, 29.0], [29.0, 29.0]),
            ("independent", 0): ([30.0, 31.0], [30.0, 31.0]),  # diff +0.1 per image
            ("independent", 1): ([28.5, 28.5], [28.7, 28.7]),  # diff +0.4 per image
        }
    )
    c = paired_contrast(res, "ml", COHORT, "independent", COHORT, "BSD100")
    diffs = [0.1, 0.4]
    half = 12.706205 * statistics.stdev(diffs) / math.sqrt(2)  # exact t, df 1
    assert c.mean == pytest.approx(0.25) and c.high - c.mean == pytest.approx(half, rel=1e-6)
    assert c.seeds == 2 and c.win_rate == 1.0
    # NIQE: lower is better, so A's higher PSNR (lower NIQE here) is a win too.
    n = paired_contrast(res, "ml", COHORT, "independent", COHORT, "BSD100", "niqe", False)
    assert n.mean == pytest.approx(-0.025) and n.win_rate == 1.0


def test_trade_off_excess_is_zero_on_the_brake_line_and_measures_a_shift_off_it():
    # _fake puts every cohort on the line NIQE = 6 - PSNR / 10: a mere brake.
    res = _fake(
        {
            ("independent", 0): ([26.0], [26.0]),
            ("confidence", 0): ([27.0], [27.0]),
            ("ml", 0): ([26.4], [26.4]),
            ("ml", 1): ([26.4], [26.4]),  # no independent/confidence of seed 1: not used
        }
    )
    on_line = line_excess(res, "ml", "BSD100", TRADE_OFF_ENDS, COHORT)
    assert on_line == [pytest.approx(0.0, abs=1e-9)]
    for member in ("member0", "member1"):
        res[("ml", 0)]["networks"][member]["BSD100"][0]["niqe"] -= 0.2
    res[("ml", 0)]["networks"][COHORT] = cohort_mean(
        [res[("ml", 0)]["networks"]["member0"], res[("ml", 0)]["networks"]["member1"]]
    )
    assert line_excess(res, "ml", "BSD100", TRADE_OFF_ENDS, COHORT) == [pytest.approx(-0.2)]


def test_preconditions_fail_on_a_collapsed_cohort_and_say_so():
    res = _fake({("independent", 0): ([24.0], [24.1]), ("ml", 0): ([26.5], [26.4])})
    pre = {
        "networks": {
            "pretrained": {
                "BSD100": [
                    {"image": "i0", "psnr": 26.6, "ssim": 0.7, "niqe": 6.0, "color_shift": 0.1}
                ]
            }
        }
    }
    res[("pretrained", 0)] = pre
    checked = check_preconditions(res, {"BSD100": {"psnr": 25.9}})
    by_text = {p.text.split(":")[0]: r for p, r in checked}
    assert by_text["the pretrained generator beats bicubic by ≥ 0.5 dB on Set5 and BSD100"] is None
    collapse = next(r for p, r in checked if p.text.startswith("no collapse"))
    assert collapse[1] is False and "2.60 dB" in collapse[0]  # 26.6 - 24.0
    gan = next(r for p, r in checked if p.text.startswith("the GAN"))
    assert gan is not None  # independent NIQE 3.595 vs pretrained 6.0: lower by > 0.3
    assert gan[1] is True


def test_discriminator_contrast_is_paired_by_seed():
    def rec(auc):
        m = {"own": {"auc": auc, "accuracy": 0.5}, "peer": {"auc": auc, "accuracy": 0.5}}
        return {"discriminators": {"members": [m, m], "agreement": {"mean_abs_diff": 0.1}}}

    res = {("ml", 0): rec(0.8), ("ml", 1): rec(0.7), ("independent", 0): rec(0.6)}
    res[("independent", 1)] = rec(0.6)
    mean, low, high, n = scalar_contrast(
        res, "ml", "independent", lambda rec: discriminator_value(rec, "own_auc")
    )
    assert n == 2 and mean == pytest.approx(0.15) and low < mean < high


def test_the_runner_takes_any_declared_study(tmp_path):
    """The runner names no arm, network or set: a study declared here runs on it."""
    train_dir = write_images(tmp_path / "train", 3, (64, 56), seed=0)
    test_dir = write_images(tmp_path / "Toy", 1, (40, 36), seed=9)
    seen = []

    def evaluator(spec, arm, source, sets, out_dir):
        seen.append((arm.name, source.name))
        return {"networks": {"net": {"Toy": [{"image": "a", "psnr": float(len(arm.name))}]}}}

    spec = StudySpec(
        name="toy",
        scale=4,
        arms=(
            Arm("base", "study_a/student.yaml", networks=(("net", None),), seeds=1),
            Arm("other", "study_a/student.yaml", ("plain.loss=mse",), (("net", None),), (), 2),
        ),
        teacher="base",
        evaluator=evaluator,
    )
    plain = [o for o in TINY if not o.startswith(("mutual.", "model.num_blocks"))]
    overrides = [*plain, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    runs, records = tmp_path / "runs", tmp_path / "rec"
    study = Study(spec, "study", runs, records, [str(test_dir)], overrides, CONFIG_DIR)
    results = study.run_all(spec.jobs(2), True, 0)
    assert sorted(results) == [("base", 0), ("other", 0), ("other", 1)]
    assert ("other", "other_seed1") in seen and results[("other", 1)]["seed"] == 1
    assert (tmp_path / "rec" / "runs" / "other_seed1" / "eval.json").is_file()


@pytest.mark.slow
def test_study_b_trains_a_tiny_cohort_study_and_rebuilds_from_records(tmp_path):
    train_dir = write_images(tmp_path / "train_imgs", 3, (64, 56), seed=0)
    # NIQE needs two 96-px blocks: test images of 208 x 112.
    test_dir = write_images(tmp_path / "BSD100", 2, (208, 112), seed=100)
    overrides = [*TINY, f"data.train=[{train_dir}]", f"data.val={test_dir}"]
    records, runs = tmp_path / "records" / "study_b", tmp_path / "runs"
    md = study_b("study", 2, runs, records, [str(test_dir)], overrides)
    text = md.read_text()
    rows = list(csv.DictReader((records / "results.csv").open()))
    assert list(rows[0])[:8] == ["arm", "seed", "member", "network", "set", "psnr", "ssim", "niqe"]
    seen = {(r["arm"], r["seed"], r["network"]) for r in rows}
    for arm in ARMS[1:]:
        for seed in (0, 1):
            assert {(arm.name, str(seed), n) for n in ("member0", "member1", COHORT)} <= seen
    assert ("pretrained", "0", "pretrained") in seen
    # The cohort row is the mean of its members.
    by = {(r["arm"], r["seed"], r["network"]): float(r["psnr"]) for r in rows}
    assert by[("ml", "0", COHORT)] == pytest.approx(
        (by[("ml", "0", "member0")] + by[("ml", "0", "member1")]) / 2, abs=1e-4
    )
    discs = list(csv.DictReader((records / "discriminators.csv").open()))
    assert {(d["arm"], d["member"], d["fakes"]) for d in discs} >= {
        ("ml", "0", "own"),
        ("ml", "1", "peer"),
        ("confidence", "0", "own"),
    }
    assert all(0 <= float(d["auc"]) <= 1 for d in discs)
    assert "## Preconditions" in text and "| ml − independent | psnr | BSD100 | 2 |" in text
    assert "ML* |" in text and "Ma and PI: unavailable" in text
    assert "content loss `pixel_mse`" in text
    # The cohorts learnt from the pretrained generator's run, recorded by fingerprint.
    ml = json.loads((records / "runs" / "ml_seed0" / "eval.json").read_text())
    pre = json.loads((records / "runs" / "pretrained_seed0" / "eval.json").read_text())
    assert ml["teacher_weights_sha256"] == pre["weights_sha256"]
    assert (records / "runs" / "ml_seed0" / "crops").is_dir() is False  # no figure image here
    # Rebuild from the records alone: identical tables, nothing trained.
    before = (records / "results.csv").read_text()
    import shutil

    shutil.rmtree(runs)
    study_b("study", 2, runs, records, [str(test_dir)], overrides, train_missing=False)
    assert (records / "results.csv").read_text() == before
    assert not (runs / "study").exists() or not list((runs / "study").iterdir())

    # Another study borrowing this teacher: scored by its evaluator, not retrained, and
    # its weights are not copied.
    study_a_records = tmp_path / "records" / "study_a"  # Study A's layout: teacher_seed0
    shutil.copytree(
        records / "runs" / "pretrained_seed0", study_a_records / "runs" / "teacher_seed0"
    )
    other = tmp_path / "records" / "other"
    study_b(
        "study",
        1,
        runs,
        other,
        [str(test_dir)],
        overrides,
        arms=["pretrained"],
        teacher_records=study_a_records,
    )
    borrowed = json.loads((other / "runs" / "pretrained_seed0" / "eval.json").read_text())
    assert borrowed["weights_sha256"] == pre["weights_sha256"]
    assert not list(other.rglob("*.safetensors"))
    assert not (runs / "study" / "pretrained_seed0" / "checkpoints").exists()


def test_study_b_refuses_the_stand_in_vgg(tmp_path):
    from srdistill.errors import ConfigError

    test_dir = write_images(tmp_path / "BSD100", 1, (64, 48), seed=100)
    with pytest.raises(ConfigError, match="refuse the stand-in VGG"):
        study_b(
            "study",
            1,
            tmp_path / "runs",
            tmp_path / "rec",
            [str(test_dir)],
            [*TINY, "mutual.content_loss=vgg", "mutual.vgg_weights=random"],
            arms=["ml"],
        )
