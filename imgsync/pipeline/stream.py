"""Verify a download while it streams through, in one pass and bounded memory; and what
every body on its way to Glance offers (Body)."""

import hashlib

from imgsync import exceptions


class Body:
    """An image's bytes on their way to Glance: the protocol that requests, imgsync.tee
    and imgsync.proof rely on, declared once.

    ``len()`` is the size when known beforehand, so that requests sends a Content-Length,
    and raises TypeError otherwise, so that it sends chunked framing; a body is true even
    when empty or of unknown size; ``bytes_read`` counts what passed and ``hexdigests()``
    gives the digests computed of it; it can be read only once (``_read()`` yields it).
    """

    length = None
    """The size announced beforehand, or None."""
    bytes_read = 0
    _started = False

    def __len__(self):
        if self.length is None:
            raise TypeError("length unknown")  # requests then sends chunked framing
        return self.length

    def __bool__(self):
        return True   # else bool() would call len(), which may raise

    def __repr__(self):
        return f"<{type(self).__name__} {self.url}>"

    def hexdigests(self):
        """The digests of what has streamed through so far, by algorithm."""
        return {}

    def __iter__(self):
        if self._started:
            raise RuntimeError(f"{self!r} can be read only once")
        self._started = True
        return self._read()

    def _read(self):
        raise NotImplementedError


def length_of(body):
    """``len(body)``, or None when the body does not know it."""
    try:
        return len(body)
    except TypeError:
        return None


class VerifyingStream(Body):
    """An iterable body that hashes every chunk on its way to the consumer.

    The last chunk is held back until the stream's size and upstream's
    checksum have been checked, so the consumer (a Glance upload) never
    receives a complete body that failed verification: a mismatch raises
    ChecksumMismatch instead, and the upload is cut short. Its ``length`` is the
    size upstream announced, if it did.
    """

    def __init__(self, chunks, url, algo, expected, length=None, also=("sha512",),
                 max_size=None):
        if length is not None and max_size is not None and length > max_size:
            raise exceptions.UpstreamError(
                f"{url} is {length} bytes, more than max_image_size ({max_size} bytes)")
        self._chunks = chunks
        self.url = url
        self.algo = algo
        self.expected = expected.lower()
        self.length = length
        self.max_size = max_size
        self.bytes_read = 0
        self._hashes = {name: hashlib.new(name) for name in {algo, *also}}

    def hexdigests(self):
        return {name: digest.hexdigest() for name, digest in self._hashes.items()}

    def _read(self):
        held = None
        for chunk in self._chunks:
            if not chunk:
                continue
            self.bytes_read += len(chunk)
            if self.length is not None and self.bytes_read > self.length:
                raise exceptions.UpstreamError(
                    f"{self.url} sent more than the {self.length} bytes it announced")
            if self.max_size is not None and self.bytes_read > self.max_size:
                raise exceptions.UpstreamError(
                    f"{self.url} is larger than max_image_size ({self.max_size} bytes)")
            for digest in self._hashes.values():
                digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        self._verify()
        if held is not None:
            yield held

    def _verify(self):
        if self.length is not None and self.bytes_read != self.length:
            raise exceptions.UpstreamError(
                f"{self.url} was truncated: {self.bytes_read} of {self.length} bytes")
        computed = self._hashes[self.algo].hexdigest()
        if computed != self.expected:
            raise exceptions.ChecksumMismatch(self.url, self.algo, self.expected, computed)
