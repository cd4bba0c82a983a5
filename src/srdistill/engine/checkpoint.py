"""Checkpoints: safetensors for weights, a tensor-only state file, atomic on disk.

A checkpoint is a folder ``checkpoints/step_00001000/`` with one ``<name>.safetensors``
per network (self-describing: the architecture spec is in its metadata) and
``state.pt`` (optimizers, schedulers, RNG states, step), loaded with
``torch.load(weights_only=True)`` so no arbitrary object is ever unpickled.

The folder is written under a temporary name, flushed, then renamed; only then is the
``latest`` pointer replaced atomically. A kill at any moment leaves either the previous
complete checkpoint or the new one as ``latest``, never a broken one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from srdistill.data.io import atomic_write_bytes
from srdistill.errors import CheckpointError
from srdistill.models import build_model, check_spec, check_spec_against_shapes
from srdistill.safe_load import load_tensors, refuse_torch_pickle, require_regular_file

SPEC_KEY = "srdistill_spec"


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    while True:
        if hasattr(module, "module"):
            module = module.module  # DistributedDataParallel
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod  # torch.compile
        else:
            return module


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_module(module: nn.Module, path: str | Path, extra_meta: dict | None = None) -> None:
    """Save a network's weights and architecture spec as one safetensors file (atomic)."""
    module = unwrap(module)
    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    meta = {SPEC_KEY: json.dumps(module.spec())}
    meta.update({k: str(v) for k, v in (extra_meta or {}).items()})
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save_file(state, str(tmp), metadata=meta)
        canonical_header(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)  # the usual 0644 under the user's umask, readable by a server
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


def canonical_header(path: Path) -> None:
    """Rewrite a safetensors header with sorted keys: safetensors writes its metadata and
    tensor entries in hash-map order, so the same network saved twice would differ in
    bytes (and in the SHA-256 that records name it by). The data block is untouched; its
    offsets are relative to the header's end."""
    raw = Path(path).read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format's 8-byte alignment of the data block
    Path(path).write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size :])


def read_spec(path: str | Path) -> dict:
    """The architecture spec stored in a safetensors checkpoint."""
    path = require_regular_file(path, "checkpoint", CheckpointError)
    refuse_torch_pickle(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
    if SPEC_KEY not in meta:
        raise CheckpointError(
            f"{path} has no srdistill model spec: it was not written by srdistill "
            "(train with `srdistill train` or extract with `srdistill extract`)"
        )
    try:
        spec = json.loads(meta[SPEC_KEY])
    except ValueError:
        raise CheckpointError(f"{path}: the model spec is not valid JSON") from None
    return check_spec(spec, str(path))


def tensor_shapes(path: str | Path) -> dict[str, list[int]]:
    """Name -> shape of every tensor in a safetensors file, without reading the data."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None


def load_module(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a network from a safetensors checkpoint written by ``save_module``.

    The stored spec is validated, and checked against the stored tensor shapes, before the
    network is built: a forged spec cannot make the loader allocate more than the file holds.
    """
    path = require_regular_file(path, "checkpoint", CheckpointError)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    spec = read_spec(path)
    check_spec_against_shapes(spec, tensor_shapes(path), str(path))
    model = build_model(spec)
    load_state_into(model, path)
    return model.to(device).eval()


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file; an unreadable or truncated file is one line."""
    require_regular_file(path, "checkpoint", CheckpointError)
    refuse_torch_pickle(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None


def load_state_into(
    model: nn.Module, path: str | Path, state: dict[str, torch.Tensor] | None = None
) -> None:
    """Load safetensors weights into ``model``; a mismatch is one clear line.

    ``state``: the file's tensors when the caller has read them already.
    """
    if state is None:
        state = read_weights(path)
    own = unwrap(model).state_dict()
    # Dtypes with shapes, before anything is copied: an integer or boolean tensor where the
    # network holds floats would be cast silently into meaningless weights.
    kinds = [
        k
        for k, v in state.items()
        if k in own and (v.is_floating_point() != own[k].is_floating_point() or v.is_complex())
    ]
    if kinds:
        k = kinds[0]
        raise CheckpointError(
            f"checkpoint {path}: tensor {k} is {state[k].dtype} where "
            f"{type(unwrap(model)).__name__} holds {own[k].dtype}; the file is not its weights"
        )
    wrong = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    result = None if wrong else unwrap(model).load_state_dict(state, strict=False)
    if wrong or result.missing_keys or result.unexpected_keys:
        detail = (wrong or result.missing_keys or result.unexpected_keys)[:3]
        raise CheckpointError(
            f"checkpoint {path} does not fit {type(unwrap(model)).__name__} "
            f"(mismatched keys such as {detail}); it belongs to another architecture or size"
        )


class CheckpointManager:
    """Writes and finds the checkpoints of one run folder."""

    def __init__(self, run_dir: str | Path, keep: int = 2) -> None:
        self.dir = Path(run_dir) / "checkpoints"
        self.keep = keep

    def save(self, step: int, modules: dict[str, nn.Module], state: dict) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"step_{step:08d}"
        final = self.dir / name
        tmp = self.dir / f".tmp-{name}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            for key, module in modules.items():
                save_module(module, tmp / f"{key}.safetensors")
            with open(tmp / "state.pt", "wb") as f:
                torch.save({"step": step, **state}, f)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(tmp)
        except BaseException:
            # Disk full or killed mid-write: the partial folder goes (its space with it);
            # the previous checkpoints and the `latest` pointer are untouched.
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(self.dir)
        atomic_write_bytes(self.dir / "latest", name.encode())
        self._prune(keep_name=name)
        return final

    def _complete(self) -> list[Path]:
        found = [p for p in self.dir.glob("step_*") if (p / "state.pt").is_file()]
        return sorted(found, key=lambda p: p.name)

    def _prune(self, keep_name: str) -> None:
        complete = self._complete()
        for old in complete[: max(0, len(complete) - self.keep)]:
            if old.name != keep_name:
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.dir.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def candidates(self) -> list[Path]:
        """Complete checkpoints, newest first (the ``latest`` pointer's target leads)."""
        complete = self._complete()[::-1]
        newest = self.latest()
        return [newest, *(c for c in complete if c != newest)] if newest else complete

    def latest(self) -> Path | None:
        """The newest complete checkpoint folder, or None."""
        pointer = self.dir / "latest"
        if pointer.is_file() and pointer.stat().st_size <= 256:
            # A step folder's bare name only: a forged pointer ("../elsewhere", binary
            # junk) is ignored and the newest complete folder is used instead.
            name = pointer.read_bytes().decode("utf-8", "replace").strip()
            candidate = self.dir / name
            if (
                name.startswith("step_")
                and "/" not in name
                and "\\" not in name
                and ".." not in name
                and (candidate / "state.pt").is_file()
            ):
                return candidate
        complete = self._complete()
        return complete[-1] if complete else None


def load_state(ckpt_dir: Path) -> dict:
    """The tensor-only training state of a checkpoint folder (safe to load)."""
    return load_tensors(ckpt_dir / "state.pt", "training state")
