import pytest

from srdistill.config import load_config, parse_override
from srdistill.errors import ConfigError


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_preset_and_overrides_apply_in_order(tmp_path):
    p = write(
        tmp_path,
        """
method: self_distill
model: {arch: multi_exit_srresnet, num_blocks: 32, exits: [8]}
train: {steps: 1000, batch_size: 4}
presets:
  quick: {model: {num_features: 16}, train: {steps: 50, precision: bf16}}
""",
    )
    cfg = load_config(p, "quick", ["train.steps=7", "optim.lr=2e-4", "model.exits=[4, 8]"])
    assert cfg.model.num_features == 16 and cfg.train.precision == "bf16"
    assert cfg.train.steps == 7 and cfg.optim.lr == 2e-4 and cfg.model.exits == [4, 8]
    assert load_config(p).train.steps == 1000


@pytest.mark.parametrize(
    "text, message",
    [
        ("train: {stesp: 3}", "unknown config key 'train.stesp' (did you mean 'train.steps'?)"),
        ("modle: {}", "did you mean 'model'"),
        ("train: {steps: many}", "'train.steps' must be int"),
        ("train: {precision: fp8}", "must be one of fp32, bf16"),
        ("method: self_distill", "needs model.arch: multi_exit_srresnet"),
        (
            "{method: self_distill, model: {arch: multi_exit_srresnet, num_blocks: 4, exits: [4]}}",
            "model.exits",
        ),
        ("model: {arch: multi_exit_srresnet}", "method plain trains a network with one output"),
        ("scale: 5", "'scale' must be 2, 3, 4 or 8"),
        ("[1, 2]", "must hold a mapping"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_bad_configs_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_preset_and_bad_override(tmp_path):
    p = write(tmp_path, "presets: {quick: {}}")
    with pytest.raises(ConfigError, match="available: quick"):
        load_config(p, "paper")
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("train.steps")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml")


def test_yaml_alias_bomb_is_refused_quickly_in_one_line(tmp_path):
    import time

    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="aliases") as info:
        load_config(bomb)
    assert time.perf_counter() - start < 5 and "\n" not in str(info.value)
    assert len(str(info.value)) < 300  # the expanded value is never printed


@pytest.mark.parametrize(
    "content, message",
    [
        (b"train:\n  steps: 5\ntrain:\n  steps: 6\n", "appears twice"),
        (b"seed: 1\nseed: 2\n", "appears twice"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_duplicate_keys_and_undecodable_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_exits_on_a_plain_srresnet_are_refused_not_ignored():
    from srdistill.config import load_config
    from srdistill.errors import ConfigError

    with pytest.raises(ConfigError, match="model.exits \\[3\\] is read only by"):
        load_config("study_a/student", "study", ["model.exits=[3]"])
    assert load_config("study_a/multi_exit", "study", ["model.exits=[3]"]).model.exits == [3]


def test_switching_model_arch_keeps_shared_sizes_and_drops_the_rest(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="srdistill.schema")
    cfg = load_config("self_distill/srresnet8_alone", "quick", ["model.arch=imdn"])
    # IMDN shares num_blocks and num_features with SRResNet; it has no bicubic_skip/exits.
    assert (cfg.model.arch, cfg.model.num_blocks, cfg.model.num_features) == ("imdn", 8, 32)
    with pytest.raises(ConfigError, match="unknown config key 'model.exits'"):
        load_config("self_distill/srresnet8_alone", "quick", ["model.arch=imdn", "model.exits=[2]"])
    cfg = load_config("self_distill/srresnet32_exit8", "quick", ["model.arch=edsr", "method=plain"])
    assert not hasattr(cfg.model, "exits") and "dropped the config's model.exits" in caplog.text


def test_model_and_method_sections_come_from_their_registries():
    from srdistill.config import METHOD_OPTIONS, MODEL_OPTIONS, RunConfig

    assert {"srresnet", "edsr", "rcan", "imdn", "multi_exit_edsr"} <= set(MODEL_OPTIONS)
    cfg = RunConfig()
    for entry in METHOD_OPTIONS.values():  # every registered method has its section
        assert type(getattr(cfg, entry.section)) is entry.options
    with pytest.raises(ConfigError, match="did you mean 'edsr'"):
        load_config(None, None, ["model.arch=edrs"])
    with pytest.raises(ConfigError, match="did you mean 'mutual_gan'"):
        load_config(None, None, ["method=mutual_gen"])


def test_a_plugin_module_that_does_not_import_is_one_line(monkeypatch):
    import srdistill.config as config

    monkeypatch.setenv(config.PLUGIN_ENV, "no_such_srdistill_plugin")
    monkeypatch.setattr(config, "_PLUGINS_LOADED", False)
    with pytest.raises(ConfigError, match="SRDISTILL_PLUGINS names 'no_such_srdistill_plugin'"):
        config.ensure_builtins()
    monkeypatch.delenv(config.PLUGIN_ENV)
    config.ensure_builtins()  # the next call, with the name fixed, loads cleanly
    assert config._PLUGINS_LOADED
