"""web-download: Glance fetches the data itself, so imgsync reads back the head of what
Glance stored and format-inspects it before it publishes the image."""

import dataclasses
import subprocess

import pytest
import requests

from imgsync import exceptions
from imgsync.engine import fanout
from imgsync.engine import sync
from imgsync.glance import client as glance_mod
from imgsync.glance import upload as upload_mod
from imgsync.pipeline import inspection
from tests.unit import fake_glance
from tests.unit import test_upload

URL = test_upload.URL
TAIL = bytes(3 << 20)
"""Padding that makes an image longer than the head imgsync reads back."""


@pytest.fixture(scope="session")
def backed(tmp_path_factory):
    """A qcow2 whose header names a backing file."""
    path = tmp_path_factory.mktemp("backed") / "evil.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw",
                    str(path), "64M"], check=True)
    return path.read_bytes()


def web_download(proxy, data, disk_format="qcow2", unverified=False):
    """Sync a release of ``data`` by web-download; Glance fetches ``proxy.web_data``."""
    settings = sync.Settings(visibility="community", upload_method="web-download",
                             web_download_unverified=unverified)
    uploader = upload_mod.Uploader(glance_mod.Glance(proxy, poll_interval=0), settings)
    release = dataclasses.replace(test_upload.release(data, algo="sha512"),
                                  disk_format=disk_format)
    outcome, = fanout.upload(
        release, [fanout.Delivery("", uploader, "test-Ubuntu 24.04 (20240423)")],
        test_upload.Upstream(data), settings.max_image_size, 60).values()
    if isinstance(outcome, Exception):
        raise outcome
    return outcome.image_id


def refused(proxy, data, error, match, **fields):
    """The web-download fails with ``error`` naming the image and the URL; nothing is left."""
    proxy.web_data = data
    with pytest.raises(error, match=match) as raised:
        web_download(proxy, data, **fields)
    assert f"web-download of {URL} into image new-2: " in str(raised.value)
    assert "\n" not in str(raised.value)
    assert proxy.images == {} and test_upload.published(proxy) == []
    return raised.value


