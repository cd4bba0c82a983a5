"""NIQE speed on BSD100: srdistill's vectorised torch NIQE against a numpy reference in the
style of the common Python ports (BasicSR/pyiqa's numpy path: scipy filtering, one AGGD
fit per block in a Python loop). Both give the same values; the script checks that too.

Usage: .venv/bin/python benchmarks/niqe_speed.py [--images 20]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from scipy.ndimage import convolve
from scipy.special import gamma

from srdistill.data.datasets import load_image_set
from srdistill.data.io import to_tensor
from srdistill.metrics.niqe import load_params, niqe
from srdistill.ops.color import rgb_to_y
from srdistill.ops.imresize import imresize

GAM = np.arange(0.2, 10.001, 0.001)
R_GAM = gamma(2 / GAM) ** 2 / (gamma(1 / GAM) * gamma(3 / GAM))


def numpy_aggd(v: np.ndarray) -> tuple[float, float, float]:
    left = math.sqrt(np.mean(v[v < 0] ** 2))
    right = math.sqrt(np.mean(v[v > 0] ** 2))
    g = left / right
    rhat = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
    rn = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = GAM[np.argmin((R_GAM - rn) ** 2)]
    k = math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left * k, right * k


def numpy_niqe(y: np.ndarray, mu_p: np.ndarray, cov_p: np.ndarray, win: np.ndarray) -> float:
    nh, nw = y.shape[0] // 96, y.shape[1] // 96
    img = y[: nh * 96, : nw * 96]
    feats = []
    for scale in (1, 2):
        mu = convolve(img, win, mode="nearest")
        sigma = np.sqrt(np.abs(convolve(img * img, win, mode="nearest") - mu * mu))
        mscn = (img - mu) / (sigma + 1)
        b = 96 // scale
        rows = []
        for j in range(nw):
            for i in range(nh):
                blk = mscn[i * b : (i + 1) * b, j * b : (j + 1) * b]
                a, bl, br = numpy_aggd(blk.ravel())
                f = [a, (bl + br) / 2]
                for s in [(0, 1), (1, 0), (1, 1), (1, -1)]:
                    a, bl, br = numpy_aggd((blk * np.roll(blk, s, axis=(0, 1))).ravel())
                    f += [a, (br - bl) * gamma(2 / a) / gamma(1 / a), bl, br]
                rows.append(f)
        feats.append(np.array(rows))
        if scale == 1:
            img = imresize(torch.from_numpy(img)[None] / 255, 0.5)[0].numpy() * 255
    d = np.concatenate(feats, axis=1)
    diff = mu_p - np.nanmean(d, axis=0)
    cov = np.cov(d[~np.isnan(d).any(axis=1)], rowvar=False)
    return float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov) / 2) @ diff))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    args = ap.parse_args()
    mu, cov, win = (t.numpy() for t in load_params())
    images = [to_tensor(a) for _, a in load_image_set("BSD100", max_images=args.images)]
    niqe(images[0])  # warm-up (gamma table, threads)
    t = time.perf_counter()
    ours = [niqe(im) for im in images]
    t_ours = (time.perf_counter() - t) / len(images)
    t = time.perf_counter()
    ref = []
    for im in images:
        y = np.round(rgb_to_y((im * 255).round() / 255)[0].double().numpy() * 255)
        ref.append(numpy_niqe(y, mu, cov, win))
    t_ref = (time.perf_counter() - t) / len(images)
    worst = max(abs(a - b) for a, b in zip(ours, ref, strict=True))
    print(
        f"BSD100 ({len(images)} images, threads {torch.get_num_threads()}): mean NIQE "
        f"{np.mean(ours):.4f}; torch {t_ours * 1000:.0f} ms/image, numpy reference "
        f"{t_ref * 1000:.0f} ms/image ({t_ref / t_ours:.1f}x); max |difference| {worst:.2e}"
    )


if __name__ == "__main__":
    main()
