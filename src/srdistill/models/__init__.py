"""Network architectures and the one path that builds them from a stored spec."""

from __future__ import annotations

from torch import nn

from srdistill.errors import CheckpointError
from srdistill.models.adaptor import FeatureAdaptor
from srdistill.models.discriminator import Discriminator
from srdistill.models.srresnet import MultiExitSRResNet, SRResNet, copy_first_blocks

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "SRResNet": SRResNet,
    "MultiExitSRResNet": MultiExitSRResNet,
    "Discriminator": Discriminator,
    "FeatureAdaptor": FeatureAdaptor,
}


# What a stored spec may say, per architecture: key -> (type, lowest, highest). A spec is
# untrusted input: it is checked against these and against the file's tensor shapes before
# anything is allocated.
_SPEC_KEYS: dict[str, dict[str, tuple[type, int, int]]] = {
    "SRResNet": {
        "scale": (int, 2, 8),
        "num_blocks": (int, 1, 1000),
        "num_features": (int, 1, 4096),
        "bicubic_skip": (bool, 0, 1),
    },
    "MultiExitSRResNet": {
        "scale": (int, 2, 8),
        "num_blocks": (int, 1, 1000),
        "num_features": (int, 1, 4096),
        "exits": (list, 0, 1000),
        "bicubic_skip": (bool, 0, 1),
    },
    "Discriminator": {"num_features": (int, 1, 4096), "in_channels": (int, 1, 64)},
    "FeatureAdaptor": {"channels": (list, 1, 1000)},
}


def check_spec(spec: object, source: str = "checkpoint") -> dict:
    """Validate an untrusted spec: a mapping with a known arch, known keys, sane values."""
    if not isinstance(spec, dict):
        raise CheckpointError(f"{source}: the model spec is not a mapping")
    arch = spec.get("arch")
    if arch not in _SPEC_KEYS:
        raise CheckpointError(f"{source}: unknown architecture {arch!r} in the model spec")
    allowed = _SPEC_KEYS[arch]
    for key, value in spec.items():
        if key == "arch":
            continue
        if key not in allowed:
            raise CheckpointError(f"{source}: unknown key {key!r} in the {arch} spec")
        kind, low, high = allowed[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if ok and kind is int:
            ok = low <= value <= high
        if ok and kind is list:
            flat = [v for item in value for v in (item if isinstance(item, list) else [item])]
            ok = len(value) <= high and all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in flat
            )
        if not ok:
            raise CheckpointError(f"{source}: {arch} spec value {key}={value!r} is out of range")
    if arch.endswith("SRResNet") and spec.get("scale", 4) not in (2, 3, 4, 8):
        raise CheckpointError(f"{source}: scale {spec.get('scale')} is not 2, 3, 4 or 8")
    return spec


def check_spec_against_shapes(spec: dict, shapes: dict[str, list[int]], source: str) -> None:
    """The spec must describe the tensors stored beside it (so building allocates no more
    than the file holds)."""
    arch = spec["arch"]

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{source}: the {arch} spec does not match its tensors ({what})")

    if arch in ("SRResNet", "MultiExitSRResNet"):
        f = spec.get("num_features", 64)
        if shapes.get("head.0.weight") != [f, 3, 9, 9]:
            raise bad(f"head.0.weight is {shapes.get('head.0.weight')}, not [{f}, 3, 9, 9]")
        blocks = {k.split(".")[1] for k in shapes if k.startswith("body.")}
        if len(blocks) != spec.get("num_blocks", 16):
            raise bad(f"{len(blocks)} residual blocks stored, {spec.get('num_blocks')} declared")
    elif arch == "Discriminator":
        f = spec.get("num_features", 64)
        first = next((v for k, v in shapes.items() if k.endswith("weight") and len(v) == 4), None)
        if first is None or first[0] != f:
            raise bad(f"first conv has {first and first[0]} filters, {f} declared")


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
    "check_spec",
    "check_spec_against_shapes",
    "Discriminator",
    "FeatureAdaptor",
    "MultiExitSRResNet",
    "SRResNet",
    "build_model",
    "copy_first_blocks",
]
