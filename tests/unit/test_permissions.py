"""The early check of what Glance lets imgsync's account do."""

import pytest

from imgsync import exceptions
from imgsync.glance import client as glance_mod
from imgsync.glance import permissions
from tests.unit import fake_glance

PROPERTIES = {"source": "imgsync", "imgsync.distro": "ubuntu-24.04", "os_distro": "ubuntu"}


def check(proxy, visibility="public"):
    permissions.check(glance_mod.Glance(proxy, poll_interval=0), "probe", visibility,
                      PROPERTIES)


STATE_OPS = [{"op": "replace", "path": "/imgsync.state", "value": "pending"},
             {"op": "remove", "path": "/imgsync.started_at"}]


def test_a_permitted_account_leaves_no_image_behind():
    proxy = fake_glance.FakeProxy()
    check(proxy)
    methods = [(method, path.split("?")[0]) for method, path, _ in proxy.calls]
    assert methods == [("POST", "/images"), ("PATCH", "/images/new-1"),
                       ("DELETE", "/images/new-1")]
    created = proxy.calls[0][2]
    assert created["visibility"] == "private" and created["os_hidden"] is True
    assert created["imgsync.state"] == "pending" and created["source"] == "imgsync"
    # one PATCH, as a publication: the visibility and imgsync's properties at once
    assert proxy.calls[1][2] == [{"op": "replace", "path": "/visibility",
                                  "value": "public"}, *STATE_OPS]
    assert proxy.images == {}


def test_private_needs_no_visibility_change():
    proxy = fake_glance.FakeProxy()
    check(proxy, "private")
    assert [c[0] for c in proxy.calls] == ["POST", "PATCH", "DELETE"]
    assert proxy.calls[1][2] == STATE_OPS


def test_a_refused_publication_is_tried_step_by_step_to_name_what_is_missing():
    """Glance refuses the whole PATCH when it refuses one of its changes: the steps then
    tell which one (here the visibility, refused whatever else the PATCH holds)."""
    proxy, patches = fake_glance.FakeProxy(), []
    original = proxy.request

    def request(path, method, json=None, **kwargs):
        if method == "PATCH":
            patches.append(json)
        if method == "PATCH" and any(op["path"] == "/visibility" for op in json):
            return fake_glance.Response(403, "You are not authorized to complete "
                                             "communitize_image action.")
        return original(path, method, json=json, **kwargs)

    proxy.request = request
    with pytest.raises(exceptions.GlanceError, match="may not publish images as community"):
        check(proxy, "community")
    shown = [{"op": "replace", "path": "/visibility", "value": "community"}]
    assert patches == [shown + STATE_OPS, STATE_OPS, shown]
    assert proxy.images == {}


def test_protected_property_is_named():
    proxy = fake_glance.FakeProxy()
    proxy.refuse[("POST", "^/images$")] = (403, "403 Forbidden Attribute 'source' is reserved.")
    with pytest.raises(exceptions.GlanceError) as caught:
        check(proxy)
    message = str(caught.value)
    assert message.startswith("missing permission: this account may not create an image "
                              "with imgsync's properties")
    assert "Attribute 'source' is reserved" in message and "property protections" in message
    assert proxy.images == {}


def test_protected_property_update_is_named_and_the_probe_removed():
    proxy = fake_glance.FakeProxy()
    proxy.refuse[("PATCH", "")] = (403, "Attribute 'imgsync.state' is reserved.")
    with pytest.raises(exceptions.GlanceError, match="may not update and remove imgsync"):
        check(proxy)
    assert proxy.images == {}


@pytest.mark.parametrize("visibility,policy", [("public", "publicize_image"),
                                               ("community", "communitize_image")])
def test_refused_visibility_names_the_policy_and_removes_the_probe(visibility, policy):
    proxy = fake_glance.FakeProxy()
    original = proxy.request

    def request(path, method, json=None, **kwargs):
        if method == "PATCH" and json[0]["path"] == "/visibility":
            return fake_glance.Response(
                403, f"You are not authorized to complete {policy} action.")
        return original(path, method, json=json, **kwargs)

    proxy.request = request
    with pytest.raises(exceptions.GlanceError) as caught:
        check(proxy, visibility)
    message = str(caught.value)
    assert message.startswith(f"missing permission: this account may not publish images "
                              f"as {visibility}")
    assert f"Glance's policy {policy!r} refuses this account" in message
    assert proxy.images == {}


def test_other_errors_pass_unchanged():
    proxy = fake_glance.FakeProxy()
    proxy.refuse[("POST", "^/images$")] = (400, "bad request")
    with pytest.raises(exceptions.GlanceError) as caught:
        check(proxy)
    assert "missing permission" not in str(caught.value) and caught.value.status == 400
