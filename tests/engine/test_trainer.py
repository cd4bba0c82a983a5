import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from safetensors.torch import load_file

from srdistill.config import config_from_dict
from srdistill.engine import cpu_has_native_bf16
from srdistill.engine.logging import read_metrics
from srdistill.errors import ConfigError, SrdistillError
from srdistill.methods import train
from tests.conftest import tiny_config


def final_weights(run_dir, name="model"):
    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    return load_file(str(run_dir / "checkpoints" / latest / f"{name}.safetensors"))


def losses(run_dir):
    return [{k: v for k, v in m.items() if k != "sec_per_step"} for m in read_metrics(run_dir)]


def start_run(cfg_path, env_extra=None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "srdistill", "train", str(cfg_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def start_and_wait_for_checkpoint(tmp_path, raw):
    """Start `srdistill train` on ``raw`` in a subprocess; return it once a checkpoint exists."""
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump(raw))
    run_dir = tmp_path / "runs" / "tiny"
    proc = start_run(cfg_path)
    wait_for_checkpoint(run_dir, proc)
    return proc, run_dir


def wait_for_checkpoint(run_dir, proc, timeout=120):
    pointer = run_dir / "checkpoints" / "latest"
    deadline = time.time() + timeout
    while not pointer.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.01)


def test_records_run_metadata(tmp_path, image_dirs):
    cfg = config_from_dict(tiny_config(tmp_path, image_dirs))
    result = train(cfg)
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["seed"] == 3 and run["environment"]["packages"]["torch"]
    assert "commit" in run["environment"]["git"]
    assert yaml.safe_load((result.run_dir / "config.yaml").read_text())["seed"] == 3
    assert json.loads((result.run_dir / "status.json").read_text())["state"] == "complete"
    assert any("val/psnr_exit1" in m for m in read_metrics(result.run_dir))
    assert (result.run_dir / "tb").is_dir()


@pytest.mark.slow
def test_kill_and_resume_is_exact(tmp_path, image_dirs):
    raw = tiny_config(
        tmp_path,
        image_dirs,
        train__steps=150,
        train__ckpt_every=2,
        train__val_every=50,
        model__num_features=16,
    )
    reference = train(config_from_dict({**raw, "output_dir": str(tmp_path / "ref")}))
    proc, run_dir = start_and_wait_for_checkpoint(tmp_path, raw)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads((run_dir / "status.json").read_text())["step"]
    assert killed_at < 150, "the run finished before it could be killed"
    resumed = train(config_from_dict(raw), resume=True)
    assert resumed.step == 150
    ref_w, got_w = final_weights(reference.run_dir), final_weights(run_dir)
    for key in ref_w:
        assert torch.equal(ref_w[key], got_w[key]), key
    assert losses(run_dir) == losses(reference.run_dir)


@pytest.mark.slow
def test_sigterm_checkpoints_and_says_how_to_resume(tmp_path, image_dirs):
    raw = tiny_config(
        tmp_path, image_dirs, train__steps=100000, train__ckpt_every=50, model__num_features=16
    )
    proc, run_dir = start_and_wait_for_checkpoint(tmp_path, raw)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume" in err.decode()
    status = json.loads((run_dir / "status.json").read_text())
    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    assert latest == f"step_{status['step']:08d}"


def test_existing_run_folder_is_never_overwritten_silently(tmp_path, image_dirs):
    raw = tiny_config(tmp_path, image_dirs, train__steps=2)
    train(config_from_dict(raw))
    with pytest.raises(SrdistillError, match="already exists"):
        train(config_from_dict(raw))
    changed = {**raw, "seed": 4}
    with pytest.raises(ConfigError, match="'seed' differs"):
        train(config_from_dict(changed), resume=True)
    longer = tiny_config(tmp_path, image_dirs, train__steps=4)
    assert train(config_from_dict(longer), resume=True).step == 4
    assert train(config_from_dict(raw), overwrite=True).step == 2


def test_plain_method_and_bf16_run_warns_exactly_where_the_cpu_emulates_bf16(
    tmp_path, image_dirs, caplog
):
    raw = tiny_config(
        tmp_path,
        image_dirs,
        method="plain",
        model={"arch": "srresnet", "num_blocks": 1, "num_features": 8},
        train__precision="bf16",
        train__steps=3,
    )
    with caplog.at_level(logging.WARNING, logger="srdistill.engine.trainer"):
        result = train(config_from_dict(raw))
    assert result.step == 3 and "val/psnr_model" in result.metrics
    warned = any("emulated" in r.getMessage() for r in caplog.records)
    assert warned == (cpu_has_native_bf16() is False)


