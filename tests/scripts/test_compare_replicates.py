"""scripts/compare_replicates.py: run-by-run differences between two study replicates."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_replicates.py"
HEADER = "arm,seed,network,set,psnr,ssim,train_seconds\n"


def test_differences_of_the_runs_both_replicates_hold(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "results.csv").write_text(
        HEADER + "alone,0,student,Set5,29.2270,0.8,1\nalone,1,student,Set5,29.1000,0.8,1\n"
    )
    (b / "results.csv").write_text(
        HEADER + "alone,0,student,Set5,29.2230,0.8,1\nteacher,0,teacher,Set5,30.3,0.8,1\n"
    )
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(a), str(b)], capture_output=True, text=True, check=True
    ).stdout
    assert "| alone | 0 | student | 29.227 / 29.223 (-0.004) |" in out
    assert "teacher" not in out and "| alone | 1 |" not in out  # only runs both hold
    assert "1 networks in both; largest |B - A| over sets: 0.004 dB" in out
