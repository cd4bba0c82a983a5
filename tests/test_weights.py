"""The pretrained-network catalog: its checksums are the shared files', `weights download`
installs only a file with the catalog's SHA-256, and `weights import NAME` checks it."""

from __future__ import annotations

import pytest

from srdistill.cli import main
from srdistill.data.catalog import file_digest
from srdistill.errors import CheckpointError
from srdistill.weights import PRETRAINED, download_pretrained, require_pretrained
from tests.conftest import shared_data_root


def shared_file(name: str):
    root = shared_data_root()
    path = root / "weights" / "pretrained" / PRETRAINED[name].file if root else None
    if path is None or not path.is_file():
        pytest.skip(f"{name} not in <data root>/weights/pretrained (set SRDISTILL_DATA)")
    return path


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_catalog_checksums_are_the_files(name):
    assert file_digest(shared_file(name), "sha256") == PRETRAINED[name].sha256
    assert PRETRAINED[name].url.startswith("https://github.com/")


def test_download_keeps_only_the_catalogued_file(tmp_path, monkeypatch):
    good, other = shared_file("IMDN_x4"), shared_file("IMDN_x2")
    root = tmp_path / "data"
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        download_pretrained("IMDN_x4", other.as_uri(), root)
    assert not list((root / "weights" / "pretrained").glob("*.pth"))
    installed = download_pretrained("IMDN_x4", good.as_uri(), root)
    assert file_digest(installed, "sha256") == PRETRAINED["IMDN_x4"].sha256
    # `weights import NAME` finds it in the data root and checks it again.
    monkeypatch.setenv("SRDISTILL_DATA", str(root))
    assert require_pretrained("IMDN_x4") == installed
    installed.write_bytes(installed.read_bytes()[:-1] + b"\0")
    with pytest.raises(CheckpointError, match="SHA-256 differs"):
        require_pretrained("IMDN_x4")
    assert main(["weights", "download", "not_a_network"]) == 2
