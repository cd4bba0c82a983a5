"""The README's first command, timed: does every trained network beat bicubic, and by how much?

    .venv/bin/python benchmarks/demo_margin.py [--out /tmp/demo_bench]

Runs `srdistill demo` from scratch in a fresh folder, measures its wall time, and prints
each network's PSNR margin over bicubic on the demo's test images (target: the
self-distilled exit at least 0.3 dB above bicubic, the whole demo within 5 minutes on a
2-core CPU). Results go to docs/results/demo.md by hand, with the machine's state.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/srdistill_demo_bench")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "srdistill", "demo", "--out", str(out)], check=True)
    wall = time.perf_counter() - start
    summary = json.loads((out / "demo_summary.json").read_text())
    psnr = {model: v["sets"]["builtin-test"]["psnr"] for model, v in summary.items()}
    bicubic = psnr.pop("bicubic")
    print(f"wall time {wall:.1f} s (target < 300 s)")
    for name, value in psnr.items():
        print(f"{name}: {value:.3f} dB, {value - bicubic:+.3f} dB over bicubic ({bicubic:.3f})")
    exit_margin = next(v for k, v in psnr.items() if k.startswith("exit")) - bicubic
    ok = wall < 300 and exit_margin >= 0.3 and all(v > bicubic for v in psnr.values())
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
