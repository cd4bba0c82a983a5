"""`srdistill weights import`: the authors' files give the authors' outputs and published
numbers, the official and BasicSR layouts of EDSR/RCAN map onto srdistill's networks
(checked against forwards written here from those layouts' arithmetic), an imported file
works wherever a network does, and bad files are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srdistill.cli import main
from srdistill.config import config_from_dict
from srdistill.deploy.importer import import_network, import_weights
from srdistill.deploy.loading import load_sr_model
from srdistill.errors import CheckpointError
from srdistill.methods import train
from srdistill.models import EDSR, IMDN, RCAN
from srdistill.outputs import OutputError
from tests.conftest import f32_tolerance, shared_data_root, tiny_config

REFERENCE = Path(__file__).parent / "data" / "reference_outputs.npz"
MEAN = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)
# (file, --scale, the network srdistill should recognise)
AUTHORS = {
    "imdn_x4": ("IMDN_x4.pth", None, "IMDN-6x64"),
    "carn_m_x4": ("carn_m.pth", 4, "CARN-M-64"),
    "rfdn_aim_x4": ("RFDN_AIM.pth", None, "RFDN-4x50"),
}


def pretrained(name: str) -> Path:
    root = shared_data_root()
    path = root / "weights" / "pretrained" / name if root else None
    if path is None or not path.is_file():
        pytest.skip(f"{name} not found in <data root>/weights/pretrained (set SRDISTILL_DATA)")
    return path


@pytest.mark.parametrize("name", sorted(AUTHORS))
def test_authors_files_give_the_authors_codes_output(name):
    # The reference is the authors' own network code run on their file by
    # benchmarks/reference_outputs.py; a wrong mapping, range or channel order moves
    # outputs by about 1e-2 or more, float32 summation order by about 1e-7.
    file, scale, label = AUTHORS[name]
    imported = import_network(pretrained(file), scale)
    assert imported.network.label == label and imported.network.scale == 4
    ref = np.load(REFERENCE)
    with torch.no_grad():
        ours = imported.network(torch.from_numpy(ref["lr"])[None])[0].numpy()
    assert ours.shape == ref[name].shape
    assert np.abs(ours - ref[name]).max() <= f32_tolerance(1.0, ulps=1024)


@pytest.mark.parametrize("scale, published", [(2, 38.00), (3, 34.36), (4, 32.21)])
def test_imported_imdn_reproduces_the_published_set5_psnr(scale, published, tmp_path, shared_data):
    # Hui et al. 2019, table 3 (Y channel, MATLAB bicubic LR): within 0.01 dB.
    out = tmp_path / "imdn.safetensors"
    assert main(["weights", "import", str(pretrained(f"IMDN_x{scale}.pth")), "-o", str(out)]) == 0
    assert main(["eval", str(out), "--sets", "Set5", "--out", str(tmp_path / "e")]) == 0
    summary = json.loads((tmp_path / "e" / "eval_summary.json").read_text())
    psnr = summary["IMDN-6x64"]["sets"]["Set5"]["psnr"]
    assert abs(psnr - published) <= 0.01


def test_multi_scale_carn_m_picks_the_upsampler_asked_for():
    path = pretrained("carn_m.pth")
    with pytest.raises(CheckpointError, match=r"multi-scale CARN-M \(upsamplers for x2, x3, x4\)"):
        import_network(path)
    file_tensors = torch.load(path, map_location="cpu", weights_only=True)
    for scale in (2, 3, 4):
        net = import_network(path, scale).network
        assert net.scale == scale
        kept = {k: v for k, v in file_tensors.items() if "mean" not in k and (
            "upsample" not in k or f"up{scale}." in k)}  # fmt: skip
        assert sum(p.numel() for p in net.parameters()) == sum(v.numel() for v in kept.values())


# --- refusals ------------------------------------------------------------------------------


def authors_imdn_state(net: IMDN) -> dict[str, torch.Tensor]:
    """``net``'s tensors under the IMDN repository's names (written from its architecture.py:
    IMDB1.., cca.conv_du, c, LR_conv, upsampler), wrapped the DataParallel way."""
    out = {}
    for key, value in net.state_dict().items():
        parts = key.split(".")
        if parts[0] == "blocks":
            rest = ".".join(parts[2:]).replace("attention.weights", "cca.conv_du")
            key = f"IMDB{int(parts[1]) + 1}.{rest}"
        else:
            key = (
                {"fuse": "c", "lr_conv": "LR_conv", "upsample": "upsampler"}.get(parts[0], parts[0])
                + "."
                + ".".join(parts[1:])
            )
        out["module." + key] = value.clone()
    return out


@pytest.fixture
def tiny_imdn_file(tmp_path) -> tuple[Path, IMDN]:
    torch.manual_seed(0)
    net = IMDN(2, 2, 16).eval()
    path = tmp_path / "imdn_tiny.pth"
    torch.save(authors_imdn_state(net), path)
    return path, net


def test_an_authors_layout_file_imports_to_the_same_network(tiny_imdn_file):
    path, net = tiny_imdn_file
    imported = import_network(path).network
    x = torch.rand(1, 3, 9, 11)
    with torch.no_grad():
        assert torch.equal(imported(x), net(x))


def test_importer_refusals(tiny_imdn_file, tmp_path):
    path, _ = tiny_imdn_file
    out = tmp_path / "out.safetensors"
    with pytest.raises(CheckpointError, match="is a x2 network but --scale 4 was asked"):
        import_weights(path, out, scale=4)
    with pytest.raises(CheckpointError, match="--scale must be 2, 3, 4 or 8"):
        import_weights(path, out, scale=5)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="cannot read weight file"):
        import_weights(truncated, out)
    pickled = tmp_path / "module.pth"
    torch.save(nn.Conv2d(3, 3, 3), pickled)  # a whole network object, not a state dict
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        import_weights(pickled, out)
    unknown = tmp_path / "unknown.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, unknown)
    with pytest.raises(
        CheckpointError, match="unknown weight layout.*supported: .*IMDN .*CARN-M .*RFDN"
    ):
        import_weights(unknown, out)
    extra = tmp_path / "extra.pth"
    torch.save({**torch.load(path, weights_only=True), "module.IMDB1.gate.weight": torch.ones(1)},
               extra)  # fmt: skip
    with pytest.raises(CheckpointError, match="unknown tensor 'IMDB1.gate.weight'"):
        import_weights(extra, out)
    assert not out.exists()  # nothing half-written by any refusal
    assert main(["weights", "import", str(path), "-o", str(out)]) == 0
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        import_weights(path, out)
    with pytest.raises(CheckpointError, match="must be a .safetensors"):
        import_weights(path, tmp_path / "out.pth")


def test_a_raw_pth_where_a_network_is_expected_says_to_import_it(
    tiny_imdn_file, tmp_path, image_dirs, capsys
):
    path, _ = tiny_imdn_file
    assert main(["eval", str(path), "--sets", str(image_dirs["test"])]) == 2
    assert "srdistill weights import" in capsys.readouterr().err
    raw = tiny_config(tmp_path, image_dirs, method="kd", train__steps=1,
                      model={"arch": "imdn", "num_blocks": 1, "num_features": 16})  # fmt: skip
    raw["kd"] = {"teacher": str(path)}
    with pytest.raises(Exception, match="weights import"):
        train(config_from_dict(raw))


def test_an_imported_network_works_everywhere_a_network_does(tiny_imdn_file, tmp_path, image_dirs):
    path, _ = tiny_imdn_file
    net = tmp_path / "teacher.safetensors"
    assert main(["weights", "import", str(path), "-o", str(net)]) == 0
    assert (
        main(["eval", str(net), "--sets", str(image_dirs["test"]), "--out", str(tmp_path / "e")])
        == 0
    )
    assert main(["upscale", str(net), str(image_dirs["test"]), "-o", str(tmp_path / "up")]) == 0
    assert main(["profile", str(net), "--input-size", "12x12", "--repeats", "1"]) == 0
    assert main(["export", str(net), "-o", str(tmp_path / "net.onnx")]) == 0
    student = {"arch": "imdn", "num_blocks": 1, "num_features": 16}
    raw = tiny_config(tmp_path, image_dirs, method="kd", train__steps=2, model=student, name="kd")
    raw["kd"] = {"teacher": str(net)}
    assert (train(config_from_dict(raw)).run_dir / "checkpoints").is_dir()
    raw = tiny_config(tmp_path, image_dirs, method="plain", train__steps=1, model=student,
                      name="init")  # fmt: skip
    raw["plain"] = {"init_from": str(net)}
    run = train(config_from_dict(raw)).run_dir
    assert load_sr_model(run).network.num_blocks == 1


def test_teacher_slice_of_an_imdn_keeps_the_fuse_columns_of_the_kept_blocks():
    from srdistill.models import copy_first_blocks

    torch.manual_seed(1)
    teacher, student = IMDN(4, 3, 16), IMDN(4, 2, 16)
    copy_first_blocks(student, teacher)
    assert torch.equal(student.fuse[0].weight, teacher.fuse[0].weight[:, :32])
    assert torch.equal(student.blocks[1].c1.weight, teacher.blocks[1].c1.weight)
    assert torch.equal(student.upsample[0].bias, teacher.upsample[0].bias)


# --- EDSR and RCAN in the official and BasicSR key layouts ---------------------------------


def conv(x, state, key, **kw):
    w = state[key + ".weight"]
    return F.conv2d(x, w, state[key + ".bias"], padding=w.shape[-1] // 2, **kw)


def subpixel(x, state, keys):
    for key in keys:
        x = F.pixel_shuffle(conv(x, state, key), 2)
    return x


def official_edsr(state, x01, blocks, res_scale):
    """EDSR-PyTorch's forward with rgb_range 255: images in [0, 255], MeanShift convs."""
    x = conv(x01 * 255, state, "sub_mean")
    x = h = conv(x, state, "head.0")
    for i in range(blocks):
        x = x + res_scale * conv(
            F.relu(conv(x, state, f"body.{i}.body.0")), state, f"body.{i}.body.2"
        )
    x = conv(x, state, f"body.{blocks}") + h
    x = conv(subpixel(x, state, ["tail.0.0", "tail.0.2"]), state, "tail.1")
    return conv(x, state, "add_mean") / 255


