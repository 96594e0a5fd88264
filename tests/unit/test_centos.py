import datetime

import pytest

from imgsync import exceptions
from imgsync.upstream.drivers import centos
from tests.unit import drivers_util

BASE = "http://127.0.0.1:8080/centos/"
ROOT9 = BASE + "9-stream/x86_64/images/"


def driver(cls=centos.CentOSStream9, name="centos-stream-9", **overrides):
    return drivers_util.make_driver(cls, name, BASE, **overrides)


def test_real_checksum_file_highest_compose(requests_mock, sample):
    requests_mock.get(ROOT9 + "CHECKSUM", text=sample("centos_stream9/CHECKSUM"))
    releases = driver(versions=2).releases()
    assert [r.version for r in releases][0] == "20260714.1"
    newest = releases[0]
    assert newest.url == ROOT9 + "CentOS-Stream-GenericCloud-9-20260714.1.x86_64.qcow2"
    assert newest.checksum == "2aa1716dc75fc5485df1b221d3d930f276024d70024f68f9ee047dad0e03d85d"
    assert newest.checksum_algo == "sha256"
    assert newest.build_date == datetime.date(2026, 7, 14)   # not Last-Modified's 20260715
    assert releases[1].version < newest.version
    assert "GenericCloud-x86_64-" not in releases[1].url   # the UEFI-only image is not taken
    assert newest.display_name == "CentOS Stream 9"
    assert {k: newest.metadata[k] for k in ("os_distro", "os_version", "os_admin_user")} == {
        "os_distro": "centos", "os_version": "9", "os_admin_user": "cloud-user"}


def test_compose_ids_sort_naturally(requests_mock):
    root = BASE + "10-stream/aarch64/images/"
    lines = ["20241118.0", "20250101.10", "20250101.9"]
    requests_mock.get(root + "CHECKSUM", text="\r\n".join(
        f"# CentOS-Stream-GenericCloud-10-{c}.aarch64.qcow2: 1 bytes\r\n"
        f"SHA256 (CentOS-Stream-GenericCloud-10-{c}.aarch64.qcow2) = {str(i) * 64}"
        for i, c in enumerate(lines)))
    releases = driver(centos.CentOSStream10, "centos-stream-10", versions=3,
                      architectures=["aarch64"]).releases()
    assert [r.version for r in releases] == ["20250101.10", "20250101.9", "20241118.0"]
    assert releases[0].checksum == "1" * 64


@pytest.mark.parametrize("text", ["", "<html><body>Service unavailable</body></html>",
                                  "SHA256 (CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2) = "
                                  + "a" * 64])
def test_no_compose_is_a_layout_error(requests_mock, text):
    requests_mock.get(ROOT9 + "CHECKSUM", text=text)
    with pytest.raises(exceptions.LayoutError, match="composes like") as info:
        driver().releases()
    assert ROOT9 + "CHECKSUM" in str(info.value)
