"""fp32 vs bf16 autocast training-step time on this machine, for the demo/quick model sizes.

Usage: .venv/bin/python benchmarks/precision.py
"""

from __future__ import annotations

import statistics
import time

import torch

from srdistill.losses import pixel_loss, self_distillation_loss
from srdistill.models import MultiExitSRResNet, SRResNet


def step_time(net: torch.nn.Module, bf16: bool, lr_size: int, scale: int, batch: int) -> float:
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.rand(batch, 3, lr_size, lr_size)
    y = torch.rand(batch, 3, lr_size * scale, lr_size * scale)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        if isinstance(out, dict):
            loss = self_distillation_loss(out, y, max(out))["loss"]
        else:
            loss = pixel_loss("l1", out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[2:])


def main() -> None:
    print(f"threads {torch.get_num_threads()}")
    print("| model | batch x LR | fp32 ms/step | bf16 ms/step |")
    print("| --- | --- | --- | --- |")
    cases = [
        ("SRResNet-2, 32 features, x4 (demo 'alone')", lambda: SRResNet(4, 2, 32), 16, 16),
        (
            "MultiExit-8 (exit 2), 32 features, x4 (demo)",
            lambda: MultiExitSRResNet(4, 8, [2], 32),
            16,
            16,
        ),
        (
            "MultiExit-32 (exit 8), 32 features, x4 (quick)",
            lambda: MultiExitSRResNet(4, 32, [8], 32),
            8,
            16,
        ),
    ]
    for name, make, batch, size in cases:
        fp32 = step_time(make(), False, size, 4, batch)
        bf16 = step_time(make(), True, size, 4, batch)
        print(f"| {name} | {batch} x {size}x{size} | {fp32 * 1000:.0f} | {bf16 * 1000:.0f} |")


if __name__ == "__main__":
    main()
