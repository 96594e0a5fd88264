"""Safe publication and image lifecycle, against the real Glance."""

import json
import pathlib
import shutil
import signal
import subprocess
import threading

import jsonschema
import pytest

from tests.functional import checks
from tests.functional import mirror as mirror_mod

UBUNTU = "ubuntu-24.04"


def republish(image, replacement):
    """Put other data at an image's path and publish its correct checksum, as upstream would."""
    old = mirror_mod.sha(image, "sha256")
    shutil.copyfile(replacement, image)
    new = mirror_mod.sha(image, "sha256")
    sums = image.parent / "SHA256SUMS"
    sums.write_text(sums.read_text().replace(old, new))
    mirror_mod.sign_detached(sums, ".gpg")
    latest = image.parent.parent / "release"
    shutil.rmtree(latest)
    shutil.copytree(image.parent, latest)


def test_staged_import_is_the_default_and_a_bad_checksum_leaves_nothing(
        glance, mirror, write_config, imgsync):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    good = imgsync("--config-file", write_config([UBUNTU]), "sync")
    assert good.returncode == 0, good.stderr
    assert "glance-direct" in good.stderr
    glance.delete_all()
    mirror_mod.add_ubuntu_build(root, "24.04", "20240501", checksum="f" * 64)
    bad = imgsync("--config-file", write_config([UBUNTU], extra="[DEFAULT]\n"
                                                "upload_method = glance-direct\n"), "sync")
    assert bad.returncode == 1
    assert "checksum mismatch" in bad.stderr and "f" * 64 in bad.stderr
    assert glance.images() == []


def test_put_upload_method(glance, mirror, write_config, imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    run = imgsync("--config-file",
                  write_config([UBUNTU], extra="[DEFAULT]\nupload_method = put\n"), "sync")
    assert run.returncode == 0, run.stderr
    assert ", put)" in run.stderr
    image, = glance.images()
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")
    assert image["visibility"] == "public" and image["os_hidden"] is False


def test_web_download_needs_a_comparable_checksum(glance, mirror, write_config, imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra="[DEFAULT]\nupload_method = web-download\n")
    refused = imgsync("--config-file", config, "sync")
    assert refused.returncode == 1
    assert "web_download_unverified" in refused.stderr and glance.images() == []
    assert mirror.image_requests() == []

    config.write_text(config.read_text() + "web_download_unverified = true\n")
    accepted = imgsync("--config-file", config, "sync")
    assert accepted.returncode == 0, accepted.stderr
    image, = glance.images()
    assert image["status"] == "active" and image["os_hidden"] is False
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")


def test_qcow2_with_a_backing_file_is_refused(glance, mirror, write_config, imgsync, tmp_path):
    image = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    base = mirror_mod.make_qcow2(tmp_path / "base.qcow2", seed="base")
    evil = tmp_path / "evil.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw",
                    str(evil)], check=True)
    assert base.exists()
    republish(image, evil)
    for method in ("glance-direct", "put"):
        run = imgsync("--config-file", write_config(
            [UBUNTU], extra=f"[DEFAULT]\nupload_method = {method}\n"), "sync")
        assert run.returncode == 1
        assert "backing_file" in run.stderr and image.name in run.stderr
        assert glance.images() == []


def test_data_that_is_not_qcow2_is_refused(glance, mirror, write_config, imgsync, tmp_path):
    image = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    raw = tmp_path / "disk.raw"
    raw.write_bytes(bytes(1 << 20))
    republish(image, raw)
    run = imgsync("--config-file", write_config([UBUNTU]), "sync")
    assert run.returncode == 1
    assert "qcow2" in run.stderr and image.name in run.stderr
    assert glance.images() == []


def test_rotation_keeps_the_newest_two_across_three_releases(glance, mirror, write_config,
                                                              imgsync):
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU], extra=f"[{UBUNTU}]\nkeep_versions = 2\n")
    for serial in ("20240401", "20240501", "20240601"):
        mirror_mod.add_ubuntu_build(root, "24.04", serial)
        run = imgsync("--config-file", config, "sync")
        assert run.returncode == 0, run.stderr
    state = {i["imgsync.version"]: (i["status"], i["os_hidden"]) for i in glance.images()}
    assert state == {"20240601": ("active", False), "20240501": ("active", False),
                     "20240401": ("active", True)}

    mirror_mod.add_ubuntu_build(root, "24.04", "20240701")
    plan = imgsync("--config-file", config, "sync", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "would-upload" in plan.stdout and "20240701" in plan.stdout
    assert "would-hide" in plan.stdout and "20240501" in plan.stdout
    assert len(glance.images()) == 3

    config.write_text(config.read_text() + "expire_action = delete\n")
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    assert sorted(i["imgsync.version"] for i in glance.images()) == ["20240601", "20240701"]


def test_deactivate_expired_images(glance, mirror, write_config, imgsync):
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU], extra=f"[{UBUNTU}]\nkeep_versions = 1\n"
                                          "expire_action = deactivate\n")
    for serial in ("20240401", "20240501"):
        mirror_mod.add_ubuntu_build(root, "24.04", serial)
        assert imgsync("--config-file", config, "sync").returncode == 0
    state = {i["imgsync.version"]: i["status"] for i in glance.images()}
    assert state == {"20240501": "active", "20240401": "deactivated"}
    again = imgsync("--config-file", config, "sync")
    assert again.returncode == 0 and "uploaded" not in again.stdout


