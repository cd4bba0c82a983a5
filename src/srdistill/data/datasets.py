"""Training patches and benchmark sets.

Training data order is a pure function of (seed, step): the batch for step ``s`` is drawn
from a generator seeded with ``[seed, s]``. Resuming at any step therefore replays exactly
the batches an uninterrupted run would have seen, with no sampler state to save, and every
DDP rank can take its own slice of the same global batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from srdistill.data.builtin import SPLITS as BUILTIN_SPLITS
from srdistill.data.builtin import load_builtin
from srdistill.data.catalog import find_dataset
from srdistill.data.io import list_images, read_rgb_uint8, to_tensor
from srdistill.errors import DataError
from srdistill.ops.imresize import degrade, mod_crop

log = logging.getLogger(__name__)


def load_image_set(
    source: str, *, on_bad_image: str = "skip", max_images: int | None = None
) -> list[tuple[str, np.ndarray]]:
    """Decode every image of ``source`` once: a catalog name, a folder, or a built-in split.

    ``on_bad_image``: 'skip' logs a corrupt image by name and goes on; 'stop' raises.
    """
    if source.lower() in BUILTIN_SPLITS:
        images = load_builtin(source.lower())
        return images[:max_images] if max_images else images
    folder = find_dataset(source)
    paths = list_images(folder)[: max_images or None]
    images = []
    for path in paths:
        try:
            images.append((path.stem, read_rgb_uint8(path)))
        except DataError as exc:
            if on_bad_image == "stop":
                raise
            log.warning("skipping %s", exc)
    if not images:
        raise DataError(f"no readable images in {folder}")
    return images


@dataclass
class TrainPair:
    name: str
    hr: torch.Tensor  # uint8 CHW, cropped to a multiple of the scale
    lr: torch.Tensor  # uint8 CHW, MATLAB-bicubic downscale of hr


@lru_cache(maxsize=4)
def _decoded_pairs(source: str, scale: int, on_bad_image: str) -> tuple[TrainPair, ...]:
    """Each image of ``source`` decoded and downscaled once per process (runs trained one
    after another on the same data, as by the demo or `reproduce`, share the work)."""
    pairs = []
    for name, rgb in load_image_set(source, on_bad_image=on_bad_image):
        hr = mod_crop(to_tensor(rgb), scale)
        lr = degrade(hr.unsqueeze(0), scale)[0]
        pairs.append(TrainPair(name, _to_uint8(hr), _to_uint8(lr)))
    return tuple(pairs)


def _to_uint8(t: torch.Tensor) -> torch.Tensor:
    return (t * 255).round().clamp(0, 255).to(torch.uint8)


class TrainPatches:
    """Random aligned LR/HR patch batches with flips and 90-degree rotations.

    Each image is decoded and downscaled once (LR is made from the whole image, as saved
    DIV2K LR files are); a step only crops, augments and converts to float.
    """

    def __init__(
        self,
        sources: Sequence[str],
        scale: int,
        patch_size: int,
        batch_size: int,
        seed: int,
        *,
        augment: bool = True,
        on_bad_image: str = "skip",
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if patch_size % scale:
            raise DataError(f"patch_size {patch_size} must be a multiple of the scale {scale}")
        if batch_size % world_size:
            raise DataError(
                f"batch_size {batch_size} must be divisible by the number of processes "
                f"({world_size})"
            )
        self.scale, self.patch_size, self.batch_size = scale, patch_size, batch_size
        self.seed, self.augment = seed, augment
        self.rank, self.world_size = rank, world_size
        self.pairs: list[TrainPair] = []
        for source in sources:
            for pair in _decoded_pairs(source, scale, on_bad_image):
                h, w = pair.hr.shape[-2:]
                if min(h, w) < patch_size:
                    msg = f"training image {source}/{pair.name} is {w}x{h}, smaller than the "
                    msg += f"{patch_size}px patch"
                    if on_bad_image == "stop":
                        raise DataError(msg + "; remove it or lower data.patch_size")
                    log.warning("skipping %s", msg)
                    continue
                self.pairs.append(pair)
        if not self.pairs:
            raise DataError(
                f"no usable training images in {', '.join(sources)} (need at least "
                f"{patch_size}x{patch_size} pixels)"
            )

    def __len__(self) -> int:
        return len(self.pairs)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(LR, HR) float batches in [0, 1] for ``step``: this rank's share of the global batch."""
        rng = np.random.default_rng([self.seed, step])
        n = self.batch_size
        which = rng.integers(0, len(self.pairs), size=n)
        fy, fx = rng.random(n), rng.random(n)
        modes = rng.integers(0, 8, size=n) if self.augment else np.zeros(n, dtype=np.int64)
        per_rank = n // self.world_size
        lo, hi = self.rank * per_rank, (self.rank + 1) * per_rank
        s, lp = self.scale, self.patch_size // self.scale
        lrs, hrs = [], []
        for i in range(lo, hi):
            pair = self.pairs[which[i]]
            lh, lw = pair.lr.shape[-2:]
            y = int(fy[i] * (lh - lp + 1))
            x = int(fx[i] * (lw - lp + 1))
            lr = pair.lr[:, y : y + lp, x : x + lp]
            hr = pair.hr[:, y * s : (y + lp) * s, x * s : (x + lp) * s]
            lrs.append(dihedral(lr, int(modes[i])))
            hrs.append(dihedral(hr, int(modes[i])))
        return torch.stack(lrs).float() / 255, torch.stack(hrs).float() / 255


def dihedral(x: torch.Tensor, mode: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a CHW tensor (mode 0 is the identity)."""
    if mode & 4:
        x = x.flip(-1)
    return torch.rot90(x, mode & 3, dims=(-2, -1))


@dataclass(frozen=True)
class EvalImage:
    """A test pair, stored as 8-bit (lossless: HR comes from an 8-bit file and LR is rounded
    to 8 bits), handed out as float CHW tensors in [0, 1]."""

    name: str
    hr_u8: torch.Tensor  # cropped to a multiple of the scale
    lr_u8: torch.Tensor  # MATLAB-bicubic downscale, rounded as saved benchmark LR images are

    @property
    def hr(self) -> torch.Tensor:
        return self.hr_u8.float() / 255

    @property
    def lr(self) -> torch.Tensor:
        return self.lr_u8.float() / 255


@lru_cache(maxsize=16)
def load_benchmark(source: str, scale: int, max_images: int | None = None) -> tuple[EvalImage, ...]:
    """HR/LR pairs of a test set, degraded the standard way; cached per process."""
    images = []
    for name, rgb in load_image_set(source, on_bad_image="stop", max_images=max_images):
        hr = mod_crop(to_tensor(rgb), scale)
        if min(hr.shape[-2:]) < 2 * scale:
            raise DataError(f"test image {source}/{name} is too small for x{scale}")
        lr = degrade(hr.unsqueeze(0), scale)[0]
        images.append(EvalImage(name, _to_uint8(hr), _to_uint8(lr)))
    return tuple(images)
