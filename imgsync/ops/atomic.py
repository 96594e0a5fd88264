"""Replacing a file so that readers (node_exporter, a catalog consumer) see the old file
or the new one, never a part, and the new one survives a crash once written."""

import contextlib
import os
import tempfile


def write(path, data, mode=0o644):
    """Replace ``path`` with ``data`` (bytes): a temporary file beside it (``.<name>.*.tmp``,
    which globs such as ``*.prom`` or ``*.yml`` skip) is written, synced, given ``mode``
    and renamed over ``path``, then the directory is synced so the rename is on disk too.
    On any error the temporary file is removed and the old file is left alone.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(directory)


def _sync_directory(directory):
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
