"""End to end: the object-store mirror in a real Swift (through Keystone, and through
its S3 API), beside the real Glance or alone, from one verified download."""

import json
import os
import re
import uuid

import boto3
import pytest
import requests
import yaml
from botocore import config as botocore_config

from tests.functional import glance_proxy
from tests.functional import mirror as mirror_mod

DISTRO = "ubuntu-24.04"
SMALL = "[DEFAULT]\nmax_image_size = 1\n"
"""Images of at most 1 GiB: segments of 1 MiB are then allowed (1,000 per image)."""


def swift_mirror(container, **extra):
    lines = {"store": "swift", "container": container, "public_read": "true", **extra}
    return "[mirror]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items())


def s3_mirror(swift, bucket, endpoint=None, **extra):
    lines = {"store": "s3", "container": bucket, "s3_endpoint": endpoint or swift.s3_endpoint,
             "s3_access_key": swift.user, "s3_secret_key": swift.key,
             "part_size": 5, "timeout": 10, **extra}
    return "[mirror]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items())


def s3(swift):
    return boto3.session.Session().client(
        "s3", endpoint_url=swift.s3_endpoint, region_name="us-east-1",
        aws_access_key_id=swift.user, aws_secret_access_key=swift.key,
        config=botocore_config.Config(s3={"addressing_style": "path"},
                                      request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))


def key(serial):
    return f"{DISTRO}/{serial}-{DISTRO}.qcow2"


def catalog_versions(directory):
    (entry,) = yaml.safe_load((directory / "ubuntu.yml").read_text())["images"]
    return {item["version"]: item for item in entry["versions"]}


def test_swift_mirror_beside_glance_from_one_download(glance, mirror, swift, write_config,
                                                      imgsync, tmp_path):
    root = mirror.root / "ubuntu"
    path = mirror_mod.add_ubuntu_build(root, "24.04", "20240423", size=3 << 20)
    container = f"m-{uuid.uuid4().hex[:8]}"
    catalogs = tmp_path / "catalog"
    config = write_config([DISTRO], extra=swift_mirror(container, segment_size=1,
                                                       keep_versions=1) + SMALL +
                          f"[DEFAULT]\ncatalog_dir = {catalogs}\n")

    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    assert len(mirror.image_requests()) == 1   # one download for Glance and the mirror
    (image,) = glance.images()
    assert image["status"] == "active" and image["imgsync.version"] == "20240423"
    url = catalog_versions(catalogs)["20240423"]["mirror_url"]
    assert url.endswith(f"/{container}/{key('20240423')}") and "/v1/KEY_" in url
    fetched = requests.get(url, timeout=30)   # anonymously: the container is public
    assert fetched.status_code == 200 and fetched.content == path.read_bytes()
    head = requests.head(url, timeout=30).headers
    assert head["X-Object-Meta-Sha256"] == mirror_mod.sha(path, "sha256")
    assert head["X-Object-Meta-Sha512"] == mirror_mod.sha(path, "sha512")
    assert head["X-Object-Meta-Imgsync-Url"].startswith("https://cloud-images.ubuntu.com/")
    assert head["X-Object-Meta-Image-Build-Date"] == "2024-04-23"
    assert head["X-Static-Large-Object"] == "True"   # segments of about 1 MiB, manifest last
    assert "mirror" in run.stdout

    again = imgsync("--config-file", config, "sync")
    assert again.returncode == 0, again.stderr
    assert len(mirror.image_requests()) == 1   # nothing changed: no image data read
    assert requests.head(url, timeout=30).headers["Etag"] == head["Etag"]

    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    status = imgsync("--config-file", config, "status", "--format", "json")
    rows = {row["target"]: row for row in json.loads(status.stdout)["instances"]}
    assert (rows["mirror"]["state"], rows["mirror"]["glance"]) == ("behind", "20240423")
    rotated = imgsync("--config-file", config, "sync")
    assert rotated.returncode == 0, rotated.stderr
    listing = requests.get(url.rsplit("/", 2)[0], params={"format": "json"}, timeout=30)
    names = [item["name"] for item in listing.json()]
    assert [n for n in names if not n.startswith(".")] == [key("20240501")]
    assert not [n for n in names if n.startswith(f".imgsync-segments/{key('20240423')}")]
    assert requests.get(url, timeout=30).status_code == 404


