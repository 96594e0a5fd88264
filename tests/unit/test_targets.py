"""One target down is one target failed: a Glance (or its Keystone) that cannot be
reached at the start fails alone, and its error says which of the two it was."""

import contextlib
import hashlib
import json

import pytest
import requests

from imgsync import exceptions
from imgsync import targets as targets_mod
from imgsync.glance import client as glance_mod
from tests.unit import fake_glance

AUTH = "http://keystone.test/v3"
GLANCE = "http://glance.test:9292"
ROOT = "http://a.test/ubuntu/releases/noble/release-20240423/"
IMAGE = "ubuntu-24.04-server-cloudimg-amd64.img"
KEYSTONE_AUTH = ("[keystone_auth]\nauth_type = password\n"
                 f"auth_url = {AUTH}\nusername = imgsync\npassword = secret\n"
                 "project_name = service\nuser_domain_name = Default\n"
                 "project_domain_name = Default\n")


# --- image_proxy against a Keystone and a Glance on requests_mock -------------------

def keystone(requests_mock, refused=False):
    """Keystone at AUTH, with Glance in RegionOne only (or refusing every connection)."""
    if refused:
        for method in ("GET", "POST"):
            requests_mock.register_uri(method, AUTH, exc=requests.exceptions.ConnectionError(
                "Connection refused"))
            requests_mock.register_uri(method, f"{AUTH}/auth/tokens",
                                       exc=requests.exceptions.ConnectionError(
                                           "Connection refused"))
        return
    domain = {"id": "default", "name": "Default"}
    requests_mock.get(AUTH, json={"version": {"id": "v3.14", "status": "stable", "links": [
        {"rel": "self", "href": f"{AUTH}/"}]}})
    requests_mock.post(f"{AUTH}/auth/tokens", status_code=201, headers={"X-Subject-Token": "t"},
                       json={"token": {
                           "methods": ["password"], "expires_at": "2999-01-01T00:00:00Z",
                           "user": {"id": "u", "name": "imgsync", "domain": domain},
                           "project": {"id": "p", "name": "service", "domain": domain},
                           "catalog": [{"type": "image", "name": "glance", "id": "g",
                                        "endpoints": [{"id": "e", "interface": "public",
                                                       "region": "RegionOne",
                                                       "region_id": "RegionOne",
                                                       "url": GLANCE}]}]}})


def glance_versions(requests_mock, refused=False):
    if refused:
        requests_mock.get(f"{GLANCE}/", exc=requests.exceptions.ConnectionError(
            "Connection refused"))
        return
    requests_mock.get(f"{GLANCE}/", json={"versions": [{"id": "v2.16", "status": "CURRENT",
                                                        "links": [{"rel": "self",
                                                                   "href": f"{GLANCE}/v2/"}]}]})


@pytest.fixture
def proxy_in(tmp_path):
    """image_proxy of a connection to ``region`` through imgsync's [keystone_auth]."""
    from oslo_config import cfg

    from imgsync import conf as imgsync_conf
    path = tmp_path / "imgsync.conf"
    path.write_text(KEYSTONE_AUTH)
    conf = cfg.ConfigOpts()
    imgsync_conf.register_opts(conf, {})
    conf(["--config-file", str(path)], project="imgsync-test", default_config_files=[],
         default_config_dirs=[])

    def proxy(region):
        session = glance_mod.keystone_session(conf)
        return glance_mod.image_proxy(glance_mod.connect(conf, region=region, session=session))
    return proxy


def test_a_glance_that_answers_gives_its_proxy(requests_mock, proxy_in):
    keystone(requests_mock)
    glance_versions(requests_mock)
    assert proxy_in("RegionOne").get_endpoint() == f"{GLANCE}/v2/"


def test_an_unreachable_keystone_is_named_as_keystone(requests_mock, proxy_in):
    keystone(requests_mock, refused=True)
    with pytest.raises(exceptions.GlanceError) as raised:
        proxy_in("RegionOne")
    message = str(raised.value)
    assert message.startswith(f"cannot authenticate with Keystone at {AUTH}: ")
    assert "Connection refused" in message and "\n" not in message


