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
    if inside_run_checkpoints(path):
        raise OutputError(
            f"refusing to write {path}: it is inside a run's checkpoints folder, which "
            "srdistill manages; choose a path outside it"
        )
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass --overwrite to replace it")
    writable_folder(path.parent if str(path.parent) else Path("."))
    return path
