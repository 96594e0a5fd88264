import types

import pytest
from keystoneauth1 import adapter
from keystoneauth1 import noauth
from keystoneauth1 import session

from imgsync import exceptions
from imgsync import nova
from imgsync import sync

NOVA = "http://127.0.0.1:8774/v2.1"


@pytest.fixture
def in_use():
    compute = adapter.Adapter(session.Session(auth=noauth.NoAuth()), endpoint_override=NOVA)
    return nova.ServersInUse(types.SimpleNamespace(compute=compute))


def test_asks_for_servers_of_the_image_in_all_projects(in_use, requests_mock):
    requests_mock.get(f"{NOVA}/servers", json={"servers": [{"id": "s1"}]})
    assert in_use("img-1") is True
    query = requests_mock.last_request.qs
    assert query == {"image": ["img-1"], "all_tenants": ["1"], "limit": ["1"]}


def test_no_servers(in_use, requests_mock):
    requests_mock.get(f"{NOVA}/servers", json={"servers": []})
    assert in_use("img-1") is False


def test_refusal_is_an_error_never_a_guess(in_use, requests_mock):
    requests_mock.get(f"{NOVA}/servers", status_code=403, text="Policy doesn't allow")
    with pytest.raises(exceptions.NovaError, match="HTTP 403"):
        in_use("img-1")


class RecordingGlance:
    """Records rotation calls; the real Glance is exercised in the functional tests."""

    def __init__(self):
        self.calls = []

    def hide(self, image_id):
        self.calls.append(("hide", image_id))


def test_rotation_spares_images_in_use():
    images = [{"id": f"i{n}", "name": f"X ({n})", "imgsync.version": str(n), "status": "active",
               "architecture": "x86_64", "os_hidden": False} for n in (1, 2, 3, 4)]
    glance = RecordingGlance()
    syncer = sync.Syncer(glance, sync.Settings(), None, in_use=lambda i: i == "i1")
    results = syncer._rotate("d", images, keep=2, action="hide")
    assert glance.calls == [("hide", "i2")]
    assert [(r.action, r.image_id) for r in results] == [("hidden", "i2"),
                                                          (sync.IN_USE, "i1")]
