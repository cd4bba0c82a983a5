"""Runs the authors' own network code on the authors' weight files and records their SR
output on one fixed LR crop, so that tests can hold srdistill's imported networks to it.

The authors' repositories are not part of srdistill and are never committed; give their
checkouts (plain copies of the public repositories) on the command line:

    python benchmarks/reference_outputs.py --imdn ~/src/IMDN --carn ~/src/CARN-pytorch \
        --rfdn ~/src/RFDN --out tests/deploy/data/reference_outputs.npz

Each network sees the LR crop the way its test script feeds images (IMDN and CARN-M: RGB
in [0, 1]; RFDN: RGB in [0, 255], output divided by 255 here). The crop: Set5 ``baby``,
HR box (top 208, left 208, 96 x 96) degraded by srdistill's MATLAB bicubic x4 and rounded
to 8 bits (the LR itself is stored too, so the test does not depend on the resize).
It also prints the largest difference from srdistill's import of the same file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

from srdistill.data.catalog import data_roots
from srdistill.data.io import read_image
from srdistill.deploy.importer import import_network
from srdistill.ops.imresize import degrade

CROP = {"image": "Set5/baby.png", "top": 208, "left": 208, "size": 96, "scale": 4}


def lr_crop() -> torch.Tensor:
    root = next(r for r in data_roots() if (r / "benchmark" / "Set5").is_dir())
    hr, _ = read_image(root / "benchmark" / CROP["image"])
    t, left, s = CROP["top"], CROP["left"], CROP["size"]
    return degrade(hr[None, :, t : t + s, left : left + s], CROP["scale"])


def pretrained(name: str) -> Path:
    root = next(r for r in data_roots() if (r / "weights" / "pretrained" / name).is_file())
    return root / "weights" / "pretrained" / name


def load_plain(path: Path, prefix: str = "") -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in state.items()}


def authors_module(folder: Path, module: str) -> object:
    # Two of the repositories name their package "model": forget the previous one.
    top = module.split(".")[0]
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.pop(0)


def run_imdn(repo: Path, lr: torch.Tensor) -> torch.Tensor:
    net = authors_module(repo, "model.architecture").IMDN(upscale=4)
    net.load_state_dict(load_plain(pretrained("IMDN_x4.pth"), "module."))
    return net.eval()(lr)


def run_carn(repo: Path, lr: torch.Tensor) -> torch.Tensor:
    net = authors_module(repo / "carn", "model.carn_m").Net(multi_scale=True, group=4)
    net.load_state_dict(load_plain(pretrained("carn_m.pth")))
    return net.eval()(lr, 4)


def run_rfdn(repo: Path, lr: torch.Tensor) -> torch.Tensor:
    net = authors_module(repo, "RFDN").RFDN()
    net.load_state_dict(load_plain(pretrained("RFDN_AIM.pth")))
    return net.eval()(lr * 255.0) / 255.0


NETWORKS = {  # name -> (runner, file, import --scale)
    "imdn_x4": (run_imdn, "IMDN_x4.pth", None),
    "carn_m_x4": (run_carn, "carn_m.pth", 4),
    "rfdn_aim_x4": (run_rfdn, "RFDN_AIM.pth", None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imdn", type=Path, required=True, help="checkout of Zheng222/IMDN")
    parser.add_argument("--carn", type=Path, required=True, help="checkout of CARN-pytorch")
    parser.add_argument("--rfdn", type=Path, required=True, help="checkout of njulj/RFDN")
    parser.add_argument("--out", type=Path, required=True, help=".npz to write")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lr = lr_crop()
    repos = {"imdn_x4": args.imdn, "carn_m_x4": args.carn, "rfdn_aim_x4": args.rfdn}
    arrays = {"lr": lr[0].numpy()}
    report = {"crop": CROP}
    with torch.no_grad():
        for name, (runner, file, scale) in NETWORKS.items():
            theirs = runner(repos[name], lr)
            ours = import_network(pretrained(file), scale).network(lr)
            arrays[name] = theirs[0].numpy().astype(np.float32)
            report[name] = {
                "file": file,
                "max_abs_difference": float((theirs - ours).abs().max()),
                "output_range": [float(theirs.min()), float(theirs.max())],
            }
            difference = report[name]["max_abs_difference"]
            print(f"{name}: srdistill vs the authors' code, max |diff| {difference:.2e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
