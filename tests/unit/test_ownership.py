"""imgsync trusts only the images of its own project."""

import pytest

from imgsync import exceptions
from imgsync.glance import client as glance_mod
from tests.unit import fake_glance


def image(image_id, owner, distro="ubuntu-24.04", **extra):
    return {"id": image_id, "owner": owner, "source": "imgsync", "imgsync.distro": distro,
            "status": "active", "os_hidden": False, **extra}


def test_synced_images_are_those_of_imgsyncs_project_only():
    proxy = fake_glance.FakeProxy([
        image("own", "imgsync-project"),
        image("own-hidden", "imgsync-project", os_hidden=True),
        image("forged", "tenant", **{"imgsync.version": "99999999"}),
        image("forged-hidden", "tenant", os_hidden=True),
        image("other-driver", "imgsync-project", distro="debian-13"),
        {"id": "unrelated", "owner": "tenant", "status": "active", "os_hidden": False},
    ])
    glance = glance_mod.Glance(proxy)
    assert sorted(i["id"] for i in glance.synced_images("ubuntu-24.04")) == [
        "own", "own-hidden"]
    assert glance.foreign == {"forged": "tenant", "forged-hidden": "tenant"}
    assert sorted(i["id"] for i in glance.synced_images()) == [
        "other-driver", "own", "own-hidden"]


def test_an_image_without_owner_is_not_trusted():
    glance = glance_mod.Glance(fake_glance.FakeProxy([image("ownerless", None)]))
    assert glance.synced_images("ubuntu-24.04") == []
    assert glance.foreign == {"ownerless": None}


def test_unscoped_credentials_are_a_configuration_error():
    glance = glance_mod.Glance(fake_glance.FakeProxy([], project_id=None))
    with pytest.raises(exceptions.ConfigError, match="not scoped to a project"):
        glance.synced_images("ubuntu-24.04")


def test_a_non_json_answer_is_one_clear_error():
    proxy = fake_glance.FakeProxy()
    proxy.refuse[("GET", "^/images")] = (200, "<html>maintenance</html>")
    with pytest.raises(exceptions.GlanceError, match="list images is not what Glance sends"):
        glance_mod.Glance(proxy).synced_images("ubuntu-24.04")


def test_a_publish_whose_first_try_was_applied_is_not_undone():
    proxy = fake_glance.FakeProxy([{"id": "img", "owner": "imgsync-project",
                                    "visibility": "public", "os_hidden": False,
                                    "status": "active"}])
    proxy.refuse[("PATCH", "/images/img$")] = (409, "Property imgsync.state does not exist")
    original = proxy.request

    def request(path, method, json=None, **kwargs):
        if method == "GET" and path == "/images/img":
            return fake_glance.Response(200, proxy.images["img"])
        return original(path, method, json=json, **kwargs)

    proxy.request = request
    glance_mod.Glance(proxy, poll_interval=0).publish("img", "public")
    proxy.images["img"]["os_hidden"] = True
    with pytest.raises(exceptions.GlanceError, match="409"):
        glance_mod.Glance(proxy, poll_interval=0).publish("img", "public")
