"""One writer per run folder, resume past a broken checkpoint, failed starts leave nothing,
and progress that reads well in a log file."""

import json
import re
import signal
import subprocess
import sys

import pytest
import torch
import yaml

from srdistill.config import config_from_dict
from srdistill.deploy.loading import load_sr_model
from srdistill.engine.lock import RunLocked
from srdistill.engine.logging import read_metrics
from srdistill.errors import ConfigError, DataError
from srdistill.methods import train
from tests.conftest import tiny_config
from tests.engine.test_trainer import final_weights, start_and_wait_for_checkpoint


def test_a_second_writer_is_refused_and_a_killed_holder_does_not_block(tmp_path, image_dirs):
    raw = tiny_config(
        tmp_path, image_dirs, train__steps=100000, train__ckpt_every=20, model__num_features=16
    )
    proc, run_dir = start_and_wait_for_checkpoint(tmp_path, raw)
    try:
        with pytest.raises(RunLocked, match=f"in use by PID {proc.pid} on ") as info:
            train(config_from_dict(raw), resume=True)
        assert "\n" not in str(info.value)
        with pytest.raises(RunLocked):  # --overwrite cannot pull the folder from under it
            train(config_from_dict(raw), overwrite=True)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    stopped_at = json.loads((run_dir / "status.json").read_text())["step"]
    raw["train"]["steps"] = stopped_at + 3
    assert train(config_from_dict(raw), resume=True).step == stopped_at + 3
    steps = [(m["step"], "loss" in m) for m in read_metrics(run_dir)]
    assert len(steps) == len(set(steps)), "a step is logged twice"


def test_resume_and_eval_skip_a_checkpoint_that_does_not_load(tmp_path, image_dirs, caplog):
    raw = tiny_config(tmp_path, image_dirs, train__ckpt_every=3, train__keep_checkpoints=3)
    reference = train(config_from_dict({**raw, "output_dir": str(tmp_path / "ref")}))
    run = train(config_from_dict(raw))
    broken = run.run_dir / "checkpoints" / "step_00000006" / "model.safetensors"
    broken.write_bytes(broken.read_bytes()[:100])  # truncated, as by a full disk
    caplog.set_level("WARNING")
    net = load_sr_model(run.run_dir).full  # eval falls back to step 3
    assert "skipping checkpoint step_00000006" in caplog.text
    assert isinstance(net, torch.nn.Module)
    assert train(config_from_dict(raw), resume=True).step == 6  # retrains 4..6 from step 3
    ref_w, got_w = final_weights(reference.run_dir), final_weights(run.run_dir)
    assert all(torch.equal(ref_w[k], got_w[k]) for k in ref_w)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"data": {"val": "NoSuchSet"}}, DataError),
        ({"self_distill": {"init_from": "missing/run"}}, Exception),
    ],
)
def test_a_start_that_fails_leaves_nothing_behind(tmp_path, image_dirs, change, error):
    raw = tiny_config(tmp_path, image_dirs)
    for key, value in change.items():
        raw[key] = {**raw.get(key, {}), **value}
    run_dir = tmp_path / "runs" / "tiny"
    for _ in range(2):  # the same command twice: the same error, never "already exists"
        with pytest.raises(error) as info:
            train(config_from_dict(raw))
        assert "already exists" not in str(info.value)
        assert not run_dir.exists()


def test_config_errors_stop_before_a_folder_is_made(tmp_path, image_dirs):
    raw = tiny_config(tmp_path, image_dirs, method="kd")
    with pytest.raises(ConfigError, match="kd.teacher"):
        train(config_from_dict(raw))
    assert not (tmp_path / "runs").exists()


def test_progress_in_a_log_file_is_plain_lines(tmp_path, image_dirs):
    raw = tiny_config(
        tmp_path,
        image_dirs,
        train__steps=250,
        train__progress=True,
        train__log_every=10,
        train__val_every=1000,
        train__ckpt_every=1000,
        model__num_features=4,
    )
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = subprocess.run(
        [sys.executable, "-m", "srdistill", "train", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("tiny: step")]
    pattern = r"tiny: step \d+/250 \(\d+%\) loss \d\.\d{4} [\d.]+ steps/s ETA \S+"
    assert lines and all(re.fullmatch(pattern, ln) for ln in lines), lines
    assert lines[-1].startswith("tiny: step 250/250 (100%)")


def test_a_moved_run_folder_resumes(tmp_path, image_dirs):
    from srdistill.cli import main

    raw = tiny_config(tmp_path, image_dirs, train__steps=3)
    run = train(config_from_dict(raw)).run_dir
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    run.rename(moved)
    assert main(["train", str(moved), "--resume", "-o", "train.steps=5"]) == 0
    assert json.loads((moved / "status.json").read_text())["step"] == 5


def test_a_run_that_stops_on_an_error_says_failed_with_the_reason(tmp_path, image_dirs):
    raw = tiny_config(tmp_path, image_dirs, train__steps=4, train__ckpt_every=2)
    run = train(config_from_dict(raw)).run_dir
    (run / "status.json").write_text(json.dumps({"state": "running", "step": 2, "total": 4}))
    ckpts = run / "checkpoints"
    for step in ckpts.glob("step_*"):
        (step / "state.pt").write_bytes(b"")  # nothing loads any more
    raw["train"]["steps"] = 6
    with pytest.raises(Exception, match="no checkpoint"):
        train(config_from_dict(raw), resume=True)
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "failed" and "no checkpoint" in status["reason"]


def test_written_files_get_the_users_umask(tmp_path, image_dirs):
    result = train(config_from_dict(tiny_config(tmp_path, image_dirs, train__steps=1)))
    weights = result.final_checkpoint / "model.safetensors"
    assert weights.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
