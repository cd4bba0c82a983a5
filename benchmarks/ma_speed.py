"""Ma et al. 2017 cost per image: feature extraction on BSD100 (split into its three
groups) and the forests' prediction, timed on stand-in forests of the release's size
(3 x 2000 full binary trees of --depth levels, ma_metric.stand_in_forest_struct) because
the authors' model file is not on this machine. The stand-ins' predictions mean nothing;
only their time does.

With --pyiqa, the same images also go through pyiqa's port of the features (its
nrqm_arch.py: Gaussian pyramid, block_dct, global_gsm, patch SVD), timed in the same run.
pyiqa is not a dependency and its package imports torchvision (no working CPU build
here), so the script loads the modules the feature code needs from the released wheel
under a bare package skeleton; the parts it does not use for features (its NIQE, model
download, CLIP constants) are left as empty modules. Get the wheel once with
`.venv/bin/pip download pyiqa==0.1.16 --no-deps -d /tmp/pyiqa`.

Usage (from the repository root, machine otherwise idle):
    .venv/bin/python benchmarks/ma_speed.py --images 10 \\
        --pyiqa /tmp/pyiqa/pyiqa-0.1.16-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
import types
import zipfile
from pathlib import Path

import torch

from srdistill.data.datasets import load_image_set
from srdistill.data.io import to_tensor
from srdistill.metrics import ma_metric as ma
from srdistill.ops.color import luma_8bit


def load_pyiqa_features(wheel: Path, scratch: Path) -> types.ModuleType:
    """pyiqa's nrqm_arch module, loaded from its wheel without its package __init__s."""
    with zipfile.ZipFile(wheel) as z:
        z.extractall(scratch)
    root = scratch / "pyiqa"
    for name in ("pyiqa", "pyiqa.utils", "pyiqa.archs"):
        package = types.ModuleType(name)
        package.__path__ = [str(scratch / name.replace(".", "/"))]
        sys.modules[name] = package

    def never_called(*args: object, **kwargs: object) -> None:
        raise RuntimeError("not part of the feature computation")

    unused = {
        "pyiqa.utils.download_util": {"load_file_from_url": never_called},
        "pyiqa.archs.niqe_arch": {"NIQE": never_called},
        # nrqm_arch builds its model's download address at import time (a string only).
        "pyiqa.archs.arch_util": {"get_url_from_name": lambda name: f"<unused>/{name}"},
    }
    for name, attrs in unused.items():  # imported by nrqm_arch, not used for features
        module = types.ModuleType(name)
        for attr, value in attrs.items():
            setattr(module, attr, value)
        sys.modules[name] = module

    def load(name: str, path: Path, package: bool = False) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(
            name, path, submodule_search_locations=[str(path.parent)] if package else None
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    load("pyiqa.utils.registry", root / "utils" / "registry.py")
    load("pyiqa.utils.color_util", root / "utils" / "color_util.py")
    load("pyiqa.matlab_utils", root / "matlab_utils" / "__init__.py", package=True)
    load("pyiqa.archs.func_util", root / "archs" / "func_util.py")
    load("pyiqa.archs.ssim_arch", root / "archs" / "ssim_arch.py")
    return load("pyiqa.archs.nrqm_arch", root / "archs" / "nrqm_arch.py")


def pyiqa_features(nrqm: types.ModuleType, y: torch.Tensor) -> None:
    """The feature part of pyiqa's nrqm() on a 0-255 grey image, as it computes them."""
    img = y.double()[None, None]
    pyramid = nrqm.get_gauss_pyramid(img / 255.0)
    torch.cat([nrqm.block_dct(im) for im in pyramid], dim=1)
    nrqm.global_gsm(img)
    for im in pyramid:
        torch.linalg.svd(nrqm.im2col(im, 5, "distinct"), full_matrices=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--depth", type=int, default=12, help="depth of the stand-in trees")
    ap.add_argument("--pyiqa", type=Path, help="pyiqa wheel: time its feature port too")
    args = ap.parse_args()
    images = [luma_8bit(to_tensor(a)) for _, a in load_image_set("BSD100", max_images=args.images)]
    ma.ma_features(images[0])  # warm-up (tables, threads)
    timings = {"local": 0.0, "global": 0.0, "spatial": 0.0}
    features = []
    for y in images:
        t = time.perf_counter()
        scales = ma._gaussian_pyramid(y / 255.0)
        local = torch.cat([ma.local_frequency_features(s) for s in scales])
        timings["local"] += time.perf_counter() - t
        t = time.perf_counter()
        glob = ma.global_frequency_features(y)
        timings["global"] += time.perf_counter() - t
        t = time.perf_counter()
        spatial = torch.cat([ma.spatial_features(s) for s in scales])
        timings["spatial"] += time.perf_counter() - t
        features.append((local, glob, spatial))
    forests = [
        ma.forest_from_struct(ma.stand_in_forest_struct(n, 2000, args.depth, seed=i))
        for i, n in enumerate(ma.FEATURE_SIZES)
    ]
    t = time.perf_counter()
    for feats in features:
        for forest, v in zip(forests, feats, strict=True):
            forest.predict(v.numpy()[None])
    t_forest = (time.perf_counter() - t) / len(features)
    per_image = {k: v / len(images) for k, v in timings.items()}
    total = sum(per_image.values()) + t_forest
    print(
        f"BSD100 ({len(images)} images, {images[0].shape[0]}x{images[0].shape[1]}, "
        f"{torch.get_num_threads()} threads): features "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in per_image.items())
        + f"; forests (3 x 2000 stand-in trees of depth {args.depth}) {t_forest * 1000:.0f} ms;"
        f" total {total:.2f} s/image"
    )
    if args.pyiqa:
        with tempfile.TemporaryDirectory() as tmp:
            nrqm = load_pyiqa_features(args.pyiqa, Path(tmp))
            pyiqa_features(nrqm, images[0])  # warm-up
            t = time.perf_counter()
            for y in images:
                pyiqa_features(nrqm, y)
            t_pyiqa = (time.perf_counter() - t) / len(images)
        ours = sum(per_image.values())
        print(
            f"features only: srdistill {ours:.2f} s/image, pyiqa 0.1.16 {t_pyiqa:.2f} s/image "
            f"({t_pyiqa / ours:.1f}x)"
        )


if __name__ == "__main__":
    main()
