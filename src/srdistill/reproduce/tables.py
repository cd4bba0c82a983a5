"""The papers' tables: every run a table needs, then the table itself.

A table is a list of columns; a column names the config that trains it and which network
of the resulting run to score (an exit, or the members of a cohort). For each seed the
runs are trained (finished runs are skipped, interrupted ones resumed), evaluated on the
test sets that are present, and summarised as mean and spread over seeds, with links to
the run folders and the paper's published numbers beside them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from srdistill.data.catalog import TEST_SETS
from srdistill.data.datasets import load_benchmark
from srdistill.data.io import atomic_write_bytes
from srdistill.deploy.loading import cohort_members, load_sr_model
from srdistill.errors import ConfigError, DataError
from srdistill.eval.evaluate import (
    EvalResult,
    bicubic_upscaler,
    evaluate,
    super_resolve,
    unavailable_metrics,
)
from srdistill.eval.figures import side_by_side
from srdistill.eval.tables import fmt
from srdistill.metrics.perceptual import ma_notes
from srdistill.reproduce.runner import (
    CONFIG_DIR,
    command_line,
    run_config,
    train_unless_finished,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Column:
    label: str
    config: str  # relative to the configs folder
    exit_block: int | None = None
    cohort: bool = False  # the column is the mean over the run's members
    needs: str | None = None  # config of a run that must exist first (pixel pretraining)


@dataclass(frozen=True)
class Table:
    title: str
    scale: int
    metrics: tuple[str, ...]
    columns: tuple[Column, ...]
    published: dict[str, tuple[str, ...]] = field(default_factory=dict)  # set -> cells
    # Cohort tables: the column that scores the pretrained generator every cohort starts
    # from; its presence turns on the precondition checks and the paired contrasts.
    reference: str | None = None


_A_ALONE = Column("SRResNet-8 alone", "self_distill/srresnet8_alone.yaml")
_A_EXITS = {
    n: Column(f"exit 8 of {n}", f"self_distill/srresnet{n}_exit8.yaml", exit_block=8)
    for n in (32, 50, 100)
}


PRETRAINED = "Pretrained generator"
INDEPENDENT, CONFIDENCE = "Indep.", "Confidence control"
# A - B, paired by seed: the paper's claim (ML, ML* beat independent) and the control that
# separates a peer's knowledge from any KL regulariser on the discriminator.
COHORT_CONTRASTS = (
    ("ML", INDEPENDENT),
    ("ML*", INDEPENDENT),
    ("ML", CONFIDENCE),
    ("ML*", CONFIDENCE),
)


def _cohort(scale: int) -> tuple[Column, ...]:
    pre = f"mutual/pretrain_srresnet32_x{scale}.yaml"
    arms = tuple(
        Column(label, f"mutual/x{scale}_{mode}.yaml", cohort=True, needs=pre)
        for label, mode in (
            (INDEPENDENT, "independent"),
            ("ML", "ml"),
            ("ML*", "ml_soft"),
            (CONFIDENCE, "confidence"),
        )
    )
    # Last, so the published cells (three arms) stay aligned with the first columns.
    return (*arms, Column(PRETRAINED, pre))


TABLE_PRESETS = ("quick", "paper")  # every table's configs define both

TABLES: dict[str, Table] = {
    "paper-a-1": Table(
        "Paper A, table 1: SRResNet-8 trained alone vs exit 8 of a self-distilled SRResNet-32",
        4,
        ("psnr", "ssim"),
        (_A_ALONE, _A_EXITS[32]),
        {
            "Set5": ("27.343 / 0.779", "28.758 / 0.879"),
            "Set14": ("25.410 / 0.679", "26.093 / 0.747"),
            "BSD100": ("25.393 / 0.648", "24.361 / 0.684"),
            "Urban100": ("22.667 / 0.636", "24.313 / 0.656"),
        },
    ),
    "paper-a-2": Table(
        "Paper A, table 2: exit 8 of centers with 32, 50 and 100 blocks",
        4,
        ("psnr", "ssim"),
        (_A_EXITS[32], _A_EXITS[50], _A_EXITS[100]),
        {
            "Set5": ("28.758 / 0.879", "28.803 / 0.881", "29.225 / 0.892"),
            "Set14": ("26.093 / 0.747", "26.097 / 0.748", "26.340 / 0.754"),
            "BSD100": ("24.361 / 0.684", "24.336 / 0.685", "24.478 / 0.697"),
            "Urban100": ("24.313 / 0.656", "23.652 / 0.656", "24.091 / 0.656"),
        },
    ),
    "paper-b-1": Table(
        "Paper B, table 1 (x2): independent SRGANs vs mutual learning (ML) vs ML*",
        2,
        ("psnr", "ssim", "niqe", "pi"),
        _cohort(2),
        {
            "Set5": ("32.191 / 2.766", "32.789 / 2.716", "32.465 / 2.629"),
            "Set14": ("29.649 / 2.763", "30.365 / 2.637", "30.139 / 2.638"),
            "BSD100": ("28.352 / 2.421", "28.826 / 2.362", "28.498 / 2.329"),
            "Urban100": ("27.640 / 3.828", "28.123 / 3.832", "27.802 / 3.772"),
        },
        reference=PRETRAINED,
    ),
    "paper-b-2": Table(
        "Paper B, table 2 (x4): independent SRGANs vs mutual learning (ML) vs ML*",
        4,
        ("psnr", "ssim", "niqe", "pi"),
        _cohort(4),
        {
            "Set5": ("26.960 / 3.124", "27.469 / 3.194", "27.119 / 3.111"),
            "Set14": ("25.129 / 2.811", "25.740 / 2.935", "25.421 / 2.853"),
            "BSD100": ("24.172 / 2.388", "24.362 / 2.446", "24.075 / 2.463"),
            "Urban100": ("23.407 / 3.338", "23.675 / 3.400", "23.429 / 3.383"),
        },
        reference=PRETRAINED,
    ),
}
PUBLISHED_METRICS = {
    "paper-a-1": "PSNR / SSIM",
    "paper-a-2": "PSNR / SSIM",
    "paper-b-1": "PSNR / PI",
    "paper-b-2": "PSNR / PI",
}


def _run(
    config: str,
    preset: str,
    seed: int,
    runs_dir: Path,
    overrides: list[str],
    config_dir: Path,
    extra: list[str] | None = None,
) -> Path:
    cfg = run_config(config, preset, seed, runs_dir, [*overrides, *(extra or [])], None, config_dir)
    return train_unless_finished(cfg)


@dataclass
class Cell:
    values: list[float]
    runs: list[Path]


def reproduce(
    table_name: str,
    preset: str = "quick",
    seeds: int = 1,
    out: Path = Path("reproduce"),
    sets: list[str] | None = None,
    overrides: list[str] | None = None,
    config_dir: Path = CONFIG_DIR,
) -> Path:
    """Run everything ``table_name`` needs and write its Markdown/CSV table and figures."""
    if table_name not in TABLES:
        raise ConfigError(f"unknown table '{table_name}'; choose from {', '.join(TABLES)}")
    table = TABLES[table_name]
    overrides = overrides or []
    out = Path(out)
    runs_dir = out / "runs" / preset
    sets = list(sets or TEST_SETS)
    present, missing = [], []
    for s in sets:
        try:
            load_benchmark(s, table.scale)  # cached: evaluation reuses it
            present.append(s)
        except DataError:
            missing.append(s)
    if not present:
        raise DataError(f"none of the test sets {', '.join(sets)} is available here")
    # Every run's config resolves before anything trains: a refused override (the stand-in
    # VGG in a table, a typo) stops here in one line instead of after the pretraining.
    for col in table.columns:
        for config in filter(None, (col.needs, col.config)):
            extra = ["mutual.init_from=pending"] if config == col.config and col.needs else []
            run_config(config, preset, 0, runs_dir, [*overrides, *extra], None, config_dir)
    # cells[(set, column, metric)] -> values over seeds (and members)
    cells: dict[tuple[str, str, str], Cell] = {}
    run_dirs: dict[str, list[Path]] = {c.label: [] for c in table.columns}
    networks_seed0: dict[str, object] = {}
    per_network: list[list] = []  # one row per (set, column, seed, member, metric): pairing
    for seed in range(seeds):
        for col in table.columns:
            extra = []
            if col.needs:
                pre = _run(col.needs, preset, seed, runs_dir, overrides, config_dir)
                extra = [f"mutual.init_from={pre}"]
            run_dir = _run(col.config, preset, seed, runs_dir, overrides, config_dir, extra)
            run_dirs[col.label].append(run_dir)
            members = cohort_members(run_dir) if col.cohort else [None]
            for member in members:
                loaded = load_sr_model(
                    run_dir, exit_block=col.exit_block, member=member, scale=table.scale
                )
                if seed == 0 and member == members[0]:
                    networks_seed0[col.label] = loaded.network
                result = evaluate(
                    loaded.network,
                    present,
                    table.scale,
                    model_name=col.label,
                    metrics=table.metrics,
                )
                for set_name, means in result.summary().items():
                    for metric in table.metrics:
                        cell = cells.setdefault((set_name, col.label, metric), Cell([], []))
                        cell.values.append(means[metric])
                        per_network.append(
                            [set_name, col.label, seed, member, metric, means[metric], run_dir]
                        )
                        if run_dir not in cell.runs:
                            cell.runs.append(run_dir)
    bicubic = evaluate(
        bicubic_upscaler(table.scale),
        present,
        table.scale,
        model_name="bicubic",
        metrics=table.metrics,
    )
    out.mkdir(parents=True, exist_ok=True)
    md_path = out / f"{table_name}_{preset}.md"
    notes = _notes(run_dirs) + ma_notes(table.metrics)
    figures = _figures(table, present, networks_seed0, out, table_name, preset)
    markdown = _markdown(
        table,
        table_name,
        preset,
        seeds,
        present,
        missing,
        cells,
        bicubic,
        run_dirs,
        md_path.parent,
        notes,
        figures,
        overrides,
        per_network,
    )
    atomic_write_bytes(md_path, markdown.encode())
    atomic_write_bytes(
        out / f"{table_name}_{preset}.csv", _csv(table, present, cells, bicubic).encode()
    )
    atomic_write_bytes(out / f"{table_name}_{preset}_networks.csv", _networks_csv(per_network))
    return md_path


def _notes(run_dirs: dict[str, list[Path]]) -> list[str]:
    notes: set[str] = set()
    for dirs in run_dirs.values():
        for d in dirs:
            record = d / "run.json"
            if record.exists():
                notes.update(json.loads(record.read_text()).get("notes", []))
    return sorted(notes)


def _column_settings(table: Table, run_dirs: dict[str, list[Path]]) -> list[str]:
    """What each column's cells were trained with, read from its runs' saved configs: the
    config, model, steps, batch, patch and learning rate (one entry per distinct setting)."""
    import yaml

    out = []
    for col in table.columns:
        seen = []
        for d in run_dirs.get(col.label, []):
            path = d / "config.yaml"
            if not path.is_file():
                continue
            c = yaml.safe_load(path.read_text())
            m, t, o = c.get("model", {}), c.get("train", {}), c.get("optim", {})
            text = (
                f"{m.get('arch')} {m.get('num_blocks')}x{m.get('num_features')}, "
                f"{t.get('steps')} steps, batch {t.get('batch_size')}, "
                f"patch {c.get('data', {}).get('patch_size')}, lr {o.get('lr')}"
            )
            if text not in seen:
                seen.append(text)
        out.append(f"{col.label} = `{col.config}` ({' | '.join(seen) or 'no run yet'})")
    return out


def _cohort_settings(run_dirs: dict[str, list[Path]]) -> str:
    """How the cohort runs were set up (which fakes peers score, content scale, order)."""
    import yaml

    seen: set[str] = set()
    for dirs in run_dirs.values():
        for d in dirs:
            path = d / "config.yaml"
            if not path.exists():
                continue
            cfg = yaml.safe_load(path.read_text())
            if cfg.get("method") != "mutual_gan":
                continue
            m = cfg.get("mutual", {})
            scale, content = m.get("content_scale"), m.get("content_loss", "vgg")
            content_text = {
                "pixel_mse": "content loss pixel MSE on [-1, 1] (SRGAN-MSE)",
                "l1": "content loss pixel L1",
            }.get(content, "content loss VGG19 " + str(m.get("content_layer", "relu5_4")))
            if content == "vgg":
                content_text += ", content scale " + (
                    f"1/{1 / scale:.2f}" if scale else "1 (unscaled)"
                )
            seen.add(
                f"peer_images {m.get('peer_images', 'same')}, {content_text}"
                + f", {m.get('update_order', 'simultaneous')} discriminator updates"
            )
    return "; ".join(sorted(seen))


def _mean_spread(values: list[float]) -> tuple[float, float]:
    vals = [v for v in values if v == v]
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0


def _link(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())


def _markdown(
    table: Table,
    name: str,
    preset: str,
    seeds: int,
    present: list[str],
    missing: list[str],
    cells: dict,
    bicubic: EvalResult,
    run_dirs: dict[str, list[Path]],
    base: Path,
    notes: list[str],
    figures: list[Path],
    overrides: list[str],
    per_network: list[list] | None = None,
) -> str:
    command = command_line(name, preset, seeds, overrides)
    lines = [
        f"# {table.title}",
        "",
        f"Command: `{command}`",
        "",
        f"Preset `{preset}`, x{table.scale}, {seeds} seed(s); cells are mean ± standard "
        "deviation over seeds"
        + (" and cohort members" if any(c.cohort for c in table.columns) else "")
        + "; links go to the run folders.",
        "",
    ]
    for note in notes:
        lines += [f"**Note: {note}.**", ""]
    lines += ["Each column's runs: " + "; ".join(_column_settings(table, run_dirs)) + ".", ""]
    settings = _cohort_settings(run_dirs)
    if settings:
        lines += [f"Cohort settings: {settings}.", ""]
    bic = bicubic.summary()
    for metric in table.metrics:
        lines += [
            f"### {metric.upper()}",
            "",
            "| set | bicubic | " + " | ".join(c.label for c in table.columns) + " |",
            "| --- |" + " --- |" * (len(table.columns) + 1),
        ]
        for s in present:
            short = Path(s).name
            row = [fmt(metric, bic.get(short, {}).get(metric))]
            for col in table.columns:
                cell = cells.get((short, col.label, metric))
                if cell is None:
                    row.append("-")
                    continue
                mean, spread = _mean_spread(cell.values)
                links = " ".join(f"[{i}]({_link(r, base)})" for i, r in enumerate(cell.runs))
                value = fmt(metric, mean)
                if mean == mean and len(cell.values) > 1:  # a spread needs two values
                    value += f" ± {fmt(metric, spread)}"
                row.append(f"{value} <sub>{links}</sub>")
            lines.append(f"| {short} | " + " | ".join(row) + " |")
        lines.append("")
    for metric, reason in unavailable_metrics(table.metrics).items():
        lines += [f"{metric.upper()}: unavailable ({reason}).", ""]
    if missing:
        lines += [f"Test sets not available here: {', '.join(missing)}.", ""]
    if table.reference:
        short_sets = [Path(s).name for s in present]
        lines += _precondition_lines(table, short_sets, cells, bic)
        lines += _contrast_lines(table, short_sets, per_network or [])
    if table.published:
        lines += [
            f"### Published ({PUBLISHED_METRICS[name]})",
            "",
            "| set | " + " | ".join(c.label for c in table.columns) + " |",
            "| --- |" + " --- |" * len(table.columns),
        ]
        pad = ("-",) * (len(table.columns) - len(next(iter(table.published.values()))))
        lines += [f"| {s} | " + " | ".join(v + pad) + " |" for s, v in table.published.items()]
        lines.append("")
    if figures:
        lines += ["### Crops", ""] + [f"![{f.stem}]({_link(f, base)})" for f in figures] + [""]
    lines += ["### Run folders", ""]
    for label, dirs in run_dirs.items():
        lines.append(f"- {label}: " + ", ".join(f"[{d.name}]({_link(d, base)})" for d in dirs))
    return "\n".join(lines) + "\n"


# The thresholds of Study B's preconditions (docs/results/study_b.md), so a quick table and
# the study read "the GAN worked and did not collapse" the same way.
MIN_GAIN_OVER_BICUBIC = 0.5  # dB PSNR, pretrained generator over bicubic
MIN_NIQE_DROP = 0.3  # the independent arm's NIQE below the pretrained generator's
MAX_PSNR_DROP = 2.0  # dB PSNR, any cohort network below the pretrained generator


def _cell_mean(cells: dict, set_name: str, label: str, metric: str) -> float | None:
    cell = cells.get((set_name, label, metric))
    mean = _mean_spread(cell.values)[0] if cell else float("nan")
    return mean if mean == mean else None


def _precondition_lines(table: Table, sets: list[str], cells: dict, bic: dict) -> list[str]:
    """What must hold before the cohort columns can be compared, each checked and printed
    with what was measured; a check that cannot be measured does not hold."""
    ref = table.reference
    gain_sets = [s for s in ("Set5", "BSD100") if s in sets] or sets[:1]
    key = "BSD100" if "BSD100" in sets else sets[-1]
    arms = [c.label for c in table.columns if c.cohort]
    checks: list[tuple[str, str, bool]] = []

    gains = {}
    for s in gain_sets:
        ours, base = _cell_mean(cells, s, ref, "psnr"), bic.get(s, {}).get("psnr")
        if ours is not None and base is not None:
            gains[s] = ours - base
    checks.append(
        (
            f"the pretrained generator beats bicubic by ≥ {MIN_GAIN_OVER_BICUBIC} dB PSNR on "
            + " and ".join(gain_sets),
            ", ".join(f"{s} {g:+.2f} dB" for s, g in gains.items()) or "not measured",
            len(gains) == len(gain_sets)
            and all(g >= MIN_GAIN_OVER_BICUBIC for g in gains.values()),
        )
    )
    if "niqe" in table.metrics:
        before = _cell_mean(cells, key, ref, "niqe")
        after = _cell_mean(cells, key, INDEPENDENT, "niqe")
        measured = before is not None and after is not None
        checks.append(
            (
                f"the GAN changes the images: {INDEPENDENT} NIQE on {key} (mean over seeds and "
                f"members) ≥ {MIN_NIQE_DROP} below the pretrained generator's",
                f"{after:.3f} vs {before:.3f} ({after - before:+.3f})"
                if measured
                else "not measured",
                measured and after <= before - MIN_NIQE_DROP,
            )
        )
    ref_psnr = _cell_mean(cells, key, ref, "psnr")
    lowest = [
        min(v for v in cell.values if v == v)
        for label in arms
        if (cell := cells.get((key, label, "psnr"))) and any(v == v for v in cell.values)
    ]
    drop = ref_psnr - min(lowest) if ref_psnr is not None and lowest else None
    checks.append(
        (
            f"no collapse: every cohort network's {key} PSNR within {MAX_PSNR_DROP} dB of the "
            "pretrained generator's",
            f"largest drop {drop:.2f} dB" if drop is not None else "not measured",
            drop is not None and drop <= MAX_PSNR_DROP,
        )
    )
    lines = ["### Preconditions", ""]
    lines += [
        f"- {'holds' if ok else '**fails**'}: {what} ({measured})" for what, measured, ok in checks
    ]
    lines.append("")
    if all(ok for *_, ok in checks):
        lines += ["All preconditions hold: the contrasts below can be read.", ""]
    else:
        lines += [
            "**A precondition fails: the contrasts below compare networks outside the design "
            "and say nothing about paper B's claim.**",
            "",
        ]
    return lines


def _seed_means(rows: list[list], set_name: str, label: str, metric: str) -> dict[int, float]:
    """Per seed, the mean over a run's networks (members of one cohort are not independent
    samples, so the seed is the unit of replication)."""
    by_seed: dict[int, list[float]] = {}
    for s, column, seed, _member, m, value, _run in rows:
        if (s, column, m) == (set_name, label, metric) and value == value:
            by_seed.setdefault(seed, []).append(value)
    return {seed: statistics.fmean(v) for seed, v in sorted(by_seed.items())}


def _contrast_lines(table: Table, sets: list[str], rows: list[list]) -> list[str]:
    from srdistill.reproduce.study import t95_half_width

    metrics = [m for m in ("psnr", "ssim", "niqe") if m in table.metrics]
    lines = [
        "### Paired contrasts (A − B per seed on the mean of each cohort's members; exact "
        "Student-t 95% interval over seeds; NIQE: lower is better)",
        "",
        "| contrast | set | metric | per seed | mean | 95% interval |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    digits = {"psnr": 3, "ssim": 4, "niqe": 3}
    for a, b in COHORT_CONTRASTS:
        for s in sets:
            for m in metrics:
                sa, sb = _seed_means(rows, s, a, m), _seed_means(rows, s, b, m)
                diffs = [sa[k] - sb[k] for k in sa if k in sb]
                if not diffs:
                    continue
                d = digits[m]
                mean, half = statistics.fmean(diffs), t95_half_width(diffs)
                interval = (
                    f"[{mean - half:+.{d}f}, {mean + half:+.{d}f}]"
                    if half == half
                    else "none (one seed)"
                )
                per_seed = " / ".join(f"{x:+.{d}f}" for x in diffs)
                lines.append(
                    f"| {a} − {b} | {s} | {m.upper()} | {per_seed} | {mean:+.{d}f} | {interval} |"
                )
    lines.append("")
    return lines


def _networks_csv(rows: list[list]) -> bytes:
    """Long form, one row per network (seed and cohort member) and metric: what paired
    per-seed comparisons between columns are computed from."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["set", "column", "seed", "member", "metric", "value", "run"])
    for set_name, label, seed, member, metric, value, run in rows:
        writer.writerow(
            [set_name, label, seed, "" if member is None else member, metric, value, run]
        )
    return buf.getvalue().encode()


