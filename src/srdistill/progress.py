"""Progress for people and for log files.

On a terminal: a live tqdm bar. Otherwise (CI, nohup, a redirected log): one plain line
every ``every_steps`` steps or ``every_seconds`` seconds, whichever comes first, e.g.
``run: step 400/4000 (10%) loss 0.0312 8.91 steps/s ETA 6m44s``. No carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    def __init__(
        self,
        total: int,
        desc: str,
        *,
        initial: int = 0,
        unit: str = "step",
        every_steps: int = 100,
        every_seconds: float = 30.0,
        stream: TextIO | None = None,
        live: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total, self.desc, self.unit = total, desc, unit
        self.count = self._last_count = initial
        self.every_steps, self.every_seconds = max(1, every_steps), every_seconds
        self.postfix: dict[str, str] = {}
        self._start = self._last_time = time.monotonic()
        self._initial = initial
        live = self.stream.isatty() if live is None else live
        self._bar = None
        if live:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=initial,
                desc=desc,
                unit=unit,
                dynamic_ncols=True,
                file=self.stream,
            )

    def set(self, **values: str) -> None:
        """Values shown after the count (e.g. loss=...)."""
        self.postfix.update(values)
        if self._bar is not None:
            self._bar.set_postfix(self.postfix, refresh=False)

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        due = self.count - self._last_count >= self.every_steps
        if due or now - self._last_time >= self.every_seconds or self.count == self.total:
            self._line(now)

    def _line(self, now: float) -> None:
        done = self.count - self._initial
        rate = done / max(now - self._start, 1e-9)
        eta = (self.total - self.count) / rate if rate > 0 else float("inf")
        pct = 100 * self.count / self.total if self.total else 100.0
        extra = "".join(f" {k} {v}" for k, v in self.postfix.items())
        eta_text = _duration(eta) if eta != float("inf") else "?"
        self.stream.write(
            f"{self.desc}: {self.unit} {self.count}/{self.total} ({pct:.0f}%){extra} "
            f"{rate:.2f} {self.unit}s/s ETA {eta_text}\n"
        )
        self.stream.flush()
        self._last_count, self._last_time = self.count, now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.count != self._last_count:
            self._line(time.monotonic())
