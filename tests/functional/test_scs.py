"""Images that pass the Sovereign Cloud Stack's image rules (tests/functional/scs_rules.py),
as a member of another project sees both test Glances: after a first sync and after a
newer build with the default rotation."""

import datetime
import json

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.functional import mirror as mirror_mod
from tests.functional import scs_rules
from tests.functional import stack as stack_mod

DISTROS = ["ubuntu-24.04", "debian-12"]
REGIONS = f"{stack_mod.REGION},{stack_mod.PRODUCTION_REGION}"


def serial(days_ago, debian=False):
    day = datetime.date.today() - datetime.timedelta(days=days_ago)
    return f"{day:%Y%m%d}" + (f"-{1000 + days_ago}" if debian else "")


def publish(root, days_ago):
    mirror_mod.add_ubuntu_build(root / "ubuntu", "24.04", serial(days_ago))
    mirror_mod.add_debian_build(root / "debian", "bookworm", "12", serial(days_ago, True))


@pytest.fixture
def tenant(cloud):
    return ks_session.Session(auth=v3.Password(**{
        key: value for key, value in cloud.tenant.items() if key != "project_id"}))


def listed(session, url):
    """What the suite sees: the default listing (no hidden images) of another project's
    member, public and community images."""
    response = session.get(f"{url}/v2/images", params={"member_status": "all",
                                                        "limit": 1000})
    response.raise_for_status()
    return [i for i in response.json()["images"] if i["visibility"] in ("public", "community")]


def judge(tenant, cloud):
    now = datetime.datetime.now(datetime.timezone.utc)
    seen = {region: listed(tenant, url) for region, url in (
        (stack_mod.REGION, cloud.glance_url), (stack_mod.PRODUCTION_REGION,
                                               cloud.production_url))}
    for region, images in seen.items():
        assert scs_rules.violations(images, now) == [], (region, json.dumps(images, indent=1))
    return seen


def test_scs_rules_hold_after_a_sync_and_after_rotation(cloud, glance, production, mirror,
                                                        write_config, imgsync, tenant):
    publish(mirror.root, 130)   # superseded at once, and older than 'quarterly' allows
    publish(mirror.root, 40)
    groups = "".join(f"[{name}]\nlatest_name = true\nversions = 2\n"
                     "replace_frequency = quarterly\n" for name in DISTROS)
    config = write_config(DISTROS, extra="[DEFAULT]\nprefix =\nproperties =\n"
                                         f"[glance]\nregion_names = {REGIONS}\n" + groups)
    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stdout + first.stderr
    seen = judge(tenant, cloud)
    for images in seen.values():
        assert sorted(i["name"] for i in images) == ["Debian 12", "Ubuntu 24.04"]
        for image in images:
            assert {"os:ubuntu", "os:debian"} & set(image["tags"])
            assert "managed_by_imgsync" in image["tags"]
    hidden = [i for i in glance.images() if i["os_hidden"]]
    assert sorted(i["imgsync.version"] for i in hidden) == sorted([serial(130),
                                                                   serial(130, True)])
    converted, = (i for i in production.images() if i["name"] == "Ubuntu 24.04")
    assert converted["disk_format"] == "raw"
    assert converted["min_disk"] * (1 << 30) >= converted["size"]

    publish(mirror.root, 2)
    second = imgsync("--config-file", config, "sync")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "retired" in second.stdout
    seen = judge(tenant, cloud)
    for images in seen.values():
        purposes = {i["name"]: i["os_purpose"] for i in images}
        assert purposes == {"Ubuntu 24.04": "generic", "Debian 12": "generic",
                            f"Ubuntu 24.04 ({serial(40)})": "oldgeneric",
                            f"Debian 12 ({serial(40, True)})": "oldgeneric"}


def test_the_rules_catch_what_they_are_for():
    """The checker itself: a current image older than its promise, a second generic
    image and a source that is not upstream's are each caught."""
    now = datetime.datetime(2026, 12, 2, tzinfo=datetime.timezone.utc)
    good = {"name": "Ubuntu 24.04", "visibility": "public", "architecture": "x86_64",
            "min_disk": 8, "size": 3 << 30, "virtual_size": 3 << 30, "min_ram": 512,
            "os_distro": "ubuntu", "os_version": "24.04", "os_purpose": "generic",
            "hw_disk_bus": "scsi", "hypervisor_type": "qemu", "hw_rng_model": "virtio",
            "image_original_user": "ubuntu", "image_description": "https://x/",
            "image_source": "https://cloud-images.ubuntu.com/noble/20261130/a.img",
            "replace_frequency": "quarterly", "provided_until": "2029-04-30",
            "uuid_validity": "last-3", "image_build_date": "2026-11-30",
            "created_at": "2026-12-01T00:00:00Z"}
    assert scs_rules.violations([good], now) == []
    stale = {**good, "image_build_date": "2026-05-01"}
    assert scs_rules.violations([stale], now) == [
        "Ubuntu 24.04: outdated without a fresh replacement"]
    second = {**good, "name": "Ubuntu 24.04 (20261001)"}
    assert "more than one generic image" in scs_rules.violations([good, second], now)[0]
    mirrored = {**good, "image_source": "https://mirror.example/noble/a.img"}
    assert "is not upstream's" in scs_rules.violations([mirrored], now)[0]
