"""Scoring a GAN cohort: every member's images, the cohort mean, and the mechanism paper B
acts on (each final discriminator on held-out crops against its own and its peer's fakes).

An evaluator for the study runner (``evaluate_cohort``) and the tables of its measures;
any study of a cohort of SR GANs (mutual learning, co-training) scores with these.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch

from srdistill.data.datasets import load_benchmark
from srdistill.data.io import read_image, write_image
from srdistill.deploy.loading import load_sr_model
from srdistill.engine.checkpoint import CheckpointManager, load_module
from srdistill.eval.evaluate import evaluate
from srdistill.reproduce.study import Arm, StudySpec
from srdistill.reproduce.study_tables import figure_corner

COHORT = "cohort"  # the per-image mean of the members, the unit of every contrast
MEMBERS = (("member0", 0), ("member1", 1))
METRICS = ("psnr", "ssim", "niqe")
DISC_CROP = 96  # the discriminators' training patch size
DISC_CROPS_PER_IMAGE = 2
DISC_SET = "BSD100"
FIGURE_IMAGES = (("Set14", "baboon"), ("BSD100", "img_008"))
FIGURE_CROP = 64
CROPS = "crops"  # the record's folder of figure crops


def colour_shift(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> float:
    """Mean over R, G, B of |mean(SR) - mean(HR)| in 0..255 levels: a colour cast."""
    diff = sr[:3].float().mean(dim=(-2, -1)) - hr[:3].float().mean(dim=(-2, -1))
    return float(diff.abs().mean() * 255)


def crop_positions(hr_shape: Sequence[int], index: int, count: int, size: int) -> list:
    """``count`` crop corners inside an HR image, fixed by the image's index alone, so
    every arm and member is scored on the same crops (paired)."""
    rng = np.random.default_rng(1000 + index)
    h, w = hr_shape[-2], hr_shape[-1]
    size = min(size, h, w)
    return [
        (int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1)))
        for _ in range(count)
    ]


def roc_auc(real: Sequence[float], fake: Sequence[float]) -> float:
    """P(a real crop scores higher than a fake one), ties half (the Mann-Whitney AUC)."""
    r, f = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    greater = (r[:, None] > f[None, :]).sum() + 0.5 * (r[:, None] == f[None, :]).sum()
    return float(greater / (len(r) * len(f)))


def classification(real: Sequence[float], fake: Sequence[float]) -> dict[str, float]:
    """Accuracy at p = 0.5 (real > 0.5, fake < 0.5) and ROC-AUC of one discriminator."""
    correct = sum(p > 0.5 for p in real) + sum(p < 0.5 for p in fake)
    return {
        "accuracy": correct / (len(real) + len(fake)),
        "auc": roc_auc(real, fake),
        "p_real": statistics.fmean(real),
        "p_fake": statistics.fmean(fake),
    }


@torch.no_grad()
def discriminator_measures(
    run_dir: Path, sr_dirs: Sequence[Path], set_name: str, scale: int = 4
) -> dict:
    """Each final discriminator on held-out crops: the set's HR crops against its own
    generator's SR crops and against its peer's, and the two members' agreement."""
    latest = CheckpointManager(run_dir).latest()
    discs = [load_module(latest / f"discriminator_{i}.safetensors").eval() for i in (0, 1)]
    images = load_benchmark(set_name, scale)
    folder = Path(set_name).name  # evaluate() saves SR images under the set's name
    crops: dict[str, list[torch.Tensor]] = {"real": [], "fake0": [], "fake1": []}
    for index, im in enumerate(images):
        srs = [read_image(d / folder / f"{im.name}.png")[0] for d in sr_dirs]
        size = min(DISC_CROP, *im.hr.shape[-2:])
        for y, x in crop_positions(im.hr.shape, index, DISC_CROPS_PER_IMAGE, size):
            window = (slice(None), slice(y, y + size), slice(x, x + size))
            crops["real"].append(im.hr[window])
            crops["fake0"].append(srs[0][window])
            crops["fake1"].append(srs[1][window])
    probs = {
        (i, kind): torch.sigmoid(torch.cat([d(b) for b in torch.stack(c).split(50)])).tolist()
        for i, d in enumerate(discs)
        for kind, c in crops.items()
    }
    members = []
    for i in (0, 1):
        members.append(
            {
                "own": classification(probs[(i, "real")], probs[(i, f"fake{i}")]),
                "peer": classification(probs[(i, "real")], probs[(i, f"fake{1 - i}")]),
            }
        )
    # The two members on the very same crops (real and both generators' fakes).
    p0 = np.concatenate([np.asarray(probs[(0, k)], dtype=np.float64) for k in crops])
    p1 = np.concatenate([np.asarray(probs[(1, k)], dtype=np.float64) for k in crops])
    return {
        "set": folder,
        "crops": len(crops["real"]),
        "crop_size": DISC_CROP,
        "members": members,
        "agreement": {
            "mean_abs_diff": float(np.abs(p0 - p1).mean()),
            "same_decision": float(((p0 > 0.5) == (p1 > 0.5)).mean()),
        },
    }


