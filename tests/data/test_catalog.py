import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from srdistill.data import catalog
from srdistill.errors import DataError


def png_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(seed).random((8, 8, 3)) * 255).astype(np.uint8)).save(
        buf, format="PNG"
    )
    return buf.getvalue()


@pytest.fixture
def fake_set5(tmp_path, monkeypatch):
    """A local stand-in for EDSR's benchmark.tar, registered as the Set5 source."""
    archive = tmp_path / "benchmark.tar"
    with tarfile.open(archive, "w") as tf:
        for i in range(5):
            data = png_bytes(i)
            info = tarfile.TarInfo(f"benchmark/Set5/HR/img{i}.png")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    digest = hashlib.md5(archive.read_bytes()).hexdigest()
    entry = catalog.CATALOG["set5"]
    source = catalog.Source(archive.as_uri(), "md5", digest, "benchmark/Set5/HR")
    monkeypatch.setitem(
        catalog.CATALOG,
        "set5",
        catalog.DatasetEntry(
            entry.name, entry.folder, entry.count, entry.role, entry.description, (source,)
        ),
    )
    root = tmp_path / "root"
    monkeypatch.setenv("SRDISTILL_DATA", str(root))
    return archive, root


def test_download_from_file_url_verifies_and_installs(fake_set5):
    archive, root = fake_set5
    seen = []
    folder = catalog.download("Set5", progress=lambda done, total: seen.append(done))
    assert folder == root / "benchmark" / "Set5"
    assert sorted(p.name for p in folder.iterdir()) == [f"img{i}.png" for i in range(5)]
    assert seen and seen[-1] == archive.stat().st_size
    assert catalog.find_dataset("set5") == folder
    report = catalog.verify("Set5")
    assert report.ok and report.count == 5


def test_checksum_mismatch_is_refused(fake_set5, monkeypatch):
    archive, root = fake_set5
    entry = catalog.CATALOG["set5"]
    bad = catalog.Source(archive.as_uri(), "md5", "0" * 32, "benchmark/Set5/HR")
    monkeypatch.setitem(
        catalog.CATALOG,
        "set5",
        catalog.DatasetEntry(
            entry.name, entry.folder, entry.count, entry.role, entry.description, (bad,)
        ),
    )
    with pytest.raises(DataError, match="checksum mismatch"):
        catalog.download("Set5")
    assert not (root / "benchmark" / "Set5").exists()


def test_unreachable_url_is_a_clear_error(fake_set5, tmp_path):
    with pytest.raises(DataError, match="Set5: download from .* failed"):
        catalog.download("Set5", url=(tmp_path / "missing.tar").as_uri())


def test_import_from_folder_and_verify_detects_corrupt(tmp_path, monkeypatch):
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path / "root"))
    src = tmp_path / "mine"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.png").write_bytes(png_bytes(i))
    (src / "4.png").write_bytes(b"garbage")
    catalog.import_dataset("Set5", src)
    report = catalog.verify("Set5")
    assert not report.ok and report.unreadable == ["4.png"]


def test_zip_slip_is_refused_before_writing(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/a.png", png_bytes(0))
        zf.writestr("../escaped.png", png_bytes(1))
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="unsafe archive entry"):
        catalog.safe_extract(archive, dest)
    assert not (tmp_path / "escaped.png").exists()
    assert not (dest / "ok" / "a.png").exists()


def test_tar_absolute_path_and_symlink_are_refused(tmp_path):
    for name, kind in [("/etc/evil.png", tarfile.REGTYPE), ("link.png", tarfile.SYMTYPE)]:
        archive = tmp_path / f"{kind!r}.tar"
        with tarfile.open(archive, "w") as tf:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
                tf.addfile(info)
            else:
                info.size = 3
                tf.addfile(info, io.BytesIO(b"abc"))
        with pytest.raises(DataError):
            catalog.safe_extract(archive, tmp_path / "out")


def test_unknown_name_suggests_closest(monkeypatch, tmp_path):
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path))
    with pytest.raises(DataError, match="did you mean Set14"):
        catalog.lookup("Set41")
    with pytest.raises(DataError, match="srdistill data download Urban100"):
        catalog.find_dataset("Urban100")


def test_catalog_knows_the_papers_datasets():
    for name in ["DIV2K_train", "DIV2K_valid", "Set5", "Set14", "BSD100", "Urban100"]:
        entry = catalog.lookup(name)
        assert entry.sources and entry.sources[0].url.startswith("http")
        assert len(entry.sources[0].digest) == 32


def folder_of(tmp_path, name, count, seed=0):
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):
        (folder / f"img{i}.png").write_bytes(png_bytes(seed + i))
    return folder


def test_import_checks_the_count_and_never_replaces_a_complete_set_silently(tmp_path):
    root = tmp_path / "root"
    with pytest.raises(DataError, match="holds 1 images but Set5 has 5.*--force"):
        catalog.import_dataset("Set5", folder_of(tmp_path, "one", 1), root)
    assert not (root / "benchmark" / "Set5").exists()
    first = catalog.import_dataset("Set5", folder_of(tmp_path, "five", 5), root)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    with pytest.raises(DataError, match="already complete.*--force"):
        catalog.import_dataset("Set5", folder_of(tmp_path, "other", 5, seed=50), root)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    catalog.import_dataset("Set5", folder_of(tmp_path, "forced", 5, seed=50), root, force=True)
    assert {p.name: p.read_bytes() for p in first.iterdir()} != before
    # Files get the usual permissions (not mkdtemp's 0700).
    assert first.stat().st_mode & 0o755 == 0o755
    assert all(p.stat().st_mode & 0o644 == 0o644 for p in first.iterdir())


def test_a_killed_install_leaves_the_old_or_the_new_set_and_no_staging(tmp_path):
    root = tmp_path / "root"
    final = catalog.import_dataset("Set5", folder_of(tmp_path, "five", 5), root)
    names = sorted(p.name for p in final.iterdir())
    # As if killed after the old set was moved aside and before the new one arrived.
    final.rename(final.with_name(".Set5.previous"))
    (final.parent / ".Set5.abc123").mkdir()  # a half-filled staging folder
    (root / ".extract.xyz").mkdir()
    catalog.recover_interrupted_install(final)
    assert sorted(p.name for p in final.iterdir()) == names
    assert not list(final.parent.glob(".Set5.*"))
    catalog.import_dataset("Set5", folder_of(tmp_path, "again", 5, seed=9), root, force=True)
    assert not list(root.glob(".extract.*"))


def test_links_and_zip_bombs_are_refused(tmp_path):
    root = tmp_path / "root"
    linked = folder_of(tmp_path, "linked", 4)
    (linked / "img4.png").symlink_to("/etc/passwd")
    with pytest.raises(DataError, match="is a link; srdistill imports real files only"):
        catalog.import_dataset("Set5", linked, root)
    link_zip = tmp_path / "link.zip"
    with zipfile.ZipFile(link_zip, "w") as zf:
        info = zipfile.ZipInfo("Set5/evil.png")
        info.external_attr = 0o120777 << 16  # a unix symlink entry
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="'Set5/evil.png' is a link; refused"):
        catalog.safe_extract(link_zip, tmp_path / "x")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.png", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(DataError, match="would expand to .* refused"):
        catalog.safe_extract(bomb, tmp_path / "y")
    assert not list((tmp_path / "y").rglob("*.png"))
