"""Weight files written by other codebases (the authors' repositories, BasicSR): how an
architecture module recognises one from its tensor names and shapes and maps it onto its
own network (spandrel's approach: no code from the file is run, only tensors are read).

An architecture module registers one ``ForeignLayout`` per key layout it accepts. The
importer (``srdistill.deploy.importer``) reads the file safely, strips wrapper prefixes,
asks every layout's ``detect`` and calls the one that matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from srdistill.errors import CheckpointError

State = dict[str, torch.Tensor]


@dataclass
class ImportRequest:
    """What the user asked for beside the file."""

    source: str  # the file, for messages
    scale: int | None = None  # which upsampler (multi-scale files) or a check (single-scale)
    rgb_range: float | None = None  # overrides the layout's pixel range where it is a guess
    notes: list[str] = field(default_factory=list)  # what was inferred, told to the user


@dataclass(frozen=True)
class ForeignLayout:
    name: str  # e.g. "IMDN (Zheng222/IMDN)"
    detect: Callable[[State], bool]  # whether these tensor names are this layout
    convert: Callable[[State, ImportRequest], nn.Module]  # network with the weights loaded


LAYOUTS: list[ForeignLayout] = []


def register_layout(layout: ForeignLayout) -> ForeignLayout:
    LAYOUTS.append(layout)
    return layout


def count_indexed(state: State, pattern: str) -> int:
    """How many consecutive indices ``{i}`` (from ``start`` 0 or 1 as the pattern says)
    exist: ``count_indexed(s, r"IMDB(\\d+)\\.c1\\.weight")`` counts IMDB1.., IMDB2.."""
    found = {int(m.group(1)) for k in state if (m := re.fullmatch(pattern, k))}
    if not found:
        return 0
    start = min(found)
    n = 0
    while start + n in found:
        n += 1
    if n != len(found):
        raise CheckpointError(f"the blocks matching {pattern!r} are not numbered consecutively")
    return n


def shape(state: State, key: str) -> list[int]:
    if key not in state:
        raise CheckpointError(f"tensor {key} is missing")
    return list(state[key].shape)


def scale_of_subpixel(channels_out: int, channels_in: int, source: str) -> int:
    """The factor r of a conv producing ``channels_in * r^2`` channels for PixelShuffle(r)."""
    r = math.isqrt(channels_out // channels_in) if channels_out % channels_in == 0 else 0
    if r < 2 or r * r * channels_in != channels_out:
        raise CheckpointError(
            f"{source}: the upsampler makes {channels_out} channels from {channels_in}, "
            "not a PixelShuffle factor"
        )
    return r


def check_scale(found: int, request: ImportRequest) -> int:
    if request.scale is not None and request.scale != found:
        raise CheckpointError(
            f"{request.source} is a x{found} network but --scale {request.scale} was asked; "
            f"drop --scale or pass --scale {found}"
        )
    return found


Rule = tuple[str, "str | Callable[[re.Match[str]], str]"]


def shifted(template: str, *groups: int) -> Callable[[re.Match[str]], str]:
    """A replacement that numbers from 0 what the file numbers from 1: ``shifted(
    "blocks.{0}.{1}", 1)`` turns group 1 into ``int - 1`` and fills the other groups as is."""

    def replace(m: re.Match[str]) -> str:
        values = [str(int(g) - 1) if i + 1 in groups else g for i, g in enumerate(m.groups())]
        return template.format(*values)

    return replace


def rename(state: State, rules: list[Rule], source: str) -> State:
    """Every key mapped by the first rule (regex, replacement) whose pattern matches it whole
    (a string replacement may use \\1 groups; an empty one drops the tensor); a key no
    rule maps is an unknown key (one line naming it)."""
    out: State = {}
    for key, value in state.items():
        for pattern, replacement in rules:
            m = re.fullmatch(pattern, key)
            if m:
                new = m.expand(replacement) if isinstance(replacement, str) else replacement(m)
                if new:
                    out[new] = value
                break
        else:
            raise CheckpointError(
                f"{source}: unknown tensor {key!r} for this layout; the file is not a plain "
                "network of a supported architecture (`srdistill weights import --help` lists them)"
            )
    return out


def load_exact(net: nn.Module, state: State, source: str) -> nn.Module:
    """Load ``state`` into ``net``: the same names and shapes, floats only, or one line."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
        raise CheckpointError(
            f"{source}: the tensors do not form a {type(net).__name__} "
            f"({len(missing)} missing, {len(extra)} unexpected; {what})"
        )
    for key, value in own.items():
        if list(state[key].shape) != list(value.shape):
            raise CheckpointError(
                f"{source}: {key} is {list(state[key].shape)}, a {type(net).__name__} of the "
                f"inferred size needs {list(value.shape)}"
            )
        if not state[key].is_floating_point():
            raise CheckpointError(f"{source}: {key} is {state[key].dtype}, not floating point")
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval()


def mean_shift_range(state: State, key: str, mean: tuple[float, ...], source: str) -> float:
    """The pixel range of a stored MeanShift 1x1 conv (identity weights, bias ±range x mean):
    1 or 255. Anything else (a per-channel std, another mean) is refused."""
    weight, bias = state[f"{key}.weight"].float(), state[f"{key}.bias"].float()
    if list(weight.shape) != [3, 3, 1, 1] or not torch.allclose(
        weight.view(3, 3), torch.eye(3), atol=1e-6
    ):
        raise CheckpointError(f"{source}: {key} is not a plain mean shift (its weights differ)")
    ratio = bias.abs() / torch.tensor(mean)
    for candidate in (1.0, 255.0):
        if torch.allclose(ratio, torch.full((3,), candidate), rtol=1e-3):
            return candidate
    raise CheckpointError(
        f"{source}: {key} shifts by {bias.tolist()}, not the DIV2K mean {list(mean)} "
        "at range 1 or 255"
    )
