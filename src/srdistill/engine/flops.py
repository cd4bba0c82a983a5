"""Training cost in FLOPs: one real training step of a method, counted by PyTorch.

``torch.utils.flop_counter.FlopCounterMode`` counts the FLOPs of convolutions and matrix
products (forward and backward) dispatched during one ``train_step`` on a batch of the
run's shape; a frozen teacher's forward pass inside the step is counted, the optimizer's
elementwise update and activations are not (they are a few percent at most for these
convolutional networks). A step's count depends only on the networks and the batch shape,
so it is measured once per config and multiplied by the steps a run took.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from srdistill.engine.distributed import DistInfo
from srdistill.engine.method import TrainingContext
from srdistill.engine.trainer import MethodFactory, build_method
from srdistill.schema import RunConfig


def train_step_flops(cfg: RunConfig, factory: MethodFactory) -> int:
    """FLOPs of one training step of ``cfg`` (batch of ``train.batch_size`` HR patches of
    ``data.patch_size`` pixels), forward and backward, on the CPU in fp32."""
    ctx = TrainingContext(torch.device("cpu"), "fp32", DistInfo())
    rng_state = torch.get_rng_state()  # the caller's random stream is left as it was
    try:
        method = build_method(cfg, ctx, factory)
        hr_size, lr_size = cfg.data.patch_size, cfg.data.patch_size // cfg.scale
        gen = torch.Generator().manual_seed(0)
        lr = torch.rand(cfg.train.batch_size, 3, lr_size, lr_size, generator=gen)
        hr = torch.rand(cfg.train.batch_size, 3, hr_size, hr_size, generator=gen)
        counter = FlopCounterMode(display=False)
        with counter:
            method.train_step(lr, hr)
        return int(counter.get_total_flops())
    finally:
        torch.set_rng_state(rng_state)
