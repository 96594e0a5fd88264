"""Locks in a tooz coordination backend, so runs on several hosts exclude each other.

Its own module so that a run without ``[coordination] backend_url`` never imports
tooz (50 ms and 4 MiB of every run).
"""

import contextlib
import json
import logging
import os
import socket
import threading
import time
import urllib.parse

import tooz
from tooz import coordination

from imgsync import exceptions
from imgsync import locking
from imgsync import redact

LOG = logging.getLogger(__name__)

HOLDERS = b"imgsync-lock-holders"


def _tooz_bookkeeping(method):
    """Bookkeeping of lock holders must never break locking: its failures are warnings."""
    def guarded(self, *args):
        try:
            return method(self, *args)
        except tooz.ToozError as exc:
            LOG.warning("%s", self._error("cannot record lock holders", exc))
            return None
    return guarded


def mask_url(url):
    """``url`` with its user info and the values of ``password`` query keys masked."""
    parts = urllib.parse.urlsplit(redact.url(url))
    query = "&".join(
        f"{key}=***" if "password" in key.lower() else f"{key}={value}"
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit(parts._replace(query=query))


class ToozLocks:
    """Locks in a tooz coordination backend: runs on several hosts exclude each other.

    Use it as a context manager: entering connects to the backend, leaving disconnects.
    Each run is a member of the group HOLDERS whose capabilities say which locks it
    holds since when; a lock held longer than ``stale_after`` raises LockStale.
    """

    def __init__(self, backend_url, timeout, stale_after=None, connect_timeout=30):
        self.backend_url = backend_url
        self.timeout = timeout
        self.stale_after = stale_after
        self.connect_timeout = connect_timeout
        self._held = {}
        self._bookkeeping = threading.Lock()
        """Instances synced at once (workers) record their locks one at a time."""
        self.member_id = f"{socket.gethostname()}-{os.getpid()}".encode()
        self._coordinator = None

    def _error(self, what, exc):
        return exceptions.CoordinationError(
            f"coordination backend {mask_url(self.backend_url)}: {what}: {exc}")

    def _bounded(self, func, what):
        """Run ``func`` for at most ``connect_timeout`` seconds; raise CoordinationError."""
        outcome = {}

        def target():
            try:
                func()
            except Exception as exc:  # reported to the caller below
                outcome["error"] = exc

        thread = threading.Thread(target=target, name=f"imgsync-tooz-{what}", daemon=True)
        thread.start()
        thread.join(self.connect_timeout)
        if thread.is_alive():
            raise self._error(what, f"no answer within {self.connect_timeout} s")
        if "error" in outcome:
            raise self._error(what, outcome["error"]) from outcome["error"]

    def _probe(self):
        """Connect to the backend's host:port once: tooz retries a refused connection 60 s."""
        parts = urllib.parse.urlsplit(self.backend_url)
        try:
            address = (parts.hostname, parts.port)
        except ValueError:  # several hosts, as zookeeper://h1:2181,h2:2181
            return
        if None in address:
            return
        try:
            socket.create_connection(address, timeout=self.connect_timeout).close()
        except OSError as exc:
            raise self._error("cannot connect", exc) from exc

    def __enter__(self):
        try:
            coordinator = coordination.get_coordinator(self.backend_url, self.member_id)
        except Exception as exc:  # tooz raises stevedore's, ValueError... for bad URLs
            raise self._error("cannot load a tooz driver", exc) from exc
        self._probe()
        self._bounded(lambda: coordinator.start(start_heart=True), "cannot connect")
        self._coordinator = coordinator
        return self

    def __exit__(self, *exc_info):
        coordinator, self._coordinator = self._coordinator, None
        try:
            self._bounded(coordinator.stop, "cannot disconnect")
        except exceptions.CoordinationError as exc:
            LOG.warning("%s", exc)

    @_tooz_bookkeeping
    def _record(self, name, since):
        """Tell the other runs that this one holds ``name`` since ``since`` (None: no more)."""
        with self._bookkeeping:
            if since is None:
                self._held.pop(name, None)
            else:
                self._held[name] = since
            capabilities = json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                       "locks": self._held}).encode()
            # leave and join again: not every tooz driver can update capabilities
            with contextlib.suppress(coordination.GroupAlreadyExist):
                self._coordinator.create_group(HOLDERS).get()
            with contextlib.suppress(coordination.MemberNotJoined):
                self._coordinator.leave_group(HOLDERS).get()
            self._coordinator.join_group(HOLDERS, capabilities).get()

    @_tooz_bookkeeping
    def _check_stale(self, name):
        if self.stale_after is None:
            return
        try:
            members = self._coordinator.get_members(HOLDERS).get()
        except coordination.GroupNotCreated:
            return
        holders = []
        for member in members:
            try:
                holder = json.loads(self._coordinator.get_member_capabilities(
                    HOLDERS, member).get())
                holders.append((float(holder["locks"][name]), holder))
            except (coordination.MemberNotJoined, ValueError, KeyError, TypeError):
                continue
        if holders:
            # the newest record is the holder's: a run killed while it held the lock may
            # have left an older one in backends that do not expire members
            since, holder = max(holders, key=lambda item: item[0])
            held = time.time() - since
            if held > self.stale_after:
                started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
                raise exceptions.LockStale(
                    f"the lock imgsync-{name} in {mask_url(self.backend_url)} has been held "
                    f"since {started} ({held / 3600:.1f} h, more than lock_stale_after) by "
                    f"pid {holder.get('pid')} on {holder.get('host')}: that run is "
                    "probably hung")

    @contextlib.contextmanager
    def hold(self, name):
        """Yield True once ``imgsync-<name>`` is held, or False after ``timeout`` seconds."""
        lock = self._coordinator.get_lock(f"imgsync-{name}".encode())
        try:
            held = lock.acquire(blocking=False)
            if not held and self.timeout:
                locking.waiting(name, self.timeout)
                held = lock.acquire(blocking=self.timeout)
        except tooz.ToozError as exc:
            raise self._error(f"cannot lock imgsync-{name}", exc) from exc
        if not held:
            self._check_stale(name)
            yield False
            return
        self._record(name, time.time())
        try:
            yield True
        finally:
            self._record(name, None)
            try:
                lock.release()
            except tooz.ToozError as exc:  # the lock expires in the backend anyway
                LOG.warning("%s", self._error(f"cannot unlock imgsync-{name}", exc))
