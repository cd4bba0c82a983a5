"""Per-architecture engine cost on this machine: for each shipped architecture's quick
preset, the engine's step time against a bare PyTorch loop on the same network and batch
(goal: under 3%), the cost of EMA of weights (goal: under 2%) and bf16 autocast vs fp32.

Usage: .venv/bin/python benchmarks/architectures.py [--steps 40] [--out FILE.md]
Prints a Markdown table. Time it only on an idle machine (nothing else training).
"""

from __future__ import annotations

import argparse
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


def measure(config: str, extra: list[str], steps: int) -> dict[str, float | str]:
    base = ["data.train=[builtin-train]", *extra]

    def cfg(*options: str):  # noqa: ANN202
        return load_config(config, "quick", [*base, *options])

    plain = cfg()
    with torch.device("meta"):
        name = describe(build_generator(plain.scale, plain.model))
    bare = bare_loop(plain, steps)
    engine = engine_loop(cfg(), steps)
    ema = engine_loop(cfg("train.ema_decay=0.999"), steps)
    bf16 = engine_loop(cfg("train.precision=bf16"), steps)
    batch = f"{plain.train.batch_size} x {plain.data.patch_size // plain.scale}px"
    return {"name": name, "bare": bare, "engine": engine, "ema": ema, "bf16": bf16, "batch": batch}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args()
    rows = [
        "| network (quick preset) | batch x LR | bare ms/step | engine ms/step | engine overhead "
        "| + EMA 0.999 | bf16 ms/step (vs fp32) |",
        "|---|---|---|---|---|---|---|",
    ]
    for config, extra in CONFIGS:
        m = measure(config, extra, args.steps)
        rows.append(
            f"| {m['name']} | {m['batch']} | {m['bare'] * 1e3:.1f} | {m['engine'] * 1e3:.1f} "
            f"| {100 * (m['engine'] / m['bare'] - 1):+.1f}% "
            f"| {100 * (m['ema'] / m['engine'] - 1):+.1f}% "
            f"| {m['bf16'] * 1e3:.1f} ({100 * (m['bf16'] / m['engine'] - 1):+.0f}%) |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print(f"threads {torch.get_num_threads()}, {args.steps} steps per measurement (median)")
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
