"""``srdistill weights import``: a weight file from another codebase (a ``.pth`` of the
authors' repository, a BasicSR file, a bare safetensors state dict) -> an srdistill network
file with its spec, usable by eval, upscale, export, profile, kd.teacher and plain.init_from.

Only tensors are read: ``torch.load(weights_only=True)`` refuses pickled code, so a file
that stores a whole network object is refused with what to save instead. The architecture
and its sizes come from the tensor names and shapes (``srdistill.models.LAYOUTS``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from srdistill.errors import CheckpointError
from srdistill.models import LAYOUTS, ImportRequest, describe
from srdistill.models.foreign import State
from srdistill.safe_load import is_torch_pickle, load_tensors

# Where trainers keep the network inside a saved dict, in order of preference (BasicSR
# keeps the EMA weights as params_ema and tests with them).
WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model", "net", "generator", "netG")
# Prefixes that wrappers add to every key: DataParallel/DDP, torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


@dataclass
class ImportedNetwork:
    network: nn.Module
    layout: str  # e.g. "IMDN (Zheng222/IMDN)"
    source_sha256: str
    notes: list[str]  # what was inferred rather than read


def supported_layouts() -> str:
    return ", ".join(layout.name for layout in LAYOUTS)


def read_state_dict(path: str | Path) -> State:
    """The tensors of a weight file, without running any code from it; one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weight file not found: {path}")
    if not is_torch_pickle(path):
        return _read_safetensors(path)
    return _unwrap(load_tensors(path, "weight file"), path)


def _read_safetensors(path: Path) -> State:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"cannot read {path}: neither a PyTorch nor a safetensors weight file ({exc})"
        ) from None


def _unwrap(obj: object, path: Path) -> State:
    if isinstance(obj, dict) and obj and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, dict) and inner:
                obj = inner
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path} holds no state dict (found {type(obj).__name__})")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if len(tensors) != len(obj) or not all(isinstance(k, str) for k in obj):
        other = next(k for k, v in obj.items() if not isinstance(v, torch.Tensor))
        raise CheckpointError(
            f"{path}: entry {other!r} is not a tensor; expected a state dict (or one under "
            f"{', '.join(WRAPPER_KEYS)})"
        )
    for prefix in WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix) :]: v for k, v in tensors.items()}
    return tensors


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_network(
    path: str | Path, scale: int | None = None, rgb_range: float | None = None
) -> ImportedNetwork:
    """Recognise the file's layout and build the network it holds (weights loaded)."""
    path = Path(path)
    if scale is not None and scale not in (2, 3, 4, 8):
        raise CheckpointError(f"--scale must be 2, 3, 4 or 8; got {scale}")
    if rgb_range is not None and rgb_range not in (1.0, 255.0):
        raise CheckpointError(f"--rgb-range must be 1 or 255; got {rgb_range:g}")
    state = read_state_dict(path)
    matches = [layout for layout in LAYOUTS if layout.detect(state)]
    if not matches:
        first = ", ".join(list(state)[:3])
        raise CheckpointError(
            f"{path}: unknown weight layout (first tensors: {first}); supported: "
            f"{supported_layouts()}"
        )
    layout = matches[0]
    request = ImportRequest(str(path), scale, rgb_range)
    network = layout.convert(state, request)
    for key, value in network.state_dict().items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path}: tensor {key} holds NaN or inf; the file is damaged")
    return ImportedNetwork(network, layout.name, sha256_of(path), request.notes)


def import_weights(
    path: str | Path,
    out: str | Path,
    *,
    scale: int | None = None,
    rgb_range: float | None = None,
    overwrite: bool = False,
) -> ImportedNetwork:
    """``import_network`` and write it as an srdistill network file at ``out``."""
    from srdistill.engine.checkpoint import save_module
    from srdistill.outputs import new_output_file

    out = Path(out)
    if out.suffix != ".safetensors":
        raise CheckpointError(f"the output must be a .safetensors file; got {out}")
    if out.resolve() == Path(path).resolve():
        raise CheckpointError(f"the output {out} is the input file; choose another name")
    target = new_output_file(out, overwrite)  # checked before the (slow) read
    imported = import_network(path, scale, rgb_range)
    save_module(
        imported.network,
        target,
        {
            "imported_from": Path(path).name,
            "imported_layout": imported.layout,
            "source_sha256": imported.source_sha256,
        },
    )
    return imported


def summary(imported: ImportedNetwork) -> str:
    params = sum(p.numel() for p in imported.network.parameters())
    return (
        f"{describe(imported.network)} x{imported.network.scale} from the {imported.layout} "
        f"layout, {params / 1e3:.0f} K parameters"
    )
