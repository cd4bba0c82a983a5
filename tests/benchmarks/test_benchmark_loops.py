"""benchmarks/: the bare loop the engine is timed against trains the same network on the
same batches as the engine, so the overhead it reports is the engine's code and nothing
else; the per-architecture benchmark runs end to end."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from srdistill.config import load_config
from srdistill.engine.trainer import step_function
from srdistill.methods import METHODS
from tests.conftest import f32_tolerance

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _module(name: str):  # noqa: ANN202
    sys.path.insert(0, str(BENCHMARKS))  # architectures.py imports train_overhead
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny(config: str, train_dir: Path, *extra: str):  # noqa: ANN202
    return load_config(
        config,
        "quick",
        [
            "model.num_blocks=2",
            "model.num_features=16",
            "train.batch_size=2",
            "data.patch_size=32",
            f"data.train=[{train_dir}]",
            "optim.schedule=step",  # constant lr: the bare loop has no scheduler
            "optim.milestones=[]",
            *extra,
        ],
    )


@pytest.mark.parametrize("config", ["architectures/imdn", "self_distill/srresnet32_exit8"])
def test_bare_loop_on_the_engines_batches_trains_the_engines_weights(config, image_dirs):
    bare_step = _module("train_overhead").bare_step
    exits = ["model.exits=[1]"] if "exit" in config else []
    cfg = _tiny(config, image_dirs["train"], *exits)
    bare = bare_step(cfg, fresh_batches=True)
    engine = step_function(cfg, METHODS[cfg.method])
    (net,) = engine.method.networks.values()
    start = {k: v.clone() for k, v in bare.net.state_dict().items()}
    assert all(torch.equal(start[k], v) for k, v in net.state_dict().items())  # same init
    for _ in range(3):
        bare()
        engine()
    moved = False
    for k, v in net.state_dict().items():
        w = bare.net.state_dict()[k]
        scale = float(w.abs().max()) + 1e-3
        assert torch.allclose(v, w, rtol=0, atol=f32_tolerance(scale, ulps=64)), k
        moved |= not torch.equal(w, start[k])
    assert moved
    # On one pre-made batch the bare loop is another training (batch 1 every step).
    fixed = bare_step(cfg)
    for _ in range(3):
        fixed()
    assert any(not torch.equal(fixed.net.state_dict()[k], v) for k, v in net.state_dict().items())


def test_architecture_benchmark_measures_every_loop(image_dirs):
    architectures = _module("architectures")
    m = architectures.measure(
        "architectures/imdn",
        rounds=3,
        batch=2,
        extra=[
            "model.num_blocks=2",
            "model.num_features=16",
            "data.patch_size=32",
            f"data.train=[{image_dirs['train']}]",
        ],
    )
    assert m["bare_ms"] > 0 and m["engine_ms"] > 0
    for key in ("overhead", "code", "ema", "bf16"):
        median, mean, low, high = m[key]
        assert low <= mean <= high and median > -100
