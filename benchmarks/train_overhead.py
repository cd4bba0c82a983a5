"""Engine overhead: a real `srdistill` training step against a bare PyTorch loop.

Both train the same model on the same batch shape with the same optimizer; the bare loop
reuses one pre-made batch (or, in benchmarks/architectures.py, also draws the engine's
batches), so any extra time in the engine (data cropping/augmentation, logging, loss
bookkeeping) shows up as the difference.
Usage: .venv/bin/python benchmarks/train_overhead.py [--steps 60] [--config ...]
       [-o train.ema_decay=0.999]   (the cost of an engine option: EMA, accumulation, ...)
       --config architectures/edsr  (any architecture: plain L1, or paper A's loss for a
                                     multi-exit one; the bare loop builds the same network)
Time it only on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from srdistill.config import is_multi_exit, load_config
from srdistill.data.datasets import TrainPatches
from srdistill.engine.logging import read_metrics
from srdistill.losses import self_distillation_loss
from srdistill.methods import train
from srdistill.models import build_generator, describe


class BareSteps:
    """One bare PyTorch step per call; ``net`` is the network it trains."""

    def __init__(self, net: torch.nn.Module, step: Callable[[], None]) -> None:
        self.net, self._step = net, step

    def __call__(self) -> None:
        self._step()


def bare_step(cfg, fresh_batches: bool = False) -> BareSteps:  # noqa: ANN001
    """A bare PyTorch step: forward, the method's loss, backward, Adam. On one pre-made
    batch, or with ``fresh_batches`` on batch 1, 2, ... of the engine's own patch sampler
    (the same crops and flips), so that the engine's code is priced apart from the data."""
    torch.manual_seed(cfg.seed)
    net = build_generator(cfg.scale, cfg.model).train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas))
    data = TrainPatches(
        cfg.data.train, cfg.scale, cfg.data.patch_size, cfg.train.batch_size, cfg.seed
    )
    fixed = data.batch(1)
    index = iter(range(1, 1 << 62))
    multi = is_multi_exit(cfg)

    def step() -> None:
        lr, hr = data.batch(next(index)) if fresh_batches else fixed
        out = net(lr)
        if multi:
            loss = self_distillation_loss(out, hr, net.num_blocks)["loss"]
        else:
            loss = F.l1_loss(out, hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return BareSteps(net, step)


def bare_loop(cfg, steps: int) -> float:
    step = bare_step(cfg)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
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
    with torch.device("meta"):
        name = describe(build_generator(cfg.scale, cfg.model))
    print(
        f"model: {name} ({cfg.model.arch}, method {cfg.method}), batch {cfg.train.batch_size} x "
        f"{cfg.data.patch_size // cfg.scale}px LR, x{cfg.scale}, threads {torch.get_num_threads()}"
    )
    print(
        f"bare loop: {bare * 1000:.1f} ms/step; engine: {eng * 1000:.1f} ms/step; "
        f"overhead {100 * (eng / bare - 1):+.1f}%"
    )


if __name__ == "__main__":
    main()
