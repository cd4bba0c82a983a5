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


# --- the field's pretrained networks (teachers; imported with `srdistill weights import`) --


@dataclass(frozen=True)
class PretrainedFile:
    name: str  # catalog name, e.g. "IMDN_x4"
    file: str
    sha256: str
    url: str  # the public source (the authors' repository)
    license: str
    scale: int | None  # --scale for multi-scale files
    published: str  # the authors' numbers, for comparison


_GH = "https://github.com"
PRETRAINED: dict[str, PretrainedFile] = {
    f"IMDN_x{s}": PretrainedFile(
        f"IMDN_x{s}",
        f"IMDN_x{s}.pth",
        digest,
        f"{_GH}/Zheng222/IMDN/raw/8f158e6a5ac9db6e5857d9159fd4a6c4214da574/checkpoints/IMDN_x{s}.pth",
        "none stated (research use; do not redistribute)",
        None,
        published,
    )
    for s, digest, published in (
        (
            2,
            "740b39653592bd3f49955a21cd9e16f2d37f2c413368cc09327601b8fbe42ce1",
            "Set5 38.00 / 0.9605",
        ),
        (
            3,
            "11b1716a19bc16e5e353e1db798d476169338e631eb170c82d765559888cb028",
            "Set5 34.36 / 0.9270",
        ),
        (
            4,
            "e660c38221147217a136debeb99eb304d62d9c0f73ac421ed66281b619719714",
            "Set5 32.21 / 0.8948, Set14 28.58 / 0.7811, B100 27.56 / 0.7353, "
            "Urban100 26.04 / 0.7838",
        ),
    )
}
PRETRAINED["carn_m"] = PretrainedFile(
    "carn_m",
    "carn_m.pth",
    "d48a759a84509351facb6b7c6d5bd6edec98b98519b8c464ee4ab44d2ba964ff",
    f"{_GH}/nmhkahn/CARN-pytorch/raw/40d3514f81cccd680d846cd5ab07af35f2c8e0e2/checkpoint/carn_m.pth",
    "MIT",
    4,
    "x4 Set5 31.92, Set14 28.42, B100 27.44, Urban100 25.62 (the authors' evaluation)",
)
PRETRAINED["RFDN_AIM"] = PretrainedFile(
    "RFDN_AIM",
    "RFDN_AIM.pth",
    "11af8ec8ebd68689e90ef1e29044f9804c72d3bd9f7573820b7b26035782760c",
    f"{_GH}/njulj/RFDN/raw/7cf4e25b6633e81fd7e26891aeee2baca4f8f927/trained_model/RFDN_AIM.pth",
    "MIT",
    None,
    "AIM 2020 efficient SR (scored on DIV2K validation)",
)


def pretrained_candidates(name: str) -> list[Path]:
    from srdistill.data.catalog import data_roots

    return [root / "weights" / "pretrained" / PRETRAINED[name].file for root in data_roots()]


def find_pretrained(name: str) -> Path | None:
    return next((p for p in pretrained_candidates(name) if p.is_file()), None)


def require_pretrained(name: str) -> Path:
    """The catalog file ``name`` from a data root, its SHA-256 checked; one-line errors."""
    from srdistill.data.catalog import file_digest

    entry = PRETRAINED[name]
    path = find_pretrained(name)
    if path is None:
        raise CheckpointError(
            f"{entry.file} not found in <data root>/weights/pretrained/; get it with "
            f"`srdistill weights download {name}` (from {entry.url})"
        )
    if file_digest(path, "sha256") != entry.sha256:
        raise CheckpointError(
            f"{path} is not the published {entry.file} (SHA-256 differs): download it again"
        )
    return path


def download_pretrained(name: str, url: str | None = None, root: Path | None = None) -> Path:
    """Fetch a catalog file into ``<root>/weights/pretrained/`` (default: the download
    root), keeping it only if its SHA-256 is the catalog's."""
    from srdistill.data.catalog import default_download_root
    from srdistill.downloads import DownloadFailed, download_verified

    entry = PRETRAINED[name]
    dest = (root or default_download_root()) / "weights" / "pretrained" / entry.file
    try:
        return download_verified(url or entry.url, dest, "sha256", entry.sha256)
    except DownloadFailed as exc:
        raise CheckpointError(f"{name}: {exc}; put {entry.file} in {dest.parent}") from None
