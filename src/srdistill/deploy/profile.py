"""Compression report: parameters, FLOPs/MACs (PyTorch's own FLOP counter), peak memory
and median latency of a network on the current device, and ratios against a reference."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode


@dataclass
class Profile:
    name: str
    params: int
    flops: int  # for one forward pass at the given input size
    latency_ms: float  # median
    peak_memory_mb: float | None

    @property
    def macs(self) -> int:
        return self.flops // 2  # convolutions and matmuls: one multiply-add = 2 FLOPs


def _rss_peak_reset() -> bool:
    """Reset the process's peak RSS (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise OSError(field)


@torch.no_grad()
def profile_network(
    network: torch.nn.Module,
    name: str,
    input_size: tuple[int, int],
    device: torch.device | str = "cpu",
    repeats: int = 10,
    warmup: int = 2,
) -> Profile:
    from srdistill.deploy.upscale import activation_bytes, available_memory
    from srdistill.errors import ConfigError

    device = torch.device(device)
    h, w = input_size
    scale = int(getattr(network, "scale", 4))
    need, free = activation_bytes(network, h, w, scale), available_memory()
    if device.type == "cpu" and free is not None and need > free:
        # Profiling measures one untiled pass: an input whose pass cannot fit is refused.
        raise ConfigError(
            f"--input-size {w}x{h} needs about {need / 1024**3:.1f} GB of activations in one "
            f"pass, more than the {free / 1024**3:.1f} GB available; profile a smaller size"
        )
    net = network.eval().to(device)
    x = torch.rand(1, 3, *input_size, device=device)
    params = sum(p.numel() for p in net.parameters())
    with FlopCounterMode(display=False) as counter:
        net(x)
    flops = counter.get_total_flops()
    for _ in range(warmup):
        net(x)
    peak = None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        net(x)
        torch.cuda.synchronize(device)
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    elif _rss_peak_reset():
        try:
            base = _rss_mb("VmRSS")
            net(x)
            peak = _rss_mb("VmHWM") - base
        except OSError:
            peak = None
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        net(x)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - t) * 1000)
    return Profile(name, params, flops, statistics.median(times), peak)


def profile_table(profiles: list[Profile], reference: Profile, input_size: tuple[int, int]) -> str:
    h, w = input_size
    lines = [
        f"Input {w}x{h} LR, batch 1; ratios against {reference.name}.",
        "",
        "| model | params | MACs | FLOPs | peak memory (MB) | latency (ms) | compression "
        "| speed-up |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in profiles:
        mem = f"{p.peak_memory_mb:.1f}" if p.peak_memory_mb is not None else "n/a"
        lines.append(
            f"| {p.name} | {p.params / 1e6:.3f} M | {p.macs / 1e9:.2f} G | {p.flops / 1e9:.2f} G "
            f"| {mem} | {p.latency_ms:.1f} | {reference.params / p.params:.2f}x "
            f"| {reference.latency_ms / p.latency_ms:.2f}x |"
        )
    return "\n".join(lines) + "\n"
