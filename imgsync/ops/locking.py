"""Per-driver locks, so overlapping runs never upload the same image twice."""

import contextlib
import errno
import fcntl
import itertools
import logging
import os
import socket
import stat
import time

from imgsync import exceptions

LOG = logging.getLogger(__name__)


class FileLocks:
    """flock(2) locks in a directory: enough for runs on one host.

    The holder writes its pid, host and start time into the lock file; a run that
    finds a lock held for longer than ``stale_after`` seconds raises LockStale, so a
    hung run shows as a failure instead of silently stopping all syncing. The directory
    must be imgsync's alone, and lock files are never opened through a symbolic link,
    so that whoever else can write on the host cannot make a run write elsewhere.
    """

    def __init__(self, directory, timeout, stale_after=None, poll_interval=0.5):
        self.directory = os.fspath(directory)
        _check_directory(self.directory)
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", self.directory)
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
        with _open(path) as handle:
            deadline = time.monotonic() + self.timeout
            for attempt in itertools.count():
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    self._check_stale(path, handle)
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

    def _check_stale(self, path, handle):
        if self.stale_after is None:
            return
        record = _record(handle)
        if record is None:
            # its holder may be between its flock and writing its record: look again
            time.sleep(self.poll_interval)
            record = _record(handle)
        since = record[2] if record else os.fstat(handle.fileno()).st_mtime
        held = time.time() - since
        if held <= self.stale_after:
            return
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
        if record is None:
            raise exceptions.LockStale(
                f"the lock {path} is held by a holder that left no record in it, unchanged "
                f"since {started} ({held / 3600:.1f} h, more than lock_stale_after): not an "
                "imgsync run, or a hung one of an older imgsync")
        pid, host, _ = record
        raise exceptions.LockStale(
            f"the lock {path} has been held since {started} ({held / 3600:.1f} h, more "
            f"than lock_stale_after) by pid {pid} on {host}: that run is probably hung")


def _check_directory(directory):
    """Refuse a lock directory that anyone but imgsync's user could plant files or
    links in; create it (0700) when it is missing."""
    with contextlib.suppress(FileExistsError):   # a symbolic link: refused below
        os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.lstat(directory.rstrip(os.sep) or os.sep)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link, not a directory (give the directory itself)"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a directory"
    elif info.st_uid != os.geteuid():
        problem = f"is owned by uid {info.st_uid}, not by imgsync's user (uid {os.geteuid()})"
    elif mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by group or others (mode {mode:04o}; make it 0700 or 0750)"
    else:
        return
    raise exceptions.ConfigError(f"[DEFAULT] lock_path {directory} {problem}")


def _open(path):
    """The lock file at ``path``, created 0600; never through a symbolic link."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        why = ("is a symbolic link, which imgsync does not follow" if exc.errno == errno.ELOOP
               else f"cannot be opened: {exc.strerror}")
        raise exceptions.ImgsyncError(f"[DEFAULT] lock_path: {path} {why}") from exc
    return os.fdopen(fd, "r+")


def _record(handle):
    """``(pid, host, since)`` from the holder's record in the lock file, or None."""
    try:
        pid, host, since = os.pread(handle.fileno(), 512, 0).decode().split()
        return pid, host, float(since)
    except (OSError, ValueError):
        return None


def waiting(name, timeout):
    """Say that ``name`` is locked by another run and how long this one waits."""
    LOG.info("%s: another imgsync run holds its lock; waiting up to %d s", name, timeout)
