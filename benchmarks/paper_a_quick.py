"""Paper A, experiment 1 at the `quick` preset: SRResNet-8 alone vs exit 8 of SRResNet-32.

Trains both runs (resuming if interrupted, skipping if complete), evaluates them and bicubic
on Set5, Set14, BSD100 and Urban100 (x4, Y channel), and writes a Markdown table.
Usage: .venv/bin/python benchmarks/paper_a_quick.py [--out docs/results/paper_a_table1_quick.md]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from srdistill.config import load_config
from srdistill.data.catalog import TEST_SETS
from srdistill.deploy.loading import load_sr_model
from srdistill.eval import bicubic_upscaler, evaluate, results_table, write_results
from srdistill.methods import train

PAPER = {  # Paper A, table 1 (PSNR / SSIM)
    "Set5": ("27.343 / 0.779", "28.758 / 0.879"),
    "Set14": ("25.410 / 0.679", "26.093 / 0.747"),
    "BSD100": ("25.393 / 0.648", "24.361 / 0.684"),
    "Urban100": ("22.667 / 0.636", "24.313 / 0.656"),
}


def run(config: str, runs_dir: str) -> tuple[Path, float]:
    cfg = load_config(config, "quick", [f"output_dir={runs_dir}"])
    status = cfg.run_dir / "status.json"
    if status.exists() and json.loads(status.read_text())["state"] == "complete":
        return cfg.run_dir, float("nan")
    t = time.perf_counter()
    train(cfg, resume=cfg.run_dir.exists())
    return cfg.run_dir, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="runs/quick")
    ap.add_argument("--out", default="docs/results/paper_a_table1_quick.md")
    args = ap.parse_args()
    alone, t_alone = run("configs/self_distill/srresnet8_alone.yaml", args.runs)
    distilled, t_dist = run("configs/self_distill/srresnet32_exit8.yaml", args.runs)
    models = [
        ("bicubic", bicubic_upscaler(4)),
        ("SRResNet-8 alone", load_sr_model(alone).network),
        ("exit 8 of SRResNet-32", load_sr_model(distilled, exit_block=8).network),
        ("center SRResNet-32", load_sr_model(distilled).network),
    ]
    results = [
        evaluate(fn, list(TEST_SETS), 4, model_name=n, skip_missing=True, progress=True)
        for n, fn in models
    ]
    out = Path(args.out)
    write_results(results, out.parent / out.stem)
    lines = [
        "# Paper A, table 1 at the `quick` preset (2-core CPU)",
        "",
        "Commands (the script runs the equivalent of these):",
        "```",
        *[
            f"srdistill train configs/self_distill/{name}.yaml --preset quick "
            f"-o output_dir={args.runs}"
            for name in ("srresnet8_alone", "srresnet32_exit8")
        ],
        f"srdistill eval {args.runs}/srresnet32_exit8 --exit all --with-bicubic",
        f"srdistill eval {args.runs}/srresnet8_alone",
        "```",
        "Driver: `.venv/bin/python benchmarks/paper_a_quick.py`",
        "",
        "Settings (quick preset): x4, T91+BSD200 training images, 32 features, 3,000 steps of "
        "8 patches of 64x64 HR (16x16 LR), Adam lr 1e-3 decayed x0.3 at step 2,100, seed 0. "
        "The paper uses DIV2K, 64 features, lr 1e-4, batch 4, 200 epochs.",
        f"Training time: alone {t_alone / 60:.1f} min, self-distilled {t_dist / 60:.1f} min "
        "(nan = reused a finished run).",
        "",
        "Measured here (PSNR dB / SSIM, Y channel, 4-pixel border):",
        "",
        results_table(results, ["psnr", "ssim"]),
        "Paper A's published numbers (for reference; under-trained, see SPEC.md):",
        "",
        "| set | SRResNet-8 alone | exit 8 of 32 |",
        "| --- | --- | --- |",
        *[f"| {k} | {a} | {b} |" for k, (a, b) in PAPER.items()],
        "",
        f"Run folders: `{alone}`, `{distilled}` (config, seed, commit, versions in run.json).",
    ]
    missing = sorted({m for r in results for m in r.missing})
    if missing:
        lines.append(f"Sets not available here: {', '.join(missing)}.")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
