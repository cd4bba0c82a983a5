"""The CLI end to end on tiny data: train, eval, extract, upscale, data, bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from srdistill.cli import main
from srdistill.data.datasets import load_benchmark
from srdistill.engine.checkpoint import load_module
from srdistill.models import SRResNet
from tests.conftest import REPO, tiny_config


@pytest.fixture
def trained_run(tmp_path_factory, image_dirs):
    tmp = tmp_path_factory.mktemp("cli")
    cfg = tmp / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config(tmp, image_dirs, train__steps=4)))
    assert main(["train", str(cfg)]) == 0
    return tmp / "runs" / "tiny", image_dirs


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("srdistill: error:"), err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_version_is_the_package_version():
    from srdistill import __version__

    out = subprocess.run(
        [sys.executable, "-m", "srdistill", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"srdistill {__version__}"


def test_help_lists_subcommands():
    out = subprocess.run(
        [sys.executable, "-m", "srdistill", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for cmd in [
        "demo",
        "train",
        "eval",
        "extract",
        "upscale",
        "profile",
        "export",
        "reproduce",
        "weights",
        "data",
    ]:
        assert cmd in out


def test_train_with_override_and_resume_run_folder(tmp_path, image_dirs, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config(tmp_path, image_dirs)))
    assert main(["train", str(cfg), "-o", "train.steps=2"]) == 0
    run = tmp_path / "runs" / "tiny"
    assert json.loads((run / "status.json").read_text())["step"] == 2
    assert main(["train", str(run), "--resume", "-o", "train.steps=4"]) == 0
    assert json.loads((run / "status.json").read_text())["step"] == 4
    assert main(["train", str(run), "--resume", "--preset", "quick"]) == 2
    assert "--preset applies to a config file" in one_line_error(capsys)
    assert main(["train", str(cfg), "-o", "train.stpes=2"]) == 2
    assert "did you mean 'train.steps'" in one_line_error(capsys)


def test_eval_all_exits_and_bicubic_write_csv_json(trained_run, tmp_path, capsys):
    run, dirs = trained_run
    out = tmp_path / "ev"
    code = main(
        [
            "eval",
            str(run),
            "--sets",
            str(dirs["test"]),
            "--exit",
            "all",
            "--with-bicubic",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "exit1 of MultiExitSRResNet-3" in printed and "bicubic" in printed
    summary = json.loads((out / "eval_summary.json").read_text())
    assert set(summary) == {
        "bicubic",
        "exit1 of MultiExitSRResNet-3",
        "exit3 of MultiExitSRResNet-3",
    }
    rows = (out / "eval_per_image.csv").read_text().splitlines()
    assert rows[0].startswith("model,set,image,psnr,ssim") and len(rows) == 1 + 3 * 2


def test_bicubic_row_equals_direct_computation(image_dirs, tmp_path, capsys):
    from srdistill.metrics import psnr
    from srdistill.ops.imresize import imresize

    assert (
        main(
            [
                "eval",
                "--model",
                "bicubic",
                "--scale",
                "2",
                "--sets",
                str(image_dirs["test"]),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    images = load_benchmark(str(image_dirs["test"]), 2)
    expected = np.mean(
        [psnr(imresize(im.lr, 2.0).clamp(0, 1), im.hr, crop_border=2) for im in images]
    )
    got = json.loads((tmp_path / "eval_summary.json").read_text())["bicubic"]["sets"]
    assert next(iter(got.values()))["psnr"] == pytest.approx(expected)


def test_extract_gives_standalone_srresnet_with_same_output(trained_run, tmp_path, capsys):
    run, _ = trained_run
    out = tmp_path / "light.safetensors"
    assert main(["extract", str(run), "--exit", "1", "-o", str(out)]) == 0
    assert "max |difference| to the exit inside the model: 0.00e+00" in capsys.readouterr().out
    light = load_module(out)
    assert type(light) is SRResNet and light.num_blocks == 1
    full = load_module(run / "checkpoints" / "step_00000004" / "model.safetensors")
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(light(x), full.forward_exit(x, 1))


def test_upscale_keeps_mode_and_reports_bad_files(trained_run, tmp_path, capsys):
    run, _ = trained_run
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.full((10, 12), 90, np.uint8), "L").save(src / "grey.png")
    Image.fromarray(np.full((10, 12, 4), 90, np.uint8), "RGBA").save(src / "alpha.png")
    Image.fromarray(np.full((10, 12), 30000, np.uint16)).save(src / "deep.png")
    Image.fromarray(np.full((10, 12, 3), 90, np.uint8)).save(src / "photo.jpg")
    (src / "bad.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "out"
    files = [str(src / n) for n in ["grey.png", "alpha.png", "deep.png", "photo.jpg", "bad.png"]]
    code = main(["upscale", str(run), *files, "-o", str(out), "--exit", "1", "--tile", "4"])
    assert code == 1  # one bad file; the others are still written
    err = capsys.readouterr().err
    assert "bad.png" in err and "Traceback" not in err
    assert Image.open(out / "grey_x2.png").mode == "L"
    assert Image.open(out / "grey_x2.png").size == (24, 20)
    assert Image.open(out / "alpha_x2.png").mode == "RGBA"
    assert (out / "deep_x2.png").read_bytes()[24] == 16
    assert Image.open(out / "photo_x2.jpg").size == (24, 20)


def test_bad_checkpoints_are_one_line_errors(trained_run, tmp_path, capsys):
    run, dirs = trained_run
    assert main(["eval", str(run), "--scale", "4", "--sets", str(dirs["test"])]) == 2
    assert "is a x2 model but x4 was asked" in one_line_error(capsys)
    assert main(["eval", str(tmp_path / "nothing"), "--sets", str(dirs["test"])]) == 2
    assert "not found" in one_line_error(capsys)
    assert main(["eval", str(run), "--exit", "2", "--sets", str(dirs["test"])]) == 2
    assert "no exit 2" in one_line_error(capsys)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    assert main(["upscale", str(tmp_path / "other.safetensors"), "a.png", "-o", str(tmp_path)]) == 2
    assert "not written by srdistill" in one_line_error(capsys)
    assert main(["eval", str(run), "--sets", str(tmp_path / "no" / "such")]) == 2
    assert "not found" in one_line_error(capsys)
    assert main(["eval", str(run), "--sets", "Set55"]) == 2
    assert "did you mean Set5" in one_line_error(capsys)


def test_corrupt_training_image_stops_when_configured(tmp_path, image_dirs, capsys):
    (image_dirs["train"] / "zz_corrupt.png").write_bytes(b"garbage")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config(tmp_path, image_dirs, data__on_bad_image="stop")))
    assert main(["train", str(cfg)]) == 2
    assert "zz_corrupt.png" in one_line_error(capsys)


def test_data_list_and_verify(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "DIV2K_train" in out and "Urban100" in out
    assert main(["data", "verify", "Set5"]) == 1
    assert "not present" in capsys.readouterr().out


def test_data_verify_shared_set5(shared_data, monkeypatch, capsys):
    monkeypatch.setenv("SRDISTILL_DATA", str(shared_data))
    assert main(["data", "verify", "Set5"]) == 0
    assert "ok, 5/5" in capsys.readouterr().out


def test_eval_niqe_and_unavailable_pi(shared_data, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SRDISTILL_DATA", str(shared_data))
    code = main(
        [
            "eval",
            "--model",
            "bicubic",
            "--scale",
            "4",
            "--sets",
            "Set5",
            "--max-images",
            "1",
            "--metrics",
            "psnr,niqe,ma,pi",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "n/a" in out and "pi: unavailable" in out and "SRDISTILL_MA_MODEL" in out
    summary = json.loads((tmp_path / "eval_summary.json").read_text())["bicubic"]["sets"]["Set5"]
    assert 3 < summary["niqe"] < 12
    assert summary["pi"] is None  # null in strict JSON: never estimated


def test_eval_with_a_ma_model_reports_ma_pi_and_the_caveat(
    shared_data, monkeypatch, tmp_path, capsys
):
    from tests.metrics.test_ma import write_model

    monkeypatch.setenv("SRDISTILL_DATA", str(shared_data))
    write_model(tmp_path / "model.mat")
    monkeypatch.setenv("SRDISTILL_MA_MODEL", str(tmp_path / "model.mat"))
    args = ["eval", "--model", "bicubic", "--scale", "4", "--sets", "Set5", "--max-images", "1"]
    assert main([*args, "--metrics", "psnr,niqe,ma,pi", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "unavailable" not in out and "not to MATLAB itself" in out
    result = json.loads((tmp_path / "out" / "eval_summary.json").read_text())
    summary = result["bicubic"]["sets"]["Set5"]
    assert summary["pi"] == pytest.approx(((10 - summary["ma"]) + summary["niqe"]) / 2)
    assert any("Ma and PI" in note for note in json.dumps(result).split('"'))


def test_eval_cohort_member(tmp_path, image_dirs, capsys):
    from tests.methods.test_mutual_gan import cohort_config

    cfg = tmp_path / "cohort.yaml"
    cfg.write_text(yaml.safe_dump(cohort_config(tmp_path, image_dirs)))
    assert main(["train", str(cfg)]) == 0
    run = tmp_path / "runs" / "tiny"
    assert main(["eval", str(run), "--sets", str(image_dirs["test"])]) == 2
    assert "--member" in one_line_error(capsys)
    image = next(image_dirs["test"].glob("*.png"))
    done = subprocess.run(
        [sys.executable, "-m", "srdistill", "upscale", str(run), str(image), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    # A question of which member, not a broken checkpoint (it printed "does not load" for
    # every checkpoint before).
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "choose a member with --member" in done.stderr
    assert (
        main(
            [
                "eval",
                str(run),
                "--member",
                "1",
                "--sets",
                str(image_dirs["test"]),
                "--out",
                str(tmp_path / "ev"),
            ]
        )
        == 0
    )
    assert "member 1: SRResNet-1" in capsys.readouterr().out
    assert main(["eval", str(run), "--member", "5", "--sets", str(image_dirs["test"])]) == 2
    assert "has no member 5; members are 0..1" in one_line_error(capsys)
    out = tmp_path / "all"
    assert (
        main(
            [
                "eval",
                str(run),
                "--member",
                "all",
                "--sets",
                str(image_dirs["test"]),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "member 0: SRResNet-1" in printed and "member 1: SRResNet-1" in printed
    assert "NOTE: stand-in VGG (not comparable to the paper)" in printed
    summary = json.loads((out / "eval_summary.json").read_text())
    assert summary["notes"] == ["stand-in VGG (not comparable to the paper)"]
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert lines and all("stand-in VGG" in line for line in lines)


def test_data_download_from_local_archive(tmp_path, monkeypatch, capsys):
    import io
    import zipfile

    archive = tmp_path / "t91.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(3):
            buf = io.BytesIO()
            Image.fromarray(np.full((8, 8, 3), i * 40, np.uint8)).save(buf, format="PNG")
            zf.writestr(f"T91/t{i}.png", buf.getvalue())
    monkeypatch.setenv("SRDISTILL_DATA", str(tmp_path / "root"))
    assert main(["data", "download", "T91", "--from", str(archive)]) == 2
    assert "holds 3 images but T91 has 91" in one_line_error(capsys)  # count is checked
    assert main(["data", "download", "T91", "--from", str(archive), "--force"]) == 0
    assert sorted(p.name for p in (tmp_path / "root" / "train" / "T91").iterdir()) == [
        "t0.png",
        "t1.png",
        "t2.png",
    ]
    # A failed download (no network in tests: a missing local "mirror") says to use --from.
    missing = (tmp_path / "nowhere.zip").as_uri()
    assert main(["data", "download", "BSD200", "--url", missing]) == 2
    assert "--from" in one_line_error(capsys)


def test_profile_table_for_all_exits(trained_run, tmp_path, capsys):
    run, _ = trained_run
    out = tmp_path / "profile.md"
    assert (
        main(["profile", str(run), "--input-size", "24x16", "--repeats", "2", "--out", str(out)])
        == 0
    )
    table = out.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| exit")]
    assert len(rows) == 2 and "exit1 of" in rows[0] and "exit3 of" in rows[1]
    # The center row compares with itself; exit 1 has fewer params and FLOPs.
    assert rows[1].split("|")[7].strip() == "1.00x"
    assert float(rows[0].split("|")[7].strip().rstrip("x")) > 1.0
    assert main(["profile", str(run), "--input-size", "big"]) == 2
    assert "128x128" in one_line_error(capsys)


def test_export_onnx_matches_pytorch(trained_run, tmp_path, capsys):
    import onnxruntime as ort

    run, _ = trained_run
    out = tmp_path / "exit1.onnx"
    assert main(["export", str(run), "--exit", "1", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    diff = float(printed.rsplit("|", 1)[1].strip())
    assert diff < 1e-4
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    lr = np.random.default_rng(0).random((1, 3, 11, 29), dtype=np.float32)
    got = session.run(None, {"lr": lr})[0]
    full = load_module(run / "checkpoints" / "step_00000004" / "model.safetensors")
    with torch.no_grad():
        expected = full.forward_exit(torch.from_numpy(lr), 1).numpy()
    assert got.shape == (1, 3, 22, 58) and np.abs(got - expected).max() < 1e-4


def test_weights_list_and_vgg19_download_from_mirror(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("SRDISTILL_VGG19", raising=False)
    assert main(["weights", "list"]) == 0
    assert "srdistill weights vgg19" in capsys.readouterr().out
    fake = tmp_path / "vgg.pth"
    fake.write_bytes(b"wrong")
    assert main(["weights", "vgg19", "--url", fake.as_uri()]) == 2
    assert "checksum mismatch" in one_line_error(capsys)


def test_config_prints_resolved_values(capsys):
    cfg = str(REPO / "configs/self_distill/srresnet32_exit8.yaml")
    assert main(["config", cfg, "--preset", "quick", "-o", "train.steps=7"]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["train"]["steps"] == 7 and resolved["model"]["num_features"] == 32
    assert resolved["data"]["train"] == ["T91", "BSD200"]
    assert main(["config", "-o", "trian.steps=1"]) == 2
    assert "did you mean 'train'" in one_line_error(capsys)


def test_eval_never_replaces_or_mixes_earlier_results(trained_run, tmp_path, capsys):
    run, dirs = trained_run
    out = tmp_path / "ev"
    base = ["eval", str(run), "--sets", str(dirs["test"]), "--out", str(out), "--save-images"]
    assert main(base) == 0
    first = (out / "eval_summary.json").read_text()
    stale = out / "images" / "stale.png"
    stale.write_bytes(b"from an earlier evaluation")
    capsys.readouterr()
    assert main(base) == 2  # a second evaluation into the same folder is refused
    assert "already exists" in one_line_error(capsys) and stale.exists()
    assert (out / "eval_summary.json").read_text() == first
    assert main([*base, "--overwrite"]) == 0  # replaced as a whole: no stale image left
    assert not stale.exists() and (out / "eval_summary.json").is_file()
    capsys.readouterr()
    inside = ["eval", str(run), "--sets", str(dirs["test"]), "--out", str(run / "ev")]
    assert main(inside) == 2
    assert "inside the run folder" in one_line_error(capsys)
    assert not (run / "ev").exists()


def test_eval_refuses_nan_weights_in_one_line(tmp_path, image_dirs, capsys):
    net = SRResNet(2, 1, 4)
    with torch.no_grad():
        net.body[0].conv1.weight[0, 0, 0, 0] = float("nan")
    from srdistill.engine.checkpoint import save_module

    path = tmp_path / "nan.safetensors"
    save_module(net, path)
    out = tmp_path / "ev"
    assert main(["eval", str(path), "--sets", str(image_dirs["test"]), "--out", str(out)]) == 2
    err = one_line_error(capsys)
    assert "non-finite weights" in err and "body.0.conv1.weight" in err
    assert not (out / "eval_summary.json").exists()


def test_results_json_is_strict_when_a_metric_is_missing():
    from srdistill.eval.tables import finite_or_null

    data = {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": 2}}
    assert finite_or_null(data) == {"a": None, "b": [1.0, None], "c": {"d": 2}}
    json.dumps(finite_or_null(data), allow_nan=False)  # raises on any NaN left


def test_upscale_takes_a_folder_and_never_replaces_an_input(trained_run, tmp_path, capsys):
    run, dirs = trained_run
    out = tmp_path / "out"
    assert main(["upscale", str(run), str(dirs["test"]), "-o", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{p.stem}_x2.png" for p in dirs["test"].glob("*.png"))
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    assert main(["upscale", str(run), str(empty), "-o", str(out)]) == 2
    assert "no images" in one_line_error(capsys)
    # a.png's output a_x2.png is also an input: it would be replaced before it is read.
    same = tmp_path / "same"
    same.mkdir()
    first = next(dirs["test"].glob("*.png"))
    (same / "a.png").write_bytes(first.read_bytes())
    (same / "a_x2.png").write_bytes(first.read_bytes())
    before = (same / "a_x2.png").read_bytes()
    args = ["upscale", str(run), str(same / "a.png"), str(same / "a_x2.png"), "-o", str(same)]
    assert main([*args, "--overwrite"]) == 2
    assert "both an input and the output" in one_line_error(capsys)
    assert (same / "a_x2.png").read_bytes() == before


def test_upscale_checks_the_name_it_writes_for_alpha_and_16_bit_inputs(
    trained_run, tmp_path, capsys
):
    import numpy as np
    from PIL import Image

    run, dirs = trained_run
    src = tmp_path / "src"
    src.mkdir()
    rgba = np.zeros((20, 24, 4), dtype=np.uint8)
    rgba[..., 3] = 200
    # A PNG with alpha named .jpg (Pillow reads by content): written as a_x2.png.
    Image.fromarray(rgba, "RGBA").save(src / "a.jpg", format="PNG")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_x2.png").write_bytes(b"an earlier result")
    capsys.readouterr()
    assert main(["upscale", str(run), str(src / "a.jpg"), "-o", str(out)]) == 2
    assert "a_x2.png already exists" in one_line_error(capsys)
    assert (out / "a_x2.png").read_bytes() == b"an earlier result"
    # ... and collides with a.png's output before anything is written.
    Image.fromarray(rgba[..., :3]).save(src / "a.png")
    fresh = tmp_path / "fresh"
    assert main(["upscale", str(run), str(src), "-o", str(fresh)]) == 2
    assert "would both be written to" in one_line_error(capsys)
    assert not fresh.exists() or not list(fresh.iterdir())
    # A 16-bit grayscale TIFF is written as PNG, under the name that was checked.
    Image.fromarray(np.full((20, 24), 40000, dtype=np.uint16)).save(src / "b.tif")
    (src / "a.jpg").unlink()
    assert main(["upscale", str(run), str(src / "b.tif"), "-o", str(fresh)]) == 0
    assert (fresh / "b_x2.png").is_file()


def test_extract_and_profile_give_one_compression_figure_for_an_exit(trained_run, tmp_path, capsys):
    import re

    run, _ = trained_run
    capsys.readouterr()
    assert main(["extract", str(run), "--exit", "1", "-o", str(tmp_path / "e1.safetensors")]) == 0
    said = re.search(r"\(([\d.]+)x compression against the center", capsys.readouterr().out)
    assert main(["profile", str(run), "--input-size", "16x16", "--repeats", "1"]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| exit1 "))
    assert said and f"| {said.group(1)}x |" in row, (said, row)
