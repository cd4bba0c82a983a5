"""PyTorch's own distributed engine: torchrun sets the environment, DDP does the work.

``torchrun --nproc_per_node=N -m srdistill train CONFIG`` starts N processes; each calls
``init_distributed``, which joins the process group (NCCL on GPU, gloo on CPU).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(preference: str, local_rank: int = 0) -> torch.device:
    if preference == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if preference == "cuda" and torch.cuda.is_available():
        return torch.device(f"cuda:{local_rank}")
    try:
        device = torch.device(preference)
    except (RuntimeError, ValueError, TypeError):
        from srdistill.errors import ConfigError

        raise ConfigError(f"unknown device '{preference}'; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda", "mps"):
        from srdistill.errors import ConfigError

        raise ConfigError(f"device '{preference}' is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        from srdistill.errors import ConfigError

        raise ConfigError("train.device asks for CUDA but no GPU is visible; use device=auto")
    return device


def init_distributed(device_preference: str) -> tuple[DistInfo, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), resolve_device(device_preference)
    info = DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)
    device = resolve_device(device_preference, info.local_rank)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return info, device


def prepare_module(module: nn.Module, device: torch.device, info: DistInfo) -> nn.Module:
    """Move to device and, under DDP, wrap it; on GPU BatchNorm becomes SyncBatchNorm.

    PyTorch's SyncBatchNorm runs only on GPUs; on CPU (gloo) each rank normalises with the
    statistics of its own share of the batch, so losses match a single-process run only
    approximately there (see docs/distributed.md).
    """
    module = module.to(device)
    if not info.enabled:
        return module
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
    if has_bn and device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    # Buffers (BatchNorm statistics) are not re-broadcast every forward: each rank keeps its
    # own, as SyncBatchNorm's absence on CPU requires. Ranks build from one seed, so syncing
    # them once at init changes nothing. torch >= 2.13 names this forward_sync_buffers.
    import inspect

    if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters:
        return DDP(module, device_ids=ids, forward_sync_buffers=False)
    return DDP(module, device_ids=ids, broadcast_buffers=False)


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled and dist.is_initialized():
        value = value.detach().clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= info.world_size
    return value