def test_metric_log_drops_lines_after_the_resumed_step(tmp_path):
    from srdistill.engine.logging import MetricLogger

    log = MetricLogger(tmp_path, 0, tensorboard=False)
    for step in (1, 2, 3):
        log.log(step, {"loss": float(step)})
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 4, "lo')  # a line cut by a kill
    MetricLogger(tmp_path, 2, tensorboard=False).close()
    assert [m["step"] for m in read_metrics(tmp_path)] == [1, 2]
    MetricLogger(tmp_path, 0, tensorboard=False).close()  # no checkpoint: start over
    assert read_metrics(tmp_path) == []


def test_each_resumption_is_recorded_as_a_session(tmp_path, image_dirs):
    raw = tiny_config(tmp_path, image_dirs, train__steps=2)
    train(config_from_dict(raw))
    train(config_from_dict(tiny_config(tmp_path, image_dirs, train__steps=4)), resume=True)
    record = json.loads((tmp_path / "runs" / "tiny" / "run.json").read_text())
    assert [s["started_at_step"] for s in record["sessions"]] == [0, 2]
    assert record["environment"]["packages"]["torch"]


def test_ema_is_an_engine_option_that_resumes_bit_exactly_and_deploys(tmp_path, image_dirs):
    """EMA of the deployed networks for any method, no edit to it: saved per checkpoint,
    restored exactly on resume, used by the loaders (and said)."""
    from safetensors.torch import load_file

    from srdistill.config import config_from_dict
    from srdistill.deploy.loading import load_sr_model
    from srdistill.methods import train

    def run(folder, steps, resume=False):
        raw = tiny_config(folder, image_dirs, train__steps=steps, train__ckpt_every=2)
        raw["train"]["ema_decay"] = 0.9
        return train(config_from_dict(raw), resume=resume).run_dir

    straight = run(tmp_path / "a", 4)
    half = run(tmp_path / "b", 2)
    resumed = run(tmp_path / "b", 4, resume=True)
    assert resumed == half
    ckpt_a = straight / "checkpoints" / "step_00000004"
    ckpt_b = resumed / "checkpoints" / "step_00000004"
    ema_files = sorted(p.name for p in ckpt_a.glob("ema_*.safetensors"))
    assert ema_files  # one per deployed network
    for name in ema_files + [n.removeprefix("ema_") for n in ema_files]:
        a, b = load_file(str(ckpt_a / name)), load_file(str(ckpt_b / name))
        assert all(torch.equal(a[k], b[k]) for k in a), name  # bit-exact across the resume
    live = load_file(str(ckpt_a / ema_files[0].removeprefix("ema_")))
    avg = load_file(str(ckpt_a / ema_files[0]))
    assert any(not torch.equal(live[k], avg[k]) for k in live)  # it really is an average
    loaded = load_sr_model(straight)
    assert loaded.source.name.startswith("ema_") and "(EMA weights)" in loaded.label


def test_gradient_accumulation_equals_the_step_on_the_whole_batch(tmp_path, image_dirs):
    """Two micro-batches of 2 with train.accumulate = 2 give the gradient of one batch of
    4 for a mean loss, through step_optimizer (which every method uses). The network here
    has no BatchNorm: with it (SRResNet, the SRGAN discriminator) statistics are per
    micro-batch, so accumulation is not the same as a larger batch."""
    import torch.nn.functional as F

    from srdistill.config import config_from_dict
    from srdistill.engine.distributed import DistInfo
    from srdistill.engine.method import Method, TrainingContext
    from srdistill.engine.trainer import build_method

    class ConvOnly(Method):
        def __init__(self, cfg, ctx):
            super().__init__(cfg, ctx)
            self.model = torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3, padding=1),
                                             torch.nn.PixelShuffle(2))  # fmt: skip
            self.networks["model"] = self.model
            self.add_optimizer("model", self.model.parameters())

        def train_step(self, lr, hr):
            loss = F.l1_loss(self.model(lr), hr)
            self.step_optimizer("model", loss, self.model.parameters())
            return {"loss": loss.detach()}

        def eval_networks(self):
            return {"model": self.model}

    cfg = config_from_dict(tiny_config(tmp_path, image_dirs))
    gen = torch.Generator().manual_seed(3)
    lr, hr = torch.rand(4, 3, 8, 8, generator=gen), torch.rand(4, 3, 16, 16, generator=gen)

    def step_gradients(micro_batches):
        """The gradient the optimizer stepped with (left in .grad after the step)."""
        ctx = TrainingContext(torch.device("cpu"), "fp32", DistInfo())
        method = build_method(cfg, ctx, ConvOnly)
        for index, (a, b) in enumerate(micro_batches):
            ctx.micro = (index, len(micro_batches))
            method.train_step(a, b)
        return {k: p.grad.clone() for k, p in method.networks["model"].named_parameters()}

    whole = step_gradients([(lr, hr)])
    halves = step_gradients([(lr[:2], hr[:2]), (lr[2:], hr[2:])])
    eps = torch.finfo(torch.float32).eps
    for key in whole:
        # The same sum in another order: float32 rounding, relative to the gradient's size.
        scale = whole[key].abs().max().item()
        assert torch.allclose(whole[key], halves[key], rtol=0, atol=64 * eps * scale), key
    first_half = step_gradients([(lr[:2], hr[:2])])
    assert any(not torch.allclose(whole[k], first_half[k]) for k in whole)


