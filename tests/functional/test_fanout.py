"""One download to several Glances: the vanilla RegionOne and the production-like
RegionTwo of one Keystone, as regions of one cloud or as two clouds.yaml entries."""

import json
import os

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from prometheus_client import parser

from tests.functional import checks
from tests.functional import glance_proxy
from tests.functional import mirror as mirror_mod
from tests.functional import stack as stack_mod

UBUNTU = "ubuntu-24.04"
REGIONS = f"{stack_mod.REGION},{stack_mod.PRODUCTION_REGION}"


def sync(imgsync, config, *options, env=None):
    run = imgsync("--config-file", config, "sync", "--format", "json", *options, env=env)
    return run, (json.loads(run.stdout)["results"] if run.stdout.strip() else [])


def test_one_download_is_published_in_every_region(glance, production, mirror, write_config,
                                                   imgsync, tmp_path):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra=f"[glance]\nregion_names = {REGIONS}\n")
    run, results = sync(imgsync, config)
    assert run.returncode == 0, run.stderr
    assert len(mirror.image_requests()) == 1   # downloaded once for both
    assert sorted((r["target"], r["action"]) for r in results) == [
        (stack_mod.REGION, "uploaded"), (stack_mod.PRODUCTION_REGION, "uploaded")]
    one, = glance.images()
    checks.stored_as_published(one, "Ubuntu 24.04 (20240423)", path)
    two, = production.images()
    assert (two["status"], two["disk_format"], two["imgsync.converted_from"]) == (
        "active", "raw", "qcow2")
    assert one["id"] != two["id"]

    glance.delete_all()   # RegionOne lost it; RegionTwo is up to date
    mirror.requests.clear()
    run, results = sync(imgsync, config)
    assert run.returncode == 0, run.stderr
    assert sorted((r["target"], r["action"]) for r in results) == [
        (stack_mod.REGION, "uploaded"), (stack_mod.PRODUCTION_REGION, "up-to-date")]
    assert len(mirror.image_requests()) == 1
    assert [i["id"] for i in production.images()] == [two["id"]]

    mirror.requests.clear()
    run, results = sync(imgsync, config)
    assert run.returncode == 0 and {r["action"] for r in results} == {"up-to-date"}
    assert mirror.image_requests() == []


def test_same_image_id_everywhere_and_a_taken_id(glance, production, mirror, write_config,
                                                 imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra=f"[DEFAULT]\nsame_image_id = true\n"
                                          f"[glance]\nregion_names = {stack_mod.REGION}\n")
    run, results = sync(imgsync, config)
    assert run.returncode == 0, run.stderr
    wanted, = [i["id"] for i in glance.images()]

    config.write_text(config.read_text().replace(f"region_names = {stack_mod.REGION}",
                                                 f"region_names = {REGIONS}"))
    run, results = sync(imgsync, config)   # RegionTwo gets the id RegionOne has
    assert run.returncode == 0, run.stderr
    assert [i["id"] for i in production.images()] == [wanted]
    assert {r["image_id"] for r in results} == {wanted}

    production.delete_all()   # gone there, but Glance keeps its id used
    run, results = sync(imgsync, config)
    assert run.returncode == 1, run.stdout + run.stderr   # Glance never gives an id again
    failed, = [r for r in results if r["action"] == "failed"]
    assert failed["target"] == stack_mod.PRODUCTION_REGION
    assert f"the id {wanted} of" in failed["error"] and "is taken in Glance" in failed["error"]
    assert production.images() == [] and [i["id"] for i in glance.images()] == [wanted]


def two_clouds(cloud, path, proxy_url):
    """A clouds.yaml with cloud ``one`` (RegionOne, through the proxy) and ``two``."""
    base = cloud.clouds_yaml(path, "one").read_text()
    entry = base.split("\n", 1)[1]
    two = entry.replace('"one":', '"two":').replace(
        json.dumps(stack_mod.REGION), json.dumps(stack_mod.PRODUCTION_REGION))
    one = entry.replace("    interface: public",
                        f"    interface: public\n    image_endpoint_override: {proxy_url}")
    path.write_text("clouds:\n" + one + two)
    return {**os.environ, "OS_CLIENT_CONFIG_FILE": str(path)}


