import fcntl
import json
import os
import socket
import stat
import time

import pytest
import tooz
from tooz import coordination

from imgsync import cli
from imgsync import exceptions
from imgsync.glance import client as glance_mod
from imgsync.ops import locking
from imgsync.ops import tooz_locks


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


@pytest.fixture
def umask_0():
    """No umask: the modes imgsync asks for are the modes the files get."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_lock_directory_and_files_are_imgsync_s_alone(tmp_path, umask_0):
    locks = locking.FileLocks(tmp_path / "locks", 0)
    with locks.hold("ubuntu-24.04") as held:
        assert held is True
    assert stat.S_IMODE((tmp_path / "locks").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "locks" / "ubuntu-24.04.lock").stat().st_mode) == 0o600


def test_a_symbolic_link_as_lock_file_is_not_followed(tmp_path):
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0\n")
    (tmp_path / "locks").mkdir(mode=0o700)
    (tmp_path / "locks" / "ubuntu-24.04.lock").symlink_to(target)
    locks = locking.FileLocks(tmp_path / "locks", 0)
    with pytest.raises(exceptions.ImgsyncError) as error:
        with locks.hold("ubuntu-24.04"):
            pass
    assert str(error.value) == (f"[DEFAULT] lock_path: {tmp_path}/locks/ubuntu-24.04.lock "
                                "is a symbolic link, which imgsync does not follow")
    assert target.read_text() == "root:x:0:0\n"


def _other_owner(path):
    os.chown(path, 4242, -1)
    return "is owned by uid 4242, not by imgsync's user"


def _group_writable(path):
    path.chmod(0o770)
    return "is writable by group or others (mode 0770"


def _others_writable(path):
    path.chmod(0o1777)
    return "is writable by group or others (mode 1777"


def _a_file(path):
    path.rmdir()
    path.write_text("")
    return "is not a directory"


def _a_link(path):
    path.rename(path.with_name("real"))
    path.symlink_to(path.with_name("real"))
    return "is a symbolic link, not a directory"


@pytest.mark.parametrize("spoil", [_other_owner, _group_writable, _others_writable, _a_file,
                                   _a_link])
def test_a_lock_directory_others_could_write_in_is_a_config_error(tmp_path, spoil):
    directory = tmp_path / "locks"
    directory.mkdir(mode=0o700)
    why = spoil(directory)
    with pytest.raises(exceptions.ConfigError) as error:
        locking.FileLocks(directory, 0)
    message = str(error.value)
    assert message.startswith(f"[DEFAULT] lock_path {directory} {why}")
    assert "\n" not in message


@pytest.fixture
def foreign_flock(tmp_path):
    """Hold ``<tmp_path>/ubuntu-24.04.lock`` as another process would, without a record;
    returns the lock file's path."""
    path = tmp_path / "ubuntu-24.04.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield path


@pytest.mark.parametrize("record", ["", "garbage\n"])
def test_a_lock_held_without_a_record_is_stale_after_lock_stale_after(foreign_flock, record):
    foreign_flock.write_text(record)
    since = time.time() - 7300
    os.utime(foreign_flock, (since, since))
    locks = locking.FileLocks(foreign_flock.parent, 0, stale_after=3600, poll_interval=0)
    with pytest.raises(exceptions.LockStale) as stale:
        with locks.hold("ubuntu-24.04"):
            pass
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
    assert str(stale.value) == (
        f"the lock {foreign_flock} is held by a holder that left no record in it, unchanged "
        f"since {started} (2.0 h, more than lock_stale_after): not an imgsync run, or a "
        "hung one of an older imgsync")


def test_a_lock_held_without_a_record_recently_is_just_locked(foreign_flock):
    since = time.time() - 3000
    os.utime(foreign_flock, (since, since))
    locks = locking.FileLocks(foreign_flock.parent, 0, stale_after=3600, poll_interval=0)
    with locks.hold("ubuntu-24.04") as held:
        assert held is False


def test_a_holder_that_writes_its_record_while_looked_at_is_not_stale(foreign_flock,
                                                                    monkeypatch):
    """Between a holder's flock and its record the file is old and empty: look again."""
    old = time.time() - 7300
    os.utime(foreign_flock, (old, old))

    def holder_writes_its_record(seconds):
        foreign_flock.write_text(f"4242 other-host {time.time():.0f}\n")

    monkeypatch.setattr(locking.time, "sleep", holder_writes_its_record)
    locks = locking.FileLocks(foreign_flock.parent, 0, stale_after=3600)
    with locks.hold("ubuntu-24.04") as held:
        assert held is False


