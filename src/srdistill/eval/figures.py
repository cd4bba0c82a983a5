"""Side-by-side crop figures (HR, bicubic, each method), like the papers' figures."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from srdistill.data.io import atomic_write_bytes


def pick_crop(hr: torch.Tensor, size: int) -> tuple[int, int]:
    """Top-left of the most textured ``size`` crop (highest local variance), so the figure
    shows where methods differ rather than a flat sky."""
    grey = hr.mean(0)
    h, w = grey.shape
    size = min(size, h, w)
    best, best_pos = -1.0, (0, 0)
    step = max(size // 4, 1)
    for y in range(0, h - size + 1, step):
        for x in range(0, w - size + 1, step):
            v = grey[y : y + size, x : x + size].var().item()
            if v > best:
                best, best_pos = v, (y, x)
    return best_pos


def side_by_side(
    panels: Sequence[tuple[str, torch.Tensor]],
    path: Path,
    *,
    crop: int = 96,
    zoom: int = 3,
    position: tuple[int, int] | None = None,
) -> Path:
    """Save a row of labelled, nearest-neighbour-zoomed crops of same-size CHW images."""
    ref = panels[0][1]
    y, x = position if position is not None else pick_crop(ref, crop)
    crop = min(crop, ref.shape[-2], ref.shape[-1])
    label_h, pad = 18, 4
    tiles = []
    for label, img in panels:
        patch = img[:3, y : y + crop, x : x + crop].clamp(0, 1)
        arr = (patch.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        tile = Image.fromarray(arr).resize((crop * zoom, crop * zoom), Image.NEAREST)
        canvas = Image.new("RGB", (tile.width, tile.height + label_h), "white")
        canvas.paste(tile, (0, label_h))
        ImageDraw.Draw(canvas).text((3, 3), label, fill="black")
        tiles.append(canvas)
    width = sum(t.width for t in tiles) + pad * (len(tiles) - 1)
    figure = Image.new("RGB", (width, tiles[0].height), "white")
    offset = 0
    for t in tiles:
        figure.paste(t, (offset, 0))
        offset += t.width + pad

    buf = io.BytesIO()
    figure.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path
