"""Study B: does mutual learning between SRGAN discriminators (paper B) help, x4?

Arms (K = 2 members, paired: same seed -> the same initial weights of both members, the
same data order; the arms differ only in the discriminators' extra term):

    pretrained    the generator every member starts from: Study A's teacher (SRResNet-16,
                  pixel L1, cosine schedule, final iterate), reused from its committed
                  weights; the reference row of every precondition
    independent   two SRGANs trained side by side, no term between them
    ml            each discriminator also minimises KL(peer || own) on real and fake (ML)
    ml_soft       the same with probabilities softened by T = 2 (ML*)
    confidence    KL toward a fixed Bernoulli(0.5) instead of a peer: the control that
                  separates "a peer's knowledge" from "any KL regulariser on D"

Every member is scored on each test set (PSNR/SSIM on Y, NIQE, colour shift against HR)
and, for the paper's mechanism, every final discriminator is scored on held-out crops:
BSD100 HR crops against its own generator's SR crops and against its peer's (accuracy,
ROC-AUC), with the agreement between the two members' probabilities. Contrasts are taken
per seed on the mean of the two members (members of one cohort are not independent).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch

from srdistill.data.catalog import TEST_SETS
from srdistill.data.datasets import load_benchmark
from srdistill.data.io import atomic_write_bytes, read_image, write_image
from srdistill.deploy.loading import load_sr_model
from srdistill.engine.checkpoint import CheckpointManager, load_module
from srdistill.eval.evaluate import bicubic_upscaler, evaluate, super_resolve
from srdistill.reproduce.runner import CONFIG_DIR, command_line
from srdistill.reproduce.study import (
    Arm,
    Study,
    StudySpec,
    available_sets,
    bicubic_scores,
    mean_std,
    paired_contrast,
    read_curves,
    select_jobs,
    set_means,
    sets_in,
    t95_half_width,
)

log = logging.getLogger(__name__)
SCALE = 4
MEMBERS = (("member0", 0), ("member1", 1))
COHORT = "cohort"  # the per-image mean of the two members, the unit of every contrast
METRICS = ("psnr", "ssim", "niqe")
LOWER_IS_BETTER = {"niqe", "color_shift"}
DISC_CROP = 96  # the discriminators' training patch size
DISC_CROPS_PER_IMAGE = 2
DISC_SET = "BSD100"
FIGURE_IMAGES = (("Set14", "baboon"), ("BSD100", "img_008"))
FIGURE_CROP = 64
CROPS = "crops"

_COHORT_CONFIG = "study_b/cohort.yaml"
_INIT = ("mutual.init_from",)
ARMS: tuple[Arm, ...] = (
    Arm("pretrained", "study_a/teacher.yaml", networks=(("pretrained", None),), seeds=1),
    *(
        # Up to 10 seeds: 3 left intervals as wide as the effects (2026-12-02 reading).
        Arm(mode, _COHORT_CONFIG, (f"mutual.mode={mode}",), MEMBERS, _INIT, seeds=10)
        for mode in ("independent", "ml", "ml_soft", "confidence")
    ),
)
# (A, B): paired per seed on the cohort mean, A - B.
CONTRASTS: tuple[tuple[str, str], ...] = (
    ("ml", "independent"),
    ("ml_soft", "independent"),
    ("ml", "confidence"),
    ("ml_soft", "confidence"),
    ("confidence", "independent"),
)


# --- evaluation -------------------------------------------------------------------------


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
def discriminator_measures(run_dir: Path, sr_dirs: Sequence[Path], set_name: str) -> dict:
    """Each final discriminator on held-out crops: the set's HR crops against its own
    generator's SR crops and against its peer's, and the two members' agreement."""
    latest = CheckpointManager(run_dir).latest()
    discs = [load_module(latest / f"discriminator_{i}.safetensors").eval() for i in (0, 1)]
    images = load_benchmark(set_name, SCALE)
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


def _save_crops(label: str, sr_dir: Path, out_dir: Path) -> None:
    """The figure's crops of one network's SR images (small PNGs kept with the record)."""
    for set_name, image in FIGURE_IMAGES:
        src = sr_dir / set_name / f"{image}.png"
        if not src.is_file():
            continue
        sr = read_image(src)[0]
        y, x = figure_position(set_name, image)
        write_image(
            out_dir / CROPS / f"{label}_{set_name}_{image}.png",
            sr[:, y : y + FIGURE_CROP, x : x + FIGURE_CROP],
        )


