import datetime

import pytest

from imgsync import exceptions
from imgsync.upstream.drivers import debian
from tests.unit import drivers_util

BASE = "http://127.0.0.1:8080/debian-cloud/"
SAMPLE_SUM = ("fcc52bdff35697583f9331b64c688db6681fea98c024a1db185d8857b167f4e1"
              "838ead7037f18c12e432229354b1253f29e881a040ce0f5636801576e715b4b8")


def driver(cls=debian.Debian13, name="debian-13", **overrides):
    return drivers_util.make_driver(cls, name, BASE, **overrides)


def sums(*lines, eol="\n"):
    return "".join(f"{digest}  {name}{eol}" for digest, name in lines)


def test_real_daily_listing_and_sums(requests_mock, sample):
    root = BASE + "trixie/daily/"
    requests_mock.get(root, text=sample("debian13/index.html"))
    requests_mock.get(root + "20260717-2542/SHA512SUMS", text=sample("debian13/SHA512SUMS"))
    release, = driver(stream="daily").releases()
    assert release.version == "20260717-2542"
    assert release.build_date == datetime.date(2026, 7, 17)
    assert release.url == (
        root + "20260717-2542/debian-13-genericcloud-amd64-daily-20260717-2542.qcow2")
    assert (release.checksum_algo, release.checksum) == ("sha512", SAMPLE_SUM)
    assert release.disk_format == "qcow2" and (release.min_disk, release.min_ram) == (8, 512)
    assert release.display_name == "Debian 13"
    assert {k: release.metadata[k] for k in ("os_distro", "os_version", "os_admin_user",
                                             "architecture", "hw_disk_bus", "os_type")} == {
        "os_distro": "debian", "os_version": "13", "os_admin_user": "debian",
        "architecture": "x86_64", "hw_disk_bus": "scsi", "os_type": "linux"}


def test_release_stream_newest_first_both_architectures(requests_mock):
    root = BASE + "bookworm/"
    requests_mock.get(root, text=drivers_util.listing(
        "../", "latest/", "daily/", "20241004-1890/", "20250210-2019/", "20250115-2000/"))
    for build in ("20250210-2019", "20250115-2000"):
        requests_mock.get(root + f"{build}/SHA512SUMS", text=sums(
            (build[-1] * 128, f"debian-12-genericcloud-arm64-{build}.qcow2"),
            ("a" * 128, f"debian-12-genericcloud-amd64-{build}.raw"),
            ("b" * 128, f"debian-12-genericcloud-amd64-{build}.qcow2"),
            eol="\r\n"))
    releases = driver(debian.Debian12, "debian-12", versions=2,
                      architectures=["x86_64", "aarch64"]).releases()
    assert [(r.version, r.metadata["architecture"]) for r in releases] == [
        ("20250210-2019", "x86_64"), ("20250210-2019", "aarch64"),
        ("20250115-2000", "x86_64"), ("20250115-2000", "aarch64")]
    arm = next(r for r in releases if r.metadata["architecture"] == "aarch64")
    assert arm.url == root + "20250210-2019/debian-12-genericcloud-arm64-20250210-2019.qcow2"
    assert arm.checksum == "9" * 128 and arm.display_name == "Debian 12 aarch64"
    assert releases[0].checksum_algo == "sha512"


def test_build_missing_the_image_is_skipped(requests_mock):
    root = BASE + "trixie/"
    requests_mock.get(root, text=drivers_util.listing("20250301-2100/", "20250214-2050/"))
    requests_mock.get(root + "20250301-2100/SHA512SUMS",
                      text="\n\n" + sums(("c" * 128,
                                            "debian-13-nocloud-amd64-20250301-2100.qcow2")))
    requests_mock.get(root + "20250214-2050/SHA512SUMS",
                      text=sums(("d" * 128, "debian-13-genericcloud-amd64-20250214-2050.qcow2")))
    release, = driver().releases()
    assert release.version == "20250214-2050" and release.checksum == "d" * 128


def test_testing_follows_forky_daily(requests_mock):
    root = BASE + "forky/daily/"
    requests_mock.get(root, text=drivers_util.listing("20260717-2542/", "latest/"))
    requests_mock.get(root + "20260717-2542/SHA512SUMS", text=sums(
        ("e" * 128, "debian-14-genericcloud-amd64-daily-20260717-2542.qcow2")))
    release, = driver(debian.DebianTesting, "debian-testing").releases()
    assert release.url.endswith("/forky/daily/20260717-2542/"
                                "debian-14-genericcloud-amd64-daily-20260717-2542.qcow2")
    assert release.metadata["os_version"] == "testing"
    assert release.display_name == "Debian testing"


def test_testing_has_no_release_stream():
    with pytest.raises(ValueError):
        driver(debian.DebianTesting, "debian-testing", stream="release")


@pytest.mark.parametrize("body", ["", drivers_util.listing("latest/", "daily/"),
                                  "<html><body><h1>Maintenance</h1></body></html>"])
def test_listing_without_builds_is_a_layout_error(requests_mock, body):
    requests_mock.get(BASE + "trixie/", text=body)
    with pytest.raises(exceptions.LayoutError, match="YYYYMMDD-NNNN"):
        driver().releases()


def test_error_page_as_checksum_file_is_a_layout_error(requests_mock):
    root = BASE + "trixie/"
    requests_mock.get(root, text=drivers_util.listing("20250301-2100/"))
    requests_mock.get(root + "20250301-2100/SHA512SUMS",
                      text="<html><body><h1>404 Not Found</h1></body></html>")
    with pytest.raises(exceptions.LayoutError) as info:
        driver().releases()
    assert root + "20250301-2100/SHA512SUMS" in str(info.value)
    assert "checksum lines" in str(info.value)


def test_two_builds_of_one_day_are_two_versions(requests_mock):
    root = BASE + "trixie/"
    requests_mock.get(root, text=drivers_util.listing("20250301-2100/", "20250301-2101/"))
    for build, digest in (("20250301-2100", "e"), ("20250301-2101", "f")):
        requests_mock.get(root + f"{build}/SHA512SUMS", text=sums(
            (digest * 128, f"debian-13-genericcloud-amd64-{build}.qcow2")))
    releases = driver(versions=2).releases()
    assert [(r.version, r.checksum[0]) for r in releases] == [
        ("20250301-2101", "f"), ("20250301-2100", "e")]
