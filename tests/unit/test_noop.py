"""A run where nothing changed: one Glance listing for every instance."""

import contextlib
import threading
import types

import pytest

from imgsync.engine import sync
from imgsync.glance import client as glance_mod
from tests.unit import fake_glance
from tests.unit import test_plan as plans


class Locks:
    @contextlib.contextmanager
    def hold(self, name):
        yield True


def instance(name, *versions):
    releases = [plans.rel(v) for v in versions]
    for release in releases:
        object.__setattr__(release, "distro", name)
    conf = types.SimpleNamespace(allow_signature_downgrade=False,
                                 keep_versions=3, versions=1, expire_action="hide",
                                 latest_name=False)
    return types.SimpleNamespace(name=name, conf=conf, releases=lambda: releases,
                                 upstream=None)


def image(image_id, distro, version):
    return {**plans.img(image_id, version, owner="imgsync-project"), "source": "imgsync",
            "imgsync.distro": distro}


def listings(proxy):
    return [path for method, path, _ in proxy.calls if method == "GET"
            and path.startswith("/images?")]


def test_nothing_new_lists_glance_once_for_all_instances():
    proxy = fake_glance.FakeProxy([image(f"i{n}", f"d{n}", "3") for n in range(10)])
    target = sync.Target("", glance_mod.Glance(proxy, poll_interval=0))
    syncer = sync.Syncer([target], sync.Settings(), Locks(), dry_run=True)
    results = sync.run([instance(f"d{n}", "3") for n in range(10)], syncer)
    assert [r.action for r in results] == ["up-to-date"] * 10
    assert len(listings(proxy)) == 2   # once, of hidden and of visible images
    assert all("imgsync.distro" not in path for path in listings(proxy))


def test_an_instance_with_something_to_do_is_listed_again_under_its_lock():
    proxy = fake_glance.FakeProxy([image("i1", "d1", "3"), image("i2", "d2", "2")])
    target = sync.Target("", glance_mod.Glance(proxy, poll_interval=0))
    syncer = sync.Syncer([target], sync.Settings(), Locks(), dry_run=True)
    results = sync.run([instance("d1", "3"), instance("d2", "3")], syncer)
    assert [(r.distro, r.action) for r in results] == [("d1", "up-to-date"),
                                                       ("d2", "would-upload")]
    again = [path for path in listings(proxy) if "imgsync.distro=d2" in path]
    assert len(listings(proxy)) == 4 and len(again) == 2


@pytest.fixture
def hung():
    """An instance whose upstream never tells its releases (released when the test ends)."""
    never, daemons = threading.Event(), []

    def releases():
        daemons.append(threading.current_thread().daemon)
        never.wait()
        return []
    yield types.SimpleNamespace(**{**vars(instance("d2", "3")), "releases": releases},
                                daemons=daemons)
    never.set()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_upstream_that_never_answers_fails_alone_at_release_check_timeout(hung, workers):
    proxy = fake_glance.FakeProxy([image("i1", "d1", "3"), image("i2", "d2", "3")])
    syncer = sync.Syncer([sync.Target("", glance_mod.Glance(proxy, poll_interval=0))],
                         sync.Settings(), Locks(), dry_run=True)
    results = sync.run([instance("d1", "3"), hung], syncer, workers=workers,
                       release_check_timeout=1)
    assert [(r.distro, r.action) for r in results] == [("d1", "up-to-date"), ("d2", "failed")]
    assert results[1].error == ("the upstream of d2 has not told its releases within 1 s "
                                "(release_check_timeout)")
    assert hung.daemons == [True]   # a hung upstream cannot hold the process's exit


def test_the_releases_of_a_lone_instance_are_bounded_too(hung):
    proxy = fake_glance.FakeProxy([])
    syncer = sync.Syncer([sync.Target("", glance_mod.Glance(proxy, poll_interval=0))],
                         sync.Settings(), Locks(), dry_run=True)
    [result] = sync.run([hung], syncer, release_check_timeout=1)
    assert result.action == "failed" and "within 1 s (release_check_timeout)" in result.error


def test_a_listing_taken_under_the_instances_lock_is_not_taken_again():
    """The run's listing of a lone instance (or of the first) is taken under its lock:
    it is the listing under the lock, and a plan that changes something uses it."""
    proxy = fake_glance.FakeProxy([image("i1", "d1", "2")])
    target = sync.Target("", glance_mod.Glance(proxy, poll_interval=0))
    syncer = sync.Syncer([target], sync.Settings(), Locks(), dry_run=True)
    results = sync.run([instance("d1", "3")], syncer)
    assert [r.action for r in results if r.action.startswith("would")] == ["would-upload"]
    assert len(listings(proxy)) == 2   # once, of hidden and of visible images


def test_a_plan_outside_the_instances_lock_lists_again():
    """status plans without taking the lock: a listing then is never one under it."""
    proxy = fake_glance.FakeProxy([image("i1", "d1", "2")])
    target = sync.Target("", glance_mod.Glance(proxy, poll_interval=0))
    syncer = sync.Syncer([target], sync.Settings(), Locks(), dry_run=True)
    syncer.plan(target, instance("d1", "3"), instance("d1", "3").releases())
    assert len(listings(proxy)) == 4 and sum("imgsync.distro=d1" in p
                                             for p in listings(proxy)) == 2
