"""Another project forges imgsync's properties on its own images: imgsync is not steered.

The forger is a member-role user of project ``tenant`` in the vanilla Glance, which
has no property protections (the production-like Glance refuses the forgeries
outright: see test_production.py). imgsync runs as the admin of project ``admin``,
which lists every project's images.
"""

import re

import yaml

from tests.functional import mirror as mirror_mod

UBUNTU = "ubuntu-24.04"
FORGED = {"source": "imgsync", "imgsync.distro": UBUNTU, "architecture": "x86_64"}


def forge(view, checksum, workdir):
    """One forged image of each kind that used to steer imgsync; returns them by role."""
    data = mirror_mod.make_qcow2(workdir / "forged.qcow2", seed="forged").read_bytes()
    return {
        "up to date": view.create(
            data=data, name="test-Ubuntu 24.04 (20240423)",
            **FORGED, **{"imgsync.version": "20240423", "imgsync.sha256": checksum}).json(),
        "newer": view.create(
            data=data, name="test-Ubuntu 24.04 (99990101)",
            visibility="community",
            **FORGED, **{"imgsync.version": "99990101", "imgsync.sha256": "0" * 64}).json(),
        "stale pending": view.create(
            name="pending", **FORGED, **{"imgsync.version": "20230101",
                                         "imgsync.state": "pending",
                                         "imgsync.started_at": "2000-01-01T00:00:00Z"}).json(),
        "malformed": view.create(
            name="malformed", **FORGED, **{"imgsync.state": "pending",
                                           "imgsync.started_at": "yesterday"}).json(),
    }


def state(view, images):
    return {image["id"]: {key: view.get(image["id"]).get(key)
                          for key in ("name", "status", "updated_at", "visibility")}
            for image in images}


def test_forged_images_of_another_project_are_ignored(glance, mirror, write_config, imgsync,
                                                      tenant_session, tmp_path):
    root = mirror.root / "ubuntu"
    path = mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    forged = forge(glance.as_user(tenant_session), mirror_mod.sha(path, "sha256"), tmp_path)
    before = state(glance, forged.values())
    assert before[forged["up to date"]["id"]]["status"] == "active"   # as a real sync's
    assert before[forged["newer"]["id"]]["status"] == "active"
    own_malformed = glance.create(name="left by a crash", **FORGED, **{
        "imgsync.state": "pending", "imgsync.started_at": "not a time"}).json()
    catalog = tmp_path / "catalog"
    config = write_config([UBUNTU], extra=(
        f"[DEFAULT]\npending_grace_period = 0\ncatalog_dir = {catalog}\n"
        f"[{UBUNTU}]\nlatest_name = true\nkeep_versions = 1\nexpire_action = delete\n"))

    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stdout + first.stderr
    real = [i for i in glance.images() if i["id"] not in before]
    assert [(i["imgsync.version"], i["name"], i["visibility"]) for i in real] == [
        ("20240423", "test-Ubuntu 24.04", "public")]
    assert real[0]["os_hash_value"] == mirror_mod.sha(path, "sha512")
    assert state(glance, forged.values()) == before
    assert own_malformed["id"] not in {i["id"] for i in glance.images()}   # cleaned
    assert re.search(rf"WARNING .*{own_malformed['id']} has a malformed imgsync.started_at",
                     first.stderr)
    warnings = [line for line in first.stderr.splitlines() if "other projects" in line]
    assert len(warnings) == 1 and " WARNING " in warnings[0], first.stderr
    assert all(image["id"] in warnings[0] for image in forged.values())
    assert "Traceback" not in first.stderr
    versions = yaml.safe_load((catalog / "ubuntu.yml").read_text())["images"][0]["versions"]
    assert [v["id"] for v in versions] == [real[0]["id"]]

    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    second = imgsync("--config-file", config, "sync")
    assert second.returncode == 0, second.stdout + second.stderr
    real = [i for i in glance.images() if i["id"] not in before]
    assert [(i["imgsync.version"], i["name"]) for i in real] == [
        ("20240501", "test-Ubuntu 24.04")]
    assert state(glance, forged.values()) == before
    versions = yaml.safe_load((catalog / "ubuntu.yml").read_text())["images"][0]["versions"]
    assert [v["id"] for v in versions] == [real[0]["id"]]
