"""The runner reuses a finished run only if it was trained with the requested settings."""

import pytest
import yaml

from srdistill.config import config_from_dict
from srdistill.errors import ConfigError
from srdistill.reproduce.runner import command_line, reuse_differences, train_unless_finished
from tests.conftest import tiny_config


def plain(tmp_path, image_dirs, **changes):
    raw = tiny_config(tmp_path, image_dirs, method="plain", **changes)
    raw["model"] = {"arch": "srresnet", "num_blocks": 1, "num_features": 4}
    return config_from_dict(raw)


def test_a_finished_run_with_other_steps_is_refused_naming_the_key(tmp_path, image_dirs):
    """The reported case: a 10-step smoke test, then the same command with 12 steps."""
    run_dir = train_unless_finished(plain(tmp_path, image_dirs, train__steps=4))
    before = (run_dir / "status.json").read_text()
    with pytest.raises(ConfigError, match=r"train\.steps: 4 -> 5") as info:
        train_unless_finished(plain(tmp_path, image_dirs, train__steps=5))
    assert "\n" not in str(info.value) and "--out" in str(info.value)
    assert (run_dir / "status.json").read_text() == before  # nothing trained or replaced


def test_settings_that_only_say_how_it_ran_do_not_block_reuse(tmp_path, image_dirs):
    run_dir = train_unless_finished(plain(tmp_path, image_dirs, train__steps=4))
    again = plain(tmp_path, image_dirs, train__steps=4, train__threads=2, train__log_every=2)
    assert reuse_differences(run_dir, again) == []
    assert train_unless_finished(again) == run_dir


def test_every_differing_key_is_listed(tmp_path, image_dirs):
    run_dir = train_unless_finished(plain(tmp_path, image_dirs, train__steps=4))
    other = plain(tmp_path, image_dirs, train__steps=4, seed=4, plain__loss="mse")
    assert reuse_differences(run_dir, other) == ["plain.loss: 'l1' -> 'mse'", "seed: 3 -> 4"]
    # A teacher or start path is compared as set or not (its path differs by machine).
    moved = plain(tmp_path, image_dirs, train__steps=4, plain__init_from=str(run_dir))
    (diff,) = reuse_differences(run_dir, moved)
    assert diff.startswith("plain.init_from: None -> '/") and len(diff) < 100  # bounded
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    saved["plain"]["init_from"] = "/elsewhere/teacher.safetensors"
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
    assert reuse_differences(run_dir, moved) == []


def test_run_config_refuses_the_stand_in_vgg_but_not_pixel_content(tmp_path):
    from srdistill.errors import ConfigError
    from srdistill.reproduce.runner import run_config

    base = ["mutual.init_from=x", "mutual.vgg_weights=random"]
    with pytest.raises(ConfigError, match="refuse the stand-in VGG"):
        run_config("mutual/x4_ml.yaml", "paper", 0, tmp_path, [*base, "mutual.content_loss=vgg"])
    cfg = run_config("mutual/x4_ml.yaml", "quick", 0, tmp_path, base)  # quick: pixel_mse
    assert cfg.mutual.content_loss == "pixel_mse"


def test_a_run_older_than_a_changed_default_is_not_reused_for_todays_config(tmp_path):
    """peer_images' default became "own": a cohort saved before the key existed trained
    with "same", so it is not the run asked for today, and the refusal names the key."""
    from srdistill.config import load_config

    cfg = load_config("mutual/x4_ml", "quick", ["mutual.init_from=x"])
    run = tmp_path / "run"
    run.mkdir()
    raw = cfg.to_dict()
    del raw["mutual"]["peer_images"]
    (run / "config.yaml").write_text(yaml.safe_dump(raw))
    assert reuse_differences(run, cfg) == ["mutual.peer_images: 'same' -> 'own'"]


def test_command_line_keeps_what_changes_numbers_and_drops_how_runs_execute():
    line = command_line(
        "study-b",
        "study",
        3,
        ["train.threads=1", "train.progress=false", "train.steps=400", "train.device=cuda"],
    )
    assert line == "srdistill reproduce study-b --preset study --seeds 3 -o train.steps=400"


def test_a_teacher_path_of_any_method_is_compared_as_set_or_not(tmp_path):
    """DUKD's section (like a plugin's) names its teacher too: another --out moves the
    path, not the teacher (which the record's fingerprint identifies)."""
    from srdistill.config import load_config

    saved = load_config("study_c/dukd", "study", ["dukd.teacher=/runs/a/teacher.safetensors"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved.to_dict()))
    moved = load_config("study_c/dukd", "study", ["dukd.teacher=/tmp/b/teacher.safetensors"])
    assert reuse_differences(run_dir, moved) == []
    other = load_config("study_c/dukd", "study", ["dukd.teacher=/x.safetensors", "seed=5"])
    assert reuse_differences(run_dir, other) == ["seed: 0 -> 5"]
