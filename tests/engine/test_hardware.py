"""engine.hardware: which CPUs multiply bf16 natively (the trainer warns where none does)."""

from srdistill.engine import cpu_has_native_bf16
from srdistill.engine.hardware import cpu_flags

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
