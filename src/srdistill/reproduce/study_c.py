"""Study C: does KD help a light student of a real, fully trained teacher, and which kind?

The teacher is the IMDN authors' x4 network (imported from the pretrained catalog, never
trained here). Two students, every arm paired with the student trained alone (same seed
-> same initial weights and data order):

    imdn3x64   IMDN with 3 of the teacher's 6 blocks at its width (a teacher slice exists)
    imdn4x32   IMDN with 4 blocks of 32 features (no slice of the teacher fits it)

    alone            L1 alone
    output_kd        + L1 toward the teacher's output, 1:1 (as DUKD's baseline)
    feature_kd       + FAKD (spatial affinity) between the last blocks, no output term
    dukd             output KD + teacher labels on zoomed-in HR tiles and zoomed-out LR,
                     label consistency, two updates per step (DUKD, Zhang et al. 2023)
    teacher_init     started as the teacher's head, first 3 blocks and fuse columns; L1
    teacher_init_kd  the same start, output KD (depth student only, as teacher_init)
    alone_long       alone for as many steps as DUKD's FLOPs (teacher forwards counted):
                     the compute control of the costliest KD arm
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from srdistill.reproduce.runner import CONFIG_DIR
from srdistill.reproduce.study import Arm, StudySpec, run_study, score_networks
from srdistill.reproduce.study_page import Finding, PageSpec, write_study_page

log = logging.getLogger(__name__)

SCALE = 4
TEACHER_FILE = "IMDN_x4"  # the pretrained catalog's name
PUBLISHED_BSD100 = 27.56  # Hui et al. 2019, Table 3 (x4, BSD100 PSNR on Y)
MIN_TEACHER_GAIN_DB = 0.2  # teacher - student alone on BSD100: the precondition
STUDENTS = {"imdn3x64": (), "imdn4x32": ("model.num_blocks=4", "model.num_features=32")}
_KD, _DUKD = ("kd.teacher",), ("dukd.teacher",)
_FAKD = ("kd.output_weight=0", "kd.feature=fakd", "kd.feature_weight=1.0")


def _student_arms(student: str, shape: tuple[str, ...]) -> tuple[Arm, ...]:
    arms = [
        Arm(f"{student}_alone", "study_c/student.yaml", shape),
        Arm(f"{student}_output_kd", "study_c/kd.yaml", shape, uses_teacher=_KD),
        Arm(f"{student}_dukd", "study_c/dukd.yaml", shape, uses_teacher=_DUKD),
        Arm(f"{student}_feature_kd", "study_c/kd.yaml", (*shape, *_FAKD), uses_teacher=_KD),
    ]
    if not shape:  # the depth student: the teacher's first blocks fit it
        arms += [
            Arm(
                f"{student}_teacher_init", "study_c/student.yaml", uses_teacher=("plain.init_from",)
            ),
            Arm(
                f"{student}_teacher_init_kd",
                "study_c/kd.yaml",
                uses_teacher=("kd.teacher", "kd.init_from"),
            ),
        ]
    arms.append(
        Arm(f"{student}_alone_long", "study_c/student.yaml", shape, flops_of=(f"{student}_dukd",))
    )
    return tuple(arms)


ARMS: tuple[Arm, ...] = (
    Arm("teacher", "study_c/teacher.yaml", networks=(("teacher", None),), seeds=1),
    *(arm for student, shape in STUDENTS.items() for arm in _student_arms(student, shape)),
)


def imported_teacher(runs_dir: Path) -> Path:
    """The catalog's IMDN x4 file (SHA-256 checked), imported once into the runs folder."""
    from srdistill.deploy.importer import import_weights
    from srdistill.weights import require_pretrained

    out = Path(runs_dir) / "teacher_imdn_x4.safetensors"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        import_weights(require_pretrained(TEACHER_FILE), out)
    return out


STUDY_C = StudySpec(
    name="study_c",
    scale=SCALE,
    arms=ARMS,
    teacher="teacher",
    evaluator=score_networks,
    given_teacher=imported_teacher,
    commit_weights=True,
)


def _findings() -> tuple[Finding, ...]:
    out = []
    for student in STUDENTS:
        s = "student"
        pairs = [
            ("output KD helps", "output_kd", "alone"),
            ("feature KD (FAKD) helps", "feature_kd", "alone"),
            ("DUKD helps", "dukd", "alone"),
            ("DUKD beats plain output KD", "dukd", "output_kd"),
            ("starting from the teacher's first blocks helps", "teacher_init", "alone"),
            ("KD adds to that start", "teacher_init_kd", "teacher_init"),
            ("output KD beats training alone for DUKD's compute", "output_kd", "alone_long"),
            ("DUKD beats training alone for its compute", "dukd", "alone_long"),
            ("the teacher's start beats alone for DUKD's compute", "teacher_init", "alone_long"),
        ]
        arm_names = {a.name for a in ARMS}
        for text, a, b in pairs:
            a_name, b_name = f"{student}_{a}", f"{student}_{b}"
            if a_name in arm_names and b_name in arm_names:
                out.append(Finding(f"{student}: {text} ({a} − {b} > 0)", a_name, s, b_name, s))
    return tuple(out)


PAGE = PageSpec(
    title="Study C: KD from the IMDN authors' x4 network into light IMDN students",
    target="study-c",
    teacher_label="the imported IMDN x4 (authors' weights)",
    baselines={f"{s}_alone": "student" for s in STUDENTS},
    min_teacher_gain_db=MIN_TEACHER_GAIN_DB,
    published_teacher={"BSD100": PUBLISHED_BSD100},
    findings=_findings(),
)


def study_c(
    preset: str = "study",
    seeds: int = 3,
    runs_dir: Path = Path("runs/study_c"),
    records: Path | None = Path("docs/results/study_c"),
    sets: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    train_missing: bool = True,
    config_dir: Path = CONFIG_DIR,
    wait_seconds: float = 30.0,
    arms: Sequence[str] | None = None,
    teacher: Path | None = None,
) -> Path:
    """Train what is missing (seed by seed), evaluate it, and write the page and csv.
    ``teacher``: another srdistill network file as the given teacher (its record says
    which by SHA-256); default the catalog's IMDN x4."""
    from dataclasses import replace

    spec = STUDY_C if teacher is None else replace(STUDY_C, given_teacher=lambda _: teacher)
    study, results, out = run_study(
        spec, preset, seeds, runs_dir, records, sets, overrides, train_missing, config_dir,
        wait_seconds, arms,
    )  # fmt: skip
    return write_study_page(PAGE, study, results, out, preset, seeds, overrides)