def test_run_killed_mid_upload_is_cleaned_up_by_the_next(glance, mirror, write_config,
                                                         imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU])
    release = threading.Event()
    mirror.set_faults(hold=release)
    process = checks.start_sync(config)
    try:
        checks.wait_for(mirror.image_requests)   # the image record exists, its data is due
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        release.set()
    leftover, = glance.images()
    assert leftover["imgsync.state"] == "pending" and leftover["os_hidden"] is True
    assert leftover["visibility"] == "private" and leftover["status"] != "active"

    mirror.set_faults()
    kept = imgsync("--config-file", config, "sync")   # within the grace period
    assert kept.returncode == 0, kept.stderr
    assert leftover["id"] in {i["id"] for i in glance.images()}

    config.write_text(config.read_text() + "[DEFAULT]\npending_grace_period = 0\n")
    cleaned = imgsync("--config-file", config, "sync")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "cleaned" in cleaned.stdout
    images = glance.images()
    assert [(i["status"], i.get("imgsync.state")) for i in images] == [("active", None)]


@pytest.mark.parametrize("lock_timeout,second", [(0, "locked"), (120, "up-to-date")])
def test_overlapping_runs_upload_each_version_once(glance, mirror, write_config, lock_timeout,
                                                   second, tmp_path):
    """The second run skips the driver being synced, or waits and finds it up to date.

    One driver only: the test Glance's sqlite cannot take two concurrent imports
    (a production Glance on MySQL or PostgreSQL can).
    """
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra=f"[DEFAULT]\nlock_timeout = {lock_timeout}\n")
    image = checks.overlapping_runs(glance, mirror, config, config, second, tmp_path)
    assert image["imgsync.version"] == "20240423"


def test_latest_name_moves_to_the_new_image_once_it_is_active(glance, mirror, write_config,
                                                              imgsync):
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU], extra=f"[{UBUNTU}]\nlatest_name = true\n")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240401")
    assert imgsync("--config-file", config, "sync").returncode == 0
    assert [i["name"] for i in glance.images()] == ["test-Ubuntu 24.04"]

    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    plan = imgsync("--config-file", config, "sync", "--dry-run")
    assert "would-rename" in plan.stdout and "test-Ubuntu 24.04 (20240401)" in plan.stdout
    assert [i["name"] for i in glance.images()] == ["test-Ubuntu 24.04"]

    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    names = {i["imgsync.version"]: i["name"] for i in glance.images()}
    assert names == {"20240501": "test-Ubuntu 24.04", "20240401": "test-Ubuntu 24.04 (20240401)"}
    assert imgsync("--config-file", config, "sync").stdout.count("renamed") == 0

    config.write_text(config.read_text().replace("latest_name = true", "latest_name = false"))
    back = imgsync("--config-file", config, "sync")
    assert back.returncode == 0, back.stderr
    assert sorted(i["name"] for i in glance.images()) == [
        "test-Ubuntu 24.04 (20240401)", "test-Ubuntu 24.04 (20240501)"]


def test_in_use_check_without_nova_expires_nothing(glance, mirror, write_config, imgsync):
    """The test cloud has no Nova: with skip_images_in_use the run fails clearly and the
    older image stays as it was, rather than being expired on a guess."""
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU], extra=f"[DEFAULT]\nskip_images_in_use = true\n"
                                          f"[{UBUNTU}]\nkeep_versions = 1\n")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240401")
    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stderr
    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    second = imgsync("--config-file", config, "sync")
    assert second.returncode == 1, second.stdout + second.stderr
    assert "compute" in second.stderr.lower() or "nova" in second.stderr.lower()
    assert "Traceback" not in second.stderr
    state = {i["imgsync.version"]: (i["status"], i["os_hidden"]) for i in glance.images()}
    assert state == {"20240401": ("active", False), "20240501": ("active", False)}


SCHEMA = json.loads((pathlib.Path(__file__).parents[2] / "etc/imgsync/report.schema.json")
                    .read_text())


