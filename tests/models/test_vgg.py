import hashlib

import pytest
import torch

from srdistill.errors import CheckpointError
from srdistill.models import vgg


def torchvision_layout_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with torchvision vgg19() keys: features.* and classifier.*."""
    full = vgg.VGG19Features("pool5")
    gen = torch.Generator().manual_seed(seed)
    state = {
        f"features.{k}": torch.randn(v.shape, generator=gen)
        for k, v in full.features.state_dict().items()
    }
    state["classifier.0.weight"] = torch.zeros(4096, 8)  # ignored
    return state


def test_layer_indices_match_torchvision():
    names = vgg.layer_names()
    assert names["conv1_1"] == 0 and names["relu1_1"] == 1 and names["pool1"] == 4
    assert names["conv5_4"] == 34 and names["relu5_4"] == 35 and names["pool5"] == 36
    assert len(vgg.VGG19Features("relu5_4").features) == 36


def test_loads_torchvision_file_and_is_frozen(tmp_path):
    state = torchvision_layout_state()
    path = tmp_path / vgg.VGG19_FILE
    torch.save(state, path)
    net, real = vgg.build_vgg19_features("relu2_2", str(path))
    assert real and not any(p.requires_grad for p in net.parameters())
    assert torch.equal(net.features[2].weight, state["features.2.weight"])
    net.train()
    assert not net.training
    assert net(torch.rand(1, 3, 16, 16)).shape == (1, 128, 8, 8)


def test_missing_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("SRDISTILL_VGG19", raising=False)
    with pytest.raises(CheckpointError, match="vgg19-dcbb9e9d.pth") as err:
        vgg.build_vgg19_features("relu5_4", None)
    assert str(tmp_path) in str(err.value) and "random" in str(err.value)
    net, real = vgg.build_vgg19_features("relu5_4", "random")
    assert not real


def test_hub_cache_is_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(torchvision_layout_state(), tmp_path / "hub" / "checkpoints" / vgg.VGG19_FILE)
    assert vgg.build_vgg19_features("relu1_2", None)[1]


def test_downloader_verifies_checksum(tmp_path, monkeypatch):
    src = tmp_path / "served.pth"
    src.write_bytes(b"not the real weights")
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        vgg.download_vgg19(src.as_uri(), tmp_path / "cache")
    assert not (tmp_path / "cache" / vgg.VGG19_FILE).exists()
    # Accept a file whose SHA-256 starts with the expected prefix.
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    monkeypatch.setattr(vgg, "VGG19_SHA256_PREFIX", digest[:8])
    assert vgg.download_vgg19(src.as_uri(), tmp_path / "cache").read_bytes() == src.read_bytes()
    with pytest.raises(CheckpointError, match="download"):
        vgg.download_vgg19((tmp_path / "absent").as_uri(), tmp_path / "cache")


def test_a_pickle_bearing_weight_file_is_refused_in_one_line(tmp_path):
    import argparse

    from srdistill.models.vgg import build_vgg19_features

    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": argparse.Namespace(code="anything")}, path)
    with pytest.raises(CheckpointError, match="never unpickles code") as info:
        build_vgg19_features("relu5_4", str(path))
    assert "\n" not in str(info.value)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="the file is empty"):
        build_vgg19_features("relu5_4", str(empty))


def test_weights_does_not_import_the_models():
    """models.vgg reads weights.py's registry; the reverse import made a cycle."""
    import ast
    from pathlib import Path

    import srdistill.weights

    tree = ast.parse(Path(srdistill.weights.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not any(m.startswith("srdistill.models") for m in imported), imported
