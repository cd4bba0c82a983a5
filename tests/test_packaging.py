"""Configs ship inside the package: named without a path, found from any directory, and
present in the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from srdistill.config import load_config, shipped_configs
from srdistill.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_shipped_configs_are_named_without_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # far from the repository's configs/ link
    cfg = load_config("self_distill/srresnet32_exit8", "quick")
    assert cfg.model.num_blocks == 32 and cfg.method == "self_distill"
    assert load_config("mutual/x4_confidence.yaml").mutual.mode == "confidence"
    assert {"study_a/teacher", "mutual/x2_confidence"} <= set(shipped_configs())
    with pytest.raises(ConfigError, match="did you mean 'self_distill/srresnet32_exit8'"):
        load_config("self_distill/srresnet32_exit")


def test_config_list_prints_the_shipped_configs(capsys):
    from srdistill.cli import main

    assert main(["config", "--list"]) == 0
    assert "study_a/kd" in capsys.readouterr().out.split()


@pytest.mark.slow
def test_the_wheel_contains_the_configs(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("srdistill-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for cfg in shipped_configs():
        assert f"srdistill/configs/{cfg}.yaml" in names, cfg
