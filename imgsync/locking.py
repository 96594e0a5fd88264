"""Per-driver locks, so overlapping runs never upload the same image twice."""

import contextlib
import fcntl
import logging
import os
import time

LOG = logging.getLogger(__name__)


class FileLocks:
    """flock(2) locks in a directory: enough for runs on one host."""

    def __init__(self, directory, timeout, poll_interval=0.5):
        self.directory = directory
        self.timeout = timeout
        self.poll_interval = poll_interval

    @contextlib.contextmanager
    def hold(self, name):
        """Yield True once the lock is held, or False after ``timeout`` seconds."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"{name}.lock")
        with open(path, "a") as handle:
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(self.poll_interval)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
