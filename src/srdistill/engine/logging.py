"""Metric logs: JSONL (always) and TensorBoard (when installed), resume-aware."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class MetricLogger:
    """Appends ``{"step": s, ...}`` lines; on resume, drops lines past the resumed step so
    the log reads as if the run had never stopped."""

    def __init__(
        self,
        run_dir: Path,
        start_step: int,
        tensorboard: bool = True,
        notes: list[str] | None = None,
    ) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.notes = list(notes or [])  # repeated on every line (e.g. a stand-in VGG)
        if self.path.exists():  # a resumed run: drop what came after its checkpoint
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and _step_of(line) <= start_step
            ]
            self.path.write_text("".join(line + "\n" for line in kept))
        self._file = open(self.path, "a")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(run_dir / "tb"), purge_step=start_step + 1)
            except ImportError:
                log.info("tensorboard not installed; logging to metrics.jsonl only")

    def log(self, step: int, values: dict[str, float]) -> None:
        record = {"step": step, **values, **({"notes": self.notes} if self.notes else {})}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def _step_of(line: str) -> int:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return 1 << 62  # an unreadable (half-written) line is dropped


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
