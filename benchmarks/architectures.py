"""Per-architecture engine cost on this machine: for each shipped architecture's quick
preset, the engine's step time against a bare PyTorch loop on the same network and batch
(goal: under 3%), the cost of EMA of weights (goal: under 2%) and bf16 autocast vs fp32.

Usage: .venv/bin/python benchmarks/architectures.py [--steps 40] [--rounds 3] [--out FILE.md]
The four measurements of a network are interleaved over ``rounds`` rounds and each ratio
is the median of its per-round ratios (with their range), so drift of the machine between
measurements does not read as a cost. Prints a Markdown table. Time it only on an idle
machine (nothing else training).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_overhead import bare_loop, engine_loop  # noqa: E402

from srdistill.config import load_config  # noqa: E402
from srdistill.models import build_generator, describe  # noqa: E402

CONFIGS = [
    ("self_distill/srresnet8_alone", []),
    ("architectures/edsr", []),
    ("architectures/rcan", []),
    ("architectures/imdn", []),
]


def measure(config: str, extra: list[str], steps: int, rounds: int) -> dict:
    base = ["data.train=[builtin-train]", *extra]

    def cfg(*options: str):  # noqa: ANN202
        return load_config(config, "quick", [*base, *options])

    plain = cfg()
    with torch.device("meta"):
        name = describe(build_generator(plain.scale, plain.model))
    times: dict[str, list[float]] = {"bare": [], "engine": [], "ema": [], "bf16": []}
    for _ in range(rounds):
        times["bare"].append(bare_loop(plain, steps))
        times["engine"].append(engine_loop(cfg(), steps))
        times["ema"].append(engine_loop(cfg("train.ema_decay=0.999"), steps))
        times["bf16"].append(engine_loop(cfg("train.precision=bf16"), steps))

    def ratio(a: str, b: str) -> tuple[float, float, float]:
        r = [100 * (x / y - 1) for x, y in zip(times[a], times[b], strict=True)]
        return statistics.median(r), min(r), max(r)

    batch = f"{plain.train.batch_size} x {plain.data.patch_size // plain.scale}px"
    return {
        "name": name,
        "batch": batch,
        "bare": statistics.median(times["bare"]),
        "engine": statistics.median(times["engine"]),
        "bf16_ms": statistics.median(times["bf16"]),
        "overhead": ratio("engine", "bare"),
        "ema": ratio("ema", "engine"),
        "bf16": ratio("bf16", "engine"),
    }


def _pct(r: tuple[float, float, float]) -> str:
    return f"{r[0]:+.1f}% ({r[1]:+.0f}..{r[2]:+.0f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args()
    rows = [
        "| network (quick preset) | batch x LR | bare ms/step | engine ms/step | engine overhead "
        "(range) | + EMA 0.999 (range) | bf16 vs fp32 (range) |",
        "|---|---|---|---|---|---|---|",
    ]
    for config, extra in CONFIGS:
        m = measure(config, extra, args.steps, args.rounds)
        rows.append(
            f"| {m['name']} | {m['batch']} | {m['bare'] * 1e3:.1f} | {m['engine'] * 1e3:.1f} "
            f"| {_pct(m['overhead'])} | {_pct(m['ema'])} | {_pct(m['bf16'])} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print(
        f"threads {torch.get_num_threads()}, {args.steps} steps per measurement (median), "
        f"{args.rounds} interleaved rounds (median ratio, range)"
    )
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
