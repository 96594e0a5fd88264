"""One verified stream to several consumers at once, each through a bounded queue.

The producer (the thread that reads upstream, verifies and inspects) hands every chunk
to each branch; each branch is read by its own thread (one Glance upload). Memory is
bounded by ``depth`` chunks per branch. A branch whose reader has not taken a chunk for
``behind_timeout`` seconds is dropped, so one slow Glance cannot stall the others; a
branch whose reader stops is no longer fed. An error of the producer ends every branch
with that error, so no Glance receives the rest of a body that failed verification.
"""

import queue
import threading
import time

from imgsync import exceptions
from imgsync.pipeline import stream

_END = object()
_POLL = 0.5
"""Seconds between looks at whether a full branch's reader stopped."""


class Branch(stream.Body):
    """What one consumer reads: the chunks, then the end or the producer's error. Its
    length is the body's; it computes no digests (the body does, once for all)."""

    def __init__(self, name, length, depth):
        self.name = name
        self.length = length
        self.queue = queue.Queue(depth)
        self.closed = threading.Event()
        """Set when the reader stops or is dropped: it is then no longer fed."""
        self.dropped = None
        """The error of a branch dropped for falling behind."""
        self.ended = False
        """Whether its end (or error) was handed to it."""

    def __repr__(self):
        return f"<Branch {self.name}>"

    def _read(self):
        try:
            while True:
                item = self.queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                self.bytes_read += len(item)
                yield item
        finally:
            self.closed.set()

    def _end(self, error):
        """End the branch now with ``error``, dropping the data it has not read yet."""
        self.ended = True
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        while True:
            try:
                self.queue.put_nowait(error)
                return
            except queue.Full:   # the reader has not taken out what it was handed yet
                self.queue.get_nowait()


class Tee:
    """Feeds one iterable body to the branches made with ``branch()``."""

    def __init__(self, body, behind_timeout, depth=4, length=None):
        self.body = body
        self.behind_timeout = behind_timeout
        self.depth = depth
        self.length = length
        self.branches = []

    def branch(self, name):
        branch = Branch(name, self.length, self.depth)
        self.branches.append(branch)
        return branch

    def feed(self):
        """Read the body to its end, handing each chunk to every open branch.

        Raises the body's error after handing it to the branches, behind the data they
        were given; returns when the body ended well or every branch has closed.
        """
        try:
            for chunk in self.body:
                live = [b for b in self.branches if not b.closed.is_set()]
                if not live:
                    return
                for branch in live:
                    self._put(branch, chunk)
        except BaseException as exc:
            for branch in self.branches:   # after the data it has: the reader sees it all
                self._put(branch, exc)
                branch.ended = True
            raise
        for branch in self.branches:
            self._put(branch, _END)
            branch.ended = True

    def abort(self, error):
        """End at once, with ``error``, every branch not ended yet (feeding was
        interrupted, or failed before it started)."""
        for branch in self.branches:
            if not branch.ended:
                branch._end(error)

    def _put(self, branch, chunk):
        """Hand ``chunk`` to ``branch``; drop the branch once it fell behind."""
        deadline = time.monotonic() + self.behind_timeout
        while not branch.closed.is_set():
            try:
                branch.queue.put(chunk, timeout=min(_POLL, max(deadline - time.monotonic(),
                                                               0.001)))
                return
            except queue.Full:
                if time.monotonic() < deadline:
                    continue
            branch.dropped = exceptions.GlanceError(
                f"{branch.name} fell behind: it took no data for {self.behind_timeout} s "
                "([glance] behind_timeout) while the other targets did")
            branch.closed.set()
            branch._end(branch.dropped)