def test_a_good_qcow2_is_published_once_its_head_was_inspected(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data = qcow2 + TAIL
    image_id = web_download(proxy, qcow2 + TAIL)
    image = proxy.images[image_id]
    assert (image["visibility"], image["os_hidden"]) == ("community", False)
    assert image["imgsync.inspected"] == "header"
    download, = proxy.downloads
    assert download.status_code == 206 and download.closed
    assert download.taken == inspection.HEADER_BYTES < len(qcow2 + TAIL)
    reads = [call for call in proxy.calls if call[1].endswith("/file")]
    publication = [i for i, call in enumerate(proxy.calls) if call[0] == "PATCH"][-1]
    assert proxy.calls.index(reads[0]) < publication


def test_a_qcow2_shorter_than_the_head_is_inspected_whole(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data = qcow2
    image_id = web_download(proxy, qcow2)
    assert proxy.images[image_id]["imgsync.inspected"] == "header"
    assert proxy.downloads[0].taken == len(qcow2) < inspection.HEADER_BYTES


def test_a_qcow2_with_a_backing_file_is_refused_and_deleted(backed):
    error = refused(fake_glance.FakeProxy(), backed + TAIL, exceptions.UnsafeImage,
                    "fails the safety checks: .*backing_file")
    assert "qcow2" in str(error)


def test_data_of_another_format_is_refused_and_deleted():
    refused(fake_glance.FakeProxy(), bytes(4 << 20), exceptions.ImageFormatMismatch,
            "data is raw, the driver expects qcow2")


def test_raw_data_with_another_format_s_header_is_refused(qcow2):
    refused(fake_glance.FakeProxy(), qcow2 + TAIL, exceptions.ImageFormatMismatch,
            "data is qcow2, the driver expects raw", disk_format="raw")


def test_raw_data_is_published_when_no_format_is_found_in_its_head():
    proxy = fake_glance.FakeProxy()
    proxy.web_data = bytes(4 << 20)
    image_id = web_download(proxy, proxy.web_data, disk_format="raw")
    assert proxy.images[image_id]["imgsync.inspected"] == "header"


def test_a_glance_ignoring_the_range_is_read_only_as_far_as_the_head(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.honours_range = False
    proxy.web_data = qcow2 + TAIL
    image_id = web_download(proxy, qcow2 + TAIL)
    download, = proxy.downloads
    assert download.status_code == 200 and download.closed
    assert download.taken == inspection.HEADER_BYTES < len(proxy.web_data)
    assert proxy.images[image_id]["imgsync.inspected"] == "header"


def test_a_range_glance_did_not_start_at_zero_is_refused(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.content_range = staticmethod(lambda part, data: f"bytes 512-{len(part) + 511}/9")
    proxy.web_data = qcow2 + TAIL
    with pytest.raises(exceptions.GlanceError, match="Glance sent another range: 'bytes 512-"):
        web_download(proxy, proxy.web_data)
    assert proxy.images == {} and test_upload.published(proxy) == []


def test_a_head_shorter_than_asked_for_is_refused(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data = qcow2 + TAIL
    proxy.served = staticmethod(lambda data: data[:1000])
    with pytest.raises(exceptions.GlanceError, match=f"Glance sent 1000 bytes of image new-2 "
                       f"where the first {inspection.HEADER_BYTES} of its"):
        web_download(proxy, proxy.web_data)
    assert proxy.images == {} and test_upload.published(proxy) == []


def test_a_glance_refusing_the_read_fails_and_the_image_is_deleted(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.web_data = qcow2
    proxy.refuse[("GET", r"/file$")] = (403, "You are not authorized to download")
    with pytest.raises(exceptions.GlanceError, match=(
            "Glance refused to read the first 1048576 bytes of image new-2 "
            r"\(GET /v2/images/new-2/file\): HTTP 403")):
        web_download(proxy, qcow2)
    assert proxy.images == {} and test_upload.published(proxy) == []


def test_glance_s_conversion_is_inspected_as_the_format_glance_records(qcow2):
    proxy = fake_glance.FakeProxy()
    proxy.converts_to, proxy.hash_algo = "raw", "sha256"
    proxy.stored = staticmethod(lambda data: bytes(4 << 20))
    proxy.web_data = qcow2
    image_id = web_download(proxy, qcow2, unverified=True)
    image = proxy.images[image_id]
    assert image["imgsync.converted_from"] == "qcow2" and image["disk_format"] == "raw"
    assert image["imgsync.inspected"] == "header"


def test_a_conversion_that_is_not_the_format_glance_records_is_refused(qcow2, backed):
    proxy = fake_glance.FakeProxy()
    proxy.converts_to, proxy.hash_algo = "raw", "sha256"
    proxy.stored = staticmethod(lambda data: backed)
    refused(proxy, qcow2, exceptions.ImageFormatMismatch, "data is qcow2, the driver expects raw",
            unverified=True)


@pytest.mark.parametrize("disk_format", sorted(inspection.NOT_FROM_HEADER))
def test_a_format_its_head_cannot_settle_is_refused_before_any_glance_call(disk_format):
    proxy = fake_glance.FakeProxy()
    with pytest.raises(exceptions.ImgsyncError, match=(
            f"web-download of {URL} cannot be format-inspected before it is published: "
            f"{inspection.NOT_FROM_HEADER[disk_format]}; use upload_method = auto")):
        web_download(proxy, b"data", disk_format=disk_format)
    assert proxy.calls == []


def test_a_head_matching_two_formats_is_refused(qcow2):
    polyglot = qcow2[:510] + b"\x55\xaa" + qcow2[512:] + TAIL   # an MBR's signature too
    refused(fake_glance.FakeProxy(), polyglot, exceptions.ImageFormatMismatch,
            "several formats detected: qcow2, gpt")


def test_a_head_that_leaves_another_format_undecided_is_refused(tmp_path):
    path = tmp_path / "disk.vhdx"   # its metadata region lies beyond the head
    subprocess.run(["qemu-img", "create", "-q", "-f", "vhdx", str(path), "64M"], check=True)
    data = path.read_bytes()
    assert len(data) > inspection.HEADER_BYTES
    refused(fake_glance.FakeProxy(), data, exceptions.ImageFormatMismatch,
            f"cannot be inspected from its first {inspection.HEADER_BYTES} bytes "
            r"\(more is needed to tell whether it is vhdx\)", disk_format="raw")


def test_a_read_back_that_breaks_off_is_one_glance_error_and_closed():
    class BreaksOff(fake_glance.Download):
        def iter_content(self, chunk_size):
            yield b"QFI\xfb"
            raise requests.exceptions.ChunkedEncodingError("Connection broken")

    answer = BreaksOff(206, b"", {"Content-Range": "bytes 0-1048575/9999999"})
    proxy = fake_glance.FakeProxy()
    proxy.request = lambda path, method, **kwargs: answer
    with pytest.raises(exceptions.GlanceError, match=(
            r"cannot read the first 1048576 bytes of image img-1 \(GET /v2/images/img-1/file\)"
            ": the data broke off: Connection broken")):
        glance_mod.Glance(proxy).read_head("img-1", inspection.HEADER_BYTES)
    assert answer.closed
