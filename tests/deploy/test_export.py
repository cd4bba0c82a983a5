"""ONNX export is written atomically: a failed export or check leaves the previous file."""

import os
import stat

import pytest
import torch

from srdistill.deploy.export import export_verified
from srdistill.errors import SrdistillError
from srdistill.models import SRResNet


class NotExportable(torch.nn.Module):
    """Leaves the graph through numpy: the trace keeps a constant and the exported model
    no longer takes the input, so onnxruntime refuses it."""

    def forward(self, x):
        return torch.from_numpy(x.detach().numpy() * 2)


def test_a_failed_export_keeps_the_previous_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous good export")
    with pytest.warns(torch.jit.TracerWarning), pytest.raises(SrdistillError) as info:
        export_verified(NotExportable(), target)
    assert "onnxruntime" in str(info.value) and "\n" not in str(info.value)
    assert target.read_bytes() == b"the previous good export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_good_export_replaces_with_usual_permissions(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    diff = export_verified(SRResNet(2, 1, 4), target)
    assert diff < 1e-4 and target.read_bytes()[:4] != b"old"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
