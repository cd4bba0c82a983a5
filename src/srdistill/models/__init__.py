"""Network architectures and the one path that builds them from a stored spec."""

from __future__ import annotations

from torch import nn

from srdistill.errors import CheckpointError
from srdistill.models.adaptor import FeatureAdaptor
from srdistill.models.discriminator import Discriminator
from srdistill.models.srresnet import MultiExitSRResNet, SRResNet

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "SRResNet": SRResNet,
    "MultiExitSRResNet": MultiExitSRResNet,
    "Discriminator": Discriminator,
    "FeatureAdaptor": FeatureAdaptor,
}


def build_model(spec: dict) -> nn.Module:
    """Rebuild a model from ``model.spec()`` (as stored in checkpoints)."""
    arch = spec.get("arch")
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"unknown architecture '{arch}' in checkpoint")
    kwargs = {k: v for k, v in spec.items() if k != "arch"}
    try:
        return ARCHITECTURES[arch](**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot build {arch} from checkpoint spec {kwargs}: {exc}") from None


__all__ = [
    "ARCHITECTURES",
    "Discriminator",
    "FeatureAdaptor",
    "MultiExitSRResNet",
    "SRResNet",
    "build_model",
]