def test_a_region_without_glance_in_the_catalog_says_so(requests_mock, proxy_in):
    keystone(requests_mock)
    with pytest.raises(exceptions.GlanceError) as raised:
        proxy_in("RegionDead")
    assert str(raised.value) == (f"no Glance: Keystone's catalog at {AUTH} has no public "
                                 "image endpoint in region RegionDead")
    assert not any(request.url.startswith(GLANCE) for request in requests_mock.request_history)


def test_a_glance_that_refuses_is_named_as_glance_with_its_url(requests_mock, proxy_in):
    keystone(requests_mock)
    glance_versions(requests_mock, refused=True)
    with pytest.raises(exceptions.GlanceError) as raised:
        proxy_in("RegionOne")
    assert str(raised.value).startswith(f"cannot reach Glance at {GLANCE}: ")


# --- the command, with targets whose connection raises ------------------------------

def upstream(requests_mock, qcow2):
    """One Ubuntu 24.04 build on site a, and one more instance (ubuntu-b) of it."""
    requests_mock.get("http://a.test/ubuntu/releases/noble/", text='<a href="release-20240423/">')
    requests_mock.get(f"{ROOT}SHA256SUMS",
                      text=f"{hashlib.sha256(qcow2).hexdigest()} *{IMAGE}\n")
    requests_mock.get(f"{ROOT}{IMAGE}", content=qcow2)
    requests_mock.head(f"{ROOT}{IMAGE}", headers={"Content-Length": str(len(qcow2))})


CONFIG = ("[DEFAULT]\ndistributions = ubuntu-a,ubuntu-b\nhttp_retries = 0\n"
          "upload_method = put\n"
          "[ubuntu-a]\ndriver = ubuntu-24.04\nbase_url = http://a.test/ubuntu/\n"
          "signature = off\n"
          "[ubuntu-b]\ndriver = ubuntu-24.04\nbase_url = http://a.test/ubuntu/\n"
          "signature = off\n")
DOWN = {"RegionDead": "no Glance: Keystone's catalog has no public image endpoint in "
                      "region RegionDead",
        "RegionGone": f"cannot authenticate with Keystone at {AUTH}: Connection refused"}


@pytest.fixture
def regions(monkeypatch):
    """A FakeProxy per region that is up; the regions of DOWN raise what they say."""
    proxies = {}

    def image_proxy(region):
        if region in DOWN:
            raise exceptions.GlanceError(DOWN[region])
        return proxies.setdefault(region, fake_glance.FakeProxy())
    monkeypatch.setattr(glance_mod, "keystone_session", lambda conf: None)
    monkeypatch.setattr(glance_mod, "connect",
                        lambda conf, compute, cloud, region, session:
                        region or conf.glance.region_name)
    monkeypatch.setattr(glance_mod, "image_proxy", image_proxy)
    return proxies


def published(proxy):
    return [(i["imgsync.distro"], i["status"], i["visibility"]) for i in proxy.images.values()]


def test_a_region_down_fails_alone_and_the_others_are_synced(run, regions, requests_mock,
                                                             qcow2):
    upstream(requests_mock, qcow2)
    code, out, err = run(CONFIG + "[glance]\nregion_names = RegionDead,RegionOne\n",
                         "sync", "--format", "json")
    assert code == 1, out + err
    results = [(r["instance"], r["target"], r["action"], r["error"])
               for r in json.loads(out)["results"]]
    assert results == [
        ("ubuntu-a", "RegionDead", "failed", DOWN["RegionDead"]),
        ("ubuntu-a", "RegionOne", "uploaded", ""),
        ("ubuntu-b", "RegionDead", "failed", DOWN["RegionDead"]),
        ("ubuntu-b", "RegionOne", "uploaded", "")]
    assert sorted(published(regions["RegionOne"])) == [("ubuntu-a", "active", "public"),
                                                       ("ubuntu-b", "active", "public")]
    named = [line for line in err.splitlines() if "RegionDead" in line]
    assert len(named) == 1 and named[0].endswith(f"RegionDead: {DOWN['RegionDead']}")
    assert "Traceback" not in err


