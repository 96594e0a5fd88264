import socket
import time

import pytest

from imgsync import exceptions
from imgsync import locking
from imgsync import tooz_locks


@pytest.fixture
def backend(tmp_path):
    """A tooz file:// backend: its locks exclude each other within one process too."""
    return f"file://{tmp_path / 'tooz'}"


def test_tooz_lock_held_not_held_and_released(backend):
    with tooz_locks.ToozLocks(backend, 0) as first, tooz_locks.ToozLocks(backend, 0) as second:
        with first.hold("ubuntu-24.04") as held:
            assert held is True
            with second.hold("ubuntu-24.04") as other:
                assert other is False
            with second.hold("debian-12") as other:
                assert other is True
        with second.hold("ubuntu-24.04") as held:
            assert held is True


def test_tooz_lock_waits_for_lock_timeout(backend):
    with tooz_locks.ToozLocks(backend, 0) as first, tooz_locks.ToozLocks(backend, 1) as second:
        with first.hold("ubuntu-24.04"):
            started = time.monotonic()
            with second.hold("ubuntu-24.04") as held:
                assert held is False
            assert 0.9 <= time.monotonic() - started < 10


def test_tooz_lock_is_released_when_the_body_fails(backend):
    with tooz_locks.ToozLocks(backend, 0) as locks:
        with pytest.raises(RuntimeError), locks.hold("ubuntu-24.04"):
            raise RuntimeError("upload failed")
        with locks.hold("ubuntu-24.04") as held:
            assert held is True


def test_unreachable_backend_names_it_with_the_password_masked():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"redis://:s3cret@127.0.0.1:{port}"
    with pytest.raises(exceptions.CoordinationError) as error:
        with tooz_locks.ToozLocks(url, 0):
            pass
    message = str(error.value)
    assert f"redis://:***@127.0.0.1:{port}" in message and "s3cret" not in message


def test_unknown_backend_scheme():
    with pytest.raises(exceptions.CoordinationError, match="bogus://host"):
        with tooz_locks.ToozLocks("bogus://host", 0):
            pass


@pytest.mark.parametrize("url,masked", [
    ("redis://:pw@host:6379", "redis://:***@host:6379"),
    ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
    ("redis://host:6379?sentinel=m&password=pw", "redis://host:6379?sentinel=m&password=***"),
    ("etcd3+http://host:2379", "etcd3+http://host:2379"),
])
def test_mask_url(url, masked):
    assert tooz_locks.mask_url(url) == masked


def test_file_lock_records_its_holder_and_excludes_others(tmp_path):
    first = locking.FileLocks(tmp_path / "locks", 0, stale_after=3600)
    second = locking.FileLocks(tmp_path / "locks", 0, stale_after=3600)
    with first.hold("ubuntu-24.04") as held:
        assert held is True
        pid, host, since = (tmp_path / "locks" / "ubuntu-24.04.lock").read_text().split()
        assert int(pid) > 0 and host == socket.gethostname()
        assert abs(float(since) - time.time()) < 60
        with second.hold("ubuntu-24.04") as other:
            assert other is False
    with second.hold("ubuntu-24.04") as held:
        assert held is True


def test_a_lock_held_past_lock_stale_after_fails_the_driver(tmp_path):
    first = locking.FileLocks(tmp_path, 0, stale_after=3600)
    second = locking.FileLocks(tmp_path, 0, stale_after=3600)
    with first.hold("ubuntu-24.04"):
        (tmp_path / "ubuntu-24.04.lock").write_text(f"4242 other-host {time.time() - 7300:.0f}\n")
        with pytest.raises(exceptions.LockStale) as stale:
            with second.hold("ubuntu-24.04"):
                pass
    message = str(stale.value)
    assert "ubuntu-24.04.lock" in message and "pid 4242 on other-host" in message
    assert "2.0 h" in message and "lock_stale_after" in message


def test_an_unusable_lock_directory_fails_at_once(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        locking.FileLocks(tmp_path / "file" / "locks", 0)


def test_tooz_lock_held_past_lock_stale_after_fails_the_driver(backend):
    with tooz_locks.ToozLocks(backend, 0, stale_after=3600) as first, \
            tooz_locks.ToozLocks(backend, 0, stale_after=3600) as second:
        with first.hold("ubuntu-24.04") as held:
            assert held is True
            with second.hold("ubuntu-24.04") as other:   # held for a moment only
                assert other is False
            first._record("ubuntu-24.04", time.time() - 7300)
            with pytest.raises(exceptions.LockStale) as stale:
                with second.hold("ubuntu-24.04"):
                    pass
        with second.hold("ubuntu-24.04") as held:          # released: no longer stale
            assert held is True
    message = str(stale.value)
    assert "imgsync-ubuntu-24.04" in message and "2.0 h" in message
    assert f"on {socket.gethostname()}" in message
