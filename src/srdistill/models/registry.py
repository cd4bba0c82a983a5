"""Where networks and architectures register.

Two tables, filled when a model module is imported:

- ``NETWORKS``: stored-spec name -> network class. ``save_module`` writes ``net.spec()``
  (``{"arch": class name, ...constructor arguments}``) beside the weights; ``load_module``
  validates that untrusted spec against the class's ``SPEC_KEYS``, builds the network on
  the ``meta`` device (nothing allocated) to compare its tensor names and shapes with the
  file's, and only then builds it for real.
- ``ARCHITECTURES``: config name (``model.arch``) -> ``Architecture``: its options class
  (validated by the config machinery, with did-you-mean) and its builder. An architecture
  whose body is a chain of blocks (``ChainNetwork``) also gets ``multi_exit_<name>``, the
  form paper A's self-distillation trains.

A new architecture is one module that defines its network class (decorated with
``register_network``), its options dataclass and one ``register_architecture`` call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from srdistill.errors import CheckpointError, ConfigError
from srdistill.schema import ModelOptions, RunConfig, register_model_options

# key -> (type, lowest, highest): what a stored spec may say. Lists hold ints in 1..4096
# (at most ``highest`` of them); a dict is a nested spec.
SpecKeys = dict[str, tuple[type, float, float]]

NETWORKS: dict[str, type[nn.Module]] = {}


def register_network(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: ``cls`` can be rebuilt from a stored spec. It must define
    ``SPEC_KEYS`` and ``spec()``; ``spec()["arch"]`` is the class name."""
    if not isinstance(getattr(cls, "SPEC_KEYS", None), dict) or not callable(
        getattr(cls, "spec", None)
    ):
        raise TypeError(f"{cls.__name__} must define SPEC_KEYS (a dict) and spec() to register")
    NETWORKS[cls.__name__] = cls
    return cls


@dataclass(frozen=True)
class Architecture:
    """What ``model.arch: <name>`` means."""

    name: str
    options: type  # a ModelOptions subclass
    build: Callable[[int, Any], nn.Module]  # (scale, options) -> network
    summary: str  # one line for --help and listings
    multi_exit: bool = False
    # For chain networks: the option holding the number of chained blocks (exits lie
    # after blocks 1..depth-1); a multi_exit_<name> form is registered with it.
    depth_option: str | None = None


ARCHITECTURES: dict[str, Architecture] = {}
# Gives a built chain network its exits: set by models/chain.py when it is imported (the
# chain module builds on this registry, so the registry cannot import it).
_MULTI_EXIT_WRAPPER: list[Callable[[nn.Module, list[int]], nn.Module]] = []


def register_multi_exit_wrapper(wrap: Callable[[nn.Module, list[int]], nn.Module]) -> None:
    """Declare how a chain network gets exits (``MultiExitChain.around``)."""
    _MULTI_EXIT_WRAPPER[:] = [wrap]


def register_architecture(arch: Architecture) -> Architecture:
    """Make ``arch`` available as ``model.arch``; for a chain network (``depth_option``
    set) also register its multi-exit form ``multi_exit_<name>``."""
    register_model_options(arch.name, arch.options, arch.multi_exit)
    ARCHITECTURES[arch.name] = arch
    if arch.depth_option and not arch.multi_exit:
        multi = _multi_exit_form(arch)
        register_model_options(multi.name, multi.options, True)
        ARCHITECTURES[multi.name] = multi
    return arch


def _multi_exit_form(arch: Architecture) -> Architecture:
    depth_option = arch.depth_option

    def check(self: Any, cfg: RunConfig) -> None:
        arch.options.check(self, cfg)
        check_exits(self.exits, getattr(self, depth_option), depth_option)

    options = dataclasses.make_dataclass(
        "MultiExit" + arch.options.__name__,
        [
            ("arch", str, dataclasses.field(default="multi_exit_" + arch.name)),
            ("exits", list[int], dataclasses.field(default_factory=list)),
        ],
        bases=(arch.options,),
        namespace={
            "check": check,
            "__doc__": f"{arch.summary}, with exits after the blocks listed in ``exits``.",
        },
    )

    def build(scale: int, opts: Any) -> nn.Module:
        if not _MULTI_EXIT_WRAPPER:
            raise ConfigError(
                f"model.arch multi_exit_{arch.name} needs srdistill.models.chain: import "
                "srdistill.models"
            )
        return _MULTI_EXIT_WRAPPER[0](arch.build(scale, opts), opts.exits)

    return Architecture(
        "multi_exit_" + arch.name,
        options,
        build,
        f"{arch.summary}, multi-exit (self-distillation)",
        multi_exit=True,
        depth_option=depth_option,
    )


def check_exits(exits: list[int], depth: int, depth_option: str = "num_blocks") -> None:
    """Exits of a multi-exit network lie after blocks 1..depth-1 (the center is ``depth``)."""
    if not exits:
        raise ConfigError(
            f"model.exits is empty: a multi-exit network needs at least one side exit "
            f"(e.g. model.exits: [{max(depth // 2, 1)}])"
        )
    repeated = sorted({k for k in exits if exits.count(k) > 1})
    if repeated:
        raise ConfigError(
            f"model.exits lists block {repeated[0]} more than once ({exits}); list each exit once"
        )
    outside = [k for k in exits if not 1 <= k < depth]
    if outside:
        raise ConfigError(
            f"model.exits {outside} must lie in 1..{depth - 1} (model.{depth_option})"
        )


