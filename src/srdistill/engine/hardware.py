"""What the machine's processor can do natively, where that changes a choice the user makes."""

from __future__ import annotations

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# Instruction sets that compute bf16 products in hardware (AVX512-BF16, AMX). Without them
# the bf16 kernels take slow emulated paths: benchmarks/architectures.py measured bf16
# autocast 5-13x slower than fp32 on a 2-core AMD EPYC with AVX2 only, and 12-44% faster
# on an Intel Xeon with AMX (docs/results/performance.md).
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str] | None:
    """The processor's feature flags from ``/proc/cpuinfo`` text (read when not given), or
    None where they cannot be known (no such file: not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text()
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 / Arm spelling
            return frozenset(value.split())
    return None


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool | None:
    """True when the CPU multiplies bf16 in hardware, False when its flags say it does not,
    None when unknown."""
    flags = cpu_flags(cpuinfo)
    if flags is None:
        return None
    return bool(flags & NATIVE_BF16_FLAGS) or "bf16" in flags  # Arm: FEAT_BF16 is "bf16"
