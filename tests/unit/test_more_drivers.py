"""Fedora, openSUSE Leap and CirrOS drivers against mocked upstream trees."""

import datetime

import pytest
import requests

from imgsync import exceptions
from imgsync.upstream import checksums
from imgsync.upstream.drivers import cirros
from imgsync.upstream.drivers import fedora
from imgsync.upstream.drivers import opensuse
from tests.unit.drivers_util import LAST_MODIFIED
from tests.unit.drivers_util import listing
from tests.unit.drivers_util import make_driver

BASE = "http://mirror.test/root/"
SHA = "a" * 64
FEDORA_IMG = "Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2"
SIGNED_CHECKSUM = f"""-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Fedora-Cloud-Base-UEFI-UKI-44-1.7.x86_64.qcow2: 123 bytes
SHA256 (Fedora-Cloud-Base-UEFI-UKI-44-1.7.x86_64.qcow2) = {"b" * 64}
# {FEDORA_IMG}: 560660480 bytes
SHA256 ({FEDORA_IMG}) = {SHA}
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEEtvSVBFj2nhFQxsXtyKxJFhBe+UQFAmYAAAAACgkQyKxJFhBe
+UQzUQ/+M9iOx0Kj0b1eFf8LIL3d0y7ZQ2bDA1+deadbeefdeadbeefdeadbeefd
=abcd
-----END PGP SIGNATURE-----
"""


def test_clear_signed_checksum_skips_the_armour():
    assert checksums.parse(SIGNED_CHECKSUM.replace("\n", "\r\n")) == {
        "Fedora-Cloud-Base-UEFI-UKI-44-1.7.x86_64.qcow2": ("sha256", "b" * 64),
        FEDORA_IMG: ("sha256", SHA)}


def fedora_tree(requests_mock, arch="x86_64", number="44"):
    images = f"{BASE}releases/{number}/Cloud/{arch}/images/"
    sums = f"Fedora-Cloud-{number}-1.7-{arch}-CHECKSUM"
    requests_mock.get(images, text=listing(FEDORA_IMG, sums))
    requests_mock.get(images + sums, text=SIGNED_CHECKSUM)
    requests_mock.head(images + FEDORA_IMG, headers=LAST_MODIFIED)
    return images


def test_fedora_newest_release(requests_mock):
    requests_mock.get(BASE + "releases/", text=listing("../", "43/", "44/", "9/", "test/"))
    images = fedora_tree(requests_mock)
    release, = make_driver(fedora.Fedora, "fedora", BASE).releases()
    assert release.version == "44-1.7" and release.url == images + FEDORA_IMG
    assert (release.checksum_algo, release.checksum) == ("sha256", SHA)
    assert release.build_date == datetime.date(2025, 10, 14)
    assert release.metadata["os_version"] == "44"
    assert release.metadata["os_distro"] == "fedora"
    assert release.metadata["os_admin_user"] == "fedora"


def test_fedora_skips_a_release_without_cloud_images(requests_mock):
    requests_mock.get(BASE + "releases/", text=listing("44/", "45/"))
    requests_mock.get(BASE + "releases/45/Cloud/x86_64/images/", status_code=404)
    fedora_tree(requests_mock)
    release, = make_driver(fedora.Fedora, "fedora", BASE).releases()
    assert release.version == "44-1.7"


@pytest.mark.parametrize("failure", [{"status_code": 503},
                                     {"exc": requests.exceptions.ReadTimeout}])
def test_fedora_newest_release_failing_upstream_fails_the_driver(requests_mock, failure):
    requests_mock.get(BASE + "releases/", text=listing("44/", "45/"))
    requests_mock.get(BASE + "releases/45/Cloud/x86_64/images/", **failure)
    fedora_tree(requests_mock)
    with pytest.raises(exceptions.UpstreamError, match="releases/45/Cloud/x86_64/images/"):
        make_driver(fedora.Fedora, "fedora", BASE).releases()


def test_fedora_f40_names():
    match = fedora.image_pattern("40", "x86_64").match(
        "Fedora-Cloud-Base-Generic.x86_64-40-1.14.qcow2")
    assert match and match["c2"] == "1.14"


def test_fedora_html_error_page(requests_mock):
    requests_mock.get(BASE + "releases/", text="<html><body>Mirror maintenance</body></html>")
    with pytest.raises(exceptions.LayoutError, match="release directories"):
        make_driver(fedora.Fedora, "fedora", BASE).releases()


LEAP15 = "openSUSE-Leap-15.6-Minimal-VM.x86_64-15.6.0-Cloud-Build{}.qcow2"
LEAP16 = "Leap-16.0-Minimal-VM.{}-Cloud-Build{}.qcow2"


