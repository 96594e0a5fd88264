"""Parsers for the checksum files distributions publish."""

import posixpath
import re

from imgsync import digests
from imgsync import exceptions
from imgsync import redact

# Every parser here is a split, a partition or a regex that cannot backtrack, so a
# hostile document costs time linear in its size.
_HEX = re.compile(r"[0-9a-fA-F]{32,128}")
_ALGO_NAME = re.compile(r"[A-Za-z0-9-]+")

_NAMED = re.compile(r"^(md5|sha1|sha224|sha256|sha384|sha512)sums?(?:\.txt)?$", re.I)


def named_algorithm(url):
    """The algorithm a checksum file's name announces (``SHA256SUMS``), or None."""
    match = _NAMED.match(posixpath.basename(url.partition("?")[0]))
    return match[1].lower() if match else None


def _misfit(url, algo, hexdigest, name):
    return exceptions.LayoutError(
        redact.url(url), f"{digests.HEX_LENGTH[algo]} hex digits for a {algo} digest",
        f"{len(hexdigest)} for {name}")


def _gnu(line):
    """``(hex, name)`` of a GNU coreutils line: ``<hex>  name`` (text) or ``<hex> *name``
    (binary), else None. ``line`` is stripped."""
    hexdigest, space, name = line.partition(" ")
    if not space or not _HEX.fullmatch(hexdigest):
        return None
    if name[:1] in (" ", "*") and name[1:2] and not name[1:2].isspace():
        name = name[1:]   # the mode mark; a "*" before a blank is the name itself
    if not name or name[0].isspace():
        return None
    return hexdigest, name


def _bsd(line):
    """``(algo, hex, name)`` of a BSD (``--tag``) line: ``SHA256 (name) = <hex>``, else None.
    The name runs to the last ``)``, as the digest after it holds none."""
    algo = _ALGO_NAME.match(line)
    if not algo:
        return None
    rest = line[algo.end():]
    rest = rest[1:] if rest.startswith(" (") else rest
    head, paren, tail = rest.rpartition(")")
    if not paren or not head.startswith("(") or len(head) < 2:
        return None
    tail = tail[1:] if tail.startswith(" ") else tail
    if not tail.startswith("="):
        return None
    hexdigest = tail[2:] if tail.startswith("= ") else tail[1:]
    if not _HEX.fullmatch(hexdigest):
        return None
    return algo[0], hexdigest, head[1:]


def parse(text, url=""):
    """Map each file name in a checksum file to ``(algorithm, hexdigest)``.

    Comments, blank lines, PGP armour and lines of other shapes are ignored;
    the algorithm of a GNU-style line is the one the file's name announces
    (``SHA256SUMS``), else told by its length. A digest whose length does not fit
    its algorithm is a LayoutError.
    """
    named = named_algorithm(url)
    sums = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        bsd = _bsd(line)
        if bsd:
            algo, hexdigest, name = bsd
            algo = algo.lower().replace("-", "")
        else:
            gnu = _gnu(line)
            if not gnu:
                continue
            (hexdigest, name), algo = gnu, None
        hexdigest = hexdigest.lower()
        algo = algo or named
        if algo is None:
            algo = digests.BY_LENGTH.get(len(hexdigest))
            if algo is None:
                continue
        elif algo not in digests.HEX_LENGTH:
            continue   # an algorithm imgsync does not know (BLAKE2, ...)
        if len(hexdigest) != digests.HEX_LENGTH[algo]:
            raise _misfit(url, algo, hexdigest, name)
        sums[name] = (algo, hexdigest)
    return sums


def _digests_header(line):
    """The algorithm a ``# SHA512 HASH`` line heads, else None."""
    words = line[1:].split() if line.startswith("#") else ()
    if len(words) == 2 and words[1] == "HASH" and _ALGO_NAME.fullmatch(words[0]):
        return words[0].lower().replace("-", "")
    return None


def parse_digests(text):
    """Map each algorithm of a Flatcar-style ``.DIGESTS`` file to ``{name: hexdigest}``.

    The file is blocks of ``# MD5 HASH``, ``# SHA1 HASH``, ``# SHA512 HASH`` ...
    headers, each followed by ``<hex>  <name>`` lines, in any order. A line is
    kept only when its length fits its block's algorithm.
    """
    blocks = {}
    algo = None
    for line in text.splitlines():
        line = line.strip()
        header = _digests_header(line)
        if header:
            algo = header
            continue
        gnu = _gnu(line)
        if algo and gnu and digests.BY_LENGTH.get(len(gnu[0])) == algo:
            blocks.setdefault(algo, {})[gnu[1]] = gnu[0].lower()
    return blocks
