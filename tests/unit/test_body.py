"""Every body on its way to Glance keeps the one protocol of imgsync.stream.Body: len()
only when the size is known (TypeError otherwise, so requests sends chunked framing),
true even when empty, its bytes counted, and read only once."""

import gzip
import hashlib

import pytest

from imgsync.pipeline import compression
from imgsync.pipeline import inspection
from imgsync.pipeline import stream
from imgsync.pipeline import tee as tee_mod

URL = "http://127.0.0.1/x.img"


def verifying(data, length=None):
    return stream.VerifyingStream(iter([data]), URL, "sha256", hashlib.sha256(data).hexdigest(),
                                  length)


def decompressing(data):
    return compression.Decompressing(iter([gzip.compress(data)]), "gz", URL, 10 ** 9)


def inspecting(data):
    return inspection.InspectingStream(verifying(data), URL, "raw")


def branch(data, length=None):
    tee = tee_mod.Tee(iter([data]), 30, length=length)
    made = tee.branch("one")
    tee.feed()
    made.queue.put(tee_mod._END)   # a second read, if allowed, would end at once
    return made


BODIES = {"verifying": verifying, "decompressing": decompressing, "inspecting": inspecting,
          "branch": branch}


@pytest.mark.parametrize("make", BODIES.values(), ids=BODIES)
def test_a_body_of_unknown_size_has_no_len_but_is_true_and_counts_its_bytes(make):
    body = make(b"")
    with pytest.raises(TypeError, match="length unknown"):
        len(body)
    assert body
    body = make(b"data")
    assert b"".join(body) == b"data" and body.bytes_read == 4


@pytest.mark.parametrize("make", BODIES.values(), ids=BODIES)
def test_a_body_is_read_only_once(make):
    body = make(b"data")
    list(body)
    with pytest.raises(RuntimeError, match="can be read only once"):
        list(body)


def test_a_known_size_is_the_len_through_inspection_and_the_tee():
    assert len(verifying(b"data", length=4)) == 4
    assert len(inspection.InspectingStream(verifying(b"data", length=4), URL, "raw")) == 4
    assert len(branch(b"data", length=4)) == 4
    assert stream.length_of(decompressing(b"data")) is None
