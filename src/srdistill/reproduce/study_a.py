"""Study A: does distillation give a better light SR model, and which kind?

Arms (all students are SRResNet-4 and train for the same steps with the same recipe):

    alone              SRResNet-4 trained alone (the baseline every arm is paired with)
    teacher            SRResNet-16 trained alone for 4x the steps (one, shared by all seeds)
    self_distill       paper A from scratch: MultiExitSRResNet-16, exit 4, alpha 0.9, L1
    self_distill_warm  the same, initialised from the teacher (exit heads copy the teacher's)
    deep_supervision   warm, alpha 1.0: the exit sees the ground truth only (the control)
    alpha05            warm, alpha 0.5
    detached           warm, center output detached (teacher-only target)
    mse_distill        warm, MSE for the distillation term
    output_kd          SRResNet-4 student, output KD from the frozen teacher, 1:1
    feature_kd         SRResNet-4 student, FAKD (spatial affinity) from the same teacher
    alone_long         SRResNet-4 alone for the teacher's steps + the warm arm's (compute)
    alone_flops        SRResNet-4 alone for as many steps as teacher + warm arm's FLOPs
    teacher_init       SRResNet-4 started as the teacher's head, first 4 blocks and
                       reconstruction, then L1 alone (does a start from the teacher suffice?)
    teacher_init_kd    the same start, trained with output KD from the frozen teacher

Every run's cost is also counted in FLOPs (one real step x steps; the teacher's training
is its own row), and a retrained teacher is recorded beside the first one with its weights
committed, so each arm's record names the teacher it learnt from.

Every finished run leaves ``eval.json`` (per-image PSNR/SSIM of each network on each set)
and its small records; with ``records`` set they are copied there (committed), and a later
call rebuilds the tables from them and trains only what is missing.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from srdistill.data.catalog import TEST_SETS
from srdistill.data.io import atomic_write_bytes
from srdistill.eval.figures import line_plot
from srdistill.reproduce.runner import CONFIG_DIR, command_line
from srdistill.reproduce.study import (
    TEACHER_WEIGHTS,
    Arm,
    Contrast,
    Study,
    StudySpec,
    available_sets,
    bicubic_scores,
    committed_teacher,
    device_lines,
    file_sha256,
    image_contrast,
    mean_std,
    mixes_teachers,
    paired_contrast,
    read_curves,
    run_devices,
    score_networks,
    seed_spread,
    select_jobs,
    set_means,
    sets_in,
    t_quantile,
    weights_fingerprint,
)
from srdistill.reproduce.study import teacher_mismatches as _teacher_mismatches
from srdistill.reproduce.study import teacher_records as _teacher_records

__all__ = [
    "ARMS",
    "TEACHER_WEIGHTS",
    "mixes_teachers",
    "Arm",
    "Contrast",
    "STUDY_A",
    "committed_teacher",
    "file_sha256",
    "image_contrast",
    "jobs",
    "paired_contrast",
    "read_curves",
    "run_devices",
    "seed_spread",
    "study_a",
    "t_quantile",
    "teacher_records",
    "weights_fingerprint",
]

log = logging.getLogger(__name__)
SCALE = 4
TEACHER_RUN = "teacher_seed0"  # one teacher for every seed (the CPU budget allows one)
MIN_TEACHER_GAIN_DB = 0.2  # the precondition, on BSD100


_EXITS = (("exit4", 4), ("center16", 16))
_WARM = ("self_distill.init_from",)
_KD = ("kd.teacher",)
ARMS: tuple[Arm, ...] = (
    Arm("teacher", "study_a/teacher.yaml", networks=(("teacher", None),), seeds=1),
    Arm("alone", "study_a/student.yaml"),
    Arm("self_distill_warm", "study_a/multi_exit.yaml", networks=_EXITS, uses_teacher=_WARM),
    Arm(
        "deep_supervision",
        "study_a/multi_exit.yaml",
        ("self_distill.alpha=1.0",),
        _EXITS,
        _WARM,
    ),
    Arm("output_kd", "study_a/kd.yaml", uses_teacher=_KD),
    Arm("self_distill", "study_a/multi_exit.yaml", networks=_EXITS),
    # Two seeds: the one ablation that changes the exit beyond the seed spread is replicated.
    Arm("alpha05", "study_a/multi_exit.yaml", ("self_distill.alpha=0.5",), _EXITS, _WARM, 2),
    Arm(
        "detached",
        "study_a/multi_exit.yaml",
        ("self_distill.detach_center=true",),
        _EXITS,
        _WARM,
        2,
    ),
    Arm(
        "mse_distill",
        "study_a/multi_exit.yaml",
        ("self_distill.distill_loss=mse",),
        _EXITS,
        _WARM,
        1,
    ),
    # Compute control: the student alone for the teacher's 16,000 steps plus the warm
    # arm's 4,000 (what the warm exit's trunk saw), cosine over the whole run.
    Arm("alone_long", "study_a/student.yaml", steps_of=("teacher", "self_distill_warm")),
    # The same, matched on FLOPs instead of steps (a multi-exit step costs 2.4 student steps).
    Arm(
        "alone_flops",
        "study_a/student.yaml",
        flops_of=("teacher", "self_distill_warm"),
        seeds=1,
    ),
    # Init-only control: SRResNet-4 started as the teacher's head, first four blocks and
    # reconstruction, then trained with L1 alone; and the same start trained with output KD.
    Arm("teacher_init", "study_a/student.yaml", uses_teacher=("plain.init_from",)),
    Arm("teacher_init_kd", "study_a/kd.yaml", uses_teacher=("kd.teacher", "kd.init_from")),
    Arm(
        "feature_kd",
        "study_a/kd.yaml",
        ("kd.output_weight=0", "kd.feature=fakd", "kd.feature_weight=1.0"),
        uses_teacher=_KD,
        seeds=1,
    ),
)
TEACHER_ARM = ARMS[0]
ARM_BY_NAME = {a.name: a for a in ARMS}
# (A, network of A, B, network of B): paired per seed, A - B.
CONTRASTS: tuple[tuple[str, str, str, str], ...] = (
    ("self_distill", "exit4", "alone", "student"),
    ("self_distill_warm", "exit4", "alone", "student"),
    ("self_distill_warm", "exit4", "deep_supervision", "exit4"),
    ("output_kd", "student", "alone", "student"),
    ("self_distill_warm", "exit4", "output_kd", "student"),
    ("deep_supervision", "exit4", "alone", "student"),
    # Round 2: more training (the compute control) and the teacher's blocks as a start alone.
    ("deep_supervision", "exit4", "alone_long", "student"),
    ("self_distill_warm", "exit4", "alone_long", "student"),
    ("teacher_init", "student", "alone", "student"),
    ("deep_supervision", "exit4", "teacher_init", "student"),
    ("teacher_init_kd", "student", "teacher_init", "student"),
    ("output_kd", "student", "alone_long", "student"),
)
# Ablations (1-2 seeds), paired with the same seeds of the arm they vary (A - B). The
# centers show what the distillation term does to the 16-block network the exit shares a
# trunk with.
ABLATIONS: tuple[tuple[str, str, str, str], ...] = (
    *(
        (variant, net, "self_distill_warm", net)
        for variant in ("alpha05", "detached", "mse_distill")
        for net in ("exit4", "center16")
    ),
    ("alpha05", "exit4", "deep_supervision", "exit4"),
    ("feature_kd", "student", "output_kd", "student"),
    ("feature_kd", "student", "alone", "student"),
    # The FLOP-matched control (1 seed): against the warm exit and the step-matched one.
    ("self_distill_warm", "exit4", "alone_flops", "student"),
    ("alone_flops", "student", "alone_long", "student"),
)


evaluate_run = score_networks  # the name earlier callers used


STUDY_A = StudySpec(
    name="study_a",
    scale=SCALE,
    arms=ARMS,
    teacher=TEACHER_ARM.name,
    evaluator=evaluate_run,
)


def jobs(seeds: int) -> list[tuple[Arm, int]]:
    return STUDY_A.jobs(seeds)


def run_name(arm: Arm, seed: int) -> str:
    return STUDY_A.run_name(arm, seed)


def _Study(*args, **kwargs) -> Study:  # noqa: ANN002, ANN003, N802
    """Study A's runner (the name the GPU lease script uses)."""
    return Study(STUDY_A, *args, **kwargs)


