"""Compare two replicates of Study A run by run (same arm, seed, network and set).

Usage: python scripts/compare_replicates.py docs/results/study_a docs/results/study_a_cpu
Prints a Markdown table of B - A PSNR for every (arm, seed, network) both hold, per set,
and the largest absolute difference: how much the device or thread count moves a run
of the same seed and recipe.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def load(folder: Path) -> dict[tuple[str, str, str, str], float]:
    with open(folder / "results.csv") as f:
        return {
            (r["arm"], r["seed"], r["network"], r["set"]): float(r["psnr"])
            for r in csv.DictReader(f)
        }


def main(a: str, b: str) -> None:
    ra, rb = load(Path(a)), load(Path(b))
    common = sorted(set(ra) & set(rb))
    sets = list(dict.fromkeys(k[3] for k in common))
    runs = list(dict.fromkeys(k[:3] for k in common))
    print(f"| arm | seed | network | {' | '.join(sets)} |")
    print("| --- | --- | --- |" + " --- |" * len(sets))
    for arm, seed, net in runs:
        cells = []
        for s in sets:
            k = (arm, seed, net, s)
            cells.append(f"{ra[k]:.3f} / {rb[k]:.3f} ({rb[k] - ra[k]:+.3f})" if k in ra else "-")
        print(f"| {arm} | {seed} | {net} | {' | '.join(cells)} |")
    worst = max(abs(rb[k] - ra[k]) for k in common)
    print(f"\n{len(runs)} networks in both; largest |B - A| over sets: {worst:.3f} dB")


if __name__ == "__main__":
    main(*sys.argv[1:3])
