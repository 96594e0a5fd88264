"""Tests that kill the surviving mutmut mutants of imgsync/pipeline/inspection.py.

InspectingStream has no unit test of its own (only tests/unit/test_upload.py goes through it).
"""


import pytest

from imgsync import exceptions
from imgsync.pipeline import inspection
from imgsync.pipeline import proof

URL = "https://mirror.test/disk.img"


class Source:
    """A wrapped stream as sync._body builds it: chunks, bytes_read, hexdigests; no len()."""

    def __init__(self, data, size=64 * 1024):
        self.chunks = [data[i:i + size] for i in range(0, len(data), size)]
        self.taken = 0
        self.bytes_read = 0

    def __iter__(self):
        for chunk in self.chunks:
            self.taken += 1
            self.bytes_read += len(chunk)
            yield chunk

    def __len__(self):
        raise TypeError("length unknown")

    def hexdigests(self):
        return {"sha512": "f" * 128}


def test_a_stream_of_unknown_length_is_still_true():
    # kills InspectingStream.__bool__ mutmut_1 (return False); bool() would else call len()
    assert inspection.InspectingStream(Source(b""), URL, "qcow2")


def test_sent_carries_the_verified_virtual_size(qcow2):
    # kills sent mutmut_4 (virtual_size -> None) and _check mutmut_7 (virtual_size = None)
    body = inspection.InspectingStream(Source(qcow2), URL, "qcow2")
    assert b"".join(body) == qcow2
    assert body.detected_format == "qcow2"
    assert body.sent() == proof.Sent(len(qcow2), {"sha512": "f" * 128}, "qcow2", 64 << 20)


def test_another_format_is_refused_early_naming_the_url():
    # kills __iter__ mutmut_3/5 (no expected_format: no early abort), __init__ mutmut_2 (url)
    source = Source(bytes(100 * 64 * 1024))
    with pytest.raises(exceptions.ImageFormatMismatch) as caught:
        list(inspection.InspectingStream(source, URL, "qcow2"))
    assert str(caught.value).startswith(f"{URL}: data is not the qcow2 the driver expects")
    assert source.taken < 10   # not the whole download


def test_a_format_found_only_at_the_end_is_refused_naming_both(qcow2):
    # kills _check mutmut_5 (message -> None)
    body = inspection.InspectingStream(Source(qcow2), URL, "raw")
    with pytest.raises(exceptions.ImageFormatMismatch) as caught:
        list(body)
    assert str(caught.value) == f"{URL}: data is qcow2, the driver expects raw"
