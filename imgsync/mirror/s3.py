"""The mirror in an S3 bucket (Ceph RGW, MinIO, Swift's s3api, AWS), through boto3.

boto3 is the S3 client that RGW's, MinIO's and AWS's own documentation use; its
low-level client is all this needs (multipart calls, path-style addressing, retries
and timeouts set here). An object is a multipart upload: each part (``part_size``,
the only data held in memory) is sent as it fills, and the upload is completed, which
makes the object appear under its name, only once the bytes were verified; an
aborted upload is aborted in S3, which drops its parts.
"""

import logging
import urllib.parse

import boto3
from botocore import config as botocore_config
from botocore import exceptions as botocore_exceptions

from imgsync import exceptions

LOG = logging.getLogger(__name__)
MAX_PARTS = 10000
"""S3's limit of parts per upload."""
_ERRORS = (botocore_exceptions.BotoCoreError, botocore_exceptions.ClientError, OSError)


def client(endpoint, region, access_key, secret_key, timeout, addressing_style="path"):
    """A boto3 S3 client for ``endpoint``, with the run's timeout and few retries."""
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, config=botocore_config.Config(
            connect_timeout=timeout, read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": addressing_style},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required"))


class S3Store:
    """One bucket."""

    kind = "s3"

    def __init__(self, client_, bucket, part_size, public_read=False):
        """``public_read``: each object is written readable by anyone (an S3 bucket's ACL
        does not make its objects readable)."""
        self.client = client_
        self.bucket = bucket
        self.part_size = part_size
        self.public_read = public_read

    def url(self, key):
        """The object's URL at the endpoint, in the client's addressing style."""
        endpoint = urllib.parse.urlsplit(self.client.meta.endpoint_url)
        path = urllib.parse.quote(key)
        if self.client.meta.config.s3.get("addressing_style") == "virtual":
            return f"{endpoint.scheme}://{self.bucket}.{endpoint.netloc}/{path}"
        return f"{endpoint.scheme}://{endpoint.netloc}{endpoint.path.rstrip('/')}/{self.bucket}/{path}"

    def ensure(self):
        """Create the bucket unless it exists (readable by anyone with public_read)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except botocore_exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise self._error("look at the bucket", exc) from exc
        except _ERRORS as exc:
            raise self._error("look at the bucket", exc) from exc
        region = self.client.meta.region_name
        self._call("create the bucket", self.client.create_bucket, Bucket=self.bucket,
                   **({"CreateBucketConfiguration": {"LocationConstraint": region}}
                      if region and region != "us-east-1" else {}))
        LOG.info("created bucket %s%s", self.bucket, " (public read)" if self.public_read else "")

    def objects(self, prefix):
        """[(name, size, metadata)] of the objects whose names start with ``prefix``."""
        found, token = [], {}
        while True:
            page = self._call("list the bucket", self.client.list_objects_v2,
                              Bucket=self.bucket, Prefix=prefix, **token)
            for item in page.get("Contents", []):
                try:
                    head = self.client.head_object(Bucket=self.bucket, Key=item["Key"])
                except botocore_exceptions.ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                        continue   # deleted since the listing
                    raise self._error(f"read {item['Key']}", exc) from exc
                except _ERRORS as exc:
                    raise self._error(f"read {item['Key']}", exc) from exc
                found.append((item["Key"], head["ContentLength"],
                              {k.lower(): v for k, v in head.get("Metadata", {}).items()}))
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def begin(self, key, metadata):
        upload = self._call(f"begin the upload of {key}", self.client.create_multipart_upload,
                            Bucket=self.bucket, Key=key, Metadata=metadata,
                            ContentType="application/octet-stream",
                            **({"ACL": "public-read"} if self.public_read else {}))
        return S3Upload(self, key, upload["UploadId"])

    def delete(self, key):
        self._call(f"delete {key}", self.client.delete_object, Bucket=self.bucket, Key=key)

    def _call(self, what, func, **kwargs):
        try:
            return func(**kwargs)
        except _ERRORS as exc:
            raise self._error(what, exc) from exc

    def _error(self, what, exc):
        return exceptions.MirrorError(f"S3 at {self.client.meta.endpoint_url}: cannot {what} "
                                      f"(bucket {self.bucket}): {exc}")


class S3Upload:
    """One multipart upload: its parts, then its completion."""

    def __init__(self, store, key, upload_id):
        self.store, self.key, self.upload_id = store, key, upload_id
        self.parts = []

    def part(self, chunks):
        """Send one part (its bytes gathered first: S3 wants each part's length)."""
        number = len(self.parts) + 1
        response = self.store._call(
            f"write part {number} of {self.key}", self.store.client.upload_part,
            Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id,
            PartNumber=number, Body=b"".join(chunks))
        self.parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def complete(self, metadata):
        """Complete the upload: the object appears under its name. Its metadata was given
        when the upload began (S3 takes none later)."""
        self.store._call(f"complete the upload of {self.key}",
                         self.store.client.complete_multipart_upload,
                         Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id,
                         MultipartUpload={"Parts": self.parts})

    def abort(self):
        """Abort the upload, which drops its parts; again after a part that was on its
        way (S3 may store it), where the upload may be gone already."""
        try:
            self.store.client.abort_multipart_upload(
                Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id)
        except botocore_exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                LOG.error("%s", self.store._error(f"abort the upload of {self.key}", exc))
        except _ERRORS as exc:
            LOG.error("%s", self.store._error(f"abort the upload of {self.key}", exc))