def test_accumulation_resumes_exactly(tmp_path, image_dirs):
    from safetensors.torch import load_file

    from srdistill.config import config_from_dict
    from srdistill.methods import train

    def run(folder, steps, resume=False):
        raw = tiny_config(folder, image_dirs, train__steps=steps, train__ckpt_every=2)
        raw["train"]["accumulate"] = 2
        return train(config_from_dict(raw), resume=resume).run_dir

    a = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    b = run(tmp_path / "b", 4, resume=True)
    for f in (a / "checkpoints" / "step_00000004").glob("*.safetensors"):
        x, y = load_file(str(f)), load_file(str(b / "checkpoints" / "step_00000004" / f.name))
        assert all(torch.equal(x[k], y[k]) for k in x), f.name


def test_fp16_trains_with_a_gradient_scaler_and_resumes_exactly(tmp_path, image_dirs):
    from srdistill.config import config_from_dict
    from srdistill.methods import train
    from srdistill.safe_load import load_tensors

    def run(folder, steps, resume=False):
        raw = tiny_config(folder, image_dirs, train__steps=steps, train__ckpt_every=2)
        raw["train"]["precision"] = "fp16"
        return train(config_from_dict(raw), resume=resume).run_dir

    a = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    b = run(tmp_path / "b", 4, resume=True)
    state = load_tensors(a / "checkpoints" / "step_00000004" / "state.pt", "state")
    assert state["grad_scaler"]["scale"] > 0  # the scale travels with the checkpoint
    for f in (a / "checkpoints" / "step_00000004").glob("*.safetensors"):
        x, y = load_file(str(f)), load_file(str(b / "checkpoints" / "step_00000004" / f.name))
        assert all(torch.equal(x[k], y[k]) for k in x), f.name


@pytest.mark.parametrize(
    "options", [{"precision": "bf16"}, {"grad_clip": 0.01}, {"ema_decay": 0.5, "accumulate": 2}]
)
def test_every_engine_option_resumes_bit_exactly(tmp_path, image_dirs, options):
    from srdistill.config import config_from_dict
    from srdistill.methods import train

    def run(folder, steps, resume=False):
        raw = tiny_config(folder, image_dirs, train__steps=steps, train__ckpt_every=2)
        raw["train"].update(options)
        return train(config_from_dict(raw), resume=resume).run_dir

    a = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    b = run(tmp_path / "b", 4, resume=True)
    files = list((a / "checkpoints" / "step_00000004").glob("*.safetensors"))
    assert files
    for f in files:
        x, y = load_file(str(f)), load_file(str(b / "checkpoints" / "step_00000004" / f.name))
        assert all(torch.equal(x[k], y[k]) for k in x), (options, f.name)


@pytest.mark.parametrize("options", [{}, {"ema_decay": 0.5, "accumulate": 2}])
def test_step_function_runs_the_training_loops_steps(tmp_path, image_dirs, options):
    """Benchmarks time the engine through step_function; it must be the loop's own step:
    the same calls give the weights (and EMA weights) a trained run checkpoints."""
    from srdistill.engine.trainer import step_function
    from srdistill.methods import METHODS

    raw = tiny_config(tmp_path / "run", image_dirs, train__steps=3, train__ckpt_every=3)
    raw["train"].update(options)
    cfg = config_from_dict(raw)
    run_dir = train(cfg).run_dir
    trained = final_weights(run_dir)
    step = step_function(config_from_dict(raw), METHODS[cfg.method])
    for _ in range(3):
        losses = step()
    assert torch.isfinite(losses["loss"])
    state = step.method.networks["model"].state_dict()
    assert trained.keys() == state.keys()
    assert all(torch.equal(trained[k], state[k]) for k in trained)
    if options.get("ema_decay"):
        averaged = final_weights(run_dir, "ema_model")
        mine = step.ema.averaged["model"].state_dict()
        assert all(torch.equal(averaged[k], mine[k]) for k in averaged)


