"""Keep credentials out of what imgsync shows or stores: logs, errors, tables, Glance."""

import logging
import re
import urllib.parse

MASK = "***"
_WORD = re.compile(r"\S+")
_AFTER_HOST = re.compile(r"[/?#]")


def text(value):
    """``value`` as a string with the credentials in every URL's user info masked:
    ``user:password@`` becomes ``user:***@``, a lone ``token@`` becomes ``***@``.

    User info runs to the last ``@`` before the path, as URL parsers split it; a
    ``user:password@`` whose password holds ``/``, ``?`` or ``#`` (no URL parser's idea
    of a password, but an operator's) runs to the last ``@`` before whitespace. Linear
    in the length of ``value``: a scanner, not a backtracking regex.
    """
    value = str(value)
    return _WORD.sub(_masked_word, value) if "://" in value else value


def _masked_word(match):
    """One word of text (no whitespace), its URLs masked."""
    word, parts, done = match.group(0), [], 0
    last_at = word.rfind("@")
    found = word.find("://")
    while found != -1:
        start = found + 3
        end = _userinfo_end(word, start, last_at)
        if end == -1:
            found = word.find("://", start)
            continue
        parts += [word[done:start], _masked(word[start:end])]
        done = end
        found = word.find("://", end)
    return "".join(parts) + word[done:]


def _userinfo_end(word, start, last_at):
    """The index of the ``@`` that ends the user info starting at ``start``, else -1
    (each search stops at the next ``/``, which every later ``://`` holds)."""
    after_host = _AFTER_HOST.search(word, start)
    host_end = after_host.start() if after_host else len(word)
    at = word.rfind("@", start, host_end)
    if at != -1:
        return at
    if last_at > host_end and word.find(":", start, host_end) != -1:
        return last_at   # user:pass/word@host: the password holds / ? or #
    return -1


def _masked(info):
    """User info with the password (or the lone token) replaced by the mask."""
    user, colon, _ = info.partition(":")
    return f"{user + ':' if colon else ''}{MASK}"


def url(value):
    """One URL with its user info masked."""
    return text(value)


def config_url(value):
    """A configured URL, even one no parser accepts (a password holding a space, ``#``,
    ``?`` or ``/``), masked knowing it is one URL: its user info is all between ``://``
    and its last ``@``."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    info, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{_masked(info)}@{host}" if at else value


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
        """Mask the message; mask the traceback with it (folded into the message) only
        when it quotes credentials, else leave the record as it is."""
        message = record.getMessage()
        if record.exc_info:
            trace = logging.Formatter().formatException(record.exc_info)
            folded = f"{message}\n{trace}"
            masked = text(folded)
            if masked != folded:
                record.msg, record.args = masked, None
                record.exc_info, record.exc_text = None, None
            return True
        masked = text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


def install(logger=None):
    """Add the filter to every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(Filter())
