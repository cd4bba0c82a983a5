"""Export an SR network to ONNX with dynamic batch, height and width, and check it.

Uses PyTorch's TorchScript-based exporter (the torch.export-based one needs the optional
onnxscript package); the result is verified in onnxruntime against PyTorch's output on an
input of a different size than the one traced, so the dynamic axes are exercised.
"""

from __future__ import annotations

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
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"lr": x.numpy()})[0]
    with torch.no_grad():
        expected = network.eval().cpu()(x).numpy()
    if got.shape != expected.shape:
        raise SrdistillError(
            f"ONNX output shape {got.shape} differs from PyTorch's {expected.shape}"
        )
    return float(np.abs(got - expected).max())