def test_compile_runs_the_same_step_and_writes_the_same_checkpoints(tmp_path, image_dirs):
    """train.compile: the networks really go through torch.compile (dynamo records graphs),
    the first loss equals the eager one up to float32 reordering, checkpoints hold the same
    tensor names, and a compiled run resumes eagerly (the key is resumable)."""
    from torch._dynamo.utils import counters

    from tests.conftest import f32_tolerance

    def run(folder, steps, compile_, resume=False):
        raw = tiny_config(folder, image_dirs, train__steps=steps, train__ckpt_every=2)
        raw["data"]["val"] = ""
        raw["train"]["compile"] = compile_
        return train(config_from_dict(raw), resume=resume).run_dir

    torch._dynamo.reset()
    counters.clear()
    eager = run(tmp_path / "eager", 2, False)
    assert not counters["stats"]["unique_graphs"]
    compiled = run(tmp_path / "compiled", 2, True)
    assert counters["stats"]["unique_graphs"] > 0
    first_eager, first_compiled = (read_metrics(p)[0]["loss"] for p in (eager, compiled))
    # The same maths with reordered float32 reductions (conv sums over up to 8 x 9 inputs,
    # a mean over every output pixel): a loose multiple of float32 rounding, far below
    # what a wrong network or batch changes (the loss is about 0.1-0.3 here).
    assert first_eager == pytest.approx(first_compiled, abs=f32_tolerance(1.0, ulps=4096))
    assert final_weights(eager).keys() == final_weights(compiled).keys()
    resumed = run(tmp_path / "compiled", 4, False, resume=True)
    assert json.loads((resumed / "status.json").read_text())["state"] == "complete"


def lrs(run_dir):
    return [m["lr"] for m in read_metrics(run_dir) if "lr" in m]


def test_a_finished_cosine_run_continues_for_more_steps_and_says_the_lr_jumps(
    tmp_path, image_dirs, caplog
):
    def raw(steps, **changes):
        return tiny_config(tmp_path, image_dirs, train__steps=steps,
                           optim__schedule="cosine", optim__lr=1e-3, **changes)  # fmt: skip

    run = train(config_from_dict(raw(4))).run_dir
    assert lrs(run)[-1] == 0.0  # the cosine reached optim.min_lr
    with caplog.at_level(logging.WARNING):
        assert train(config_from_dict(raw(8)), resume=True).step == 8
    jump = [r.getMessage() for r in caplog.records if "redraws the cosine" in r.getMessage()]
    assert len(jump) == 1 and "optim.cosine_steps=4" in jump[0]
    # From the first resumed step on, the curve is the one drawn over 8 steps (the logged
    # lr is the one the next step uses): a fresh 8-step run logs the same values there.
    fresh = train(config_from_dict(raw(8, name="fresh"))).run_dir
    assert lrs(run)[4:] == lrs(fresh)[4:] and lrs(run)[4] > 0
    record = json.loads((run / "run.json").read_text())["sessions"][-1]
    assert record["steps_changed"]["train.steps"] == [4, 8]
    assert record["steps_changed"]["lr_before"] == 0.0 < record["steps_changed"]["lr_after"]


def test_continuing_with_the_old_cosine_span_keeps_the_curve(tmp_path, image_dirs, caplog):
    def raw(steps, **changes):
        return tiny_config(tmp_path, image_dirs, train__steps=steps,
                           optim__schedule="cosine", optim__min_lr=1e-5, **changes)  # fmt: skip

    run = train(config_from_dict(raw(4))).run_dir
    with caplog.at_level(logging.WARNING):
        train(config_from_dict(raw(6, optim__cosine_steps=4)), resume=True)
    assert not [r for r in caplog.records if "redraws" in r.getMessage()]
    assert lrs(run)[3:] == [pytest.approx(1e-5)] * 3  # held at min_lr after the old span
    changed = tiny_config(tmp_path, image_dirs, train__steps=8,
                          optim__schedule="cosine", optim__min_lr=2e-5)  # fmt: skip
    with pytest.raises(ConfigError, match="'optim.min_lr' differs"):  # other keys: refused
        train(config_from_dict(changed), resume=True)
