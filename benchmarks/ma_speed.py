"""Ma et al. 2017 cost per image: feature extraction on BSD100 (split into its three
groups) and the forests' prediction, timed on stand-in forests of the release's size
(3 x 2000 full binary trees of --depth levels, ma_metric.stand_in_forest_struct) because
the authors' model file is not on this machine. The stand-ins' predictions mean nothing;
only their time does.

Usage (from the repository root): .venv/bin/python benchmarks/ma_speed.py [--images 10]
"""

from __future__ import annotations

import argparse
import time

import torch

from srdistill.data.datasets import load_image_set
from srdistill.data.io import to_tensor
from srdistill.metrics import ma_metric as ma
from srdistill.ops.color import luma_8bit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--depth", type=int, default=12, help="depth of the stand-in trees")
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


if __name__ == "__main__":
    main()
