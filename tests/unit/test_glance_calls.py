"""imgsync's Glance calls: listing hidden and visible images at once, polling an import."""

import threading
import time
import types
import urllib.parse

import pytest

from imgsync import exceptions
from imgsync.glance import client as glance_mod
from tests.unit import fake_glance


class PagedProxy(fake_glance.FakeProxy):
    """Answers a listing two images a page; the first page of each of the two listings
    waits (at most 10 s) until the other listing has asked for its first page too."""

    def __init__(self, images):
        super().__init__(images)
        self.both_asked = threading.Barrier(2, timeout=10)

    def request(self, path, method, json=None, **kwargs):
        parts = urllib.parse.urlsplit(path)
        if method != "GET" or parts.path != "/images":
            return super().request(path, method, json, **kwargs)
        self.calls.append((method, path, json))
        query = dict(urllib.parse.parse_qsl(parts.query))
        start = int(query.pop("marker", 0))
        if start == 0:
            self.both_asked.wait()
        found = fake_glance.FakeProxy._list(self, dict(query)).json()["images"]
        page = {"images": found[start:start + 2]}
        if start + 2 < len(found):
            page["next"] = "/v2/images?" + urllib.parse.urlencode({**query, "marker": start + 2})
        return fake_glance.Response(200, page)


def test_hidden_and_visible_images_are_listed_at_once_every_page_of_each():
    images = [{"id": f"v{n}", "source": "imgsync"} for n in range(5)] + \
        [{"id": f"h{n}", "source": "imgsync", "os_hidden": True} for n in range(3)]
    proxy = PagedProxy(images)
    listed = glance_mod.Glance(proxy, poll_interval=0).images(source="imgsync")
    assert [image["id"] for image in listed] == ["v0", "v1", "v2", "v3", "v4", "h0", "h1", "h2"]
    assert len(proxy.calls) == 5   # 3 pages of visible images, 2 of hidden ones


def test_a_failed_listing_fails_the_whole_listing():
    proxy = fake_glance.FakeProxy([{"id": "v0", "source": "imgsync"}])
    proxy.refuse[("GET", "os_hidden=true")] = (403, "forbidden")
    with pytest.raises(exceptions.GlanceError, match="list images: HTTP 403"):
        glance_mod.Glance(proxy, poll_interval=0).images(source="imgsync")


def test_an_import_is_polled_soon_then_once_per_poll_interval(monkeypatch):
    pauses = []
    monkeypatch.setattr(glance_mod, "time", types.SimpleNamespace(
        monotonic=time.monotonic, sleep=pauses.append))
    proxy = fake_glance.FakeProxy([{"id": "i", "status": "importing"}])
    answers = iter(["importing"] * 6 + ["active"])

    def show(path, method, json=None, **kwargs):
        proxy.images["i"]["status"] = next(answers)
        return fake_glance.FakeProxy.request(proxy, path, method, json, **kwargs)
    proxy.request = show
    glance_mod.Glance(proxy, poll_interval=1.0).wait_active("i")
    assert pauses == [0.125, 0.25, 0.5, 1.0, 1.0, 1.0]


class DeletedOnA500(fake_glance.FakeProxy):
    """Deletes the image but answers 500 (a Glance whose database write was slow); a
    DELETE of a deleted image gets Glance's 400; ``lingers`` keeps it showing."""

    def __init__(self, images, lingers=False):
        super().__init__(images)
        self.lingers = lingers
        self.gone = set()

    def request(self, path, method, json=None, **kwargs):
        image_id = path.rsplit("/", 1)[-1]
        if method == "DELETE":
            self.calls.append((method, path, json))
            if image_id in self.gone:
                return fake_glance.Response(400, "Image status transition from deleted to "
                                                 "deleted is not allowed")
            self.gone.add(image_id)
            if not self.lingers:
                del self.images[image_id]
            return fake_glance.Response(500, "database is locked")
        return super().request(path, method, json, **kwargs)


def test_a_retried_delete_refused_because_the_first_one_worked_is_done():
    proxy = DeletedOnA500([{"id": "i", "status": "active"}])
    glance_mod.Glance(proxy, poll_interval=0).delete("i")
    assert [c[0] for c in proxy.calls] == ["DELETE", "DELETE", "GET"]


def test_a_delete_refused_with_400_of_an_image_still_there_fails():
    proxy = DeletedOnA500([{"id": "i", "status": "active"}], lingers=True)
    with pytest.raises(exceptions.GlanceError, match="delete image i: HTTP 400"):
        glance_mod.Glance(proxy, poll_interval=0).delete("i")
