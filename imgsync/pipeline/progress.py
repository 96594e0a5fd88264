"""Progress of a transfer: a live line on a terminal, two log lines anywhere else."""

import os
import sys
import time

MiB = 1024 * 1024
COLUMNS = 80
"""Width of the progress line on a terminal that reports none (a pty never sized)."""
INTERVAL = 0.25
"""Least seconds between two renders of a progress line."""


def track(chunks, total, label, log, stream=None):
    """An iterator of ``chunks`` (byte strings), unchanged, that reports their progress.

    On a terminal ``stream`` (default sys.stderr) a progress line shows bytes, rate and
    ETA (``total`` bytes, None when unknown, gives the ETA); it is closed when the chunks
    end, fail or are abandoned. Elsewhere ``log`` gets one line at the start and one with
    the size and rate once every chunk is through (none when the transfer fails).
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return _shown(chunks, total, label, stream)
    return _logged(chunks, total, label, log)


def _shown(chunks, total, label, stream):
    import tqdm  # noqa: PLC0415 - only a run on a terminal draws a line

    class _Bar(tqdm.tqdm):
        monitor_interval = 0  # no monitor thread: miniters=1 checks the time on every chunk

    sized = _columns(stream) > 0  # else tqdm would trim the line to nothing
    with _Bar(total=total, desc=label, file=stream, unit="B", unit_scale=True,
              unit_divisor=1024, mininterval=INTERVAL, miniters=1, dynamic_ncols=sized,
              ncols=None if sized else COLUMNS) as bar:
        for chunk in chunks:
            bar.update(len(chunk))
            yield chunk


def _columns(stream):
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


def _logged(chunks, total, label, log):
    size = "unknown size" if total is None else f"{total} bytes ({total / MiB:.1f} MiB)"
    log.info("%s: downloading %s", label, size)
    started, count = time.monotonic(), 0
    for chunk in chunks:
        count += len(chunk)
        yield chunk
    seconds = time.monotonic() - started
    log.info("%s: %d bytes in %.1f s (%.1f MiB/s)", label, count, seconds,
             count / MiB / seconds if seconds > 0 else 0.0)
