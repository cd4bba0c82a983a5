import numpy as np
import pytest
import torch
from PIL import Image

from srdistill.data.datasets import TrainPatches, dihedral, load_benchmark, load_image_set
from srdistill.errors import DataError
from srdistill.ops.imresize import degrade, mod_crop


def test_batch_is_a_pure_function_of_seed_and_step(image_dirs):
    data = TrainPatches([str(image_dirs["train"])], 2, 16, 4, seed=1)
    lr, hr = data.batch(5)
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (4, 3, 16, 16)
    lr2, hr2 = TrainPatches([str(image_dirs["train"])], 2, 16, 4, seed=1).batch(5)
    assert torch.equal(lr, lr2) and torch.equal(hr, hr2)
    assert not torch.equal(data.batch(6)[1], hr)
    assert not torch.equal(
        TrainPatches([str(image_dirs["train"])], 2, 16, 4, seed=2).batch(5)[1], hr
    )


def test_ranks_split_the_global_batch(image_dirs):
    whole = TrainPatches([str(image_dirs["train"])], 2, 16, 4, seed=0).batch(3)
    parts = [
        TrainPatches([str(image_dirs["train"])], 2, 16, 4, seed=0, rank=r, world_size=2).batch(3)
        for r in range(2)
    ]
    assert torch.equal(torch.cat([p[0] for p in parts]), whole[0])
    assert torch.equal(torch.cat([p[1] for p in parts]), whole[1])


def test_lr_patch_is_aligned_crop_of_whole_image_lr(image_dirs):
    data = TrainPatches([str(image_dirs["train"])], 2, 16, 8, seed=0, augment=False)
    lr, hr = data.batch(0)
    img = mod_crop(
        torch.from_numpy(np.array(Image.open(image_dirs["train"] / "img00.png")))
        .permute(2, 0, 1)
        .float()
        / 255,
        2,
    )
    full_lr = degrade(img[None], 2)[0]
    found = 0
    for i in range(8):  # find patches from img00 and check LR/HR alignment
        for y in range(full_lr.shape[1] - 7):
            for x in range(full_lr.shape[2] - 7):
                if torch.equal(
                    (hr[i] * 255).round(),
                    (img[:, 2 * y : 2 * y + 16, 2 * x : 2 * x + 16] * 255).round(),
                ):
                    assert torch.allclose(lr[i], full_lr[:, y : y + 8, x : x + 8], atol=1 / 255 / 2)
                    found += 1
    assert found >= 1


def test_dihedral_gives_eight_distinct_transforms():
    x = torch.arange(9.0).view(1, 3, 3)
    outs = {tuple(dihedral(x, m).flatten().tolist()) for m in range(8)}
    assert len(outs) == 8


def test_small_and_corrupt_images_skip_or_stop(tmp_path, image_dirs, caplog):
    folder = image_dirs["train"]
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "tiny.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    data = TrainPatches([str(folder)], 2, 16, 4, seed=0)
    assert len(data) == 4
    assert "broken.png" in caplog.text and "tiny" in caplog.text
    with pytest.raises(DataError, match="broken.png"):
        TrainPatches([str(folder)], 2, 16, 4, seed=0, on_bad_image="stop")


def test_no_usable_images_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match="not found"):
        TrainPatches([str(tmp_path / "missing" / "dir")], 2, 16, 4, seed=0)
    with pytest.raises(DataError, match="multiple of the scale"):
        TrainPatches([str(tmp_path)], 3, 16, 4, seed=0)


def test_builtin_split_loads_offline():
    train = load_image_set("builtin-train")
    test = load_image_set("builtin-test")
    assert len(train) == 6 and len(test) == 2
    assert not {n for n, _ in train} & {n for n, _ in test}
    assert all(a.dtype == np.uint8 and a.shape[2] == 3 for _, a in train + test)


def test_benchmark_pairs_are_mod_cropped_and_degraded(image_dirs):
    images = load_benchmark(str(image_dirs["test"]), 4)
    assert len(images) == 2
    for im in images:
        assert im.hr.shape[-2] % 4 == 0 and im.hr.shape[-1] % 4 == 0
        assert im.lr.shape[-2] * 4 == im.hr.shape[-2]
