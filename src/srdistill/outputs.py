"""Output paths a user names: never replaced silently, never inside a run's checkpoints,
checked for writability before long work starts, and every OS error as one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from srdistill.errors import SrdistillError

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a parent of it is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
}


class OutputError(SrdistillError):
    """An output could not be written."""


def os_error_line(exc: OSError, path: str | Path | None = None) -> str:
    """One line for an OS error on ``path`` (or the path the error names)."""
    where = path or exc.filename or "output"
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    return f"cannot write {where}: {reason}"


def inside_run_checkpoints(path: Path) -> bool:
    """Whether ``path`` lies in a run folder's ``checkpoints/`` (srdistill owns those)."""
    resolved = path.resolve()
    for parent in resolved.parents:
        if parent.name == "checkpoints" and (parent.parent / "config.yaml").is_file():
            return True
    return False


def writable_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and check files can be written in it (one-line errors)."""
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot write into {folder}: {parent} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(os_error_line(exc, folder)) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {folder}: the folder is not writable")
    return folder


def new_output_file(path: str | Path, overwrite: bool = False) -> Path:
    """Check that ``path`` may be written: not in a run's checkpoints, not an existing file
    (unless ``overwrite``), in a writable folder (created if missing)."""
    path = Path(path)
    run = inside_run_folder(path.parent if str(path.parent) else Path("."))
    if run is not None or inside_run_checkpoints(path):
        raise OutputError(
            f"refusing to write {path}: it is inside the run folder {run or path.parent}, "
            "which training manages (its config, records and checkpoints); choose a path "
            "outside it"
        )
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass --overwrite to replace it")
    writable_folder(path.parent if str(path.parent) else Path("."))
    return path


def inside_run_folder(path: Path) -> Path | None:
    """The run folder ``path`` lies in (or is), if any: training owns those."""
    resolved = Path(path).resolve()
    for folder in [resolved, *resolved.parents]:
        if (folder / "config.yaml").is_file() and (
            (folder / "run.json").is_file() or (folder / "status.json").is_file()
        ):
            return folder
    return None


def new_output_folder(folder: str | Path, names: list[str], overwrite: bool = False) -> Path:
    """Check that ``folder`` may receive the outputs ``names`` (files or subfolders): not
    inside a run folder, none of them there already unless ``overwrite`` (then they are
    removed now, so old and new results never mix), and writable."""
    import shutil

    folder = Path(folder)
    run = inside_run_folder(folder)
    if run is not None:
        raise OutputError(
            f"refusing to write into {folder}: it is inside the run folder {run}, which "
            "training manages; choose an output folder outside it"
        )
    present = [n for n in names if (folder / n).exists()]
    if present and not overwrite:
        raise OutputError(
            f"{folder / present[0]} already exists (earlier results); pass --overwrite to "
            "replace them, or choose another --out"
        )
    writable_folder(folder)
    for name in present:
        target = folder / name
        try:
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        except OSError as exc:
            raise OutputError(os_error_line(exc, target)) from None
    return folder
