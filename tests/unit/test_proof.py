import pytest

from imgsync import exceptions
from imgsync.pipeline import proof
from imgsync.upstream.drivers import base

SENT = proof.Sent(size=1000, digests={"sha256": "a" * 64, "sha512": "b" * 128},
                  disk_format="qcow2", virtual_size=8 << 30)


def stored_image(**changes):
    image = {"id": "img", "size": 1000, "disk_format": "qcow2", "os_hash_algo": "sha512",
             "os_hash_value": "b" * 128, "virtual_size": 8 << 30}
    image.update(changes)
    return image


@pytest.mark.parametrize("imported", [False, True])
def test_exact_bytes_are_accepted_without_a_record(imported):
    assert proof.stored(stored_image(), SENT, imported) == {}


@pytest.mark.parametrize("changes,fragment", [
    ({"size": 999}, "holds 999 bytes, 1000 were sent"),
    ({"os_hash_value": "c" * 128}, "differs from"),
    ({"os_hash_algo": "sha256", "os_hash_value": "c" * 64}, "differs from"),
])
@pytest.mark.parametrize("imported", [False, True])
def test_other_bytes_are_refused(changes, fragment, imported):
    with pytest.raises(exceptions.GlanceError, match=fragment):
        proof.stored(stored_image(**changes), SENT, imported)


def test_unknown_hash_algorithm_still_needs_the_exact_size():
    image = stored_image(os_hash_algo="sha384", os_hash_value="d" * 96)
    assert proof.stored(image, SENT, imported=False) == {}
    with pytest.raises(exceptions.GlanceError, match="holds"):
        proof.stored({**image, "size": 1001}, SENT, imported=False)


def test_conversion_after_an_import_is_accepted_and_recorded():
    raw = stored_image(disk_format="raw", size=8 << 30, os_hash_value="e" * 128)
    assert proof.stored(raw, SENT, imported=True) == {"imgsync.converted_from": "qcow2"}


@pytest.mark.parametrize("virtual_size", [None, (8 << 30) + 512, 0])
def test_conversion_with_another_virtual_size_is_refused(virtual_size):
    raw = stored_image(disk_format="raw", size=8 << 30, virtual_size=virtual_size)
    with pytest.raises(exceptions.GlanceError, match="virtual size"):
        proof.stored(raw, SENT, imported=True)


def test_conversion_when_the_inspector_read_no_virtual_size_is_refused():
    sent = proof.Sent(1000, SENT.digests, "qcow2", None)
    with pytest.raises(exceptions.GlanceError, match="virtual size"):
        proof.stored(stored_image(disk_format="raw", virtual_size=None), sent, imported=True)


def test_a_put_never_converts():
    with pytest.raises(exceptions.GlanceError, match="is raw, but qcow2 was uploaded"):
        proof.stored(stored_image(disk_format="raw"), SENT, imported=False)


def release(algo="sha512", checksum="b" * 128):
    return base.Release(distro="debian-13", display_name="Debian 13", version="1",
                        build_date=None, url="https://example.org/d.qcow2", checksum_algo=algo,
                        checksum=checksum, disk_format="qcow2", min_disk=0, min_ram=0,
                        metadata={})


def test_web_download_with_upstream_algorithm_and_value_is_accepted():
    assert proof.web_download(stored_image(), release(), unverified_ok=False) == {}


def test_web_download_with_another_value_is_a_checksum_mismatch():
    with pytest.raises(exceptions.ChecksumMismatch, match="d.qcow2"):
        proof.web_download(stored_image(os_hash_value="c" * 128), release(), True)


@pytest.mark.parametrize("algo", ["sha256", None])
def test_web_download_hashed_otherwise_is_refused_unless_accepted(algo):
    image = stored_image(os_hash_algo=algo, os_hash_value="f" * 64)
    with pytest.raises(exceptions.GlanceError, match="cannot be verified") as caught:
        proof.web_download(image, release(), unverified_ok=False)
    assert f"with {algo or 'no algorithm'}, upstream publishes sha512" in str(caught.value)
    assert proof.web_download(image, release(), unverified_ok=True) == {
        "imgsync.unverified": "web-download"}