def build_generator(scale: int, options: ModelOptions) -> nn.Module:
    """The network ``model: {arch: ..., ...}`` describes, freshly initialised."""
    arch = ARCHITECTURES.get(options.arch)
    if arch is None:
        raise ConfigError(f"unknown model.arch {options.arch!r}; have {', '.join(ARCHITECTURES)}")
    return arch.build(scale, options)


def check_spec(spec: object, source: str = "checkpoint") -> dict:
    """Validate an untrusted spec: a mapping with a known arch, known keys, sane values."""
    if not isinstance(spec, dict):
        raise CheckpointError(f"{source}: the model spec is not a mapping")
    arch = spec.get("arch")
    if not isinstance(arch, str) or arch not in NETWORKS:
        raise CheckpointError(f"{source}: unknown architecture {arch!r} in the model spec")
    allowed: SpecKeys = NETWORKS[arch].SPEC_KEYS  # type: ignore[attr-defined]
    for key, value in spec.items():
        if key == "arch":
            continue
        if key not in allowed:
            raise CheckpointError(f"{source}: unknown key {key!r} in the {arch} spec")
        kind, low, high = allowed[key]
        if kind is dict:
            check_spec(value, source)
            continue
        if not _value_ok(value, kind, low, high):
            raise CheckpointError(f"{source}: {arch} spec value {key}={value!r} is out of range")
    if "scale" in allowed and spec.get("scale", 4) not in (2, 3, 4, 8):
        raise CheckpointError(f"{source}: scale {spec.get('scale')} is not 2, 3, 4 or 8")
    return spec


def _value_ok(value: object, kind: type, low: float, high: float) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and math.isfinite(value) and low <= value <= high
    if kind is list:
        if not isinstance(value, list) or len(value) > high:
            return False
        flat = [v for item in value for v in (item if isinstance(item, list) else [item])]
        return all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in flat)
    return isinstance(value, kind)


def _construct(spec: dict) -> nn.Module:
    arch = spec["arch"]
    kwargs = {k: v for k, v in spec.items() if k != "arch"}
    try:
        return NETWORKS[arch](**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot build {arch} from checkpoint spec {kwargs}: {exc}") from None


def check_spec_against_shapes(spec: dict, shapes: dict[str, list[int]], source: str) -> None:
    """The spec must describe exactly the tensors stored beside it: the network is built on
    the meta device (no memory) and its tensor names and shapes compared with the file's,
    so a lying spec never allocates more than the file holds."""
    with torch.device("meta"):
        skeleton = _construct(spec)
    expected = {k: list(v.shape) for k, v in skeleton.state_dict().items()}
    arch = spec["arch"]

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{source}: the {arch} spec does not match its tensors ({what})")

    missing = [k for k in expected if k not in shapes]
    if missing:
        raise bad(f"{len(missing)} tensors the spec implies are absent, first {missing[0]}")
    extra = [k for k in shapes if k not in expected]
    if extra:
        raise bad(f"{len(extra)} tensors the spec does not have, first {extra[0]}")
    for key, shape in expected.items():
        if shapes[key] != shape:
            raise bad(f"{key} is {shapes[key]}, the spec implies {shape}")


def build_model(spec: dict) -> nn.Module:
    """Rebuild a network from ``net.spec()`` (as stored in checkpoints)."""
    arch = spec.get("arch")
    if arch not in NETWORKS:
        raise CheckpointError(f"unknown architecture '{arch}' in checkpoint")
    return _construct(spec)


def spec_summary(spec: dict) -> str:
    """A spec in words: {"arch": "EDSR", "scale": 4, "num_blocks": 16, ...} ->
    "x4, 16 blocks, 64 features, res_scale 1.0"."""
    parts = []
    for key, value in spec.items():
        if key == "arch":
            continue
        if key == "scale":
            parts.append(f"x{value}")
        elif key.startswith("num_"):
            parts.append(f"{value} {key[4:]}")
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def describe(net: nn.Module) -> str:
    """A short name for listings and labels, e.g. ``SRResNet-16`` or ``EDSR-16x64``."""
    label = getattr(net, "label", None)
    return label if isinstance(label, str) else type(net).__name__


def has_exits(net: nn.Module) -> bool:
    """Whether ``net`` is a multi-exit network (it can cut out an exit as a plain one)."""
    return callable(getattr(net, "extract_exit", None))


def depth_of(net: nn.Module) -> int | None:
    """The number of chained blocks (a chain's ``depth``, else ``num_blocks``), if any."""
    value = getattr(net, "depth", getattr(net, "num_blocks", None))
    return value if isinstance(value, int) else None


def is_generator(net: nn.Module) -> bool:
    """Whether ``net`` maps an LR image to an SR image (not a discriminator or adaptor)."""
    return bool(getattr(net, "IS_GENERATOR", False))
