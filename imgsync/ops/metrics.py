"""A run's metrics in Prometheus text format, for node_exporter's textfile collector.

The file (``[DEFAULT] metrics_file``, named ``*.prom`` in the collector's directory) is
replaced atomically at the end of each run; what must outlive a run is read back from it:

``imgsync_last_run_timestamp_seconds``, ``imgsync_run_duration_seconds``
    when the run finished, and how long it took.
``imgsync_last_success_timestamp_seconds{distro}``
    when the instance last ran without a "failed" result; kept from the previous file
    while it fails, is locked by another run, or is left out of a run (``--distributions``).
    An instance that never succeeded has no sample.
``imgsync_up{distro}``
    1 when the instance's last run succeeded, 0 when it failed. A "locked" instance keeps
    its previous value (1 when unknown: another run holds the lock, and a lock held too
    long ends as a failure, LockStale).
``imgsync_actions{distro,action}``
    how many of the run's results ended in each action ("uploaded", "up-to-date",
    "failed", ..., "would-upload" in a dry run); what the run did, not an inventory of
    Glance's images.
``imgsync_transferred_bytes_total``
    bytes uploaded, accumulated over runs (a counter; it restarts only if the previous
    file is lost or unreadable).

Example alert rules::

    - alert: ImgsyncNoRecentSuccess
      expr: time() - imgsync_last_success_timestamp_seconds > 2 * 86400
      annotations:
        summary: "imgsync has not synced {{ $labels.distro }} for two days"
    - alert: ImgsyncFailing
      expr: imgsync_up == 0
      for: 2d
"""

import collections
import errno
import logging
import math
import os
import stat

from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client import parser
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from imgsync import exceptions
from imgsync.engine import executor
from imgsync.model import record
from imgsync.ops import atomic

LOG = logging.getLogger(__name__)
MODE = 0o644
MAX_PREVIOUS = 1 << 20
"""Largest previous metrics file read back (imgsync's own are a few KiB)."""
LAST_SUCCESS, UP = "imgsync_last_success_timestamp_seconds", "imgsync_up"
TRANSFERRED = "imgsync_transferred_bytes"
ACTIONS = (*executor.DONE.values(), *(kind.value for kind in record.INFORMATIVE),
           executor.FAILED, executor.SKIPPED, executor.LOCKED)
"""Actions reported for every instance of a run, 0 when none ended so."""


def write(path, results, started, finished, instances, previous=None, images=None):
    """Replace the metrics file ``path`` with those of this run.

    ``results`` are the run's executor Results, ``instances`` the names of its instances,
    ``started`` and ``finished`` unix times. ``previous`` is the text of the previous
    metrics, when the caller has it; by default the file at ``path`` is read.
    """
    samples = _previous(path, previous)
    registry = CollectorRegistry()
    families = _families(results, started, finished, instances, samples)
    if images is not None:
        families.append(_images(images))
    registry.register(_Families(families))
    try:
        _replace(os.fspath(path), generate_latest(registry))
    except OSError as exc:
        raise exceptions.ImgsyncError(
            f"cannot write the metrics file {path} ([DEFAULT] metrics_file): "
            f"{exc.strerror or exc}")


class _Families(Collector):
    """Families rather than Counter objects, whose ``_created`` sample would change each run."""

    def __init__(self, families):
        self._families = families

    def collect(self):
        return iter(self._families)


def _previous(path, text):
    """{(sample name, distro label): value} of the previous metrics; {} if there are none."""
    try:
        if text is None:
            text = _read_previous(path)
        return {(sample.name, sample.labels.get("distro")): sample.value
                for family in parser.text_string_to_metric_families(text)
                for sample in family.samples}
    except FileNotFoundError:
        return {}
    except OSError as exc:
        reason = ("it is a symbolic link, which this run replaces" if exc.errno == errno.ELOOP
                  else exc.strerror or exc)
        LOG.warning("ignoring the previous metrics in %s: %s", path, reason)
        return {}
    except ValueError as exc:
        LOG.warning("ignoring the previous metrics in %s: %s", path, exc)
        return {}


def _read_previous(path):
    """The previous metrics file's text, never read through a symbolic link (whose target
    may be any file imgsync can read), from a FIFO, or beyond MAX_PREVIOUS bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        data = file.read(MAX_PREVIOUS + 1)
    if len(data) > MAX_PREVIOUS:
        raise ValueError(f"larger than {MAX_PREVIOUS} bytes")
    return data.decode("utf-8")


def _families(results, started, finished, instances, previous):
    counts = collections.defaultdict(collections.Counter)
    for result in results:
        counts[result.distro][result.action] += 1
    ran = dict.fromkeys([*instances, *counts])
    uploaded = sum(result.bytes for result in results if result.action == "uploaded")
    return [
        GaugeMetricFamily("imgsync_last_run_timestamp_seconds", "When the last run finished.",
                          value=finished),
        GaugeMetricFamily("imgsync_run_duration_seconds", "How long the last run took.",
                          value=finished - started),
        *_instances(ran, counts, finished, previous),
        _actions(ran, counts),
        CounterMetricFamily(TRANSFERRED, "Bytes uploaded to Glance, over all runs.",
                            value=_transferred(previous) + uploaded),
    ]


def _instances(ran, counts, finished, previous):
    """The last success and up families, of this run's instances and the previous file's."""
    success = GaugeMetricFamily(LAST_SUCCESS, "When the instance last ran without a failure.",
                                labels=["distro"])
    up = GaugeMetricFamily(UP, "1 when the instance's last run succeeded, 0 when it failed.",
                           labels=["distro"])
    known = {distro for name, distro in previous if name in (LAST_SUCCESS, UP) and distro}
    for distro in sorted(known | set(ran)):
        last, state = _status(counts[distro] if distro in ran else None, finished,
                              previous.get((LAST_SUCCESS, distro)), previous.get((UP, distro)))
        if last is not None:
            success.add_metric([distro], last)
        if state is not None:
            up.add_metric([distro], state)
    return success, up


def _status(counts, finished, last, state):
    """(last success, up) of an instance, from its result counts (None: not in this run)."""
    if counts is None:
        return last, state
    if counts[executor.FAILED]:
        return last, 0
    if counts[executor.LOCKED]:
        return last, 1 if state is None else state
    return finished, 1


def _actions(ran, counts):
    family = GaugeMetricFamily("imgsync_actions", "Results of the last run, by action.",
                               labels=["distro", "action"])
    for distro in ran:
        for action in dict.fromkeys([*ACTIONS, *sorted(counts[distro])]):
            family.add_metric([distro, action], counts[distro][action])
    return family


def _images(images):
    """``imgsync_images{distro,state}`` from ``images``: distro -> state -> count."""
    family = GaugeMetricFamily("imgsync_images", "imgsync's images in Glance after the run, "
                               "by state (active, hidden, deactivated, pending).",
                               labels=["distro", "state"])
    for distro, states in sorted(images.items()):
        for state, count in sorted(states.items()):
            family.add_metric([distro, state], count)
    return family


def _transferred(previous):
    value = previous.get((f"{TRANSFERRED}_total", None), 0.0)
    if math.isfinite(value) and value >= 0:
        return value
    LOG.warning("previous %s_total is %s; counting again from 0", TRANSFERRED, value)
    return 0.0


def _replace(path, data):
    """Write ``data`` to ``path`` atomically (the temporary ``.*.tmp`` beside it is one the
    textfile collector, reading only ``*.prom``, never sees half-written)."""
    atomic.write(path, data, MODE)
