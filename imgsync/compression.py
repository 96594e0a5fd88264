"""Streaming decompression for images upstream publishes only compressed (.bz2, .gz, .xz)."""

import bz2
import hashlib
import lzma
import zlib

from imgsync import exceptions

FORMATS = ("bz2", "gz", "xz")


def _decompressor(kind):
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor()
    if kind == "gz":
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    raise ValueError(f"unknown compression {kind!r} (known: {', '.join(FORMATS)})")


def _pieces(decompressor, data, size):
    """Decompress ``data`` in output pieces of at most ``size`` bytes."""
    while True:
        piece = decompressor.decompress(data, size)
        if piece:
            yield piece
        if isinstance(decompressor, (bz2.BZ2Decompressor, lzma.LZMADecompressor)):
            if decompressor.eof or decompressor.needs_input:
                return
            data = b""
        else:
            data = decompressor.unconsumed_tail
            if decompressor.eof or not data and len(piece) < size:
                return


def _unused(decompressor):
    """Input after the end of the stream (zlib may hold some of it as unconsumed_tail)."""
    if not decompressor.eof:
        return b""
    return decompressor.unused_data + getattr(decompressor, "unconsumed_tail", b"")


class Decompressing:
    """Decompress a verified stream on its way to Glance, with a cap on the output size.

    Concatenated streams (as pbzip2 and pigz write them) are followed to the end, and
    zeros after the last one (gzip's and xz's stream padding) are skipped.
    ``bytes_read`` and ``hexdigests()`` describe the output, which is what Glance stores.
    """

    def __init__(self, source, kind, url, max_size, piece_size=256 * 1024):
        _decompressor(kind)   # fail early on an unknown format
        self.source = source
        self.kind = kind
        self.url = url
        self.max_size = max_size
        self.piece_size = piece_size
        self.bytes_read = 0
        self._sha512 = hashlib.sha512()

    def __repr__(self):
        return f"<Decompressing {self.kind} {self.url}>"

    def hexdigests(self):
        return {"sha512": self._sha512.hexdigest()}

    def __iter__(self):
        decompressor = _decompressor(self.kind)
        for chunk in self.source:
            while chunk:
                if decompressor.eof:
                    # zeros after a stream are padding (gzip's, xz's); no stream starts
                    # with a zero byte, so anything else is a concatenated stream
                    chunk = chunk.lstrip(b"\0")
                    if not chunk:
                        break
                    decompressor = _decompressor(self.kind)
                try:
                    yield from self._output(decompressor, chunk)
                except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
                    raise exceptions.UpstreamError(
                        f"{self.url}: corrupt {self.kind} data: {exc}") from exc
                chunk = _unused(decompressor)
        if not decompressor.eof:
            raise exceptions.UpstreamError(f"{self.url}: the {self.kind} data ends early")

    def _output(self, decompressor, chunk):
        for piece in _pieces(decompressor, chunk, self.piece_size):
            self.bytes_read += len(piece)
            if self.bytes_read > self.max_size:
                raise exceptions.UpstreamError(
                    f"{self.url} decompresses to more than {self.max_size} bytes "
                    "(max_image_size)")
            self._sha512.update(piece)
            yield piece