def test_a_failing_or_stalled_target_is_cleaned_and_the_other_completes(
        cloud, glance, production, mirror, write_config, imgsync, tmp_path):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423",
                                       size=24 << 20)
    with glance_proxy.GlanceProxy(cloud.glance_url) as proxy:
        env = two_clouds(cloud, tmp_path / "clouds.yaml", proxy.url)
        prom = tmp_path / "imgsync.prom"
        config = write_config([UBUNTU], extra=f"[DEFAULT]\nupload_method = put\n"
                                              f"metrics_file = {prom}\n[glance]\n"
                                              "clouds = one,two\nbehind_timeout = 3\n")
        for fault, error in (({"status": 503, "text": "Service Unavailable"}, "HTTP 503"),
                             ({"stall": True}, "one fell behind")):
            proxy.fail("PUT", r"/file$", **fault)
            run, results = sync(imgsync, config, env=env)
            assert run.returncode == 1, run.stdout + run.stderr
            outcome = {r["target"]: r for r in results}
            assert outcome["one"]["action"] == "failed" and error in outcome["one"]["error"]
            assert outcome["two"]["action"] == "uploaded"
            assert glance.images() == []   # cleaned
            image, = production.images()
            assert image["status"] == "active" and image["size"] == path.stat().st_size
            assert run.max_rss_mib < 150, run.max_rss_mib
            assert samples(prom)["imgsync_up", (("distro", UBUNTU),)] == 0
            production.delete_all()

        run, results = sync(imgsync, config, env=env)
        assert run.returncode == 0, run.stderr
        assert {r["target"]: r["action"] for r in results} == {"one": "uploaded",
                                                               "two": "uploaded"}
        checks.stored_as_published(glance.images()[0], "Ubuntu 24.04 (20240423)", path)
        metrics = samples(prom)
        assert metrics["imgsync_up", (("distro", UBUNTU),)] == 1
        assert metrics["imgsync_transferred_bytes_total", ()] == 4 * path.stat().st_size
        assert metrics["imgsync_images", (("distro", UBUNTU), ("state", "active"))] == 1


def samples(path):
    """The samples of a Prometheus text file, parsed back with prometheus_client."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in parser.text_string_to_metric_families(path.read_text())
            for s in family.samples}


def test_same_image_id_a_failed_target_keeps_the_id_reserved(
        cloud, glance, production, mirror, write_config, imgsync, tmp_path):
    """A target whose upload fails keeps an empty, private, hidden record under the build's
    id, so no tenant can create an image under it there; the next run uploads into it."""
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    with glance_proxy.GlanceProxy(cloud.glance_url) as proxy:
        env = two_clouds(cloud, tmp_path / "clouds.yaml", proxy.url)
        config = write_config([UBUNTU], extra="[DEFAULT]\nupload_method = put\n"
                                              "same_image_id = true\n[glance]\n"
                                              "clouds = one,two\n")
        proxy.fail("PUT", r"/file$", status=503, text="Service Unavailable")
        run, results = sync(imgsync, config, env=env)
        assert run.returncode == 1, run.stdout + run.stderr
        assert {r["target"]: r["action"] for r in results} == {"one": "failed",
                                                               "two": "uploaded"}
        the_id, = [i["id"] for i in production.images()]
        reserved, = glance.images()
        assert (reserved["id"], reserved["status"], reserved["visibility"],
                reserved["os_hidden"], reserved["imgsync.state"]) == (
            the_id, "queued", "private", True, "reserved")
        tenant = glance.as_user(ks_session.Session(auth=v3.Password(**{
            k: v for k, v in cloud.tenant.items() if k != "project_id"})))
        assert tenant.create(id=the_id, name="squatter").status_code == 409

        run, results = sync(imgsync, config, env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert {r["target"]: r["action"] for r in results} == {"one": "uploaded",
                                                               "two": "up-to-date"}
        image, = glance.images()
        assert image["id"] == the_id and "imgsync.state" not in image
        checks.stored_as_published(image, "Ubuntu 24.04 (20240423)", path)
