"""Tests that kill the surviving mutmut mutants of imgsync/pipeline/proof.py (its
error messages)."""

import pytest

from imgsync import exceptions
from imgsync.pipeline import proof
from tests.unit.test_proof import SENT
from tests.unit.test_proof import release
from tests.unit.test_proof import stored_image


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
