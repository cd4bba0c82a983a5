"""The blocks study pages are built of, from records alone: CSVs, per-arm tables, paired
contrast tables, verdicts, costs, teachers, sensitivity tables and figures.

A study declares its arms, contrasts and findings (data) and lays its page out from these
blocks; none of them names an arm, network, set or metric of its own. ``results`` is the
runner's ``{(arm, seed): record}`` throughout.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from srdistill.reproduce.study import (
    Arm,
    Contrast,
    image_contrast,
    mean_std,
    mixes_teachers,
    paired_contrast,
    seed_spread,
    set_means,
    t95_half_width,
    teacher_mismatches,
)

# (row label, A, A's network, B, B's network): one paired contrast A − B.
Pair = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Finding:
    """A claim ``A − B > 0`` judged by the paired intervals over the sets."""

    text: str
    a: str
    net_a: str
    b: str
    net_b: str


@dataclass(frozen=True)
class Precondition:
    """A check that makes the contrasts meaningful: ``check(results, bicubic)`` gives
    (the measured value as text, whether it holds), or None while not measurable."""

    text: str
    check: Callable[[dict, dict], tuple[str, bool] | None]


def by_arm(results: dict, arms: Sequence[Arm]) -> list[tuple[tuple[str, int], dict]]:
    """Records in declaration order of their arm, then by seed."""
    order = [a.name for a in arms]
    return sorted(results.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1]))


def records_of(results: dict, arm: str) -> list[dict]:
    return [r for (a, _), r in results.items() if a == arm]


def long_csv(
    results: dict,
    arms: Sequence[Arm],
    header: Sequence[str],
    row: Callable[[str, int, dict, str, str, list[dict]], list],
) -> str:
    """One row per (arm, seed, network, set): ``row(arm, seed, record, network, set,
    per-image rows)`` gives its cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for (arm, seed), rec in by_arm(results, arms):
        for network, per_set in rec["networks"].items():
            for set_name, rows in per_set.items():
                w.writerow(row(arm, seed, rec, network, set_name, rows))
    return buf.getvalue()


def network_csv(results: dict, arms: Sequence[Arm]) -> str:
    """PSNR/SSIM per (arm, seed, network, set) with the run's cost (Study A's columns)."""
    return long_csv(
        results,
        arms,
        ["arm", "seed", "network", "set", "psnr", "ssim", "train_seconds", "train_flops"],
        lambda arm, seed, rec, network, set_name, rows: [
            arm,
            seed,
            network,
            set_name,
            f"{statistics.fmean(r['psnr'] for r in rows):.4f}",
            f"{statistics.fmean(r['ssim'] for r in rows):.5f}",
            f"{rec.get('train_seconds') or 0.0:.2f}",
            rec.get("train_flops", ""),
        ],
    )


# --- per-arm tables ---------------------------------------------------------------------


def bicubic_cells(bicubic: dict, sets: Sequence[str], metric: str, digits: int = 3) -> str:
    return " | ".join(f"{bicubic.get(s, {}).get(metric, math.nan):.{digits}f}" for s in sets)


def network_tables(
    results: dict, arms: Sequence[Arm], sets: Sequence[str], bicubic: dict
) -> list[str]:
    """PSNR (with seeds and seconds) and SSIM of every network of every arm."""
    lines = [
        "| arm | network | seeds | " + " | ".join(sets) + " | train s (mean) |",
        "| --- | --- | --- |" + " --- |" * (len(sets) + 1),
        f"| bicubic | - | - | {bicubic_cells(bicubic, sets, 'psnr')} | - |",
    ]
    for arm in arms:
        recs = records_of(results, arm.name)
        if not recs:
            lines.append(f"| {arm.name} | - | 0 | " + " | ".join("-" for _ in sets) + " | - |")
            continue
        cost = statistics.fmean(r.get("train_seconds") or 0.0 for r in recs)
        for label, _ in arm.networks:
            cells = [mean_std(list(set_means(results, arm.name, label, s).values())) for s in sets]
            lines.append(
                f"| {arm.name} | {label} | {len(recs)} | " + " | ".join(cells) + f" | {cost:.0f} |"
            )
    lines += ["", "## SSIM", "", "| arm | network | " + " | ".join(sets) + " |"]
    lines += ["| --- | --- |" + " --- |" * len(sets)]
    for arm in arms:
        for label, _ in arm.networks:
            cells = [
                mean_std(list(set_means(results, arm.name, label, s, "ssim").values()))
                for s in sets
            ]
            if any(c != "-" for c in cells):
                lines.append(f"| {arm.name} | {label} | " + " | ".join(cells) + " |")
    return lines


