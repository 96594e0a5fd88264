import datetime

import pytest
from oslo_config import cfg

from imgsync import conf as imgsync_conf
from imgsync import exceptions
from imgsync.upstream import http as upstream
from imgsync.upstream.drivers import ubuntu

BASE = "http://127.0.0.1:8080/ubuntu-cloud-images/"
SUM = "a" * 64


def listing(*names):
    return "<html><body><pre>" + "".join(f'<a href="{n}">{n}</a>\n' for n in names) + "</pre>"


@pytest.fixture
def driver():
    def make(stream="release", versions=1, properties=None, name="ubuntu-24.04",
             cls=ubuntu.Ubuntu2404, architectures=("x86_64",)):
        conf = cfg.ConfigOpts()
        imgsync_conf.register_opts(conf, {name: cls})
        conf([], default_config_files=[])
        conf.set_override("base_url", BASE.rstrip("/"), group=name)
        conf.set_override("stream", stream, group=name)
        conf.set_override("versions", versions, group=name)
        conf.set_override("architectures", list(architectures), group=name)
        conf.set_override("signature", "off", group=name)   # test_signatures.py has them
        if properties:
            conf.set_override("properties", properties, group=name)
        return cls(name, conf[name], upstream.Upstream(5, 0), {"os_type": "custom", "x": "1"})
    return make