def _csv(table: Table, present: list[str], cells: dict, bicubic: EvalResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["set", "column", "metric", "mean", "std", "n", "runs"])
    for s in present:
        short = Path(s).name
        for metric in table.metrics:
            value = bicubic.summary().get(short, {}).get(metric)
            writer.writerow([short, "bicubic", metric, value, 0.0, 1, ""])
            for col in table.columns:
                cell = cells.get((short, col.label, metric))
                if cell:
                    mean, spread = _mean_spread(cell.values)
                    writer.writerow(
                        [
                            short,
                            col.label,
                            metric,
                            mean,
                            spread,
                            len(cell.values),
                            ";".join(str(r) for r in cell.runs),
                        ]
                    )
    return buf.getvalue()


def _figures(
    table: Table, present: list[str], networks: dict, out: Path, name: str, preset: str
) -> list[Path]:
    """HR | bicubic | each column, on the first image of the first and last test sets."""
    paths = []
    for set_name in dict.fromkeys([present[0], present[-1]]):
        image = load_benchmark(set_name, table.scale)[0]
        panels = [
            ("HR", image.hr),
            ("bicubic", super_resolve(bicubic_upscaler(table.scale), image.lr)),
        ]
        panels += [(label, super_resolve(net, image.lr)) for label, net in networks.items()]
        path = out / f"{name}_{preset}_{Path(set_name).name}_{image.name}.png"
        paths.append(side_by_side(panels, path))
    return paths