def arm_table(  # noqa: PLR0913
    results: dict,
    rows: Sequence[tuple[str, str]],
    sets: Sequence[str],
    bicubic: dict,
    metric: str,
    digits: int = 3,
    suffix: Callable[[str, str], str] = lambda arm, set_name: "",
) -> list[str]:
    """One row per (arm, network): mean ± SD over seeds on each set, bicubic first;
    ``suffix(arm, set)`` is appended to a cell."""
    lines = [
        "| arm | seeds | " + " | ".join(sets) + " |",
        "| --- | --- |" + " --- |" * len(sets),
        f"| bicubic | - | {bicubic_cells(bicubic, sets, metric, digits)} |",
    ]
    for arm, net in rows:
        n = len(records_of(results, arm))
        cells = [
            mean_std(list(set_means(results, arm, net, s, metric).values()), digits)
            + suffix(arm, s)
            for s in sets
        ]
        lines.append(f"| {arm} | {n} | " + " | ".join(cells) + " |")
    return lines


# --- paired contrasts and verdicts ------------------------------------------------------


def interval_text(c: Contrast, digits: int = 3) -> str:
    if c.seeds < 2 or math.isnan(c.low):
        return "n/a (1 seed)"
    return f"[{c.low:+.{digits}f}, {c.high:+.{digits}f}]"


def contrast_rows(  # noqa: PLR0913
    results: dict,
    pairs: Iterable[Pair],
    sets: Sequence[str],
    metrics: Sequence[str] | None = None,
    lower_is_better: Iterable[str] = (),
    digits: Mapping[str, int] | None = None,
) -> list[str]:
    """``| label | [metric |] set | seeds | mean | interval | win rate |`` rows; with
    ``metrics`` None, PSNR only and no metric column."""
    lower, digits = set(lower_is_better), digits or {}
    rows = []
    for label, a, na, b, nb in pairs:
        for metric in metrics or ("psnr",):
            d = digits.get(metric, 3)
            column = f" {metric} |" if metrics else ""
            for s in sets:
                c = paired_contrast(results, a, na, b, nb, s, metric, metric not in lower)
                if c is None:
                    continue
                rows.append(
                    f"| {label} |{column} {s} | {c.seeds} | {c.mean:+.{d}f} | "
                    f"{interval_text(c, d)} | {100 * c.win_rate:.0f}% of {c.images}x{c.seeds} |"
                )
    return rows


