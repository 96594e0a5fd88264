"""The digest algorithms imgsync knows: their hex lengths, which are weak, and which is the
stronger (as pip's utils/hashes.py keeps STRONG_HASHES). Every other module asks here."""

ALGORITHMS = ("sha512", "sha384", "sha256", "sha224", "sha1", "md5")
"""Strongest first."""
WEAK = frozenset({"md5", "sha1"})
"""Digests that a tampered mirror can forge."""
HEX_LENGTH = {"sha512": 128, "sha384": 96, "sha256": 64, "sha224": 56, "sha1": 40, "md5": 32}
BY_LENGTH = {length: algo for algo, length in HEX_LENGTH.items()}
GLANCE_DEFAULT = "sha512"
"""Glance's ``hashing_algorithm`` unless configured otherwise."""


def strength(algo):
    """A sort key: the stronger the algorithm, the larger (an unknown one is weakest)."""
    return len(ALGORITHMS) - ALGORITHMS.index(algo) if algo in HEX_LENGTH else -1


def strongest_first(algos):
    return sorted(algos, key=strength, reverse=True)
