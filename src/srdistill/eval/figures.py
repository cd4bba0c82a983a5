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


_PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]


def line_plot(
    series: dict[str, Sequence[tuple[float, float]]],
    path: Path,
    title: str,
    x_label: str,
    y_label: str,
    size: tuple[int, int] = (900, 560),
) -> Path:
    """A plain line chart (one coloured line per series, legend at the right) as a PNG.

    Drawn with Pillow so no plotting library is needed.
    """
    width, height = size
    left, right, top, bottom = 70, 200, 30, 45
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    pad = 0.05 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    plot_w, plot_h = width - left - right, height - top - bottom

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * plot_w,
            top + (1 - (y - y0) / (y1 - y0)) * plot_h,
        )

    draw.rectangle([left, top, left + plot_w, top + plot_h], outline="black")
    for i in range(6):  # ticks and grid
        fx, fy = x0 + (x1 - x0) * i / 5, y0 + (y1 - y0) * i / 5
        px, _ = to_px(fx, y0)
        _, py = to_px(x0, fy)
        draw.line([px, top, px, top + plot_h], fill=(230, 230, 230))
        draw.line([left, py, left + plot_w, py], fill=(230, 230, 230))
        draw.text((px - 15, top + plot_h + 5), f"{fx:.0f}", fill="black")
        draw.text((5, py - 6), f"{fy:.2f}", fill="black")
    for i, (name, pts) in enumerate(series.items()):
        colour = _PALETTE[i % len(_PALETTE)]
        coords = [to_px(x, y) for x, y in sorted(pts)]
        if len(coords) > 1:
            draw.line(coords, fill=colour, width=2)
        for cx, cy in coords:
            draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=colour)
        ly = top + 10 + 18 * i
        draw.line([width - right + 10, ly + 6, width - right + 35, ly + 6], fill=colour, width=3)
        draw.text((width - right + 40, ly), name, fill="black")
    draw.text((left, 8), title, fill="black")
    draw.text((left + plot_w // 2 - 10, height - 18), x_label, fill="black")
    draw.text((5, top - 18), y_label, fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path


def scatter_panels(
    panels: Sequence[tuple[str, Sequence[tuple[str, float, float, float]]]],
    path: Path,
    x_label: str,
    y_label: str,
    panel_size: tuple[int, int] = (620, 520),
) -> Path:
    """Side-by-side scatter plots sharing one y range, as a PNG (Pillow only).

    Each panel is (title, points); a point is (label, x, y, y_spread), drawn as a dot with
    a vertical bar of +- y_spread (nan: no bar) and its label beside it.
    """
    pw, ph = panel_size
    left, right, top, bottom = 70, 30, 40, 45
    ys = [y + sp * k for _, pts in panels for _, _, y, sp in pts for k in (-1, 1) if sp == sp]
    ys += [y for _, pts in panels for _, _, y, _ in pts]
    y0, y1 = min(ys), max(ys)
    pad = 0.08 * ((y1 - y0) or 1.0)
    y0, y1 = y0 - pad, y1 + pad
    plot_w, plot_h = pw - left - right, ph - top - bottom
    img = Image.new("RGB", (pw * len(panels), ph), "white")
    draw = ImageDraw.Draw(img)
    for p, (title, pts) in enumerate(panels):
        ox = p * pw
        xs = [x for _, x, _, _ in pts] or [0.0, 1.0]
        x0, x1 = 0.0, max(xs) * 1.1 or 1.0

        def to_px(x: float, y: float, ox: int = ox, x1: float = x1) -> tuple[float, float]:
            return (ox + left + x / x1 * plot_w, top + (1 - (y - y0) / (y1 - y0)) * plot_h)

        draw.rectangle([ox + left, top, ox + left + plot_w, top + plot_h], outline="black")
        for i in range(6):
            fx, fy = x0 + (x1 - x0) * i / 5, y0 + (y1 - y0) * i / 5
            px, _ = to_px(fx, y0)
            _, py = to_px(x0, fy)
            draw.line([px, top, px, top + plot_h], fill=(230, 230, 230))
            draw.line([ox + left, py, ox + left + plot_w, py], fill=(230, 230, 230))
            draw.text((px - 12, top + plot_h + 5), f"{fx:.0f}", fill="black")
            draw.text((ox + 5, py - 6), f"{fy:.2f}", fill="black")
        placed: list[tuple[float, float, float]] = []  # label boxes: x0, x1, y
        for i, (label, x, y, spread) in enumerate(pts):
            colour = _PALETTE[i % len(_PALETTE)]
            cx, cy = to_px(x, y)
            ly, lx1 = cy - 6, cx + 7 + 6 * len(label)
            while any(a < lx1 and cx + 7 < b and abs(ly - py) < 12 for a, b, py in placed):
                ly += 12  # move a label down until it clears the ones already drawn
            placed.append((cx + 7, lx1, ly))
            if spread == spread:  # not nan
                _, ya = to_px(x, y - spread)
                _, yb = to_px(x, y + spread)
                draw.line([cx, ya, cx, yb], fill=colour, width=2)
            draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=colour)
            if abs(ly - (cy - 6)) > 1:  # moved to clear another label: point at its dot
                draw.line([cx + 4, cy, cx + 7, ly + 6], fill=colour, width=1)
            draw.text((cx + 7, ly), label, fill=colour)
        draw.text((ox + left, 8), title, fill="black")
        draw.text((ox + left + plot_w // 2 - 40, ph - 18), x_label, fill="black")
        draw.text((ox + 5, top - 18), y_label, fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path
