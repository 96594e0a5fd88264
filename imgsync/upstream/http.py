"""HTTP access to upstream sites and mirrors: listings, checksum files and image streams.

Every request asks for the bytes as published (``Accept-Encoding: identity``) and
refuses an encoded answer; TLS is verified (against ``ca_file`` when a driver sets
one); a redirect never leaves https for http; ``Retry-After`` is honoured up to
RETRY_AFTER_MAX seconds. Small documents are read up to a size cap and, status line,
headers and body, within an overall deadline; image streams fail when less than a minimal
rate arrives for ``timeout`` seconds. Every error names the URL, with any credentials masked.
"""

import contextlib
import email.utils
import http.client
import logging
import socket
import threading
import time
import urllib.parse

import requests
from requests import adapters
from urllib3 import connection
from urllib3 import connectionpool
from urllib3 import exceptions as urllib3_exceptions
from urllib3 import poolmanager
from urllib3.util import retry

from imgsync import exceptions
from imgsync import redact
from imgsync.upstream import listing

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 256 * 1024
"""Bytes per chunk read from upstream and sent on to Glance (well under uWSGI's 1 MiB limit)."""
RETRY_AFTER_MAX = 30
"""Longest ``Retry-After`` pause honoured, in seconds; a longer one is cut to this."""
IDENTITY = {"Accept-Encoding": "identity"}


_LOCAL = threading.local()


class _Deadline:
    """The deadline of the small document one thread is fetching. When it passes, a timer
    shuts down every socket the fetch has used, so a server that drips its TLS handshake,
    status line, headers or body cannot hold the fetch past it; each read alone is only
    bounded by the socket timeout."""

    def __init__(self, url, seconds):
        self.url, self.seconds = redact.url(url), seconds
        self.error = exceptions.UpstreamError(f"{self.url} took longer than {seconds} s")
        self.ends = time.monotonic() + seconds
        self.expired = self._ended = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self):
        with self._lock:
            self.expired = not self._ended
            for sock in self._sockets if self.expired else ():
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)   # a reader blocked on it sees the end

    def watch(self, sock):
        """Shut ``sock`` down at the deadline (at once when it has passed). The deadline
        keeps a duplicate: a socket wrapped for TLS is detached from its object."""
        with self._lock, contextlib.suppress(OSError):   # closed already
            self._sockets.append(socket.fromfd(sock.fileno(), sock.family, sock.type))
            if self.expired:
                self._sockets[-1].shutdown(socket.SHUT_RDWR)

    def check(self, pause=0):
        """Raise the deadline's error once it has passed, or would pass during ``pause``."""
        if self.expired or time.monotonic() + pause > self.ends:
            raise self.error

    def end(self):
        """Stop watching (the connection may go on to serve an image); True when expired."""
        self._timer.cancel()
        with self._lock:
            self._ended = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()
        return self.expired


@contextlib.contextmanager
def _document_deadline(url, seconds):
    """Fetch a small document within ``seconds``, or fail with one line saying so."""
    deadline = _LOCAL.deadline = _Deadline(url, seconds)
    try:
        yield deadline
    except Exception as exc:
        if deadline.end() and exc is not deadline.error:
            raise deadline.error from exc
        raise
    finally:
        deadline.end()
        _LOCAL.deadline = None
    if deadline.expired:
        raise deadline.error


def _deadline():
    """The deadline of the document this thread is fetching, or None (an image stream)."""
    return getattr(_LOCAL, "deadline", None)


class _Watched:
    """A urllib3 connection whose sockets the current thread's document deadline watches:
    a new one as soon as it is connected (the TLS handshake included), a kept-alive one
    when it takes a request."""

    def _new_conn(self):
        deadline = _deadline()
        if deadline:
            deadline.check()
        sock = super()._new_conn()
        if deadline:
            deadline.watch(sock)
        return sock

    def request(self, *args, **kwargs):
        deadline = _deadline()
        if deadline and self.sock is not None:
            deadline.watch(self.sock)
        return super().request(*args, **kwargs)


