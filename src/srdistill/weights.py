"""Every weight file srdistill uses, found one way and reported missing one way.

A weight file is looked up, in order: the path the caller was given (a config key or
option), its environment variable, ``<data root>/weights/<file>`` for each data root
(``SRDISTILL_DATA``, ``../shared/data``, the user cache), then any extra folder the file
conventionally lives in (torch's hub cache for VGG19).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from srdistill.errors import CheckpointError


def hub_checkpoint_dir() -> Path:
    """torch hub's checkpoint cache, where torchvision keeps vgg19-dcbb9e9d.pth."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def _hub_checkpoints() -> list[Path]:
    return [hub_checkpoint_dir()]


@dataclass(frozen=True)
class WeightFile:
    key: str
    what: str
    file: str
    env: str
    source: str  # where a user gets it
    extra_dirs: Callable[[], list[Path]] = field(default=lambda: [])
    hint: str = ""  # what else can be done without it


WEIGHTS: dict[str, WeightFile] = {
    "vgg19": WeightFile(
        "vgg19",
        "VGG19 ImageNet weights (SRGAN content loss)",
        "vgg19-dcbb9e9d.pth",
        "SRDISTILL_VGG19",
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth (or `srdistill weights vgg19`)",
        _hub_checkpoints,
        "mutual.vgg_weights=random trains with a stand-in that is not comparable",
    ),
    "niqe": WeightFile(
        "niqe",
        "NIQE pristine parameters",
        "niqe_pris_params.npz",
        "SRDISTILL_NIQE_PARAMS",
        "https://raw.githubusercontent.com/XPixelGroup/BasicSR/master/basicsr/metrics/"
        "niqe_pris_params.npz",
    ),
    "ma": WeightFile(
        "ma",
        "Ma et al. 2017 model",
        "ma_model.mat",
        "SRDISTILL_MA_MODEL",
        "model.mat of https://github.com/chaoma99/sr-metric",
        hint="Ma and PI are not reported without it",
    ),
}


def candidates(key: str, configured: str | Path | None = None) -> list[Path]:
    from srdistill.data.catalog import data_roots

    w = WEIGHTS[key]
    paths = [Path(configured).expanduser()] if configured else []
    if os.environ.get(w.env):
        paths.append(Path(os.environ[w.env]))
    paths += [root / "weights" / w.file for root in data_roots()]
    paths += [d / w.file for d in w.extra_dirs()]
    return paths


def find_weight(key: str, configured: str | Path | None = None) -> Path | None:
    """The first existing candidate, or None."""
    return next((p for p in candidates(key, configured) if p.is_file()), None)


def missing_message(key: str, configured: str | Path | None = None) -> str:
    w = WEIGHTS[key]
    where = f"{configured} does not exist; " if configured else ""
    folders = ", ".join(["<data root>/weights/", *(str(d) for d in w.extra_dirs())])
    text = (
        f"{w.what} not found: {where}put {w.file} in {folders} or set {w.env} "
        f"(get it from {w.source})"
    )
    return text + (f"; {w.hint}" if w.hint else "")


def require_weight(key: str, configured: str | Path | None = None) -> Path:
    """The weight file, or a one-line CheckpointError saying where to put it. A path the
    caller gave must exist itself (no silent fallback to another file)."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise CheckpointError(missing_message(key, configured))
        return path
    found = find_weight(key)
    if found is None:
        raise CheckpointError(missing_message(key))
    return found
