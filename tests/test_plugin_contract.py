"""The plugin contract: an architecture and a training method defined only here (no edit to
any srdistill file) register themselves and then go through every path a built-in one
does: train, resume through the CLI, evaluate, self-distil with exits, extract, upscale,
profile and export to ONNX.

docs/python.md's "Adding an architecture or a method" is written from this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srdistill.config import MethodOptions, ModelOptions, RunConfig, config_from_dict
from srdistill.engine.checkpoint import unwrap
from srdistill.errors import ConfigError
from srdistill.methods import Method, register_method
from srdistill.models import (
    Architecture,
    ChainNetwork,
    register_architecture,
    register_network,
)
from tests.conftest import f32_tolerance, tiny_config


# --- an architecture: a chain of conv-ReLU blocks and a sub-pixel tail ------------------
class ToyBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(self.conv(x))


class ToyTail(nn.Module):
    def __init__(self, scale: int, width: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(width, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, features: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(features + head))


@register_network
class ToyChain(ChainNetwork):
    SPEC_KEYS: ClassVar[dict] = {
        "scale": (int, 2, 8),
        "depth_blocks": (int, 1, 50),
        "width": (int, 1, 256),
    }
    DEPTH_KEY: ClassVar[str] = "depth_blocks"
    WIDTH_KEY: ClassVar[str] = "width"

    def __init__(self, scale: int = 2, depth_blocks: int = 3, width: int = 8) -> None:
        super().__init__()
        self.scale, self.width = scale, width
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Sequential(*[ToyBlock(width) for _ in range(depth_blocks)])
        self.recon = ToyTail(scale, width)

    def reconstruct(self, recon, features, head_out, lr):  # noqa: ANN001, ANN201
        return recon(features, head_out) + F.interpolate(lr, scale_factor=self.scale)

    def new_reconstruction(self) -> nn.Module:
        return ToyTail(self.scale, self.width)

    def spec(self) -> dict:
        return {"arch": "ToyChain", "scale": self.scale, "depth_blocks": self.depth,
                "width": self.width}  # fmt: skip


@dataclass
class ToyChainOptions(ModelOptions):
    arch: str = "toy_chain"
    depth_blocks: int = 3
    width: int = 8

    def check(self, cfg: RunConfig) -> None:
        if self.width < 2:
            raise ConfigError(f"model.width must be at least 2; got {self.width}")


register_architecture(
    Architecture(
        "toy_chain",
        ToyChainOptions,
        lambda scale, o: ToyChain(scale, o.depth_blocks, o.width),
        "a test's toy chain",
        depth_option="depth_blocks",
    )
)


# --- a method: L1 plus a total-variation penalty ---------------------------------------
@dataclass
class SmoothOptions(MethodOptions):
    tv_weight: float = 0.01

    def check(self, cfg: RunConfig, active: bool) -> None:
        if self.tv_weight < 0:
            raise ConfigError("toy_smooth.tv_weight must be >= 0")


@register_method("toy_smooth", SmoothOptions)
class SmoothMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: Any) -> None:
        super().__init__(cfg, ctx)
        from srdistill.models import build_generator

        self.model = ctx.prepare(build_generator(cfg.scale, cfg.model))
        self.networks["model"] = self.model
        self.add_optimizer("model", self.model.parameters())

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        with self.ctx.autocast():
            sr = self.model(lr)
        tv = (sr[..., 1:, :] - sr[..., :-1, :]).abs().mean()
        loss = F.l1_loss(sr.float(), hr) + self.options.tv_weight * tv.float()
        self.step_optimizer("model", loss, self.model.parameters())
        return {"loss": loss.detach(), "tv": tv.detach()}

    def eval_networks(self) -> dict:
        return {"model": unwrap(self.model)}


def toy_config(tmp_path, image_dirs, **changes) -> RunConfig:
    raw = tiny_config(tmp_path, image_dirs, **changes)
    raw["method"] = "toy_smooth"
    raw["model"] = {"arch": "toy_chain", "depth_blocks": 2, "width": 6}
    raw["toy_smooth"] = {"tv_weight": 0.05}
    return config_from_dict(raw)


def test_a_registered_architecture_and_method_are_configured_like_builtins(tmp_path, image_dirs):
    cfg = toy_config(tmp_path, image_dirs)
    assert cfg.toy_smooth.tv_weight == 0.05 and cfg.model.width == 6
    raw = cfg.to_dict()
    raw["model"]["widht"] = 3
    with pytest.raises(ConfigError, match="did you mean 'model.width'"):
        config_from_dict(raw)
    raw["model"] = {"arch": "toy_chian"}
    with pytest.raises(ConfigError, match="did you mean 'toy_chain'"):
        config_from_dict(raw)
    raw["model"] = {"arch": "toy_chain", "width": 1}
    with pytest.raises(ConfigError, match="model.width must be at least 2"):
        config_from_dict(raw)
    raw["model"] = {"arch": "multi_exit_toy_chain", "depth_blocks": 2, "exits": [2]}
    raw["method"] = "self_distill"
    with pytest.raises(ConfigError, match=r"model.exits \[2\] must lie in 1..1"):
        config_from_dict(raw)


def test_a_plugin_trains_resumes_evaluates_and_exports(tmp_path, image_dirs, capsys):
    from srdistill.cli import main
    from srdistill.deploy.loading import load_sr_model
    from srdistill.methods import train

    cfg = toy_config(tmp_path, image_dirs, train__steps=3, train__ckpt_every=3)
    run = train(cfg).run_dir
    record = json.loads((run / "run.json").read_text())
    assert (record["method"], record["architecture"]) == ("toy_smooth", "toy_chain")
    assert record["method_class"].endswith("test_plugin_contract.SmoothMethod")

    assert main(["train", str(run), "--resume", "-o", "train.steps=6"]) == 0
    assert "at step 6" in capsys.readouterr().out
    loaded = load_sr_model(run)
    assert isinstance(loaded.network, ToyChain) and loaded.label == "ToyChain-2"

    out = tmp_path / "eval"
    assert main(["eval", str(run), "--sets", str(image_dirs["test"]), "--out", str(out)]) == 0
    summary = json.loads((out / "eval_summary.json").read_text())
    assert "ToyChain-2" in json.dumps(summary)

    onnx = tmp_path / "toy.onnx"
    assert main(["export", str(run), "-o", str(onnx)]) == 0  # verified in onnxruntime
    assert onnx.stat().st_size > 0
    profile = tmp_path / "profile.md"
    assert main(["profile", str(run), "--input-size", "16x16", "--repeats", "1",
                 "--out", str(profile)]) == 0  # fmt: skip
    assert "ToyChain" in profile.read_text()
    upscaled = tmp_path / "up"
    assert main(["upscale", str(run), str(image_dirs["test"]), "-o", str(upscaled),
                 "--tile", "12"]) == 0  # fmt: skip
    assert len(list(upscaled.glob("*.png"))) == 2


def test_a_plugin_chain_gets_exits_self_distillation_and_extract(tmp_path, image_dirs):
    from srdistill.cli import main
    from srdistill.deploy.loading import load_sr_model
    from srdistill.methods import train

    raw = tiny_config(tmp_path, image_dirs, train__steps=3, train__ckpt_every=3)
    raw["model"] = {"arch": "multi_exit_toy_chain", "depth_blocks": 3, "width": 6, "exits": [1]}
    run = train(config_from_dict(raw)).run_dir
    full = load_sr_model(run).full
    assert full.exit_blocks == [1, 3]
    light_path = tmp_path / "exit1.safetensors"
    assert main(["extract", str(run), "--exit", "1", "-o", str(light_path)]) == 0
    light = load_sr_model(light_path).network
    assert isinstance(light, ToyChain) and light.depth == 1
    x = torch.rand(1, 3, 10, 10)
    with torch.no_grad():
        # The same float32 operations in the same order: equal to float32 rounding of
        # outputs of magnitude about 1 (the tolerance follows from the dtype).
        ref = full.forward_exit(x, 1)
        tol = f32_tolerance(float(ref.abs().max()), 1.0)
        assert (light(x) - ref).abs().max() <= tol


def test_an_unregistered_method_class_is_recorded_as_unregistered(tmp_path, image_dirs):
    from srdistill.engine import train as engine_train

    class Unlisted(SmoothMethod):
        pass

    run = engine_train(toy_config(tmp_path, image_dirs, train__steps=1), Unlisted).run_dir
    assert json.loads((run / "run.json").read_text())["method"] is None
