"""What a run records beside its checkpoints so any number can be traced back to it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "numpy", "scipy", "pillow", "safetensors", "pyyaml", "scikit-image")


def git_state() -> dict:
    root = Path(__file__).resolve().parents[3]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    # A copy of the tree sent elsewhere (a GPU lease) may carry no history, or a stale one:
    # whoever sends it names the commit it was made from.
    given = os.environ.get("SRDISTILL_GIT_COMMIT")
    if given:
        return {"commit": given, "dirty": None, "source": "SRDISTILL_GIT_COMMIT"}
    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty) if dirty is not None else None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        versions["srdistill"] = metadata.version("srdistill")
    except metadata.PackageNotFoundError:
        versions["srdistill"] = None
    return versions


def cpu_model() -> str:
    """The processor's name (``model name`` in /proc/cpuinfo on Linux): step times of runs
    on an Intel Xeon and an AMD EPYC are not comparable, and records must say which."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_record(device: str, world_size: int) -> dict:
    import torch

    return {
        "git": git_state(),
        "packages": package_versions(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "device": device,
        "cuda": torch.version.cuda,
        "world_size": world_size,
        "threads": torch.get_num_threads(),
        "argv": sys.argv,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_json(path: Path, data: dict) -> None:
    from srdistill.data.io import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(data, indent=2, default=str) + "\n").encode())
