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
from imgsync import redact
from imgsync.ops import locking

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
    holds since when, and which it is about to try to take: so a lock held longer than
    ``stale_after``, or held while no other run claims it, raises LockStale.
    """

    def __init__(self, backend_url, timeout, stale_after=None, connect_timeout=30):
        self.backend_url = backend_url
        self.timeout = timeout
        self.stale_after = stale_after
        self.connect_timeout = connect_timeout
        self._held = {}
        self._bookkeeping = threading.Lock()
        """Instances synced at once (workers) record their locks one at a time."""
        # one member per run, told apart from other runs even in one process
        self.member_id = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}".encode()
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
    def _record(self, name, since=None):
        """Tell the other runs that this one holds ``name`` since ``since``, or (None)
        is about to try to take it."""
        with self._bookkeeping:
            self._held[name] = since
            self._publish()

    @_tooz_bookkeeping
    def _forget(self, name):
        """Tell the other runs that this one no longer holds nor wants ``name``."""
        with self._bookkeeping:
            self._held.pop(name, None)
            self._publish()

    def _publish(self):
        capabilities = json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                   "locks": self._held}).encode()
        try:   # in place where the driver can: this run's locks stay on record meanwhile
            self._coordinator.update_capabilities(HOLDERS, capabilities).get()
            return
        except (coordination.GroupNotCreated, coordination.MemberNotJoined, tooz.NotImplemented):
            pass   # this run's first record, or a driver that cannot update it
        with contextlib.suppress(coordination.GroupAlreadyExist):
            self._coordinator.create_group(HOLDERS).get()
        with contextlib.suppress(coordination.MemberNotJoined):
            self._coordinator.leave_group(HOLDERS).get()
        self._coordinator.join_group(HOLDERS, capabilities).get()

    @_tooz_bookkeeping
    def _claims(self, name):
        """``[(since, holder)]`` of the other runs that hold ``name`` (since: a time) or
        are about to try to take it (since: None); None when the backend cannot tell."""
        try:
            members = self._coordinator.get_members(HOLDERS).get()
        except coordination.GroupNotCreated:
            return []
        claims = []
        for member in set(members) - {self.member_id}:
            try:
                holder = json.loads(self._coordinator.get_member_capabilities(
                    HOLDERS, member).get())
                since = holder["locks"][name]
                claims.append((None if since is None else float(since), holder))
            except (coordination.MemberNotJoined, ValueError, KeyError, TypeError):
                continue
        return claims

    def _check_stale(self, name, lock):
        """Raise LockStale when ``name``'s holder is hung or never registered; True when
        the lock came free while this run looked (this run then holds it)."""
        if self.stale_after is None:
            return False
        claims = self._claims(name)
        if claims == []:
            # runs register before they take a lock and forget it after they let it go:
            # unclaimed and still held once more, it is held by a stranger
            if self._acquire(lock, name, 0):
                return True
            claims = self._claims(name)
            if claims == []:
                raise exceptions.LockStale(
                    f"the lock imgsync-{name} in {mask_url(self.backend_url)} is held by a "
                    f"holder that never registered in {HOLDERS.decode()}: not an imgsync "
                    "run, or a hung one of an older imgsync")
        held = [claim for claim in claims or () if claim[0] is not None]
        if not held:
            return False
        # the newest record is the holder's: a run killed while it held the lock may
        # have left an older one in backends that do not expire members
        since, holder = max(held, key=lambda item: item[0])
        age = time.time() - since
        if age > self.stale_after:
            started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
            raise exceptions.LockStale(
                f"the lock imgsync-{name} in {mask_url(self.backend_url)} has been held "
                f"since {started} ({age / 3600:.1f} h, more than lock_stale_after) by "
                f"pid {holder.get('pid')} on {holder.get('host')}: that run is "
                "probably hung")
        return False

    def _acquire(self, lock, name, timeout):
        """Take ``lock`` at once or within ``timeout`` seconds: True when it is held."""
        try:
            held = lock.acquire(blocking=False)
            if not held and timeout:
                locking.waiting(name, timeout)
                held = lock.acquire(blocking=timeout)
        except tooz.ToozError as exc:
            raise self._error(f"cannot lock imgsync-{name}", exc) from exc
        return held

    @contextlib.contextmanager
    def hold(self, name):
        """Yield True once ``imgsync-<name>`` is held, or False after ``timeout`` seconds."""
        lock = self._coordinator.get_lock(f"imgsync-{name}".encode())
        self._record(name)   # before trying: a run that holds a lock is always on record
        held = False
        try:
            held = self._acquire(lock, name, self.timeout) or self._check_stale(name, lock)
        finally:
            if not held:
                self._forget(name)
        if not held:
            yield False
            return
        try:
            self._record(name, time.time())   # inside: whatever it raises, the lock is freed
            yield True
        finally:
            try:
                lock.release()
            except tooz.ToozError as exc:  # the lock expires in the backend anyway
                LOG.warning("%s", self._error(f"cannot unlock imgsync-{name}", exc))
            self._forget(name)   # after the release: never held off the record
