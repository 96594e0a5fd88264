"""imgsync.atomic.write, and the catalog and metrics files written through it."""

import os
import stat

import pytest

from imgsync.ops import atomic
from imgsync.ops import catalog
from imgsync.ops import metrics


@pytest.fixture
def synced(monkeypatch):
    """The kinds of what os.fsync is called on, in order: 'file' or 'directory'."""
    kinds = []
    real = os.fsync

    def fsync(fd):
        kinds.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return kinds


def test_write_syncs_the_file_then_the_directory(tmp_path, synced):
    path = tmp_path / "out.prom"
    path.write_bytes(b"old\n")
    atomic.write(path, b"new\n", 0o640)
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert synced == ["file", "directory"]
    assert os.listdir(tmp_path) == ["out.prom"]


def test_a_failed_write_removes_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "out.prom"
    path.write_bytes(b"old\n")
    seen = []

    def refuse(fd):
        seen.extend(os.listdir(tmp_path))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(OSError):
        atomic.write(path, b"new\n")
    [temp] = [name for name in seen if name != "out.prom"]
    assert temp.startswith(".out.prom.") and temp.endswith(".tmp")
    assert os.listdir(tmp_path) == ["out.prom"] and path.read_bytes() == b"old\n"


def test_the_metrics_file_is_synced_with_its_directory(tmp_path, synced):
    metrics.write(tmp_path / "imgsync.prom", [], 1.0, 2.0, [])
    assert synced == ["file", "directory"]


def test_a_catalog_file_is_synced_with_its_directory(tmp_path, synced):
    path = catalog.write(tmp_path, "ubuntu", [])
    assert synced == ["file", "directory"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert open(path).read() == "---\nimages: []\n"
