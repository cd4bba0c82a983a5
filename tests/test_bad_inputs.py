"""The CLI on bad inputs: each is a non-zero exit, at most two lines on stderr, no
traceback, and every file that existed before is byte-identical afterwards."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import save_file

from srdistill.cli import main
from srdistill.config import config_from_dict
from srdistill.engine.checkpoint import save_module
from srdistill.methods import train
from srdistill.models import SRResNet
from tests.conftest import tiny_config
from tests.data.test_io import png_claiming


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from tests.conftest import write_images

    root = tmp_path_factory.mktemp("ws")
    dirs = {
        "train": write_images(root / "train_imgs", 4, (64, 56), seed=0),
        "test": write_images(root / "test_imgs", 2, (40, 36), seed=100),
    }
    raw = tiny_config(root, dirs, train__steps=2, train__ckpt_every=2)
    run = train(config_from_dict(raw)).run_dir
    save_module(SRResNet(2, 1, 4), root / "light.safetensors")
    (root / "user_files").mkdir()
    (root / "user_files" / "thesis.txt").write_text("years of work")
    for sub in ("a", "b"):
        (root / sub).mkdir()
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / sub / "img.png")
    (root / "held").mkdir()
    (root / "held" / "eval_summary.json").write_text("{}")
    (root / "out").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "out" / "img_x2.png")
    png_claiming(root / "bomb.png", 60000, 60000)
    (root / "not_an_image.png").write_text("hello")
    (root / "a_file").write_text("x")
    forged = {
        "srdistill_spec": json.dumps(
            {"arch": "SRResNet", "scale": 2, "num_blocks": 100000, "num_features": 4096}
        )
    }
    save_file(
        {"head.0.weight": SRResNet(2, 1, 4).head[0].weight.detach()},
        str(root / "forged.safetensors"),
        metadata=forged,
    )
    fits_bounds = {
        "srdistill_spec": json.dumps(
            {"arch": "SRResNet", "scale": 2, "num_blocks": 900, "num_features": 4000}
        )
    }
    save_file(
        {"head.0.weight": SRResNet(2, 1, 4).head[0].weight.detach()},
        str(root / "lying.safetensors"),
        metadata=fits_bounds,
    )
    save_file(
        {"x": SRResNet(2, 1, 4).head[0].weight.detach()},
        str(root / "nonjson.safetensors"),
        metadata={"srdistill_spec": "{not json"},
    )
    import torch

    ints = {k: v.to(torch.int8) for k, v in SRResNet(2, 1, 4).state_dict().items()}
    save_file(ints, str(root / "int8.safetensors"), metadata={
        "srdistill_spec": json.dumps(SRResNet(2, 1, 4).spec())
    })  # fmt: skip
    forged_run = root / "forged_deploy_run"
    shutil.copytree(run, forged_run)
    record = json.loads((forged_run / "run.json").read_text())
    record["deploy"] = ["../../user_files/thesis"]
    (forged_run / "run.json").write_text(json.dumps(record))
    broken = root / "broken_run"
    shutil.copytree(run, broken)
    for state in broken.glob("checkpoints/step_*/state.pt"):
        state.write_bytes(b"")
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefghi"):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{'abcdefghi'[i]}"] * 9) + "]")
    (root / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    (root / "twice.yaml").write_text("seed: 1\nseed: 2\n")
    (root / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (root / "empty_folder").mkdir()
    (root / "list.yaml").write_text("- seed\n- name\n")
    import io
    import tarfile
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(5):
            z.writestr(f"Set5/img{i}.png", (root / "a" / "img.png").read_bytes() * 50)
    (root / "trunc.zip").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        t.add(root / "a" / "img.png", arcname="Set5/img.png")
    (root / "trunc.tgz").write_bytes(buf.getvalue()[:40])
    (root / "empty.zip").write_bytes(b"")
    (root / "broken.yaml").write_text("model: {num_blocks: [1, 2\n")
    (root / "huge.yaml").write_text("# padding\n" * 200_000)  # 2 MB, over the 1 MB limit
    import os

    for name in ("fifo.png", "fifo.safetensors", "fifo.yaml", "fifo.zip"):
        os.mkfifo(root / name)  # reading one would block forever: refused by type
    # Round 3: other codebases' weight files, preset blocks, multi-frame images.
    import torch

    from srdistill.models import IMDN
    from tests.deploy.test_importer import authors_imdn_state

    torch.save(authors_imdn_state(IMDN(2, 1, 16)), root / "imdn.pth")
    (root / "truncated.pth").write_bytes((root / "imdn.pth").read_bytes()[:300])
    torch.save(torch.nn.Conv2d(3, 3, 1), root / "module.pth")
    torch.save({"encoder.weight": torch.zeros(2)}, root / "unknown.pth")
    (root / "preset_number.yaml").write_text("seed: 1\npresets: {quick: 5}\n")
    (root / "preset_list.yaml").write_text("seed: 1\npresets: [quick]\n")
    (root / "preset_int.yaml").write_text("seed: 1\npresets: {4: {seed: 2}}\n")
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 255)]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:])
    cfg_path = root / "cfg.yaml"
    import yaml

    cfg_path.write_text(yaml.safe_dump(raw))
    return {
        "root": root,
        "run": run,
        "cfg": cfg_path,
        "broken": broken,
        "light": root / "light.safetensors",
        "img": root / "a" / "img.png",
        "sets": dirs["test"],
        "ckpt": run / "checkpoints" / "step_00000002",
    }


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".lock")
    }


CASES = {
    "run name with a slash": "train {cfg} -o name=../user_files",
    "run name is .": "train {cfg} -o name=. --overwrite",
    "run name is ..": "train {cfg} -o name=..",
    "overwrite a non-run folder": "train {cfg} -o output_dir={root} -o name=user_files --overwrite",
    "existing run without --resume": "train {cfg}",
    "betas of one number": "train {cfg} -o optim.betas=[0.9] -o name=new1",
    "patch size 0": "train {cfg} -o data.patch_size=0 -o name=new2",
    "zero features": "train {cfg} -o model.num_features=0 -o name=new3",
    "nan learning rate": "train {cfg} -o optim.lr=.nan -o name=new4",
    "negative learning rate": "train {cfg} -o optim.lr=-1 -o name=new5",
    "zero steps": "train {cfg} -o train.steps=0 -o name=new6",
    "config rejects what train cannot run": "config {cfg} -o optim.betas=[0.9]",
    "missing config file": "train {root}/nope.yaml",
    "kd without a teacher": "train {cfg} -o method=kd -o model.arch=srresnet -o name=new7",
    "resume with no loadable checkpoint": "train {broken} --resume",
    "upscale over an existing output": "upscale {light} {img} -o {root}/out",
    "upscale onto one output": "upscale {light} {img} {root}/b/img.png -o {root}/new_out",
    "upscale negative tile": "upscale {light} {img} -o {root}/o2 --tile -5",
    "upscale negative overlap": "upscale {light} {img} -o {root}/o3 --tile-overlap -8",
    "upscale on an unknown device": "upscale {light} {img} -o {root}/o4 --device tpu9",
    "upscale with a zero memory budget": "upscale {light} {img} -o {root}/o6 --memory-budget 0",
    "upscale with a NaN memory budget": "upscale {light} {img} -o {root}/o7 --memory-budget nan",
    "upscale a decompression bomb": "upscale {light} {root}/bomb.png -o {root}/o5",
    "upscale a text file": "upscale {light} {root}/not_an_image.png -o {root}/o6",
    "upscale into a file": "upscale {light} {img} -o {root}/a_file",
    "extract over an existing file": "extract {run} --exit 1 -o {root}/light.safetensors",
    "extract into checkpoints": "extract {run} --exit 1 -o {ckpt}/model.safetensors --overwrite",
    "extract below a file": "extract {run} --exit 1 -o {root}/a_file/light.safetensors",
    "profile zero repeats": "profile {run} --repeats 0",
    "profile zero size": "profile {run} --input-size 0x0",
    "profile a size no memory holds": "profile {run} --input-size 60000x60000",
    "profile garbage size": "profile {run} --input-size big",
    "eval negative max images": "eval {run} --sets {sets} --max-images -1 --out {root}/ev1",
    "eval a missing checkpoint": "eval {root}/missing --sets {sets} --out {root}/ev2",
    "eval a forged spec": "eval {root}/forged.safetensors --sets {sets} --out {root}/ev3",
    "eval a lying spec": "eval {root}/lying.safetensors --sets {sets} --out {root}/ev4",
    "eval a non-JSON spec": "eval {root}/nonjson.safetensors --sets {sets} --out {root}/ev5",
    "eval output below a file": "eval {run} --sets {sets} --out {root}/a_file/ev",
    "export over an existing file": "export {run} --exit 1 -o {root}/light.safetensors",
    # The run folder belongs to training: nothing else writes there, --overwrite or not.
    "extract over the run's config": "extract {run} --exit 1 -o {run}/config.yaml --overwrite",
    "export into the run folder": "export {run} --exit 1 -o {run}/light.onnx",
    "profile report into the run folder": "profile {run} --out {run}/profile.md",
    "eval results into the run folder": "eval {run} --sets {sets} --out {run}/ev",
    "eval into a folder holding results": "eval {run} --sets {sets} --out {root}/held",
    # Configs that would take minutes and gigabytes, or mean two things.
    "config alias bomb": "config {root}/bomb.yaml",
    "train an alias bomb": "train {root}/bomb.yaml",
    "config with a key twice": "config {root}/twice.yaml",
    "config that is not UTF-8": "config {root}/latin1.yaml",
    "upscale an empty folder": "upscale {light} {root}/empty_folder -o {root}/o8",
    "upscale an input onto itself": "upscale {light} {root}/out/img_x2.png {root}/out/img.png "
    "-o {root}/out --overwrite",
    # Files that are not regular files (a FIFO would block a reader forever).
    "upscale a FIFO image": "upscale {light} {root}/fifo.png -o {root}/o9",
    "upscale with a FIFO model": "upscale {root}/fifo.safetensors {img} -o {root}/o10",
    "eval a FIFO checkpoint": "eval {root}/fifo.safetensors --sets {sets} --out {root}/ev6",
    "train a FIFO config": "train {root}/fifo.yaml",
    "config a FIFO": "config {root}/fifo.yaml",
    "extract from a FIFO": "extract {root}/fifo.safetensors --exit 1 -o {root}/x1.safetensors",
    "profile a FIFO": "profile {root}/fifo.safetensors",
    "data import from a FIFO": "data download Set5 --from {root}/fifo.zip --root {root}/dl",
    "data import from a text file": "data download Set5 --from {root}/a_file --root {root}/dl2",
    "data import of an empty folder": "data download Set5 --from {root}/empty_folder "
    "--root {root}/dl3",
    "data download of an unknown set": "data download NoSuchSet --root {root}/dl4",
    "data verify of an unknown set": "data verify NoSuchSet",
    # Seeds and numbers numpy or torch cannot take.
    "seed beyond 64 bits": "train {cfg} -o seed=99999999999999999999 -o name=new8",
    "negative seed": "train {cfg} -o seed=-1 -o name=new9",
    "seed not a number": "train {cfg} -o seed=abc -o name=new10",
    "infinite adversarial weight": "train {cfg} -o mutual.adv_weight=inf -o name=new11",
    "zero batch size": "train {cfg} -o train.batch_size=0 -o name=new12",
    "zero scale": "train {cfg} -o scale=0 -o name=new13",
    "validation every 0 steps": "train {cfg} -o train.val_every=0 -o name=new14",
    "negative workers": "train {cfg} -o data.num_workers=-1 -o name=new15",
    # Keys and choices.
    "misspelt key": "train {cfg} -o model.num_blokcs=4 -o name=new16",
    "unknown section": "train {cfg} -o modle.num_blocks=4 -o name=new17",
    "override without =": "train {cfg} -o steps",
    "unknown method": "train {cfg} -o method=magic -o name=new18",
    "unknown content loss": "train {cfg} -o mutual.content_loss=mse -o name=new19",
    "unknown schedule": "train {cfg} -o optim.schedule=linear2 -o name=new20",
    "exits on a plain SRResNet": "train {cfg} -o model.exits=[3] -o name=new21",
    # Choosing what a checkpoint does not have.
    "eval an unknown metric": "eval {run} --sets {sets} --metrics psnr,foo --out {root}/ev7",
    "eval an unknown set": "eval {run} --sets NoSuchSet --out {root}/ev8",
    "eval a member of a plain run": "eval {run} --member 1 --sets {sets} --out {root}/ev9",
    "eval an exit the run lacks": "eval {run} --exit 9 --sets {sets} --out {root}/ev10",
    "upscale a member of a plain run": "upscale {run} {img} --member 1 -o {root}/o11",
    "extract an exit the run lacks": "extract {run} --exit 7 -o {root}/x2.safetensors",
    "export onto a folder": "export {run} --exit 1 -o {root}/a",
    # Studies and tables.
    "study with an unknown arm": "reproduce study-a --arms nope --out {root}/sa --records= "
    "--no-train",
    "study-b with the stand-in VGG": "reproduce study-b --out {root}/sb --records= --sets {sets} "
    "-o mutual.content_loss=vgg -o mutual.vgg_weights=random",
    "table with the stand-in VGG": "reproduce paper-b-2 --out {root}/pb --sets {sets} "
    "-o mutual.content_loss=vgg -o mutual.vgg_weights=random",
    "study with zero seeds": "reproduce study-a --seeds 0 --out {root}/sa2 --records= --no-train",
    "table with negative seeds": "reproduce paper-a-1 --seeds -2 --out {root}/pa",
    "table with the study preset": "reproduce paper-a-1 --preset study --out {root}/pa2",
    "table with --no-train": "reproduce paper-b-2 --no-train --out {root}/pa3",
    "table with --arms": "reproduce paper-a-1 --arms teacher --out {root}/pa4",
    "study-b with an unknown arm": "reproduce study-b --arms nope --out {root}/sb2 --records= "
    "--no-train",
    # Run folders given where a config is expected, and the reverse.
    "train a run folder without --resume": "train {run}",
    "resume a run folder with a preset": "train {run} --resume --preset quick",
    "train an unknown preset": "train {cfg} --preset nope -o name=new22",
    "config that is a list": "config {root}/list.yaml",
    "config that is not YAML": "config {root}/broken.yaml",
    "config over the size limit": "config {root}/huge.yaml",
    # Values of the wrong type or range.
    "a list key given a number": "train {cfg} -o data.train=5 -o name=new23",
    "patch size not a multiple of the scale": "train {cfg} -o data.patch_size=33 -o name=new24",
    "negative milestone": "train {cfg} -o optim.milestones=[-5] -o name=new25",
    "negative gradient clip": "train {cfg} -o train.grad_clip=-1 -o name=new26",
    "zero threads": "train {cfg} -o train.threads=0 -o name=new27",
    "zero pixel limit": "train {cfg} -o data.max_pixels=0 -o name=new28",
    "a text file as the KD teacher": "train {cfg} -o method=kd -o model.arch=srresnet "
    "-o kd.teacher={root}/a_file -o name=new29",
    "a text file as the start network": "train {cfg} -o method=plain -o model.arch=srresnet "
    "-o plain.init_from={root}/a_file -o name=new30",
    # Inference options a model or machine does not have.
    "upscale an exit of a plain model": "upscale {light} {img} --exit 3 -o {root}/o12",
    "upscale from a folder with no checkpoint": "upscale {root}/empty_folder {img} -o {root}/o13",
    "upscale with a negative memory budget": "upscale {light} {img} -o {root}/o14 "
    "--memory-budget -1",
    "eval zero max images": "eval {run} --sets {sets} --max-images 0 --out {root}/ev11",
    "eval on a missing GPU": "eval {run} --sets {sets} --device cuda:7 --out {root}/ev12",
    "profile on a missing GPU": "profile {run} --device cuda:7",
    "profile negative repeats": "profile {run} --repeats -3",
    "export an exit the run lacks": "export {run} --exit 9 -o {root}/x.onnx",
    "data import from a missing file": "data download Set5 --from {root}/nope.zip "
    "--root {root}/dl5",
    "data import of a truncated zip": "data download Set5 --from {root}/trunc.zip "
    "--root {root}/dl6",
    "data import of a truncated tgz": "data download Set5 --from {root}/trunc.tgz "
    "--root {root}/dl7",
    "eval a run whose record names ../ networks": "eval {root}/forged_deploy_run --sets {sets} "
    "--out {root}/ev14",
    "upscale a run whose record names ../ networks": "upscale {root}/forged_deploy_run {img} "
    "-o {root}/o15",
    "eval integer weights": "eval {root}/int8.safetensors --sets {sets} --out {root}/ev13",
    "data import of an empty zip": "data download Set5 --from {root}/empty.zip --root {root}/dl8",
    # Round 3: other codebases' weight files.
    "import a truncated .pth": "weights import {root}/truncated.pth -o {root}/w1.safetensors",
    "import a pickled module": "weights import {root}/module.pth -o {root}/w2.safetensors",
    "import unknown keys": "weights import {root}/unknown.pth -o {root}/w3.safetensors",
    "import at the wrong scale": "weights import {root}/imdn.pth -o {root}/w4.safetensors "
    "--scale 4",
    "import over an existing file": "weights import {root}/imdn.pth -o {root}/light.safetensors",
    "import onto a .pth": "weights import {root}/imdn.pth -o {root}/w5.pth",
    "import without an output": "weights import {root}/imdn.pth",
    "import a missing file": "weights import {root}/nope.pth -o {root}/w6.safetensors",
    "download an unknown network": "weights download NoSuchNet --root {root}/dl9",
    "eval a raw .pth": "eval {root}/imdn.pth --sets {sets} --out {root}/ev15",
    "a raw .pth as the KD teacher": "train {cfg} -o method=kd -o model.arch=imdn "
    "-o model.num_blocks=1 -o model.num_features=16 -o kd.teacher={root}/imdn.pth "
    "-o name=new31",
    # Round 3: preset blocks of the wrong type.
    "a preset that is a number": "config {root}/preset_number.yaml --preset quick",
    "presets that are a list": "config {root}/preset_list.yaml",
    "a preset named by a number": "config {root}/preset_int.yaml",
    # Round 3: options that train silently or wrongly.
    "an exit listed twice": "train {cfg} -o model.exits=[1,1] -o name=new32",
    "an infinite gradient clip": "train {cfg} -o train.grad_clip=inf -o name=new33",
    "a NaN gradient clip": "train {cfg} -o train.grad_clip=.nan -o name=new34",
    "an infinite temperature": "train {cfg} -o mutual.temperature=inf -o name=new35",
    "a cosine span of zero steps": "train {cfg} -o optim.schedule=cosine -o optim.cosine_steps=0 "
    "-o name=new36",
    "more steps and another learning rate": "train {run} --resume -o train.steps=9 -o optim.lr=0.5",
    # Round 3: numbers at and below zero on every subcommand.
    "demo zero steps": "demo --steps 0 --out {root}/demo1",
    "demo negative seed": "demo --seed -1 --out {root}/demo2",
    "eval scale zero": "eval {run} --scale 0 --sets {sets} --out {root}/ev16",
    "eval scale negative": "eval {run} --scale -2 --sets {sets} --out {root}/ev17",
    "extract exit zero": "extract {run} --exit 0 -o {root}/x3.safetensors",
    "extract negative exit": "extract {run} --exit -1 -o {root}/x4.safetensors",
    "upscale exit zero": "upscale {run} {img} --exit 0 -o {root}/o16",
    "upscale negative member": "upscale {run} {img} --member -1 -o {root}/o17",
    "upscale zero tile": "upscale {light} {img} --tile 0 -o {root}/o18",
    "upscale zero pixel limit": "upscale {light} {img} --max-pixels 0 -o {root}/o19",
    "profile exit zero": "profile {run} --exit 0",
    "profile negative member": "profile {run} --member -2",
    "profile a negative size": "profile {run} --input-size=-4x8",
    "export exit zero": "export {run} --exit 0 -o {root}/x5.onnx",
    "export negative member": "export {run} --member -1 -o {root}/x6.onnx",
    "import scale zero": "weights import {root}/imdn.pth -o {root}/w7.safetensors --scale 0",
    "import a zero pixel range": "weights import {root}/imdn.pth -o {root}/w8.safetensors "
    "--rgb-range 0",
    "study-b with zero seeds": "reproduce study-b --seeds 0 --out {root}/sb3 --records= --no-train",
    "eval negative pixel limit": "eval {run} --max-pixels -5 --sets {sets} --out {root}/ev18",
    # Round 3: more seeds than a study declares (they were capped without a word).
    "study-a with more seeds than it declares": "reproduce study-a --seeds 4 --out {root}/sa4 "
    "--records= --no-train",
    # Round 3: images whose file holds more than one picture.
    "upscale an animated GIF": "upscale {light} {root}/animated.gif -o {root}/o20",
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(workspace, case, capsys):
    args = CASES[case].format(**{k: str(v) for k, v in workspace.items()}).split()
    before = snapshot(workspace["root"])
    try:
        code = main(args)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code not in (0, None), f"{case}: exit {code}"
    assert "Traceback" not in err
    assert 1 <= len(lines) <= 2, f"{case}: {lines}"
    assert all(len(ln) < 400 for ln in lines)
    after = snapshot(workspace["root"])
    for path, digest in before.items():
        assert after.get(path) == digest, f"{case} changed or removed {path}"


def test_there_are_at_least_a_hundred_cases():
    assert len(CASES) >= 100


def test_every_case_is_listed_in_the_reliability_doc():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "reliability.md").read_text()
    missing = [case for case in CASES if case not in doc]
    assert not missing, missing
