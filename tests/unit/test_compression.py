import bz2
import gzip
import hashlib
import lzma
import random

import pytest

from imgsync import exceptions
from imgsync.pipeline import compression
from imgsync.pipeline import stream

DATA = random.Random(7).randbytes(300_000) + bytes(700_000)
COMPRESS = {"bz2": bz2.compress, "gz": gzip.compress, "xz": lzma.compress}


def chunked(data, size=50_000):
    return iter([data[i:i + size] for i in range(0, len(data), size)])


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_round_trip_in_bounded_pieces(kind):
    out = compression.Decompressing(chunked(COMPRESS[kind](DATA)), kind, "u", 10 ** 9,
                                    piece_size=64 * 1024)
    pieces = list(out)
    assert b"".join(pieces) == DATA
    assert max(map(len, pieces)) <= 64 * 1024
    assert out.bytes_read == len(DATA)
    assert out.hexdigests() == {"sha512": hashlib.sha512(DATA).hexdigest()}


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_concatenated_streams(kind):
    packed = COMPRESS[kind](DATA[:1000]) + COMPRESS[kind](DATA[1000:])
    assert b"".join(compression.Decompressing(chunked(packed), kind, "u", 10 ** 9)) == DATA


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_truncated_data_is_an_error(kind):
    packed = COMPRESS[kind](DATA)
    with pytest.raises(exceptions.UpstreamError, match="ends early"):
        list(compression.Decompressing(chunked(packed[:len(packed) // 2]), kind, "u", 10 ** 9))


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_decompression_bomb_stops_at_the_cap(kind):
    bomb = COMPRESS[kind](bytes(50_000_000))
    out = compression.Decompressing(iter([bomb]), kind, "http://127.0.0.1/b", 1_000_000)
    with pytest.raises(exceptions.UpstreamError, match="more than 1000000 bytes"):
        list(out)
    assert out.bytes_read <= 1_000_000 + 256 * 1024


def test_unknown_format():
    with pytest.raises(ValueError, match="zip"):
        compression.Decompressing(iter([]), "zip", "u", 1)


def test_checksum_of_the_compressed_stream_is_verified_before_the_end():
    packed = bz2.compress(DATA)
    verified = stream.VerifyingStream(chunked(packed), "u", "sha512", "0" * 128, also=())
    out = compression.Decompressing(verified, "bz2", "u", 10 ** 9)
    received = bytearray()
    with pytest.raises(exceptions.ChecksumMismatch):
        for piece in out:
            received += piece
    assert len(received) < len(DATA)


@pytest.mark.parametrize("kind,padding", [("gz", bytes(1000)), ("xz", bytes(4096)),
                                          ("xz", bytes(8))])
@pytest.mark.parametrize("size", [7, 50_000])
def test_zero_padding_after_a_stream_is_skipped(kind, padding, size):
    data = COMPRESS[kind](DATA) + padding
    out = compression.Decompressing(chunked(data, size), kind, "u", 10 ** 9)
    assert b"".join(out) == DATA


@pytest.mark.parametrize("size", [7, 50_000])
def test_xz_streams_with_padding_between_them(size):
    data = lzma.compress(DATA[:1000]) + bytes(8) + lzma.compress(DATA[1000:]) + bytes(4)
    assert b"".join(compression.Decompressing(chunked(data, size), "xz", "u", 10 ** 9)) == DATA


@pytest.mark.parametrize("kind", compression.FORMATS)
def test_garbage_after_a_stream_is_one_clear_error(kind):
    data = COMPRESS[kind](DATA) + b"\0\0garbage"
    with pytest.raises(exceptions.UpstreamError, match=f"u: corrupt {kind} data"):
        b"".join(compression.Decompressing(chunked(data), kind, "u", 10 ** 9))


LBZIP2 = compression.parallel_command("bz2")
needs_lbzip2 = pytest.mark.skipif(LBZIP2 is None, reason="lbzip2 is not installed "
                                  "(tools/test.sh installs it)")


@needs_lbzip2
def test_lbzip2_round_trip_with_concatenated_streams_and_bounded_pieces():
    packed = bz2.compress(DATA[:1000]) + bz2.compress(DATA[1000:])
    out = compression.Decompressing(chunked(packed), "bz2", "u", 10 ** 9, piece_size=64 * 1024,
                                    command=LBZIP2)
    pieces = list(out)
    assert b"".join(pieces) == DATA and max(map(len, pieces)) <= 64 * 1024
    assert out.hexdigests() == {"sha512": hashlib.sha512(DATA).hexdigest()}


@needs_lbzip2
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_lbzip2_corrupt_data_is_one_clear_error(damage):
    packed = bz2.compress(DATA)
    packed = packed[:len(packed) // 2] if damage == "truncated" else packed[:100] + bytes(5000)
    with pytest.raises(exceptions.UpstreamError, match="corrupt bz2 data: lbzip2"):
        list(compression.Decompressing(chunked(packed), "bz2", "u", 10 ** 9, command=LBZIP2))


@needs_lbzip2
def test_lbzip2_bomb_stops_at_the_cap_and_the_process_ends():
    bomb = bz2.compress(bytes(50_000_000))
    out = compression.Decompressing(iter([bomb]), "bz2", "u", 1_000_000, command=LBZIP2)
    with pytest.raises(exceptions.UpstreamError, match="more than 1000000 bytes"):
        list(out)
    assert out.bytes_read <= 1_000_000 + 256 * 1024


@needs_lbzip2
def test_lbzip2_never_gets_the_last_chunk_of_a_mismatching_stream():
    packed = bz2.compress(DATA)
    verified = stream.VerifyingStream(chunked(packed), "u", "sha512", "0" * 128, also=())
    out = compression.Decompressing(verified, "bz2", "u", 10 ** 9, command=LBZIP2)
    received = bytearray()
    with pytest.raises(exceptions.ChecksumMismatch):
        for piece in out:
            received += piece
    assert len(received) < len(DATA)


def test_the_parallel_decompressor_is_used_when_installed(monkeypatch):
    monkeypatch.setattr(compression.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert compression.parallel_command("bz2") == ["/usr/bin/lbzip2", "-d", "-c"]
    assert compression.parallel_command("gz") is None
    monkeypatch.setattr(compression.shutil, "which", lambda name: None)
    assert compression.parallel_command("bz2") is None



def test_a_small_member_after_a_large_one_is_decompressed_once():
    first, second = bytes(10 << 20), b"hello world" * 100
    packed = gzip.compress(first) + gzip.compress(second)
    out = b"".join(compression.Decompressing(iter([packed]), "gz", "u", 10 ** 9))
    assert out == first + second


def test_many_members_do_not_blow_up():
    members = [bytes(1 << 20)] * 6
    packed = b"".join(gzip.compress(m) for m in members)
    out = compression.Decompressing(iter([packed]), "gz", "u", 10 ** 9)
    assert sum(map(len, out)) == 6 << 20


@needs_lbzip2
@pytest.mark.parametrize("trailing", [bytes(8 << 20), b"\x01" * (8 << 20)])
def test_lbzip2_stopping_early_still_has_the_whole_stream_verified(trailing):
    """lbzip2 stops reading at the end of the bz2 stream: what follows (more than a pipe
    holds) must still be read and verified, and anything but zeros is an error."""
    packed = bz2.compress(DATA) + trailing
    good = hashlib.sha256(packed).hexdigest()
    for expected, error in ((good, None if not trailing.strip(b"\0") else "after the end"),
                            ("0" * 64, "checksum")):
        verified = stream.VerifyingStream(chunked(packed, 1 << 20), "u", "sha256", expected,
                                          also=())
        out = compression.Decompressing(verified, "bz2", "u", 10 ** 9, command=LBZIP2)
        if error is None:
            assert b"".join(out) == DATA
            continue
        with pytest.raises(exceptions.UpstreamError, match=error):
            b"".join(out)
