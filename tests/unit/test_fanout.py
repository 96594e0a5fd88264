"""One download into several Glances (stand-ins for their API): each target is published
only with the verified bytes; a failing or stalled target costs only itself."""

import contextlib
import dataclasses
import datetime
import signal
import threading
import types
import uuid

import pytest

from imgsync import exceptions
from imgsync.engine import fanout
from imgsync.engine import plan
from imgsync.engine import sync
from imgsync.glance import client as glance_mod
from imgsync.glance import upload as upload_mod
from imgsync.pipeline import tee
from tests.unit import fake_glance
from tests.unit import test_upload as uploads

NAME = "test-Ubuntu 24.04 (20240423)"


@pytest.fixture(scope="module")
def qcow2(qcow2):
    return qcow2 + bytes(1 << 20)   # several chunks, so the branches fill up


def deliveries(proxies, **settings):
    settings = sync.Settings(visibility="public", upload_method="put", **settings)
    return [fanout.Delivery(name, upload_mod.Uploader(
        glance_mod.Glance(proxy, poll_interval=0), settings), NAME)
        for name, proxy in proxies.items()]


def fan_out(proxies, data, served=None, behind_timeout=30, **fields):
    release = uploads.release(data, **fields)
    return fanout.upload(release, deliveries(proxies), uploads.Upstream(served or data),
                         64 << 30, behind_timeout)


def published(proxy):
    return [i for i in proxy.images.values() if i.get("visibility") == "public"]