def figure_position(set_name: str, image: str) -> tuple[int, int]:
    """The figure crop's corner: the most textured region of the HR image."""
    from srdistill.eval.figures import pick_crop

    hr = next(im.hr for im in load_benchmark(set_name, SCALE) if im.name == image)
    return pick_crop(hr, FIGURE_CROP)


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
            _save_crops(label, sr_dir, out_dir)
        record: dict = {"networks": networks}
        if len(arm.networks) > 1:
            networks[COHORT] = cohort_mean([networks[label] for label, _ in arm.networks])
            held_out = [s for s in sets if Path(s).name == DISC_SET]
            if held_out:  # the set as it was evaluated (a name or a folder)
                record["discriminators"] = discriminator_measures(source, sr_dirs, held_out[0])
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


# --- the declaration ----------------------------------------------------------------------


def study_b_spec(teacher_records: Path | None) -> StudySpec:
    return StudySpec(
        name="study_b",
        scale=SCALE,
        arms=ARMS,
        teacher="pretrained",
        evaluator=evaluate_cohort,
        teacher_records=teacher_records,
        borrowed_run="teacher_seed0",  # Study A's teacher
        record_extras=(CROPS,),
    )


@dataclass(frozen=True)
class Precondition:
    text: str
    # results, bicubic -> (measured value as text, holds); None when not yet measurable
    check: Callable[[dict, dict], tuple[str, bool] | None]


def _mean_over(results: dict, arm: str, network: str, set_name: str, metric: str) -> float | None:
    values = list(set_means(results, arm, network, set_name, metric).values())
    return statistics.fmean(values) if values else None


def _gain_over_bicubic(results: dict, bicubic: dict) -> tuple[str, bool] | None:
    gains = {}
    for s in ("Set5", "BSD100"):
        ours = _mean_over(results, "pretrained", "pretrained", s, "psnr")
        if ours is None or s not in bicubic:
            return None
        gains[s] = ours - bicubic[s]["psnr"]
    text = ", ".join(f"{s} {g:+.2f} dB" for s, g in gains.items())
    return text, all(g >= 0.5 for g in gains.values())


def _gan_lowers_niqe(results: dict, bicubic: dict) -> tuple[str, bool] | None:
    ref = _mean_over(results, "pretrained", "pretrained", "BSD100", "niqe")
    gan = _mean_over(results, "independent", COHORT, "BSD100", "niqe")
    if ref is None or gan is None:
        return None
    return f"{gan:.3f} vs {ref:.3f} ({gan - ref:+.3f})", gan <= ref - 0.3


def _no_collapse(results: dict, bicubic: dict) -> tuple[str, bool] | None:
    ref = _mean_over(results, "pretrained", "pretrained", "BSD100", "psnr")
    if ref is None:
        return None
    worst_drop, worst_shift, seen = 0.0, 0.0, False
    by_name = {a.name: a for a in ARMS}
    for (arm, _), rec in results.items():
        if arm == "pretrained":
            continue
        for label, _ in by_name[arm].networks:
            rows = rec["networks"].get(label, {}).get("BSD100") or []
            if not rows:
                continue
            seen = True
            worst_drop = max(worst_drop, ref - statistics.fmean(r["psnr"] for r in rows))
            worst_shift = max(worst_shift, statistics.fmean(r["color_shift"] for r in rows))
    if not seen:
        return None
    return (
        f"largest PSNR drop {worst_drop:.2f} dB, largest colour shift {worst_shift:.2f}/255",
        worst_drop < 2.0 and worst_shift < 2.0,
    )


PRECONDITIONS: tuple[Precondition, ...] = (
    Precondition(
        "the pretrained generator beats bicubic by ≥ 0.5 dB on Set5 and BSD100",
        _gain_over_bicubic,
    ),
    Precondition(
        "the GAN does its job: the independent arm's NIQE on BSD100 (mean over seeds and "
        "members) is ≥ 0.3 lower than the pretrained generator's",
        _gan_lowers_niqe,
    ),
    Precondition(
        "no collapse: every member's BSD100 PSNR within 2 dB of the pretrained generator's "
        "and mean colour shift against HR under 2/255",
        _no_collapse,
    ),
)


