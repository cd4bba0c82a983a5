"""Reading and writing image files robustly.

Every failure to read becomes a one-line ``DataError`` naming the file, so a corrupt or
truncated image never ends a program with a traceback.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from srdistill.errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Largest image (width x height) srdistill decodes; Pillow's own default limit. A header
# can claim any size, so it is checked before the pixels are decoded.
DEFAULT_MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)
_max_pixels = DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int | None) -> None:
    """Change the decode limit (None: back to the default). Set by --max-pixels."""
    global _max_pixels
    if limit is not None and limit < 1:
        raise DataError(f"the pixel limit must be a positive number, got {limit}")
    _max_pixels = DEFAULT_MAX_PIXELS if limit is None else int(limit)


def open_image(path: Path) -> Image.Image:
    """``Image.open`` with srdistill's pixel limit instead of Pillow's bomb check."""
    from srdistill.safe_load import require_regular_file

    require_regular_file(path, "image", DataError)
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # our check below replaces Pillow's (which may be lower)
    try:
        im = Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = old
    w, h = im.size
    if w * h > _max_pixels:
        im.close()
        raise DataError(
            f"image {path} is {w}x{h} ({w * h:,} pixels), over the limit of {_max_pixels:,}; "
            "if you trust the file, raise the limit with --max-pixels"
        )
    return im


@dataclass(frozen=True)
class ImageInfo:
    """What to restore when writing a result in the input's own format."""

    mode: str  # "RGB", "L" (grayscale) or "RGBA"
    bit_depth: int  # 8 or 16
    # The colour profile the values are in (a wide-gamut photo's, say): written back into
    # the result, so it displays as the input does. Pixels are not converted, except from
    # a profile of another colour space than the output's (a CMYK photo's): to sRGB.
    icc_profile: bytes | None = None
    # A PNG's own colour chunks (gAMA, cHRM, sRGB), raw: written back into a PNG result,
    # since a viewer decodes the values through them (gAMA 1.0 is a linear image).
    png_colour: tuple[tuple[bytes, bytes], ...] = ()


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder} (check the path or dataset name)")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as f:
        head = f.read(26)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 25:
        return head[24]
    return 8


PNG_COLOUR_CHUNKS = (b"gAMA", b"cHRM", b"sRGB")


def _png_colour_chunks(path: Path) -> tuple[tuple[bytes, bytes], ...]:
    """The gAMA/cHRM/sRGB chunks before a PNG's image data, as (type, payload)."""
    found = []
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return ()
        while head := f.read(8):
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind in (b"IDAT", b"IEND") or length > 1 << 20:
                break
            payload = f.read(length)
            f.read(4)  # CRC: Pillow has checked the file already
            if kind in PNG_COLOUR_CHUNKS:
                found.append((kind, payload))
    return tuple(found)


# An ICC profile's data colour space (header bytes 16-20) for each output mode, and the
# other spaces a profile may declare (ICC.1 table 19).
_PROFILE_SPACE = {"RGB": b"RGB ", "RGBA": b"RGB ", "L": b"GRAY"}
_OTHER_SPACES = {b"XYZ ", b"Lab ", b"Luv ", b"YCbr", b"Yxy ", b"HSV ", b"HLS ", b"CMYK", b"CMY "}


def _fit_profile(im: Image.Image, icc: bytes | None, out_mode: str, path: Path):  # noqa: ANN202
    """(image, profile) such that the profile describes the output's colour space: a
    profile of another space (CMYK, Lab) is applied now, converting to sRGB, and dropped."""
    space = icc[16:20] if icc else b""
    if space == _PROFILE_SPACE.get(out_mode) or (
        space not in _OTHER_SPACES and space not in _PROFILE_SPACE.values()
    ):
        return im, icc  # fits, or a header this code cannot read: kept as it was
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        target = "RGBA" if out_mode == "RGBA" else "RGB"
        im = ImageCms.profileToProfile(im, source, srgb, outputMode=target)
    except Exception as exc:  # noqa: BLE001 - a profile lcms cannot apply: values as stored
        log.warning(
            "%s: its %s colour profile cannot be applied (%s); read without it",
            path,
            icc[16:20].decode("latin-1", "replace").strip(),
            exc,
        )
    return im, None


def keeps_only_as_png(path: str | Path) -> bool:
    """Whether an image has alpha or 16-bit samples, which only PNG keeps: read from the
    header alone, so output names can be checked before anything is decoded or written.
    An unreadable file answers False (reading it later gives the one-line error)."""
    path = Path(path)
    try:
        with open_image(path) as im:
            mode, info = im.mode, dict(im.info)
    except (DataError, OSError, SyntaxError, ValueError):
        return False
    if mode in ("I;16", "I;16B", "I;16L", "I") or "A" in mode:
        return True
    if mode == "P" and "transparency" in info:
        return True
    return path.suffix.lower() == ".png" and _png_bit_depth(path) == 16


def displayed(im: Image.Image, path: Path) -> Image.Image:
    """The image as viewers show it: its EXIF orientation applied (a phone photo stored
    sideways is upright here and in every output, which then carries no orientation tag).
    A file with several frames (animated GIF/PNG/WebP, multi-page TIFF) is refused: one
    frame would be scored or upscaled and the others silently lost."""
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        raise DataError(
            f"image {path} holds {frames} frames (an animation or multi-page file); srdistill "
            "reads single images: save the frames as separate files"
        )
    im.load()
    upright = ImageOps.exif_transpose(im)
    return upright if upright is not None else im