def teacher_mismatches(results: dict) -> list[str]:
    return _teacher_mismatches(results, TEACHER_ARM.name)


def teacher_records(records: Path | None, runs_dir: Path) -> dict[str, dict]:
    return _teacher_records(records, runs_dir, TEACHER_RUN)


def _device_lines(results: dict) -> list[str]:
    return device_lines(results, _arm_index)


def study_a(
    preset: str = "study",
    seeds: int = 3,
    runs_dir: Path = Path("runs/study_a"),
    records: Path | None = Path("docs/results/study_a"),
    sets: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    train_missing: bool = True,
    config_dir: Path = CONFIG_DIR,
    wait_seconds: float = 30.0,
    arms: Sequence[str] | None = None,
) -> Path:
    """Train what is missing, evaluate it, and write results.csv / results.md / the plot.

    Several processes may run this on the same ``runs_dir`` at once (each with its own
    threads or GPU): runs are claimed through their locks. A process waits
    ``wait_seconds`` between looks at runs another process holds (0: skip them). ``arms``
    restricts the work to those arms (the tables then show only what has records)."""
    runs_dir = Path(runs_dir) / preset
    present = available_sets(list(sets or TEST_SETS), SCALE)
    out = Path(records) if records else runs_dir
    study = Study(STUDY_A, preset, runs_dir, records, present, list(overrides), config_dir)
    todo = select_jobs(STUDY_A, seeds, arms)
    results = study.run_all(todo, train_missing, wait_seconds)
    study.add_train_flops(results, out)
    bicubic = bicubic_scores(out, present, SCALE)
    # Curves of the runs in the tables only (a run still training elsewhere is not drawn).
    finished = {run_name(ARM_BY_NAME[a], s) for a, s in results}
    curves = read_curves(records, runs_dir, sorted(finished))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "results.csv", results_csv(results).encode())
    plot = out / "validation_psnr.png"
    _plot_curves(curves, plot)
    cost_plot = out / "cost_quality.png"
    drawn = _plot_cost_quality(results, cost_plot)
    teachers = teacher_records(records, runs_dir)
    md = results_markdown(
        results,
        bicubic,
        preset,
        seeds,
        plot.name,
        overrides,
        teachers,
        cost_plot.name if drawn else None,
    )
    atomic_write_bytes(out / "results.md", md.encode())
    return out / "results.md"