def check_preconditions(results: dict, bicubic: dict) -> list[tuple[Precondition, tuple | None]]:
    return [(p, p.check(results, bicubic)) for p in PRECONDITIONS]


# --- the study --------------------------------------------------------------------------


def study_b(
    preset: str = "study",
    seeds: int = 3,
    runs_dir: Path = Path("runs/study_b"),
    records: Path | None = Path("docs/results/study_b"),
    sets: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    train_missing: bool = True,
    config_dir: Path = CONFIG_DIR,
    wait_seconds: float = 30.0,
    arms: Sequence[str] | None = None,
    teacher_records: Path | None = None,
) -> Path:
    """Train what is missing, evaluate it, and write the tables and figures.

    ``teacher_records``: where Study A's committed teacher (the pretrained generator) is
    found; by default ``study_a`` beside ``records``."""
    runs_dir = Path(runs_dir) / preset
    if teacher_records is None and records is not None:
        teacher_records = Path(records).parent / "study_a"
    spec = study_b_spec(teacher_records)
    present = available_sets(list(sets or TEST_SETS), SCALE)
    out = Path(records) if records else runs_dir
    study = Study(spec, preset, runs_dir, records, present, list(overrides), config_dir)
    results = study.run_all(select_jobs(spec, seeds, arms), train_missing, wait_seconds)
    study.add_train_flops(results, out)
    bicubic = bicubic_scores(out, present, SCALE, ("psnr", "ssim", "niqe"))
    # Curves of the runs in the tables only (a run still training elsewhere is not drawn).
    names = sorted({spec.run_name(spec.arm_by_name[a], s) for a, s in results})
    curves = read_curves(records, runs_dir, names)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "results.csv", results_csv(results).encode())
    atomic_write_bytes(out / "discriminators.csv", discriminators_csv(results).encode())
    figures = []
    if _plot_curves(curves, out / "training_curves.png"):
        figures.append(("validation PSNR (Set5, member 0) vs step, seed 0", "training_curves.png"))
        if (out / "training_curves_disc.png").is_file():
            figures.append(("discriminator 0's real/fake BCE vs step, seed 0",
                            "training_curves_disc.png"))  # fmt: skip
    for set_name, image in FIGURE_IMAGES:
        name = f"crops_{set_name}_{image}.png"
        if _crop_figure(results, set_name, image, out / name):
            figures.append((f"{set_name} {image}: HR, bicubic, pretrained and member 0", name))
    md = results_markdown(results, bicubic, preset, seeds, overrides, figures)
    atomic_write_bytes(out / "results.md", md.encode())
    return out / "results.md"


def _arm_order(name: str) -> int:
    return [a.name for a in ARMS].index(name)


