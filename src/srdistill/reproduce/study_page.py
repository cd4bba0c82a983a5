"""A study's page from its records: what every teacher-student study prints, generic.

A study declares a ``PageSpec`` (its title, baselines, the precondition, the findings to
judge); this module writes ``results.csv`` (one row per arm, seed, network and set),
``results.md`` (preconditions first, per-arm tables with costs, paired contrasts with exact
t intervals and win rates, the conclusion the intervals support) and ``cost_quality.png``.
It names no arm, network or set of its own: they come from the spec and the records.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from srdistill.data.io import atomic_write_bytes
from srdistill.reproduce.runner import command_line
from srdistill.reproduce.study import Study, bicubic_scores, device_lines, set_means, sets_in
from srdistill.reproduce.study_tables import (
    Finding,
    arm_costs,
    arm_table,
    contrast_rows,
    cost_quality_points,
    network_csv,
    tflop,
    verdict_lines,
)

METRICS = ("psnr", "ssim")
__all__ = ["Finding", "PageSpec", "write_study_page"]


@dataclass(frozen=True)
class PageSpec:
    title: str
    target: str  # the CLI name, for the command line printed on the page
    teacher_label: str
    baselines: Mapping[str, str]  # baseline arm -> its network label (the precondition)
    min_teacher_gain_db: float
    published_teacher: Mapping[str, float] = field(default_factory=dict)  # set -> PSNR
    # How far (dB) the teacher may score from its published PSNR (rounded to 0.01 there).
    published_tolerance_db: float = 0.01
    findings: Sequence[Finding] = ()
    precondition_set: str = "BSD100"


def light_network(study: Study, arm: str) -> str:
    return study.spec.arm_by_name[arm].networks[0][0]


def arm_rows(study: Study, results: dict) -> list[str]:
    """The arms that have records, in declaration order."""
    have = {a for a, _ in results}
    return [a.name for a in study.spec.arms if a.name in have]


def parameters(study: Study, arm: str) -> int:
    from srdistill.models import build_generator

    cfg = study.config(study.spec.arm_by_name[arm], 0, own_steps=True)
    return sum(p.numel() for p in build_generator(cfg.scale, cfg.model).parameters())


def precondition_lines(page: PageSpec, study: Study, results: dict) -> tuple[list[str], bool]:
    """The checks that make the contrasts meaningful, and whether all of them hold."""
    teacher, s = study.spec.teacher, page.precondition_set
    t_scores = set_means(results, teacher, light_network(study, teacher), s)
    if not t_scores:
        return ["- the teacher has no record yet: nothing is read."], False
    t_psnr = statistics.fmean(t_scores.values())
    lines, holds = [], True
    for set_name, published in page.published_teacher.items():
        got = set_means(results, teacher, light_network(study, teacher), set_name)
        if got:
            value = statistics.fmean(got.values())
            ok = abs(value - published) <= page.published_tolerance_db
            holds &= ok
            lines.append(
                f"- {page.teacher_label} scores its published {set_name} PSNR within "
                f"{page.published_tolerance_db} dB: {value:.3f} vs {published:.2f}: "
                f"{'holds' if ok else 'does NOT hold (not the published network)'}."
            )
    for base, net in page.baselines.items():
        scores = set_means(results, base, net, s)
        if not scores:
            lines.append(f"- {base}: no record yet.")
            continue
        gain = t_psnr - statistics.fmean(scores.values())
        ok = gain >= page.min_teacher_gain_db
        holds &= ok
        lines.append(
            f"- the teacher is stronger than {base} by ≥ {page.min_teacher_gain_db} dB on {s}: "
            f"{gain:+.3f} dB: {'holds' if ok else 'does NOT hold'}."
        )
    return lines, holds


def cost_table(study: Study, results: dict) -> list[str]:
    lines = [
        "| arm | parameters | steps | train TFLOP (teacher forwards in) | train s (mean) |",
        "| --- | --- | --- | --- | --- |",
    ]
    costs = arm_costs(results, study.spec.arms)
    for arm in arm_rows(study, results):
        if arm == study.spec.teacher:
            continue
        c = costs[arm]
        lines.append(
            f"| {arm} | {parameters(study, arm):,} | {c['steps']} | {tflop(c['flops'])} | "
            f"{c['seconds']:.0f} |"
        )
    return lines


def contrast_table(page: PageSpec, results: dict, sets: list[str]) -> list[str]:
    pairs = [(f"{f.a} − {f.b}", f.a, f.net_a, f.b, f.net_b) for f in page.findings]
    return [
        "| contrast | metric | set | seeds | mean | 95% interval | A better |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *contrast_rows(results, pairs, sets, METRICS, digits={"ssim": 4}),
    ]


def _arm_table(study: Study, results: dict, bicubic: dict, sets: list[str], metric: str) -> list:
    rows = [(arm, light_network(study, arm)) for arm in arm_rows(study, results)]
    return arm_table(results, rows, sets, bicubic, metric, 3 if metric == "psnr" else 4)


def write_study_page(  # noqa: PLR0913
    page: PageSpec,
    study: Study,
    results: dict,
    out: Path,
    preset: str,
    seeds: int,
    overrides: Sequence[str],
) -> Path:
    """Write results.csv, results.md and cost_quality.png into ``out``; returns the page."""
    from srdistill.eval.figures import scatter_panels

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sets = sets_in(results, study.sets)
    bicubic = bicubic_scores(out, study.sets, study.spec.scale)
    atomic_write_bytes(out / "results.csv", network_csv(results, study.spec.arms).encode())
    points = cost_quality_points(
        results, study.spec.arms, None, False, page.precondition_set
    )
    figure = out / "cost_quality.png"
    if points:
        scatter_panels(
            [("the teacher exists already (its training not counted)", points)],
            figure,
            "training TFLOP",
            f"{page.precondition_set} PSNR (dB), ± seed SD",
        )
    pre, holds = precondition_lines(page, study, results)
    md = [
        f"# {page.title}",
        "",
        f"Command: `{command_line(page.target, preset, seeds, overrides)}` (rebuilds this page "
        "from the committed records in `runs/`, training only what is missing).",
        "",
        "Every cell: the final iterate of each run (never a checkpoint picked by a test "
        "score); mean ± standard deviation over seeds; PSNR/SSIM on Y with a 4-pixel border "
        "cut. Same seed = the same initial student weights and data order in every arm.",
        "",
        "## Preconditions (checked before any contrast is read)",
        "",
        *pre,
        "",
        "## PSNR (dB) per arm",
        "",
        *_arm_table(study, results, bicubic, sets, "psnr"),
        "",
        "## SSIM per arm",
        "",
        *_arm_table(study, results, bicubic, sets, "ssim"),
        "",
        "## Cost per arm",
        "",
        "Training FLOPs: one real training step counted by PyTorch's FlopCounterMode "
        "(convolutions and matrix products, forward and backward, the frozen teacher's "
        "forwards included) times the steps trained. Seconds: median logged step time x "
        "steps on the machine that ran them.",
        "",
        *cost_table(study, results),
        *(["", f"![cost and quality]({figure.name})"] if points else []),
        "",
        "## Paired contrasts (A − B per seed, exact 95% Student-t interval over seeds)",
        "",
        "A better: the share of (image, seed) pairs where A scores higher.",
        "",
        *contrast_table(page, results, sets),
        "",
        "## Conclusion",
        "",
        *(
            verdict_lines(page.findings, results, sets)
            if holds
            else ["A precondition does not hold (or is not measured yet): no contrast is read."]
        ),
        *device_lines(results, study.spec.arm_index),
        "",
    ]
    path = out / "results.md"
    atomic_write_bytes(path, "\n".join(md).encode())
    return path
