"""Entries of an upstream directory listing (Apache, nginx, lighttpd or a plain list)."""

import html.parser
import re
import urllib.parse

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0, DEL and C1: a name holding one could rewrite a terminal's or a log's lines."""


class _LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def _entry(href):
    """The entry name a link points at, or None for links that leave the directory or
    names holding control characters."""
    parts = urllib.parse.urlsplit(href)
    if parts.scheme or parts.netloc or parts.query and not parts.path:
        return None
    path = urllib.parse.unquote(parts.path)
    if _CONTROL.search(path):
        return None
    if path.startswith("./"):
        path = path[2:]
    if not path or path.startswith(("/", "../")) or path in (".", ".."):
        return None
    name = path.rstrip("/")
    if "/" in name:
        return None
    return name + ("/" if path.endswith("/") else "")


def parse_entries(text):
    """Return the names a listing links to, directories with a trailing slash, in order
    (each once; linear in the number of links)."""
    parser = _LinkParser()
    parser.feed(text)
    parser.close()
    hrefs = parser.hrefs if parser.hrefs else text.split()
    return list(dict.fromkeys(name for name in map(_entry, hrefs) if name))
