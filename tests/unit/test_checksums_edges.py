"""Tests that kill the surviving mutmut mutants of imgsync/upstream/checksums.py."""

from imgsync.upstream import checksums

A64, B64, A128 = "a" * 64, "b" * 64, "a" * 128


def test_a_query_string_does_not_hide_the_file_name():
    # kills x_named_algorithm mutmut_6 (partition("XX?XX"))
    assert checksums.named_algorithm("https://h/x/SHA256SUMS?raw=1") == "sha256"


def test_bsd_algorithm_names_with_a_dash():
    # kills x_parse mutmut_21/22 (replace("-", "") mutated)
    assert checksums.parse(f"SHA-256 (x.img) = {A64}\n") == {"x.img": ("sha256", A64)}


def test_a_line_of_unknown_length_does_not_end_the_file():
    # kills x_parse mutmut_38 (continue -> break)
    text = "c" * 48 + "  odd.img\n" + A64 + "  x.img\n"
    assert checksums.parse(text) == {"x.img": ("sha256", A64)}


def test_an_unknown_algorithm_does_not_end_the_file():
    # kills x_parse mutmut_40 (continue -> break)
    text = f"BLAKE2b (x.img) = {A128}\nSHA256 (x.img) = {A64}\n"
    assert checksums.parse(text) == {"x.img": ("sha256", A64)}


def test_digests_headers_with_a_dash():
    # kills x_parse_digests mutmut_14/15
    text = f"# SHA-512 HASH\n{A128}  x.img\n# SHA-256 HASH\n{B64}  x.img\n"
    assert checksums.parse_digests(text) == {"sha512": {"x.img": A128}, "sha256": {"x.img": B64}}
