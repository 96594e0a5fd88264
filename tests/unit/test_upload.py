"""One upload, end to end through imgsync's pipeline into a stand-in for Glance's API.

The safety of an upload rests here: the held-back last chunk, the checksum and format
checks, the proof of what Glance stored, and publication only afterwards. (The same is
tested against the real Glance in tests/functional; these run in a second.)
"""

import contextlib
import datetime
import hashlib
import subprocess

import pytest

from imgsync import exceptions
from imgsync.engine import fanout
from imgsync.engine import sync
from imgsync.glance import client as glance_mod
from imgsync.glance import upload as upload_mod
from imgsync.upstream.drivers import base
from tests.unit import fake_glance

URL = "https://mirror.test/ubuntu/noble/ubuntu-24.04-server-cloudimg-amd64.img"


class Upstream:
    """Serves ``data`` in 64 KiB chunks, as upstream.Upstream.open does."""

    def __init__(self, data):
        self.data = data

    @contextlib.contextmanager
    def open(self, url):
        size = 64 * 1024
        yield iter([self.data[i:i + size] for i in range(0, len(self.data), size)]), None


def release(data, algo="sha256", checksum=None):
    return base.Release(
        distro="ubuntu-24.04", display_name="Ubuntu 24.04", version="20240423",
        build_date=datetime.date(2024, 4, 23), url=URL, official_url=URL,
        checksum_algo=algo, checksum=checksum or hashlib.new(algo, data).hexdigest(),
        disk_format="qcow2", min_disk=0, min_ram=0, metadata={"architecture": "x86_64"})


def upload(proxy, data, served=None, method="put", visibility="community", **fields):
    settings = sync.Settings(visibility=visibility, upload_method=method)
    uploader = upload_mod.Uploader(glance_mod.Glance(proxy, poll_interval=0), settings)
    outcome, = fanout.upload(
        release(data, **fields), [fanout.Delivery("", uploader, "test-Ubuntu 24.04 (20240423)")],
        Upstream(data if served is None else served), settings.max_image_size, 60).values()
    if isinstance(outcome, Exception):
        raise outcome
    return outcome.image_id


def published(proxy):
    return [json for method, path, json in proxy.calls if method == "PATCH"
            and any(op["path"] == "/visibility" for op in json)
            and not path.endswith("/new-1")]   # new-1 is the permission check's record


@pytest.mark.parametrize("method", ["put", "glance-direct"])
@pytest.mark.parametrize("visibility", ["community", "public", "private"])
def test_a_verified_upload_is_published_as_configured(qcow2, method, visibility):
    proxy = fake_glance.FakeProxy()
    image_id = upload(proxy, qcow2, method=method, visibility=visibility)
    image = proxy.images[image_id]
    assert proxy.received[image_id] == qcow2
    assert (image["visibility"], image["os_hidden"]) == (visibility, False)
    assert "imgsync.state" not in image and "imgsync.started_at" not in image
    assert list(proxy.images) == [image_id]   # the permission check's record is gone


@pytest.mark.parametrize("method", ["put", "glance-direct"])
def test_glance_holding_other_bytes_is_refused_and_removed(qcow2, method):
    proxy = fake_glance.FakeProxy()
    proxy.stored = staticmethod(lambda data: data[:-1] + b"x")
    with pytest.raises(exceptions.GlanceError, match="differs from"):
        upload(proxy, qcow2, method=method)
    assert proxy.images == {} and published(proxy) == []


@pytest.mark.parametrize("method", ["put", "glance-direct"])
def test_a_checksum_mismatch_never_completes_the_upload(qcow2, method):
    proxy = fake_glance.FakeProxy()
    with pytest.raises(exceptions.ChecksumMismatch):
        upload(proxy, qcow2, method=method, checksum="0" * 64)
    received, = proxy.received.values()
    assert 0 < len(received) < len(qcow2)   # all but the held-back last chunk
    assert proxy.images == {} and published(proxy) == []


def test_data_of_another_format_never_completes_the_upload():
    proxy = fake_glance.FakeProxy()
    raw = bytes(300_000)
    with pytest.raises(exceptions.ImageFormatMismatch, match="qcow2"):
        upload(proxy, raw)
    received, = proxy.received.values()
    assert len(received) < len(raw)
    assert proxy.images == {} and published(proxy) == []


def test_a_qcow2_with_a_backing_file_never_completes_the_upload(tmp_path):
    path = tmp_path / "evil.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw",
                    str(path)], check=True)
    proxy = fake_glance.FakeProxy()
    data = path.read_bytes()
    with pytest.raises(exceptions.UnsafeImage, match="backing"):
        upload(proxy, data)
    received, = proxy.received.values()
    assert len(received) < len(data)   # known only at the end: the last chunk is held back
    assert proxy.images == {} and published(proxy) == []


def test_web_download_of_other_bytes_is_refused_and_removed(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data = qcow2 + b"tampered"
    with pytest.raises(exceptions.ChecksumMismatch):
        upload(proxy, qcow2, method="web-download", algo="sha512")
    assert proxy.images == {} and published(proxy) == []


def test_web_download_hashed_otherwise_is_refused_and_removed(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data, proxy.hash_algo = qcow2, "sha256"
    with pytest.raises(exceptions.GlanceError, match="cannot be verified"):
        upload(proxy, qcow2, method="web-download", algo="sha512")
    assert proxy.images == {} and published(proxy) == []


def test_a_verified_web_download_is_published(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data = qcow2
    image_id = upload(proxy, qcow2, method="web-download", algo="sha512")
    assert proxy.images[image_id]["visibility"] == "community"
