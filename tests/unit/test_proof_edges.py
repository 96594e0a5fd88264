"""Tests that kill the surviving mutmut mutants of imgsync/proof.py (error-message contents)."""

import pytest

from imgsync import exceptions
from imgsync import proof
from imgsync.drivers import base

SENT = proof.Sent(size=1000, digests={"sha256": "a" * 64, "sha512": "b" * 128},
                  disk_format="qcow2", virtual_size=8 << 30)


def stored_image(**changes):
    image = {"id": "img", "size": 1000, "disk_format": "qcow2", "os_hash_algo": "sha512",
             "os_hash_value": "b" * 128, "virtual_size": 8 << 30}
    image.update(changes)
    return image


def release():
    return base.Release(distro="debian-13", display_name="Debian 13", version="1",
                        build_date=None, url="https://example.org/d.qcow2", checksum_algo="sha512",
                        checksum="b" * 128, disk_format="qcow2", min_disk=0, min_ram=0,
                        metadata={})


def test_a_hash_mismatch_shows_both_values():
    # kills x_stored mutmut_44/45/46 (Glance's os_hash_value dropped from the message)
    with pytest.raises(exceptions.GlanceError) as caught:
        proof.stored(stored_image(os_hash_value="c" * 128), SENT, imported=False)
    assert str(caught.value) == (f"image img: Glance's sha512 {'c' * 128} differs "
                                 f"from the {'b' * 128} streamed")


def test_a_conversion_with_another_virtual_size_shows_both_sizes():
    # kills x__converted mutmut_18/19/20 (Glance's virtual_size dropped from the message)
    image = stored_image(disk_format="raw", virtual_size=(8 << 30) + 512)
    with pytest.raises(exceptions.GlanceError) as caught:
        proof.stored(image, SENT, imported=True)
    assert f"its virtual size {(8 << 30) + 512} is not the {8 << 30} bytes" in str(caught.value)


def test_a_web_download_mismatch_shows_algorithm_and_both_values():
    # kills x_web_download mutmut_11/12/13 (ChecksumMismatch arguments -> None)
    with pytest.raises(exceptions.ChecksumMismatch) as caught:
        proof.web_download(stored_image(os_hash_value="c" * 128), release(), False)
    assert str(caught.value) == ("checksum mismatch for https://example.org/d.qcow2: expected "
                                 f"sha512 {'b' * 128}, computed {'c' * 128}")
