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

Costs are counted in FLOPs (the teacher's training its own row); a retrained teacher is
recorded beside the first, so each arm's record names the teacher it learnt from. The
runner, statistics and page blocks are generic (study.py, study_tables.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from srdistill.data.catalog import TEST_SETS
from srdistill.data.io import atomic_write_bytes
from srdistill.eval.figures import line_plot
from srdistill.reproduce.runner import CONFIG_DIR, command_line
from srdistill.reproduce.study import (
    Arm,
    Study,
    StudySpec,
    bicubic_scores,
    device_lines,
    read_curves,
    run_study,
    score_networks,
    sets_in,
)
from srdistill.reproduce.study import teacher_mismatches as _teacher_mismatches
from srdistill.reproduce.study import teacher_records as _teacher_records
from srdistill.reproduce.study_tables import (
    Finding,
    ablation_lines,
    gated_verdicts,
    network_csv,
    network_tables,
    teacher_contrast_lines,
    teacher_cost_lines,
    teacher_cost_quality,
    teacher_gain,
    teacher_lines,
    validation_curves,
)

SCALE = 4
TEACHER_RUN = "teacher_seed0"  # one teacher for every seed (the CPU budget allows one)
MIN_TEACHER_GAIN_DB = 0.2  # the precondition, on BSD100


_EXITS = (("exit4", 4), ("center16", 16))
_WARM = ("self_distill.init_from",)
_KD = ("kd.teacher",)
_STUDENT, _MULTI = "study_a/student.yaml", "study_a/multi_exit.yaml"


def _warm(name: str, override: str, seeds: int = 3) -> Arm:
    """A multi-exit arm started from the teacher, with one setting changed."""
    return Arm(name, _MULTI, (override,), _EXITS, _WARM, seeds)


ARMS: tuple[Arm, ...] = (
    Arm("teacher", "study_a/teacher.yaml", networks=(("teacher", None),), seeds=1),
    Arm("alone", _STUDENT),
    Arm("self_distill_warm", _MULTI, networks=_EXITS, uses_teacher=_WARM),
    _warm("deep_supervision", "self_distill.alpha=1.0"),
    Arm("output_kd", "study_a/kd.yaml", uses_teacher=_KD),
    Arm("self_distill", _MULTI, networks=_EXITS),
    # Two seeds: the one ablation that changes the exit beyond the seed spread is replicated.
    _warm("alpha05", "self_distill.alpha=0.5", 2),
    _warm("detached", "self_distill.detach_center=true", 2),
    _warm("mse_distill", "self_distill.distill_loss=mse", 1),
    # Compute control: the student alone for the teacher's 16,000 steps plus the warm
    # arm's 4,000 (what the warm exit's trunk saw), cosine over the whole run.
    Arm("alone_long", _STUDENT, steps_of=("teacher", "self_distill_warm")),
    # The same, matched on FLOPs instead of steps (a multi-exit step costs 2.4 student steps).
    Arm("alone_flops", _STUDENT, flops_of=("teacher", "self_distill_warm"), seeds=1),
    # Init-only control: SRResNet-4 started as the teacher's head, first four blocks and
    # reconstruction, then trained with L1 alone; and the same start trained with output KD.
    Arm("teacher_init", _STUDENT, uses_teacher=("plain.init_from",)),
    Arm("teacher_init_kd", "study_a/kd.yaml", uses_teacher=("kd.teacher", "kd.init_from")),
    Arm("feature_kd", "study_a/kd.yaml",
        ("kd.output_weight=0", "kd.feature=fakd", "kd.feature_weight=1.0"), uses_teacher=_KD,
        seeds=1),
)  # fmt: skip
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


_F = Finding
FINDINGS: tuple[Finding, ...] = (
    _F("distillation helps beyond deep supervision (self_distill_warm − deep_supervision > 0)",
       "self_distill_warm", "exit4", "deep_supervision", "exit4"),
    _F("deep supervision from a trained trunk helps (deep_supervision − alone > 0)",
       "deep_supervision", "exit4", "alone", "student"),
    _F("self-distillation from scratch helps (self_distill − alone > 0)",
       "self_distill", "exit4", "alone", "student"),
    _F("classic output KD helps (output_kd − alone > 0)", "output_kd", "student", "alone",
       "student"),
    _F("classic KD beats self-distillation (output_kd − self_distill_warm > 0)",
       "output_kd", "student", "self_distill_warm", "exit4"),
    # Round 2: is it structure or just more training?
    _F("the warm exit beats the student trained alone as long as teacher + warm run "
       "(self_distill_warm − alone_long > 0)", "self_distill_warm", "exit4", "alone_long",
       "student"),
    _F("deep supervision from a trained trunk beats training longer "
       "(deep_supervision − alone_long > 0)", "deep_supervision", "exit4", "alone_long",
       "student"),
    _F("starting from the teacher's first blocks helps (teacher_init − alone > 0)",
       "teacher_init", "student", "alone", "student"),
    _F("the multi-exit network adds to that start (deep_supervision − teacher_init > 0)",
       "deep_supervision", "exit4", "teacher_init", "student"),
    _F("KD adds to that start (teacher_init_kd − teacher_init > 0)",
       "teacher_init_kd", "student", "teacher_init", "student"),
    _F("output KD beats training longer (output_kd − alone_long > 0)",
       "output_kd", "student", "alone_long", "student"),
)  # fmt: skip
# Main contrasts whose seed spread the ablation section prints for scale.
_SCALE_PAIRS = (CONTRASTS[2], CONTRASTS[3])
# The teacher's own training, as the cost table names it.
TEACHER_TRAINING = "16,000 steps of SRResNet-16"

_BASELINE = ("alone", "student")  # the precondition's baseline (arm, network)
STUDY_A = StudySpec(
    name="study_a", scale=SCALE, arms=ARMS, teacher=TEACHER_ARM.name, evaluator=score_networks
)


jobs = STUDY_A.jobs
run_name = STUDY_A.run_name
_Study = partial(Study, STUDY_A)  # Study A's runner (the name the GPU lease script uses)
teacher_mismatches = partial(_teacher_mismatches, teacher_arm=TEACHER_ARM.name)
teacher_records = partial(_teacher_records, teacher_run=TEACHER_RUN)


def study_a(  # noqa: PLR0913
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
    """Train what is missing, evaluate it, and write results.csv / results.md / the plots.

    Several processes may run this on the same ``runs_dir`` at once (runs are claimed
    through their locks), waiting ``wait_seconds`` between looks at runs another holds (0:
    skip them). ``arms`` restricts the work (the tables show only what has records)."""
    study, results, out = run_study(
        STUDY_A, preset, seeds, runs_dir, records, sets, overrides, train_missing, config_dir,
        wait_seconds, arms,
    )  # fmt: skip
    runs_dir = study.runs_dir
    bicubic = bicubic_scores(out, study.sets, SCALE)
    # Curves of the runs in the tables only (a run still training elsewhere is not drawn).
    finished = sorted({run_name(ARM_BY_NAME[a], s) for a, s in results})
    series = validation_curves(read_curves(records, runs_dir, finished))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "results.csv", network_csv(results, ARMS).encode())
    plot = out / "validation_psnr.png"
    if series:
        line_plot(series, plot, "validation PSNR (Set5, dB) vs step, seed 0", "step", "dB")
    drawn = teacher_cost_quality(results, ARMS, TEACHER_ARM.name, out / "cost_quality.png")
    teachers = teacher_records(records, runs_dir)
    md = results_markdown(
        results, bicubic, preset, seeds, plot.name, overrides, teachers,
        "cost_quality.png" if drawn else None,
    )  # fmt: skip
    atomic_write_bytes(out / "results.md", md.encode())
    return out / "results.md"


_TEACHER = ("teacher", "teacher")  # the teacher arm and its network
precondition = partial(
    teacher_gain, teacher=_TEACHER, baseline=_BASELINE, min_gain_db=MIN_TEACHER_GAIN_DB
)


def conclusion(results: dict, sets: list[str]) -> list[str]:
    """Which reading the numbers support, decided by the paired intervals."""
    return gated_verdicts(
        results, FINDINGS, sets, _TEACHER, _BASELINE, MIN_TEACHER_GAIN_DB
    )


def results_markdown(  # noqa: PLR0913
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
        *network_tables(results, ARMS, sets, bicubic),
        "",
        *teacher_contrast_lines(results, CONTRASTS, sets),
    ]
    lines += ablation_lines(results, ABLATIONS, sets, _SCALE_PAIRS)
    lines += teacher_lines(results, teachers, ARMS, "teacher", _BASELINE, MIN_TEACHER_GAIN_DB)
    lines += device_lines(results, STUDY_A.arm_index)
    lines += ["", "## Cost", ""]
    lines += teacher_cost_lines(results, ARMS, TEACHER_ARM.name, TEACHER_TRAINING)
    lines += ["", "## Conclusion (decided by the intervals above)", ""]
    lines += conclusion(results, sets)
    if cost_plot:
        lines += [
            "",
            f"![BSD100 PSNR vs training FLOPs, with and without the teacher's]({cost_plot})",
        ]
    lines += ["", f"![validation PSNR vs step]({plot_name})", ""]
    return "\n".join(lines) + "\n"