@pytest.fixture
def stranger(backend):
    """The lock of ubuntu-24.04, held by a tooz member that is no imgsync run: it takes
    locks without registering."""
    coordinator = coordination.get_coordinator(backend, b"stranger")
    coordinator.start()
    lock = coordinator.get_lock(b"imgsync-ubuntu-24.04")
    assert lock.acquire(blocking=False)
    yield lock
    lock.release()
    coordinator.stop()


def test_tooz_lock_held_by_an_unregistered_holder_is_stale(backend, stranger):
    with tooz_locks.ToozLocks(backend, 0, stale_after=3600) as locks:
        with pytest.raises(exceptions.LockStale) as stale:
            with locks.hold("ubuntu-24.04"):
                pass
        assert _record(locks, locks) == {}   # its intent is withdrawn
    assert str(stale.value) == (
        f"the lock imgsync-ubuntu-24.04 in {backend} is held by a holder that never "
        "registered in imgsync-lock-holders: not an imgsync run, or a hung one of an older "
        "imgsync")


def test_tooz_lock_that_comes_free_while_looked_at_is_taken(backend, stranger, monkeypatch):
    with tooz_locks.ToozLocks(backend, 0, stale_after=3600) as locks:
        claims = locks._claims

        def holder_leaves(name):
            stranger.release()
            return claims(name)

        monkeypatch.setattr(locks, "_claims", holder_leaves)
        with locks.hold("ubuntu-24.04") as held:
            assert held is True


def _record(locks, reader):
    """What ``locks``' run has on record in the holders' group, as ``reader`` sees it."""
    return json.loads(reader._coordinator.get_member_capabilities(
        tooz_locks.HOLDERS, locks.member_id).get())["locks"]


def test_tooz_runs_are_on_record_before_they_lock_until_they_unlock(backend, monkeypatch):
    """Whenever a run holds a lock, others find it on record as the lock's holder."""
    seen = []
    with tooz_locks.ToozLocks(backend, 0) as first, tooz_locks.ToozLocks(backend, 0) as other:
        get_lock = first._coordinator.get_lock

        def watched_lock(name):
            lock = get_lock(name)
            acquire, release = lock.acquire, lock.release

            def watched_acquire(*args, **kwargs):
                seen.append(("acquire", _record(first, other)))
                return acquire(*args, **kwargs)

            def watched_release():
                seen.append(("release", _record(first, other)))
                return release()

            monkeypatch.setattr(lock, "acquire", watched_acquire)
            monkeypatch.setattr(lock, "release", watched_release)
            return lock

        monkeypatch.setattr(first._coordinator, "get_lock", watched_lock)
        with first.hold("ubuntu-24.04") as held:
            assert held is True
            during = _record(first, other)
        after = _record(first, other)
    assert seen[0] == ("acquire", {"ubuntu-24.04": None})
    assert seen[-1][0] == "release" and isinstance(seen[-1][1]["ubuntu-24.04"], float)
    assert abs(during["ubuntu-24.04"] - time.time()) < 60
    assert after == {}


def test_tooz_bookkeeping_failures_are_warnings(backend, stranger, monkeypatch, caplog):
    with tooz_locks.ToozLocks(backend, 0, stale_after=3600) as locks:
        def broken(*args):
            raise tooz.ToozError("backend hiccup")

        monkeypatch.setattr(locks._coordinator, "get_members", broken)
        with locks.hold("ubuntu-24.04") as held:
            assert held is False
    assert "cannot record lock holders: backend hiccup" in caplog.text


def test_a_group_writable_lock_path_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    locks = tmp_path / "locks"
    locks.mkdir()
    locks.chmod(0o775)
    monkeypatch.setattr(glance_mod, "keystone_session", lambda conf: None)
    monkeypatch.setattr(glance_mod, "connect",
                        lambda conf, compute, cloud, region, session: None)
    monkeypatch.setattr(glance_mod, "image_proxy", lambda connection: None)
    monkeypatch.setattr(glance_mod.Glance, "endpoint", lambda self: "http://glance")
    config = tmp_path / "imgsync.conf"
    config.write_text(f"[DEFAULT]\ndistributions = ubuntu-24.04\nlock_path = {locks}\n"
                      "[ubuntu-24.04]\nbase_url = http://127.0.0.1:9/\n")
    assert cli.main(["--config-file", str(config), "sync"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert [line for line in err.splitlines() if " INFO " not in line] == [
        f"imgsync: [DEFAULT] lock_path {locks} is writable by group or others "
        "(mode 0775; make it 0700 or 0750)"]
