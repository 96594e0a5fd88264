import hashlib

import pytest

from imgsync import exceptions
from imgsync.pipeline import stream

DATA = [b"a" * 1000, b"b" * 1000, b"c" * 10]
WHOLE = b"".join(DATA)


def make(expected=None, length=None, algo="sha256"):
    expected = expected or hashlib.new(algo, WHOLE).hexdigest()
    return stream.VerifyingStream(iter(DATA), "http://127.0.0.1/x.img", algo, expected, length)


def test_passes_all_bytes_and_reports_both_digests():
    body = make(length=len(WHOLE))
    assert b"".join(body) == WHOLE
    assert len(body) == len(WHOLE)
    assert body.hexdigests()["sha512"] == hashlib.sha512(WHOLE).hexdigest()
    assert body.bytes_read == len(WHOLE)


def test_mismatch_withholds_the_last_chunk():
    body = make(expected="0" * 64)
    received = []
    with pytest.raises(exceptions.ChecksumMismatch) as info:
        for chunk in body:
            received.append(chunk)
    assert b"".join(received) == WHOLE[:-len(DATA[-1])]
    message = str(info.value)
    assert "http://127.0.0.1/x.img" in message and "0" * 64 in message
    assert hashlib.sha256(WHOLE).hexdigest() in message


def test_truncated_stream_is_refused():
    body = make(length=len(WHOLE) + 1)
    with pytest.raises(exceptions.UpstreamError, match="truncated"):
        list(body)


def test_overlong_stream_is_refused():
    body = make(length=len(WHOLE) - 1)
    with pytest.raises(exceptions.UpstreamError, match="more than"):
        list(body)


def test_unknown_length_is_not_a_length_but_still_true():
    body = make()
    with pytest.raises(TypeError):
        len(body)
    assert body


def test_single_use():
    body = make()
    list(body)
    with pytest.raises(RuntimeError):
        list(body)


def test_max_size_refuses_announced_and_actual_oversize():
    with pytest.raises(exceptions.UpstreamError, match="max_image_size"):
        stream.VerifyingStream(iter(DATA), "u", "sha256", "0" * 64, length=5000, max_size=4000)
    body = stream.VerifyingStream(iter(DATA), "u", "sha256", "0" * 64, max_size=1500)
    with pytest.raises(exceptions.UpstreamError, match="max_image_size"):
        list(body)