def read_image_array(path: str | Path) -> tuple[np.ndarray, ImageInfo]:
    """Decode ``path`` to an HWC float32 array in [0, 1] with 1, 3 or 4 channels.

    16-bit grayscale is read exactly; 16-bit RGB PNGs are read by Pillow at 8-bit
    precision (a Pillow limitation) but remembered as 16-bit for writing.
    """
    path = Path(path)
    try:
        with open_image(path) as im:
            im = displayed(im, path)
            icc = im.info.get("icc_profile") or None
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float32)
                scale = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
                colour = _png_colour_chunks(path) if path.suffix.lower() == ".png" else ()
                depth = 16 if scale > 255 else 8
                return (arr / scale)[..., None], ImageInfo("L", depth, icc, colour)
            has_alpha = "A" in mode or (mode == "P" and "transparency" in im.info)
            if has_alpha:
                out_mode = "RGBA"
            elif mode in ("1", "L"):
                out_mode = "L"
            else:
                out_mode = "RGB"
            im, icc = _fit_profile(im, icc, out_mode, path)
            im = im.convert(out_mode)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"cannot read image {path}: {exc} (the file is corrupt, truncated or not an image;"
            " replace or remove it)"
        ) from None
    if arr.ndim == 2:
        arr = arr[..., None]
    is_png = path.suffix.lower() == ".png"
    depth = 16 if is_png and _png_bit_depth(path) == 16 else 8
    colour = _png_colour_chunks(path) if is_png else ()
    return arr, ImageInfo(out_mode, depth, icc, colour)


def read_rgb_uint8(path: str | Path) -> np.ndarray:
    """Decode ``path`` to an HWC uint8 RGB array (grayscale replicated, alpha dropped)."""
    try:  # fast path for 8-bit images: no float round trip
        with open_image(Path(path)) as im:
            if im.mode in ("RGB", "L", "P", "RGBA", "LA", "1"):
                return np.asarray(displayed(im, Path(path)).convert("RGB"), dtype=np.uint8).copy()
    except (OSError, SyntaxError, ValueError):
        pass  # read_image_array below reports the problem with the file's name
    arr, _ = read_image_array(path)
    rgb = np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr[..., :3]
    return np.round(rgb * 255).astype(np.uint8)


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """HWC array (uint8 or float in [0, 1]) to a CHW float32 tensor in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(arr))
    t = t.float() / 255.0 if arr.dtype == np.uint8 else t.float()
    return t.permute(2, 0, 1).contiguous()


def read_image(path: str | Path) -> tuple[torch.Tensor, ImageInfo]:
    """Decode ``path`` to a CHW float tensor in [0, 1] (1, 3 or 4 channels) and its info."""
    arr, info = read_image_array(path)
    return to_tensor(arr), info


def _encode_png16(
    arr: np.ndarray, icc: bytes | None = None, colour: tuple[tuple[bytes, bytes], ...] = ()
) -> bytes:
    """Minimal PNG encoder for 16-bit grey/RGB/RGBA (Pillow cannot write 16-bit colour),
    with the colour profile and colour chunks before the image data, as the format asks."""
    h, w, c = arr.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    data = arr.astype(">u2").reshape(h, w * c)
    raw = b"".join(b"\x00" + row.tobytes() for row in data)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    profile = chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc)) if icc else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + b"".join(chunk(kind, payload) for kind, payload in colour)
        + profile
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the result the usual permissions (umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_image(
    path: str | Path, img: torch.Tensor, info: ImageInfo | None = None, quality: int = 95
) -> None:
    """Save a CHW float tensor in [0, 1]; ``info`` restores grayscale/alpha/16-bit output.

    The file appears atomically: an interrupted save never leaves a half-written image.
    """
    path = Path(path)
    info = info or ImageInfo("RGB" if img.shape[0] >= 3 else "L", 8)
    arr = img.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    if info.mode == "L" and arr.shape[-1] >= 3:
        # ITU-R 601 luma, as PIL's convert("L") does.
        arr = (arr[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    elif info.mode == "RGB" and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    suffix = path.suffix.lower()
    if info.bit_depth == 16 and suffix == ".png":
        payload = _encode_png16(
            np.round(arr * 65535).astype(np.uint16), info.icc_profile, info.png_colour
        )
        atomic_write_bytes(path, payload)
        return
    u8 = np.round(arr * 255).astype(np.uint8)
    im = Image.fromarray(u8[..., 0] if u8.shape[-1] == 1 else u8)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
    if suffix in (".jpg", ".jpeg") and im.mode == "RGBA":
        im = im.convert("RGB")
    buf = io.BytesIO()
    options: dict = {"quality": quality} if suffix in (".jpg", ".jpeg") else {}
    if info.icc_profile and suffix != ".bmp":  # BMP cannot hold a profile
        options["icc_profile"] = info.icc_profile
    if info.png_colour and fmt.get(suffix, "PNG") == "PNG":
        from PIL.PngImagePlugin import PngInfo

        options["pnginfo"] = PngInfo()
        for kind, payload in info.png_colour:
            options["pnginfo"].add(kind, payload)
    im.save(buf, format=fmt.get(suffix, "PNG"), **options)
    atomic_write_bytes(path, buf.getvalue())
