from pathlib import Path

import pytest
import yaml

from srdistill.config import load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_shipped_config_and_preset_validates(path):
    presets = (yaml.safe_load(path.read_text()) or {}).get("presets", {})
    small = "study" if path.parent.name.startswith("study") else "quick"
    assert {small, "paper"} <= set(presets), f"each experiment has {small} and paper presets"
    for preset in [None, *presets]:
        load_config(path, preset)


def test_paper_a_configs_exist():
    names = {p.stem for p in CONFIGS}
    assert {"srresnet8_alone", "srresnet32_exit8", "srresnet50_exit8", "srresnet100_exit8"} <= names
