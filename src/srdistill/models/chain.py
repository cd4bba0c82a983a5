"""SR networks whose body is a chain of blocks, and what that shape makes possible.

A ``ChainNetwork`` computes

    h = head(lr);  f = body(h)  (body: nn.Sequential of blocks);  sr = reconstruct(recon, f, h, lr)

SRResNet (residual blocks), EDSR (residual blocks) and RCAN (residual groups) are chains.
For any of them:

- ``MultiExitChain`` adds exits: after chosen blocks k, a reconstruction of its own reads
  the chain's features, so head + body[:k] + exit k *is* the same architecture k blocks
  deep; ``extract_exit(k)`` copies it out as that light network (paper A).
- ``copy_first_blocks`` starts a shallower network as a deeper one cut after its first
  blocks, and ``slice_width`` starts a narrower one as a wider one's first channels (the
  student CSD trains inside its teacher), where the architecture's parameters allow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import torch
from torch import nn

from srdistill.models.registry import (
    NETWORKS,
    build_model,
    register_multi_exit_wrapper,
    register_network,
    spec_summary,
)


class ChainNetwork(nn.Module):
    """Base of chain networks. Subclasses build ``head``, ``body`` and ``recon`` and define
    ``reconstruct`` and ``new_reconstruction``; ``reconstruct`` may read only the network's
    sizes (plain attributes), never its modules, so a multi-exit copy can call it."""

    IS_GENERATOR: ClassVar[bool] = True
    DEPTH_KEY: ClassVar[str] = "num_blocks"  # the spec key holding len(body)
    # Whether a network of this class with fewer channels is, parameter for parameter, the
    # leading slice of a wider one (see slice_width).
    WIDTH_SLICEABLE: ClassVar[bool] = False
    WIDTH_KEY: ClassVar[str] = "num_features"

    scale: int
    head: nn.Module
    body: nn.Sequential
    recon: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.reconstruct(self.recon, self.body(h), h, x)

    def reconstruct(
        self, recon: nn.Module, features: torch.Tensor, head_out: torch.Tensor, lr: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define reconstruct()")

    def new_reconstruction(self) -> nn.Module:
        """A freshly initialised module of the same kind as ``recon`` (for an extra exit)."""
        raise NotImplementedError(f"{type(self).__name__} must define new_reconstruction()")

    def spec(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must define spec()")

    @property
    def depth(self) -> int:
        return len(self.body)

    @property
    def label(self) -> str:
        return f"{type(self).__name__}-{self.depth}"

    def feature_taps(self) -> list[str]:
        """Module names whose outputs are the chain's features, in order (for feature KD)."""
        return [f"body.{i}" for i in range(self.depth)]


