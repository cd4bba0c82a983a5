"""T91 and BSD200 from archives in their authors' layouts (SRCNN's training package and the
BSDS300 images archive), small stand-ins built here: no download happens in tests."""

import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from srdistill.cli import main
from srdistill.data import catalog


def _image_bytes(seed: int, fmt: str, size: int = 100) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size, dtype=np.float32)
    arr = (base[None, :, None] * 0.5 + rng.uniform(0, 120, (size, size, 3))).clip(0, 255)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def srcnn_train_zip(path, count: int = 91):
    """SRCNN_train.zip's layout: the 91 images as BMP under Train/, beside code."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("SRCNN/generate_train.m", "% the authors' MATLAB script\n")
        for i in range(count):
            z.writestr(f"SRCNN/Train/t{i + 1}.bmp", _image_bytes(i, "BMP"))
        z.writestr("SRCNN/Test/Set5/baby_GT.bmp", _image_bytes(500, "BMP"))
    return path


def bsds300_tgz(path, train: int = 200, test: int = 3):
    """BSDS300-images.tgz's layout: BSDS300/images/{train,test}/*.jpg and the id lists."""
    with tarfile.open(path, "w:gz") as t:

        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))

        ids = [str(100000 + i) for i in range(train)]
        add("BSDS300/iids_train.txt", "\n".join(ids).encode())
        for i, iid in enumerate(ids):
            add(f"BSDS300/images/train/{iid}.jpg", _image_bytes(1000 + i, "JPEG"))
        for i in range(test):
            add(f"BSDS300/images/test/{200000 + i}.jpg", _image_bytes(3000 + i, "JPEG"))
    return path


def test_catalog_names_the_authors_archives_with_checksums():
    t91, bsd = catalog.lookup("T91"), catalog.lookup("BSD200")
    assert t91.sources[0].url.endswith("SRCNN_train.zip") and len(t91.sources[0].digest) == 64
    assert (
        bsd.sources[0].url.endswith("BSDS300-images.tgz") and bsd.sources[0].hash_name == "sha256"
    )
    assert bsd.complete_with(200) and bsd.complete_with(199) and not bsd.complete_with(150)


def test_download_from_files_in_the_authors_layouts_installs_both(tmp_path, capsys):
    root = tmp_path / "data"
    t91 = srcnn_train_zip(tmp_path / "t91.zip")
    bsd = bsds300_tgz(tmp_path / "bsds.tgz")
    assert main(["data", "download", "T91", "--from", str(t91), "--root", str(root)]) == 0
    assert main(["data", "download", "BSD200", "--from", str(bsd), "--root", str(root)]) == 0
    t91_dir, bsd_dir = root / "train" / "T91", root / "train" / "BSD200"
    assert len(list(t91_dir.glob("*.bmp"))) == 91  # Train/ only: not the Test/ image
    assert len(list(bsd_dir.glob("*.jpg"))) == 200  # images/train only: not the test split
    # Installed again without --force: refused in one line, the dataset kept.
    capsys.readouterr()
    assert main(["data", "download", "BSD200", "--from", str(bsd), "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already complete" in err[0] and "--force" in err[0]
    assert len(list(bsd_dir.glob("*.jpg"))) == 200


def test_an_archive_with_the_wrong_count_is_refused_and_nothing_installed(tmp_path, capsys):
    root = tmp_path / "data"
    short = bsds300_tgz(tmp_path / "short.tgz", train=150)
    assert main(["data", "download", "BSD200", "--from", str(short), "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "holds 150 images but BSD200 has 200" in err
    assert not (root / "train" / "BSD200").exists()


def test_the_official_archive_name_is_checked_against_its_checksum(tmp_path):
    forged = bsds300_tgz(tmp_path / "BSDS300-images.tgz")  # the official name, other bytes
    with pytest.raises(catalog.DataError, match="checksum mismatch"):
        catalog.import_dataset("BSD200", forged, tmp_path / "data")
    assert not (tmp_path / "data" / "train" / "BSD200").exists()


@pytest.mark.slow
def test_quick_preset_trains_on_the_imported_sets(tmp_path, monkeypatch):
    root = tmp_path / "data"
    assert main(["data", "download", "T91", "--from", str(srcnn_train_zip(tmp_path / "a.zip")),
                 "--root", str(root)]) == 0  # fmt: skip
    assert main(["data", "download", "BSD200", "--from", str(bsds300_tgz(tmp_path / "b.tgz")),
                 "--root", str(root)]) == 0  # fmt: skip
    monkeypatch.setenv("SRDISTILL_DATA", str(root))  # only the imported sets exist
    monkeypatch.chdir(tmp_path)
    args = ["train", "self_distill/srresnet8_alone", "--preset", "quick"]
    quick = ["train.steps=2", "train.val_every=2", "train.ckpt_every=2", "train.progress=false"]
    assert main(args + [x for o in [*quick, "output_dir=runs"] for x in ("-o", o)]) == 0
    assert (tmp_path / "runs").is_dir()