class _HTTPConnection(_Watched, connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, connection.HTTPSConnection):
    pass


class _HTTPPool(connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(adapters.HTTPAdapter):
    """requests' adapter, on connections a document deadline can watch (directly or
    through an HTTP proxy; a SOCKS proxy keeps its own connections)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Retry(retry.Retry):
    """urllib3's Retry, except that a host name that does not resolve is not retried
    (that is a configuration error, not a passing one), and that no pause outlasts the
    deadline of a document."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        if isinstance(error, urllib3_exceptions.NameResolutionError):
            raise urllib3_exceptions.MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response=None):
        deadline = _deadline()
        if deadline:
            retry_after = (self.get_retry_after(response)
                           if response and self.respect_retry_after_header else None)
            pause = retry_after or self.get_backoff_time()
            if response is not None and not deadline.expired and \
                    time.monotonic() + pause > deadline.ends:   # say what upstream answered
                raise exceptions.UpstreamError(
                    f"{deadline.url} answered HTTP {response.status} {response.reason}, and "
                    f"a retry after {pause:.0f} s would end past document_timeout "
                    f"({deadline.seconds} s)", status=response.status)
            deadline.check(pause)
        super().sleep(response)


def _unreachable(shown, exc):
    """One line for a request that got no answer; a host that does not resolve says so."""
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", None)
    if isinstance(reason, urllib3_exceptions.NameResolutionError):
        host = urllib.parse.urlsplit(shown).hostname
        return exceptions.UpstreamError(f"cannot reach {shown}: the host name {host} does "
                                        "not resolve (check base_url and DNS)")
    return exceptions.UpstreamError(f"cannot reach {shown}: {redact.text(exc)}")


class Upstream:
    """A requests session with timeouts, retries and limits, and errors that name the URL.

    ``timeout`` bounds connecting and each read; ``document_timeout`` and
    ``max_document_size`` bound a whole small document; ``min_rate`` (bytes/s) is the
    slowest an image may arrive, measured over ``timeout`` seconds.
    """

    def __init__(self, timeout, retries, user_agent="imgsync", max_document_size=8 << 20,
                 document_timeout=120, min_rate=1024, ca_file=None):
        self.timeout = timeout
        self.max_document_size = max_document_size
        self.document_timeout = document_timeout
        self.min_rate = min_rate
        self.verify = ca_file or True
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": user_agent, **IDENTITY})
        self.session.hooks["response"].append(_no_downgrade)
        policy = _Retry(total=retries, backoff_factor=1,
                        status_forcelist=(429, 500, 502, 503, 504),
                        allowed_methods=("GET", "HEAD"), raise_on_status=False,
                        retry_after_max=RETRY_AFTER_MAX)
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, _Adapter(max_retries=policy))

    def _get(self, url):
        shown = redact.url(url)
        try:
            response = self.session.get(url, timeout=self.timeout, stream=True,
                                        verify=self.verify)
        except exceptions.UpstreamError:
            raise
        except requests.RequestException as exc:
            raise _unreachable(shown, exc) from exc
        if response.status_code != 200:
            response.close()
            raise exceptions.UpstreamError(
                f"{shown} answered HTTP {response.status_code} {response.reason}",
                status=response.status_code)
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            response.close()
            raise exceptions.UpstreamError(
                f"{shown} answered with Content-Encoding {encoding}, although imgsync asked "
                "for the bytes as published (identity)")
        return response

    def get_bytes(self, url):
        """The body of a small document (listing, checksum, version or signature file)."""
        LOG.debug("GET %s", redact.url(url))
        body = bytearray()
        with (_document_deadline(url, self.document_timeout) as deadline,
              self._get(url) as response):
            for chunk in _reads(response, url):
                body += chunk
                if len(body) > self.max_document_size:
                    raise exceptions.UpstreamError(
                        f"{redact.url(url)} is larger than {self.max_document_size} bytes, "
                        "too large for a listing, checksum or signature file")
                deadline.check()
        return bytes(body)

    def get_published(self, url):
        """The body of a small document, or None when upstream has no such file (404)."""
        try:
            return self.get_bytes(url)
        except exceptions.UpstreamError as exc:
            if exc.status == 404:
                return None
            raise

    def get_text(self, url):
        """A small document as text (UTF-8; undecodable bytes replaced)."""
        return self.get_bytes(url).decode("utf-8", "replace")

    def last_modified(self, url):
        """The date of upstream's ``Last-Modified`` header for ``url`` (a HEAD request).

        For upstreams whose file names carry no build date (Fedora, openSUSE, CirrOS).
        """
        shown = redact.url(url)
        LOG.debug("HEAD %s", shown)
        try:
            with _document_deadline(url, self.document_timeout):
                response = self.session.head(url, timeout=self.timeout, allow_redirects=True,
                                             verify=self.verify)
                response.close()
        except exceptions.UpstreamError:
            raise
        except requests.RequestException as exc:
            raise _unreachable(shown, exc) from exc
        if response.status_code != 200:
            raise exceptions.UpstreamError(
                f"{shown} answered HTTP {response.status_code} {response.reason}",
                status=response.status_code)
        value = response.headers.get("Last-Modified")
        try:
            return email.utils.parsedate_to_datetime(value).date()
        except (TypeError, ValueError) as exc:
            raise exceptions.LayoutError(shown, "a Last-Modified header with a date",
                                         repr(value)) from exc

    def entries(self, url):
        """Names in the directory listing at ``url`` (directories end in a slash)."""
        return listing.parse_entries(self.get_text(url))

    @contextlib.contextmanager
    def open(self, url):
        """Stream a file: yields ``(chunks, length)``; length is None when unknown."""
        LOG.info("downloading %s", redact.url(url))
        with self._get(url) as response:
            length = response.headers.get("Content-Length")
            chunks = _reads(response, url, self.min_rate, self.timeout)
            yield chunks, (int(length) if length and length.isdigit() else None)


