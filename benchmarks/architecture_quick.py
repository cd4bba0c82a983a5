"""Each new architecture's quick preset, trained here and scored against bicubic.

For every shipped architecture config (EDSR, RCAN, IMDN): train its quick preset (or reuse
the finished run when its resolved config is the one requested), evaluate the final
iterate on Set5/Set14/BSD100 (x4, Y channel, border cropped), copy the small records (no
weights) to docs/results/architectures/<arch>/ and write docs/results/architectures.md.
Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/architecture_quick.py [--no-train]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from srdistill.config import load_config
from srdistill.deploy.loading import load_sr_model
from srdistill.eval import bicubic_upscaler, evaluate
from srdistill.reproduce.runner import copy_records, train_unless_finished, training_seconds

ARCHS = ("edsr", "rcan", "imdn")
SETS = ("Set5", "Set14", "BSD100")
OVERRIDES = ["train.threads=1", "output_dir=runs/architectures", "train.progress=false"]
RECORDS = Path("docs/results/architectures")
COMMAND = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/architecture_quick.py"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-train", action="store_true", help="tabulate the committed records")
    args = ap.parse_args()
    rows = {}
    if not args.no_train:
        bicubic = evaluate(bicubic_upscaler(4), SETS, 4, model_name="bicubic").summary()
        (RECORDS / "bicubic.json").parent.mkdir(parents=True, exist_ok=True)
        (RECORDS / "bicubic.json").write_text(json.dumps(bicubic, indent=1) + "\n")
        for arch in ARCHS:
            cfg = load_config(f"architectures/{arch}", "quick", OVERRIDES)
            run = train_unless_finished(cfg)
            loaded = load_sr_model(run)
            summary = evaluate(loaded.network, SETS, cfg.scale, model_name=loaded.label).summary()
            params = sum(p.numel() for p in loaded.network.parameters())
            record = copy_records(run, RECORDS / arch)
            (record / "eval.json").write_text(json.dumps({
                "network": loaded.label, "parameters": params, "sets": summary,
                "train_seconds": training_seconds(run), "steps": cfg.train.steps,
            }, indent=1) + "\n")  # fmt: skip
    bicubic = json.loads((RECORDS / "bicubic.json").read_text())
    for arch in ARCHS:
        rows[arch] = json.loads((RECORDS / arch / "eval.json").read_text())
    lines = [
        "# The new architectures, trained alone in their quick presets (x4)",
        "",
        f"Command: `{COMMAND}` (`--no-train` rebuilds this page from the records).",
        "Each is one seed, the final iterate of 1,200 steps of 8 64px patches from T91+BSD200",
        "(L1, cosine lr), trained on this 2-core CPU at 1 thread; PSNR/SSIM on the Y channel",
        "with a 4-pixel border cropped. Configs: `configs/architectures/<arch>.yaml`;",
        "records (config, run.json, metrics, evaluation; no weights) beside this page.",
        "",
        "| network | parameters | train s | "
        + " | ".join(f"{s} PSNR / SSIM" for s in SETS)
        + " | Set5 over bicubic |",
        "|---|---|---|" + "---|" * len(SETS) + "---|",
        "| bicubic | - | - | "
        + " | ".join(f"{bicubic[s]['psnr']:.3f} / {bicubic[s]['ssim']:.4f}" for s in SETS)
        + " | - |",
    ]
    for r in rows.values():
        cells = " | ".join(f"{r['sets'][s]['psnr']:.3f} / {r['sets'][s]['ssim']:.4f}" for s in SETS)
        gain = r["sets"]["Set5"]["psnr"] - bicubic["Set5"]["psnr"]
        lines.append(
            f"| {r['network']} | {r['parameters']:,} | {r['train_seconds']:.0f} | {cells} "
            f"| {gain:+.2f} dB |"
        )
    beaten = all(r["sets"]["Set5"]["psnr"] > bicubic["Set5"]["psnr"] for r in rows.values())
    lines += [
        "",
        "Every architecture's quick run is above bicubic on Set5."
        if beaten
        else "Not every architecture's quick run is above bicubic on Set5 (see the table).",
        "These are small, short runs that show each network trains on the shared engine;",
        "they are not a ranking of the architectures (one seed, unequal sizes and budgets).",
    ]
    Path("docs/results/architectures.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
