"""Keep credentials out of what imgsync shows or stores: logs, errors, tables, Glance."""

import logging
import re
import urllib.parse

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#\s]*)@")
"""User info runs to the last ``@`` before the path, as URL parsers split it."""
MASK = "***"


def text(value):
    """``value`` as a string with the credentials in every URL's user info masked:
    ``user:password@`` becomes ``user:***@``, a lone ``token@`` becomes ``***@``."""
    return _USERINFO.sub(_mask, str(value))


def _mask(match):
    user, colon, _ = match["info"].partition(":")
    return f"{match['scheme']}{user + ':' if colon else ''}{MASK}@"


def url(value):
    """One URL with its user info masked."""
    return text(value)


def without_credentials(value):
    """A URL with no user info at all, as it may be stored or published."""
    parts = urllib.parse.urlsplit(value)
    if parts.username is None and parts.password is None:
        return value
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def has_credentials(value):
    parts = urllib.parse.urlsplit(value)
    return parts.username is not None or parts.password is not None


class Filter(logging.Filter):
    """Masks credentials in URLs of every log record, whoever logs it."""

    def filter(self, record):
        message = record.getMessage()
        if record.exc_info:   # a traceback may quote URLs too: mask it with the message
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        masked = text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


def install(logger=None):
    """Add the filter to every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(Filter())
