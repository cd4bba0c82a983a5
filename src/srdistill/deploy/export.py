"""Export an SR network to ONNX with dynamic batch, height and width, and check it.

Uses PyTorch's TorchScript-based exporter (the torch.export-based one needs the optional
onnxscript package); the result is verified in onnxruntime against PyTorch's output on an
input of a different size than the one traced, so the dynamic axes are exercised.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from srdistill.errors import SrdistillError


def export_onnx(network: torch.nn.Module, path: Path, opset: int = 17) -> None:
    network = network.eval().cpu()
    example = torch.rand(1, 3, 32, 32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=["lr"],
            output_names=["sr"],
            dynamic_axes={
                "lr": {0: "batch", 2: "height", 3: "width"},
                "sr": {0: "batch", 2: "sr_height", 3: "sr_width"},
            },
            opset_version=opset,
            dynamo=False,
        )


def verify_onnx(network: torch.nn.Module, path: Path, size: tuple[int, int] = (45, 37)) -> float:
    """Max |ONNX - PyTorch| on a random input of ``size`` (LR height, width)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise SrdistillError(
            "onnxruntime is not installed; pip install onnxruntime to verify the export"
        ) from None
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"lr": x.numpy()})[0]
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors are its own classes
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SrdistillError(f"the exported model does not run in onnxruntime: {first}") from None
    with torch.no_grad():
        expected = network.eval().cpu()(x).numpy()
    if got.shape != expected.shape:
        raise SrdistillError(
            f"ONNX output shape {got.shape} differs from PyTorch's {expected.shape}"
        )
    return float(np.abs(got - expected).max())


def export_verified(network: torch.nn.Module, path: Path, opset: int = 17) -> float:
    """Export to a temporary file beside ``path``, verify it in onnxruntime, then move it
    into place: a failed export or check (or a full disk) leaves any previous ``path``
    intact and no partial file behind. Returns the verified max |ONNX - PyTorch|."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            export_onnx(network, tmp, opset)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - the exporter's own failures (e.g. disk full)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SrdistillError(f"ONNX export to {path} failed: {first}") from None
        diff = verify_onnx(network, tmp)
        umask = os.umask(0)  # mkstemp made it private; give it the usual permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        return diff
    finally:
        tmp.unlink(missing_ok=True)
