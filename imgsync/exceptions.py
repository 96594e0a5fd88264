"""Errors imgsync reports to the operator: each message names what failed."""

from imgsync import redact


def attempt(func, *args):
    """``(func(*args), None)``, or ``(None, the ImgsyncError it raised)``: the caller logs
    the error outside the exception handler, where oslo.log appends no second copy of it
    (``...: imgsync.exceptions.UpstreamError: ...``)."""
    try:
        return func(*args), None
    except ImgsyncError as exc:
        return None, exc


class ImgsyncError(Exception):
    """Base class; str() is the one-line message shown to the operator, its URLs'
    credentials masked here, so no caller can show or log them."""

    def __init__(self, message):
        super().__init__(redact.text(message))


class ConfigError(ImgsyncError):
    """Bad or missing configuration (exit status 2)."""


class UpstreamError(ImgsyncError):
    """An upstream site or mirror could not be read; ``status`` is its HTTP answer."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class LayoutError(UpstreamError):
    """Upstream answered, but not in the layout the driver expects."""

    def __init__(self, url, expected, found):
        self.url = redact.url(url)
        super().__init__(
            f"unexpected upstream layout at {self.url}: expected {expected}, found {found}")


class ChecksumMismatch(UpstreamError):
    """Downloaded data does not match upstream's published checksum."""

    def __init__(self, url, algo, expected, computed):
        super().__init__(
            f"checksum mismatch for {url}: expected {algo} {expected}, computed {computed}")


class SignatureError(UpstreamError):
    """A checksum file's OpenPGP signature is missing, bad, or not by a trusted key."""


class RefusedBuild(UpstreamError):
    """Upstream's files do not prove that a build is the release it claims to be."""


class ImageFormatMismatch(UpstreamError):
    """The data is not in the disk format the driver announced."""


class UnsafeImage(UpstreamError):
    """The image fails a safety check (e.g. a qcow2 backing file)."""


class GlanceError(ImgsyncError):
    """Glance refused a request or did not end in the expected state."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class MirrorError(ImgsyncError):
    """The object-store mirror refused a request, or could not be reached."""


class LockStale(ImgsyncError):
    """Another run has held a driver's lock for longer than lock_stale_after."""


class CoordinationError(ImgsyncError):
    """The coordination backend of [coordination] backend_url failed."""


class NovaError(ImgsyncError):
    """Nova could not say whether servers use an image."""
