"""The SCS image metadata (scs-0102) imgsync gives its images, and rotation that keeps a
cloud conformant: one generic image per distribution, version and architecture, and
nothing outdated left visible."""

import datetime
import re

import pytest

from imgsync.engine import plan
from imgsync.model import record
from imgsync.model import scs
from imgsync.upstream import drivers
from tests.unit import drivers_util
from tests.unit.test_plan import img
from tests.unit.test_plan import rel

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.timezone.utc)
FREQUENCIES = ("yearly", "quarterly", "monthly", "weekly", "daily", "critical_bug", "never")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def every_driver():
    return sorted(drivers.available().items())


@pytest.mark.parametrize("name,cls", every_driver(), ids=[n for n, _ in every_driver()])
def test_each_driver_gives_complete_scs_metadata(name, cls):
    """Each driver's defaults make a complete scs-0102 record, valid as the standard
    says, for every image it publishes."""
    extra = ({"display_name": "Vendor OS", "file_regex": "x", "checksum_url": "SUMS",
              "properties": {"os_distro": "rhel", "os_version": "9", "os_admin_user": "cloud"}}
             if name == "generic" else {})   # a generic site's system is the operator's to name
    driver = drivers_util.make_driver(cls, name, "https://mirror.test/site/", **extra)
    arch = next(iter(cls.architectures))
    release = driver.release(architecture=arch, version="20261201", url=(
        "https://mirror.test/site/a/b.img"), build_date=datetime.date(2026, 12, 1),
        checksum_algo="sha256", checksum="a" * 64)
    properties = record.properties(release, NOW)
    assert properties["architecture"] in ("x86_64", "aarch64")
    assert properties["os_distro"]
    if name not in ("fedora", "cirros") and not name.startswith("flatcar"):
        assert properties["os_version"]   # those three name it per build
    assert properties["os_purpose"] in scs.PURPOSES[:1] + scs.PURPOSES[2:]
    assert properties.get("hw_disk_bus") in ("virtio", "scsi", None)
    assert properties["hypervisor_type"] == "qemu"
    assert properties.get("hw_rng_model") in ("virtio", None)
    assert properties["image_build_date"] == "2026-12-01"
    assert properties["image_original_user"] == properties.get("os_admin_user", "none")
    assert properties["image_source"].startswith("https://")
    assert properties["image_description"].startswith("https://")
    assert properties["replace_frequency"] in FREQUENCIES
    assert properties["provided_until"] == "none" or DATE.fullmatch(properties["provided_until"])
    assert properties["uuid_validity"] == "last-3"   # keep_versions 3, expire_action hide
    assert release.min_disk > 0 and release.min_ram > 0


@pytest.mark.parametrize("name,expected", [
    ("ubuntu-24.04", ("generic", "quarterly", "2029-04-30",
                      "https://cloud-images.ubuntu.com/releases/noble/")),
    ("ubuntu-24.04-minimal", ("minimal", "quarterly", "2029-04-30",
                              "https://cloud-images.ubuntu.com/minimal/releases/noble/")),
    ("debian-12", ("generic", "quarterly", "2028-06-30",
                   "https://www.debian.org/releases/bookworm/")),
    ("almalinux-9", ("generic", "yearly", "2032-05-31",
                     "https://wiki.almalinux.org/release-notes/")),
    ("rocky-10", ("generic", "yearly", "2035-05-31", "https://docs.rockylinux.org/release_notes/")),
    ("centos-stream-9", ("generic", "monthly", "2027-05-31",
                         "https://www.centos.org/centos-stream/")),
    ("flatcar-stable", ("k8snode", "quarterly", "none", "https://www.flatcar.org/releases")),
    ("fedora", ("generic", "yearly", "none", "https://fedoraproject.org/cloud/")),
    ("opensuse-leap-16.0", ("generic", "quarterly", "2027-10-31",
                            "https://get.opensuse.org/leap/")),
    ("cirros", ("minimal", "never", "none", "https://github.com/cirros-dev/cirros")),
])
def test_driver_defaults(name, expected):
    cls = drivers.available()[name]
    metadata = drivers_util.make_driver(cls, name, "https://mirror.test/").scs_metadata()
    assert (metadata["os_purpose"], metadata["replace_frequency"], metadata["provided_until"],
            metadata["image_description"]) == expected


def test_options_override_the_defaults_and_uuid_validity_follows_the_rotation():
    cls = drivers.available()["ubuntu-24.04"]
    driver = drivers_util.make_driver(cls, "ubuntu-24.04", "https://mirror.test/",
                                      keep_versions=2, versions=4, hotfix_hours=48,
                                      replace_frequency="monthly")
    metadata = driver.scs_metadata()
    assert (metadata["uuid_validity"], metadata["hotfix_hours"],
            metadata["replace_frequency"]) == ("last-4", "48", "monthly")
    none = drivers_util.make_driver(cls, "ubuntu-24.04", "https://mirror.test/",
                                    expire_action="none").scs_metadata()
    assert none["uuid_validity"] == "none"


