"""Which Glance image is the upload of which upstream build."""

import datetime

import pytest

from imgsync.model import record
from imgsync.upstream.drivers import base


def release(algo="sha256", checksum="a" * 64, version="0.6.3", arch="x86_64", unique=True):
    return base.Release(distro="cirros", display_name="CirrOS", version=version,
                        build_date=datetime.date(2024, 1, 1), url="u", checksum_algo=algo,
                        checksum=checksum, disk_format="qcow2", min_disk=0, min_ram=0,
                        metadata={"architecture": arch}, version_is_build_id=unique)


def image(**properties):
    return {"status": "active", "imgsync.version": "0.6.3", "architecture": "x86_64",
            **properties}


@pytest.mark.parametrize("recorded,expected", [
    ({"imgsync.sha256": "a" * 64}, True),
    ({"imgsync.sha256": "b" * 64}, False),               # same algorithm, other bytes
    ({"imgsync.md5": "c" * 32}, True),                   # SHA256SUMS appeared beside MD5SUMS
    ({"imgsync.md5": "c" * 32, "imgsync.sha256": "b" * 64}, False),
    ({}, False),                                         # no checksum recorded at all
])
def test_a_new_checksum_algorithm_for_the_same_build_is_not_a_new_image(recorded, expected):
    assert record.is_synced(image(**recorded), release()) is expected


@pytest.mark.parametrize("changes", [{"imgsync.version": "0.6.2"}, {"architecture": "aarch64"},
                                     {"status": "queued"}, {"imgsync.state": "pending"}])
def test_another_build_architecture_or_an_unfinished_image_is_not_it(changes):
    assert not record.is_synced(image(**{"imgsync.md5": "c" * 32, **changes}), release())


def test_a_version_that_is_no_build_id_needs_its_own_checksum():
    """A generic site whose version is a file name reused by rebuilds."""
    assert not record.is_synced(image(**{"imgsync.md5": "c" * 32}), release(unique=False))
    assert record.is_synced(image(**{"imgsync.sha256": "a" * 64}), release(unique=False))
