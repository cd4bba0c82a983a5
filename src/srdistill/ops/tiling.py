"""Tiled inference: super-resolve an image in overlapping LR tiles and stitch them.

Each tile is run with ``overlap`` extra LR pixels of context on every side; only its
central part is kept. With an overlap at least the network's receptive-field radius the
result equals the untiled output up to float rounding (BatchNorm in eval mode is
per-pixel, so tiles do not interact otherwise).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def tiled_forward(
    fn: Callable[[torch.Tensor], torch.Tensor],
    lr: torch.Tensor,
    scale: int,
    tile: int,
    overlap: int = 16,
) -> torch.Tensor:
    """Apply ``fn`` (NCHW LR -> NCHW SR) to ``lr`` (NCHW) tile by tile."""
    if tile <= 0:
        raise ValueError("tile must be positive")
    n, _, h, w = lr.shape
    out: torch.Tensor | None = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0 = max(y0 - overlap, 0), max(x0 - overlap, 0)
            py1, px1 = min(y1 + overlap, h), min(x1 + overlap, w)
            sr = fn(lr[:, :, py0:py1, px0:px1])
            if out is None:
                out = sr.new_zeros(n, sr.shape[1], h * scale, w * scale)
            cy, cx = (y0 - py0) * scale, (x0 - px0) * scale
            out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = sr[
                :, :, cy : cy + (y1 - y0) * scale, cx : cx + (x1 - x0) * scale
            ]
    assert out is not None
    return out
