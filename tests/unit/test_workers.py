"""[DEFAULT] workers: instances synced at once, reported in configuration order."""

import threading
import types

import pytest

from imgsync import exceptions
from imgsync.engine import executor
from imgsync.engine import sync


class Syncer:
    """``a`` waits until ``b`` has started: it can finish only if both run at once."""

    def __init__(self):
        self.b_started = threading.Event()
        self.threads = set()

    def sync(self, driver, releases=None):
        self.threads.add(threading.current_thread().name)
        assert releases() == [f"{driver.name}-release"]
        if driver.name == "a" and not self.b_started.wait(10):
            raise exceptions.ImgsyncError("b never started alongside a")
        if driver.name == "b":
            self.b_started.set()
        if driver.name == "broken":
            raise KeyError("bug")
        return [executor.Result(driver.name, "up-to-date")]


def drivers(*names):
    return [types.SimpleNamespace(name=name, releases=lambda name=name: [f"{name}-release"])
            for name in names]


def test_workers_sync_instances_at_once_and_keep_their_order():
    syncer = Syncer()
    results = sync.run(drivers("a", "broken", "b"), syncer, workers=3)
    assert [(r.distro, r.action) for r in results] == [
        ("a", "up-to-date"), ("broken", "failed"), ("b", "up-to-date")]
    assert results[1].error == "unexpected error: KeyError('bug')"
    assert len(syncer.threads) >= 2


def test_one_worker_syncs_in_the_main_thread():
    syncer = Syncer()
    results = sync.run(drivers("b", "a"), syncer, workers=1)
    assert [r.action for r in results] == ["up-to-date", "up-to-date"]
    assert syncer.threads == {threading.main_thread().name}


def test_every_upstream_is_asked_at_once_before_the_syncs():
    started, both = [], threading.Barrier(2, timeout=10)

    def releases(name):
        started.append(name)
        both.wait()   # returns only when the other instance's upstream is asked too
        return [name]

    fetched = sync._prefetch([types.SimpleNamespace(name=n, releases=lambda n=n: releases(n))
                              for n in ("a", "b")], 60)
    assert sorted(started) == ["a", "b"] and fetched["a"]() == ["a"]


def test_a_failing_upstream_is_raised_by_its_own_sync():
    def broken():
        raise exceptions.UpstreamError("http://127.0.0.1/x answered HTTP 503")

    fetched = sync._prefetch([types.SimpleNamespace(name="x", releases=broken),
                              types.SimpleNamespace(name="y", releases=lambda: [])], 60)
    assert fetched["y"]() == []
    with pytest.raises(exceptions.UpstreamError, match="HTTP 503"):
        fetched["x"]()
