import csv

import pytest

from srdistill.cli import main
from tests.conftest import write_images

TINY = [
    "model.num_features=8",
    "train.steps=2",
    "train.batch_size=2",
    "data.patch_size=16",
    "train.progress=false",
    "train.threads=1",
    "train.val_every=2",
    "train.ckpt_every=2",
]


def tiny(dirs, patch=16):
    return [
        *TINY,
        f"data.train=[{dirs['train']}]",
        f"data.val={dirs['test']}",
        f"data.patch_size={patch}",
    ]


@pytest.mark.slow
def test_paper_a_table_with_two_seeds_then_skips_finished_runs(tmp_path, image_dirs, caplog):
    out = tmp_path / "rep"
    args = [
        "reproduce",
        "paper-a-1",
        "--seeds",
        "2",
        "--out",
        str(out),
        "--sets",
        f"{image_dirs['test']},Set99",
    ]
    args += [x for o in tiny(image_dirs) for x in ("-o", o)]
    assert main(args) == 0  # Set99 is not available: noted in the table, not fatal
    md = (out / "paper-a-1_quick.md").read_text()
    assert "| test_imgs |" in md and " ± " in md
    assert "Test sets not available here: Set99" in md
    assert "27.343 / 0.779" in md  # the paper's numbers beside ours
    # The header says what every column's cells were trained with, from the saved configs.
    header = next(ln for ln in md.splitlines() if ln.startswith("Each column's runs: "))
    assert "SRResNet-8 alone = `self_distill/srresnet8_alone.yaml` (srresnet 8x8, 2 steps" in header
    assert "exit 8 of 32 = `self_distill/srresnet32_exit8.yaml` (multi_exit_srresnet 32x8" in header
    for name in ["srresnet8_alone_seed0", "srresnet8_alone_seed1", "srresnet32_exit8_seed1"]:
        assert f"({out.name}/runs/quick/{name})" in md or f"(runs/quick/{name})" in md
    rows = list(csv.DictReader((out / "paper-a-1_quick.csv").open()))
    exit_psnr = [r for r in rows if r["column"] == "exit 8 of 32" and r["metric"] == "psnr"]
    assert exit_psnr and exit_psnr[0]["n"] == "2"
    assert list(out.glob("paper-a-1_quick_test_imgs_*.png"))
    ckpt = out / "runs" / "quick" / "srresnet8_alone_seed0" / "checkpoints" / "latest"
    before = ckpt.stat().st_mtime_ns
    caplog.set_level("INFO")
    assert main(args) == 0
    assert ckpt.stat().st_mtime_ns == before  # complete runs are not trained again
    assert "complete, skipped" in caplog.text


