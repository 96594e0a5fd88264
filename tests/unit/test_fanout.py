"""One download into several Glances (stand-ins for their API): each target is published
only with the verified bytes; a failing or stalled target costs only itself."""

import subprocess
import threading
import uuid

import pytest

from imgsync import exceptions
from imgsync import fanout
from imgsync import glance as glance_mod
from imgsync import sync
from imgsync import tee
from imgsync import upload as upload_mod
from tests.unit import fake_glance
from tests.unit import test_upload as uploads

NAME = "test-Ubuntu 24.04 (20240423)"


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory):
    path = tmp_path_factory.mktemp("qcow2") / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    return path.read_bytes() + bytes(1 << 20)   # several chunks, so the branches fill up


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


def test_same_image_id_everywhere_and_another_where_it_is_taken(qcow2):
    proxies = {"one": fake_glance.FakeProxy(), "two": fake_glance.FakeProxy()}
    release = uploads.release(qcow2)
    wanted = upload_mod.image_id(release)
    proxies["two"].used_ids.add(wanted)   # an image deleted there once had it
    settings = sync.Settings(upload_method="put", same_image_id=True)
    targets = [fanout.Delivery(name, upload_mod.Uploader(
        glance_mod.Glance(proxy, poll_interval=0), settings), NAME)
        for name, proxy in proxies.items()]
    outcomes = fanout.upload(release, targets, uploads.Upstream(qcow2), 64 << 30, 30)
    assert outcomes["one"].image_id == wanted
    assert outcomes["two"].image_id not in ("", wanted)
    assert wanted == str(uuid.uuid5(upload_mod.NAMESPACE, "ubuntu-24.04/20240423/x86_64"))


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
