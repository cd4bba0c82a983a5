"""Known datasets: where they come from, how they are verified, where they live.

Layout under a data root (the same as ``../shared/data``)::

    benchmark/{Set5,Set14,BSD100,Urban100}/*.png   HR test images
    train/{T91,BSD200}/*.png                        the classic "291" training images
    train/DIV2K_train_HR/*.png, valid/DIV2K_valid_HR/*.png

Data roots, searched in order: ``$SRDISTILL_DATA`` if set (only it); otherwise
``../shared/data`` beside the working directory or beside this checkout, then the user
download folder ``~/.cache/srdistill/data``. Downloads go to ``$SRDISTILL_DATA`` or the
user folder (``--root`` overrides).

DIV2K and benchmark checksums are the MD5s of the official archives as published by torchSR
(Coloquinte/torchSR, ``torchsr/datasets``); the benchmark sets come from EDSR's
``benchmark.tar``. T91 and BSD200 come from their authors' archives (SHA-256 below).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from srdistill.data.io import IMAGE_EXTENSIONS, list_images, read_image_array
from srdistill.errors import DataError

# SRCNN's training package from its project page (holds Train/: the 91 images as BMP) and
# the BSDS300 images archive from its authors (images/train: 200 JPEGs). Their SHA-256s as
# recorded by projects that verify these downloads; the first real download confirms them.
_SRCNN_TRAIN = (
    "http://mmlab.ie.cuhk.edu.hk/projects/SRCNN/SRCNN_train.zip",
    "sha256",
    "001146419f7acfb12a3e7929c8acd5de88a08d687d6881085f81321ad6982b1a",
)
_BSDS300 = (
    "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz",
    "sha256",
    "a5f7d0e49fe135c75518a3543ced24470156fd69305ae77845dff2a5138652b4",
)
_EDSR_BENCHMARK = (
    "https://cv.snu.ac.kr/research/EDSR/benchmark.tar",
    "md5",
    "4ace41d33c2384b97e6b320cd0afd6ba",
)


@dataclass(frozen=True)
class Source:
    """One downloadable archive and which of its folders holds the images."""

    url: str
    hash_name: str
    digest: str
    member_dir: str  # folder inside the archive whose images make up the dataset


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    folder: str  # relative to a data root
    count: int
    role: str  # "train" or "test"
    description: str
    sources: tuple[Source, ...] = field(default_factory=tuple)
    # Other image counts that also make the dataset complete (a known variant of it).
    also_complete: tuple[int, ...] = ()

    def complete_with(self, count: int) -> bool:
        return count == self.count or count in self.also_complete


CATALOG: dict[str, DatasetEntry] = {
    e.name.lower(): e
    for e in [
        DatasetEntry(
            "DIV2K_train",
            "train/DIV2K_train_HR",
            800,
            "train",
            "DIV2K training HR images (Agustsson & Timofte, NTIRE 2017), about 3.5 GB",
            (
                Source(
                    "http://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip",
                    "md5",
                    "bdc2d9338d4e574fe81bf7d158758658",
                    "DIV2K_train_HR",
                ),
            ),
        ),
        DatasetEntry(
            "DIV2K_valid",
            "valid/DIV2K_valid_HR",
            100,
            "test",
            "DIV2K validation HR images, about 450 MB",
            (
                Source(
                    "http://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip",
                    "md5",
                    "9fcdda83005c5e5997799b69f955ff88",
                    "DIV2K_valid_HR",
                ),
            ),
        ),
        DatasetEntry(
            "Set5",
            "benchmark/Set5",
            5,
            "test",
            "Set5 (Bevilacqua et al. 2012)",
            (Source(*_EDSR_BENCHMARK, "benchmark/Set5/HR"),),
        ),
        DatasetEntry(
            "Set14",
            "benchmark/Set14",
            14,
            "test",
            "Set14 (Zeyde et al. 2010)",
            (Source(*_EDSR_BENCHMARK, "benchmark/Set14/HR"),),
        ),
        DatasetEntry(
            "BSD100",
            "benchmark/BSD100",
            100,
            "test",
            "BSD100, the BSDS300 test split (Martin et al. 2001)",
            (Source(*_EDSR_BENCHMARK, "benchmark/B100/HR"),),
        ),
        DatasetEntry(
            "Urban100",
            "benchmark/Urban100",
            100,
            "test",
            "Urban100 (Huang et al. 2015)",
            (Source(*_EDSR_BENCHMARK, "benchmark/Urban100/HR"),),
        ),
        DatasetEntry(
            "T91",
            "train/T91",
            91,
            "train",
            "Yang et al. 91 training images, from SRCNN's training package (Dong et al.)",
            (Source(*_SRCNN_TRAIN, "Train"),),
        ),
        DatasetEntry(
            "BSD200",
            "train/BSD200",
            200,
            "train",
            "BSDS300 train split (Martin et al. 2001), from its authors' archive; a copy "
            "without the one image that duplicates a Set5 image (199) is complete too",
            (Source(*_BSDS300, "BSDS300/images/train"),),
            also_complete=(199,),
        ),
    ]
}
ALIASES = {"div2k": "div2k_train", "b100": "bsd100", "bsds100": "bsd100"}
TEST_SETS = ("Set5", "Set14", "BSD100", "Urban100")


def user_data_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "srdistill" / "data"


def data_roots() -> list[Path]:
    """Folders searched for datasets, in order (see the module docstring)."""
    env = os.environ.get("SRDISTILL_DATA")
    if env:
        return [Path(env)]
    checkout = Path(__file__).resolve().parents[3]
    roots = [Path.cwd().parent / "shared" / "data", checkout.parent / "shared" / "data"]
    roots.append(user_data_dir())
    unique: list[Path] = []
    for r in roots:
        if r.resolve() not in [u.resolve() for u in unique]:
            unique.append(r)
    return unique


def default_download_root() -> Path:
    env = os.environ.get("SRDISTILL_DATA")
    return Path(env) if env else user_data_dir()


def lookup(name: str) -> DatasetEntry:
    key = name.lower()
    key = ALIASES.get(key, key)
    if key not in CATALOG:
        import difflib

        close = difflib.get_close_matches(key, list(CATALOG), n=1)
        hint = f" (did you mean {CATALOG[close[0]].name}?)" if close else ""
        known = ", ".join(e.name for e in CATALOG.values())
        raise DataError(f"unknown dataset '{name}'{hint}; known: {known}, or give a folder path")
    return CATALOG[key]


def find_dataset(name: str) -> Path:
    """The HR image folder for a catalog name or a folder path."""
    as_path = Path(name).expanduser()
    if as_path.is_dir():
        return as_path
    if "/" in name or os.sep in name:
        raise DataError(f"dataset folder not found: {name} (check the path)")
    entry = lookup(name)
    for root in data_roots():
        folder = root / entry.folder
        if folder.is_dir() and list_images(folder):
            return folder
    roots = ", ".join(str(r) for r in data_roots())
    raise DataError(
        f"dataset {entry.name} not found under {roots}; run `srdistill data download "
        f"{entry.name}` (or `--from ARCHIVE`), or set SRDISTILL_DATA"
    )


def file_digest(path: Path, hash_name: str) -> str:
    h = hashlib.new(hash_name)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _safe_target(base: Path, member: str) -> Path:
    """Where an archive member may be written, refusing paths that leave ``base``."""
    pure = PurePosixPath(member.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise DataError(f"unsafe archive entry '{member}' (escapes the target folder); refused")
    target = (base / Path(*pure.parts)).resolve() if pure.parts else base.resolve()
    if not target.is_relative_to(base.resolve()):
        raise DataError(f"unsafe archive entry '{member}' (escapes the target folder); refused")
    return target


# Limits on what an archive may expand to: a small file that unpacks to gigabytes (a zip
# bomb) is refused before anything fills the disk. DIV2K's 3.5 GB of PNGs is far inside.
MAX_EXTRACT_BYTES = 64 * 1024**3
MAX_COMPRESSION_RATIO = 100  # PNG/JPEG archives barely compress (ratio ~1)


def _is_zip_link(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000  # unix mode S_IFLNK


def _check_sizes(archive: Path, declared: int, dest: Path) -> None:
    packed = max(archive.stat().st_size, 1)
    if declared > MAX_EXTRACT_BYTES or declared / packed > MAX_COMPRESSION_RATIO:
        raise DataError(
            f"{archive} would expand to {declared:,} bytes from {packed:,} (limit "
            f"{MAX_EXTRACT_BYTES:,} bytes, ratio {MAX_COMPRESSION_RATIO}); refused"
        )
    free = shutil.disk_usage(dest).free
    if declared > free:
        raise DataError(
            f"{archive} expands to {declared:,} bytes but only {free:,} are free at {dest}"
        )


def _copy_limited(src: BinaryIO, out: BinaryIO, limit: int, name: str) -> int:
    """Copy at most ``limit`` bytes (an entry may lie about its size)."""
    done = 0
    for block in iter(lambda: src.read(1 << 20), b""):
        done += len(block)
        if done > limit:
            raise DataError(f"archive entry '{name}' is larger than it declares; refused")
        out.write(block)
    return done


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a zip or tar archive into ``dest``; entries that would escape it, links,
    device files and archives that expand past the size/ratio limits are refused before
    anything is written. A damaged or truncated archive is one line."""
    import gzip
    import zlib

    try:
        _extract(archive, dest)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        first = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        raise DataError(f"{archive} is damaged or truncated ({first}); download it again") from None


