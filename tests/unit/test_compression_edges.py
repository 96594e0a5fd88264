"""Tests that kill the surviving mutmut mutants of imgsync/pipeline/compression.py."""

import zlib

import pytest

from imgsync import exceptions
from imgsync.pipeline import compression
from tests.unit.test_compression import COMPRESS
from tests.unit.test_compression import DATA
from tests.unit.test_compression import chunked


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_output_of_exactly_max_image_size_is_accepted(kind):
    # kills Decompressing._output mutmut_9 (bytes_read >= max_size)
    out = compression.Decompressing(chunked(COMPRESS[kind](DATA)), kind, "u", len(DATA))
    assert b"".join(out) == DATA


def test_a_zlib_stream_is_not_gzip():
    # kills _decompressor mutmut_12 (wbits 17 + MAX_WBITS = 32: zlib/gzip auto-detection)
    with pytest.raises(exceptions.UpstreamError, match="u: corrupt gz data"):
        list(compression.Decompressing(chunked(zlib.compress(DATA)), "gz", "u", 10 ** 9))


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_only_zeros_count_as_padding(kind):
    # kills Decompressing.__iter__ mutmut_6 (lstrip(b"XX\0XX") also strips b"X")
    data = COMPRESS[kind](DATA) + b"XX"
    with pytest.raises(exceptions.UpstreamError, match=f"u: corrupt {kind} data"):
        list(compression.Decompressing(chunked(data), kind, "u", 10 ** 9))