def test_one_download_is_published_in_every_target(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    outcomes = fan_out(proxies, qcow2)
    for name, proxy in proxies.items():
        image, = published(proxy)
        assert outcomes[name].image_id == image["id"] and proxy.received[image["id"]] == qcow2


def test_a_checksum_mismatch_publishes_nothing_anywhere(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    outcomes = fan_out(proxies, qcow2, checksum="0" * 64)
    assert all(isinstance(o, exceptions.ChecksumMismatch) for o in outcomes.values())
    for proxy in proxies.values():
        assert proxy.images == {}
        received, = proxy.received.values()
        assert len(received) < len(qcow2)   # the held-back last chunk never left


def test_a_target_that_refuses_costs_only_itself(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    proxies["one"].refuse[("PUT", r"/file$")] = (503, "Service Unavailable")
    outcomes = fan_out(proxies, qcow2)
    assert "HTTP 503" in str(outcomes["one"]) and proxies["one"].images == {}
    assert outcomes["two"].image_id == published(proxies["two"])[0]["id"]


class Stalling(fake_glance.FakeProxy):
    """Takes one chunk of an upload and then no more until ``release`` is set."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    def _receive(self, image_id, stage, body):
        for chunk in body:
            self.release.wait(30)
            self.received[image_id] = chunk
        return fake_glance.Response(204)


def test_a_target_that_falls_behind_is_dropped_and_cleaned(qcow2, monkeypatch):
    monkeypatch.setattr(fanout, "DROP_GRACE", 0.5)
    stalling = Stalling()
    proxies = {"slow": stalling, "fast": fake_glance.FakeProxy()}
    try:
        outcomes = fan_out(proxies, qcow2, behind_timeout=2)   # the fast one keeps up
    finally:
        stalling.release.set()
    assert "slow fell behind" in str(outcomes["slow"])
    assert published(stalling) == [] and stalling.images == {}
    assert proxies["fast"].received[outcomes["fast"].image_id] == qcow2


class Locks:
    @contextlib.contextmanager
    def hold(self, name):
        yield True


def same_id_run(proxies, qcow2):
    release = uploads.release(qcow2)
    conf = types.SimpleNamespace(allow_signature_downgrade=False,
                                 keep_versions=3, versions=1, expire_action="hide",
                                 latest_name=False)
    driver = types.SimpleNamespace(name="ubuntu-24.04", conf=conf, releases=lambda: [release],
                                   upstream=uploads.Upstream(qcow2))
    targets = [sync.Target(name, glance_mod.Glance(proxy, poll_interval=0))
               for name, proxy in proxies.items()]
    syncer = sync.Syncer(targets, sync.Settings(upload_method="put", same_image_id=True),
                         Locks())
    return {r.target: r for r in sync.run([driver], syncer)}


def test_same_image_id_gives_a_new_build_one_random_id_everywhere(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    results = same_id_run(proxies, qcow2)
    ids = {name: list(proxy.images) for name, proxy in proxies.items()}
    assert ids["one"] == ids["two"] and len(ids["one"]) == 1
    assert uuid.UUID(ids["one"][0]).version == 4   # nobody can compute it beforehand
    assert {r.action for r in results.values()} == {"uploaded"}


def test_a_target_lacking_the_build_gets_the_id_it_has_elsewhere(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    same_id_run(proxies, qcow2)
    the_id, = proxies["one"].images
    del proxies["two"].images[the_id]
    proxies["two"].used_ids.discard(the_id)   # as if it had never been there
    results = same_id_run(proxies, qcow2)
    assert (results["one"].action, results["two"].action) == ("up-to-date", "uploaded")
    assert list(proxies["two"].images) == [the_id]


def test_a_taken_id_fails_that_target_and_never_gives_the_build_another(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    same_id_run(proxies, qcow2)
    the_id, = proxies["one"].images
    del proxies["two"].images[the_id]   # deleted: Glance keeps the id used
    results = same_id_run(proxies, qcow2)
    assert results["two"].action == "failed" and "is taken in Glance" in results["two"].error
    assert proxies["two"].images == {}


def test_the_tee_never_drops_data_at_the_end():
    chunks = [bytes([n]) * 10 for n in range(50)]
    source = tee.Tee(iter(chunks), behind_timeout=5, depth=2)
    branch = source.branch("one")
    got = []
    reader = threading.Thread(target=lambda: got.extend(branch))
    reader.start()
    source.feed()
    reader.join(10)
    assert got == chunks


def test_the_tee_ends_every_branch_with_the_bodys_error():
    def body():
        yield b"a"
        raise exceptions.ChecksumMismatch("u", "sha256", "0", "1")
    source = tee.Tee(body(), behind_timeout=5)
    branches = [source.branch(n) for n in ("one", "two")]
    with pytest.raises(exceptions.ChecksumMismatch):
        source.feed()
    for branch in branches:
        with pytest.raises(exceptions.ChecksumMismatch):
            list(branch)


def test_a_thread_that_cannot_start_leaves_no_wait_and_no_image(qcow2, monkeypatch):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    started = []
    real_start = threading.Thread.start

    def start(thread):
        if started:
            raise RuntimeError("can't start new thread")
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    outcomes = fan_out(proxies, qcow2)
    assert "can't start new thread" in str(outcomes["two"])
    assert "can't start new thread" in str(outcomes["one"])   # its data never came
    assert proxies["one"].images == {} and proxies["two"].images == {}


def test_an_interruption_while_feeding_ends_every_branch_and_removes_the_images(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}

    class Interrupting(uploads.Upstream):
        def open(self, url):
            context = super().open(url)

            class Wrapped:
                def __enter__(self):
                    chunks, length = context.__enter__()

                    def interrupted():
                        yield next(chunks)
                        raise KeyboardInterrupt

                    return interrupted(), length

                def __exit__(self, *exc):
                    return context.__exit__(*exc)

            return Wrapped()

    release = uploads.release(qcow2)
    with pytest.raises(KeyboardInterrupt):
        fanout.upload(release, deliveries(proxies), Interrupting(qcow2), 64 << 30, 30)
    assert proxies["one"].images == {} and proxies["two"].images == {}


class CreatingTogether(fake_glance.FakeProxy):
    """Creates an image only once every target has asked to (``together``, 10 s at most);
    ``after_create`` runs then, in the creating thread."""

    def __init__(self, together, after_create=None):
        super().__init__()
        self.together, self.after_create = together, after_create

    def request(self, path, method, json=None, **kwargs):
        creating = method == "POST" and path == "/images" and json.get("name") == NAME
        if creating:
            self.together.wait()
        answer = super().request(path, method, json, **kwargs)
        if creating and self.after_create:
            self.after_create()
        return answer


def test_the_targets_create_their_images_at_once(qcow2):
    together = threading.Barrier(2, timeout=10)
    proxies = {"one": CreatingTogether(together), "two": CreatingTogether(together)}
    outcomes = fan_out(proxies, qcow2)
    assert all(isinstance(o, upload_mod.Uploaded) for o in outcomes.values()), outcomes
    for proxy in proxies.values():
        assert len(published(proxy)) == 1


def test_an_interruption_while_creating_removes_what_the_targets_made(qcow2):
    def interrupt():   # as a SIGINT would, while the main thread waits for the creates
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    together = threading.Barrier(2, timeout=10)
    proxies = {"one": CreatingTogether(together),
               "two": CreatingTogether(together, after_create=interrupt)}
    with pytest.raises(KeyboardInterrupt):
        fan_out(proxies, qcow2)
    for proxy in proxies.values():
        created = [json for method, path, json in proxy.calls
                   if method == "POST" and json.get("name") == NAME]
        assert len(created) == 1 and proxy.images == {}


def test_a_failed_target_keeps_the_id_reserved_and_the_next_run_takes_it_up(qcow2):
    """same_image_id: a target whose upload fails keeps an empty, private, hidden record
    under the build's id (Glance never gives a deleted image's id again, and nobody else
    can take a reserved id); the next run uploads into it."""
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    proxies["two"].refuse[("PUT", r"/file$")] = (503, "busy")
    results = same_id_run(proxies, qcow2)
    assert (results["one"].action, results["two"].action) == ("uploaded", "failed")
    the_id, = proxies["one"].images
    reserved = proxies["two"].images[the_id]
    assert (reserved["status"], reserved["imgsync.state"], reserved["visibility"],
            reserved["os_hidden"]) == ("queued", "reserved", "private", True)

    del proxies["two"].refuse[("PUT", r"/file$")]
    results = same_id_run(proxies, qcow2)
    assert (results["one"].action, results["two"].action) == ("up-to-date", "uploaded")
    image = proxies["two"].images[the_id]
    assert (image["status"], image["visibility"], "imgsync.state" in image) == (
        "active", "public", False)
    assert proxies["two"].received[the_id] == qcow2


def test_another_builds_or_projects_record_under_the_id_is_never_taken_up(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    same_id_run(proxies, qcow2)
    the_id, = proxies["one"].images
    del proxies["two"].images[the_id]
    proxies["two"].images[the_id] = {"id": the_id, "status": "queued", "owner": "tenant",
                                     "imgsync.state": "reserved", "name": "x",
                                     "imgsync.distro": "ubuntu-24.04", "os_hidden": True,
                                     "imgsync.version": "20240423", "architecture": "x86_64"}
    results = same_id_run(proxies, qcow2)
    assert results["two"].action == "failed" and "is taken in Glance" in results["two"].error
    assert proxies["two"].images[the_id]["owner"] == "tenant"   # untouched


def test_a_reservation_of_a_build_upstream_dropped_is_cleaned():
    reservation = {"id": "r1", "name": "Ubuntu 24.04 (1)", "owner": "me", "status": "queued",
                   "imgsync.state": "reserved", "imgsync.version": "1",
                   "architecture": "x86_64", "created_at": "2026-01-01T00:00:00Z"}
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    offered = uploads.release(b"x")
    kept = plan.plan([dataclasses.replace(offered, version="1")], [reservation], "me",
                     plan.Policy(), now)
    assert [a.kind for a in kept.actions] == ["upload"]
    dropped = plan.plan([dataclasses.replace(offered, version="2")], [reservation], "me",
                        plan.Policy(), now)
    assert [(a.kind, a.image_id) for a in dropped.actions][0] == ("clean", "r1")


def test_a_build_every_target_failed_keeps_its_reserved_id_and_takes_it_up(qcow2):
    """Both targets fail: each keeps a reservation under the one id; the next run finds
    that id among the reservations instead of drawing a new one."""
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    for proxy in proxies.values():
        proxy.refuse[("PUT", r"/file$")] = (503, "busy")
    same_id_run(proxies, qcow2)
    the_id, = proxies["one"].images
    assert list(proxies["two"].images) == [the_id]
    for proxy in proxies.values():
        del proxy.refuse[("PUT", r"/file$")]
    results = same_id_run(proxies, qcow2)
    assert {r.action for r in results.values()} == {"uploaded"}
    assert [list(p.images) for p in proxies.values()] == [[the_id], [the_id]]


def test_a_reservation_that_is_no_longer_empty_is_cleaned():
    reservation = {"id": "r1", "name": "Ubuntu 24.04 (1)", "owner": "me", "status": "active",
                   "imgsync.state": "reserved", "imgsync.version": "1",
                   "architecture": "x86_64", "created_at": "2026-01-01T00:00:00Z"}
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    planned = plan.plan([dataclasses.replace(uploads.release(b"x"), version="1")],
                        [reservation], "me", plan.Policy(), now)
    assert [(a.kind, a.image_id) for a in planned.actions][0] == ("clean", "r1")