def teacher_contrast_lines(
    results: dict, contrasts: Sequence[tuple[str, str, str, str]], sets: Sequence[str]
) -> list[str]:
    """The PSNR contrasts section of a study with one teacher; a contrast between arms
    that learnt from different teachers is marked † and explained."""
    pairs = [
        (f"{a}/{na} − {b}/{nb}" + ("†" if mixes_teachers(results, a, b) else ""), a, na, b, nb)
        for a, na, b, nb in contrasts
    ]
    rows = contrast_rows(results, pairs, sets)
    lines = [
        "## Paired contrasts (A − B, PSNR dB, same seed = same initial weights and data order)",
        "",
        "Mean over seeds of the per-seed difference of set means, its 95% t-interval over "
        "seeds, and the share of (image, seed) pairs where A beats B.",
        "",
        "| contrast | set | seeds | mean | 95% interval | win rate |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]
    if any("†" in row for row in rows):
        lines += [
            "",
            "† A and B learnt from different teachers (trained on different machines from "
            "the same config and seed; see Teachers): the contrast also holds the "
            "difference between the two teachers.",
        ]
    return lines


def ablation_lines(
    results: dict,
    pairs: Sequence[tuple[str, str, str, str]],
    sets: Sequence[str],
    scale_pairs: Sequence[tuple[str, str, str, str]] = (),
) -> list[str]:
    """Contrasts of arms with 1-2 seeds: over seeds from 2 seeds, else over one seed's
    images; ``scale_pairs``: main contrasts whose seed spread is printed for scale."""
    rows = []
    for a, na, b, nb in pairs:
        for s in sets:
            c = paired_contrast(results, a, na, b, nb, s)
            if c is not None and c.seeds < 2:
                c = image_contrast(results, a, na, b, nb, s, seed=0)
            if c is None:
                continue
            over = "seeds" if c.seeds > 1 else "images (1 seed)"
            rows.append(
                f"| {a}/{na} − {b}/{nb} | {s} | {c.seeds} | {c.mean:+.3f} | "
                f"[{c.low:+.3f}, {c.high:+.3f}] over {over} | "
                f"{100 * c.win_rate:.0f}% of {c.images}x{c.seeds} |"
            )
    if not rows:
        return []
    lines = [
        "",
        "## Ablations (A − B, PSNR dB, paired by seed)",
        "",
        "Each ablation is paired with the same seeds of the arm it varies. With two or more "
        "seeds the interval is the 95% t-interval over seeds, as above; with one seed it is a "
        "95% t-interval over the set's images, which says whether the difference is "
        "consistent across images, not whether it would survive another seed.",
    ]
    scale = [
        f"{a}/{na} − {b}/{nb} {sd:.4f} dB"
        for a, na, b, nb in scale_pairs
        if not math.isnan(sd := seed_spread(results, a, na, b, nb, "BSD100"))
    ]
    if scale:
        lines += [
            "",
            "For scale, the standard deviation over seeds of a paired 3-seed contrast on "
            "BSD100: " + "; ".join(scale) + ".",
        ]
    return [
        *lines,
        "",
        "| contrast | set | seeds | mean | 95% interval | win rate |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]


def direction_counts(  # noqa: PLR0913
    results: dict,
    a: str,
    net_a: str,
    b: str,
    net_b: str,
    sets: Sequence[str],
    metrics: Sequence[str] = ("psnr",),
    lower_is_better: Iterable[str] = (),
) -> tuple[int, int, int]:
    """(cells where A is better with a 95% interval excluding 0, cells where worse, cells
    measured with 2+ seeds) over (metric, set)."""
    lower = set(lower_is_better)
    better = worse = measured = 0
    for metric in metrics:
        for s in sets:
            c = paired_contrast(results, a, net_a, b, net_b, s, metric, metric not in lower)
            if c is None or c.seeds < 2:
                continue
            measured += 1
            up, down = c.low > 0, c.high < 0
            better += down if metric in lower else up
            worse += up if metric in lower else down
    return better, worse, measured


def verdict_lines(
    findings: Sequence[Finding],
    results: dict,
    sets: Sequence[str],
    interval: str = "PSNR interval",
    note: Callable[[Finding], str] = lambda f: "",
) -> list[str]:
    """Each finding: supported when its PSNR interval lies above 0 on most sets measured
    with 2+ seeds, contradicted when below 0 on most, not shown otherwise; ``note`` adds
    a caveat to a finding's text."""
    lines = []
    for f in findings:
        above, below, measured = direction_counts(results, f.a, f.net_a, f.b, f.net_b, sets)
        if measured == 0:
            lines.append(f"- {f.text}: not yet measured with 2+ seeds.")
            continue
        state = (
            "supported"
            if above > measured / 2
            else "contradicted (the opposite holds)"
            if below > measured / 2
            else "not shown (the interval includes 0 on most sets)"
        )
        lines.append(
            f"- {f.text}{note(f)}: {state}; {interval} above 0 on {above}, below 0 on {below} "
            f"of {measured} sets."
        )
    return lines


def teacher_gain(
    results: dict, teacher: tuple[str, str], baseline: tuple[str, str], min_gain_db: float
) -> tuple[float, bool] | None:
    """Teacher minus baseline (arm, network) on BSD100, means over seeds, and whether it
    reaches ``min_gain_db`` (the precondition of every teacher-student contrast)."""
    t = mean_over(results, *teacher, "BSD100", "psnr")
    b = mean_over(results, *baseline, "BSD100", "psnr")
    if t is None or b is None:
        return None
    return t - b, t - b >= min_gain_db


def gated_verdicts(  # noqa: PLR0913
    results: dict,
    findings: Sequence[Finding],
    sets: Sequence[str],
    teacher: tuple[str, str],
    baseline: tuple[str, str],
    min_gain_db: float,
) -> list[str]:
    """The teacher precondition first; the findings' verdicts only when it holds (a
    finding between arms taught by different teachers says so)."""
    pre = teacher_gain(results, teacher, baseline, min_gain_db)
    if pre is None:
        return [f"Not yet measured: the teacher or the `{baseline[0]}` arm has no record."]
    gain, holds = pre
    lines = [
        f"Precondition ({teacher[0]} − {baseline[0]} on BSD100 ≥ {min_gain_db} dB): "
        f"{gain:+.3f} dB, {'holds' if holds else 'does NOT hold'}."
    ]
    if not holds:
        return lines + ["The teacher is not clearly stronger, so no contrast is interpreted."]

    def note(f: Finding) -> str:
        mixed = mixes_teachers(results, f.a, f.b)
        return " (A and B learnt from different teachers)" if mixed else ""

    return lines + verdict_lines(findings, results, sets, "95% interval", note)


def precondition_block(
    preconditions: Sequence[Precondition], results: dict, bicubic: dict
) -> tuple[list[str], bool]:
    """The precondition lines and whether every one holds."""
    lines, holds = [], True
    for pre in preconditions:
        r = pre.check(results, bicubic)
        holds &= r is not None and r[1]
        state = "not yet measured" if r is None else f"{r[0]}: {'holds' if r[1] else 'FAILS'}"
        lines.append(f"- {pre.text}: {state}.")
    return lines, holds


def mean_over(results: dict, arm: str, network: str, set_name: str, metric: str) -> float | None:
    """Mean over seeds of a network's set mean (None without records)."""
    values = list(set_means(results, arm, network, set_name, metric).values())
    return statistics.fmean(values) if values else None


# --- per-seed scalars and lines ---------------------------------------------------------


def scalar_contrast(
    results: dict, a: str, b: str, value: Callable[[dict], float | None]
) -> tuple[float, float, float, int] | None:
    """A − B per seed of a scalar of the record: (mean, low, high, seeds)."""
    diffs = []
    for (arm, seed), rec in sorted(results.items()):
        if arm != a or (b, seed) not in results:
            continue
        va, vb = value(rec), value(results[(b, seed)])
        if va is not None and vb is not None:
            diffs.append(va - vb)
    if not diffs:
        return None
    mean, half = statistics.fmean(diffs), t95_half_width(diffs)
    return mean, mean - half, mean + half, len(diffs)


def line_excess(  # noqa: PLR0913
    results: dict,
    arm: str,
    set_name: str,
    ends: tuple[str, str],
    network: str,
    x: str = "psnr",
    y: str = "niqe",
) -> list[float]:
    """Per seed: the arm's ``y`` minus the ``y`` that the line through the two ``ends``
    arms' (x, y) points gives at the arm's ``x`` (seeds where the ends coincide skipped)."""
    points = {
        name: (set_means(results, name, network, set_name, x),
               set_means(results, name, network, set_name, y))
        for name in (arm, *ends)
    }  # fmt: skip
    lo, hi = ends
    excess = []
    for seed, value in sorted(points[arm][0].items()):
        if not all(seed in points[n][0] for n in ends):
            continue
        (x0, y0), (x1, y1) = ((points[n][0][seed], points[n][1][seed]) for n in (lo, hi))
        if abs(x1 - x0) < 1e-6:
            continue
        excess.append(points[arm][1][seed] - (y0 + (value - x0) / (x1 - x0) * (y1 - y0)))
    return excess


def mean_interval_row(label: str, values: Sequence[float]) -> str:
    """``mean | interval`` cells of per-seed values (exact t)."""
    mean, half = statistics.fmean(values), t95_half_width(values)
    interval = "n/a (1 seed)" if len(values) < 2 else f"[{mean - half:+.3f}, {mean + half:+.3f}]"
    return f"| {label}{len(values)} | {mean:+.3f} | {interval} |"


def without_seed_table(
    results: dict, pairs: Sequence[Pair], metrics: Sequence[tuple[str, bool]], set_name: str,
    seed: int,
) -> list[str]:  # fmt: skip
    """Rows ``| label | metric | all seeds | without seed |`` of paired contrasts."""
    rest = {k: v for k, v in results.items() if k[1] != seed}
    lines = []
    for label, a, na, b, nb in pairs:
        for metric, higher in metrics:
            cells = []
            for subset in (results, rest):
                c = paired_contrast(subset, a, na, b, nb, set_name, metric, higher)
                cells.append(
                    "-" if c is None else f"{c.mean:+.3f} [{c.low:+.3f}, {c.high:+.3f}] ({c.seeds})"
                )
            lines.append(f"| {label} | {metric} | {cells[0]} | {cells[1]} |")
    return lines


def saved_values(results: dict, section: str, key: str, default: str, skip: str = "") -> str:
    """The values of ``section.key`` in the saved configs of the records (but the
    ``skip`` arm's), sorted and joined: what the runs were actually trained with."""
    import yaml

    seen = set()
    for (arm, _), rec in results.items():
        path = Path(rec.get("folder", "")) / "config.yaml"
        if arm != skip and path.is_file():
            saved = yaml.safe_load(path.read_text()).get(section, {})
            seen.add(str(saved.get(key, default)))
    return ", ".join(sorted(seen)) or "-"


# --- costs and teachers -----------------------------------------------------------------


def arm_costs(results: dict, arms: Sequence[Arm], teacher: str | None = None) -> dict[str, dict]:
    """Per arm with records: runs, steps, mean training FLOPs and seconds over its seeds,
    and FLOPs with the ``teacher`` arm's training added for arms that learn from it."""
    teacher_recs = records_of(results, teacher) if teacher else []
    teacher_flops = teacher_recs[0].get("train_flops") if teacher_recs else None
    out = {}
    for arm in arms:
        recs = records_of(results, arm.name)
        if not recs:
            continue
        flops = [r["train_flops"] for r in recs if r.get("train_flops")]
        own = statistics.fmean(flops) if flops else None
        total = own + teacher_flops if own and arm.uses_teacher and teacher_flops else own
        out[arm.name] = {
            "runs": len(recs),
            "steps": recs[0].get("step"),
            "flops": own,
            "flops_with_teacher": total,
            "seconds": statistics.fmean(r.get("train_seconds") or 0.0 for r in recs),
        }
    return out


def tflop(value: float | None) -> str:
    return f"{value / 1e12:.1f}" if value else "-"


def teacher_cost_lines(
    results: dict, arms: Sequence[Arm], teacher: str, teacher_training: str
) -> list[str]:
    """The cost table of a study that trains its teacher: each arm's FLOPs without and with
    the teacher's training (``teacher_training`` says what that was) and its seconds."""
    lines = [
        "Training FLOPs: one real training step of the arm counted by PyTorch's "
        "FlopCounterMode (convolutions and matrix products, forward and backward, a frozen "
        "teacher's forward included), times the steps trained. An arm that learns from the "
        f"teacher is shown without and with the teacher's own training ({teacher_training}): "
        "the first is the cost when a trained teacher exists already, the "
        "second when it has to be trained for this. Seconds: median logged step time x "
        "steps on the machine that ran them (data + steps; no validation or checkpoints).",
        "",
        "| arm | steps | TFLOP | TFLOP with the teacher's training | train s (mean) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, c in arm_costs(results, arms, teacher).items():
        own, total = c["flops"], c["flops_with_teacher"]
        with_teacher = tflop(total) if total != own else "-"
        lines.append(
            f"| {name} | {c['steps']} | {tflop(own)} | {with_teacher} | {c['seconds']:.0f} |"
        )
    return lines


def cost_quality_points(
    results: dict, arms: Sequence[Arm], teacher: str | None, with_teacher: bool, set_name: str
) -> list[tuple[str, float, float, float]]:
    """(arm, TFLOP, mean PSNR of its first network on the set, seed SD)."""
    costs = arm_costs(results, arms, teacher)
    points = []
    for arm in arms:
        c = costs.get(arm.name)
        flops = c and (c["flops_with_teacher"] if with_teacher else c["flops"])
        scores = list(set_means(results, arm.name, arm.networks[0][0], set_name).values())
        if not flops or not scores:
            continue
        spread = statistics.stdev(scores) if len(scores) > 1 else math.nan
        points.append((arm.name, flops / 1e12, statistics.fmean(scores), spread))
    return points


def plot_cost_quality(
    panels: Sequence[tuple[str, list]], path: Path, set_name: str = "BSD100"
) -> bool:
    """A scatter panel per (title, points); False (nothing drawn) without points."""
    from srdistill.eval.figures import scatter_panels

    if not any(points for _, points in panels):
        return False
    scatter_panels(
        list(panels), path, "training TFLOP", f"{set_name} PSNR (dB), light network, ± seed SD"
    )
    return True


def teacher_cost_quality(results: dict, arms: Sequence[Arm], teacher: str, path: Path) -> bool:
    """BSD100 PSNR against training FLOPs, with and without the teacher's own training."""
    panels = [
        (
            "teacher's training counted (no teacher exists yet)",
            cost_quality_points(results, arms, teacher, True, "BSD100"),
        ),
        (
            "teacher already trained (its cost not counted)",
            cost_quality_points(results, arms, teacher, False, "BSD100"),
        ),
    ]
    return plot_cost_quality(panels, path)


def teachers_table(  # noqa: PLR0913
    results: dict,
    teachers: dict[str, dict],
    arms: Sequence[Arm],
    baseline: tuple[str, str],
    min_gain_db: float,
    network: str = "teacher",
) -> list[str]:
    """Each recorded teacher: its score, where it trained, the precondition against the
    ``baseline`` (arm, network) and the arms that learnt from it."""
    alone = set_means(results, *baseline, "BSD100")
    order = [a.name for a in arms]
    lines = [
        "",
        "## Teachers",
        "",
        "The study's teacher was trained more than once from the same config and seed (its "
        "weights did not survive a session before they were committed); each arm's record "
        "names the teacher it learnt from by the fingerprint of its weights.",
        "",
        f"| teacher | trained on | BSD100 | teacher − {baseline[0]} (BSD100) | "
        "arms that learnt from it |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fingerprint, rec in teachers.items():
        rows = rec["networks"].get(network, {}).get("BSD100") or []
        score = statistics.fmean(r["psnr"] for r in rows) if rows else math.nan
        gain = score - statistics.fmean(alone.values()) if alone and rows else math.nan
        holds = "holds" if gain >= min_gain_db else "does NOT hold"
        taught = sorted(
            {a for (a, _), r in results.items() if r.get("teacher_weights_sha256") == fingerprint},
            key=order.index,
        )
        where = ", then ".join(d for d, _ in rec.get("devices") or []) or "?"
        lines.append(
            f"| {fingerprint[:12]} | {where} | {score:.3f} | {gain:+.3f} dB ({holds}) | "
            + (", ".join(taught) or "-")
            + " |"
        )
    return lines


def teacher_lines(  # noqa: PLR0913
    results: dict,
    teachers: dict[str, dict] | None,
    arms: Sequence[Arm],
    teacher: str,
    baseline: tuple[str, str],
    min_gain_db: float,
) -> list[str]:
    """The teachers table when the teacher was trained more than once, else a warning
    naming the runs whose teacher differs from the recorded one (nothing when none)."""
    if teachers and len(teachers) > 1:
        return teachers_table(results, teachers, arms, baseline, min_gain_db, teacher)
    mismatched = teacher_mismatches(results, teacher)
    if not mismatched:
        return []
    return [
        "",
        "**Teacher check: " + ", ".join(mismatched) + " learnt from a teacher whose "
        "weights differ from the recorded teacher's (retrained on another machine); "
        "read their contrasts with that in mind.**",
    ]


# --- figures ----------------------------------------------------------------------------


def seed0_series(
    curves: dict[str, list[dict]],
    key: Callable[[set[str]], str | None],
    skip: tuple[str, ...] = (),
) -> dict[str, list[tuple[int, float]]]:
    """Seed 0's curve per arm: ``key(keys the run logged)`` picks the metric drawn."""
    series = {}
    for name, rows in sorted(curves.items()):
        if not name.endswith("seed0") or name.startswith(skip):
            continue
        chosen = key({k for r in rows for k in r})
        points = [(r["step"], r[chosen]) for r in rows if chosen in r]
        if points:
            series[name.removesuffix("_seed0")] = points
    return series


def validation_curves(
    curves: dict[str, list[dict]], preferred: str = "val/psnr_exit4"
) -> dict[str, list[tuple[int, float]]]:
    """Seed 0's validation PSNR per arm: the ``preferred`` key where the run logged it
    (the light exit of a multi-exit run), its first ``val/psnr`` key otherwise."""

    def key(keys: set[str]) -> str | None:
        if preferred in keys:
            return preferred
        return min((k for k in keys if k.startswith("val/psnr")), default=None)

    return seed0_series(curves, key)


def crop_figure(  # noqa: PLR0913
    set_name: str,
    image: str,
    scale: int,
    size: int,
    crops: Sequence[tuple[str, Path | None]],
    path: Path,
) -> bool:
    """HR and bicubic windows (at ``figure_corner``) of one benchmark image beside the
    saved crops that exist (label, PNG); False (nothing drawn) when the set is absent or
    no crop exists."""
    from srdistill.data.datasets import load_benchmark
    from srdistill.data.io import read_image
    from srdistill.eval.evaluate import bicubic_upscaler, super_resolve
    from srdistill.eval.figures import side_by_side

    try:
        full = next(im for im in load_benchmark(set_name, scale) if im.name == image)
    except Exception:  # noqa: BLE001 - the set is not here: no figure
        return False
    y, x = figure_corner(set_name, image, scale, size)
    window = (slice(None), slice(y, y + size), slice(x, x + size))
    bicubic = super_resolve(bicubic_upscaler(scale), full.lr)
    panels = [("HR", full.hr[window]), ("bicubic", bicubic[window])]
    panels += [(label, read_image(p)[0]) for label, p in crops if p is not None and p.is_file()]
    if len(panels) < 3:
        return False
    side_by_side(panels, path, crop=size, zoom=3, position=(0, 0))
    return True


def figure_corner(set_name: str, image: str, scale: int, size: int) -> tuple[int, int]:
    """A figure crop's corner: the most textured ``size`` window of the HR image."""
    from srdistill.data.datasets import load_benchmark
    from srdistill.eval.figures import pick_crop

    hr = next(im.hr for im in load_benchmark(set_name, scale) if im.name == image)
    return pick_crop(hr, size)
