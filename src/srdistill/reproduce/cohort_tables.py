"""The page blocks of a study of SR GAN cohorts, from records: the preconditions every GAN
comparison needs (the start beats bicubic, the GAN lowers NIQE, no member collapsed), the
per-arm tables on the cohort mean with the members' gap, paired contrasts over PSNR, SSIM
and NIQE, the discriminators' measures, the brake-line reading of a regulariser on D, and
the costs. ``results`` is the runner's ``{(arm, seed): record}``; arms are declared by the
study.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence

from srdistill.reproduce.cohort_eval import (
    COHORT,
    DISC_CROP,
    DISC_CROPS_PER_IMAGE,
    DISC_SET,
    MEMBERS,
    METRICS,
)
from srdistill.reproduce.study import Arm, mean_std
from srdistill.reproduce.study_tables import (
    Precondition,
    arm_costs,
    arm_table,
    by_arm,
    contrast_rows,
    direction_counts,
    line_excess,
    long_csv,
    mean_interval_row,
    mean_over,
    scalar_contrast,
    tflop,
    without_seed_table,
)


def cohort_csv(results: dict, arms: Sequence[Arm]) -> str:
    """Long form: one row per (arm, seed, member, set), every metric and colour shift."""
    return long_csv(
        results,
        arms,
        ["arm", "seed", "member", "network", "set", *METRICS, "color_shift"]
        + ["train_seconds", "train_flops"],
        lambda arm, seed, rec, network, set_name, rows: [
            arm, seed, network.removeprefix("member") if network.startswith("member") else "",
            network, set_name,
            *(f"{statistics.fmean(r[m] for r in rows):.5f}" for m in (*METRICS, "color_shift")),
            f"{rec.get('train_seconds', 0.0):.2f}", rec.get("train_flops", ""),
        ],
    )  # fmt: skip


def discriminators_csv(results: dict, arms: Sequence[Arm]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["arm", "seed", "member", "fakes", "accuracy", "auc", "p_real", "p_fake"]
        + ["agreement_mean_abs_diff", "agreement_same_decision"]
    )
    for (arm, seed), rec in by_arm(results, arms):
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


DISC_MEASURES = (
    ("own_accuracy", "accuracy, own generator's fakes"),
    ("own_auc", "ROC-AUC, own generator's fakes"),
    ("peer_accuracy", "accuracy, peer's fakes"),
    ("peer_auc", "ROC-AUC, peer's fakes"),
    ("agreement_mean_abs_diff", "mean abs(p0 − p1) between the members"),
    ("agreement_same_decision", "share of crops both members classify alike"),
)


def discriminator_lines(
    results: dict, cohorts: Sequence[Arm], contrasts: Sequence[tuple[str, str]]
) -> list[str]:
    """The mechanism's table per cohort arm and its paired contrasts over seeds."""
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
    for arm in cohorts:
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
    for a, b in contrasts:
        for key, label in DISC_MEASURES:
            c = scalar_contrast(results, a, b, lambda rec, k=key: discriminator_value(rec, k))
            if c is None:
                continue
            mean, low, high, n = c
            interval = "n/a (1 seed)" if n < 2 else f"[{low:+.3f}, {high:+.3f}]"
            lines.append(f"| {a} − {b} | {label} | {n} | {mean:+.3f} | {interval} |")
    return lines


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


# --- preconditions ----------------------------------------------------------------------


