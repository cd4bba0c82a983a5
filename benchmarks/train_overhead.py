"""Engine overhead: a real `srdistill` training step against a bare PyTorch loop.

Both train the same model on the same batch shape with the same optimizer; the bare loop
reuses one pre-made batch, so any extra time in the engine (data cropping/augmentation,
logging, loss bookkeeping) shows up as the difference.
Usage: .venv/bin/python benchmarks/train_overhead.py [--steps 60] [--config ...]
       [-o train.ema_decay=0.999]   (the cost of an engine option: EMA, accumulation, ...)
Time it only on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from srdistill.config import load_config
from srdistill.data.datasets import TrainPatches
from srdistill.engine.logging import read_metrics
from srdistill.losses import self_distillation_loss
from srdistill.methods import train
from srdistill.models import MultiExitSRResNet


def bare_loop(cfg, steps: int) -> float:
    torch.manual_seed(0)
    m = cfg.model
    net = MultiExitSRResNet(cfg.scale, m.num_blocks, m.exits, m.num_features)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optim.lr)
    data = TrainPatches(cfg.data.train, cfg.scale, cfg.data.patch_size, cfg.train.batch_size, 0)
    lr, hr = data.batch(0)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        out = net(lr)
        loss = self_distillation_loss(out, hr, m.num_blocks)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[5:])


def engine_loop(cfg, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cfg.output_dir, cfg.train.steps = tmp, steps
        cfg.train.log_every, cfg.train.progress = 5, False
        cfg.train.val_every = cfg.train.ckpt_every = steps
        cfg.data.val = ""
        run = train(cfg)
        per_step = [m["sec_per_step"] for m in read_metrics(run.run_dir) if "sec_per_step" in m]
    return statistics.median(per_step[1:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/self_distill/srresnet32_exit8.yaml")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        help="an engine option to price against the bare loop, e.g. -o train.ema_decay=0.999",
    )
    args = ap.parse_args()
    cfg = load_config(args.config, args.preset, ["data.train=[builtin-train]", *args.option])
    bare = bare_loop(cfg, args.steps)
    eng = engine_loop(cfg, args.steps)
    if args.option:
        print("engine options: " + ", ".join(args.option))
    print(
        f"model: MultiExitSRResNet-{cfg.model.num_blocks} exits {cfg.model.exits}, "
        f"{cfg.model.num_features} features, batch {cfg.train.batch_size} x "
        f"{cfg.data.patch_size // cfg.scale}px LR, x{cfg.scale}, threads {torch.get_num_threads()}"
    )
    print(
        f"bare loop: {bare * 1000:.1f} ms/step; engine: {eng * 1000:.1f} ms/step; "
        f"overhead {100 * (eng / bare - 1):+.1f}%"
    )


if __name__ == "__main__":
    main()
