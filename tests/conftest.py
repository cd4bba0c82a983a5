"""Shared fixtures: tiny synthetic image folders, tiny configs, the shared data root."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path | None:
    """The real benchmark images: $SRDISTILL_DATA, else ../shared/data beside the repo."""
    env = os.environ.get("SRDISTILL_DATA")
    root = Path(env) if env else REPO.parent / "shared" / "data"
    return root if (root / "benchmark" / "Set5").is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    root = shared_data_root()
    if root is None:
        pytest.skip("real benchmark images not found (set SRDISTILL_DATA or add ../shared/data)")
    return root


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """A random but image-like (smooth, textured) HWC uint8 RGB array."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((h, w, 3))
    for c in range(3):
        for _ in range(4):
            fx, fy, ph = rng.uniform(1, 12, 2).tolist() + [rng.uniform(0, 6.28)]
            img[..., c] += np.sin(2 * np.pi * (fx * x + fy * y) + ph)
    img = (img - img.min()) / (img.max() - img.min())
    return np.round(img * 255).astype(np.uint8)


def write_images(folder: Path, count: int, size: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(smooth_image(*size, seed=seed + i)).save(folder / f"img{i:02d}.png")
    return folder


@pytest.fixture
def image_dirs(tmp_path: Path) -> dict[str, Path]:
    """A tiny train folder and a tiny test folder of synthetic PNGs."""
    return {
        "train": write_images(tmp_path / "train_imgs", 4, (64, 56), seed=0),
        "test": write_images(tmp_path / "test_imgs", 2, (40, 36), seed=100),
    }


def tiny_config(tmp_path: Path, image_dirs: dict[str, Path], **changes: object) -> dict:
    """A config dict for a seconds-long self-distillation run on synthetic images."""
    raw: dict = {
        "name": "tiny",
        "output_dir": str(tmp_path / "runs"),
        "seed": 3,
        "scale": 2,
        "method": "self_distill",
        "model": {"arch": "multi_exit_srresnet", "num_blocks": 3, "exits": [1], "num_features": 8},
        "data": {
            "train": [str(image_dirs["train"])],
            "val": str(image_dirs["test"]),
            "patch_size": 16,
        },
        "train": {
            "steps": 6,
            "batch_size": 4,
            "log_every": 1,
            "val_every": 3,
            "ckpt_every": 3,
            "progress": False,
            "threads": 1,
        },
    }
    for key, value in changes.items():
        node = raw
        parts = key.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return raw


# Float tolerances follow from the dtype, never from what one CPU happened to produce:
# a float32 result of a few rounded operations is within a few units of float32 rounding
# (eps = 2**-23) of the exact value, scaled by the size of the terms that were combined
# (cancellation makes the error relative to those terms, not to the result).
F32_EPS = float(np.finfo(np.float32).eps)


def f32_tolerance(*term_magnitudes: float, ulps: int = 16) -> float:
    """Absolute tolerance for a float32 result built from terms of these magnitudes."""
    return ulps * F32_EPS * sum(abs(m) for m in term_magnitudes)