def _extract(archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            targets = [_safe_target(dest, i.filename) for i in infos]
            for info in infos:
                if _is_zip_link(info):
                    raise DataError(f"archive entry '{info.filename}' is a link; refused")
            _check_sizes(archive, sum(i.file_size for i in infos), dest)
            for info, target in zip(infos, targets, strict=True):
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    _copy_limited(src, out, info.file_size, info.filename)
        return
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                _safe_target(dest, m.name)
                if not (m.isfile() or m.isdir()):
                    raise DataError(f"archive entry '{m.name}' is a link or device; refused")
            _check_sizes(archive, sum(m.size for m in members), dest)
            for m in members:
                target = _safe_target(dest, m.name)
                if m.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(m)
                if src is None:
                    raise DataError(f"archive entry '{m.name}' cannot be read; refused")
                with src, open(target, "wb") as out:
                    _copy_limited(src, out, m.size, m.name)
        return
    raise DataError(f"{archive} is neither a zip nor a tar archive")


def _permissions(path: Path, mode: int) -> None:
    """Give ``path`` the usual permissions under the user's umask (mkdtemp makes 0700)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def recover_interrupted_install(final: Path) -> None:
    """Finish or undo what a killed install left: the old dataset comes back if the new one
    never arrived, and staging or backup folders are removed."""
    backup = final.with_name(f".{final.name}.previous")
    if backup.is_dir() and not final.exists():
        os.replace(backup, final)  # killed between the two renames: keep the old one
    for stale in final.parent.glob(f".{final.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)


def _install_images(src_dir: Path, entry: DatasetEntry, root: Path, force: bool = False) -> Path:
    """Copy the images of ``src_dir`` into the entry's folder, replacing it atomically.

    The image count must match the catalog's and a complete dataset is only replaced with
    ``force``; links are refused. A kill at any moment leaves the old or the new dataset
    (``recover_interrupted_install`` on the next run), never a mix.
    """
    final = root / entry.folder
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_install(final)
    links = [p for p in src_dir.iterdir() if p.is_symlink()]
    if links:
        raise DataError(f"{links[0]} is a link; srdistill imports real files only (copy it)")
    images = [p for p in sorted(src_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not images:
        raise DataError(f"no images found in {src_dir} for {entry.name}")
    if entry.count and not entry.complete_with(len(images)) and not force:
        raise DataError(
            f"{src_dir} holds {len(images)} images but {entry.name} has {entry.count}; "
            "check the source, or pass --force to install it anyway"
        )
    if final.is_dir() and not force and entry.complete_with(len(list_images(final))):
        raise DataError(f"{entry.name} is already complete in {final}; pass --force to replace it")
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    for p in images:
        shutil.copyfile(p, staging / p.name)
        _permissions(staging / p.name, 0o666)
    _permissions(staging, 0o777)
    backup = final.with_name(f".{final.name}.previous")
    if final.exists():
        os.replace(final, backup)
    os.replace(staging, final)
    shutil.rmtree(backup, ignore_errors=True)
    return final


def _find_member_dir(extracted: Path, member_dir: str) -> Path:
    candidate = extracted / member_dir
    if candidate.is_dir():
        return candidate
    # Archives re-packed by users often drop or add one top-level folder.
    tail = PurePosixPath(member_dir).name
    matches = [p for p in extracted.rglob(tail) if p.is_dir()]
    if matches:
        return matches[0]
    raise DataError(f"folder {member_dir} not found inside the archive")


def download(
    name: str,
    root: Path | None = None,
    *,
    url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> Path:
    """Download, verify and install a catalog dataset; returns its folder."""
    entry = lookup(name)
    if not entry.sources:
        raise DataError(
            f"{entry.name} has no official download; import it with "
            f"`srdistill data download {entry.name} --from FOLDER_OR_ARCHIVE`"
        )
    source = entry.sources[0]
    root = Path(root) if root else default_download_root()
    cache = root / "downloads"
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / PurePosixPath(source.url).name
    if not archive.exists() or file_digest(archive, source.hash_name) != source.digest:
        from srdistill.downloads import DownloadFailed, download_verified

        try:
            download_verified(url or source.url, archive, source.hash_name, source.digest, progress)
        except DownloadFailed as exc:
            raise DataError(
                f"{entry.name}: {exc}; download it by hand and run "
                f"`srdistill data download {entry.name} --from FILE`"
            ) from None
    return import_dataset(name, archive, root, verify_checksum=False, force=force)


def import_dataset(
    name: str,
    path: Path,
    root: Path | None = None,
    *,
    verify_checksum: bool = True,
    force: bool = False,
) -> Path:
    """Install an already-downloaded archive or folder as dataset ``name``."""
    entry = lookup(name)
    path = Path(path)
    root = Path(root) if root else default_download_root()
    for stale in root.glob(".extract.*"):  # left by an import that was killed
        shutil.rmtree(stale, ignore_errors=True)
    if path.is_dir():
        images_dir = path
        if not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in path.iterdir()):
            if not entry.sources:
                raise DataError(f"no images directly inside {path}")
            images_dir = _find_member_dir(path, entry.sources[0].member_dir)
        return _install_images(images_dir, entry, root, force)
    if not path.is_file():
        raise DataError(f"not found: {path}")
    if verify_checksum and entry.sources:
        src = entry.sources[0]
        if PurePosixPath(src.url).name == path.name:
            got = file_digest(path, src.hash_name)
            if got != src.digest:
                raise DataError(
                    f"checksum mismatch for {path}: {src.hash_name} {got}, expected {src.digest}"
                )
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".extract.") as tmp:
        safe_extract(path, Path(tmp))
        member = entry.sources[0].member_dir if entry.sources else ""
        try:
            images_dir = _find_member_dir(Path(tmp), member) if member else Path(tmp)
        except DataError:
            # Not the official layout: an archive a user packed from a folder of images.
            images_dir, member = Path(tmp), ""
        if member == "" and not list_images(images_dir):
            subdirs = [p for p in Path(tmp).iterdir() if p.is_dir()]
            if len(subdirs) == 1:
                images_dir = subdirs[0]
        return _install_images(images_dir, entry, root, force)


@dataclass
class VerifyReport:
    name: str
    folder: Path | None
    count: int
    expected: int
    unreadable: list[str]
    also_complete: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.folder is not None
            and (self.count == self.expected or self.count in self.also_complete)
            and not self.unreadable
        )


def verify(name: str) -> VerifyReport:
    """Check that a dataset is present, complete, and that every image decodes."""
    entry = lookup(name)
    try:
        folder = find_dataset(entry.name)
    except DataError:
        return VerifyReport(entry.name, None, 0, entry.count, [])
    unreadable = []
    images = list_images(folder)
    for p in images:
        try:
            read_image_array(p)
        except DataError:
            unreadable.append(p.name)
    return VerifyReport(
        entry.name, folder, len(images), entry.count, unreadable, entry.also_complete
    )
