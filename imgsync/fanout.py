"""One release into every target that lacks it, downloaded and verified once.

The targets create their images at once; then each one's thread streams the shared
verified body into it (imgsync.tee) and proves and publishes it, so a target is
published only when it holds the verified bytes, and a target that fails or falls
behind is reported and cleaned while the others complete. With one target this is
simply the upload, with reading and verifying upstream overlapping the sending to
Glance.
"""

import dataclasses
import logging
import threading
import time

from imgsync import exceptions
from imgsync import tee as tee_mod
from imgsync import upload as upload_mod

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
    started = time.monotonic()
    outcomes, pending = {}, []
    for delivery in deliveries:
        with _outcome(outcomes, delivery, release, started) as record:
            method = delivery.uploader.method(release)
            if method == "web-download":
                image_id, size = delivery.uploader.web_download(release, delivery.name,
                                                                delivery.image_id)
                record(image_id, size, method)
            else:
                pending.append((delivery, method))
    streamed = _create(release, pending, outcomes, started)
    if streamed:
        _stream(release, streamed, upstream, max_size, behind_timeout, outcomes, started)
    return outcomes


def _create(release, pending, outcomes, started):
    """The image records of ``pending`` (delivery, method), each with its permission
    check, made in every target at once: [(delivery, method, image id)] of those made.
    An interruption waits for the targets' threads to finish their calls (with their
    retries), then removes the images they made."""
    made = {}

    def create(delivery, method, finished=None):
        try:
            with _outcome(outcomes, delivery, release, started):
                made[delivery.target] = (delivery, method, delivery.uploader.create(
                    release, delivery.name, delivery.image_id))
        finally:
            if finished is not None:
                finished.set()

    if len(pending) == 1:
        create(*pending[0])
    elif pending:
        # Events, not Thread.join: on Python 3.11 a join that an interruption cuts short
        # can mark the thread stopped (bpo-45274), and the next join then returns at once
        threads = []
        try:
            for delivery, method in pending:
                finished = threading.Event()
                threads.append((threading.Thread(
                    target=create, args=(delivery, method, finished), daemon=True,
                    name=f"imgsync-create-{delivery.target}"), finished))
                with _outcome(outcomes, delivery, release, started):   # fails its target
                    threads[-1][0].start()
            _wait(threads)
        except BaseException:
            _wait(threads)
            for delivery, _, image_id in list(made.values()):
                delivery.uploader.remove(image_id, delivery.name)
            raise
    return [made[delivery.target] for delivery, _ in pending if delivery.target in made]


def _wait(threads):
    """Wait for each (thread, its Event) still running; one that never started (it could
    not, or an interruption came first) would set nothing."""
    for thread, finished in threads:
        if thread.is_alive():
            finished.wait()


def _stream(release, streamed, upstream, max_size, behind_timeout, outcomes, started):
    """Read upstream once into the targets' images (``streamed``: delivery, method, id)."""
    workers, tee = [], None
    try:
        with upstream.open(release.url) as (chunks, length):
            body = upload_mod.body(release, chunks, length, max_size)
            tee = tee_mod.Tee(body, behind_timeout, length=_length(body))
            for delivery, method, image_id in streamed:
                branch = tee.branch(delivery.target)
                worker = threading.Thread(
                    target=_deliver, name=f"imgsync-upload-{delivery.target}", daemon=True,
                    args=(delivery, method, image_id, branch, body, outcomes, release,
                          started))
                worker.start()
                workers.append((worker, branch))
            tee.feed()
    except BaseException as exc:
        if tee is not None:
            tee.abort(exc)   # no thread waits for data that will not come
        for delivery, _, image_id in streamed[len(workers):]:   # no thread removes these
            delivery.uploader.remove(image_id, delivery.name)
            outcomes[delivery.target] = _error(exc, delivery)
        if not isinstance(exc, Exception):   # interrupted: clean up, then stop
            _join(workers, streamed, outcomes)
            raise
    _join(workers, streamed, outcomes)


def _deliver(delivery, method, image_id, branch, body, outcomes, release, started):
    """One target's thread: send the branch's data, then prove and publish. An
    interruption of the run reaches it through the branch and ends it quietly."""
    try:
        _send(delivery, method, image_id, branch, body, outcomes, release, started)
    except BaseException as exc:  # the run's interruption: the main thread re-raises it
        outcomes[delivery.target] = exceptions.ImgsyncError(f"interrupted ({exc!r})")


def _send(delivery, method, image_id, branch, body, outcomes, release, started):
    with _outcome(outcomes, delivery, release, started) as record:
        with delivery.uploader.removing(image_id, delivery.name):
            try:
                delivery.uploader.glance.upload(image_id, branch,
                                                stage=method == "glance-direct")
            finally:
                branch.closed.set()
            delivery.uploader.finish(image_id, method, body.sent(), release.min_disk)
        record(image_id, body.bytes_read, method)


def _join(workers, streamed, outcomes):
    """Wait for the targets' threads. One dropped for falling behind may be stuck
    sending to its Glance: after DROP_GRACE seconds it is reported and its image
    removed here, and the thread is left to fail on its own. On an interruption,
    remove what the threads left."""
    try:
        for (worker, branch), (delivery, _, image_id) in zip(workers, streamed, strict=False):
            waited = 0.0
            while worker.is_alive() and waited < DROP_GRACE:
                worker.join(_POLL)
                waited += _POLL if branch.dropped else 0
            if worker.is_alive():
                outcomes[delivery.target] = branch.dropped
                delivery.uploader.remove(image_id, delivery.name)
    except BaseException:   # interrupted while waiting: remove what is not published
        for delivery, _, image_id in streamed:
            if not isinstance(outcomes.get(delivery.target), upload_mod.Uploaded):
                delivery.uploader.remove(image_id, delivery.name)
        raise


class _outcome:
    """Records a delivery's Uploaded (through the callable it yields) or its error."""

    def __init__(self, outcomes, delivery, release, started):
        self.outcomes, self.delivery, self.started = outcomes, delivery, started
        self.distro = release.distro

    def __enter__(self):
        return self.record

    def record(self, image_id, size, method):
        seconds = time.monotonic() - self.started
        LOG.info("%s: uploaded %s as image %s to %s (%d bytes in %.1f s, %s)",
                 self.distro, self.delivery.name, image_id,
                 self.delivery.target or "Glance", size, seconds, method)
        self.outcomes[self.delivery.target] = upload_mod.Uploaded(image_id, size, method,
                                                                  seconds)

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, Exception):
            self.outcomes[self.delivery.target] = _error(exc, self.delivery)
            return True
        return False


def _error(exc, delivery):
    if isinstance(exc, exceptions.ImgsyncError):
        return exc
    LOG.error("unexpected error uploading %s to %s", delivery.name, delivery.target,
              exc_info=exc)
    return exceptions.ImgsyncError(f"unexpected error: {exc!r}")


def _length(body):
    try:
        return len(body)
    except TypeError:
        return None