def test_s3_mirror_only_writes_objects_and_catalogs_without_glance(
        glance, mirror, swift, write_config, imgsync, tmp_path):
    root = mirror.root / "ubuntu"
    path = mirror_mod.add_ubuntu_build(root, "24.04", "20240423", size=12 << 20)
    bucket = f"m-{uuid.uuid4().hex[:8]}"
    catalogs = tmp_path / "catalog"
    before = glance.images()
    config = write_config([DISTRO], extra=s3_mirror(swift, bucket,
                                                    public_url=f"{swift.account_url}/{bucket}")
                          + f"[DEFAULT]\ncatalog_dir = {catalogs}\n[glance]\nenabled = false\n")

    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    assert glance.images() == before
    client = s3(swift)
    head = client.head_object(Bucket=bucket, Key=key("20240423"))
    assert head["ContentLength"] == path.stat().st_size
    assert head["Metadata"]["sha256"] == mirror_mod.sha(path, "sha256")
    assert head["Metadata"]["imgsync-version"] == "20240423"
    body = client.get_object(Bucket=bucket, Key=key("20240423"))["Body"].read()
    assert body == path.read_bytes()   # 3 parts of 5 MiB, completed after verification
    item = catalog_versions(catalogs)["20240423"]
    assert item["mirror_url"] == f"{swift.account_url}/{bucket}/{key('20240423')}"
    assert item["checksum"] == f"sha256:{mirror_mod.sha(path, 'sha256')}" and "id" not in item
    assert str(item["build_date"]) == "2024-04-23"
    for text in (run.stdout, run.stderr, (catalogs / "ubuntu.yml").read_text()):
        assert swift.key not in text

    again = imgsync("--config-file", config, "sync")
    assert again.returncode == 0 and len(mirror.image_requests()) == 1


@pytest.mark.parametrize("fault", [
    {"status": 500, "text": "store down"},
    {"cut_after": 1 << 20},
    {"stall": True},
])
def test_a_failing_s3_mirror_fails_alone_and_leaves_no_object(
        glance, mirror, swift, write_config, imgsync, tmp_path, fault):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423", size=12 << 20)
    bucket = f"m-{uuid.uuid4().hex[:8]}"
    s3(swift).create_bucket(Bucket=bucket)
    with glance_proxy.GlanceProxy(swift.s3_endpoint) as proxy:
        proxy.fail("PUT", r"partNumber=2", times=3, **fault)   # botocore retries once
        config = write_config([DISTRO], extra=s3_mirror(swift, bucket, endpoint=proxy.url))
        run = imgsync("--config-file", config, "sync")
    assert run.returncode == 1, run.stdout
    assert re.search(r"ERROR .*mirror.*part 2 of ubuntu-24.04/", run.stderr), run.stderr
    assert swift.key not in run.stderr + run.stdout
    assert [i["status"] for i in glance.images()] == ["active"]   # Glance completed
    client = s3(swift)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")

    config = write_config([DISTRO], extra=s3_mirror(swift, bucket))
    recovered = imgsync("--config-file", config, "sync")
    assert recovered.returncode == 0, recovered.stderr
    assert client.head_object(Bucket=bucket, Key=key("20240423"))["ContentLength"] > 0


@pytest.mark.parametrize("fault", [{"status": 503, "text": "store down"},
                                   {"cut_after": 256 << 10}, {"stall": True}])
def test_a_failing_swift_mirror_fails_alone_and_leaves_no_object_nor_segment(
        glance, mirror, swift, cloud, admin_session, write_config, imgsync, tmp_path, fault):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423", size=3 << 20)
    container = f"m-{uuid.uuid4().hex[:8]}"
    account = f"{swift.url}/v1/KEY_{admin_session.get_project_id()}"
    clouds = cloud.clouds_yaml(tmp_path / "clouds.yaml", "via-proxy")
    with glance_proxy.GlanceProxy(swift.url) as proxy:
        with clouds.open("a") as out:   # the object store through the proxy
            out.write(f"    object_store_endpoint_override: {proxy.url}v1/KEY_"
                      f"{admin_session.get_project_id()}\n")
        proxy.fail("PUT", r"\.imgsync-segments/.*/00000001$", **fault)
        config = write_config([DISTRO], extra=swift_mirror(
            container, segment_size=1, cloud="via-proxy", timeout=5) + SMALL)
        run = imgsync("--config-file", config, "sync",
                      env={**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds)})
    assert run.returncode == 1, run.stdout
    assert re.search(r"ERROR .*mirror.*(segment|Swift)", run.stderr), run.stderr
    assert [i["status"] for i in glance.images()] == ["active"]   # Glance completed
    token = {"X-Auth-Token": admin_session.get_token()}
    listing = requests.get(f"{account}/{container}", headers=token,
                           params={"format": "json"}, timeout=30).json()
    assert listing == []   # neither the object nor any of its segments

    config = write_config([DISTRO], extra=swift_mirror(container))
    recovered = imgsync("--config-file", config, "sync")
    assert recovered.returncode == 0, recovered.stderr
    assert requests.head(f"{account}/{container}/{key('20240423')}", headers=token,
                         timeout=30).status_code == 200
