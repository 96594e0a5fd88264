"""Streaming decompression for images upstream publishes only compressed (.bz2, .gz, .xz)."""

import bz2
import hashlib
import lzma
import shutil
import subprocess
import threading
import zlib

from imgsync import exceptions
from imgsync.pipeline import stream

FORMATS = ("bz2", "gz", "xz")
PARALLEL = {"bz2": ("lbzip2", "-d", "-c")}
"""Decompressors that use every core, used when installed; Python's use one."""
_WRITER_GRACE = 5


def parallel_command(kind):
    """The command line of the installed parallel decompressor of ``kind``, or None."""
    command = PARALLEL.get(kind)
    path = command and shutil.which(command[0])
    return [path, *command[1:]] if path else None


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
    """Input after the end of the stream. (Once a zlib stream ended, its unconsumed_tail
    may repeat unused_data: adding it would decompress the next gzip member twice.)"""
    return decompressor.unused_data if decompressor.eof else b""


class Decompressing(stream.Body):
    """Decompress a verified stream on its way to Glance, with a cap on the output size.

    Concatenated streams (as pbzip2 and pigz write them) are followed to the end, and
    zeros after the last one (gzip's and xz's stream padding) are skipped.
    ``bytes_read`` and ``hexdigests()`` describe the output, which is what Glance stores;
    its length is not known beforehand.
    """

    def __init__(self, source, kind, url, max_size, piece_size=256 * 1024, command=None):
        _decompressor(kind)   # fail early on an unknown format
        self.command = command
        """A decompressor to run (e.g. lbzip2) instead of Python's own."""
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

    def _read(self):
        if self.command:
            yield from self._piped()
            return
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

    def _piped(self):
        """Through ``command``: a thread writes the compressed data to its stdin, this
        generator reads its output. The source is always read to its end, so it is
        verified even when the decompressor stops reading early (lbzip2 does after the
        end of the stream); data after the end other than zeros is an error, as in
        Python's path. An error of the source (a checksum mismatch) is raised once the
        output ends; its last chunk was then never written."""
        process = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        state = {"failed": None, "unread": False, "done": False}
        writer = threading.Thread(target=self._write, args=(process, state),
                                  name="imgsync-decompress", daemon=True)
        writer.start()
        try:
            while piece := process.stdout.read1(self.piece_size):
                yield from self._counted(piece)
            writer.join()
            if state["failed"]:
                raise state["failed"]
            if process.wait() != 0:
                message = process.stderr.read(2000).decode(errors="replace").strip()
                raise exceptions.UpstreamError(
                    f"{self.url}: corrupt {self.kind} data: "
                    f"{message.splitlines()[-1] if message else process.returncode}")
            if state["unread"] or not state["done"]:
                raise exceptions.UpstreamError(
                    f"{self.url}: corrupt {self.kind} data: data after the end of the stream")
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            writer.join(_WRITER_GRACE)   # it may be waiting for upstream; it stops on its own
            for pipe in (process.stdout, process.stderr):
                pipe.close()

    def _write(self, process, state):
        """Write the source to the decompressor; once it stops reading, go on reading
        the source (to verify it) and note whether anything but zeros was left unread."""
        writing = True
        try:
            for chunk in self.source:
                if writing:
                    try:
                        process.stdin.write(chunk)
                        continue
                    except BrokenPipeError:
                        writing = False
                state["unread"] = state["unread"] or bool(chunk.strip(b"\0"))
            state["done"] = True
        except BaseException as exc:  # raised in the reading generator
            state["failed"] = exc
        finally:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass

    def _output(self, decompressor, chunk):
        for piece in _pieces(decompressor, chunk, self.piece_size):
            yield from self._counted(piece)

    def _counted(self, piece):
        if piece:
            self.bytes_read += len(piece)
            if self.bytes_read > self.max_size:
                raise exceptions.UpstreamError(
                    f"{self.url} decompresses to more than {self.max_size} bytes "
                    "(max_image_size)")
            self._sha512.update(piece)
            yield piece
