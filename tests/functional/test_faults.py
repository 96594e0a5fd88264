"""Misbehaving upstream mirrors and a misbehaving Glance, as operators meet them.

For every fault: the exit status, one clear error line naming the thing, nothing
usable from the bad build, bounded time and peak memory (measured, and printed at the
end of the run), then a recovery run that publishes exactly one good image and leaves
no debris.
"""

import re

import pytest

from tests.functional import checks
from tests.functional import glance_proxy
from tests.functional import mirror as mirror_mod
from tests.functional.conftest import FAULT_REPORT

UBUNTU = "ubuntu-24.04"
SUMS = "release-20240423/SHA256SUMS"
IMAGE = "ubuntu-24.04-server-cloudimg-amd64.img"
LIMITS = ("[DEFAULT]\nhttp_timeout = 3\nhttp_retries = 1\ndocument_timeout = 5\n"
          "max_document_size = 1\nmin_download_rate = 64\n")
MAX_SECONDS = 60
MAX_RSS_MIB = 100


def huge_listing():
    links = "".join(f'<a href="release-2000{i:05d}x/">x</a>\n' for i in range(50000))
    return (links + '<a href="release-20240423/">release-20240423/</a>\n').encode()


MIRROR_FAULTS = {
    "truncated image": ({"truncate": True}, None, "was truncated"),
    "flipped byte in the image": ({}, (IMAGE, {"flip": 200000}), "checksum mismatch"),
    "image longer than announced": ({}, (IMAGE, {"length": 1 << 20}), "checksum mismatch"),
    "image shorter than announced": ({}, (IMAGE, {"length": 3 << 20}), "truncated"),
    "image drips": ({}, (IMAGE, {"drip": 0.2}), "is too slow"),
    "image stalls": ({}, (IMAGE, {"stall": True}), "timed out"),
    "checksum file drips": ({}, (SUMS, {"drip": 0.5}), "took longer than 5 s"),
    "503 with Retry-After: 3600": ({}, (SUMS, {"status": 503, "headers": {"Retry-After": "3600"}}),
                                   "answered HTTP 503"),
    "HTML page with 200 as checksum file": ({}, (SUMS, {"body": b"<html><h1>Oops</h1></html>"}),
                                            "bad signature"),
    "2 MiB checksum file": ({}, (SUMS, {"body": b"0" * (2 << 20)}), "larger than 1048576"),
    "endless checksum file": ({}, (SUMS, {"endless": True, "body": b"ab" * 32768}),
                              "larger than 1048576"),
    "gzip Content-Encoding": ({}, (SUMS, {"gzip": True}), "Content-Encoding gzip"),
}


def fault_case(name, result):
    FAULT_REPORT.append((name, result.returncode, result.seconds, result.max_rss_mib))
    assert result.seconds < MAX_SECONDS, (name, result.seconds)
    assert result.max_rss_mib < MAX_RSS_MIB, (name, result.max_rss_mib)


def one_error(result, *fragments):
    """Exactly one ERROR line, naming each fragment, and no traceback."""
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert "Traceback" not in result.stderr
    return errors[0]


def recovers(imgsync, config, glance, mirror, path):
    """With the fault gone, one run publishes exactly one good image and no debris."""
    mirror.set_faults()
    result = imgsync("--config-file", config, "sync")
    assert result.returncode == 0, result.stderr
    image, = glance.images()
    checks.stored_as_published(image, f"Ubuntu 24.04 ({image['imgsync.version']})", path)


