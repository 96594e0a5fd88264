"""Parsers for the checksum files distributions publish."""

import posixpath
import re

from imgsync import exceptions
from imgsync import redact

# GNU coreutils: "<hex> *name" (binary) or "<hex>  name" (text).
_GNU = re.compile(r"^(?P<hex>[0-9a-fA-F]{32,128}) [ *]?(?P<name>\S.*?)\s*$")
# BSD / "--tag" style: "SHA256 (name) = <hex>".
_BSD = re.compile(
    r"^(?P<algo>[A-Za-z0-9-]+) ?\((?P<name>.+)\) ?= ?(?P<hex>[0-9a-fA-F]{32,128})\s*$")

_ALGO_BY_LENGTH = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
_LENGTH_BY_ALGO = {algo: length for length, algo in _ALGO_BY_LENGTH.items()}
_NAMED = re.compile(r"^(md5|sha1|sha224|sha256|sha384|sha512)sums?(?:\.txt)?$", re.I)


def named_algorithm(url):
    """The algorithm a checksum file's name announces (``SHA256SUMS``), or None."""
    match = _NAMED.match(posixpath.basename(url.partition("?")[0]))
    return match[1].lower() if match else None


def _misfit(url, algo, hexdigest, name):
    return exceptions.LayoutError(
        redact.url(url), f"{_LENGTH_BY_ALGO[algo]} hex digits for a {algo} digest",
        f"{len(hexdigest)} for {name}")


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
        match = _BSD.match(line)
        if match:
            algo = match["algo"].lower().replace("-", "")
        else:
            match = _GNU.match(line)
            if not match:
                continue
            algo = None
        hexdigest = match["hex"].lower()
        algo = algo or named
        if algo is None:
            algo = _ALGO_BY_LENGTH.get(len(hexdigest))
            if algo is None:
                continue
        elif algo not in _LENGTH_BY_ALGO:
            continue   # an algorithm imgsync does not know (BLAKE2, ...)
        if len(hexdigest) != _LENGTH_BY_ALGO[algo]:
            raise _misfit(url, algo, hexdigest, match["name"])
        sums[match["name"]] = (algo, hexdigest)
    return sums


_DIGESTS_HEADER = re.compile(r"^#\s*(?P<algo>[A-Za-z0-9-]+)\s+HASH\s*$")


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
        header = _DIGESTS_HEADER.match(line)
        if header:
            algo = header["algo"].lower().replace("-", "")
            continue
        match = _GNU.match(line)
        if algo and match and _ALGO_BY_LENGTH.get(len(match["hex"])) == algo:
            blocks.setdefault(algo, {})[match["name"]] = match["hex"].lower()
    return blocks
