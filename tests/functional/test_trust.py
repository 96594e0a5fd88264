"""Trust the release, against the real Glance: a compromised mirror that replays an old,
genuinely signed build under a newer name, or drops a signature, changes nothing."""

import shutil

from tests.functional import mirror as mirror_mod

UBUNTU = "ubuntu-24.04"


def state(glance):
    """What a replay must not change: each image's id, name, visibility and hiding."""
    return {image["id"]: (image["name"], image["visibility"], image["os_hidden"],
                          image["status"]) for image in glance.images()}


def refused(run, fragment):
    """Exit 1 with one ERROR line, the refusal naming ``fragment``, and no traceback."""
    assert run.returncode == 1, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "refused build" in errors[0] and fragment in errors[0], \
        run.stderr
    assert "Traceback" not in run.stderr


def replay(root, old, new):
    """Copy the signed build ``old`` (checksums, signature, image) under the name ``new``,
    as a compromised mirror can."""
    releases = root / "releases" / "noble"
    shutil.copytree(releases / f"release-{old}", releases / f"release-{new}")


def test_replayed_builds_change_nothing_in_glance(glance, mirror, write_config, imgsync):
    """Builds signed on their dates, the newest named plainly (latest_name); then the old
    build under a later name, under a future name, and the newest under the next day's
    name (a signature time that fits, but bytes imgsync already has)."""
    root = mirror.root / "ubuntu"
    config = write_config([UBUNTU], extra=f"[{UBUNTU}]\nlatest_name = true\n")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    assert imgsync("--config-file", config, "sync").returncode == 0
    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    second = imgsync("--config-file", config, "sync")
    assert second.returncode == 0, second.stderr
    before = state(glance)
    names = {image["imgsync.version"]: image["name"] for image in glance.images()}
    assert names == {"20240501": "test-Ubuntu 24.04", "20240423": "test-Ubuntu 24.04 (20240423)"}
    newest, = (i for i in glance.images() if i["imgsync.version"] == "20240501")
    assert newest["imgsync.signed_at"] == "2024-05-01T12:00:00Z"

    replay(root, "20240423", "20240601")
    mirror.requests.clear()
    refused(imgsync("--config-file", config, "sync"),
            "was signed on 2024-04-23 12:00 UTC, before the build date 2024-06-01")
    assert mirror.image_requests() == [] and state(glance) == before

    shutil.rmtree(root / "releases" / "noble" / "release-20240601")
    replay(root, "20240423", "20990101")
    refused(imgsync("--config-file", config, "sync"), "its build date 2099-01-01 lies in the "
                                                      "future")
    assert mirror.image_requests() == [] and state(glance) == before

    shutil.rmtree(root / "releases" / "noble" / "release-20990101")
    replay(root, "20240501", "20240502")
    refused(imgsync("--config-file", config, "sync"),
            "are those imgsync published as build 20240501 (x86_64) in image "
            f"{newest['id']}: an old build replayed under a new name")
    assert mirror.image_requests() == [] and state(glance) == before

    shutil.rmtree(root / "releases" / "noble" / "release-20240502")   # the mirror repaired
    again = imgsync("--config-file", config, "sync")
    assert again.returncode == 0, again.stderr
    assert state(glance) == before


def test_older_genuine_builds_are_still_synced(glance, mirror, write_config, imgsync):
    """versions = 3: each build signed on its own date passes, oldest included."""
    root = mirror.root / "ubuntu"
    for serial in ("20240401", "20240501", "20240601"):
        mirror_mod.add_ubuntu_build(root, "24.04", serial)
    run = imgsync("--config-file", write_config([UBUNTU], extra=f"[{UBUNTU}]\nversions = 3\n"),
                  "sync")
    assert run.returncode == 0, run.stderr
    assert sorted(i["imgsync.version"] for i in glance.images()) == [
        "20240401", "20240501", "20240601"]


def test_a_dropped_signature_fails_once_the_instance_is_signed(glance, mirror, write_config,
                                                              imgsync):
    """signature = if-published: signed images first; then a build without SHA256SUMS.gpg
    fails the instance, until the operator allows the downgrade explicitly."""
    root = mirror.root / "ubuntu"
    extra = f"[{UBUNTU}]\nsignature = if-published\n"
    config = write_config([UBUNTU], extra=extra)
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    assert imgsync("--config-file", config, "sync").returncode == 0
    before = state(glance)
    signed, = glance.images()
    fingerprint = signed["imgsync.signed_by"]

    path = mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    (path.parent / "SHA256SUMS.gpg").unlink()
    mirror.requests.clear()
    run = imgsync("--config-file", config, "sync")
    refused(run, "no valid signature of ")
    assert (f"although imgsync's images of {UBUNTU} are signed (image {signed['id']}, by "
            f"{fingerprint})") in run.stderr
    assert f"set [{UBUNTU}] allow_signature_downgrade = true" in run.stderr
    assert "used unsigned because [ubuntu-24.04] signature = if-published" in run.stderr
    assert mirror.image_requests() == [] and state(glance) == before

    config.write_text(config.read_text().replace(
        extra, extra + "allow_signature_downgrade = true\n"))
    allowed = imgsync("--config-file", config, "sync")
    assert allowed.returncode == 0, allowed.stderr
    assert "used unsigned because" in allowed.stderr
    unsigned, = (i for i in glance.images() if i["imgsync.version"] == "20240501")
    assert "imgsync.signed_by" not in unsigned and unsigned["status"] == "active"
