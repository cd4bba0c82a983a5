"""Turn whatever a user points at (run folder, checkpoint folder, .safetensors file) into
a ready-to-run SR network, choosing an exit or a cohort member."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from srdistill.engine.checkpoint import CheckpointManager, load_module
from srdistill.errors import CheckpointError
from srdistill.models import depth_of, describe, has_exits, is_generator
from srdistill.schema import short_repr

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    network: nn.Module  # maps an LR batch to SR
    label: str  # e.g. "exit8 of MultiExitSRResNet-32"
    scale: int
    source: Path
    full: nn.Module  # the whole stored network (e.g. the multi-exit model)
    member: int | None = None

    def at_exit(self, exit_block: int | None) -> LoadedModel:
        """The network of one exit (None: the center), taken from the loaded model."""
        full = self.full
        name = describe(full)
        if has_exits(full):
            k = exit_block if exit_block is not None else full.num_blocks
            if k not in full.exit_blocks:
                raise CheckpointError(
                    f"{self.source} has no exit {k}; its exits are {full.exit_blocks}"
                )
            net = full.extract_exit(k)  # the plain network k blocks deep: the same output
            label = f"exit{k} of {name}"
        else:
            if exit_block is not None and exit_block != depth_of(full):
                raise CheckpointError(f"{self.source} is a plain {name} with no exit {exit_block}")
            net, label = full, name
        if self.member is not None:
            label = f"member {self.member}: {label}"
        if Path(self.source).name.startswith("ema_"):
            label += " (EMA weights)"
        return LoadedModel(net.eval(), label, self.scale, self.source, full, self.member)


def deployed_names(path: Path) -> list[str] | None:
    """The SR generators a run declared (run.json "deploy"), for a run or checkpoint folder;
    None for runs made before runs declared them."""
    import json
    import re

    for folder in [path, *path.parents][:3]:
        record = folder / "run.json"
        if record.is_file():
            try:
                names = json.loads(record.read_text()).get("deploy")
            except (ValueError, UnicodeDecodeError, AttributeError):
                return None  # an unreadable run.json: fall back to the files present
            if not isinstance(names, list) or not names:
                return None
            # Network names are bare identifiers; a forged "../x" never leaves the folder.
            bad = [n for n in names if not (isinstance(n, str) and re.fullmatch(r"\w{1,64}", n))]
            if bad:
                raise CheckpointError(
                    f"{record} names deployed networks {short_repr(bad[0])} that are not plain "
                    "network names; the run record is damaged"
                )
            return list(names)
    return None


class MemberChoiceError(CheckpointError):
    """The checkpoint is fine; the cohort member asked for (or its absence) is not."""


def find_weights(path: str | Path, member: int | None = None) -> Path:
    """The generator weights file inside a run folder / checkpoint folder, or the file."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if (path / "checkpoints").is_dir():
        latest = CheckpointManager(path).latest()
        if latest is None:
            raise CheckpointError(f"run folder {path} has no complete checkpoint yet")
        path = latest
    names = deployed_names(path) or _guess_names(path)
    if member is None and len(names) > 1:
        last = len(names) - 1
        raise MemberChoiceError(
            f"{path} holds a cohort of {len(names)}; choose a member with --member 0..{last}"
        )
    if member is not None and not 0 <= member < len(names):
        raise MemberChoiceError(f"{path} has no member {member}; members are 0..{len(names) - 1}")
    name = names[member or 0] + ".safetensors"
    averaged = path / f"ema_{name}"  # written when the run trained with train.ema_decay
    if averaged.is_file():
        return averaged
    if not (path / name).is_file():
        raise CheckpointError(f"no {name} in {path}")
    return path / name


def _guess_names(path: Path) -> list[str]:
    """File names used before runs recorded what they deploy."""
    members = sorted(path.glob("generator_*.safetensors"), key=lambda p: int(p.stem.split("_")[1]))
    return [p.stem for p in members] if members else ["model"]


def _checkpoint_dir(path: Path) -> Path:
    if path.is_dir() and (path / "checkpoints").is_dir():
        latest = CheckpointManager(path).latest()
        return latest if latest is not None else path
    return path if path.is_dir() else path.parent


def cohort_members(path: str | Path) -> list[int]:
    """Member indices of a cohort checkpoint (empty for a single model)."""
    folder = _checkpoint_dir(Path(path))
    names = deployed_names(folder) or _guess_names(folder)
    return list(range(len(names))) if len(names) > 1 else []


def run_notes(path: str | Path) -> list[str]:
    """Caveats recorded by the run that produced a checkpoint (e.g. a stand-in VGG)."""
    path = Path(path).resolve()
    for folder in [path, *path.parents][:4]:
        record = folder / "run.json"
        if record.is_file():
            import json

            return list(json.loads(record.read_text()).get("notes", []))
    return []


def _load_newest(
    path: Path, member: int | None, device: str | torch.device
) -> tuple[Path, nn.Module]:
    """The weights file and network; in a run folder, the newest checkpoint that loads (a
    broken newest checkpoint is skipped with a one-line warning)."""
    if not (path.is_dir() and (path / "checkpoints").is_dir()):
        weights = find_weights(path, member)
        return weights, load_module(weights, device)
    errors = []
    for ckpt in CheckpointManager(path).candidates():
        try:
            weights = find_weights(ckpt, member)
            full = load_module(weights, device)
        except MemberChoiceError:
            raise  # not a broken checkpoint: the question is which member
        except CheckpointError as exc:
            log.warning("skipping checkpoint %s: it does not load (%s)", ckpt.name, exc)
            errors.append(exc)
            continue
        return weights, full
    if errors:
        raise errors[0]
    raise CheckpointError(f"run folder {path} has no complete checkpoint yet")


def load_sr_model(
    path: str | Path,
    *,
    exit_block: int | None = None,
    member: int | None = None,
    scale: int | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    weights, full = _load_newest(Path(path), member, device)
    if not is_generator(full):
        raise CheckpointError(f"{weights} holds a {type(full).__name__}, not an SR generator")
    for key, value in full.state_dict().items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(
                f"{weights} holds non-finite weights (NaN or inf, first in {key}): the run "
                "diverged; use a checkpoint from before it or retrain with a lower optim.lr"
            )
    if scale is not None and full.scale != scale:
        raise CheckpointError(
            f"{weights} is a x{full.scale} model but x{scale} was asked; "
            f"pass --scale {full.scale} or use a x{scale} checkpoint"
        )
    return LoadedModel(full, "", full.scale, weights, full, member).at_exit(exit_block)
