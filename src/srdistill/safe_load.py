"""Load ``torch.save`` files as tensors only: never unpickle code, fail in one line."""

from __future__ import annotations

import os
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


def is_torch_pickle(path: str | Path) -> bool:
    """Whether ``path`` is a torch.save file (zip archive or legacy pickle), which a
    safetensors reader cannot read (it reports a meaningless "header too large")."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    if len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8:
        return False  # safetensors: u64 header length, then the JSON header
    return head[:4] == b"PK\x03\x04" or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def refuse_torch_pickle(path: str | Path) -> None:
    """A raw .pth where an srdistill network file is expected: say how to convert it."""
    if is_torch_pickle(path):
        raise CheckpointError(
            f"{path} is a PyTorch .pth file, not an srdistill network: convert it once with "
            f"`srdistill weights import {path} -o NAME.safetensors` and use NAME.safetensors"
        )


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
        first = first.split(". ")[0][:160]  # torch's messages run on for several sentences
        if path.is_file() and path.stat().st_size == 0:
            first = "the file is empty"
        raise CheckpointError(
            f"cannot read {what} {path}: {first} (truncated or damaged? get the file again)"
        ) from None