def _reads(response, url, rate=0, window=None):
    """The raw body as it arrives: each read returns what one receive brought, so a slow
    sender cannot hold a read for longer than the socket timeout. With ``rate``, fail
    when fewer than ``rate`` bytes/s arrive over ``window`` seconds spent reading (time
    the consumer spends, e.g. sending to Glance, does not count against upstream)."""
    received = waited = 0.0
    window_bytes = 0
    try:
        while True:
            started = time.monotonic()
            chunk = response.raw.read1(CHUNK_SIZE, decode_content=False)
            waited += time.monotonic() - started
            if not chunk:
                return
            received += len(chunk)
            window_bytes += len(chunk)
            if rate and waited >= window:
                if window_bytes < rate * waited:
                    raise exceptions.UpstreamError(
                        f"download of {redact.url(url)} is too slow: {window_bytes} bytes in "
                        f"{waited:.0f} s, less than {rate} bytes/s")
                waited, window_bytes = 0.0, 0
            yield chunk
    except urllib3_exceptions.ProtocolError as exc:
        if any(isinstance(arg, http.client.IncompleteRead) for arg in exc.args):
            raise exceptions.UpstreamError(
                f"{redact.url(url)} was truncated: the connection closed after "
                f"{received:.0f} of the {response.headers.get('Content-Length')} bytes "
                "announced") from exc
        raise exceptions.UpstreamError(
            f"download of {redact.url(url)} failed: {redact.text(exc)}") from exc
    except (urllib3_exceptions.HTTPError, requests.RequestException, OSError) as exc:
        raise exceptions.UpstreamError(
            f"download of {redact.url(url)} failed: {redact.text(exc)}") from exc


def _no_downgrade(response, *args, **kwargs):
    """A response hook: refuse a redirect from https to anything else."""
    if response.is_redirect and urllib.parse.urlsplit(response.url).scheme == "https":
        target = urllib.parse.urljoin(response.url, response.headers.get("Location", ""))
        if urllib.parse.urlsplit(target).scheme != "https":
            response.close()
            raise exceptions.UpstreamError(
                f"{redact.url(response.url)} redirects to {redact.url(target)}: imgsync "
                "never follows a redirect from https to http")
    return response
