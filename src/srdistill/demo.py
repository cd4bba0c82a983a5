"""``srdistill demo``: the main job on a built-in default, in a few minutes on 2 CPU cores.

Trains a small multi-exit SRResNet with self-distillation and the same light SRResNet
alone (same data order, seed and steps), evaluates both and bicubic on held-out images,
prints a PSNR/SSIM table and writes a side-by-side crop figure.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from srdistill.config import config_from_dict
from srdistill.data.datasets import load_benchmark
from srdistill.deploy.loading import load_sr_model
from srdistill.eval import bicubic_upscaler, evaluate, results_table, side_by_side, write_results
from srdistill.eval.evaluate import super_resolve
from srdistill.methods import train

log = logging.getLogger(__name__)
SCALE = 4  # paper A reports x4

DATA = {
    "builtin": {"train": ["builtin-train"], "test": ["builtin-test"]},
    "local": {"train": ["T91", "BSD200"], "test": ["Set5", "Set14"]},
}


def demo_configs(data: str, out: Path, steps: int, seed: int) -> tuple[dict, dict]:
    """The two runs: center of 8 blocks with an exit after block 2, and SRResNet-2 alone."""
    common = {
        "output_dir": str(out / "runs"),
        "seed": seed,
        "scale": SCALE,
        "data": {"train": DATA[data]["train"], "val": DATA[data]["test"][0], "patch_size": 64},
        "optim": {"lr": 1e-3, "milestones": [int(steps * 0.7)], "gamma": 0.3},
        "train": {
            "steps": steps,
            "batch_size": 16,
            "log_every": 25,
            "val_every": steps,
            "ckpt_every": max(steps // 4, 1),
        },
    }
    distilled = {
        **common,
        "name": "self_distilled",
        "method": "self_distill",
        "model": {"arch": "multi_exit_srresnet", "num_blocks": 8, "exits": [2], "num_features": 32},
    }
    alone = {
        **common,
        "name": "alone",
        "method": "plain",
        "model": {"arch": "srresnet", "num_blocks": 2, "num_features": 32},
    }
    return distilled, alone


def run_demo(
    data: str = "builtin",
    out: Path = Path("demo_out"),
    steps: int = 800,
    seed: int = 0,
    resume: bool = True,
) -> str:
    """Run the demo; returns the Markdown table (also written to ``out``)."""
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    distilled, alone = demo_configs(data, out, steps, seed)
    runs = {}
    for raw in (alone, distilled):
        cfg = config_from_dict(raw)
        status = cfg.run_dir / "status.json"
        done = status.exists() and '"complete"' in status.read_text()
        if done and cfg.run_dir.joinpath("config.yaml").exists():
            log.info("reusing finished run %s", cfg.run_dir)
        else:
            log.info("training %s (%s, %d steps)", cfg.name, cfg.method, cfg.train.steps)
            train(cfg, resume=resume and cfg.run_dir.exists())
        runs[cfg.name] = cfg.run_dir
    scale = SCALE
    light = load_sr_model(runs["alone"])
    exit_model = load_sr_model(runs["self_distilled"], exit_block=2)
    center = load_sr_model(runs["self_distilled"])
    models = [
        ("bicubic", bicubic_upscaler(scale)),
        ("SRResNet-2 alone", light.network),
        ("exit 2 (self-distilled)", exit_model.network),
        ("center SRResNet-8", center.network),
    ]
    test_sets = DATA[data]["test"]
    results = [evaluate(fn, test_sets, scale, model_name=name) for name, fn in models]
    table = f"Demo: x{scale}, {steps} steps, data '{data}' (PSNR dB / SSIM, Y channel)\n\n"
    table += results_table(results, ["psnr", "ssim"])
    write_results(results, out, "demo")
    (out / "demo_table.md").write_text(table)
    first = load_benchmark(test_sets[0], scale)[0]
    panels = [("HR", first.hr)] + [(name, super_resolve(fn, first.lr)) for name, fn in models]
    figure = side_by_side(panels, out / "demo_crops.png")
    log.info("figure: %s", figure)
    return table
