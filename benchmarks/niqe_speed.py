"""NIQE speed on BSD100: srdistill's vectorised torch NIQE against a numpy reference in the
style of the common Python ports (BasicSR/pyiqa's numpy path: scipy filtering, one AGGD fit
per block in a Python loop). The reference is the one the tests check srdistill against
(tests/metrics/test_niqe.py), with its halving done by srdistill's imresize so only the
NIQE computation itself is compared. The script also reports the largest difference.

Usage (from the repository root): .venv/bin/python benchmarks/niqe_speed.py [--images 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srdistill.data.datasets import load_image_set  # noqa: E402
from srdistill.data.io import to_tensor  # noqa: E402
from srdistill.metrics.niqe import find_params_file, niqe  # noqa: E402
from srdistill.ops.color import rgb_to_y  # noqa: E402
from srdistill.ops.imresize import imresize  # noqa: E402
from tests.metrics.test_niqe import reference_niqe  # noqa: E402


def halve(img: np.ndarray) -> np.ndarray:
    return imresize(torch.from_numpy(img)[None], 0.5)[0].numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    args = ap.parse_args()
    params = np.load(find_params_file())
    images = [to_tensor(a) for _, a in load_image_set("BSD100", max_images=args.images)]
    niqe(images[0])  # warm-up (gamma table, threads)
    t = time.perf_counter()
    ours = [niqe(im) for im in images]
    t_ours = (time.perf_counter() - t) / len(images)
    t = time.perf_counter()
    ref = []
    for im in images:
        y = np.round(rgb_to_y((im.double() * 255).round() / 255)[0].numpy() * 255)
        ref.append(reference_niqe(y, params, halve))
    t_ref = (time.perf_counter() - t) / len(images)
    worst = max(abs(a - b) for a, b in zip(ours, ref, strict=True))
    print(
        f"BSD100 ({len(images)} images, {torch.get_num_threads()} threads): mean NIQE "
        f"{np.mean(ours):.4f}; srdistill (torch) {t_ours * 1000:.0f} ms/image, numpy reference "
        f"{t_ref * 1000:.0f} ms/image ({t_ref / t_ours:.1f}x faster); "
        f"max |difference| {worst:.1e}"
    )


if __name__ == "__main__":
    main()
