"""The planner, table-driven: upstream's releases and Glance's images in, actions out."""

import datetime
import types

import pytest

from imgsync.engine import plan
from imgsync.engine import sync
from imgsync.model import record
from imgsync.upstream.drivers import base

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
OLD = "2026-11-30T00:00:00Z"
X86, ARM = "x86_64", "aarch64"


def rel(version, arch=X86):
    return base.Release(
        distro="ubuntu-24.04", display_name="Ubuntu 24.04", version=version,
        build_date=datetime.date(2024, 4, 23), url=f"https://mirror.test/{version}/{arch}.img",
        official_url="", checksum_algo="sha256", checksum=f"{version}-{arch}",
        disk_format="qcow2", min_disk=0, min_ram=0, metadata={"architecture": arch})


def img(image_id, version, arch=X86, name=None, owner="me", **fields):
    return {"id": image_id, "name": name or f"Ubuntu 24.04 ({version})", "status": "active",
            "owner": owner, "imgsync.version": version, "architecture": arch,
            "imgsync.sha256": f"{version}-{arch}", "os_hidden": False, "created_at": OLD,
            **fields}


def up(version, arch=X86):
    return f"upload {version} ({arch})"


POLICY = plan.Policy(keep=2, expire_action="hide")
CASES = {
    "nothing new: up to date, nothing to do": (
        [rel("3")], [img("i3", "3"), img("i2", "2")], POLICY,
        [("up-to-date", "3", X86, "Ubuntu 24.04 (3)", "i3", ())]),
    "a new build: upload, and the oldest beyond keep hidden once it is in": (
        [rel("4")], [img("i3", "3"), img("i2", "2"), img("i1", "1", os_hidden=True)], POLICY,
        [("upload", "4", X86, "Ubuntu 24.04 (4)", "", ()),
         ("hide", "2", X86, "Ubuntu 24.04 (2)", "i2", (up("4"),))]),
    "rotation per architecture": (
        [rel("4"), rel("4", ARM)],
        [img("i3", "3"), img("i2", "2"), img("a3", "3", ARM)], POLICY,
        [("upload", "4", X86, "Ubuntu 24.04 (4)", "", ()),
         ("upload", "4", ARM, "Ubuntu 24.04 (4)", "", ()),
         ("hide", "2", X86, "Ubuntu 24.04 (2)", "i2", (up("4"),))]),
    "an expiry due without any upload depends on none": (
        [rel("3")], [img("i3", "3"), img("i2", "2"), img("i1", "1")],
        plan.Policy(keep=1, expire_action="deactivate"),
        [("up-to-date", "3", X86, "Ubuntu 24.04 (3)", "i3", ()),
         ("deactivate", "1", X86, "Ubuntu 24.04 (1)", "i1", ()),
         ("deactivate", "2", X86, "Ubuntu 24.04 (2)", "i2", ())]),
    "already deactivated images are not deactivated again": (
        [rel("3")], [img("i3", "3"), img("i2", "2", status="deactivated")],
        plan.Policy(keep=1, expire_action="deactivate"),
        [("up-to-date", "3", X86, "Ubuntu 24.04 (3)", "i3", ())]),
    "expire_action none rotates nothing": (
        [rel("4")], [img("i3", "3"), img("i2", "2")], plan.Policy(keep=1, expire_action="none"),
        [("upload", "4", X86, "Ubuntu 24.04 (4)", "", ())]),
    "two new builds (versions = 2): the old one expires only if both are in": (
        [rel("3"), rel("2")], [img("i1", "1")], plan.Policy(keep=2, expire_action="delete"),
        [("upload", "3", X86, "Ubuntu 24.04 (3)", "", ()),
         ("upload", "2", X86, "Ubuntu 24.04 (2)", "", ()),
         ("delete", "1", X86, "Ubuntu 24.04 (1)", "i1", (up("3"), up("2")))]),
    "latest_name: the old newest gives the stable name up, the new one takes it": (
        [rel("4")], [img("i3", "3", name="Ubuntu 24.04"), img("i2", "2")],
        plan.Policy(keep=3, latest_name=True),
        [("upload", "4", X86, "Ubuntu 24.04 (4)", "", ()),
         ("rename", "3", X86, "Ubuntu 24.04 (3)", "i3", (up("4"),)),
         ("rename", "4", X86, "Ubuntu 24.04", "", (up("4"),))]),
    "latest_name on images of an earlier run: up-to-date shows the new name": (
        [rel("3")], [img("i3", "3"), img("i2", "2")], plan.Policy(keep=2, latest_name=True),
        [("up-to-date", "3", X86, "Ubuntu 24.04", "i3", ()),
         ("rename", "3", X86, "Ubuntu 24.04", "i3", ())]),
    "a new prefix renames the kept images, the deleted ones not": (
        [rel("3")], [img("i3", "3"), img("i2", "2"), img("i1", "1")],
        plan.Policy(prefix="os-", keep=2, expire_action="delete"),
        [("up-to-date", "3", X86, "os-Ubuntu 24.04 (3)", "i3", ()),
         ("delete", "1", X86, "Ubuntu 24.04 (1)", "i1", ()),
         ("rename", "2", X86, "os-Ubuntu 24.04 (2)", "i2", ()),
         ("rename", "3", X86, "os-Ubuntu 24.04 (3)", "i3", ())]),
    "another project's images are never trusted, rotated or renamed": (
        [rel("4")],
        [img("f4", "4", owner="them"), img("f5", "5", owner="them"),
         img("fp", "1", owner="them", **{"imgsync.state": "pending"}),
         img("i3", "3"), img("i2", "2")],
        plan.Policy(keep=1, latest_name=True),
        [("upload", "4", X86, "Ubuntu 24.04 (4)", "", ()),
         ("hide", "2", X86, "Ubuntu 24.04 (2)", "i2", ()),
         ("hide", "3", X86, "Ubuntu 24.04 (3)", "i3", (up("4"),)),
         ("rename", "4", X86, "Ubuntu 24.04", "", (up("4"),))]),
    "pending images are cleaned after the grace period and never count as synced": (
        [rel("3")],
        [img("p3", "3", **{"imgsync.state": "pending", "status": "active"}),
         img("p2", "2", **{"imgsync.state": "pending", "status": "queued",
                           "imgsync.started_at": "2026-12-01T11:30:00Z"}),
         img("i1", "1")], plan.Policy(keep=1),
        [("clean", "3", X86, "Ubuntu 24.04 (3)", "p3", ()),
         ("upload", "3", X86, "Ubuntu 24.04 (3)", "", ()),
         ("hide", "1", X86, "Ubuntu 24.04 (1)", "i1", (up("3"),))]),
    "a killed or queued image is neither synced nor rotated": (
        [rel("3")], [img("k3", "3", status="killed"), img("q2", "2", status="queued"),
                     img("i1", "1")], plan.Policy(keep=1),
        [("upload", "3", X86, "Ubuntu 24.04 (3)", "", ()),
         ("hide", "1", X86, "Ubuntu 24.04 (1)", "i1", (up("3"),))]),
    "an image with another checksum is not this build": (
        [rel("3")], [img("i3", "3", **{"imgsync.sha256": "tampered"})], plan.Policy(keep=1),
        [("upload", "3", X86, "Ubuntu 24.04 (3)", "", ()),
         ("hide", "3", X86, "Ubuntu 24.04 (3)", "i3", (up("3"),))]),
}