def results_csv(results: dict) -> str:
    """Long form: one row per (arm, seed, member, set)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["arm", "seed", "member", "network", "set", *METRICS, "color_shift"]
        + ["train_seconds", "train_flops"]
    )
    for (arm, seed), rec in sorted(
        results.items(), key=lambda kv: (_arm_order(kv[0][0]), kv[0][1])
    ):
        for network, per_set in rec["networks"].items():
            member = network.removeprefix("member") if network.startswith("member") else ""
            for set_name, rows in per_set.items():
                cells = [statistics.fmean(r[m] for r in rows) for m in (*METRICS, "color_shift")]
                w.writerow(
                    [arm, seed, member, network, set_name]
                    + [f"{v:.5f}" for v in cells]
                    + [f"{rec.get('train_seconds', 0.0):.2f}", rec.get("train_flops", "")]
                )
    return buf.getvalue()


def discriminators_csv(results: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["arm", "seed", "member", "fakes", "accuracy", "auc", "p_real", "p_fake"]
        + ["agreement_mean_abs_diff", "agreement_same_decision"]
    )
    for (arm, seed), rec in sorted(
        results.items(), key=lambda kv: (_arm_order(kv[0][0]), kv[0][1])
    ):
        d = rec.get("discriminators")
        if not d:
            continue
        agree = d["agreement"]
        for member, m in enumerate(d["members"]):
            for fakes in ("own", "peer"):
                c = m[fakes]
                w.writerow(
                    [arm, seed, member, fakes]
                    + [f"{c[k]:.5f}" for k in ("accuracy", "auc", "p_real", "p_fake")]
                    + [f"{agree['mean_abs_diff']:.5f}", f"{agree['same_decision']:.5f}"]
                )
    return buf.getvalue()


def discriminator_value(rec: dict, measure: str) -> float | None:
    """One scalar of a cohort's discriminators: ``own_auc``, ``peer_accuracy``, ... (mean
    over the two members) or ``agreement_mean_abs_diff`` / ``agreement_same_decision``."""
    d = rec.get("discriminators")
    if not d:
        return None
    if measure.startswith("agreement_"):
        return d["agreement"][measure.removeprefix("agreement_")]
    fakes, key = measure.split("_", 1)
    return statistics.fmean(m[fakes][key] for m in d["members"])


def scalar_contrast(results: dict, a: str, b: str, measure: str) -> tuple | None:
    """A - B per seed of a discriminator measure: (mean, low, high, seeds)."""
    diffs = []
    for (arm, seed), rec in sorted(results.items()):
        if arm != a or (b, seed) not in results:
            continue
        va, vb = discriminator_value(rec, measure), discriminator_value(results[(b, seed)], measure)
        if va is not None and vb is not None:
            diffs.append(va - vb)
    if not diffs:
        return None
    mean, half = statistics.fmean(diffs), t95_half_width(diffs)
    return mean, mean - half, mean + half, len(diffs)


# The KL arms read against the line through the independent arm and the confidence
# control in the (PSNR, NIQE) plane of each seed: a regulariser of any strength that only
# brakes the adversarial term moves a cohort along that line.
TRADE_OFF_ARMS = ("ml", "ml_soft")
TRADE_OFF_ENDS = ("independent", "confidence")


def trade_off_excess(results: dict, arm: str, set_name: str) -> list[float]:
    """Per seed: the arm's NIQE minus the NIQE the independent-confidence line gives at the
    arm's PSNR (negative: perceptually better than a mere brake of the same PSNR cost)."""
    lo, hi = TRADE_OFF_ENDS
    points = {
        name: (set_means(results, name, COHORT, set_name, "psnr"),
               set_means(results, name, COHORT, set_name, "niqe"))
        for name in (arm, lo, hi)
    }  # fmt: skip
    excess = []
    for seed, psnr in sorted(points[arm][0].items()):
        if not all(seed in points[n][0] for n in (lo, hi)):
            continue
        (p0, n0), (p1, n1) = ((points[n][0][seed], points[n][1][seed]) for n in (lo, hi))
        if abs(p1 - p0) < 1e-6:
            continue  # the two ends coincide: no line
        line = n0 + (psnr - p0) / (p1 - p0) * (n1 - n0)
        excess.append(points[arm][1][seed] - line)
    return excess


# Seeds trained after the hint was found on seeds 0-1 and planned before they existed
# (study_b.md, 2026-12-04): shown on their own as the hint's replication.
REPLICATION_SEEDS = (3, 4)
# The seed whose independent cohort ended with a striping artefact (a precondition
# observation, not a contrast): the contrasts against independent are shown without it.
STRIPED_INDEPENDENT_SEED = 3


def _excess_rows(results: dict, sets: list[str], label: str) -> list[str]:
    rows = []
    for arm in TRADE_OFF_ARMS:
        for s in sets:
            values = trade_off_excess(results, arm, s)
            if not values:
                continue
            mean = statistics.fmean(values)
            half = t95_half_width(values)
            interval = (
                "n/a (1 seed)" if len(values) < 2 else f"[{mean - half:+.3f}, {mean + half:+.3f}]"
            )
            rows.append(f"| {arm} | {s} | {label}{len(values)} | {mean:+.3f} | {interval} |")
    return rows


