"""engine.hardware: which CPUs multiply bf16 natively, and the warning where none does."""

import logging

from srdistill.config import config_from_dict
from srdistill.engine import cpu_has_native_bf16
from srdistill.engine.hardware import cpu_flags
from srdistill.methods import train
from tests.conftest import tiny_config

XEON = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n"
GRAVITON = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"
NO_FLAGS = "processor\t: 0\nmodel name\t: something\n"


def test_native_bf16_is_read_from_the_cpu_flags():
    assert cpu_has_native_bf16(XEON) is True
    assert cpu_has_native_bf16(EPYC) is False
    assert cpu_has_native_bf16(GRAVITON) is True
    assert cpu_has_native_bf16(NO_FLAGS) is None
    assert cpu_flags(EPYC) == frozenset({"fpu", "sse2", "avx2", "fma"})  # the first CPU's


def test_bf16_training_warns_exactly_where_the_cpu_emulates_it(tmp_path, image_dirs, caplog):
    raw = tiny_config(
        tmp_path,
        image_dirs,
        method="plain",
        model={"arch": "srresnet", "num_blocks": 1, "num_features": 8},
        train__precision="bf16",
        train__steps=1,
    )
    with caplog.at_level(logging.WARNING, logger="srdistill.engine.trainer"):
        train(config_from_dict(raw))
    warned = any("emulated" in r.getMessage() for r in caplog.records)
    assert warned == (cpu_has_native_bf16() is False)
    caplog.clear()
    raw["train"]["precision"] = "fp32"
    raw["name"] = "fp32_run"
    with caplog.at_level(logging.WARNING, logger="srdistill.engine.trainer"):
        train(config_from_dict(raw))
    assert not any("emulated" in r.getMessage() for r in caplog.records)
