import datetime

import pytest

from imgsync import exceptions
from imgsync.upstream.drivers import almalinux
from tests.unit import drivers_util

BASE = "http://127.0.0.1:8080/almalinux/"
ROOT9 = BASE + "9/cloud/x86_64/images/"
SAMPLE_SUM = "c397eed7023e92c841155831b1f47e26300e5bef0f0256c129322307c897a251"


def driver(cls=almalinux.AlmaLinux9, name="almalinux-9", **overrides):
    return drivers_util.make_driver(cls, name, BASE, **overrides)


def test_real_checksum_file(requests_mock, sample):
    requests_mock.get(ROOT9 + "CHECKSUM", text=sample("almalinux9/CHECKSUM"))
    release, = driver().releases()
    assert release.version == "9.8-20260526"
    assert release.build_date == datetime.date(2026, 5, 26)
    assert release.url == ROOT9 + "AlmaLinux-9-GenericCloud-9.8-20260526.x86_64.qcow2"
    assert (release.checksum_algo, release.checksum) == ("sha256", SAMPLE_SUM)
    assert (release.min_disk, release.min_ram) == (10, 512)
    assert release.display_name == "AlmaLinux 9"
    assert {k: release.metadata[k] for k in ("os_distro", "os_version", "os_admin_user",
                                             "architecture", "hw_scsi_model")} == {
        "os_distro": "almalinux", "os_version": "9", "os_admin_user": "almalinux",
        "architecture": "x86_64", "hw_scsi_model": "virtio-scsi"}


def test_alias_decides_not_the_newest_dated_file(requests_mock):
    """A dated file newer than -latest (still being published) is not taken yet."""
    root = BASE + "10/cloud/aarch64/images/"
    requests_mock.get(root + "CHECKSUM", text=(
        f"{'1' * 64}  AlmaLinux-10-GenericCloud-10.2-20260817.0.aarch64.qcow2\r\n"
        f"{'2' * 64}  AlmaLinux-10-GenericCloud-10.2-20260526.0.aarch64.qcow2\r\n"
        "\r\n"
        f"{'3' * 64}  AlmaLinux-10-GenericCloud-10.1-20251125.0.aarch64.qcow2\r\n"
        f"{'2' * 64}  AlmaLinux-10-GenericCloud-ext4-latest.aarch64.qcow2\r\n"
        f"{'2' * 64}  AlmaLinux-10-GenericCloud-latest.aarch64.qcow2\r\n"))
    releases = driver(almalinux.AlmaLinux10, "almalinux-10", versions=2,
                      architectures=["aarch64"]).releases()
    assert [r.version for r in releases] == ["10.2-20260526.0", "10.1-20251125.0"]
    assert releases[0].url == root + "AlmaLinux-10-GenericCloud-10.2-20260526.0.aarch64.qcow2"
    assert releases[0].display_name == "AlmaLinux 10 aarch64"


def test_alias_matching_no_dated_file_is_a_layout_error(requests_mock):
    requests_mock.get(ROOT9 + "CHECKSUM", text=(
        f"{'1' * 64}  AlmaLinux-9-GenericCloud-9.8-20260526.x86_64.qcow2\n"
        f"{'2' * 64}  AlmaLinux-9-GenericCloud-latest.x86_64.qcow2\n"))
    with pytest.raises(exceptions.LayoutError, match="checksum of AlmaLinux-9-GenericCloud-latest"):
        driver().releases()


@pytest.mark.parametrize("text,expected", [
    (f"{'1' * 64}  AlmaLinux-9-GenericCloud-9.8-20260526.x86_64.qcow2\n",
     "a checksum for AlmaLinux-9-GenericCloud-latest.x86_64.qcow2"),
    (f"{'1' * 64}  AlmaLinux-9-GenericCloud-latest.x86_64.qcow2\n", "dated images"),
    (drivers_util.listing("CHECKSUM", "CHECKSUM.asc"), "no checksum lines"),
])
def test_missing_entries_and_error_page(requests_mock, text, expected):
    requests_mock.get(ROOT9 + "CHECKSUM", text=text)
    with pytest.raises(exceptions.LayoutError, match=expected) as info:
        driver().releases()
    assert ROOT9 + "CHECKSUM" in str(info.value)