def test_patchlevel_where_upstream_names_one():
    alma = drivers_util.make_driver(drivers.available()["almalinux-9"], "almalinux-9",
                                    "https://mirror.test/")
    assert alma.patchlevel("9.7-20251123") == "9.7"
    ubuntu = drivers_util.make_driver(drivers.available()["ubuntu-24.04"], "ubuntu-24.04",
                                      "https://mirror.test/")
    assert ubuntu.patchlevel("20261201") is None


def test_build_date_and_min_disk():
    assert scs.build_date(datetime.date(2026, 12, 3), NOW) == "2026-12-02"   # never ahead
    assert scs.build_date(datetime.date(2026, 11, 3), NOW) == "2026-11-03"
    assert scs.min_disk(8, 3 << 30, (10 << 30) + 1) == 11   # a raw conversion's size counts
    assert scs.min_disk(0, 1 << 20) == 1


def aged(days, frequency="monthly", until="2029-04-30", **fields):
    built = (NOW - datetime.timedelta(days=days)).strftime("%Y-%m-%d")
    return {"image_build_date": built, "replace_frequency": frequency,
            "provided_until": until, **fields}


@pytest.mark.parametrize("image,expected", [
    (aged(30), False), (aged(35), True), (aged(33), False),
    (aged(400, "yearly"), False), (aged(402, "yearly"), True),
    (aged(8.1, "weekly"), True), (aged(1.2, "daily"), True),
    (aged(5000, "never"), False), (aged(5000, "critical_bug"), False),
    (aged(50, until="none"), False), (aged(50, until="notice"), False),
    (aged(50, until="2026-01-01"), False),   # no longer provided: no promise to break
    ({"replace_frequency": "monthly", "provided_until": "2029-01-01",
      "created_at": "2026-01-01T00:00:00Z"}, True),   # created_at when no build date
])
def test_outdated_as_the_suite_judges_it(image, expected):
    assert scs.outdated(image, NOW) is expected


def scs_img(image_id, version, days, purpose="generic", **fields):
    return img(image_id, version, os_purpose=purpose, **aged(days), **fields)


def test_a_superseded_generic_image_becomes_oldgeneric_and_an_outdated_one_is_hidden():
    """latest_name: the new build takes the name and 'generic'; the previous one stays
    visible as oldgeneric; one older than its replace_frequency allows is hidden."""
    images = [scs_img("i3", "3", 10), scs_img("i2", "2", 50, purpose="oldgeneric"),
              scs_img("i1", "1", 90, purpose="oldgeneric", os_hidden=True)]
    policy = plan.Policy(keep=3, latest_name=True)
    planned = plan.plan([plan_rel("4")], images, "me", policy, NOW)
    kinds = [(a.kind, a.image_id or a.version, a.depends_on) for a in planned.actions]
    assert kinds == [
        ("upload", "4", ()),
        ("hide", "i2", ()),   # due without the new build: superseded already
        ("retire", "i3", ("upload 4 (x86_64)",)),
        ("rename", "4", ("upload 4 (x86_64)",)),
    ]
    assert "replace_frequency monthly allows" in planned.actions[1].reason


def plan_rel(version):
    release = rel(version)
    return release.__class__(**{**release.__dict__, "metadata": {
        **release.metadata, "os_purpose": "generic"}})


def test_the_newest_image_is_never_hidden_for_its_age():
    """Outdated with nothing newer: hiding it would leave no image (the suite then fails
    the cloud either way; the promise, replace_frequency, must fit upstream)."""
    planned = plan.plan([rel("3")], [scs_img("i3", "3", 400)], "me", plan.Policy(keep=3), NOW)
    assert [a.kind for a in planned.actions] == ["up-to-date"]


def test_an_upload_already_outdated_when_superseded_is_hidden_once_published():
    old, new = plan_rel("1"), plan_rel("2")
    old = old.__class__(**{**old.__dict__, "build_date": datetime.date(2026, 6, 1),
                           "metadata": {**old.metadata, "replace_frequency": "monthly",
                                        "provided_until": "2029-04-30"}})
    planned = plan.plan([new, old], [], "me", plan.Policy(keep=3), NOW)
    hide, = (a for a in planned.actions if a.kind == "hide")
    assert hide.version == "1" and hide.uploaded_by == "upload 1 (x86_64)"
