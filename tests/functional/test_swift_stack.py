"""The test Swift answers as an object store mirror needs: Swift's API, SLO manifests,
and S3 through s3api with multipart uploads."""

import hashlib
import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.functional import swift_stack

MIB = 1024 * 1024
PART = 5 * MIB
"""S3's smallest part but the last one."""


@pytest.fixture(scope="module")
def token(swift):
    return {"X-Auth-Token": swift.token()}


@pytest.fixture
def s3(swift):
    """boto3 as an operator would configure it for Swift: path-style, one attempt."""
    return _s3_client(swift, swift.key)


def _s3_client(swift, secret):
    return boto3.client(
        "s3", endpoint_url=swift.s3_endpoint, region_name="us-east-1",
        aws_access_key_id=swift.user, aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, connect_timeout=10, read_timeout=60,
                      retries={"total_max_attempts": 1}))


def _put(url, token, data=b"", **kwargs):
    resp = requests.put(url, data=data, headers=token, timeout=30, **kwargs)
    assert resp.status_code == 201, resp.text
    return resp


def test_swift_api_put_get(swift, token):
    container = f"{swift.account_url}/swift-api"
    _put(container, token)
    data = b"image bytes\n" * 1000
    resp = _put(f"{container}/disk.qcow2", token, data)
    assert resp.headers["Etag"] == hashlib.md5(data).hexdigest()
    got = requests.get(f"{container}/disk.qcow2", headers=token, timeout=30)
    assert got.status_code == 200 and got.content == data
    listing = requests.get(container, headers=token, params={"format": "json"}, timeout=30)
    assert [obj["name"] for obj in listing.json()] == ["disk.qcow2"]


def test_swift_api_needs_a_token(swift, token):
    _put(f"{swift.account_url}/private", token)
    assert requests.get(f"{swift.account_url}/private", timeout=30).status_code == 401
    bad = requests.get(swift.auth_url, timeout=30,
                       headers={"X-Auth-User": swift.user, "X-Auth-Key": "wrong"})
    assert bad.status_code == 401


def test_slo_manifest(swift, token):
    container = f"{swift.account_url}/slo"
    _put(container, token)
    segments = [b"a" * MIB, b"b" * 1000]
    manifest = []
    for number, data in enumerate(segments):
        path = f"/slo/big.raw/{number:08d}"
        _put(f"{swift.account_url}{path}", token, data)
        manifest.append({"path": path, "etag": hashlib.md5(data).hexdigest(),
                         "size_bytes": len(data)})
    _put(f"{container}/big.raw", token, json.dumps(manifest),
         params={"multipart-manifest": "put"})
    got = requests.get(f"{container}/big.raw", headers=token, timeout=30)
    assert got.status_code == 200
    assert got.headers["X-Static-Large-Object"] == "True"
    assert got.content == b"".join(segments)


def test_s3_put_get_shares_the_account(swift, token, s3):
    s3.create_bucket(Bucket="s3-bucket")
    s3.put_object(Bucket="s3-bucket", Key="disk.qcow2", Body=b"qcow2 bytes")
    assert s3.get_object(Bucket="s3-bucket", Key="disk.qcow2")["Body"].read() == b"qcow2 bytes"
    through_swift = requests.get(f"{swift.account_url}/s3-bucket/disk.qcow2", headers=token,
                                 timeout=30)
    assert through_swift.content == b"qcow2 bytes"


def test_s3_rejects_a_wrong_secret(swift):
    with pytest.raises(ClientError) as error:
        _s3_client(swift, "wrong").list_buckets()
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_s3_multipart_upload(s3):
    s3.create_bucket(Bucket="multipart")
    upload = s3.create_multipart_upload(Bucket="multipart", Key="big.raw")["UploadId"]
    parts = [b"x" * PART, b"tail"]
    done = [{"PartNumber": number,
             "ETag": s3.upload_part(Bucket="multipart", Key="big.raw", UploadId=upload,
                                    PartNumber=number, Body=data)["ETag"]}
            for number, data in enumerate(parts, start=1)]
    result = s3.complete_multipart_upload(Bucket="multipart", Key="big.raw", UploadId=upload,
                                          MultipartUpload={"Parts": done})
    assert result["ETag"].strip('"').endswith("-2")
    assert s3.get_object(Bucket="multipart", Key="big.raw")["Body"].read() == b"".join(parts)


def test_s3_multipart_too_small_part(s3):
    """As on AWS, only the last part may be under 5 MiB."""
    s3.create_bucket(Bucket="small-parts")
    upload = s3.create_multipart_upload(Bucket="small-parts", Key="k")["UploadId"]
    done = [{"PartNumber": number,
             "ETag": s3.upload_part(Bucket="small-parts", Key="k", UploadId=upload,
                                    PartNumber=number, Body=b"small")["ETag"]}
            for number in (1, 2)]
    with pytest.raises(ClientError) as error:
        s3.complete_multipart_upload(Bucket="small-parts", Key="k", UploadId=upload,
                                     MultipartUpload={"Parts": done})
    assert error.value.response["Error"]["Code"] == "EntityTooSmall"


def test_s3_abort_multipart_upload(s3):
    s3.create_bucket(Bucket="aborted")
    upload = s3.create_multipart_upload(Bucket="aborted", Key="k")["UploadId"]
    s3.upload_part(Bucket="aborted", Key="k", UploadId=upload, PartNumber=1, Body=b"x" * PART)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="aborted")["Uploads"]] \
        == [upload]
    s3.abort_multipart_upload(Bucket="aborted", Key="k", UploadId=upload)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="aborted")
    with pytest.raises(ClientError) as error:
        s3.list_parts(Bucket="aborted", Key="k", UploadId=upload)
    assert error.value.response["Error"]["Code"] == "NoSuchUpload"
    assert "Contents" not in s3.list_objects_v2(Bucket="aborted")


def test_stop_ends_every_server(tmp_path):
    """A stack of its own: stopping the session's would break the other tests."""
    stack = swift_stack.SwiftStack(tmp_path).start()
    ports = list(stack.ports.values())
    procs = [proc for _, proc in stack._procs]
    assert all(swift_stack.port_open(port) for port in ports)
    stack.stop()
    assert all(proc.returncode is not None for proc in procs)
    assert not any(swift_stack.port_open(port) for port in ports)
