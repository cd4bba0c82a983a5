"""One checksum-verified downloader for every dataset and weight file."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path


class DownloadFailed(OSError):
    """The transfer failed or the checksum did not match; nothing was kept."""


def download_verified(
    url: str,
    dest: Path,
    hash_name: str,
    expected: str,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Fetch ``url`` to ``dest`` through ``dest.part``; keep it only if its ``hash_name``
    digest starts with ``expected`` (a full digest or a published prefix)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.new(hash_name)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(part, "wb") as f:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: resp.read(1 << 20), b""):
                digest.update(block)
                f.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DownloadFailed(f"download from {url} failed: {exc}") from None
    got = digest.hexdigest()
    if not got.startswith(expected.lower()):
        part.unlink(missing_ok=True)
        raise DownloadFailed(
            f"checksum mismatch for {url}: {hash_name} {got}, expected {expected}; "
            "the download is corrupt or changed upstream"
        )
    os.replace(part, dest)
    return dest
