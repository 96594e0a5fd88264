"""Versions read upstream name images and show in logs and tables: control characters
and ANSI escapes never get that far."""

import datetime

import pytest

from imgsync import cli
from imgsync import exceptions
from imgsync.upstream import listing
from imgsync.upstream.drivers import generic
from tests.unit.drivers_util import make_driver

BASE = "http://127.0.0.1:9/os/"
SHA = "c" * 64
BAD = ["2024\x1b[31m0101", "2024\n0101", "1\r2", "1\x00", "1\x7f", "1\x9b31m", "1 2",
       "-1", ".1", "1/2", "a" * 129]


def driver(**overrides):
    settings = {"display_name": "Vendor", "checksum_url": "SHA256SUMS",
                "file_regex": r"vendor-(?P<version>[^-]+)-{arch}\.qcow2", **overrides}
    return make_driver(generic.Generic, "generic", BASE, **settings)


def release(version):
    return driver().release("x86_64", version=version, build_date=datetime.date(2024, 1, 1),
                            url=f"{BASE}vendor-{version}-x86_64.qcow2",
                            checksum_algo="sha256", checksum=SHA)


@pytest.mark.parametrize("version", [
    "20260705-2167", "20240423.1", "44-1.7", "4230.2.4", "9.7-20251123.2",
    "10.2-20260526.0", "19.146", "0.6.3", "1.0+git~rc1_2", "a" * 128])
def test_the_real_drivers_versions_are_valid(version):
    assert release(version).version == version


@pytest.mark.parametrize("version", BAD)
def test_an_invalid_version_is_a_layout_error_showing_it_escaped(version):
    with pytest.raises(exceptions.LayoutError) as info:
        release(version)
    message = str(info.value)
    assert message.isprintable() and f"found {ascii(version)}" in message
    assert f"{BASE}vendor-{ascii(version)[1:-1]}-x86_64.qcow2" in message


def test_a_template_without_a_version_stays_possible():
    """catalog.glance_entries builds its template release with version ''."""
    assert driver().release("x86_64", version="", build_date=None, url="",
                            checksum_algo="", checksum="").version == ""


@pytest.mark.parametrize("version", ["2024\x1b[31m0101", "2024\n0101", "1 2"])
def test_a_generic_version_is_checked_before_it_is_used(requests_mock, monkeypatch, version):
    """Even a name that reached the driver (not through listing) fails before its
    version goes into the checksum URL."""
    site = driver(checksum_url="sums-{version}.txt")
    monkeypatch.setattr(site.upstream, "entries",
                        lambda url: [f"vendor-{version}-x86_64.qcow2"])
    with pytest.raises(exceptions.LayoutError) as info:
        site.releases()
    assert str(info.value).isprintable() and ascii(version) in str(info.value)
    assert requests_mock.request_history == []


@pytest.mark.parametrize("name", ["vendor-2024%1B[31m0101-x86_64.qcow2",
                                  "vendor-2024%0A0101-x86_64.qcow2",
                                  "vendor-2024%C2%9B0101-x86_64.qcow2"])
def test_a_generic_site_with_control_characters_in_a_name_fails_on_one_line(
        tmp_path, capsys, requests_mock, name):
    requests_mock.get(BASE, text=f'<a href="{name}">x</a>')
    path = tmp_path / "imgsync.conf"
    path.write_text(f"[DEFAULT]\ndistributions = generic\n[generic]\nbase_url = {BASE}\n"
                    "display_name = Vendor\nfile_regex = vendor-(?P<version>[^-]+)-{arch}\\.qcow2\n"
                    "checksum_url = SHA256SUMS\n")
    assert cli.main(["--config-file", str(path), "check"]) == 1
    out, err = capsys.readouterr()
    header, row = out.splitlines()
    assert row.startswith("generic") and "FAILED: unexpected upstream layout" in row
    assert out.isascii() and row.isprintable()
    assert "\x1b" not in err and "\x9b" not in err and "0101" not in out + err


def test_listing_entries_with_control_characters_are_dropped():
    text = "".join(f'<a href="{href}">x</a>' for href in (
        "ok-1.qcow2", "a%1Bb.qcow2", "a%1B[31mb/", "a%0Ab", "a%0Db", "a%00b", "a%7Fb",
        "a%C2%85b", "a%C2%9Bb", "caf%C3%A9.qcow2", "tab%09.qcow2"))
    assert listing.parse_entries(text) == ["ok-1.qcow2", "café.qcow2"]
    assert listing.parse_entries("ok\x1b[31m.img ok.img a\x9bx") == ["ok.img"]
