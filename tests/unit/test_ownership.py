"""imgsync trusts only the images of its own project."""

import pytest

from imgsync import exceptions
from imgsync import glance as glance_mod
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
