"""imgsync.digests: the one place that knows the algorithms."""

from imgsync import digests
from imgsync.upstream import checksums
from imgsync.upstream.drivers import cirros


def test_strength_orders_every_algorithm_and_unknown_ones_last():
    assert digests.strongest_first(["md5", "sha256", "blake2", "sha512", "sha1"]) == [
        "sha512", "sha256", "sha1", "md5", "blake2"]
    assert all(length * 4 >= 128 for algo, length in digests.HEX_LENGTH.items()
               if algo not in digests.WEAK)


def test_parsers_and_drivers_ask_the_same_table():
    for algo, length in digests.HEX_LENGTH.items():
        assert checksums.parse(f"{'a' * length}  f\n") == {"f": (algo, "a" * length)}
    assert cirros.SUMS_FILES[0] == "SHA512SUMS" and cirros.SUMS_FILES[-1] == "MD5SUMS"
