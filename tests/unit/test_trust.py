"""imgsync.trust, table-driven: a build is refused when upstream's signed files or imgsync's
own published images contradict the release it claims to be."""

import dataclasses
import datetime

import pytest

from imgsync import exceptions
from imgsync.engine import plan
from imgsync.upstream import trust
from imgsync.upstream.drivers import base

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SIGNER = "d2eb44626fddc30b513d5bb71a5d6c4c7db87c81"


def rel(version="20261201", day=datetime.date(2026, 12, 1), signed_at=None, arch="x86_64",
        checksum=None, from_version=True, signed_by=SIGNER):
    return base.Release(
        distro="ubuntu-24.04", display_name="Ubuntu 24.04", version=version, build_date=day,
        url=f"https://mirror.test/release-{version}/a.img", official_url="",
        checksum_algo="sha256", checksum=checksum or f"sum-{version}-{arch}",
        disk_format="qcow2", min_disk=0, min_ram=0, metadata={"architecture": arch},
        checksum_url=f"https://user:secret@mirror.test/release-{version}/SHA256SUMS",
        signed_by=signed_by if signed_at else None, signed_at=signed_at,
        build_date_from_version=from_version)


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


FRESH = {
    "signed on its build date": (rel(signed_at=at(2026, 12, 1, 9)), None),
    "signed the evening before, as a build dated in UTC+14 is": (
        rel(signed_at=at(2026, 11, 30, 10, 30)), None),
    "signed months later (a re-signed old build)": (rel(signed_at=at(2027, 3, 1)), None),
    "signed two days before the build date it claims": (
        rel(signed_at=at(2026, 11, 29, 12)), "was signed on 2026-11-29 12:00 UTC, before the "
                                             "build date 2026-12-01 that its version claims"),
    "an old build under a later name": (
        rel(version="20261201", signed_at=at(2024, 4, 23, 12)), "before the build date"),
    "dated tomorrow (still today in UTC+14)": (rel(day=datetime.date(2026, 12, 3)), None),
    "dated the day after tomorrow": (
        rel(day=datetime.date(2026, 12, 4)), "its build date 2026-12-04 lies in the future"),
    "a Last-Modified date says nothing about the signature": (
        rel(signed_at=at(2024, 4, 23), from_version=False), None),
    "unsigned: only the date is checked": (rel(), None),
}


@pytest.mark.parametrize("release,refusal", FRESH.values(), ids=FRESH.keys())
def test_fresh(release, refusal):
    if refusal is None:
        trust.fresh(release, NOW)
        return
    with pytest.raises(exceptions.RefusedBuild) as caught:
        trust.fresh(release, NOW)
    message = str(caught.value)
    assert message.startswith("refused build 20261201 (x86_64) of ubuntu-24.04: ")
    assert refusal in message and "secret" not in message and "\n" not in message


def image(image_id, version, arch="x86_64", **fields):
    return {"id": image_id, "imgsync.version": version, "architecture": arch, "owner": "me",
            "status": "active", "imgsync.sha256": f"sum-{version}-{arch}",
            "created_at": "2026-12-02T11:00:00Z", "name": f"Ubuntu 24.04 ({version})", **fields}


SIGNED = {"imgsync.signed_by": SIGNER}
CONSISTENT = {
    "a new build": ([rel(signed_at=NOW)], [image("i1", "20261101", **SIGNED)], False, None),
    "the build imgsync has": ([rel(signed_at=NOW)], [image("i1", "20261201", **SIGNED)], False,
                              None),
    "an old build's bytes under a new version": (
        [rel(checksum="sum-20261101-x86_64", signed_at=NOW)],
        [image("i1", "20261101", os_hidden=True, **SIGNED)], False,
        "are those imgsync published as build 20261101 (x86_64) in image i1"),
    "one architecture's bytes under another": (
        [rel(arch="aarch64", checksum="sum-20261201-x86_64", signed_at=NOW)],
        [image("i1", "20261201", **SIGNED)], False, "build 20261201 (x86_64) in image i1"),
    "unsigned although the instance's images are signed": (
        [rel()], [image("i1", "20261101", **SIGNED)], False,
        "no valid signature of https://user:***@mirror.test/release-20261201/SHA256SUMS, "
        "although imgsync's images of ubuntu-24.04 are signed (image i1"),
    "unsigned, and the operator allows it": (
        [rel()], [image("i1", "20261101", **SIGNED)], True, None),
    "unsigned, and no image was ever signed": ([rel()], [image("i1", "20261101")], False, None),
}


@pytest.mark.parametrize("releases,images,allow,refusal", CONSISTENT.values(),
                         ids=CONSISTENT.keys())
def test_consistent(releases, images, allow, refusal):
    if refusal is None:
        trust.consistent(releases, images, allow)
        return
    with pytest.raises(exceptions.RefusedBuild, match="refused build") as caught:
        trust.consistent(releases, images, allow)
    assert refusal in str(caught.value) and "secret" not in str(caught.value)


def test_the_planner_refuses_before_it_plans_and_trusts_only_its_own_images():
    """The planner applies trust.consistent to imgsync's own finished images only: a
    tenant's signed look-alike or a pending image proves nothing."""
    policy = plan.Policy(keep=2)
    replay = rel(checksum="sum-20261101-x86_64", signed_at=NOW)
    with pytest.raises(exceptions.RefusedBuild):
        plan.plan([replay], [image("i1", "20261101", **SIGNED)], "me", policy, NOW)
    foreign = image("t1", "20261101", owner="tenant", **SIGNED)
    pending = image("p1", "20261101", **{"imgsync.state": "pending"}, **SIGNED)
    planned = plan.plan([replay, rel(version="20261102")], [foreign, pending], "me", policy, NOW)
    assert [a.kind for a in planned.actions] == ["upload", "upload"]
    unsigned = dataclasses.replace(rel(), signed_by=None)
    with pytest.raises(exceptions.RefusedBuild, match="allow_signature_downgrade"):
        plan.plan([unsigned], [image("i1", "20261101", **SIGNED)], "me", policy, NOW)
    assert plan.plan([unsigned], [image("i1", "20261101", **SIGNED)], "me",
                     dataclasses.replace(policy, allow_unsigned=True), NOW).actions
