import datetime

import pytest

from imgsync import exceptions
from imgsync.upstream.drivers import generic
from tests.unit.drivers_util import LAST_MODIFIED
from tests.unit.drivers_util import listing
from tests.unit.drivers_util import make_driver

BASE = "http://vendor.test/os/"
SHA = "c" * 64


def driver(**overrides):
    settings = {"display_name": "Vendor OS 9", "checksum_url": "SHA256SUMS",
                "file_regex": r"vendor-os-9-(?P<version>\d{8}\.\d+)-{arch}\.qcow2",
                **overrides}
    return make_driver(generic.Generic, "generic", BASE, **settings)


def test_flat_directory_versions_from_file_names(requests_mock):
    names = [f"vendor-os-9-{v}-x86_64.qcow2" for v in ("20240101.0", "20240501.1", "20240501.0")]
    requests_mock.get(BASE, text=listing(*names, "vendor-os-9-20240601.0-aarch64.qcow2",
                                         "SHA256SUMS"))
    requests_mock.get(BASE + "SHA256SUMS",
                      text="".join(f"SHA256 ({n}) = {SHA}\n" for n in names) + "# end\n")
    release, = driver(properties={"os_distro": "rhel"}).releases()
    assert release.version == "20240501.1"
    assert release.url == BASE + names[1]
    assert release.build_date == datetime.date(2024, 5, 1)
    assert release.display_name == "Vendor OS 9" and release.disk_format == "qcow2"
    assert release.metadata["os_distro"] == "rhel" and release.compression is None


def test_build_directories_per_file_sums_xz_and_arch_names(requests_mock):
    requests_mock.get(BASE + "images/", text=listing("v1.2/", "v1.10/", "latest/", "README"))
    name = "disk-arm64.raw.xz"
    requests_mock.get(BASE + "images/v1.10/", text=listing(name, name + ".sha512"))
    requests_mock.get(BASE + f"images/v1.10/{name}.sha512", text="e" * 128 + "\n")
    requests_mock.head(BASE + f"images/v1.10/{name}", headers=LAST_MODIFIED)
    release, = driver(path="images/", build_dir_regex=r"v(?P<version>[\d.]+)/",
                      file_regex=r"disk-{arch}\.raw\.xz", checksum_url="{file}.sha512",
                      checksum_style="single", disk_format="raw",
                      architectures=["aarch64"],
                      architecture_names={"aarch64": "arm64"}).releases()
    assert release.version == "1.10" and release.compression == "xz"
    assert (release.checksum_algo, release.checksum) == ("sha512", "e" * 128)
    assert release.disk_format == "raw"
    assert release.build_date == datetime.date(2025, 10, 14)
    assert release.metadata["architecture"] == "aarch64"


def test_digests_style_uses_the_strongest_block(requests_mock):
    name = "vendor-os-9-20240101.0-x86_64.qcow2"
    requests_mock.get(BASE, text=listing(name))
    requests_mock.get(BASE + "sums.txt",
                      text=f"# SHA512 HASH\n{'e' * 128}  {name}\n# MD5 HASH\n{'1' * 32}  {name}\n")
    release, = driver(checksum_url=BASE + "sums.txt", checksum_style="digests").releases()
    assert release.checksum_algo == "sha512"


def test_nothing_matches(requests_mock):
    requests_mock.get(BASE, text="<html>Error 500</html>")
    with pytest.raises(exceptions.LayoutError, match="vendor-os-9"):
        driver().releases()


def test_missing_required_options():
    with pytest.raises(exceptions.ConfigError, match=r"\[generic\] file_regex, checksum_url"):
        driver(file_regex=None, checksum_url=None)


@pytest.mark.parametrize("opt", ["file_regex", "build_dir_regex", "version_regex"])
def test_a_bad_regex_is_a_configuration_error_naming_the_option(tmp_path, capsys, opt):
    path = tmp_path / "imgsync.conf"
    good = {"file_regex": r"vendor-(?P<version>\d+)\.qcow2"}
    good[opt] = "vendor-(unclosed"
    path.write_text("[DEFAULT]\ndistributions = generic\n[generic]\n"
                    "base_url = http://127.0.0.1:9/\ndisplay_name = Vendor\n"
                    "checksum_url = SHA256SUMS\n"
                    + "".join(f"{k} = {v}\n" for k, v in good.items()))
    from imgsync import cli
    assert cli.main(["--config-file", str(path), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"[generic] {opt}: not a valid regular expression" in err[0]
