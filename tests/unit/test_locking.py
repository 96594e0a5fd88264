import socket
import time

import pytest

from imgsync import exceptions
from imgsync import locking


@pytest.fixture
def backend(tmp_path):
    """A tooz file:// backend: its locks exclude each other within one process too."""
    return f"file://{tmp_path / 'tooz'}"


def test_tooz_lock_held_not_held_and_released(backend):
    with locking.ToozLocks(backend, 0) as first, locking.ToozLocks(backend, 0) as second:
        with first.hold("ubuntu-24.04") as held:
            assert held is True
            with second.hold("ubuntu-24.04") as other:
                assert other is False
            with second.hold("debian-12") as other:
                assert other is True
        with second.hold("ubuntu-24.04") as held:
            assert held is True


def test_tooz_lock_waits_for_lock_timeout(backend):
    with locking.ToozLocks(backend, 0) as first, locking.ToozLocks(backend, 1) as second:
        with first.hold("ubuntu-24.04"):
            started = time.monotonic()
            with second.hold("ubuntu-24.04") as held:
                assert held is False
            assert 0.9 <= time.monotonic() - started < 10


def test_tooz_lock_is_released_when_the_body_fails(backend):
    with locking.ToozLocks(backend, 0) as locks:
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
        with locking.ToozLocks(url, 0):
            pass
    message = str(error.value)
    assert f"redis://:***@127.0.0.1:{port}" in message and "s3cret" not in message


def test_unknown_backend_scheme():
    with pytest.raises(exceptions.CoordinationError, match="bogus://host"):
        with locking.ToozLocks("bogus://host", 0):
            pass


@pytest.mark.parametrize("url,masked", [
    ("redis://:pw@host:6379", "redis://:***@host:6379"),
    ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
    ("redis://host:6379?sentinel=m&password=pw", "redis://host:6379?sentinel=m&password=***"),
    ("etcd3+http://host:2379", "etcd3+http://host:2379"),
])
def test_mask_url(url, masked):
    assert locking.mask_url(url) == masked
