import datetime

import pytest

from imgsync import exceptions
from imgsync.upstream.drivers import rocky
from tests.unit import drivers_util

BASE = "http://127.0.0.1:8080/rocky/"
ROOT9 = BASE + "9/images/x86_64/"
DATED = "Rocky-9-GenericCloud-Base-9.7-20251123.2.x86_64.qcow2"
ALIAS = "Rocky-9-GenericCloud-Base.latest.x86_64.qcow2"
SUM = "15d81d3434b298142b2fdd8fb54aef2662684db5c082cc191c3c79762ed6360c"


@pytest.fixture(autouse=True)
def only_per_image_files(requests_mock):
    """The layout tests below use the per-image CHECKSUM files: no combined CHECKSUM."""
    for major in ("8", "9", "10"):
        for arch in ("x86_64", "aarch64"):
            requests_mock.get(f"{BASE}{major}/images/{arch}/CHECKSUM", status_code=404)


def driver(cls=rocky.Rocky9, name="rocky-9", **overrides):
    return drivers_util.make_driver(cls, name, BASE, **overrides)


def per_image(name, digest, eol="\n"):
    return f"# {name}: 648806400 bytes{eol}SHA256 ({name}) = {digest}{eol}"


def test_dated_image_with_the_alias_checksum(requests_mock):
    requests_mock.get(ROOT9, text=drivers_util.listing(
        "../", ALIAS, ALIAS + ".CHECKSUM", DATED, DATED + ".CHECKSUM",
        "Rocky-9-GenericCloud-LVM-9.7-20251123.2.x86_64.qcow2", "CHECKSUM"))
    requests_mock.get(ROOT9 + ALIAS + ".CHECKSUM", text=per_image(ALIAS, SUM, "\r\n"))
    requests_mock.get(ROOT9 + DATED + ".CHECKSUM", text=per_image(DATED, SUM))
    release, = driver().releases()
    assert release.version == "9.7-20251123.2"
    assert release.build_date == datetime.date(2025, 11, 23)
    assert release.url == ROOT9 + DATED
    assert (release.checksum_algo, release.checksum) == ("sha256", SUM)
    assert release.display_name == "Rocky Linux 9"
    assert {k: release.metadata[k] for k in ("os_distro", "os_version", "os_admin_user")} == {
        "os_distro": "rocky", "os_version": "9", "os_admin_user": "rocky"}
    assert (release.min_disk, release.min_ram) == (10, 512)


def test_real_per_image_checksum_naming_another_file(sample):
    """The real per-image file names the other alias: its only checksum is taken."""
    algo, digest = rocky.image_checksum(sample("rocky9/CHECKSUM"), ALIAS, "u")
    assert (algo, digest) == (
        "sha256", "92c206cc6f790c61583247eefe87890f8828420662c17cacf247cec78ab4eec8")


def test_rocky10_without_the_plain_alias_uses_base_latest(requests_mock):
    root = BASE + "10/images/aarch64/"
    dated = ["Rocky-10-GenericCloud-Base-10.1-20251116.0.aarch64.qcow2",
             "Rocky-10-GenericCloud-Base-10.0-20250609.1.aarch64.qcow2"]
    alias = "Rocky-10-GenericCloud-Base.latest.aarch64.qcow2"
    requests_mock.get(root, text="\n".join([*dated, alias, "CHECKSUM"]))   # a plain list
    requests_mock.get(root + alias + ".CHECKSUM", text=per_image(alias, "a" * 64))
    requests_mock.get(root + dated[0] + ".CHECKSUM", text=per_image(dated[0], "a" * 64))
    requests_mock.get(root + dated[1] + ".CHECKSUM", text=per_image(dated[1], "b" * 64))
    releases = driver(rocky.Rocky10, "rocky-10", versions=2,
                      architectures=["aarch64"]).releases()
    assert [r.version for r in releases] == ["10.1-20251116.0", "10.0-20250609.1"]
    assert [r.checksum for r in releases] == ["a" * 64, "b" * 64]


def test_missing_alias_takes_the_newest_dated_image(requests_mock):
    requests_mock.get(ROOT9, text=drivers_util.listing(DATED))
    requests_mock.get(ROOT9 + DATED + ".CHECKSUM", text=per_image(DATED, SUM))
    release, = driver().releases()
    assert release.url == ROOT9 + DATED


def test_error_page_as_checksum_is_a_layout_error(requests_mock):
    requests_mock.get(ROOT9, text=drivers_util.listing(DATED, ALIAS))
    requests_mock.get(ROOT9 + ALIAS + ".CHECKSUM",
                      text="<html><body><h1>Not Found</h1></body></html>")
    with pytest.raises(exceptions.LayoutError, match="a checksum for " + ALIAS):
        driver().releases()


def test_listing_without_dated_images_is_a_layout_error(requests_mock):
    requests_mock.get(ROOT9, text=drivers_util.listing(ALIAS, "CHECKSUM"))
    with pytest.raises(exceptions.LayoutError, match="dated images like") as info:
        driver().releases()
    assert ROOT9 in str(info.value)


def test_required_signature_refuses_the_unsigned_per_image_files(requests_mock):
    requests_mock.get(ROOT9, text=drivers_util.listing(ALIAS, ALIAS + ".CHECKSUM", DATED,
                                                        DATED + ".CHECKSUM"))
    requests_mock.get(ROOT9 + ALIAS + ".CHECKSUM", text=per_image(ALIAS, SUM))
    requests_mock.get(ROOT9 + DATED + ".CHECKSUM", text=per_image(DATED, SUM))
    with pytest.raises(exceptions.SignatureError, match="CHECKSUM is missing or empty"):
        driver(signature="required").releases()


def test_a_mirror_with_only_the_combined_checksum(requests_mock):
    requests_mock.get(ROOT9 + "CHECKSUM", text=per_image(ALIAS, SUM) + per_image(DATED, SUM)
                      + per_image("Rocky-9-GenericCloud-Base-9.6-20250531.0.x86_64.qcow2",
                                  "b" * 64))
    requests_mock.get(ROOT9 + "CHECKSUM.asc", status_code=404)
    requests_mock.get(ROOT9 + "CHECKSUM.sig", status_code=404)
    releases = driver(signature="if-published", versions=2).releases()
    assert [r.version for r in releases] == ["9.7-20251123.2", "9.6-20250531.0"]
    assert releases[0].checksum_url == ROOT9 + "CHECKSUM"
