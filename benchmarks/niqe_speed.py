"""NIQE speed on BSD100: srdistill's NIQE against BasicSR's own NIQE code
(basicsr/metrics/niqe.py, the common numpy port), both in one run on the same images,
plus the largest difference between their scores.

BasicSR is not a dependency. Get its released source once (no build, no torchvision):

    .venv/bin/pip download basicsr==1.4.2 --no-deps --no-build-isolation -d /tmp/basicsr

and pass the archive or its extracted folder with --basicsr. Its package __init__ files
import torchvision, which has no working CPU build here, so the benchmark loads the
modules niqe.py needs (metrics/niqe.py, metrics/metric_util.py, utils/matlab_functions.py,
utils/color_util.py, utils/registry.py) from their files under a bare package skeleton;
the NIQE computation that runs is BasicSR's, unchanged. Its pristine parameters
(niqe_pris_params.npz) come from the same release.

Usage (from the repository root, on an otherwise idle machine):
    .venv/bin/python benchmarks/niqe_speed.py --basicsr /tmp/basicsr/basicsr-1.4.2.tar.gz
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tarfile
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np
import torch

from srdistill.data.datasets import load_image_set
from srdistill.data.io import to_tensor
from srdistill.metrics import niqe


def basicsr_source(path: Path, scratch: Path) -> Path:
    """The folder holding the ``basicsr`` package, from an sdist or an extracted tree."""
    if path.is_file():
        with tarfile.open(path) as tar:
            tar.extractall(scratch, filter="data")
        path = next(scratch.iterdir())
    if (path / "basicsr" / "metrics" / "niqe.py").is_file():
        return path
    raise SystemExit(f"{path} holds no basicsr/metrics/niqe.py; pass BasicSR's sdist or source")


def load_basicsr_niqe(root: Path) -> types.ModuleType:
    for name in ("basicsr", "basicsr.utils", "basicsr.metrics"):
        package = types.ModuleType(name)
        package.__path__ = [str(root / name.replace(".", "/"))]
        sys.modules[name] = package
    if importlib.util.find_spec("cv2") is None:
        # niqe.py imports cv2 only for its convert_to='gray' branch, never taken here.
        sys.modules["cv2"] = types.ModuleType("cv2")

    def load(name: str) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(name, root / (name.replace(".", "/") + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    load("basicsr.utils.registry")
    color = load("basicsr.utils.color_util")
    sys.modules["basicsr.utils"].bgr2ycbcr = color.bgr2ycbcr
    load("basicsr.utils.matlab_functions")
    load("basicsr.metrics.metric_util")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy.ndimage.filters
        return load("basicsr.metrics.niqe")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--basicsr", type=Path, required=True, help="BasicSR sdist or source")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = basicsr_source(args.basicsr, Path(tmp))
        basicsr_niqe = load_basicsr_niqe(root)
        params = str(root / "basicsr" / "metrics" / "niqe_pris_params.npz")
        arrays = [a for _, a in load_image_set("BSD100", max_images=args.images)]
        images = [to_tensor(a) for a in arrays]
        bgr = [np.ascontiguousarray(a[..., ::-1]) for a in arrays]  # BasicSR reads BGR
        niqe(images[0], params=params)  # warm-up (tables, threads)
        basicsr_niqe.calculate_niqe(bgr[0], 0, convert_to="y")
        t = time.perf_counter()
        ours = [niqe(im, params=params) for im in images]
        t_ours = (time.perf_counter() - t) / len(images)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # its NaN-mean on flat blocks
            theirs = [
                float(np.squeeze(basicsr_niqe.calculate_niqe(b, 0, convert_to="y"))) for b in bgr
            ]
        t_theirs = (time.perf_counter() - t) / len(images)
    diff = np.abs(np.array(ours) - np.array(theirs))
    print(
        f"BSD100 ({len(images)} images, {args.threads} threads): mean NIQE srdistill "
        f"{np.mean(ours):.4f}, BasicSR {np.mean(theirs):.4f}; srdistill {t_ours * 1000:.1f} "
        f"ms/image, BasicSR 1.4.2 {t_theirs * 1000:.1f} ms/image ({t_theirs / t_ours:.1f}x "
        f"faster); |difference| max {diff.max():.1e}, images above 0.01: {(diff > 0.01).sum()}"
    )


if __name__ == "__main__":
    main()
