"""Per-driver locks, so overlapping runs never upload the same image twice."""

import contextlib
import fcntl
import itertools
import logging
import os
import socket
import time

from imgsync import exceptions

LOG = logging.getLogger(__name__)


class FileLocks:
    """flock(2) locks in a directory: enough for runs on one host.

    The holder writes its pid, host and start time into the lock file; a run that
    finds a lock held for longer than ``stale_after`` seconds raises LockStale, so a
    hung run shows as a failure instead of silently stopping all syncing.
    """

    def __init__(self, directory, timeout, stale_after=None, poll_interval=0.5):
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", directory)
        self.directory = directory
        self.timeout = timeout
        self.stale_after = stale_after
        self.poll_interval = poll_interval

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    @contextlib.contextmanager
    def hold(self, name):
        """Yield True once the lock is held, or False after ``timeout`` seconds."""
        path = os.path.join(self.directory, f"{name}.lock")
        try:
            handle = open(path, "a+")
        except OSError as exc:
            raise exceptions.ImgsyncError(
                f"[DEFAULT] lock_path: cannot open {path}: {exc.strerror}") from exc
        with handle:
            deadline = time.monotonic() + self.timeout
            for attempt in itertools.count():
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    self._check_stale(name, path)
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    if attempt == 0:
                        waiting(name, self.timeout)
                    time.sleep(self.poll_interval)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n")
            handle.flush()
            try:
                yield True
            finally:
                handle.seek(0)
                handle.truncate()   # no stale holder for the next run to read
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _check_stale(self, name, path):
        if self.stale_after is None:
            return
        try:
            with open(path) as handle:
                pid, host, since = handle.read().split()
            since = float(since)
        except (OSError, ValueError):
            return   # written by an older imgsync, or being written right now
        held = time.time() - since
        if held > self.stale_after:
            started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
            raise exceptions.LockStale(
                f"the lock {path} has been held since {started} ({held / 3600:.1f} h, more "
                f"than lock_stale_after) by pid {pid} on {host}: that run is probably hung")


def waiting(name, timeout):
    """Say that ``name`` is locked by another run and how long this one waits."""
    LOG.info("%s: another imgsync run holds its lock; waiting up to %d s", name, timeout)