def save_crops(label: str, sr_dir: Path, out_dir: Path, scale: int) -> None:
    """The figure's crops of one network's SR images (small PNGs kept with the record)."""
    for set_name, image in FIGURE_IMAGES:
        src = sr_dir / set_name / f"{image}.png"
        if not src.is_file():
            continue
        sr = read_image(src)[0]
        y, x = figure_corner(set_name, image, scale, FIGURE_CROP)
        write_image(
            out_dir / CROPS / f"{label}_{set_name}_{image}.png",
            sr[:, y : y + FIGURE_CROP, x : x + FIGURE_CROP],
        )


def evaluate_cohort(
    spec: StudySpec, arm: Arm, source: Path, sets: Sequence[str], out_dir: Path
) -> dict:
    """Per-image PSNR/SSIM/NIQE/colour shift of each network of the arm (and of the
    cohort mean), the discriminators' measures of a cohort, and the figure's crops."""
    networks: dict[str, dict[str, list[dict]]] = {}
    with TemporaryDirectory() as tmp:
        sr_dirs = []
        for label, member in arm.networks:
            net = load_sr_model(source, scale=spec.scale, member=member).network
            sr_dir = Path(tmp) / label
            result = evaluate(
                net,
                sets,
                spec.scale,
                model_name=label,
                metrics=(*METRICS, "color_shift"),
                extra_metrics={"color_shift": colour_shift},
                save_dir=sr_dir,
            )
            per_set: dict[str, list[dict]] = {}
            for row in result.rows:
                per_set.setdefault(row["set"], []).append(
                    {k: row[k] for k in ("image", *METRICS, "color_shift")}
                )
            networks[label] = per_set
            sr_dirs.append(sr_dir)
            save_crops(label, sr_dir, out_dir, spec.scale)
        record: dict = {"networks": networks}
        if len(arm.networks) > 1:
            networks[COHORT] = cohort_mean([networks[label] for label, _ in arm.networks])
            held_out = [s for s in sets if Path(s).name == DISC_SET]
            if held_out:  # the set as it was evaluated (a name or a folder)
                record["discriminators"] = discriminator_measures(
                    source, sr_dirs, held_out[0], spec.scale
                )
    return record


def cohort_mean(members: Sequence[dict[str, list[dict]]]) -> dict[str, list[dict]]:
    """Per image, the mean of the members' scores (the unit every contrast pairs)."""
    out: dict[str, list[dict]] = {}
    for set_name, rows in members[0].items():
        others = [{r["image"]: r for r in m.get(set_name, [])} for m in members[1:]]
        merged = []
        for row in rows:
            peers = [o[row["image"]] for o in others if row["image"] in o]
            if len(peers) != len(others):
                continue
            merged.append(
                {
                    "image": row["image"],
                    **{
                        k: statistics.fmean([row[k], *(p[k] for p in peers)])
                        for k in row
                        if k != "image"
                    },
                }
            )
        out[set_name] = merged
    return out