def test_leap_15_newest_build(requests_mock):
    url = BASE + "15.6/appliances/"
    names = [LEAP15.format(b) for b in ("19.146", "19.99", "20.3")]
    requests_mock.get(url, text=listing(
        "openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2",
        "openSUSE-Leap-15.6-Minimal-VM.x86_64-kvm-and-xen-Build20.9.qcow2",
        *names, *(n + ".sha256" for n in names)))
    newest = LEAP15.format("20.3")
    requests_mock.get(url + newest + ".sha256", text=f"{SHA} {newest}\r\n")
    requests_mock.head(url + newest, headers=LAST_MODIFIED)
    release, = make_driver(opensuse.Leap156, "opensuse-leap-15.6", BASE).releases()
    assert release.version == "20.3" and release.url == url + newest
    assert release.metadata["os_version"] == "15.6"
    assert release.metadata["os_admin_user"] == "opensuse"
    assert release.display_name == "openSUSE Leap 15.6"


def test_leap_sha256_naming_another_file_is_refused(requests_mock):
    """One key signs every build: a .sha256 (signed or not) counts only for the file it
    names, so the alias's digest cannot pass for a build's."""
    url = BASE + "16.0/appliances/"
    name = LEAP16.format("aarch64", "16.2")
    requests_mock.get(url, text=listing(name, LEAP16.format("x86_64", "18.7")))
    requests_mock.get(url + name + ".sha256",
                      text=f"{SHA}  Leap-16.0-Minimal-VM.aarch64-Cloud.qcow2\n")
    requests_mock.head(url + name, headers=LAST_MODIFIED)
    driver = make_driver(opensuse.Leap160, "opensuse-leap-16.0", BASE, architectures=["aarch64"],
                         signature="off")
    with pytest.raises(exceptions.LayoutError, match=f"expected a checksum for {name}, found "
                                                     "Leap-16.0-Minimal-VM.aarch64-Cloud.qcow2"):
        driver.releases()


def test_leap_missing_sha256_entry(requests_mock):
    url = BASE + "16.0/appliances/"
    name = LEAP16.format("x86_64", "18.7")
    requests_mock.get(url, text=listing(name))
    requests_mock.get(url + name + ".sha256", text="<html>not found</html>")
    with pytest.raises(exceptions.LayoutError, match="a checksum for"):
        make_driver(opensuse.Leap160, "opensuse-leap-16.0", BASE).releases()


def test_leap_no_builds(requests_mock):
    requests_mock.get(BASE + "16.0/appliances/",
                      text=listing("Leap-16.0-Minimal-VM.x86_64-Cloud.qcow2"))
    with pytest.raises(exceptions.LayoutError, match="Build"):
        make_driver(opensuse.Leap160, "opensuse-leap-16.0", BASE).releases()


def cirros_version(requests_mock, version, sums_files):
    directory = f"{BASE}{version}/"
    name = f"cirros-{version}-x86_64-disk.img"
    requests_mock.get(directory, text=listing(name, *sums_files))
    requests_mock.get(directory + "MD5SUMS", text=f"{'1' * 32}  {name}\n{'2' * 32}  other\n")
    requests_mock.get(directory + "SHA256SUMS", text=f"{SHA}  {name}\n")
    requests_mock.head(directory + name, headers=LAST_MODIFIED)
    return directory + name


def test_cirros_prefers_the_strongest_sum(requests_mock):
    requests_mock.get(BASE + "version/released", text="0.6.3\n")
    url = cirros_version(requests_mock, "0.6.3", ["MD5SUMS", "SHA256SUMS"])
    release, = make_driver(cirros.Cirros, "cirros", BASE).releases()
    assert (release.url, release.version) == (url, "0.6.3")
    assert (release.checksum_algo, release.checksum) == ("sha256", SHA)
    assert release.metadata["os_distro"] == "cirros"
    assert release.metadata["os_admin_user"] == "cirros"


def test_cirros_md5_only_and_older_versions(requests_mock):
    requests_mock.get(BASE + "version/released", text="0.6.3")
    requests_mock.get(BASE, text=listing("0.5.2/", "0.6.2/", "0.6.3/", "0.7.0/", "version/"))
    cirros_version(requests_mock, "0.6.3", ["MD5SUMS"])
    cirros_version(requests_mock, "0.6.2", ["MD5SUMS"])
    with pytest.raises(exceptions.UpstreamError) as refused:
        make_driver(cirros.Cirros, "cirros", BASE, versions=2).releases()
    assert str(refused.value).startswith(f"{BASE}0.6.3/ (md5 checksum file) publishes only a "
                                         "md5 checksum")
    assert "allow_weak_checksums" in str(refused.value)
    releases = make_driver(cirros.Cirros, "cirros", BASE, versions=2,
                           allow_weak_checksums=True).releases()
    assert [r.version for r in releases] == ["0.6.3", "0.6.2"]
    assert releases[0].checksum_algo == "md5" and releases[0].checksum == "1" * 32


def test_cirros_html_pointer(requests_mock):
    requests_mock.get(BASE + "version/released", text="<html>moved</html>")
    with pytest.raises(exceptions.LayoutError, match="0.6.3"):
        make_driver(cirros.Cirros, "cirros", BASE).releases()