@pytest.mark.parametrize("case", sorted(MIRROR_FAULTS))
def test_mirror_fault(case, glance, mirror, write_config, imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    global_faults, path_fault, fragment = MIRROR_FAULTS[case]
    mirror.set_faults(**global_faults)
    if path_fault:
        mirror.fault(*path_fault[:1], **path_fault[1])
    config = write_config([UBUNTU], extra=LIMITS)
    result = imgsync("--config-file", config, "sync")
    fault_case(case, result)
    assert result.returncode == 1, result.stdout + result.stderr
    one_error(result, UBUNTU, fragment, mirror.url)
    assert glance.images() == []
    recovers(imgsync, config, glance, mirror, path)


def test_a_listing_of_50000_entries(glance, mirror, write_config, imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    mirror.fault("releases/noble/", body=huge_listing())
    extra = LIMITS.replace("max_document_size = 1", "max_document_size = 8")
    result = imgsync("--config-file", write_config([UBUNTU], extra=extra), "sync")
    fault_case("listing of 50,000 entries (2.3 MB)", result)
    assert result.returncode == 0, result.stderr
    image, = glance.images()
    checks.stored_as_published(image, "Ubuntu 24.04 (20240423)", path)


def test_private_ca_and_https_to_http_redirects(glance, write_config, imgsync, tmp_path):
    ca, tls = mirror_mod.private_ca(tmp_path / "tls")
    with mirror_mod.Mirror(tmp_path / "tls-mirror", tls=tls) as https, \
            mirror_mod.Mirror(tmp_path / "tls-mirror") as http:
        path = mirror_mod.add_ubuntu_build(https.root / "ubuntu", "24.04", "20240423")
        config = write_config([UBUNTU], extra=LIMITS)
        config.write_text(re.sub(r"base_url = .*", f"base_url = {https.url}ubuntu/",
                                 config.read_text()))
        untrusted = imgsync("--config-file", config, "sync")
        fault_case("TLS certificate of a private CA, no ca_file", untrusted)
        assert untrusted.returncode == 1
        one_error(untrusted, "CERTIFICATE_VERIFY_FAILED", https.url)
        assert glance.images() == []

        config.write_text(config.read_text() + f"[{UBUNTU}]\nca_file = {ca}\n")
        https.fault(IMAGE, redirect=f"{http.url}ubuntu/releases/noble/release-20240423/{IMAGE}")
        downgraded = imgsync("--config-file", config, "sync")
        fault_case("redirect from https to http", downgraded)
        assert downgraded.returncode == 1
        one_error(downgraded, "never follows a redirect from https to http", http.url)
        assert glance.images() == [] and http.requests == []

        recovers(imgsync, config, glance, https, path)


def test_basic_auth_credentials_never_show(glance, mirror, write_config, imgsync, tmp_path):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    mirror.require_auth("sync", "s3cret-pw")
    catalog = tmp_path / "catalog"
    config = write_config([UBUNTU], extra=LIMITS + f"catalog_dir = {catalog}\n")
    refused = imgsync("--config-file", config, "sync")
    fault_case("mirror asks for credentials", refused)
    assert refused.returncode == 1
    one_error(refused, "answered HTTP 401")

    config.write_text(config.read_text().replace(mirror.url, mirror.url.replace(
        "http://", "http://sync:s3cret-pw@")))
    for command in (["sync", "--dry-run"], ["sync"], ["check"], ["check", "--format", "json"]):
        run = imgsync("--config-file", config, *command)
        assert run.returncode == 0, run.stderr
        assert "s3cret-pw" not in run.stdout + run.stderr
        if command[0] == "check":
            assert "sync:***@127.0.0.1" in run.stdout
    image, = glance.images()
    checks.stored_as_published(image, "Ubuntu 24.04 (20240423)", path)
    assert "s3cret" not in repr(image)
    assert image["imgsync.url"].startswith("https://cloud-images.ubuntu.com/releases/noble/")
    assert image["imgsync.mirror_url"] == (
        f"{mirror.url}ubuntu/releases/noble/release-20240423/{IMAGE}")
    assert "s3cret" not in (catalog / "ubuntu.yml").read_text()

    glance.delete_all()
    config.write_text(config.read_text() + "[DEFAULT]\nupload_method = web-download\n"
                                           "web_download_unverified = true\n")
    web = imgsync("--config-file", config, "sync")
    assert web.returncode == 1
    one_error(web, "would hand the mirror's credentials to Glance")
    assert "s3cret" not in web.stdout + web.stderr and glance.images() == []


GLANCE_FAULTS = {
    "Glance answers 503 to PUT .../stage": (
        {"status": 503, "text": "Service Unavailable"}, "HTTP 503"),
    "Glance answers 413 to PUT .../stage": (
        {"status": 413, "text": "Image exceeds the staging quota"}, "HTTP 413 (over a quota)"),
    "upload cut mid-body": ({"cut_after": 1 << 20}, "stage the data of image"),
}


@pytest.mark.parametrize("case", sorted(GLANCE_FAULTS))
def test_glance_fault(case, cloud, glance, mirror, write_config, imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    fault, fragment = GLANCE_FAULTS[case]
    with glance_proxy.GlanceProxy(cloud.glance_url) as proxy:
        config = write_config([UBUNTU], extra=LIMITS + f"[glance]\nendpoint_override = "
                                                       f"{proxy.url}\n")
        proxy.fail("PUT", r"/stage$", **fault)
        result = imgsync("--config-file", config, "sync")
        fault_case(case, result)
        assert result.returncode == 1, result.stdout + result.stderr
        line = one_error(result, UBUNTU, fragment)
        assert re.search(r"PUT /v2/images/[0-9a-f-]+/stage", line), line
        assert [m for m, p in proxy.requests if p.endswith("/stage")] == ["PUT"]   # not resent
        assert glance.images() == []
        result = imgsync("--config-file", config, "sync")
        assert result.returncode == 0, result.stderr
        image, = glance.images()
        checks.stored_as_published(image, "Ubuntu 24.04 (20240423)", path)