def test_the_table_names_the_target_that_is_down(run, regions, requests_mock, qcow2):
    upstream(requests_mock, qcow2)
    code, out, err = run(CONFIG + "[glance]\nregion_names = RegionOne,RegionGone\n", "sync")
    assert code == 1, out + err
    rows = [line.split(None, 4) for line in out.splitlines()[1:-1]]
    assert [row[:2] for row in rows] == [["ubuntu-a", "failed"], ["ubuntu-a", "uploaded"],
                                         ["ubuntu-b", "failed"], ["ubuntu-b", "uploaded"]]
    assert rows[0][4] == f"[RegionGone] {DOWN['RegionGone']}"


def test_status_gives_the_target_that_is_down_a_failing_row(run, regions, requests_mock,
                                                            qcow2):
    upstream(requests_mock, qcow2)
    code, out, err = run(CONFIG + "[glance]\nregion_names = RegionOne,RegionDead\n",
                         "status", "--format", "json")
    assert code == 1, out + err
    rows = [(r["instance"], r["target"], r["state"], r["error"])
            for r in json.loads(out)["instances"]]
    assert rows == [("ubuntu-a", "RegionOne", "behind", ""),
                    ("ubuntu-a", "RegionDead", "failing", DOWN["RegionDead"]),
                    ("ubuntu-b", "RegionOne", "behind", ""),
                    ("ubuntu-b", "RegionDead", "failing", DOWN["RegionDead"])]


def test_the_catalog_and_metrics_read_the_first_target_that_is_up(run, regions,
                                                                  requests_mock, qcow2,
                                                                  tmp_path):
    upstream(requests_mock, qcow2)
    prom, catalog_dir = tmp_path / "imgsync.prom", tmp_path / "catalog"
    code, out, err = run(CONFIG.replace("[DEFAULT]\n", f"[DEFAULT]\nmetrics_file = {prom}\n"
                                                      f"catalog_dir = {catalog_dir}\n")
                         + "[glance]\nregion_names = RegionDead,RegionOne\n", "sync")
    assert code == 1, out + err
    assert 'imgsync_images{distro="ubuntu-a",state="active"} 1.0' in prom.read_text()
    assert "ubuntu-b" in (catalog_dir / "ubuntu.yml").read_text()


def test_no_target_up_fails_every_instance_everywhere_and_leaves_the_catalog(
        run, regions, requests_mock, qcow2, tmp_path):
    upstream(requests_mock, qcow2)
    prom, catalog_dir = tmp_path / "imgsync.prom", tmp_path / "catalog"
    code, out, err = run(CONFIG.replace("[DEFAULT]\n", f"[DEFAULT]\nmetrics_file = {prom}\n"
                                                      f"catalog_dir = {catalog_dir}\n")
                         + "[glance]\nregion_names = RegionDead,RegionGone\n",
                         "sync", "--format", "json")
    assert code == 1, out + err
    assert {(r["target"], r["action"]) for r in json.loads(out)["results"]} == {
        ("RegionDead", "failed"), ("RegionGone", "failed")}
    assert not catalog_dir.exists()
    assert f"[DEFAULT] catalog_dir {catalog_dir} left as it was: no Glance could be " \
           "reached" in err
    assert "metrics without imgsync_images: no Glance could be reached" in err
    assert 'imgsync_up{distro="ubuntu-a"} 0.0' in prom.read_text()
    assert "Traceback" not in err


def test_a_single_glance_down_stops_the_run_in_one_line(run, regions, requests_mock, qcow2):
    upstream(requests_mock, qcow2)
    code, out, err = run(CONFIG + "[glance]\nregion_name = RegionDead\n", "sync")
    assert (code, out) == (1, "")
    line, = err.strip().splitlines()
    assert line.endswith(f" ERROR imgsync.cli [-] {DOWN['RegionDead']}")


class Held:
    """Locks that another run holds, every one of them."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @contextlib.contextmanager
    def hold(self, name):
        yield False


def test_a_target_down_exits_1_even_when_no_instance_got_to_it(run, regions, requests_mock,
                                                               qcow2, monkeypatch):
    upstream(requests_mock, qcow2)
    monkeypatch.setattr(targets_mod, "locks", lambda conf: Held())
    code, out, err = run(CONFIG + "[glance]\nregion_names = RegionOne,RegionDead\n",
                         "sync", "--format", "json")
    assert {r["action"] for r in json.loads(out)["results"]} == {"locked"}
    assert code == 1, out + err
