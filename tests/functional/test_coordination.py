"""[coordination] backend_url: tooz locks in a real redis-server shared by all runs."""

import pytest
from tooz import coordination

from tests.functional import checks
from tests.functional import mirror as mirror_mod
from tests.functional.conftest import free_port
from tests.functional.test_lifecycle import UBUNTU


@pytest.mark.parametrize("lock_timeout,second", [(0, "locked"), (120, "up-to-date")])
def test_coordination_lock_serialises_runs_with_separate_lock_paths(
        glance, mirror, write_config, redis_url, tmp_path, lock_timeout, second):
    """Runs as if on two hosts: only the redis lock can keep them from uploading twice."""
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra=(
        f"[DEFAULT]\nlock_timeout = {lock_timeout}\nlock_path = {tmp_path / 'host-a'}\n\n"
        f"[coordination]\nbackend_url = {redis_url}\n"))
    other = tmp_path / "host-b.conf"
    other.write_text(config.read_text().replace(str(tmp_path / "host-a"),
                                                str(tmp_path / "host-b")))
    image = checks.overlapping_runs(glance, mirror, config, other, second, tmp_path)
    assert image["imgsync.version"] == "20240423"
    assert not (tmp_path / "host-a").exists() and not (tmp_path / "host-b").exists()


def test_coordination_backend_unreachable(glance, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    url = f"redis://:s3cret@127.0.0.1:{free_port()}"
    result = imgsync("--config-file", write_config(
        [UBUNTU], extra=f"[coordination]\nbackend_url = {url}\n"), "sync")
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert f"coordination backend {url.replace('s3cret', '***')}: cannot connect" in errors[0]
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    assert glance.images() == []


def test_a_lock_held_by_a_holder_that_never_registered_fails_the_instance(
        glance, mirror, write_config, imgsync, redis_url):
    """Not an imgsync run (it never joined imgsync-lock-holders): reported, not skipped
    as locked on every run forever."""
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra=f"[coordination]\nbackend_url = {redis_url}\n")
    stranger = coordination.get_coordinator(redis_url, b"stranger")
    stranger.start(start_heart=True)
    try:
        lock = stranger.get_lock(f"imgsync-{UBUNTU}".encode())
        assert lock.acquire(blocking=False)
        try:
            result = imgsync("--config-file", config, "sync")
        finally:
            lock.release()
    finally:
        stranger.stop()
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert (f"{UBUNTU}: the lock imgsync-{UBUNTU} in {redis_url} is held by a holder that "
            "never registered in imgsync-lock-holders") in errors[0]
    assert "Traceback" not in result.stderr
    assert glance.images() == [] and mirror.image_requests() == []
