"""Training that fails stops cleanly: a non-finite loss keeps the last finite checkpoint and
says so in one line (a NaN never reaches a checkpoint); SIGTERM during start-up leaves nothing."""

import json

import pytest
import torch
from safetensors.torch import load_file

from srdistill.config import config_from_dict
from srdistill.engine import TrainingDiverged
from srdistill.engine import train as train_with
from srdistill.methods import PlainMethod, train
from tests.conftest import tiny_config


class NaNWeightsAfterFour(PlainMethod):
    """Plain training whose weights are corrupted by a NaN after its fourth step, as an
    overflowing update would leave them."""

    calls = 0

    def train_step(self, lr, hr):
        out = super().train_step(lr, hr)
        type(self).calls += 1
        if type(self).calls == 4:
            with torch.no_grad():
                next(self.model.parameters()).view(-1)[0] = float("nan")
        return out


def plain(tmp_path, image_dirs, **changes):
    raw = tiny_config(tmp_path, image_dirs, method="plain", **changes)
    raw["model"] = {"arch": "srresnet", "num_blocks": 1, "num_features": 4}
    return config_from_dict(raw)


def test_nan_stops_training_and_the_finite_checkpoint_is_kept(tmp_path, image_dirs):
    NaNWeightsAfterFour.calls = 0
    cfg = plain(tmp_path, image_dirs, train__steps=12, train__ckpt_every=3, train__log_every=4)
    with pytest.raises(TrainingDiverged, match="step 3") as info:
        train_with(cfg, NaNWeightsAfterFour)
    assert "\n" not in str(info.value) and "optim.lr" in str(info.value)
    status = json.loads((cfg.run_dir / "status.json").read_text())
    assert status["state"] == "failed" and "non-finite" in status["reason"]
    steps = sorted(p.name for p in (cfg.run_dir / "checkpoints").glob("step_*"))
    assert len(steps) == 1 and int(steps[0].removeprefix("step_")) == 3, steps
    weights = load_file(next((cfg.run_dir / "checkpoints").glob("step_*/model.safetensors")))
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_a_huge_learning_rate_fails_instead_of_completing(tmp_path, image_dirs):
    """The reported case: -o optim.lr=1e6 went NaN and the run ended "complete"."""
    cfg = plain(tmp_path, image_dirs, train__steps=12, optim__lr=1e6)
    with pytest.raises(TrainingDiverged):
        train(cfg)
    status = cfg.run_dir / "status.json"
    assert not status.exists() or json.loads(status.read_text())["state"] != "complete"


class TermDuringStartUp(PlainMethod):
    """Plain training that receives SIGTERM while it is being built (start-up), as from a
    scheduler or `kill` while a long data set loads."""

    def __init__(self, cfg, ctx):
        import os
        import signal

        super().__init__(cfg, ctx)
        os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_during_start_up_is_one_line_and_leaves_nothing(tmp_path, image_dirs):
    from srdistill.engine import Interrupted

    cfg = plain(tmp_path, image_dirs, train__steps=4)
    with pytest.raises(Interrupted, match="before the first training step") as info:
        train_with(cfg, TermDuringStartUp)
    assert "\n" not in str(info.value)
    assert not cfg.run_dir.exists()  # no config.yaml or .lock left to block a rerun
    assert train(cfg).step == 4  # the same command then simply works


@pytest.fixture
def finished_run(tmp_path, image_dirs):
    raw = tiny_config(tmp_path, image_dirs, train__steps=4, train__ckpt_every=2)
    return train(config_from_dict(raw)).run_dir, raw


def _resume_to_six(run_dir, raw):
    raw = {**raw, "train": {**raw["train"], "steps": 6}}
    cfg = config_from_dict({**raw, "output_dir": str(run_dir.parent), "name": run_dir.name})
    return train(cfg, resume=True)


@pytest.mark.parametrize(
    "pointer", ["../../../etc", "/tmp", "step_00000004/../../x", "\xff\xfe junk"]
)
def test_a_forged_latest_pointer_is_ignored_for_the_newest_complete_checkpoint(
    finished_run, pointer
):
    from srdistill.engine.checkpoint import CheckpointManager

    run_dir, raw = finished_run
    (run_dir / "checkpoints" / "latest").write_text(pointer, errors="replace")
    assert CheckpointManager(run_dir).latest() == run_dir / "checkpoints" / "step_00000004"
    assert _resume_to_six(run_dir, raw).step == 6


def test_an_unreadable_run_json_is_kept_aside_and_the_resume_goes_on(finished_run, caplog):
    run_dir, raw = finished_run
    (run_dir / "run.json").write_text("{not json")
    assert _resume_to_six(run_dir, raw).step == 6
    assert (run_dir / "run.json.unreadable").read_text() == "{not json"  # nothing lost
    assert json.loads((run_dir / "run.json").read_text())["sessions"]
    assert "unreadable" in caplog.text


def test_a_training_state_of_the_wrong_structure_falls_back_to_an_older_checkpoint(
    finished_run,
):
    run_dir, raw = finished_run
    torch.save({"x": torch.zeros(1)}, run_dir / "checkpoints" / "step_00000004" / "state.pt")
    result = _resume_to_six(run_dir, raw)
    assert result.step == 6
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("step") == 3 for r in rows[-6:])  # steps 3.. were trained again from 2


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one_and_no_partial_files(
    finished_run, monkeypatch
):
    """ENOSPC cannot be produced on demand here, so the write itself is made to fail."""
    import errno

    from srdistill.engine import checkpoint as ckpt_mod

    run_dir, raw = finished_run
    before = sorted(p.name for p in (run_dir / "checkpoints").iterdir())

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt_mod.torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _resume_to_six(run_dir, raw)
    after = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert after == before  # no .tmp-step_* folder, the old ones and `latest` intact
    assert (run_dir / "checkpoints" / "latest").read_text() == "step_00000004"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and "No space left" in status.get("error", str(status))