@pytest.mark.parametrize("releases,images,policy,expected", CASES.values(), ids=CASES)
def test_plan(releases, images, policy, expected):
    actions = plan.plan(releases, images, "me", policy, NOW).actions
    assert [(a.kind, a.version, a.architecture, a.name, a.image_id, a.depends_on)
            for a in actions] == expected
    uploads = [a for a in actions if a.kind == record.Kind.UPLOAD]
    assert [a.release.version for a in uploads] == [a.version for a in uploads]
    assert all(a.uploaded_by in (u.key for u in uploads) for a in actions if not a.image_id
               and a.kind != record.Kind.UPLOAD)


def test_images_in_use_are_kept_and_say_why():
    images = [img("i3", "3"), img("i2", "2"), img("i1", "1")]
    actions = plan.plan([rel("4")], images, "me", POLICY, NOW).actions
    kept = plan.mark_in_use(actions, {"i1"})
    assert [(a.kind, a.image_id, a.depends_on) for a in kept] == [
        ("upload", "", ()), ("in-use", "i1", ()), ("hide", "i2", (up("4"),))]
    assert "servers still use it" in kept[1].reason
    unknown = plan.mark_in_use(actions, {"i1"}, doubt="Nova refused: HTTP 403")
    assert [(a.kind, a.error) for a in unknown] == [
        ("upload", ""), ("in-use", ""), ("hide", "Nova refused: HTTP 403")]


@pytest.mark.parametrize("keep_versions,versions,keep", [(1, 3, 3), (3, 1, 3), (2, 2, 2)])
def test_keep_is_the_larger_of_keep_versions_and_versions(keep_versions, versions, keep):
    conf = types.SimpleNamespace(allow_signature_downgrade=False,
                                 keep_versions=keep_versions, versions=versions,
                                 expire_action="hide", latest_name=False)
    assert sync.policy(sync.Settings(), conf).keep == keep


def test_every_action_says_why():
    images = [img("i3", "3", name="Ubuntu 24.04"), img("i2", "2"),
              img("p", "1", **{"imgsync.state": "pending"})]
    actions = plan.plan([rel("4")], images, "me", plan.Policy(keep=1, latest_name=True),
                        NOW).actions
    assert {a.kind for a in actions} == {"clean", "upload", "hide", "rename"}
    assert all(a.reason for a in actions)
