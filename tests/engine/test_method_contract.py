"""A method written outside the package trains, checkpoints, resumes and evaluates through
the public engine API; the engine never imports srdistill.methods."""

import ast
import shutil
from pathlib import Path

import torch

import srdistill.engine
from srdistill.config import config_from_dict
from srdistill.deploy.loading import load_sr_model
from srdistill.engine import Method, TrainingContext, train
from srdistill.eval import evaluate
from srdistill.models import SRResNet
from tests.conftest import tiny_config
from tests.engine.test_trainer import final_weights, losses


class TotalVariationMethod(Method):
    """Plain L1 plus a small total-variation penalty on the SR image."""

    def __init__(self, cfg, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        m = cfg.model
        self.model = ctx.prepare(SRResNet(cfg.scale, m.num_blocks, m.num_features))
        self.networks["student"] = self.model  # any name: the method declares what deploys
        self.add_optimizer("student", self.model.parameters())

    def train_step(self, lr, hr):
        sr = self.model(lr)
        l1 = (sr - hr).abs().mean()
        tv = (sr[..., 1:, :] - sr[..., :-1, :]).abs().mean()
        tv = tv + (sr[..., 1:] - sr[..., :-1]).abs().mean()
        loss = l1 + 0.01 * tv
        self.step_optimizer("student", loss, self.model.parameters())
        return {"loss": loss.detach(), "tv": tv.detach()}

    def eval_networks(self):
        return {"model": self.model}

    def deploy_networks(self):
        return ["student"]

    def validation_metrics(self):
        return ["psnr", "ssim"]


def test_a_user_method_trains_resumes_exactly_and_evaluates(tmp_path, image_dirs):
    raw = tiny_config(tmp_path, image_dirs, method="plain", train__keep_checkpoints=3)
    raw["model"] = {"arch": "srresnet", "num_blocks": 2, "num_features": 8}
    reference = train(
        config_from_dict({**raw, "output_dir": str(tmp_path / "ref")}), TotalVariationMethod
    )
    assert "tv" in losses(reference.run_dir)[0]
    assert 0 < reference.metrics["val/ssim_model"] < 1 and "val/psnr_model" in reference.metrics
    run = train(config_from_dict(raw), TotalVariationMethod)
    shutil.rmtree(run.run_dir / "checkpoints" / "step_00000006")
    (run.run_dir / "checkpoints" / "latest").unlink()
    resumed = train(config_from_dict(raw), TotalVariationMethod, resume=True)
    assert resumed.step == 6
    ref_w = final_weights(reference.run_dir, "student")
    got_w = final_weights(run.run_dir, "student")
    assert all(torch.equal(ref_w[k], got_w[k]) for k in ref_w)
    assert losses(run.run_dir) == losses(reference.run_dir)
    loaded = load_sr_model(run.run_dir)  # finds "student" through run.json's declaration
    assert loaded.source.name == "student.safetensors"
    result = evaluate(loaded.network, [str(image_dirs["test"])], 2)
    assert len(result.rows) == 2 and all(r["psnr"] > 5 for r in result.rows)


def test_the_engine_never_imports_methods():
    engine_dir = Path(srdistill.engine.__file__).parent
    for path in engine_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not name.startswith("srdistill.methods"), f"{path.name} imports {name}"


def test_a_no_reference_validation_metric_is_a_config_error(tmp_path, image_dirs):
    import pytest

    from srdistill.errors import ConfigError

    class ScoredByNiqe(TotalVariationMethod):
        def validation_metrics(self):
            return ["niqe"]

    raw = tiny_config(tmp_path, image_dirs, method="plain")
    raw["model"] = {"arch": "srresnet", "num_blocks": 1, "num_features": 4}
    cfg = config_from_dict(raw)
    with pytest.raises(ConfigError, match="needs no reference image"):
        train(cfg, ScoredByNiqe)
    assert not cfg.run_dir.exists()  # failed before the first step: nothing left behind


def test_a_method_reads_its_options_from_its_own_section(tmp_path, image_dirs):
    from srdistill.engine.method import method_section
    from srdistill.methods import METHODS

    raw = tiny_config(tmp_path, image_dirs)
    cfg = config_from_dict(raw)
    for name, method in METHODS.items():
        assert method_section(name) == method.section and method.name == name
        assert hasattr(cfg, method.section)  # every method's section exists in the config

    class NoSection(TotalVariationMethod):
        pass

    import pytest

    with pytest.raises(AttributeError, match="declares no config section"):
        NoSection.options.fget(NoSection.__new__(NoSection))


def test_a_method_without_train_step_is_named_in_one_line_before_training(tmp_path, image_dirs):
    import pytest

    from srdistill.errors import ConfigError

    class MyMethod(Method):
        def eval_networks(self):
            return {}

    cfg = config_from_dict(tiny_config(tmp_path, image_dirs))
    with pytest.raises(ConfigError, match="MyMethod does not define train_step") as err:
        train(cfg, method=MyMethod)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "runs" / "tiny" / "checkpoints").exists()


def test_run_json_names_a_users_method_and_the_cli_refuses_to_resume_it(
    tmp_path, image_dirs, capsys
):
    import json

    from srdistill.cli import main
    from srdistill.config import CONFIG_SCHEMA

    cfg = config_from_dict(tiny_config(tmp_path, image_dirs, train__steps=2))
    run = train(cfg, method=TotalVariationMethod).run_dir
    record = json.loads((run / "run.json").read_text())
    assert record["method_class"].endswith("test_method_contract.TotalVariationMethod")
    assert record["method"] is None  # not registered: not recorded as the config's "plain"
    assert record["config_schema"] == CONFIG_SCHEMA and record["architecture"]
    before = (run / "metrics.jsonl").read_text()
    assert main(["train", str(run), "--resume", "-o", "train.steps=4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a registered method" in err[0]
    assert "TotalVariationMethod" in err[0]
    assert (run / "metrics.jsonl").read_text() == before  # nothing trained as plain L1


def test_a_saved_config_older_than_a_key_is_read_with_the_behaviour_it_was_trained_with(
    tmp_path,
):
    import yaml

    from srdistill.config import RunConfig, read_saved_config

    raw = RunConfig().to_dict()
    del raw["mutual"]["peer_images"]  # written before the key existed
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    assert RunConfig().mutual.peer_images == "own"  # today's default
    assert read_saved_config(tmp_path / "config.yaml").mutual.peer_images == "same"


def test_a_checkpoint_names_its_method_and_another_class_cannot_resume_it(tmp_path, image_dirs):
    import pytest
    import torch

    from srdistill.errors import ConfigError

    class Other(TotalVariationMethod):
        pass

    cfg = config_from_dict(tiny_config(tmp_path, image_dirs, train__steps=2, train__ckpt_every=2))
    run = train(cfg, method=TotalVariationMethod).run_dir
    state = torch.load(next(run.glob("checkpoints/step_*/state.pt")), weights_only=False)
    assert state["trained_by"]["method_class"].endswith("TotalVariationMethod")
    assert state["trained_by"]["architecture"] == cfg.model.arch
    longer = config_from_dict(
        tiny_config(tmp_path, image_dirs, train__steps=4, train__ckpt_every=2)
    )
    with pytest.raises(ConfigError, match="resume it with the method that trained it") as err:
        train(longer, method=Other, resume=True)
    assert "\n" not in str(err.value)
