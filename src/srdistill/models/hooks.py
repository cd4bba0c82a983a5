"""Read intermediate features through forward hooks on named modules (as torchdistill).

A model file never grows distillation plumbing: the caller names the modules
(``named_modules()`` names such as ``body.3``) and reads their outputs after a forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class FeatureTap:
    """Keeps the latest output of each named module of ``model``.

    >>> tap = FeatureTap(model, ["body.3"]); model(x); tap.features["body.3"]
    """

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            blocks = [n for n in modules if n.count(".") == 1 and n.startswith("body.")]
            hint = f" (residual blocks: {blocks[0]}..{blocks[-1]})" if blocks else ""
            raise ValueError(f"{type(model).__name__} has no module {missing[0]!r}{hint}")
        self.features: dict[str, torch.Tensor] = {}
        self._handles = [
            modules[n].register_forward_hook(self._keeper(n)) for n in dict.fromkeys(names)
        ]

    def _keeper(self, name: str):  # noqa: ANN202
        def keep(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            self.features[name] = output

        return keep

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
