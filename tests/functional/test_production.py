"""A production-like Glance: conversion to raw on import, property protections, quota,
sha256 hashing, and an imgsync account with only the member and imgsync roles."""

import subprocess

import pytest

from tests.functional import checks
from tests.functional import mirror as mirror_mod
from tests.functional import stack as stack_mod

UBUNTU = "ubuntu-24.04"
REGION = stack_mod.PRODUCTION_REGION


def raw_sha256(qcow2, tmp_path):
    raw = tmp_path / "converted.raw"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", str(qcow2),
                    str(raw)], check=True)
    return mirror_mod.sha(raw, "sha256"), raw.stat().st_size


def test_default_sync_into_a_converting_glance_publishes_raw(production, mirror, write_config,
                                                              imgsync, tmp_path):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], region=REGION)
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    assert "glance-direct" in run.stderr
    image, = production.images()
    digest, size = raw_sha256(path, tmp_path)
    assert (image["status"], image["visibility"], image["os_hidden"]) == (
        "active", "public", False)
    assert (image["disk_format"], image["imgsync.converted_from"]) == ("raw", "qcow2")
    assert image["size"] == image["virtual_size"] == size
    assert (image["os_hash_algo"], image["os_hash_value"]) == ("sha256", digest)
    assert image["imgsync.sha256"] == mirror_mod.sha(path, "sha256")
    assert "imgsync.state" not in image

    checks.rerun_changes_nothing(imgsync, config, production, mirror, 1)


def test_a_put_is_not_converted(production, mirror, write_config, imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    run = imgsync("--config-file", write_config(
        [UBUNTU], region=REGION, extra="[DEFAULT]\nupload_method = put\n"), "sync")
    assert run.returncode == 0, run.stderr
    image, = production.images()
    assert (image["disk_format"], image["size"]) == ("qcow2", path.stat().st_size)
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha256")
    assert "imgsync.converted_from" not in image


@pytest.mark.parametrize("properties", [
    {"source": "imgsync"},
    {"imgsync.distro": UBUNTU},
    {"imgsync.sha256": "0" * 64, "imgsync.version": "99990101"},
])
def test_property_protections_keep_other_projects_from_forging(production, tenant_session,
                                                               properties):
    tenant = production.as_user(tenant_session)
    refused = tenant.create(name="forged", **properties)
    assert refused.status_code == 403, refused.text
    own = tenant.create(name="own image", os_distro="ubuntu")
    assert own.status_code == 201, own.text
    for key, value in properties.items():
        added = tenant.patch(own.json()["id"], [{"op": "add", "path": f"/{key}",
                                                 "value": value}])
        assert added.status_code == 403, added.text
    assert [i["name"] for i in production.images()] == ["own image"]


def test_member_account_publishes_what_the_policy_allows_and_fails_early_otherwise(
        cloud, production, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    public = imgsync("--config-file", write_config([UBUNTU], region=REGION,
                                                   account="service"), "sync")
    assert public.returncode == 1
    errors = [line for line in public.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, public.stderr
    assert "missing permission: this account may not publish images as public" in errors[0]
    assert "'publicize_image'" in errors[0] and "<" not in errors[0]
    assert "Traceback" not in public.stderr
    assert mirror.image_requests() == [] and production.images() == []

    community = imgsync("--config-file", write_config(
        [UBUNTU], region=REGION, account="service",
        extra="[DEFAULT]\nvisibility = community\n"), "sync")
    assert community.returncode == 0, community.stderr
    image, = production.images()
    assert (image["visibility"], image["owner"]) == ("community", cloud.service["project_id"])
    assert image["disk_format"] == "raw" and image["source"] == "imgsync"


def test_an_upload_over_quota_fails_that_driver_only(production, mirror, write_config,
                                                     imgsync):
    root = mirror.root / "ubuntu"
    big = (stack_mod.PRODUCTION_QUOTA_MB + 16) << 20
    mirror_mod.add_ubuntu_build(root, "22.04", "20240423", size=big)
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    run = imgsync("--config-file", write_config(
        ["ubuntu-22.04", UBUNTU], region=REGION, extra="[DEFAULT]\nupload_method = put\n"),
        "sync")
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, run.stderr
    assert "ubuntu-22.04: Glance refused to store the data of image" in errors[0]
    assert "HTTP 413 (over a quota)" in errors[0] and "storage quota" in errors[0]
    assert [i["imgsync.distro"] for i in production.images()] == [UBUNTU]


def test_web_download_is_published_only_when_glance_hashes_as_upstream(
        glance, production, mirror, write_config, imgsync):
    """Debian publishes sha512: the vanilla Glance hashes so too, the production one sha256."""
    path = mirror_mod.add_debian_build(mirror.root / "debian", "trixie", "13", "20260705-2167")
    extra = "[DEFAULT]\nupload_method = web-download\n"
    verified = imgsync("--config-file", write_config(["debian-13"], extra=extra), "sync")
    assert verified.returncode == 0, verified.stderr
    image, = glance.images()
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")
    assert "imgsync.unverified" not in image

    refused = imgsync("--config-file", write_config(["debian-13"], region=REGION, extra=extra),
                      "sync")
    assert refused.returncode == 1
    assert ("cannot be verified: Glance hashed image" in refused.stderr
            and "with sha256, upstream publishes sha512" in refused.stderr)
    assert production.images() == []

    accepted = imgsync("--config-file", write_config(
        ["debian-13"], region=REGION, extra=extra + "web_download_unverified = true\n"), "sync")
    assert accepted.returncode == 0, accepted.stderr
    image, = production.images()
    assert image["imgsync.unverified"] == "web-download" and image["status"] == "active"
    assert (image["disk_format"], image["imgsync.converted_from"]) == ("raw", "qcow2")
    assert image["imgsync.inspected"] == "header"   # the raw its conversion made


@pytest.mark.parametrize("extra,option", [
    ("[DEFAULT]\nproperties = visibility=public\n", "[DEFAULT] properties: 'visibility'"),
    (f"[{UBUNTU}]\nproperties = imgsync.sha256=00\n", f"[{UBUNTU}] properties: 'imgsync.sha256'"),
])
def test_reserved_properties_are_a_configuration_error(production, mirror, write_config,
                                                       imgsync, extra, option):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    run = imgsync("--config-file", write_config([UBUNTU], region=REGION, extra=extra), "sync")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"imgsync: {option} is reserved"), lines
    assert mirror.requests == [] and production.images() == []
