import datetime
import logging

import pytest

from imgsync import redact
from imgsync.model import record
from imgsync.upstream.drivers import ubuntu
from tests.unit.drivers_util import make_driver


@pytest.mark.parametrize("text,masked", [
    ("https://u:p@h/x", "https://u:***@h/x"),
    ("see http://tok@h:8080/a and ftp://a:b:c@d/", "see http://***@h:8080/a and ftp://a:***@d/"),
    ("redis://:pw@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"),
    ("https://h/no/credentials", "https://h/no/credentials"),
    ("https://u:***@h/already", "https://u:***@h/already"),
])
def test_credentials_in_any_url_are_masked(text, masked):
    assert redact.text(text) == masked


def test_without_credentials():
    assert redact.without_credentials("https://u:p@h:1/x?y") == "https://h:1/x?y"
    assert redact.without_credentials("https://h/x") == "https://h/x"


def test_the_log_filter_masks_every_record(caplog):
    logger = logging.getLogger("test-redact")
    caplog.handler.addFilter(redact.Filter())
    logger.warning("cannot reach %s: %s", "https://u:pw@mirror/x", "ConnectionError(https://u:pw@mirror)")
    assert "pw" not in caplog.text and caplog.text.count("u:***@mirror") == 2


def test_glance_records_the_official_url_and_the_mirror_without_credentials():
    driver = make_driver(ubuntu.Ubuntu2404, "ubuntu-24.04",
                         "https://user:s3cret@mirror.example.org/ubuntu/")
    release = driver.release(
        "x86_64", version="20240423", build_date=datetime.date(2024, 4, 23),
        url="https://user:s3cret@mirror.example.org/ubuntu/releases/noble/a.img",
        checksum_algo="sha256", checksum="a" * 64)
    properties = record.properties(release)
    assert properties["imgsync.url"] == "https://cloud-images.ubuntu.com/releases/noble/a.img"
    assert properties["imgsync.mirror_url"] == (
        "https://mirror.example.org/ubuntu/releases/noble/a.img")
    assert "s3cret" not in repr(properties)


def test_a_password_with_an_at_sign_is_masked_whole():
    assert redact.text("https://user:p@ss@host/x@y") == "https://user:***@host/x@y"
    assert redact.without_credentials("https://user:p@ss@host/x") == "https://host/x"


def test_tracebacks_are_masked_too(caplog):
    caplog.handler.addFilter(redact.Filter())
    try:
        raise RuntimeError("cannot read https://u:topsecret@mirror/x")
    except RuntimeError:
        logging.getLogger("test-redact").exception("driver failed")
    assert "topsecret" not in caplog.text and "u:***@mirror" in caplog.text


def test_a_site_without_an_official_url_stores_no_credentials():
    from imgsync.upstream.drivers import generic
    driver = make_driver(generic.Generic, "generic", "https://user:s3cret@vendor.test/os/",
                         display_name="Vendor", file_regex="x", checksum_url="SUMS")
    release = driver.release("x86_64", version="1", build_date=datetime.date(2024, 1, 1),
                             url="https://user:s3cret@vendor.test/os/x.qcow2",
                             checksum_algo="sha256", checksum="a" * 64)
    assert release.official_url == "https://vendor.test/os/x.qcow2"
    assert release.mirror_url is None
    assert "s3cret" not in repr(record.properties(release))