def _trade_off_lines(results: dict, sets: list[str]) -> list[str]:
    lines = [
        "",
        "## Beyond a brake? (exploratory: added after seeds 0-1 were seen)",
        "",
        "A KL term on the discriminators may only brake the adversarial term, moving a cohort "
        "back toward the pretrained generator (higher PSNR, higher NIQE), as any regulariser "
        "that weakens the discriminator's signal would. Per "
        "seed, the line through the independent and confidence cohorts in the (PSNR, NIQE) "
        "plane gives the NIQE a mere brake reaches at a given PSNR; the excess is the arm's "
        "NIQE minus that (negative: a better perception-distortion point than the control's "
        "trade-off, i.e. something a peer adds). Exact t interval over seeds.",
        "",
        "| arm | set | seeds | NIQE excess over the line | 95% interval |",
        "| --- | --- | --- | --- | --- |",
        *_excess_rows(results, sets, ""),
    ]
    replication = {k: v for k, v in results.items() if k[1] in REPLICATION_SEEDS}
    if len({seed for _, seed in replication}) == len(REPLICATION_SEEDS):
        seeds = "-".join(str(s) for s in REPLICATION_SEEDS)
        lines += [
            "",
            f"The same on seeds {seeds} alone, trained after the hint was found and planned "
            "before they existed (its replication; 1 degree of freedom, so the t interval is "
            "wide):",
            "",
            "| arm | set | seeds | NIQE excess over the line | 95% interval |",
            "| --- | --- | --- | --- | --- |",
            *_excess_rows(replication, sets, f"{seeds}: "),
        ]
    return lines


def _without_striped_seed(results: dict, sets: list[str]) -> list[str]:
    """Contrasts against independent with and without the striped cohort's seed."""
    seed = STRIPED_INDEPENDENT_SEED
    if ("independent", seed) not in results:
        return []
    rest = {k: v for k, v in results.items() if k[1] != seed}
    lines = [
        "",
        f"## Sensitivity: the contrasts against independent without seed {seed}",
        "",
        f"Seed {seed}'s independent cohort ended with a diagonal striping artefact that NIQE "
        "punishes (within the collapse thresholds). BSD100, cohort mean, exact t interval:",
        "",
        "| contrast | metric | all seeds | without seed " + str(seed) + " |",
        "| --- | --- | --- | --- |",
    ]
    for arm in ("ml", "ml_soft", "confidence"):
        for metric, higher in (("psnr", True), ("niqe", False)):
            cells = []
            for subset in (results, rest):
                c = paired_contrast(
                    subset, arm, COHORT, "independent", COHORT, "BSD100", metric, higher
                )
                cells.append(
                    "-" if c is None else f"{c.mean:+.3f} [{c.low:+.3f}, {c.high:+.3f}] ({c.seeds})"
                )
            lines.append(f"| {arm} − independent | {metric} | {cells[0]} | {cells[1]} |")
    return lines if "BSD100" in sets else []


def member_spread(results: dict, arm: str, set_name: str, metric: str) -> float | None:
    """Mean over seeds of |member0 - member1| on the set mean: how far two members of one
    cohort differ (they share a seed but not their discriminator's draws)."""
    gaps = []
    for (a, _), rec in results.items():
        if a != arm:
            continue
        means = [
            statistics.fmean(r[metric] for r in rows)
            for label, _ in MEMBERS
            if (rows := rec["networks"].get(label, {}).get(set_name))
        ]
        if len(means) == 2:
            gaps.append(abs(means[0] - means[1]))
    return statistics.fmean(gaps) if gaps else None


def _content_losses(results: dict) -> str:
    """The content loss each cohort record was trained with (from its saved config)."""
    import yaml

    seen = set()
    for (arm, _), rec in results.items():
        path = Path(rec.get("folder", "")) / "config.yaml"
        if arm != "pretrained" and path.is_file():
            saved = yaml.safe_load(path.read_text()).get("mutual", {})
            seen.add(str(saved.get("content_loss", "vgg")))
    return ", ".join(sorted(seen)) or "-"