@pytest.mark.slow
def test_paper_b_table_runs_pretraining_and_cohorts(tmp_path, image_dirs):
    big = write_images(tmp_path / "big_test", 1, (208, 112), seed=50)
    out = tmp_path / "rep"
    overrides = [
        *tiny({"train": image_dirs["train"], "test": big}, patch=32),
        "model.num_blocks=1",
        "mutual.disc_features=8",
        "mutual.members=3",
    ]
    args = ["reproduce", "paper-b-2", "--out", str(out), "--sets", str(big)]
    assert main(args + [x for o in overrides for x in ("-o", o)]) == 0
    md = (out / "paper-b-2_quick.md").read_text()
    assert "stand-in VGG" not in md  # the quick preset trains SRGAN-MSE, no VGG needed
    assert "### NIQE" in md and "PI: unavailable" in md
    for mode in ["independent", "ml", "ml_soft", "confidence"]:
        assert (out / "runs" / "quick" / f"x4_{mode}_seed0" / "status.json").exists()
    assert "| ML* | Confidence control |" in md
    assert "Cohort settings: peer_images own, content loss pixel MSE on [-1, 1] (SRGAN-MSE)" in md
    published = [
        ln
        for ln in md.splitlines()
        if ln.startswith("| Set5 | 32.191") or ln.startswith("| Set5 | 26.960")
    ]
    assert published and published[0].count("|") == 7  # set + 5 columns, padded with "-"
    # The pretrained generator is scored as the reference, and the preconditions and the
    # paired contrasts are printed from the measured cells.
    assert "| Confidence control | Pretrained generator |" in md
    assert "### Preconditions" in md and "the pretrained generator beats bicubic" in md
    assert "no collapse" in md and ("can be read" in md or "A precondition fails" in md)
    assert "| ML − Indep. | big_test | PSNR |" in md and "none (one seed)" in md
    assert (out / "runs" / "quick" / "pretrain_srresnet32_x4_seed0").is_dir()
    rows = list(csv.DictReader((out / "paper-b-2_quick.csv").open()))
    ml = [r for r in rows if r["column"] == "ML" and r["metric"] == "psnr"]
    assert ml and ml[0]["n"] == "3"  # every member of the run is scored
    # Per network (seed, member): the values behind each cell, for paired comparisons.
    nets = list(csv.DictReader((out / "paper-b-2_quick_networks.csv").open()))
    ml_nets = [r for r in nets if r["column"] == "ML" and r["metric"] == "psnr"]
    assert sorted(r["member"] for r in ml_nets) == ["0", "1", "2"]
    assert {r["seed"] for r in ml_nets} == {"0"}
    mean = sum(float(r["value"]) for r in ml_nets) / 3
    assert abs(mean - float(ml[0]["mean"])) < 1e-9
    # The printed contrast is the difference of the two columns' member means (one seed).
    indep = [r for r in rows if r["column"] == "Indep." and r["metric"] == "psnr"]
    row = next(ln for ln in md.splitlines() if ln.startswith("| ML − Indep. | big_test | PSNR |"))
    assert float(row.split("|")[5]) == pytest.approx(mean - float(indep[0]["mean"]), abs=6e-4)


def test_tables_refuse_the_stand_in_vgg_before_training_anything(tmp_path, capsys):
    out, test = tmp_path / "rep", write_images(tmp_path / "test", 1, (64, 64), seed=3)
    args = ["reproduce", "paper-b-2", "--out", str(out), "--sets", str(test)]
    refused = ["-o", "mutual.content_loss=vgg", "-o", "mutual.vgg_weights=random"]
    assert main(args + refused) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refuse the stand-in VGG" in err[0] and "pixel_mse" in err[0]
    assert not (out / "runs").exists()  # refused before the pretraining started


def test_cohort_preconditions_fail_on_a_collapsed_arm_and_hold_otherwise():
    from srdistill.reproduce.tables import TABLES, Cell, _precondition_lines

    table = TABLES["paper-b-2"]
    bic = {"Set5": {"psnr": 28.0}, "BSD100": {"psnr": 26.0}}

    def cells(worst_member: float) -> dict:
        out = {}
        for s, base in (("Set5", 29.0), ("BSD100", 27.0)):
            out[(s, "Pretrained generator", "psnr")] = Cell([base], [])
            out[(s, "Pretrained generator", "niqe")] = Cell([7.0], [])
            for col in table.columns[:4]:
                out[(s, col.label, "psnr")] = Cell([base - 0.5, base - worst_member], [])
                out[(s, col.label, "niqe")] = Cell([6.0, 6.2], [])
        return out

    good = "\n".join(_precondition_lines(table, ["Set5", "BSD100"], cells(1.0), bic))
    assert "**fails**" not in good and "can be read" in good
    assert "Set5 +1.00 dB, BSD100 +1.00 dB" in good and "largest drop 1.00 dB" in good
    bad = "\n".join(_precondition_lines(table, ["Set5", "BSD100"], cells(2.5), bic))
    assert "**fails**: no collapse" in bad and "A precondition fails" in bad
    weak = {**bic, "BSD100": {"psnr": 26.8}}  # pretrained only +0.2 dB over bicubic
    assert "**fails**: the pretrained generator" in "\n".join(
        _precondition_lines(table, ["Set5", "BSD100"], cells(1.0), weak)
    )
