"""docs/python.md runs as written."""

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "python.md"


def test_the_python_guide_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "exit2 of MultiExitSRResNet-4" in out and "SRResNet-" in out
    assert (tmp_path / "guide_runs" / "custom" / "run.json").is_file()
    assert "(EMA weights)" in out
    assert "GuideNet-3" in out and "exit1 of multi-exit GuideNet-3" in out
    ckpts = tmp_path / "guide_runs" / "custom_ema" / "checkpoints"
    assert list(ckpts.glob("step_*/ema_model.safetensors"))
