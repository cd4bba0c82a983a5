"""DUKD: the upcycled inputs, their labels, label consistency, and the two updates."""

import pytest
import torch

from srdistill.config import config_from_dict
from srdistill.engine.distributed import DistInfo
from srdistill.engine.trainer import build_method
from srdistill.errors import ConfigError
from srdistill.methods import METHODS, DUKDMethod, TrainingContext, train
from srdistill.methods.dukd import augment, zoom_in_tiles
from tests.conftest import tiny_config
from tests.engine.test_trainer import final_weights
from tests.methods.test_kd import batch, teacher_file

CTX = TrainingContext(torch.device("cpu"), "fp32", DistInfo())


def dukd_raw(tmp_path, image_dirs, **options):
    raw = tiny_config(tmp_path, image_dirs, method="dukd")
    raw["model"] = {"arch": "srresnet", "num_blocks": 2, "num_features": 8}
    raw["dukd"] = {"teacher": str(teacher_file(tmp_path)), **options}
    return raw


def test_zoom_in_tiles_are_distinct_cells_of_the_hr_grid():
    hr = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    torch.manual_seed(0)
    tiles = zoom_in_tiles(hr, tile=4, scale=2, count=4)
    assert tiles.shape == (8, 3, 4, 4)
    cells = {hr[0, :, r : r + 4, c : c + 4].sum().item() for r in (0, 4) for c in (0, 4)}
    assert {tiles[i].sum().item() for i in range(0, 8, 2)} == cells  # every cell once
    # The same cell for both images of the batch (image 1 = image 0 + 192 here).
    assert all(torch.equal(tiles[i + 1], tiles[i] + 192) for i in range(0, 8, 2))


def test_consistency_inverse_undoes_every_combination_of_operations():
    x = torch.rand(16, 3, 5, 5)
    chosen = torch.tensor([[(i >> k) & 1 for k in range(4)] for i in range(16)], dtype=torch.bool)
    assert torch.equal(augment(augment(x, chosen), chosen, inverse=True), x)
    # Applying the same order again (the authors' release) is not the inverse of a flip
    # combined with a transpose: it rotates by 180 degrees.
    flip_t = torch.tensor([[False, True, False, True]])
    once = augment(x[:1], flip_t)
    assert not torch.equal(augment(once, flip_t), x[:1])


def test_upcycled_terms_are_labelled_by_the_teacher_and_reach_the_student(tmp_path, image_dirs):
    method = DUKDMethod(config_from_dict(dukd_raw(tmp_path, image_dirs)), CTX)
    lr, hr = batch()
    parts = method.upcycled_losses(lr, hr)
    assert set(parts) == {"zoom_in_kd", "zoom_out_pixel", "zoom_out_kd", "upcycled"}
    params = list(method.model.parameters())
    for term in ("zoom_in_kd", "zoom_out_kd"):
        assert parts[term].item() > 0
        grads = torch.autograd.grad(parts[term], params, retain_graph=True, allow_unused=True)
        assert sum(1 for g in grads if g is not None and g.abs().sum() > 0) >= 4, term
    # Without consistency the zoom-in term is exactly L1(student(tile), teacher(tile)).
    plain = DUKDMethod(
        config_from_dict(dukd_raw(tmp_path, image_dirs, consistency_prob=0.0, zoom_out=False)),
        CTX,
    )
    torch.manual_seed(5)
    parts = plain.upcycled_losses(lr, hr)
    torch.manual_seed(5)
    tiles = zoom_in_tiles(hr, lr.shape[-1], 2, 1)
    with torch.no_grad():
        want = (plain.model(tiles) - plain.teacher(tiles)).abs().mean()
    assert torch.allclose(parts["zoom_in_kd"], want, rtol=1e-6, atol=torch.finfo().eps)
    assert set(parts) == {"zoom_in_kd", "upcycled"}


def test_separate_steps_take_two_updates_and_one_step_takes_one(tmp_path, image_dirs):
    counts = {}
    for separate in (True, False):
        cfg = config_from_dict(dukd_raw(tmp_path, image_dirs, separate_steps=separate))
        method = build_method(cfg, CTX, METHODS["dukd"])
        opt = method.optimizers["model"]
        method.train_step(*batch())
        counts[separate] = max(s["step"].item() for s in opt.state.values())
    assert counts == {True: 2, False: 1}


def test_a_dukd_run_trains_logs_its_terms_and_resumes_exactly(tmp_path, image_dirs):
    raw = dukd_raw(tmp_path, image_dirs)
    full = train(config_from_dict(raw))
    lines = (full.run_dir / "metrics.jsonl").read_text()
    assert '"zoom_in_kd"' in lines and '"zoom_out_kd"' in lines
    # Stopped after its first checkpoint and resumed: the same final weights (the
    # random tile and operation choices come from the checkpointed torch stream).
    raw["name"], raw["train"]["steps"] = "split", 3
    train(config_from_dict(raw))
    raw["train"]["steps"] = 6
    resumed = train(config_from_dict(raw), resume=True)
    assert resumed.step == 6
    a, b = final_weights(full.run_dir), final_weights(resumed.run_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "options, changes, message",
    [
        ({"zoom_in_patches": 0}, {}, "dukd.zoom_in_patches must be 1 to 4"),
        ({"zoom_in_patches": 5}, {}, "dukd.zoom_in_patches must be 1 to 4"),
        ({"consistency_prob": 1.5}, {}, "dukd.consistency_prob must lie in"),
        ({"upcycle_weight": -1}, {}, "dukd.upcycle_weight must be a finite number"),
        ({}, {"train__accumulate": 2}, "set dukd.separate_steps=false"),
        ({}, {"train__precision": "fp16"}, "set dukd.separate_steps=false"),
        ({"teacher": None}, {}, "method dukd needs dukd.teacher"),
    ],
)
def test_bad_dukd_options_are_one_line(tmp_path, image_dirs, options, changes, message):
    raw = dukd_raw(tmp_path, image_dirs, **options)
    for key, value in changes.items():
        section, name = key.split("__")
        raw[section][name] = value
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw)