def test_release_stream_newest_first_with_respins(driver, requests_mock):
    root = BASE + "releases/noble/"
    requests_mock.get(root, text=listing("../", "release/", "release-20240423/",
                                         "release-20240423.1/", "release-20231201/"))
    requests_mock.get(root + "release-20240423.1/SHA256SUMS",
                      text=f"{'b' * 64} *ubuntu-24.04-server-cloudimg-arm64.img\n"
                           f"{SUM} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    requests_mock.get(root + "release-20240423/SHA256SUMS",
                      text=f"{'c' * 64} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    releases = driver(versions=2).releases()
    assert [r.version for r in releases] == ["20240423.1", "20240423"]
    newest = releases[0]
    assert newest.url == root + "release-20240423.1/ubuntu-24.04-server-cloudimg-amd64.img"
    assert (newest.checksum_algo, newest.checksum) == ("sha256", SUM)
    assert newest.build_date == datetime.date(2024, 4, 23)
    assert newest.disk_format == "qcow2" and newest.compression is None
    assert (newest.min_disk, newest.min_ram) == (8, 512)
    assert newest.metadata["os_distro"] == "ubuntu"
    assert newest.metadata["os_version"] == "24.04"
    assert newest.metadata["architecture"] == "x86_64"
    assert newest.metadata["os_admin_user"] == "ubuntu"
    assert newest.metadata["os_type"] == "custom"   # [DEFAULT] properties override defaults
    assert newest.display_name == "Ubuntu 24.04"


def test_daily_stream_and_driver_properties(driver, requests_mock):
    root = BASE + "noble/"
    requests_mock.get(root, text=listing("20260705/", "current/", "20260615/"))
    requests_mock.get(root + "20260705/SHA256SUMS",
                      text=f"{SUM} *noble-server-cloudimg-amd64.img\n")
    release, = driver(stream="daily", properties={"x": "2"}).releases()
    assert release.version == "20260705"
    assert release.url == root + "20260705/noble-server-cloudimg-amd64.img"
    assert release.metadata["x"] == "2"   # per-driver properties win over [DEFAULT]


def test_build_without_the_image_is_skipped(driver, requests_mock):
    root = BASE + "releases/noble/"
    requests_mock.get(root, text=listing("release-20240501/", "release-20240423/"))
    requests_mock.get(root + "release-20240501/SHA256SUMS",
                      text=f"{SUM} *ubuntu-24.04-server-cloudimg-arm64.img\n")
    requests_mock.get(root + "release-20240423/SHA256SUMS",
                      text=f"{SUM} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    assert [r.version for r in driver().releases()] == ["20240423"]


def test_changed_layout_is_one_clear_error(driver, requests_mock):
    root = BASE + "releases/noble/"
    requests_mock.get(root, text="<html><h1>Service unavailable</h1></html>")
    with pytest.raises(exceptions.LayoutError) as info:
        driver().releases()
    assert root in str(info.value) and "release-YYYYMMDD" in str(info.value)


def test_http_error_names_the_url(driver, requests_mock):
    requests_mock.get(BASE + "releases/noble/", status_code=404, reason="Not Found")
    with pytest.raises(exceptions.UpstreamError, match="releases/noble/ answered HTTP 404"):
        driver().releases()


@pytest.mark.parametrize("cls,series,codename", [
    (ubuntu.Ubuntu2004, "20.04", "focal"), (ubuntu.Ubuntu2204, "22.04", "jammy")])
def test_each_lts(driver, requests_mock, cls, series, codename):
    root = BASE + f"releases/{codename}/"
    requests_mock.get(root, text=listing("release-20240101/"))
    requests_mock.get(root + "release-20240101/SHA256SUMS",
                      text=f"{SUM} *ubuntu-{series}-server-cloudimg-amd64.img\n")
    release, = driver(name=f"ubuntu-{series}", cls=cls).releases()
    assert release.metadata["os_version"] == series and release.distro == f"ubuntu-{series}"


def test_both_architectures(driver, requests_mock):
    root = BASE + "releases/noble/"
    requests_mock.get(root, text=listing("release-20240423/"))
    requests_mock.get(root + "release-20240423/SHA256SUMS",
                      text=f"{'b' * 64} *ubuntu-24.04-server-cloudimg-arm64.img\n"
                           f"{SUM} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    releases = driver(architectures=("x86_64", "aarch64")).releases()
    by_arch = {r.metadata["architecture"]: r for r in releases}
    assert by_arch["aarch64"].url.endswith("ubuntu-24.04-server-cloudimg-arm64.img")
    assert by_arch["aarch64"].checksum == "b" * 64
    assert by_arch["aarch64"].display_name == "Ubuntu 24.04 aarch64"
    assert by_arch["x86_64"].display_name == "Ubuntu 24.04"


def test_resolute(driver, requests_mock):
    root = BASE + "releases/resolute/"
    requests_mock.get(root, text=listing("release/", "release-20260423/"))
    requests_mock.get(root + "release-20260423/SHA256SUMS",
                      text=f"{SUM} *ubuntu-26.04-server-cloudimg-amd64.img\r\n")
    release, = driver(name="ubuntu-26.04", cls=ubuntu.Ubuntu2604).releases()
    assert release.version == "20260423" and release.metadata["os_version"] == "26.04"


def test_minimal_release_stream(driver, requests_mock):
    root = BASE + "minimal/releases/noble/"
    requests_mock.get(root, text=listing("release/", "release-20260105/", "release-20260716/"))
    requests_mock.get(root + "release-20260716/SHA256SUMS",
                      text=f"{'b' * 64} *ubuntu-24.04-server-cloudimg-amd64.img\n"
                           f"{SUM} *ubuntu-24.04-minimal-cloudimg-amd64.img\n")
    release, = driver(name="ubuntu-24.04-minimal", cls=ubuntu.Ubuntu2404Minimal).releases()
    assert release.url == root + "release-20260716/ubuntu-24.04-minimal-cloudimg-amd64.img"
    assert release.checksum == SUM and release.version == "20260716"
    assert release.display_name == "Ubuntu 24.04 Minimal"
    assert release.metadata["os_purpose"] == "minimal"
    assert release.metadata["os_admin_user"] == "ubuntu"


def test_minimal_daily_stream(driver, requests_mock):
    root = BASE + "minimal/daily/jammy/"
    requests_mock.get(root, text=listing("current/", "20260701/"))
    requests_mock.get(root + "20260701/SHA256SUMS",
                      text=f"{SUM} *jammy-minimal-cloudimg-amd64.img\n")
    release, = driver(stream="daily", name="ubuntu-22.04-minimal",
                      cls=ubuntu.Ubuntu2204Minimal).releases()
    assert release.url == root + "20260701/jammy-minimal-cloudimg-amd64.img"


def test_minimal_arm64_missing_fails_only_when_configured(driver, requests_mock):
    root = BASE + "minimal/releases/focal/"
    requests_mock.get(root, text=listing("release-20250101/"))
    requests_mock.get(root + "release-20250101/SHA256SUMS",
                      text=f"{SUM} *ubuntu-20.04-minimal-cloudimg-amd64.img\n")
    make = dict(name="ubuntu-20.04-minimal", cls=ubuntu.Ubuntu2004Minimal)
    assert len(driver(**make).releases()) == 1
    with pytest.raises(exceptions.LayoutError, match="minimal-cloudimg-arm64.img"):
        driver(architectures=("x86_64", "aarch64"), **make).releases()


def test_real_daily_listing_and_sums(driver, requests_mock, sample):
    root = BASE + "noble/"
    requests_mock.get(root, text=sample("ubuntu2404/index.html"))
    requests_mock.get(root + "20260705/SHA256SUMS", text=sample("ubuntu2404/SHA256SUMS"))
    release, = driver(stream="daily").releases()
    assert release.version == "20260705"
    assert release.url == root + "20260705/noble-server-cloudimg-amd64.img"
    assert release.checksum == (
        "ffe6203da54deeb6db5d2a98a83f9ec8e55f149d3f7ba622e1abe5fa966ee3d6")


def test_newest_build_with_an_unparseable_checksum_file_fails(driver, requests_mock):
    root = BASE + "releases/noble/"
    requests_mock.get(root, text=listing("release-20240501/", "release-20240423/"))
    requests_mock.get(root + "release-20240501/SHA256SUMS", text="<html>Oops</html>")
    requests_mock.get(root + "release-20240423/SHA256SUMS",
                      text=f"{SUM} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    with pytest.raises(exceptions.LayoutError, match="release-20240501/SHA256SUMS"):
        driver().releases()


def test_newest_build_without_a_checksum_file_is_skipped(driver, requests_mock, caplog):
    root = BASE + "releases/noble/"
    requests_mock.get(root, text=listing("release-20240501/", "release-20240423/"))
    requests_mock.get(root + "release-20240501/SHA256SUMS", status_code=404)
    requests_mock.get(root + "release-20240423/SHA256SUMS",
                      text=f"{SUM} *ubuntu-24.04-server-cloudimg-amd64.img\n")
    assert [r.version for r in driver().releases()] == ["20240423"]
    assert "skipping build 20240501" in caplog.text and "404" in caplog.text