def basicsr_rcan(state, x01, groups, blocks):
    """BasicSR's RCAN forward: (x - mean) * 255, ..., / 255 + mean."""
    x = h = conv((x01 - MEAN) * 255, state, "conv_first")
    for g in range(groups):
        y = x
        for b in range(blocks):
            p = f"body.{g}.residual_group.{b}.rcab"
            r = conv(F.relu(conv(y, state, f"{p}.0")), state, f"{p}.2")
            a = F.relu(conv(r.mean((2, 3), keepdim=True), state, f"{p}.3.attention.1"))
            y = y + r * torch.sigmoid(conv(a, state, f"{p}.3.attention.3"))
        x = x + conv(y, state, f"body.{g}.conv")
    x = conv(x, state, "conv_after_body") + h
    return conv(subpixel(x, state, ["upsample.0", "upsample.2"]), state, "conv_last") / 255 + MEAN


def random_state(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        k: torch.randn(s, generator=g) * (0.1 if len(s) > 1 else 0.01) for k, s in shapes.items()
    }


def mean_shift(sign: float) -> dict[str, torch.Tensor]:
    return {"weight": torch.eye(3).view(3, 3, 1, 1), "bias": sign * 255 * MEAN.view(3)}


def test_official_edsr_layout_imports_with_its_pixel_range(tmp_path):
    f, blocks = 8, 2
    shapes = {"head.0.weight": (f, 3, 3, 3), "head.0.bias": (f,)}
    for i in range(blocks):
        for j in (0, 2):
            shapes |= {f"body.{i}.body.{j}.weight": (f, f, 3, 3), f"body.{i}.body.{j}.bias": (f,)}
    shapes |= {f"body.{blocks}.weight": (f, f, 3, 3), f"body.{blocks}.bias": (f,)}
    for j in (0, 2):
        shapes |= {f"tail.0.{j}.weight": (4 * f, f, 3, 3), f"tail.0.{j}.bias": (4 * f,)}
    shapes |= {"tail.1.weight": (3, f, 3, 3), "tail.1.bias": (3,)}
    state = random_state(shapes)
    for name, sign in (("sub_mean", -1.0), ("add_mean", 1.0)):
        state |= {f"{name}.{k}": v for k, v in mean_shift(sign).items()}
    torch.save(state, tmp_path / "edsr.pt")
    imported = import_network(tmp_path / "edsr.pt")
    net = imported.network
    assert isinstance(net, EDSR) and (net.scale, net.num_blocks, net.rgb_range) == (4, 2, 255.0)
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        expected = official_edsr(state, x, blocks, net.res_scale)
        assert torch.allclose(net(x), expected, atol=f32_tolerance(255.0, ulps=64) / 255)


