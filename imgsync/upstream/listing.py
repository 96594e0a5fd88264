"""Entries of an upstream directory listing (Apache, nginx, lighttpd or a plain list)."""

import html
import re
import urllib.parse

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0, DEL and C1: a name holding one could rewrite a terminal's or a log's lines."""

# A start tag's name and attributes up to its ">" (a quoted value may hold one), never
# across a "<": each "<" is looked at once and a match ends before the next, so the scan
# is linear (name, separator, unquoted and quoted runs are disjoint: no backtracking).
_TAG = re.compile(r"""([A-Za-z][^\s/<>"']*)"""
                  r"""((?:[\s/][^<>"']*(?:(?:"[^<"]*"|'[^<']*')[^<>"']*)*)?)>""")
_ATTR = re.compile(r"""([^\s/>"'=][^\s/>=]*)(?:\s*=+\s*("[^"]*"|'[^']*'|[^\s>"'][^\s>]*))?""")
_COMMENT_END = re.compile(r"--\s*>")
_RAW_TEXT_END = {name: re.compile(rf"</\s*{name}\s*>", re.I) for name in ("script", "style")}


def _hrefs(text):
    """The ``href`` of each ``<a>`` start tag outside comments, scripts and styles, with
    character references resolved: what an HTML parser finds in a listing, in one pass."""
    hrefs, pos = [], 0
    while (start := text.find("<", pos)) >= 0:
        pos = start + 1
        if text.startswith("!--", pos):
            end = _COMMENT_END.search(text, pos + 3)
            if not end:
                break
            pos = end.end()
            continue
        if text.startswith(("!", "?", "/"), pos):   # declaration, instruction, end tag
            end = text.find(">", pos)
            if end < 0:
                break
            pos = end + 1
            continue
        tag = _TAG.match(text, pos)
        if not tag:
            continue
        pos, name = tag.end(), tag[1].lower()
        if name == "a":
            hrefs += [html.unescape(value[1:-1] if value[:1] in ("'", '"') else value)
                      for attr, value in _ATTR.findall(tag[2]) if attr.lower() == "href"]
        elif name in _RAW_TEXT_END and not tag[2].rstrip().endswith("/"):
            end = _RAW_TEXT_END[name].search(text, pos)
            if not end:
                break
            pos = end.end()
    return [href for href in hrefs if href]


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
    (each once; linear in the listing's size, each distinct link looked at once)."""
    hrefs = dict.fromkeys(_hrefs(text) or text.split())
    return list(dict.fromkeys(name for name in map(_entry, hrefs) if name))