def results_markdown(  # noqa: PLR0912, PLR0915
    results: dict,
    bicubic: dict,
    preset: str,
    seeds: int,
    overrides: Sequence[str] = (),
    figures: Sequence[tuple[str, str]] = (),
) -> str:
    from srdistill.reproduce.tables import PUBLISHED_METRICS, TABLES

    sets = sets_in(results, TEST_SETS)
    command = command_line("study-b", preset, seeds, overrides)
    content = _content_losses(results)
    lines = [
        "# Study B: mutual learning between SRGAN discriminators (x4, K = 2)",
        "",
        f"Command: `{command}` (rebuilds this page from the committed records in `runs/`, "
        "training only what is missing).",
        "",
        f"Every cell: the final iterate of each run, config `study_b/cohort.yaml` at preset "
        f"`{preset}` with the arm's `mutual.mode`; content loss `{content}` (SRGAN-MSE: "
        "pixel MSE on [-1, 1] images, not paper B's VGG loss) + 1e-3 adversarial. Mean ± "
        "standard deviation over seeds of the two members' mean; PSNR/SSIM and NIQE (lower "
        f"is better) on Y with a {SCALE}-pixel border cut (PIRM conventions). Ma and PI: "
        "unavailable (the trained model of Ma et al. is not on these machines), never "
        "estimated.",
        "",
        "## Preconditions (checked before any contrast is read)",
        "",
    ]
    checked = check_preconditions(results, bicubic)
    all_hold = all(r is not None and r[1] for _, r in checked)
    for pre, r in checked:
        state = "not yet measured" if r is None else f"{r[0]}: {'holds' if r[1] else 'FAILS'}"
        lines.append(f"- {pre.text}: {state}.")
    if not all_hold:
        lines += [
            "",
            "**Not every precondition holds: the contrasts below are printed but not "
            "interpreted.**",
        ]
    for metric, title in (("psnr", "PSNR (dB)"), ("ssim", "SSIM"), ("niqe", "NIQE")):
        lines += ["", f"## {title} per arm", ""]
        lines += ["| arm | seeds | " + " | ".join(sets) + " |"]
        lines += ["| --- | --- |" + " --- |" * len(sets)]
        if metric in ("psnr", "ssim", "niqe"):
            lines.append(
                "| bicubic | - | "
                + " | ".join(f"{bicubic.get(s, {}).get(metric, math.nan):.3f}" for s in sets)
                + " |"
            )
        for arm in ARMS:
            n = sum(a == arm.name for a, _ in results)
            net = "pretrained" if arm.name == "pretrained" else COHORT
            cells = []
            for s in sets:
                cell = mean_std(list(set_means(results, arm.name, net, s, metric).values()))
                gap = member_spread(results, arm.name, s, metric)
                cells.append(cell + (f" (members ±{gap / 2:.3f})" if gap is not None else ""))
            lines.append(f"| {arm.name} | {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "(members ±x): half the mean gap between the two members of one cohort.",
        "",
        "## Paired contrasts (A − B, cohort mean, same seed = same initial weights and data)",
        "",
        "Mean over seeds of the per-seed difference, its exact 95% Student-t interval over "
        "seeds, and the share of (image, seed) pairs where A is better (higher PSNR/SSIM, "
        "lower NIQE).",
        "",
        "| contrast | metric | set | seeds | mean | 95% interval | A better |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a, b in CONTRASTS:
        for metric in METRICS:
            for s in sets:
                c = paired_contrast(results, a, COHORT, b, COHORT, s, metric, metric != "niqe")
                if c is None:
                    continue
                interval = "n/a (1 seed)" if c.seeds < 2 else f"[{c.low:+.3f}, {c.high:+.3f}]"
                lines.append(
                    f"| {a} − {b} | {metric} | {s} | {c.seeds} | {c.mean:+.3f} | {interval} | "
                    f"{100 * c.win_rate:.0f}% of {c.images}x{c.seeds} |"
                )
    lines += _trade_off_lines(results, sets)
    lines += _without_striped_seed(results, sets)
    lines += _discriminator_lines(results)
    published = TABLES["paper-b-2"].published
    lines += [
        "",
        "## Paper B's published numbers (x4, " + PUBLISHED_METRICS["paper-b-2"] + ")",
        "",
        "Beside, not comparable: paper B trains SRResNet-32 (64 features) on DIV2K with the "
        "VGG19 content loss for 50,000 steps; this study trains a 16-block, 32-feature "
        "generator on T91 + BSD200 with the pixel-MSE content loss on a CPU budget.",
        "",
        "| set | independent | ML | ML* |",
        "| --- | --- | --- | --- |",
        *(f"| {s} | " + " | ".join(v) + " |" for s, v in published.items()),
    ]
    lines += ["", "## Cost", ""]
    lines += _cost_lines(results)
    lines += ["", "## Conclusion (decided by the intervals above)", ""]
    lines += conclusion(results, sets, all_hold)
    for caption, name in figures:
        lines += ["", f"![{caption}]({name})"]
    return "\n".join(lines) + "\n"


DISC_MEASURES = (
    ("own_accuracy", "accuracy, own generator's fakes"),
    ("own_auc", "ROC-AUC, own generator's fakes"),
    ("peer_accuracy", "accuracy, peer's fakes"),
    ("peer_auc", "ROC-AUC, peer's fakes"),
    ("agreement_mean_abs_diff", "mean abs(p0 − p1) between the members"),
    ("agreement_same_decision", "share of crops both members classify alike"),
)


def _discriminator_lines(results: dict) -> list[str]:
    lines = [
        "",
        "## The mechanism: the final discriminators on held-out crops",
        "",
        f"{DISC_CROPS_PER_IMAGE} crops of {DISC_CROP} px per {DISC_SET} image (the same "
        "positions for every arm): HR crops are real, the same windows of a generator's SR "
        "image are fake. Each discriminator is scored against its own generator's fakes and "
        "its peer's; mean over the two members, then over seeds.",
        "",
        "| arm | seeds | " + " | ".join(label for _, label in DISC_MEASURES) + " |",
        "| --- | --- |" + " --- |" * len(DISC_MEASURES),
    ]
    for arm in ARMS[1:]:
        recs = [r for (a, _), r in sorted(results.items()) if a == arm.name]
        cells = []
        for key, _ in DISC_MEASURES:
            values = [v for r in recs if (v := discriminator_value(r, key)) is not None]
            cells.append(mean_std(values))
        lines.append(f"| {arm.name} | {len(recs)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| contrast | measure | seeds | mean | 95% interval |",
        "| --- | --- | --- | --- | --- |",
    ]
    for a, b in CONTRASTS:
        for key, label in DISC_MEASURES:
            c = scalar_contrast(results, a, b, key)
            if c is None:
                continue
            mean, low, high, n = c
            interval = "n/a (1 seed)" if n < 2 else f"[{low:+.3f}, {high:+.3f}]"
            lines.append(f"| {a} − {b} | {label} | {n} | {mean:+.3f} | {interval} |")
    return lines


def _cost_lines(results: dict) -> list[str]:
    lines = [
        "Training FLOPs of one cohort step (both generators and discriminators, forward and "
        "backward, counted by FlopCounterMode) x steps; the pretrained generator's own "
        "training is Study A's teacher's.",
        "",
        "| arm | runs | steps | TFLOP per run | train s per run (mean) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for arm in ARMS:
        recs = [r for (a, _), r in results.items() if a == arm.name]
        if not recs:
            continue
        flops = [r["train_flops"] for r in recs if r.get("train_flops")]
        seconds = statistics.fmean(r.get("train_seconds", 0.0) for r in recs)
        lines.append(
            f"| {arm.name} | {len(recs)} | {recs[0].get('step')} | "
            + (f"{statistics.fmean(flops) / 1e12:.1f}" if flops else "-")
            + f" | {seconds:.0f} |"
        )
    return lines


def conclusion(results: dict, sets: list[str], preconditions_hold: bool) -> list[str]:
    """Which reading the numbers support: mutual learning helps beyond the control, only
    the regulariser helps, or nothing helps at this budget."""
    if not preconditions_hold:
        return ["Not interpreted: a precondition above does not hold (or is not measured)."]

    def direction(a: str, b: str) -> tuple[int, int, int]:
        better = worse = measured = 0
        for metric in METRICS:
            for s in sets:
                c = paired_contrast(results, a, COHORT, b, COHORT, s, metric, metric != "niqe")
                if c is None or c.seeds < 2:
                    continue
                measured += 1
                sign = -1 if metric == "niqe" else 1
                better += (sign * c.low > 0) if sign > 0 else (c.high < 0)
                worse += (c.high < 0) if sign > 0 else (c.low > 0)
        return better, worse, measured

    lines = []
    verdicts = {}
    for a, b in CONTRASTS:
        better, worse, measured = direction(a, b)
        verdicts[(a, b)] = (better, worse, measured)
        if measured:
            lines.append(
                f"- {a} − {b}: A better with a 95% interval excluding 0 on {better}, worse on "
                f"{worse}, of {measured} (metric, set) cells."
            )
        else:
            lines.append(f"- {a} − {b}: not yet measured with 2+ seeds.")
    if not any(m for _, _, m in verdicts.values()):
        return lines

    def helps(a: str, b: str) -> bool:
        better, worse, measured = verdicts[(a, b)]
        return measured > 0 and better > measured / 2 and worse == 0

    ml_beats_control = helps("ml", "confidence") or helps("ml_soft", "confidence")
    ml_beats_indep = helps("ml", "independent") or helps("ml_soft", "independent")
    control_helps = helps("confidence", "independent")
    if ml_beats_indep and ml_beats_control:
        reading = "mutual learning helps beyond the confidence control."
    elif ml_beats_indep:
        reading = (
            "mutual learning beats independent SRGANs but not the confidence control: the "
            "gain is not shown to need a peer (a KL toward a fixed Bernoulli(0.5) may do)."
        )
    elif control_helps:
        reading = (
            "only the regulariser helps: the confidence control beats independent SRGANs, "
            "mutual learning does not."
        )
    else:
        reading = "nothing helps at this budget: no arm is better than independent SRGANs."
    return [*lines, "", f"Reading: {reading}"]


# --- figures --------------------------------------------------------------------------------


def _plot_curves(curves: dict[str, list[dict]], path: Path) -> bool:
    from srdistill.eval.figures import line_plot

    val, dloss = {}, {}
    for name, rows in sorted(curves.items()):
        if not name.endswith("seed0") or name.startswith("teacher"):
            continue
        arm = name.removesuffix("_seed0")
        pts = [(r["step"], r["val/psnr_member0"]) for r in rows if "val/psnr_member0" in r]
        if pts:
            val[arm] = pts
        d = [(r["step"], r["d0_gan"]) for r in rows if "d0_gan" in r]
        if d:
            dloss[arm] = d
    if not val and not dloss:
        return False
    if val:
        line_plot(val, path, "validation PSNR (Set5, member 0) vs step, seed 0", "step", "dB")
    if dloss:
        line_plot(
            dloss,
            path.with_name(path.stem + "_disc.png"),
            "discriminator 0 real/fake BCE vs step, seed 0",
            "step",
            "BCE",
        )
    return bool(val)


def _crop_figure(results: dict, set_name: str, image: str, path: Path) -> bool:
    from srdistill.eval.figures import side_by_side

    try:
        hr_full = next(im for im in load_benchmark(set_name, SCALE) if im.name == image)
    except Exception:  # noqa: BLE001 - the set is not here: no figure
        return False
    y, x = figure_position(set_name, image)
    window = (slice(None), slice(y, y + FIGURE_CROP), slice(x, x + FIGURE_CROP))
    bicubic = super_resolve(bicubic_upscaler(SCALE), hr_full.lr)
    panels = [("HR", hr_full.hr[window]), ("bicubic", bicubic[window])]
    for arm, label in (
        ("pretrained", "pretrained"),
        ("independent", "member0"),
        ("ml", "member0"),
        ("ml_soft", "member0"),
    ):
        rec = results.get((arm, 0))
        folder = (rec or {}).get("folder")
        crop = Path(folder) / CROPS / f"{label}_{set_name}_{image}.png" if folder else None
        if crop is not None and crop.is_file():
            panels.append(({"ml": "ML", "ml_soft": "ML*"}.get(arm, arm), read_image(crop)[0]))
    if len(panels) < 3:
        return False
    side_by_side(panels, path, crop=FIGURE_CROP, zoom=3, position=(0, 0))
    return True


__all__ = [
    "ARMS",
    "CONTRASTS",
    "PRECONDITIONS",
    "check_preconditions",
    "classification",
    "cohort_mean",
    "colour_shift",
    "discriminator_measures",
    "evaluate_cohort",
    "roc_auc",
    "study_b",
    "study_b_spec",
]
