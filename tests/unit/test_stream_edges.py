"""Tests that kill the surviving mutmut mutants of imgsync/pipeline/stream.py."""

import hashlib

import pytest

from imgsync import exceptions
from imgsync.pipeline import stream

DATA = [b"a" * 1000, b"b" * 1000, b"c" * 10]
WHOLE = b"".join(DATA)
SHA256 = hashlib.sha256(WHOLE).hexdigest()


@pytest.mark.parametrize("length", [len(WHOLE), None])
def test_an_image_of_exactly_max_image_size_is_accepted(length):
    # kills __init__ mutmut_5 (length >= max_size) and __iter__ mutmut_15 (bytes_read >= max_size)
    body = stream.VerifyingStream(iter(DATA), "u", "sha256", SHA256, length=length,
                                  max_size=len(WHOLE))
    assert b"".join(body) == WHOLE


def test_empty_chunks_are_skipped_not_the_end():
    # kills __iter__ mutmut_6 (continue -> break)
    chunks = [DATA[0], b"", DATA[1], b"", DATA[2]]
    body = stream.VerifyingStream(iter(chunks), "u", "sha256", SHA256, length=len(WHOLE))
    assert b"".join(body) == WHOLE


def test_a_mismatch_names_the_algorithm():
    # kills _verify mutmut_8 (algo -> None in ChecksumMismatch)
    body = stream.VerifyingStream(iter(DATA), "http://h/x.img", "sha256", "0" * 64)
    with pytest.raises(exceptions.ChecksumMismatch) as info:
        list(body)
    assert str(info.value) == (f"checksum mismatch for http://h/x.img: expected sha256 {'0' * 64}, "
                               f"computed {SHA256}")