def test_basicsr_rcan_layout_imports(tmp_path):
    f, r, groups, blocks = 16, 4, 2, 2
    shapes = {"conv_first.weight": (f, 3, 3, 3), "conv_first.bias": (f,)}
    for g in range(groups):
        for b in range(blocks):
            p = f"body.{g}.residual_group.{b}.rcab"
            for j in (0, 2):
                shapes |= {f"{p}.{j}.weight": (f, f, 3, 3), f"{p}.{j}.bias": (f,)}
            shapes |= {
                f"{p}.3.attention.1.weight": (f // r, f, 1, 1),
                f"{p}.3.attention.1.bias": (f // r,),
            }
            shapes |= {
                f"{p}.3.attention.3.weight": (f, f // r, 1, 1),
                f"{p}.3.attention.3.bias": (f,),
            }
        shapes |= {f"body.{g}.conv.weight": (f, f, 3, 3), f"body.{g}.conv.bias": (f,)}
    shapes |= {"conv_after_body.weight": (f, f, 3, 3), "conv_after_body.bias": (f,)}
    for j in (0, 2):
        shapes |= {f"upsample.{j}.weight": (4 * f, f, 3, 3), f"upsample.{j}.bias": (4 * f,)}
    shapes |= {"conv_last.weight": (3, f, 3, 3), "conv_last.bias": (3,)}
    state = random_state(shapes)
    torch.save({"params": state}, tmp_path / "rcan.pth")  # BasicSR wraps the state dict
    imported = import_network(tmp_path / "rcan.pth")
    net = imported.network
    assert isinstance(net, RCAN) and (net.num_groups, net.num_blocks, net.reduction) == (2, 2, 4)
    assert any("255" in note for note in imported.notes)  # the range is a stated default
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        expected = basicsr_rcan(state, x, groups, blocks)
        assert torch.allclose(net(x), expected, atol=f32_tolerance(255.0, ulps=64) / 255)