def sync_actions(imgsync, config, *options):
    """Run sync with JSON output, checked against etc/imgsync/report.schema.json."""
    run = imgsync("--config-file", config, "sync", "--format", "json", *options)
    document = json.loads(run.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["summary"]["bytes"] == sum(r["bytes"] for r in document["results"])
    return run, document["results"]


def test_the_run_does_what_the_dry_run_planned_and_a_failed_upload_costs_only_its_own(
        glance, mirror, write_config, imgsync):
    """latest_name, rotation and two architectures; the second upload fails."""
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU], extra=f"[{UBUNTU}]\nlatest_name = true\nkeep_versions = 1\n"
                                          "architectures = x86_64,aarch64\n")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240401", arches=("amd64", "arm64"))
    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stderr
    before = {(i["architecture"], i["imgsync.version"]): i for i in glance.images()}
    stable = {"x86_64": "test-Ubuntu 24.04", "aarch64": "test-Ubuntu 24.04 aarch64"}
    assert {a: before[a, "20240401"]["name"] for a in stable} == stable

    mirror_mod.add_ubuntu_build(root, "24.04", "20240501", arches=("amd64", "arm64"))
    mirror.fault("20240501/ubuntu-24.04-server-cloudimg-arm64.img", status=503)
    dry, planned = sync_actions(imgsync, config, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert {(i["id"], i["name"], i["os_hidden"]) for i in glance.images()} == {
        (i["id"], i["name"], i["os_hidden"]) for i in before.values()}
    old = {arch: before[arch, "20240401"]["id"] for arch in stable}
    versioned = {arch: f"{name} (20240401)" for arch, name in stable.items()}
    assert [(a["action"], a["architecture"], a["version"], a["name"], a["image_id"])
            for a in planned] == [
        ("would-upload", "x86_64", "20240501", "test-Ubuntu 24.04 (20240501)", ""),
        ("would-upload", "aarch64", "20240501", "test-Ubuntu 24.04 aarch64 (20240501)", ""),
        *[("would-hide", arch, "20240401", stable[arch], old[arch])
          for arch in ("aarch64", "x86_64")],
        *[row for arch in ("aarch64", "x86_64") for row in (
            ("would-rename", arch, "20240401", versioned[arch], old[arch]),
            ("would-rename", arch, "20240501", stable[arch], ""))]]

    real, done = sync_actions(imgsync, config)
    assert real.returncode == 1, real.stdout + real.stderr
    assert [(a["architecture"], a["version"], a["name"]) for a in done] == [
        (a["architecture"], a["version"], a["name"]) for a in planned]
    outcome = {"would-upload": "uploaded", "would-hide": "hidden", "would-rename": "renamed"}
    assert [a["action"] for a in done] == [
        outcome[p["action"]] if p["architecture"] == "x86_64" else
        "failed" if p["action"] == "would-upload" else "skipped" for p in planned]
    assert "503" in done[1]["error"] and "upload 20240501 (aarch64)" in done[2]["reason"]
    new_x86 = done[0]["image_id"]
    assert done[-1]["image_id"] == new_x86
    state = {i["id"]: (i["name"], i["os_hidden"]) for i in glance.images()}
    assert state == {old["x86_64"]: (versioned["x86_64"], True),
                     new_x86: (stable["x86_64"], False), old["aarch64"]: (stable["aarch64"], False)}

    mirror.set_faults()
    again, redone = sync_actions(imgsync, config)
    assert again.returncode == 0, again.stderr
    assert [(a["action"], a["architecture"]) for a in redone] == [
        ("up-to-date", "x86_64"), ("uploaded", "aarch64"), ("hidden", "aarch64"),
        ("renamed", "aarch64"), ("renamed", "aarch64")]
    assert redone[0]["name"] == stable["x86_64"] and redone[0]["image_id"] == new_x86
    names = sorted((i["name"], i["os_hidden"]) for i in glance.images())
    assert names == sorted([(stable[a], False) for a in stable]
                           + [(versioned[a], True) for a in stable])


def test_status_says_in_sync_behind_or_failing_without_downloading(glance, mirror, write_config,
                                                                   imgsync):
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU])
    mirror_mod.add_ubuntu_build(root, "24.04", "20240401")
    assert imgsync("--config-file", config, "sync").returncode == 0

    def status():
        run = imgsync("--config-file", config, "status", "--format", "json")
        return run, json.loads(run.stdout)["instances"]

    run, rows = status()
    assert run.returncode == 0, run.stderr
    assert [(r["instance"], r["upstream"], r["glance"], r["state"]) for r in rows] == [
        (UBUNTU, "20240401", "20240401", "in-sync")]
    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    mirror.requests.clear()
    run, rows = status()
    assert run.returncode == 0 and [(r["upstream"], r["glance"], r["state"]) for r in rows] == [
        ("20240501", "20240401", "behind")]
    assert mirror.image_requests() == []
    mirror.fault("SHA256SUMS", status=503)
    run, rows = status()
    assert run.returncode == 1 and rows[0]["state"] == "failing" and "503" in rows[0]["error"]
    table = imgsync("--config-file", config, "status").stdout.splitlines()
    assert table[0].split() == ["INSTANCE", "TARGET", "UPSTREAM", "GLANCE", "STATE"]
    assert table[1].split()[:2] == [UBUNTU, "-"] and "failing" in table[1]