def gan_preconditions(reference: str, gan: str) -> tuple[Precondition, ...]:
    """The checks that make a contrast between GAN cohorts meaningful: the ``reference``
    generator (every member's start) beats bicubic, the plain ``gan`` arm lowers NIQE, and
    no member collapsed (PSNR drop, colour cast)."""

    def gain_over_bicubic(results: dict, bicubic: dict) -> tuple[str, bool] | None:
        gains = {}
        for s in ("Set5", "BSD100"):
            ours = mean_over(results, reference, reference, s, "psnr")
            if ours is None or s not in bicubic:
                return None
            gains[s] = ours - bicubic[s]["psnr"]
        text = ", ".join(f"{s} {g:+.2f} dB" for s, g in gains.items())
        return text, all(g >= 0.5 for g in gains.values())

    def gan_lowers_niqe(results: dict, bicubic: dict) -> tuple[str, bool] | None:
        ref = mean_over(results, reference, reference, "BSD100", "niqe")
        ours = mean_over(results, gan, COHORT, "BSD100", "niqe")
        if ref is None or ours is None:
            return None
        return f"{ours:.3f} vs {ref:.3f} ({ours - ref:+.3f})", ours <= ref - 0.3

    def no_collapse(results: dict, bicubic: dict) -> tuple[str, bool] | None:
        ref = mean_over(results, reference, reference, "BSD100", "psnr")
        if ref is None:
            return None
        drops, shifts = [0.0], [0.0]
        for (arm, _), rec in results.items():
            for label, _ in MEMBERS if arm != reference else ():
                if rows := rec["networks"].get(label, {}).get("BSD100"):
                    drops.append(ref - statistics.fmean(r["psnr"] for r in rows))
                    shifts.append(statistics.fmean(r["color_shift"] for r in rows))
        if len(drops) == 1:
            return None
        return (
            f"largest PSNR drop {max(drops):.2f} dB, largest colour shift {max(shifts):.2f}/255",
            max(drops) < 2.0 and max(shifts) < 2.0,
        )

    return (
        Precondition(
            f"the {reference} generator beats bicubic by ≥ 0.5 dB on Set5 and BSD100",
            gain_over_bicubic,
        ),
        Precondition(
            f"the GAN does its job: the {gan} arm's NIQE on BSD100 (mean over seeds and "
            f"members) is ≥ 0.3 lower than the {reference} generator's",
            gan_lowers_niqe,
        ),
        Precondition(
            f"no collapse: every member's BSD100 PSNR within 2 dB of the {reference} "
            "generator's and mean colour shift against HR under 2/255",
            no_collapse,
        ),
    )


# --- tables -----------------------------------------------------------------------------


def cohort_tables(
    results: dict, arms: Sequence[Arm], sets: Sequence[str], bicubic: dict, reference: str
) -> list[str]:
    """PSNR, SSIM and NIQE per arm on the cohort mean (the ``reference`` arm's own
    network), each cell with half the members' mean gap."""
    rows = [(a.name, a.name if a.name == reference else COHORT) for a in arms]
    lines = []
    for metric, title in (("psnr", "PSNR (dB)"), ("ssim", "SSIM"), ("niqe", "NIQE")):

        def members(arm: str, s: str, metric: str = metric) -> str:
            gap = member_spread(results, arm, s, metric)
            return f" (members ±{gap / 2:.3f})" if gap is not None else ""

        lines += ["", f"## {title} per arm", ""]
        lines += arm_table(results, rows, sets, bicubic, metric, suffix=members)
    return [*lines, "", "(members ±x): half the mean gap between the two members of one cohort."]


def cohort_contrast_lines(
    results: dict, contrasts: Sequence[tuple[str, str]], sets: Sequence[str]
) -> list[str]:
    pairs = [(f"{a} − {b}", a, COHORT, b, COHORT) for a, b in contrasts]
    return [
        "",
        "## Paired contrasts (A − B, cohort mean, same seed = same initial weights and data)",
        "",
        "Mean over seeds of the per-seed difference, its exact 95% Student-t interval over "
        "seeds, and the share of (image, seed) pairs where A is better (higher PSNR/SSIM, "
        "lower NIQE).",
        "",
        "| contrast | metric | set | seeds | mean | 95% interval | A better |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *contrast_rows(results, pairs, sets, METRICS, ("niqe",)),
    ]


def cohort_directions(
    results: dict, contrasts: Sequence[tuple[str, str]], sets: Sequence[str]
) -> tuple[list[str], dict[tuple[str, str], tuple[int, int, int]]]:
    """Per contrast, in how many (metric, set) cells A is better or worse with a 95%
    interval excluding 0: the lines and the counts."""
    lines, counts = [], {}
    for a, b in contrasts:
        better, worse, measured = counts[(a, b)] = direction_counts(
            results, a, COHORT, b, COHORT, sets, METRICS, ("niqe",)
        )
        lines.append(
            f"- {a} − {b}: A better with a 95% interval excluding 0 on {better}, worse on "
            f"{worse}, of {measured} (metric, set) cells."
            if measured
            else f"- {a} − {b}: not yet measured with 2+ seeds."
        )
    return lines, counts


GAN_RULE = (
    "A GAN is judged on NIQE, its perceptual target: an arm helps when its NIQE is lower "
    "with an interval excluding 0 on most sets and higher on none; PSNR/SSIM wins without "
    "a lower NIQE are read as a brake."
)


