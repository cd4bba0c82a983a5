"""One writer per run folder: an advisory lock held for the whole training process.

The lock is ``fcntl.flock`` on ``<run>/.lock``: the kernel drops it when its process dies
(even by kill -9), so a stale lock never blocks a later run. The file records who holds it
(PID, host, start time) so a refused second process can say so in one line.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from srdistill.errors import SrdistillError

LOCK_NAME = ".lock"


class RunLocked(SrdistillError):
    """Another live process is writing this run folder."""


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunLocked(
                f"run folder {self.path.parent} is in use by PID {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')} (since {holder.get('since', '?')}); wait for it to "
                "finish or stop it, then resume with --resume"
            ) from None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (ValueError, OSError):
        return {}