def results_csv(results: dict[tuple[str, int], dict]) -> str:
    """Long form: one row per (arm, seed, network, set)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["arm", "seed", "network", "set", "psnr", "ssim", "train_seconds", "train_flops"])
    for (arm, seed), rec in sorted(
        results.items(), key=lambda kv: (_arm_index(kv[0][0]), kv[0][1])
    ):
        for network, per_set in rec["networks"].items():
            for set_name, rows in per_set.items():
                w.writerow(
                    [
                        arm,
                        seed,
                        network,
                        set_name,
                        f"{statistics.fmean(r['psnr'] for r in rows):.4f}",
                        f"{statistics.fmean(r['ssim'] for r in rows):.5f}",
                        f"{rec['train_seconds']:.2f}",
                        rec.get("train_flops", ""),
                    ]
                )
    return buf.getvalue()


def _arm_index(name: str) -> int:
    return [a.name for a in ARMS].index(name)


def _ablation_lines(results: dict, sets: list[str]) -> list[str]:
    rows = []
    for a, na, b, nb in ABLATIONS:
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
        for a, na, b, nb in CONTRASTS
        if (a, b) in {("self_distill_warm", "deep_supervision"), ("output_kd", "alone")}
        and not math.isnan(sd := seed_spread(results, a, na, b, nb, "BSD100"))
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


_mean_std = mean_std


def precondition(results: dict) -> tuple[float, bool] | None:
    """Teacher minus alone on BSD100 (mean over the alone seeds), and whether it holds."""
    teacher = set_means(results, "teacher", "teacher", "BSD100")
    alone = set_means(results, "alone", "student", "BSD100")
    if not teacher or not alone:
        return None
    gain = statistics.fmean(teacher.values()) - statistics.fmean(alone.values())
    return gain, gain >= MIN_TEACHER_GAIN_DB


def conclusion(results: dict, sets: list[str]) -> list[str]:
    """Which reading the numbers support, decided by the paired intervals."""
    pre = precondition(results)
    if pre is None:
        return ["Not yet measured: the teacher or the `alone` arm has no record."]
    gain, holds = pre
    lines = [
        f"Precondition (teacher − alone on BSD100 ≥ {MIN_TEACHER_GAIN_DB} dB): "
        f"{gain:+.3f} dB, {'holds' if holds else 'does NOT hold'}."
    ]
    if not holds:
        return lines + ["The teacher is not clearly stronger, so no contrast is interpreted."]

    def verdict(a: str, na: str, b: str, nb: str) -> tuple[int, int, int]:
        above = below = measured = 0
        for s in sets:
            c = paired_contrast(results, a, na, b, nb, s)
            if c is None or c.seeds < 2:
                continue
            measured += 1
            above += c.low > 0
            below += c.high < 0
        return above, below, measured

    findings = {
        "distillation helps beyond deep supervision (self_distill_warm − deep_supervision > 0)": (
            "self_distill_warm",
            "exit4",
            "deep_supervision",
            "exit4",
        ),
        "deep supervision from a trained trunk helps (deep_supervision − alone > 0)": (
            "deep_supervision",
            "exit4",
            "alone",
            "student",
        ),
        "self-distillation from scratch helps (self_distill − alone > 0)": (
            "self_distill",
            "exit4",
            "alone",
            "student",
        ),
        "classic output KD helps (output_kd − alone > 0)": (
            "output_kd",
            "student",
            "alone",
            "student",
        ),
        "classic KD beats self-distillation (output_kd − self_distill_warm > 0)": (
            "output_kd",
            "student",
            "self_distill_warm",
            "exit4",
        ),
        # Round 2: is it structure or just more training?
        "the warm exit beats the student trained alone as long as teacher + warm run "
        "(self_distill_warm − alone_long > 0)": (
            "self_distill_warm",
            "exit4",
            "alone_long",
            "student",
        ),
        "deep supervision from a trained trunk beats training longer "
        "(deep_supervision − alone_long > 0)": (
            "deep_supervision",
            "exit4",
            "alone_long",
            "student",
        ),
        "starting from the teacher's first blocks helps (teacher_init − alone > 0)": (
            "teacher_init",
            "student",
            "alone",
            "student",
        ),
        "the multi-exit network adds to that start (deep_supervision − teacher_init > 0)": (
            "deep_supervision",
            "exit4",
            "teacher_init",
            "student",
        ),
        "KD adds to that start (teacher_init_kd − teacher_init > 0)": (
            "teacher_init_kd",
            "student",
            "teacher_init",
            "student",
        ),
        "output KD beats training longer (output_kd − alone_long > 0)": (
            "output_kd",
            "student",
            "alone_long",
            "student",
        ),
    }
    for text, (a, na, b, nb) in findings.items():
        above, below, measured = verdict(a, na, b, nb)
        if measured == 0:
            lines.append(f"- {text}: not yet measured with 2+ seeds.")
            continue
        if mixes_teachers(results, a, b):
            text += " (A and B learnt from different teachers)"
        state = (
            "supported"
            if above > measured / 2
            else "contradicted (the opposite holds)"
            if below > measured / 2
            else "not shown (the interval includes 0 on most sets)"
        )
        lines.append(
            f"- {text}: {state}; 95% interval above 0 on {above}, below 0 on {below} "
            f"of {measured} sets."
        )
    return lines


def results_markdown(
    results: dict,
    bicubic: dict,
    preset: str,
    seeds: int,
    plot_name: str,
    overrides: Sequence[str] = (),
    teachers: dict[str, dict] | None = None,
    cost_plot: str | None = None,
) -> str:
    sets = sets_in(results, TEST_SETS)
    command = command_line("study-a", preset, seeds, overrides)
    lines = [
        "# Study A: self-distillation vs deep supervision vs teacher-student KD (x4)",
        "",
        f"Command: `{command}` (rebuilds this page from the committed records in `runs/`, "
        "training only what is missing).",
        "",
        "Final iterate of every run (no checkpoint is picked by a score); PSNR (dB) on the "
        "Y channel, mean ± standard deviation over seeds. Validation on Set5 during training "
        "is only plotted, never used to select anything.",
        "",
        "## PSNR per arm and network",
        "",
        "| arm | network | seeds | " + " | ".join(sets) + " | train s (mean) |",
        "| --- | --- | --- |" + " --- |" * (len(sets) + 1),
        "| bicubic | - | - | "
        + " | ".join(f"{bicubic.get(s, {}).get('psnr', math.nan):.3f}" for s in sets)
        + " | - |",
    ]
    for arm in ARMS:
        recs = {s: r for (a, s), r in results.items() if a == arm.name}
        if not recs:
            lines.append(f"| {arm.name} | - | 0 | " + " | ".join("-" for _ in sets) + " | - |")
            continue
        cost = statistics.fmean(r["train_seconds"] for r in recs.values())
        for label, _ in arm.networks:
            cells = [_mean_std(list(set_means(results, arm.name, label, s).values())) for s in sets]
            lines.append(
                f"| {arm.name} | {label} | {len(recs)} | " + " | ".join(cells) + f" | {cost:.0f} |"
            )
    lines += ["", "## SSIM", "", "| arm | network | " + " | ".join(sets) + " |"]
    lines += ["| --- | --- |" + " --- |" * len(sets)]
    for arm in ARMS:
        for label, _ in arm.networks:
            cells = [
                _mean_std(list(set_means(results, arm.name, label, s, "ssim").values()))
                for s in sets
            ]
            if any(c != "-" for c in cells):
                lines.append(f"| {arm.name} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Paired contrasts (A − B, PSNR dB, same seed = same initial weights and data order)",
        "",
        "Mean over seeds of the per-seed difference of set means, its 95% t-interval over "
        "seeds, and the share of (image, seed) pairs where A beats B.",
        "",
        "| contrast | set | seeds | mean | 95% interval | win rate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    mixed = False
    for a, na, b, nb in CONTRASTS:
        mark = "†" if mixes_teachers(results, a, b) else ""
        for s in sets:
            c = paired_contrast(results, a, na, b, nb, s)
            if c is None:
                continue
            mixed |= bool(mark)
            interval = "n/a (1 seed)" if c.seeds < 2 else f"[{c.low:+.3f}, {c.high:+.3f}]"
            lines.append(
                f"| {a}/{na} − {b}/{nb}{mark} | {s} | {c.seeds} | {c.mean:+.3f} | {interval} | "
                f"{100 * c.win_rate:.0f}% of {c.images}x{c.seeds} |"
            )
    if mixed:
        lines += [
            "",
            "† A and B learnt from different teachers (trained on different machines from "
            "the same config and seed; see Teachers): the contrast also holds the "
            "difference between the two teachers.",
        ]
    lines += _ablation_lines(results, sets)
    mismatched = teacher_mismatches(results)
    if teachers and len(teachers) > 1:
        lines += _teacher_lines(results, teachers)
    elif mismatched:
        lines += [
            "",
            "**Teacher check: " + ", ".join(mismatched) + " learnt from a teacher whose "
            "weights differ from the recorded teacher's (retrained on another machine); "
            "read their contrasts with that in mind.**",
        ]
    lines += _device_lines(results)
    lines += ["", "## Cost", ""]
    lines += _cost_lines(results)
    lines += ["", "## Conclusion (decided by the intervals above)", ""]
    lines += conclusion(results, sets)
    if cost_plot:
        lines += [
            "",
            f"![BSD100 PSNR vs training FLOPs, with and without the teacher's]({cost_plot})",
        ]
    lines += ["", f"![validation PSNR vs step]({plot_name})", ""]
    return "\n".join(lines) + "\n"


def _teacher_lines(results: dict, teachers: dict[str, dict]) -> list[str]:
    """Each teacher's score, where it trained, the precondition and the arms it taught."""
    alone = set_means(results, "alone", "student", "BSD100")
    lines = [
        "",
        "## Teachers",
        "",
        "The study's teacher was trained more than once from the same config and seed (its "
        "weights did not survive a session before they were committed); each arm's record "
        "names the teacher it learnt from by the fingerprint of its weights.",
        "",
        "| teacher | trained on | BSD100 | teacher − alone (BSD100) | arms that learnt from it |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fingerprint, rec in teachers.items():
        rows = rec["networks"].get("teacher", {}).get("BSD100") or []
        score = statistics.fmean(r["psnr"] for r in rows) if rows else math.nan
        gain = score - statistics.fmean(alone.values()) if alone and rows else math.nan
        holds = "holds" if gain >= MIN_TEACHER_GAIN_DB else "does NOT hold"
        taught = sorted(
            {a for (a, _), r in results.items() if r.get("teacher_weights_sha256") == fingerprint},
            key=_arm_index,
        )
        where = ", then ".join(d for d, _ in rec.get("devices") or []) or "?"
        lines.append(
            f"| {fingerprint[:12]} | {where} | {score:.3f} | {gain:+.3f} dB ({holds}) | "
            + (", ".join(taught) or "-")
            + " |"
        )
    return lines


def light_network(arm: Arm) -> str:
    """The network of an arm that is compared as its light model (exit 4 of a multi-exit
    run, the student otherwise; the teacher arm's own network)."""
    return arm.networks[0][0]


def arm_costs(results: dict) -> dict[str, dict]:
    """Per arm: mean training FLOPs and seconds over its seeds, and FLOPs with the
    teacher's training added for arms that learn from it."""
    teacher = [r.get("train_flops") for (a, _), r in results.items() if a == TEACHER_ARM.name]
    teacher_flops = teacher[0] if teacher and teacher[0] else None
    out = {}
    for arm in ARMS:
        recs = [r for (a, _), r in results.items() if a == arm.name]
        if not recs:
            continue
        flops = [r["train_flops"] for r in recs if r.get("train_flops")]
        own = statistics.fmean(flops) if flops else None
        total = own + teacher_flops if own and arm.uses_teacher and teacher_flops else own
        out[arm.name] = {
            "flops": own,
            "flops_with_teacher": total,
            "seconds": statistics.fmean(r["train_seconds"] for r in recs),
            "steps": recs[0].get("step"),
        }
    return out


def _cost_lines(results: dict) -> list[str]:
    costs = arm_costs(results)
    out = [
        "Training FLOPs: one real training step of the arm counted by PyTorch's "
        "FlopCounterMode (convolutions and matrix products, forward and backward, a frozen "
        "teacher's forward included), times the steps trained. An arm that learns from the "
        "teacher is shown without and with the teacher's own training (16,000 steps of "
        "SRResNet-16): the first is the cost when a trained teacher exists already, the "
        "second when it has to be trained for this. Seconds: median logged step time x "
        "steps on the machine that ran them (data + steps; no validation or checkpoints).",
        "",
        "| arm | steps | TFLOP | TFLOP with the teacher's training | train s (mean) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, c in costs.items():
        own, total = c["flops"], c["flops_with_teacher"]
        out.append(
            f"| {name} | {c['steps']} | "
            + (f"{own / 1e12:.1f}" if own else "-")
            + " | "
            + (f"{total / 1e12:.1f}" if total and total != own else "-")
            + f" | {c['seconds']:.0f} |"
        )
    return out


def cost_quality_points(results: dict, with_teacher: bool) -> list[tuple[str, float, float, float]]:
    """(arm, TFLOP, mean BSD100 PSNR of its light network, seed standard deviation)."""
    costs = arm_costs(results)
    points = []
    for arm in ARMS:
        c = costs.get(arm.name)
        flops = c and (c["flops_with_teacher"] if with_teacher else c["flops"])
        scores = list(set_means(results, arm.name, light_network(arm), "BSD100").values())
        if not flops or not scores:
            continue
        spread = statistics.stdev(scores) if len(scores) > 1 else math.nan
        points.append((arm.name, flops / 1e12, statistics.fmean(scores), spread))
    return points


def _plot_cost_quality(results: dict, path: Path) -> bool:
    from srdistill.eval.figures import scatter_panels

    panels = [
        ("teacher's training counted (no teacher exists yet)", cost_quality_points(results, True)),
        ("teacher already trained (its cost not counted)", cost_quality_points(results, False)),
    ]
    if not any(pts for _, pts in panels):
        return False
    scatter_panels(panels, path, "training TFLOP", "BSD100 PSNR (dB), light network, ± seed SD")
    return True


def light_model_curves(curves: dict[str, list[dict]]) -> dict[str, list[tuple[int, float]]]:
    """Seed 0's validation PSNR per arm: exit 4 for a multi-exit run (the light model
    compared here), the network itself otherwise."""
    series = {}
    for name, rows in sorted(curves.items()):
        if not name.endswith("seed0"):
            continue
        keys = {k for r in rows for k in r if k.startswith("val/psnr")}
        key = "val/psnr_exit4" if "val/psnr_exit4" in keys else min(keys, default=None)
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            series[name.removesuffix("_seed0")] = pts
    return series


def _plot_curves(curves: dict[str, list[dict]], path: Path) -> None:
    series = light_model_curves(curves)
    if series:
        line_plot(series, path, "validation PSNR (Set5, dB) vs step, seed 0", "step", "dB")