def gan_judgement(results: dict, a: str, b: str, sets: Sequence[str]) -> str:
    """How cohort A compares with B as a GAN, on the cohort mean over 2+ seeds: "better"
    when A's NIQE (the perceptual target) is lower with a 95% interval excluding 0 on most
    sets and higher on none; "brake" when instead A wins most PSNR/SSIM cells without a
    lower NIQE on any set (a move back toward the generator both started from, not a
    better GAN); "none" otherwise; "unmeasured" without two seeds."""
    better, worse, measured = direction_counts(
        results, a, COHORT, b, COHORT, sets, ("niqe",), ("niqe",)
    )
    d_better, _, d_measured = direction_counts(
        results, a, COHORT, b, COHORT, sets, ("psnr", "ssim")
    )
    if measured == 0:
        return "unmeasured"
    if better > measured / 2 and worse == 0:
        return "better"
    if d_better > d_measured / 2 and better == 0:
        return "brake"
    return "none"


def cohort_cost_lines(results: dict, arms: Sequence[Arm], reference_training: str) -> list[str]:
    return [
        "Training FLOPs of one cohort step (both generators and discriminators, forward and "
        "backward, counted by FlopCounterMode) x steps; the pretrained generator's own "
        f"training is {reference_training}.",
        "",
        "| arm | runs | steps | TFLOP per run | train s per run (mean) |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {name} | {c['runs']} | {c['steps']} | {tflop(c['flops'])} | {c['seconds']:.0f} |"
            for name, c in arm_costs(results, arms).items()
        ),
    ]


def brake_line_lines(  # noqa: PLR0913
    results: dict,
    arms: Sequence[str],
    ends: tuple[str, str],
    sets: Sequence[str],
    heading: str,
    replication_seeds: Sequence[int] = (),
) -> list[str]:
    """Does a regulariser on D do more than brake the adversarial term? Per seed, each
    arm's NIQE excess over the line through the ``ends`` cohorts in the (PSNR, NIQE) plane
    (exact t interval), and the same on ``replication_seeds`` alone when all exist."""

    def rows(subset: dict, label: str) -> list[str]:
        return [
            f"| {arm} | {s} " + mean_interval_row(label, values)
            for arm in arms
            for s in sets
            if (values := line_excess(subset, arm, s, ends, COHORT))
        ]

    table = ["| arm | set | seeds | NIQE excess over the line | 95% interval |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    lines = [
        "",
        f"## {heading}",
        "",
        "A KL term on the discriminators may only brake the adversarial term, moving a cohort "
        "back toward the pretrained generator (higher PSNR, higher NIQE), as any regulariser "
        "that weakens the discriminator's signal would. Per "
        f"seed, the line through the {ends[0]} and {ends[1]} cohorts in the (PSNR, NIQE) "
        "plane gives the NIQE a mere brake reaches at a given PSNR; the excess is the arm's "
        "NIQE minus that (negative: a better perception-distortion point than the control's "
        "trade-off, i.e. something a peer adds). Exact t interval over seeds.",
        "",
        *table,
        *rows(results, ""),
    ]
    replication = {k: v for k, v in results.items() if k[1] in replication_seeds}
    if replication_seeds and len({s for _, s in replication}) == len(replication_seeds):
        seeds = "-".join(str(s) for s in replication_seeds)
        lines += [
            "",
            f"The same on seeds {seeds} alone, trained after the hint was found and planned "
            "before they existed (its replication; 1 degree of freedom, so the t interval is "
            "wide):",
            "",
            *table,
            *rows(replication, f"{seeds}: "),
        ]
    return lines


def without_seed_lines(  # noqa: PLR0913
    results: dict, arms: Sequence[str], against: str, seed: int, why: str, sets: Sequence[str]
) -> list[str]:
    """The BSD100 contrasts of ``arms`` against ``against`` with and without one seed
    (``why``: what was seen in that seed), cohort mean."""
    if (against, seed) not in results or "BSD100" not in sets:
        return []
    pairs = [(f"{a} − {against}", a, COHORT, against, COHORT) for a in arms]
    return [
        "",
        f"## Sensitivity: the contrasts against {against} without seed {seed}",
        "",
        f"{why} BSD100, cohort mean, exact t interval:",
        "",
        f"| contrast | metric | all seeds | without seed {seed} |",
        "| --- | --- | --- | --- |",
        *without_seed_table(results, pairs, (("psnr", True), ("niqe", False)), "BSD100", seed),
    ]
