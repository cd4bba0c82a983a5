"""Method plain reads its own section; options meant for another method are reported, and a
run saved before a section existed still resumes."""

import logging

import yaml

from srdistill.config import config_from_dict
from srdistill.engine.trainer import train as train_with
from srdistill.methods import PlainMethod, ignored_sections, train
from tests.conftest import tiny_config


def plain_config(tmp_path, image_dirs, **changes):
    raw = tiny_config(tmp_path, image_dirs, method="plain", **changes)
    raw["model"] = {"arch": "srresnet", "num_blocks": 1, "num_features": 4}
    return raw


def final_loss(run_dir):
    rows = [yaml.safe_load(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def test_plain_loss_comes_from_its_own_section(tmp_path, image_dirs):
    l1 = train(config_from_dict(plain_config(tmp_path / "a", image_dirs)))
    mse = train(config_from_dict(plain_config(tmp_path / "b", image_dirs, plain__loss="mse")))
    # Same seed, same first batch: MSE of errors below 1 is smaller than their L1.
    assert final_loss(mse.run_dir)[0] < final_loss(l1.run_dir)[0]


def test_options_of_another_method_are_reported(tmp_path, image_dirs, caplog):
    cfg = config_from_dict(plain_config(tmp_path, image_dirs, self_distill__loss="mse"))
    assert ignored_sections(cfg) == ["self_distill"]
    with caplog.at_level(logging.WARNING, logger="srdistill.methods"):
        train(cfg)
    assert "'self_distill' is set but method plain does not read it" in caplog.text


def test_a_run_saved_without_a_newer_section_resumes(tmp_path, image_dirs):
    raw = plain_config(tmp_path, image_dirs)
    first = train_with(
        config_from_dict({**raw, "train": {**raw["train"], "steps": 6}}), PlainMethod
    )
    saved = first.run_dir / "config.yaml"
    old = yaml.safe_load(saved.read_text())
    del old["plain"]  # as an srdistill from before the section wrote it
    saved.write_text(yaml.safe_dump(old))
    resumed = train_with(config_from_dict(raw), PlainMethod, resume=True)
    assert resumed.step == 6
