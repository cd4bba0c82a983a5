"""Super-resolve real image files, keeping grayscale, alpha and 16-bit where they apply."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from srdistill.data.io import read_image, write_image
from srdistill.ops.imresize import imresize
from srdistill.ops.tiling import tiled_forward

log = logging.getLogger(__name__)
# Bytes of activations one forward pass may hold at once before the image is tiled.
DEFAULT_MEMORY_BUDGET = 2 * 1024**3


def activation_bytes(network: torch.nn.Module, height: int, width: int, scale: int) -> int:
    """A conservative estimate of one forward pass's peak activation memory for an LR
    image of ``height`` x ``width``: two float32 maps of the network's widest convolution
    at the output resolution (the widest layer runs at most there)."""
    widest = max(
        (m.out_channels for m in network.modules() if isinstance(m, torch.nn.Conv2d)),
        default=64,
    )
    return 2 * 4 * widest * height * width * scale * scale


def tile_for_budget(
    network: torch.nn.Module, height: int, width: int, scale: int, budget: int, overlap: int
) -> int | None:
    """None when the whole image fits ``budget``; otherwise the LR tile size whose padded
    tiles (tile + 2 overlap on a side) fit it."""
    if activation_bytes(network, height, width, scale) <= budget:
        return None
    per_lr_pixel = activation_bytes(network, 1, 1, scale)
    side = math.isqrt(max(budget // per_lr_pixel, 1)) - 2 * overlap
    return max(side, 16)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_output_fits(height: int, width: int, scale: int, channels: int = 3) -> None:
    """Tiles bound the activations, not the output: the whole SR image is held as float32
    (three copies at most while it is clamped, converted and written). Refuse, before any
    work, an output that would not fit in the memory this machine has available."""
    from srdistill.errors import DataError

    out_h, out_w = height * scale, width * scale
    need = 3 * 4 * max(channels, 3) * out_h * out_w
    free = available_memory()
    if free is not None and need > free:
        raise DataError(
            f"the x{scale} output of a {width}x{height} image is {out_w}x{out_h} and needs "
            f"about {need / 1024**3:.1f} GB, more than the {free / 1024**3:.1f} GB available "
            "here; upscale it in parts (crop it) or on a machine with more memory"
        )


@torch.no_grad()
def upscale_tensor(
    network: torch.nn.Module,
    img: torch.Tensor,
    scale: int,
    *,
    device: torch.device | str = "cpu",
    tile: int | None = None,
    tile_overlap: int = 16,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> torch.Tensor:
    """CHW image with 1, 3 or 4 channels in [0, 1] -> SR image with the same channels.

    Grey images go through the network as RGB and come back grey; alpha is upscaled
    with MATLAB bicubic (it is not image content the network was trained on). Without
    ``tile``, an image whose forward pass would exceed ``memory_budget`` bytes of
    activations is tiled automatically: slower, never fatal.
    """
    channels = img.shape[0]
    check_output_fits(img.shape[-2], img.shape[-1], scale, channels)
    rgb = img[:3] if channels >= 3 else img.expand(3, -1, -1)
    lr = rgb[None].to(device)
    if not tile:
        h, w = lr.shape[-2:]
        tile = tile_for_budget(network, h, w, scale, memory_budget, tile_overlap)
        if tile:
            need = activation_bytes(network, h, w, scale) / 1024**3
            log.info(
                "%dx%d needs about %.1f GB at once, over the %.1f GB budget: tiling with "
                "%d px tiles (--tile or --memory-budget to change)",
                w,
                h,
                need,
                memory_budget / 1024**3,
                tile,
            )
    if tile:
        sr = tiled_forward(network, lr, scale, tile, tile_overlap)
    else:
        sr = network(lr)
    sr = sr.float().clamp(0, 1)[0].cpu()
    if channels == 1:
        return sr
    if channels == 4:
        alpha = imresize(img[3:4], float(scale)).clamp(0, 1)
        return torch.cat([sr, alpha], dim=0)
    return sr


def output_name(path: Path, scale: int) -> str:
    """``photo.jpg`` -> ``photo_x4.jpg``; an input with alpha or 16-bit samples (found from
    its header) -> ``photo_x4.png``, the one format that keeps them: the name checked before
    writing is the name written."""
    from srdistill.data.io import keeps_only_as_png

    suffix = path.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg", ".bmp") or keeps_only_as_png(path):
        suffix = ".png"
    return f"{path.stem}_x{scale}{suffix}"


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Image files from the arguments: a folder stands for the images in it (sorted, not
    recursive); a folder with none is a one-line error."""
    from srdistill.data.io import list_images
    from srdistill.errors import DataError

    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = list_images(path)
            if not found:
                raise DataError(f"{path} is a folder with no images (png, jpg, bmp, tif, webp)")
            out += found
        else:
            out.append(path)
    return out


def output_paths(
    images: list[Path], out_dir: Path, scale: int, overwrite: bool = False
) -> dict[Path, Path]:
    """Input -> output path for every image, checked before anything is written: two inputs
    that would write the same file, or an existing file without ``overwrite``, are errors."""
    from srdistill.outputs import OutputError

    targets: dict[Path, Path] = {}
    owners: dict[Path, Path] = {}
    inputs = {Path(i).resolve() for i in images}
    for image in images:
        target = out_dir / output_name(image, scale)
        if target.resolve() in inputs:
            raise OutputError(
                f"{target} is both an input and the output of {image}; it would be replaced "
                "before it is read: upscale into another folder (-o)"
            )
        if target in owners:
            raise OutputError(
                f"{owners[target]} and {image} would both be written to {target}; "
                "upscale them into different folders (-o)"
            )
        if target.exists() and not overwrite:
            raise OutputError(f"{target} already exists; pass --overwrite to replace it")
        owners[target] = image
        targets[image] = target
    return targets


def upscale_file(
    network: torch.nn.Module,
    path: Path,
    out_dir: Path,
    scale: int,
    *,
    device: torch.device | str = "cpu",
    tile: int | None = None,
    tile_overlap: int = 16,
    out: Path | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> Path:
    img, info = read_image(path)
    sr = upscale_tensor(
        network,
        img,
        scale,
        device=device,
        tile=tile,
        tile_overlap=tile_overlap,
        memory_budget=memory_budget,
    )
    out = out or out_dir / output_name(path, scale)
    if (info.bit_depth == 16 or info.mode == "RGBA") and out.suffix != ".png":
        out = out.with_suffix(".png")  # only PNG keeps 16-bit samples and alpha
    write_image(out, sr, info)
    return out
