import datetime
import types

import pytest
from keystoneauth1 import adapter
from keystoneauth1 import noauth
from keystoneauth1 import session

from imgsync import exceptions
from imgsync.engine import plan
from imgsync.glance import nova
from imgsync.model import record

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


def test_rotation_spares_images_in_use():
    images = [{"id": f"i{n}", "name": f"X ({n})", "imgsync.version": str(n), "status": "active",
               "architecture": "x86_64", "os_hidden": False, "owner": "p"} for n in (1, 2, 3, 4)]
    planned = plan.plan([], images, "p", plan.Policy(keep=2, expire_action="hide"),
                        datetime.datetime.now(datetime.timezone.utc))
    actions = plan.mark_in_use(planned.actions, {"i1"})
    assert [(a.kind, a.image_id) for a in actions] == [(record.Kind.IN_USE, "i1"), ("hide", "i2")]
