"""One target down is one target failed: a region without Glance in Keystone's catalog,
or a cloud whose Keystone refuses connections, beside the live Glance."""

import json
import os
import socket

from tests.functional import checks
from tests.functional import mirror as mirror_mod
from tests.functional import stack as stack_mod

UBUNTU = "ubuntu-24.04"
NAME = "Ubuntu 24.04 (20240423)"


def run_json(imgsync, config, command, env=None):
    run = imgsync("--config-file", config, command, "--format", "json", env=env)
    assert "Traceback" not in run.stderr, run.stderr
    return run, json.loads(run.stdout) if run.stdout.strip() else {}


def naming(run, target):
    """The lines of the run's log that name ``target``."""
    return [line for line in run.stderr.splitlines() if target in line]


def test_a_region_without_glance_fails_alone(glance, mirror, write_config, imgsync, cloud):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config([UBUNTU], extra=f"[glance]\nregion_names = {stack_mod.REGION},"
                                          "RegionDead\n")
    run, document = run_json(imgsync, config, "sync")
    assert run.returncode == 1, run.stdout + run.stderr
    outcome = {r["target"]: r for r in document["results"]}
    assert outcome[stack_mod.REGION]["action"] == "uploaded"
    dead = outcome["RegionDead"]
    assert dead["action"] == "failed"
    assert dead["error"] == (f"no Glance: Keystone's catalog at {cloud.admin['auth_url']} "
                             "has no public image endpoint in region RegionDead")
    line, = naming(run, "RegionDead")
    assert line.endswith(f"RegionDead: {dead['error']}")
    image, = glance.images()
    checks.stored_as_published(image, NAME, path)

    run, document = run_json(imgsync, config, "status")
    assert run.returncode == 1, run.stdout + run.stderr
    assert [(r["target"], r["state"], r["error"]) for r in document["instances"]] == [
        (stack_mod.REGION, "in-sync", ""), ("RegionDead", "failing", dead["error"])]


def test_a_cloud_whose_keystone_refuses_fails_alone(glance, mirror, write_config, imgsync,
                                                    cloud, tmp_path):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    with socket.socket() as closed:   # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/v3"
        clouds = cloud.clouds_yaml(tmp_path / "clouds.yaml", "live").read_text()
        entry = clouds.split("\n", 1)[1]
        dead = entry.replace('"live":', '"dead":').replace(
            json.dumps(cloud.admin["auth_url"]), json.dumps(dead_url))
        assert dead_url in dead
        (tmp_path / "clouds.yaml").write_text(clouds + dead)
        env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml")}
        config = write_config([UBUNTU], extra="[glance]\nclouds = dead,live\n")
        run, document = run_json(imgsync, config, "sync", env=env)
    assert run.returncode == 1, run.stdout + run.stderr
    outcome = {r["target"]: r for r in document["results"]}
    assert outcome["live"]["action"] == "uploaded"
    assert outcome["dead"]["action"] == "failed"
    error = outcome["dead"]["error"]
    assert error.startswith(f"cannot authenticate with Keystone at {dead_url}: ")
    assert "refused" in error
    line, = naming(run, "dead")
    assert line.endswith(f"dead: {error}")
    image, = glance.images()
    checks.stored_as_published(image, NAME, path)
