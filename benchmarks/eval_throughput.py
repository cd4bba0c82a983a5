"""Evaluation throughput (images/s) per test set: load + degrade + super-resolve + PSNR/SSIM.

Usage: .venv/bin/python benchmarks/eval_throughput.py [CHECKPOINT] [--exit K]
Without a checkpoint only bicubic is timed.
"""

from __future__ import annotations

import argparse
import time

import torch

from srdistill.data.catalog import TEST_SETS
from srdistill.data.datasets import load_benchmark
from srdistill.deploy.loading import load_sr_model
from srdistill.eval import bicubic_upscaler, evaluate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("--exit", type=int)
    args = ap.parse_args()
    models = [("bicubic x4", bicubic_upscaler(4))]
    if args.checkpoint:
        loaded = load_sr_model(args.checkpoint, exit_block=args.exit)
        models.append((loaded.label, loaded.network))
    print(f"threads {torch.get_num_threads()}")
    print("| model | set | images | load+degrade (s) | SR+PSNR+SSIM (s) | images/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, fn in models:
        for set_name in TEST_SETS:
            load_benchmark.cache_clear()
            t = time.perf_counter()
            n = len(load_benchmark(set_name, 4))
            t_load = time.perf_counter() - t
            t = time.perf_counter()
            with torch.inference_mode():
                evaluate(fn, [set_name], 4, model_name=name)
            t_eval = time.perf_counter() - t
            print(
                f"| {name} | {set_name} | {n} | {t_load:.1f} | {t_eval:.1f} "
                f"| {n / (t_load + t_eval):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
