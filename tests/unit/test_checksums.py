import pytest

from imgsync import exceptions
from imgsync.upstream import checksums

NOBLE_AMD64 = "ffe6203da54deeb6db5d2a98a83f9ec8e55f149d3f7ba622e1abe5fa966ee3d6"


def test_ubuntu_sha256sums_sample(sample):
    sums = checksums.parse(sample("ubuntu2404/SHA256SUMS"))
    assert sums["noble-server-cloudimg-amd64.img"] == ("sha256", NOBLE_AMD64)
    assert len(sums) == 66
    assert all(not name.startswith("*") for name in sums)


def test_debian_sha512sums_sample(sample):
    sums = checksums.parse(sample("debian13/SHA512SUMS"))
    assert sums and all(algo == "sha512" for algo, _ in sums.values())


def test_bsd_style_with_size_comments(sample):
    sums = checksums.parse(sample("centos_stream9/CHECKSUM"))
    name = "CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2"
    assert name in sums and sums[name][0] == "sha256"


def test_text_mode_crlf_blank_lines_and_garbage():
    text = ("\r\n# comment\r\n" + "a" * 64 + "  file one.img\r\n\r\n"
            "not a checksum line\r\n" + "B" * 128 + " *other.qcow2\r\n")
    assert checksums.parse(text) == {
        "file one.img": ("sha256", "a" * 64),
        "other.qcow2": ("sha512", "b" * 128),
    }


def test_bsd_algorithm_must_match_digest_length():
    with pytest.raises(exceptions.LayoutError, match="128 hex digits for a sha512 digest"):
        checksums.parse("SHA512 (x.img) = " + "a" * 64, "https://h/CHECKSUM")
    assert checksums.parse("SHA256 (x.img) = " + "a" * 64) == {"x.img": ("sha256", "a" * 64)}


@pytest.mark.parametrize("name,algo", [("SHA256SUMS", "sha256"), ("SHA512SUMS", "sha512"),
                                       ("MD5SUMS", "md5"), ("sha256sum.txt", "sha256")])
def test_the_file_name_decides_the_algorithm_of_gnu_lines(name, algo):
    length = {"md5": 32, "sha256": 64, "sha512": 128}[algo]
    url = f"https://h/x/{name}"
    assert checksums.parse("a" * length + " *x.img\n", url) == {"x.img": (algo, "a" * length)}
    with pytest.raises(exceptions.LayoutError) as misfit:
        checksums.parse("b" * (96 if length != 96 else 64) + "  x.img\n", url)
    assert url in str(misfit.value) and "x.img" in str(misfit.value)


def test_an_md5_in_a_file_named_sha256sums_is_a_layout_error():
    with pytest.raises(exceptions.LayoutError, match="64 hex digits for a sha256 digest"):
        checksums.parse("c" * 32 + "  ubuntu.img\n", "https://h/SHA256SUMS")


def test_html_error_page_yields_nothing():
    assert checksums.parse("<html><body><h1>Not Found</h1></body></html>") == {}
