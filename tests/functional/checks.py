"""Checks and helpers shared by the functional tests."""

import pathlib
import subprocess
import sys
import threading
import time

from tests.functional import mirror


def rerun_changes_nothing(imgsync, config, glance, mirror, count):
    """A second run reports ``count`` drivers up to date, reads no image and changes nothing."""
    before = {image["id"]: image["updated_at"] for image in glance.images()}
    mirror.requests.clear()
    second = imgsync("--config-file", config, "sync")
    assert second.returncode == 0, second.stderr
    assert [line.split()[1] for line in second.stdout.splitlines()[1:-1]].count(
        "up-to-date") == count
    assert mirror.image_requests() == []
    assert {image["id"]: image["updated_at"] for image in glance.images()} == before


def stored_as_published(image, name, path):
    """The image is active, public, named ``test-<name>`` and holds exactly ``path``'s bytes."""
    assert image["name"] == f"test-{name}"
    assert image["status"] == "active" and image["visibility"] == "public"
    assert (image["disk_format"], image["container_format"]) == ("qcow2", "bare")
    assert image["size"] == path.stat().st_size
    assert image["os_hash_value"] == mirror.sha(path, "sha512")


def start_sync(config, stderr=subprocess.PIPE):
    return subprocess.Popen([sys.executable, "-m", "imgsync", "--config-file", str(config),
                             "sync"], stdout=subprocess.PIPE, stderr=stderr, text=True)


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def overlapping_runs(glance, mirror, first_config, second_config, second_word, workdir):
    """Two syncs of one driver at once: both must end well with exactly one upload.

    The mirror holds the image back, so the first run is mid-download, holding the
    driver's lock, for as long as the test needs: the second run then reports
    ``locked`` before the image is released, or (``up-to-date``, with lock_timeout)
    says it waits for the lock, the image is released, and it finds the upload done.
    """
    release = threading.Event()
    mirror.set_faults(hold=release)
    first, later = start_sync(first_config), None
    try:
        wait_for(mirror.image_requests)
        log = pathlib.Path(workdir, "second.log")
        with open(log, "w") as stderr:
            later = start_sync(second_config, stderr=stderr)
            if second_word == "locked":
                second_out = later.communicate(timeout=120)[0]
            else:
                wait_for(lambda: "waiting up to" in log.read_text(), timeout=120)
        release.set()
        first_out, first_err = first.communicate(timeout=240)
        if second_word != "locked":
            second_out = later.communicate(timeout=240)[0]
    finally:
        release.set()
        for process in (first, later):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    outputs = (first_out, first_err, second_out, log.read_text())
    assert (first.returncode, later.returncode) == (0, 0), outputs
    image, = glance.images()
    assert image["status"] == "active"
    assert "uploaded" in first_out and second_word in second_out, outputs
    assert len(mirror.image_requests()) == 1
    return image
