import datetime

import pytest

from imgsync import exceptions
from imgsync.upstream import checksums
from imgsync.upstream.drivers import flatcar
from tests.unit.drivers_util import listing
from tests.unit.drivers_util import make_driver

BASE = "http://mirror.test/flatcar-stable/"
BOARD = BASE + "amd64-usr/"
IMG = flatcar.IMAGE
MD5, SHA1, SHA512 = "1" * 32, "2" * 40, "e" * 128
VERSION_TXT = ("FLATCAR_BUILD=4230\nFLATCAR_BRANCH=2\nFLATCAR_PATCH=4\n"
               "FLATCAR_VERSION=4230.2.4\nFLATCAR_VERSION_ID=4230.2.4\n"
               'FLATCAR_BUILD_ID="2025-10-13-1912"\nFLATCAR_SDK_VERSION=4230.0.0\n')


def digests(name, sha512=SHA512, order=("MD5", "SHA1", "SHA512"), newline="\n"):
    hexes = {"MD5": MD5, "SHA1": SHA1, "SHA512": sha512}
    return "".join(f"# {algo} HASH{newline}{hexes[algo]}  {name}{newline}" for algo in order)


def driver(**overrides):
    return make_driver(flatcar.FlatcarStable, "flatcar-stable", BASE, **overrides)


def publish(requests_mock, version="4230.2.4", files=(IMG, IMG + ".bz2"), board=BOARD,
            txt=VERSION_TXT):
    requests_mock.get(board + "current/version.txt", text=txt)
    directory = f"{board}{version}/"
    requests_mock.get(directory, text=listing(*files, *(f + ".DIGESTS" for f in files),
                                              "version.txt"))
    for name in files:
        requests_mock.get(directory + name + ".DIGESTS", text=digests(name))


@pytest.mark.parametrize("order", [("MD5", "SHA1", "SHA512"), ("SHA512", "MD5", "SHA1"),
                                   ("SHA1", "SHA512", "MD5")])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_digests_sha512_block_in_any_order(order, newline):
    text = "\n" + digests(IMG, order=order, newline=newline) + "\n\n"
    blocks = checksums.parse_digests(text)
    assert blocks == {"md5": {IMG: MD5}, "sha1": {IMG: SHA1}, "sha512": {IMG: SHA512}}


def test_digests_ignore_lines_of_the_wrong_length_and_unheaded_lines():
    text = f"{SHA512}  stray\n# SHA512 HASH\n{MD5}  {IMG}\n{SHA512}  other.img\n"
    assert checksums.parse_digests(text) == {"sha512": {"other.img": SHA512}}


def test_version_txt():
    expected = ("4230.2.4", datetime.date(2025, 10, 13))
    assert flatcar.parse_version_txt(VERSION_TXT, "u") == expected
    nightly = ('FLATCAR_VERSION_ID=4845.0.0+nightly-20260101-0101\n'
               'FLATCAR_BUILD_ID="nightly-20260101-0101"\n')
    assert flatcar.parse_version_txt(nightly, "u")[1] == datetime.date(2026, 1, 1)


def test_html_page_with_status_200_is_a_layout_error(requests_mock):
    requests_mock.get(BOARD + "current/version.txt", text="<html><h1>Oops</h1></html>")
    with pytest.raises(exceptions.LayoutError, match="FLATCAR_VERSION_ID"):
        driver().releases()


def test_prefers_the_uncompressed_image(requests_mock):
    publish(requests_mock)
    release, = driver().releases()
    assert release.url == f"{BOARD}4230.2.4/{IMG}"
    assert release.compression is None
    assert (release.checksum_algo, release.checksum) == ("sha512", SHA512)
    assert release.version == "4230.2.4"
    assert release.build_date == datetime.date(2025, 10, 13)
    assert release.disk_format == "qcow2"
    assert release.display_name == "Flatcar Stable"
    assert release.metadata["os_distro"] == "flatcar"
    assert release.metadata["os_version"] == "4230.2.4"
    assert release.metadata["os_admin_user"] == "core"
    assert release.metadata["architecture"] == "x86_64"


def test_only_bz2_offered(requests_mock):
    publish(requests_mock, files=(IMG + ".bz2",))
    release, = driver().releases()
    assert release.url.endswith(IMG + ".bz2") and release.compression == "bz2"


def test_configured_for_bz2(requests_mock):
    publish(requests_mock)
    release, = driver(compression="bz2").releases()
    assert release.url.endswith(IMG + ".bz2") and release.compression == "bz2"


def test_configured_for_none_but_only_bz2(requests_mock):
    publish(requests_mock, files=(IMG + ".bz2",))
    with pytest.raises(exceptions.LayoutError, match=IMG):
        driver(compression="none").releases()


def test_digests_without_the_image_entry(requests_mock):
    publish(requests_mock, files=(IMG,))
    requests_mock.get(f"{BOARD}4230.2.4/{IMG}.DIGESTS",
                      text=f"# MD5 HASH\n{MD5}  {IMG}\n# SHA512 HASH\n{SHA512}  other.img\n")
    with pytest.raises(exceptions.LayoutError, match="SHA512 HASH"):
        driver().releases()


def test_several_versions_and_arm64(requests_mock):
    publish(requests_mock)
    requests_mock.get(BOARD, text=listing("current/", "4081.2.0/", "4230.2.4/", "4152.2.3/",
                                          "4300.0.0/"))
    requests_mock.get(BOARD + "4152.2.3/version.txt",
                      text='FLATCAR_VERSION_ID=4152.2.3\nFLATCAR_BUILD_ID="2025-05-01-0101"\n')
    requests_mock.get(BOARD + "4152.2.3/", text=listing(IMG + ".bz2"))
    requests_mock.get(f"{BOARD}4152.2.3/{IMG}.bz2.DIGESTS", text=digests(IMG + ".bz2"))
    arm = BASE + "arm64-usr/"
    publish(requests_mock, board=arm, files=(IMG,))
    requests_mock.get(arm, text=listing("4230.2.4/"))   # arm64 keeps one version only
    releases = driver(versions=2, architectures=["x86_64", "aarch64"]).releases()
    assert [r.version for r in releases] == ["4230.2.4", "4230.2.4", "4152.2.3"]
    amd = [r for r in releases if r.metadata["architecture"] == "x86_64"]
    assert [r.version for r in amd] == ["4230.2.4", "4152.2.3"]
    assert amd[1].compression == "bz2" and amd[1].build_date == datetime.date(2025, 5, 1)
    arm_release = next(r for r in releases if r.metadata["architecture"] == "aarch64")
    assert arm_release.url == f"{arm}4230.2.4/{IMG}"
    assert arm_release.display_name == "Flatcar Stable aarch64"


def test_channels_have_their_own_sites():
    assert flatcar.FlatcarBeta.upstream_url == "https://beta.release.flatcar-linux.net/"
    assert flatcar.FlatcarLts.display_name == "Flatcar LTS"


def test_a_build_id_without_a_date_falls_back_to_last_modified(requests_mock):
    undated = VERSION_TXT.replace('FLATCAR_BUILD_ID="2025-10-13-1912"',
                                  'FLATCAR_BUILD_ID="jenkins-os-release-1234"')
    assert flatcar.parse_version_txt(undated, "u") == ("4230.2.4", None)
    publish(requests_mock, txt=undated)
    requests_mock.head(BOARD + "current/version.txt",
                       headers={"Last-Modified": "Wed, 15 Oct 2025 09:00:00 GMT"})
    release, = driver().releases()
    assert (release.version, release.build_date) == ("4230.2.4", datetime.date(2025, 10, 15))
