"""One release's upload into the mirror, with the interface of a Glance target's upload
(imgsync.glance.upload.TargetUpload: begin, send, finish, abort), so that
imgsync.engine.fanout streams it from the same verified body as the Glances."""

import contextlib
import logging
import threading

from imgsync import exceptions
from imgsync.mirror import layout

LOG = logging.getLogger(__name__)


class MirrorUploader:
    """Uploads releases into one object store (``store``: a SwiftStore or an S3Store)."""

    def __init__(self, store):
        self.store = store

    def method(self, release):
        return self.store.kind

    def begin(self, release, name, image_id, method):
        """The upload of ``release`` into the object ``name`` (layout.key)."""
        return MirrorUpload(self, release, name)


class MirrorUpload:
    """One object, from its first part to its completion or its removal.

    The fan-out may abort an upload from another thread (an interruption, or a target
    dropped for falling behind) while this one's thread still sends: a part sent after
    the abort is removed again, the completion of an aborted upload is refused, and an
    upload whose completion began is no longer aborted (its bytes were verified; its
    parts deleted under a completed object would break it).
    """

    def __init__(self, uploader, release, key):
        self.release = release
        self.name = key
        self.image_id = ""
        """An object has its name only."""
        self.method = uploader.store.kind
        self.part_size = uploader.store.part_size
        self.upload = uploader.store.begin(key, layout.metadata(release, _known(release)))
        self._state = None
        """None while sending, then "completing" or "aborted"."""
        self._lock = threading.Lock()

    def send(self, body):
        """Send the body's bytes, part after part."""
        for part in parts(body, self.part_size):
            self.upload.part(part)
            if self._state == "aborted":   # aborted while that part was on its way
                self.upload.abort()
                raise exceptions.MirrorError(f"the upload of {self.name} was abandoned")

    def finish(self, sent):
        """After the body was read to its verified end: make the object appear, with the
        digests computed of the bytes sent."""
        with self._lock:
            if self._state == "aborted":
                raise exceptions.MirrorError(f"the upload of {self.name} was abandoned")
            self._state = "completing"
        self.upload.complete(layout.metadata(self.release, sent.digests))

    @contextlib.contextmanager
    def aborting(self):
        try:
            yield
        except BaseException:
            self.abort()
            raise

    def abort(self):
        """Abandon the upload and remove what it sent, unless its completion began. May
        be called again (by the fan-out and by the upload's own thread): each call
        removes what was sent since."""
        with self._lock:
            if self._state == "completing":
                return
            self._state = "aborted"
        LOG.warning("abandoning the unfinished upload of %s to the mirror", self.name)
        self.upload.abort()


def _known(release):
    """Digests of the stored bytes known before they stream: upstream's, when the bytes
    are upstream's file itself (S3 takes an object's metadata only when it begins)."""
    return {} if release.compression else {release.checksum_algo: release.checksum}


def parts(chunks, size):
    """``chunks`` cut into consecutive parts of ``size`` bytes (the last one shorter, none
    empty), each an iterator of chunks to be read in full before the next is taken."""
    source = _Source(chunks)
    while source.more():
        yield source.take(size)


class _Source:
    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._rest = b""

    def more(self):
        while not self._rest:
            self._rest = next(self._chunks, None)
            if self._rest is None:
                self._rest = b""
                return False
        return True

    def take(self, size):
        while size and self.more():
            chunk, self._rest = self._rest[:size], self._rest[size:]
            size -= len(chunk)
            yield chunk
