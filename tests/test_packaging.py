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


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_wheel_imports_data_and_trains_quick(tmp_path):
    """A pip user's path: the wheel alone (dependencies from this environment, not the
    checkout), the two training sets from archives in their authors' layouts, then the
    quick preset, from a folder far from the repository."""
    import os
    import site
    import venv

    from tests.data.test_catalog_archives import bsds300_tgz, srcnn_train_zip

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("srdistill-*.whl")
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # Dependencies (torch, numpy, ...) from this environment's site-packages; its .pth files
    # (the checkout's editable install among them) are not processed from a plain path.
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "deps.pth").write_text("\n".join(deps) + "\n")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", purelib,
         str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    work = tmp_path / "user"
    work.mkdir()
    data = tmp_path / "data"
    env = {**os.environ, "SRDISTILL_DATA": str(data), "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)

    def cli(*args):
        done = subprocess.run(
            [str(py), "-m", "srdistill.cli", *args], cwd=work, env=env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, (args, done.stderr[-2000:])
        return done

    where = subprocess.run(
        [str(py), "-c", "import srdistill; print(srdistill.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(purelib), where  # the wheel's copy, not the checkout
    cli("data", "download", "T91", "--from", str(srcnn_train_zip(tmp_path / "t91.zip")))
    cli("data", "download", "BSD200", "--from", str(bsds300_tgz(tmp_path / "bsds.tgz")))
    steps = ["train.steps=2", "train.val_every=2", "train.ckpt_every=2", "train.progress=false"]
    cli("train", "self_distill/srresnet8_alone", "--preset", "quick",
        *[x for o in steps for x in ("-o", o)])  # fmt: skip
    runs = list((work / "runs").rglob("status.json"))
    assert runs and '"complete"' in runs[0].read_text()
