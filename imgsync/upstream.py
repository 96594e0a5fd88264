"""HTTP access to upstream sites and mirrors: listings, checksum files and image streams."""

import contextlib
import email.utils
import logging

import requests
from requests import adapters
from urllib3.util import retry

from imgsync import exceptions
from imgsync import listing

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 256 * 1024
"""Bytes per chunk read from upstream and sent on to Glance (well under uWSGI's 1 MiB limit)."""


class Upstream:
    """A requests session with timeouts and retries, and errors that name the URL."""

    def __init__(self, timeout, retries, user_agent="imgsync"):
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        policy = retry.Retry(total=retries, backoff_factor=1,
                             status_forcelist=(429, 500, 502, 503, 504),
                             allowed_methods=("GET", "HEAD"), raise_on_status=False)
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, adapters.HTTPAdapter(max_retries=policy))

    def _get(self, url, stream=False):
        try:
            response = self.session.get(url, timeout=self.timeout, stream=stream)
        except requests.RequestException as exc:
            raise exceptions.UpstreamError(f"cannot reach {url}: {exc}") from exc
        if response.status_code != 200:
            response.close()
            raise exceptions.UpstreamError(
                f"{url} answered HTTP {response.status_code} {response.reason}")
        return response

    def get_text(self, url):
        """The body of a small text document (a listing or a checksum file)."""
        LOG.debug("GET %s", url)
        with self._get(url) as response:
            try:
                return response.text
            except requests.RequestException as exc:
                raise exceptions.UpstreamError(f"reading {url} failed: {exc}") from exc

    def last_modified(self, url):
        """The date of upstream's ``Last-Modified`` header for ``url`` (a HEAD request).

        For upstreams whose file names carry no build date (Fedora, openSUSE, CirrOS).
        """
        LOG.debug("HEAD %s", url)
        try:
            response = self.session.head(url, timeout=self.timeout, allow_redirects=True)
        except requests.RequestException as exc:
            raise exceptions.UpstreamError(f"cannot reach {url}: {exc}") from exc
        response.close()
        if response.status_code != 200:
            raise exceptions.UpstreamError(
                f"{url} answered HTTP {response.status_code} {response.reason}")
        value = response.headers.get("Last-Modified")
        try:
            return email.utils.parsedate_to_datetime(value).date()
        except (TypeError, ValueError) as exc:
            raise exceptions.LayoutError(url, "a Last-Modified header with a date",
                                         repr(value)) from exc

    def entries(self, url):
        """Names in the directory listing at ``url`` (directories end in a slash)."""
        return listing.parse_entries(self.get_text(url))

    @contextlib.contextmanager
    def open(self, url):
        """Stream a file: yields ``(chunks, length)``; length is None when unknown."""
        LOG.info("downloading %s", url)
        with self._get(url, stream=True) as response:
            length = response.headers.get("Content-Length")
            if length is None or response.headers.get("Content-Encoding", "identity") != "identity":
                length = None
            yield _chunks(response, url), (int(length) if length is not None else None)


def _chunks(response, url):
    try:
        yield from response.iter_content(CHUNK_SIZE)
    except requests.RequestException as exc:
        raise exceptions.UpstreamError(f"download of {url} failed: {exc}") from exc
