"""One release into every target that lacks it, downloaded and verified once.

The targets begin their uploads (imgsync.upload.TargetUpload, which creates the image)
at once; then each one's thread streams the shared verified body into it (imgsync.tee)
and has it proved and published, so a target is published only when it holds the
verified bytes, and a target that fails or falls behind is reported and its upload
aborted while the others complete. Here are only the threads and the tee. With one target this is
simply the upload, with reading and verifying upstream overlapping the sending to
Glance.
"""

import dataclasses
import logging
import threading
import time

from imgsync import exceptions
from imgsync.glance import upload as upload_mod
from imgsync.pipeline import stream
from imgsync.pipeline import tee as tee_mod

LOG = logging.getLogger(__name__)
DROP_GRACE = 10
"""Seconds a target dropped for falling behind has to notice it, before it is cleaned."""
_POLL = 0.5


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One target's share: its name, its Uploader, the image's name there and, with
    ``same_image_id``, the id it must have."""

    target: str
    uploader: upload_mod.Uploader
    name: str
    image_id: str = None


def upload(release, deliveries, upstream, max_size, behind_timeout):
    """Upload ``release`` to each delivery's target: ``{target: Uploaded or ImgsyncError}``."""
    run, pending = _Run(release), []
    for delivery in deliveries:
        with run.outcome(delivery) as record:
            method = delivery.uploader.method(release)
            if method == "web-download":
                target_upload = delivery.uploader.begin(release, delivery.name,
                                                        delivery.image_id, method)
                record(target_upload, target_upload.web_download())
            else:
                pending.append((delivery, method))
    begun = run.begin(pending)
    if begun:
        run.stream(begun, upstream, max_size, behind_timeout)
    return run.outcomes


class _Run:
    """One release's upload into its targets, and their outcomes as they come."""

    def __init__(self, release):
        self.release = release
        self.started = time.monotonic()
        self.outcomes = {}

    def outcome(self, delivery):
        return _outcome(self, delivery)

    def begin(self, pending):
        """The uploads of ``pending`` (delivery, method), their images (each after its
        permission check) made in every target at once: [(delivery, TargetUpload)] of those
        made. An interruption waits for the targets' threads to finish their calls (with
        their retries), then aborts the uploads they began."""
        begun = {}
        if len(pending) == 1:
            self._begin_one(begun, *pending[0])
        elif pending:
            # Events, not Thread.join: on Python 3.11 a join that an interruption cuts short
            # can mark the thread stopped (bpo-45274), and the next join then returns at once
            threads = []
            try:
                for delivery, method in pending:
                    finished = threading.Event()
                    threads.append((threading.Thread(
                        target=self._begin_one, args=(begun, delivery, method, finished),
                        daemon=True, name=f"imgsync-create-{delivery.target}"), finished))
                    with self.outcome(delivery):   # fails its target
                        threads[-1][0].start()
                _wait(threads)
            except BaseException:
                _wait(threads)
                for _, target_upload in list(begun.values()):
                    target_upload.abort()
                raise
        return [begun[delivery.target] for delivery, _ in pending if delivery.target in begun]

    def _begin_one(self, begun, delivery, method, finished=None):
        try:
            with self.outcome(delivery):
                begun[delivery.target] = (delivery, delivery.uploader.begin(
                    self.release, delivery.name, delivery.image_id, method))
        finally:
            if finished is not None:
                finished.set()

    def stream(self, begun, upstream, max_size, behind_timeout):
        """Read upstream once into the targets' images (``begun``: delivery, TargetUpload)."""
        workers, tee = [], None
        try:
            with upstream.open(self.release.url) as (chunks, length):
                body = upload_mod.body(self.release, chunks, length, max_size)
                tee = tee_mod.Tee(body, behind_timeout, length=stream.length_of(body))
                for delivery, target_upload in begun:
                    branch = tee.branch(delivery.target)
                    worker = threading.Thread(
                        target=self._deliver, args=(delivery, target_upload, branch, body),
                        name=f"imgsync-upload-{delivery.target}", daemon=True)
                    worker.start()
                    workers.append((worker, branch))
                tee.feed()
        except BaseException as exc:
            if tee is not None:
                tee.abort(exc)   # no thread waits for data that will not come
            for delivery, target_upload in begun[len(workers):]:   # no thread aborts these
                target_upload.abort()
                self.outcomes[delivery.target] = _error(exc, delivery)
            if not isinstance(exc, Exception):   # interrupted: clean up, then stop
                self._join(workers, begun)
                raise
        self._join(workers, begun)

    def _deliver(self, delivery, target_upload, branch, body):
        """One target's thread: send the branch's data, then prove and publish. An
        interruption of the run reaches it through the branch and ends it quietly."""
        try:
            with self.outcome(delivery) as record:
                with target_upload.aborting():
                    try:
                        target_upload.send(branch)
                    finally:
                        branch.closed.set()
                    target_upload.finish(body.sent())
                record(target_upload, body.bytes_read)
        except BaseException as exc:  # the run's interruption: the main thread re-raises it
            self.outcomes[delivery.target] = exceptions.ImgsyncError(f"interrupted ({exc!r})")

    def _join(self, workers, begun):
        """Wait for the targets' threads. One dropped for falling behind may be stuck
        sending to its Glance: after DROP_GRACE seconds it is reported and its upload
        aborted here, and the thread is left to fail on its own. On an interruption,
        abort what the threads left."""
        try:
            for (worker, branch), (delivery, target_upload) in zip(workers, begun,
                                                                    strict=False):
                waited = 0.0
                while worker.is_alive() and waited < DROP_GRACE:
                    worker.join(_POLL)
                    waited += _POLL if branch.dropped else 0
                if worker.is_alive():
                    self.outcomes[delivery.target] = branch.dropped
                    target_upload.abort()
        except BaseException:   # interrupted while waiting: abort what is not published
            for delivery, target_upload in begun:
                if not isinstance(self.outcomes.get(delivery.target), upload_mod.Uploaded):
                    target_upload.abort()
            raise


def _wait(threads):
    """Wait for each (thread, its Event) still running; one that never started (it could
    not, or an interruption came first) would set nothing."""
    for thread, finished in threads:
        if thread.is_alive():
            finished.wait()


class _outcome:
    """Records a delivery's Uploaded (through the callable it yields) or its error."""

    def __init__(self, run, delivery):
        self.run, self.delivery = run, delivery

    def __enter__(self):
        return self.record

    def record(self, target_upload, size):
        seconds = time.monotonic() - self.run.started
        LOG.info("%s: uploaded %s%s to %s (%d bytes in %.1f s, %s)",
                 self.run.release.distro, self.delivery.name,
                 f" as image {target_upload.image_id}" if target_upload.image_id else "",
                 self.delivery.target or "Glance", size, seconds, target_upload.method)
        self.run.outcomes[self.delivery.target] = upload_mod.Uploaded(
            target_upload.image_id, size, target_upload.method, seconds)

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, Exception):
            self.run.outcomes[self.delivery.target] = _error(exc, self.delivery)
            return True
        return False


def _error(exc, delivery):
    if isinstance(exc, exceptions.ImgsyncError):
        return exc
    LOG.error("unexpected error uploading %s to %s", delivery.name, delivery.target,
              exc_info=exc)
    return exceptions.ImgsyncError(f"unexpected error: {exc!r}")
