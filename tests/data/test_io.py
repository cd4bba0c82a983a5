import numpy as np
import pytest
import torch
from PIL import Image

from srdistill.data.io import ImageInfo, list_images, read_image, read_rgb_uint8, write_image
from srdistill.errors import DataError


def test_rgb_png_round_trip(tmp_path):
    arr = (np.random.default_rng(0).random((9, 11, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    img, info = read_image(tmp_path / "a.png")
    assert info == ImageInfo("RGB", 8) and img.shape == (3, 9, 11)
    write_image(tmp_path / "b.png", img, info)
    assert (np.asarray(Image.open(tmp_path / "b.png")) == arr).all()


def test_grayscale_is_kept_and_replicated_for_training(tmp_path):
    arr = (np.arange(64, dtype=np.uint8) * 3).reshape(8, 8)
    Image.fromarray(arr, "L").save(tmp_path / "g.png")
    img, info = read_image(tmp_path / "g.png")
    assert info.mode == "L" and img.shape == (1, 8, 8)
    rgb = read_rgb_uint8(tmp_path / "g.png")
    assert rgb.shape == (8, 8, 3) and (rgb[..., 1] == arr).all()
    write_image(tmp_path / "g2.png", img.expand(3, -1, -1), info)
    assert Image.open(tmp_path / "g2.png").mode == "L"
    assert (np.asarray(Image.open(tmp_path / "g2.png")) == arr).all()


def test_rgba_keeps_alpha(tmp_path):
    arr = np.zeros((6, 5, 4), dtype=np.uint8)
    arr[..., 3] = np.arange(5, dtype=np.uint8) * 50
    Image.fromarray(arr, "RGBA").save(tmp_path / "t.png")
    img, info = read_image(tmp_path / "t.png")
    assert info.mode == "RGBA" and img.shape[0] == 4
    write_image(tmp_path / "t2.png", img, info)
    back = np.asarray(Image.open(tmp_path / "t2.png"))
    assert back.shape == (6, 5, 4) and (back[..., 3] == arr[..., 3]).all()


def test_16bit_grayscale_exact_and_16bit_rgb_written(tmp_path):
    arr = (np.arange(48, dtype=np.uint16) * 1365).reshape(6, 8)
    Image.fromarray(arr).save(tmp_path / "d.png")
    img, info = read_image(tmp_path / "d.png")
    assert info == ImageInfo("L", 16)
    assert torch.allclose(img[0] * 65535, torch.from_numpy(arr.astype(np.float32)), atol=0.01)
    write_image(tmp_path / "rgb16.png", torch.rand(3, 4, 5), ImageInfo("RGB", 16))
    raw = (tmp_path / "rgb16.png").read_bytes()
    assert raw[24] == 16 and raw[25] == 2  # IHDR: bit depth 16, colour type RGB
    assert Image.open(tmp_path / "rgb16.png").size == (5, 4)


@pytest.mark.parametrize("content", [b"", b"not an image at all", None])
def test_corrupt_or_truncated_image_is_one_clear_error(tmp_path, content):
    path = tmp_path / "bad.png"
    if content is None:  # a real PNG cut in half
        Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(path)
        path.write_bytes(path.read_bytes()[:60])
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match="bad.png") as err:
        read_image(path)
    assert "\n" not in str(err.value)


def test_missing_image_and_folder(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(DataError, match="not found"):
        list_images(tmp_path / "nowhere")


def test_written_files_get_normal_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_image(tmp_path / "p.png", torch.rand(3, 4, 4))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.png").stat().st_mode) == 0o644


def png_claiming(path, width, height):
    """A real 1x1 PNG whose header is rewritten to claim ``width`` x ``height`` pixels."""
    import struct
    import zlib

    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 4  # signature, chunk length
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 4 + 13])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


def test_oversized_image_is_one_line_before_decoding(tmp_path):
    from srdistill.data.io import set_max_pixels

    bomb = png_claiming(tmp_path / "bomb.png", 60000, 60000)
    for read in (read_image, read_rgb_uint8):
        with pytest.raises(DataError, match="60000x60000 .*--max-pixels") as info:
            read(bomb)
        assert "\n" not in str(info.value)
    small = tmp_path / "s.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(small)
    try:
        set_max_pixels(100)
        with pytest.raises(DataError, match="over the limit of 100"):
            read_image(small)
    finally:
        set_max_pixels(None)
    assert read_image(small)[0].shape == (3, 20, 20)


def test_upscale_refuses_an_oversized_image_in_one_line(tmp_path):
    import subprocess
    import sys

    from srdistill.engine.checkpoint import save_module
    from srdistill.models import SRResNet

    save_module(SRResNet(2, 1, 4), tmp_path / "m.safetensors")
    bomb = png_claiming(tmp_path / "bomb.png", 60000, 60000)
    cmd = [sys.executable, "-m", "srdistill", "upscale", str(tmp_path / "m.safetensors")]
    done = subprocess.run(
        [*cmd, str(bomb), "-o", str(tmp_path / "out")], capture_output=True, text=True
    )
    assert done.returncode == 1  # upscale reports each failed file and exits 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--max-pixels" in lines[0] and "Traceback" not in done.stderr


def test_exif_orientation_is_applied_and_a_colour_profile_kept(tmp_path):
    # A phone photo stored sideways: a 6 x 4 array with Orientation 6 (rotate 90 degrees
    # clockwise to display) is shown 4 wide and 6 high, with the first stored row on the right.
    stored = np.zeros((4, 6, 3), np.uint8)
    stored[0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    profile = b"\0" * 128 + b"fake-but-kept"
    Image.fromarray(stored).save(tmp_path / "phone.png", exif=exif, icc_profile=profile)
    img, info = read_image(tmp_path / "phone.png")
    assert img.shape == (3, 6, 4) and bool((img[:, :, -1] == 1).all())
    assert bool((read_rgb_uint8(tmp_path / "phone.png")[:, -1] == 255).all())
    assert info.icc_profile == profile
    write_image(tmp_path / "out.png", img, info)
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (4, 6) and out.info.get("icc_profile") == profile
        assert out.getexif().get(0x0112) is None  # upright pixels, no tag to rotate them again


def test_an_image_file_with_several_frames_is_refused(tmp_path):
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (0, 255)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(DataError, match="holds 2 frames"):
        read_image(tmp_path / "anim.gif")


def _png_with_chunks(path, arr, chunks):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for kind, payload in chunks:
        info.add(kind, payload)
    Image.fromarray(arr).save(path, pnginfo=info)


@pytest.mark.parametrize("depth", [8, 16])
def test_png_gamma_and_chromaticity_are_written_back(tmp_path, depth):
    """gAMA 1.0 (a linear image) and cHRM change how a viewer decodes the values: the
    result keeps them, 8-bit and 16-bit alike, with its colour profile."""
    import struct

    from PIL import ImageCms

    chrm = struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
    chunks = [(b"gAMA", struct.pack(">I", 100000)), (b"cHRM", chrm)]
    arr = (np.random.default_rng(0).random((6, 5, 3)) * 255).astype(np.uint8)
    _png_with_chunks(tmp_path / "linear.png", arr, chunks)
    img, info = read_image(tmp_path / "linear.png")
    assert info.png_colour == tuple(chunks)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out_info = ImageInfo(info.mode, depth, srgb, info.png_colour)
    write_image(tmp_path / "out.png", img, out_info)
    with Image.open(tmp_path / "out.png") as out:
        assert out.info["gamma"] == 1.0
        assert out.info["chromaticity"][0] == pytest.approx(0.3127)
        assert out.info.get("icc_profile") == srgb
    assert read_image(tmp_path / "out.png")[1].bit_depth == depth


def test_a_cmyk_photo_is_read_as_rgb_without_its_cmyk_profile(tmp_path):
    """A CMYK profile attached to the RGB result would make viewers misread it: the
    profile is applied (to sRGB) where lcms can, else dropped with a warning."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[16:20] = b"CMYK"  # a header that says CMYK (lcms cannot build this transform)
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "print.jpg", icc_profile=profile)
    img, info = read_image(tmp_path / "print.jpg")
    assert info.mode == "RGB" and info.icc_profile is None
    assert img[:, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.0], abs=2 / 255)  # pure red
