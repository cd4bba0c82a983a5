import pytest
from PIL import Image

from srdistill.cli import main


@pytest.mark.slow
def test_demo_on_builtin_data_writes_table_and_figure(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--steps", "2"]) == 0
    printed = capsys.readouterr().out
    for column in ["bicubic", "SRResNet-4 alone", "exit 4 (self-distilled)", "center SRResNet-12"]:
        assert column in printed
    # It says in plain words what each network gained and what to run next.
    assert "SRResNet-4 alone: " in printed and " dB against bicubic" in printed
    assert "srdistill extract " in printed and "--exit 4" in printed
    assert "| builtin-test |" in printed
    figure = Image.open(out / "demo_crops.png")
    assert figure.width > 4 * figure.height  # five panels side by side
    assert (out / "demo_summary.json").exists() and (out / "demo_per_image.csv").exists()
    # A second call reuses the finished runs instead of training again.
    latest = out / "runs" / "alone" / "checkpoints" / "latest"
    before = latest.stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--steps", "2"]) == 0
    assert latest.stat().st_mtime_ns == before


@pytest.mark.slow
def test_demo_on_local_data(shared_data, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SRDISTILL_DATA", str(shared_data))
    assert main(["demo", "--data", "local", "--out", str(tmp_path), "--steps", "2"]) == 0
    printed = capsys.readouterr().out
    assert "| Set5 |" in printed and "| Set14 |" in printed
