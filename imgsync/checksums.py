"""Parsers for the checksum files distributions publish."""

import re

# GNU coreutils: "<hex> *name" (binary) or "<hex>  name" (text).
_GNU = re.compile(r"^(?P<hex>[0-9a-fA-F]{32,128}) [ *]?(?P<name>\S.*?)\s*$")
# BSD / "--tag" style: "SHA256 (name) = <hex>".
_BSD = re.compile(
    r"^(?P<algo>[A-Za-z0-9-]+) ?\((?P<name>.+)\) ?= ?(?P<hex>[0-9a-fA-F]{32,128})\s*$")

_ALGO_BY_LENGTH = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}


def parse(text):
    """Map each file name in a checksum file to ``(algorithm, hexdigest)``.

    Comments, blank lines, PGP armour and lines of other shapes are ignored;
    the algorithm of a GNU-style line is told by its length.
    """
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
        expected_algo = _ALGO_BY_LENGTH.get(len(hexdigest))
        if expected_algo is None or algo not in (None, expected_algo):
            continue
        sums[match["name"]] = (expected_algo, hexdigest)
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
