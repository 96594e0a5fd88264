"""Checks and helpers shared by the functional tests."""

import subprocess
import sys
import time

from tests.functional import mirror


def rerun_changes_nothing(imgsync, config, glance, mirror, count):
    """A second run reports ``count`` drivers up to date, reads no image and changes nothing."""
    before = {image["id"]: image["updated_at"] for image in glance.images()}
    mirror.requests.clear()
    second = imgsync("--config-file", config, "sync")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("up-to-date") == count
    assert mirror.image_requests() == []
    assert {image["id"]: image["updated_at"] for image in glance.images()} == before


def stored_as_published(image, name, path):
    """The image is active, public, named ``test-<name>`` and holds exactly ``path``'s bytes."""
    assert image["name"] == f"test-{name}"
    assert image["status"] == "active" and image["visibility"] == "public"
    assert (image["disk_format"], image["container_format"]) == ("qcow2", "bare")
    assert image["size"] == path.stat().st_size
    assert image["os_hash_value"] == mirror.sha(path, "sha512")


def start_sync(config):
    return subprocess.Popen([sys.executable, "-m", "imgsync", "--config-file", str(config),
                             "sync"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def overlapping_runs(glance, mirror, first_config, second_config, second_word):
    """Start a sync, start another once the first has created its image; both must end
    well with exactly one upload, the second reporting ``second_word``."""
    mirror.set_faults(slow=0.05)
    first = start_sync(first_config)
    wait_for(lambda: glance.images())
    later = start_sync(second_config)
    outputs = [p.communicate(timeout=240) for p in (first, later)]
    assert (first.returncode, later.returncode) == (0, 0), outputs
    image, = glance.images()
    assert image["status"] == "active"
    assert "uploaded" in outputs[0][0] and second_word in outputs[1][0]
    assert len(mirror.image_requests()) == 1
    return image