@register_network
class MultiExitChain(nn.Module):
    """A chain network with extra exits after chosen blocks; the last block is the center.

    ``forward`` returns ``{k: SR image}`` for every exit k (the center is k = depth); with
    ``return_features=True`` also ``{k: features after block k}``.
    """

    IS_GENERATOR: ClassVar[bool] = True
    SPEC_KEYS: ClassVar[dict] = {"base": (dict, 0, 0), "exits": (list, 0, 1000)}

    def __init__(self, base: dict, exits: Sequence[int]) -> None:
        super().__init__()
        network = build_model(base)
        self._adopt(network, exits)

    @classmethod
    def around(cls, network: ChainNetwork, exits: Sequence[int]) -> MultiExitChain:
        """Give an already built chain network exits (its weights become the center's)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._adopt(network, exits)
        return self

    def _adopt(self, network: nn.Module, exits: Sequence[int]) -> None:
        if not isinstance(network, ChainNetwork):
            raise ValueError(f"{type(network).__name__} is not a chain of blocks: it has no exits")
        depth = network.depth
        chosen = sorted({int(k) for k in exits} | {depth})
        if chosen[0] < 1 or chosen[-1] > depth:
            raise ValueError(f"exits must lie in 1..{depth}, got {list(exits)}")
        self.base = network.spec()
        self.scale, self.num_blocks, self.exit_blocks = network.scale, depth, chosen
        self.head, self.body = network.head, network.body
        self.exits = nn.ModuleDict(
            {str(k): network.recon if k == depth else network.new_reconstruction() for k in chosen}
        )
        # Kept outside the module tree (a tuple): only its reconstruct(), which reads sizes.
        self._network = (network,)

    @property
    def side_exits(self) -> list[int]:
        return self.exit_blocks[:-1]

    @property
    def label(self) -> str:
        return f"multi-exit {self._network[0].label}"

    def forward(
        self,
        x: torch.Tensor,
        exits: Iterable[int] | None = None,
        return_features: bool = False,
    ) -> dict[int, torch.Tensor] | tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
        wanted = set(self.exit_blocks if exits is None else (int(k) for k in exits))
        unknown = wanted - set(self.exit_blocks)
        if unknown:
            raise ValueError(f"no exit after block(s) {sorted(unknown)}; have {self.exit_blocks}")
        reconstruct = self._network[0].reconstruct
        h = self.head(x)
        f = h
        outputs, features = {}, {}
        for i, block in enumerate(self.body[: max(wanted)], start=1):
            f = block(f)
            if i in wanted:
                outputs[i] = reconstruct(self.exits[str(i)], f, h, x)
                features[i] = f
        return (outputs, features) if return_features else outputs

    def forward_exit(self, x: torch.Tensor, exit_block: int) -> torch.Tensor:
        return self.forward(x, exits=[exit_block])[exit_block]  # type: ignore[index]

    def extract_exit(self, exit_block: int) -> nn.Module:
        """The standalone network ``exit_block`` blocks deep equal to this exit."""
        if exit_block not in self.exit_blocks:
            raise ValueError(f"no exit after block {exit_block}; have {self.exit_blocks}")
        depth_key = NETWORKS[self.base["arch"]].DEPTH_KEY  # type: ignore[attr-defined]
        device = next(self.parameters()).device
        light = build_model({**self.base, depth_key: exit_block})
        state = {}
        prefix = f"exits.{exit_block}."
        for key, value in self.state_dict().items():
            if key.startswith("head."):
                state[key] = value
            elif key.startswith("body."):
                if int(key.split(".")[1]) < exit_block:
                    state[key] = value
            elif key.startswith(prefix):
                state["recon." + key[len(prefix) :]] = value
        light.load_state_dict(state, strict=True)
        return light.to(device)

    def spec(self) -> dict:
        return {"arch": "MultiExitChain", "base": dict(self.base), "exits": self.side_exits}


def _depth_free(spec: dict, depth_key: str) -> dict:
    return {k: v for k, v in spec.items() if k != depth_key}


def copy_first_blocks(student: nn.Module, teacher: nn.Module) -> list[str]:
    """Make ``student`` the teacher cut after its first ``student.depth`` blocks.

    Both must be the same chain architecture with the same options but depth (the teacher
    at least as deep): head, blocks 0..k-1 and the reconstruction are copied, the slice
    CSD-style students start from. Returns the copied tensor names; raises ``ValueError``
    (one line) when the two networks cannot be paired this way.
    """
    fused = callable(getattr(student, "copy_first_blocks_from", None))  # IMDN, RFDN
    if not fused and not (isinstance(student, ChainNetwork) and isinstance(teacher, ChainNetwork)):
        raise ValueError(
            f"{type(teacher).__name__} -> {type(student).__name__}: only chain networks "
            "(SRResNet, EDSR, RCAN) and IMDN/RFDN can start as another's first blocks"
        )
    key = getattr(student, "DEPTH_KEY", "num_blocks")
    have, want = _depth_free(teacher.spec(), key), _depth_free(student.spec(), key)
    if have != want or teacher.spec()[key] < student.spec()[key]:
        raise ValueError(
            f"the source is {teacher.label} ({spec_summary(teacher.spec())}); this network "
            f"is {student.label} ({spec_summary(student.spec())}): "
            "give a source of the same architecture, scale, width and options with at "
            "least as many blocks"
        )
    if fused:
        return student.copy_first_blocks_from(teacher)  # type: ignore[operator]
    source = teacher.state_dict()
    own = student.state_dict()
    for name in own:
        own[name] = source[name].clone()  # body.i for i < k has the same name in both
    student.load_state_dict(own, strict=True)
    return list(own)


def slice_width(student: nn.Module, teacher: nn.Module) -> list[str]:
    """Make ``student`` the first channels of a wider ``teacher`` (CSD's inner student).

    Every tensor of the student is the leading block of the teacher's tensor of the same
    name (conv filters [:c_out, :c_in], biases and norms [:c], a sub-pixel conv's first
    c*r^2 outputs, which the shuffle turns into the first c channels). Valid only for
    architectures that declare ``WIDTH_SLICEABLE``, of the same options but width.
    """
    if not (
        isinstance(student, ChainNetwork)
        and type(student) is type(teacher)
        and student.WIDTH_SLICEABLE
    ):
        raise ValueError(
            f"{type(teacher).__name__} -> {type(student).__name__}: width slicing needs two "
            "networks of one width-sliceable architecture (SRResNet, EDSR, RCAN)"
        )
    key = student.WIDTH_KEY
    have = {k: v for k, v in teacher.spec().items() if k != key}
    want = {k: v for k, v in student.spec().items() if k != key}
    if have != want or teacher.spec()[key] < student.spec()[key]:
        raise ValueError(
            f"the source is {teacher.label} ({spec_summary(teacher.spec())}); this network is "
            f"{student.label} ({spec_summary(student.spec())}): give a source that differs "
            "only in being wider"
        )
    source = teacher.state_dict()
    own = student.state_dict()
    for name, value in own.items():
        wide = source[name]
        if value.dim() == 0:
            own[name] = wide.clone()
            continue
        own[name] = wide[tuple(slice(0, n) for n in value.shape)].clone()
    student.load_state_dict(own, strict=True)
    return list(own)


register_multi_exit_wrapper(MultiExitChain.around)
