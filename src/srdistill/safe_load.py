"""Load ``torch.save`` files as tensors only: never unpickle code, fail in one line."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from srdistill.errors import CheckpointError


def require_regular_file(path: str | Path, what: str, error: type[Exception]) -> Path:
    """``path`` if it is a regular file; a FIFO, device or socket would block or stream
    forever when read, so it is refused in one line (a missing file is the caller's case)."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise error(f"{what} {path} is not a regular file (a pipe, device or socket); give a file")
    return path


def load_tensors(path: str | Path, what: str) -> Any:
    """``torch.load(weights_only=True)`` with one-line errors naming ``what`` and the file."""
    path = require_regular_file(path, what, CheckpointError)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{what} not found: {path}") from None
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"refused {what} {path}: it holds pickled Python objects, and srdistill loads "
            "tensors only and never unpickles code; save a plain state dict instead"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other failure to read is a bad file
        first = (str(exc).strip().splitlines() or [""])[0] or type(exc).__name__
        if path.is_file() and path.stat().st_size == 0:
            first = "the file is empty"
        raise CheckpointError(f"cannot read {what} {path}: {first}") from None
