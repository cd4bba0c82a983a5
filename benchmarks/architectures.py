"""Per-architecture engine cost on this machine: for each shipped architecture's quick
preset, the engine's step time against a bare PyTorch loop on the same network and batch
(goal: under 3%; against a bare loop on one pre-made batch, and against one that draws
the same per-step batches, which prices the engine's own code apart from the data), the
cost of EMA of weights (goal: under 2%) and bf16 autocast vs fp32.

Usage: .venv/bin/python benchmarks/architectures.py [--rounds 150] [--batch 8] [--out F.md]
       [--compile]   (also the engine with train.compile=true against eager)

Step-level interleaving: the five loops (bare on one pre-made batch, bare drawing the
engine's batches, engine, engine + EMA, engine + bf16) live in
one process, and each round runs one step of each in a fresh random order. A cost is the
ratio of two loops' step times within a round, so the machine's drift (the noise that
swamped run-level comparisons here: ±20% between runs) cancels; the table gives the median
and mean of the per-round ratios with an exact Student-t 95% interval of the mean log
ratio. The engine loops call `srdistill.engine.trainer.step_function`, the very code the
training loop runs per step (batch cropping and augmentation included; logging, validation
and checkpoints excluded: they happen every log_every/val_every/ckpt_every steps). EMA is
also priced on its own: its update timed alone, as a share of the engine's step.
Time it only on an idle machine (nothing else training).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from scipy.stats import t as student_t

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_overhead import bare_step  # noqa: E402

from srdistill.config import load_config  # noqa: E402
from srdistill.engine.ema import WeightAverage  # noqa: E402
from srdistill.engine.trainer import step_function  # noqa: E402
from srdistill.methods import METHODS  # noqa: E402
from srdistill.models import build_generator, describe  # noqa: E402

CONFIGS = [
    "self_distill/srresnet8_alone",
    "architectures/edsr",
    "architectures/rcan",
    "architectures/imdn",
]


def summarise(ratios: list[float]) -> tuple[float, float, float, float]:
    """Median, mean and 95% interval (exact t on log ratios) of per-round ratios, in %."""
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    half = student_t.ppf(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))

    def pct(x: float) -> float:
        return 100 * (math.exp(x) - 1)

    return 100 * (statistics.median(ratios) - 1), pct(mean), pct(mean - half), pct(mean + half)


def ema_update_ms(cfg, repeats: int = 200) -> float:  # noqa: ANN001
    """The EMA update alone (decay 0.999) on the network, median ms."""
    net = build_generator(cfg.scale, cfg.model)
    ema = WeightAverage({"model": net}, 0.999)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ema.update()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times[10:])


def measure(  # noqa: PLR0913
    config: str,
    rounds: int,
    batch: int | None,
    seed: int = 0,
    extra: Sequence[str] = (),
    compiled: bool = False,
) -> dict:
    """Every loop's step times and the per-round ratios; ``extra``: overrides for all."""
    base = ["data.train=[builtin-train]", f"train.steps={rounds + 20}", *extra]
    if batch:
        base.append(f"train.batch_size={batch}")

    def cfg(*options: str):  # noqa: ANN202
        return load_config(config, "quick", [*base, *options])

    plain = cfg()
    with torch.device("meta"):
        name = describe(build_generator(plain.scale, plain.model))
    steps = {
        "bare": bare_step(plain),
        "bare_data": bare_step(plain, fresh_batches=True),
        "engine": step_function(plain, METHODS[plain.method]),
        "ema": step_function(cfg("train.ema_decay=0.999"), METHODS[plain.method]),
        "bf16": step_function(cfg("train.precision=bf16"), METHODS[plain.method]),
    }
    if compiled:  # torch.compile: its warm-up below includes the compilation
        steps["compile"] = step_function(cfg("train.compile=true"), METHODS[plain.method])
    for fn in steps.values():  # warm-up: allocator, autocast caches, first-touch pages
        for _ in range(3):
            fn()
    order = list(steps)
    shuffle = random.Random(seed)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(rounds):
        shuffle.shuffle(order)
        for key in order:
            t0 = time.perf_counter()
            steps[key]()
            times[key].append(time.perf_counter() - t0)

    def ratios(a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(times[a], times[b], strict=True)]

    engine_ms = 1e3 * statistics.median(times["engine"])
    ema_alone = ema_update_ms(plain)
    return {
        "name": name,
        "batch": f"{plain.train.batch_size} x {plain.data.patch_size // plain.scale}px",
        "bare_ms": 1e3 * statistics.median(times["bare"]),
        "engine_ms": engine_ms,
        "overhead": summarise(ratios("engine", "bare")),
        "code": summarise(ratios("engine", "bare_data")),
        "ema": summarise(ratios("ema", "engine")),
        "ema_alone": (ema_alone, 100 * ema_alone / engine_ms),
        "bf16": summarise(ratios("bf16", "engine")),
        "compile": summarise(ratios("compile", "engine")) if compiled else None,
    }


def _cell(s: tuple[float, float, float, float]) -> str:
    return f"{s[0]:+.1f}% / {s[1]:+.1f}% [{s[2]:+.1f}, {s[3]:+.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=150)
    ap.add_argument("--batch", type=int, help="override each preset's batch size")
    ap.add_argument("--configs", help="comma-separated subset of " + ",".join(CONFIGS))
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("--compile", action="store_true", help="also time train.compile=true")
    args = ap.parse_args()
    configs = args.configs.split(",") if args.configs else CONFIGS
    rows = [
        "| network (quick preset) | batch x LR | bare ms/step | engine ms/step | engine vs "
        "bare on one batch: median / mean [95%] | engine vs bare on the engine's batches: "
        "median / mean [95%] | + EMA 0.999: median / mean [95%] | EMA update alone (share "
        "of step) | bf16 vs fp32: median / mean [95%] |"
        + (" torch.compile vs eager: median / mean [95%] |" if args.compile else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|" if args.compile else ""),
    ]
    for config in configs:
        m = measure(config, args.rounds, args.batch, compiled=args.compile)
        rows.append(
            f"| {m['name']} | {m['batch']} | {m['bare_ms']:.1f} | {m['engine_ms']:.1f} "
            f"| {_cell(m['overhead'])} | {_cell(m['code'])} | {_cell(m['ema'])} "
            f"| {m['ema_alone'][0]:.2f} ms ({m['ema_alone'][1]:.1f}%) | {_cell(m['bf16'])} |"
            + (f" {_cell(m['compile'])} |" if args.compile else "")
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print(
        f"threads {torch.get_num_threads()}, {args.rounds} rounds of one step per loop in "
        "random order; per-round ratios"
    )
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
