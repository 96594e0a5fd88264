"""End to end with osism's openstack-image-manager: imgsync mirrors a build into a public
Swift container and catalogs it (no Glance target), then the real openstack-image-manager
reads that catalog and imports the image into Glance by web-download from the
``mirror_url``, not from upstream."""

import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

from tests.functional import mirror as mirror_mod
from tests.functional import stack as stack_mod

OIM = "openstack-image-manager==0.20261007.0"
OIM_DEPENDENCIES = ("loguru==0.7.3", "munch==4.0.0", "natsort==8.4.0", "openstacksdk==4.20.0",
                    "requests==2.34.2", "typer==0.27.2", "yamale==6.1.0", "PyYAML")
"""What its main module imports, at the versions it pins. Not its other pins: patool
4.1.0 (archives, for its prefetch) needs Python 3.12, and the test never prefetches."""
OIM_MARKERS = (".imgsync-oim-dependencies", ".imgsync-oim-venv")
OIM_VENV_ENV = "IMGSYNC_OIM_VENV"
OIM_TIMEOUT = 600
"""Seconds for one openstack-image-manager run (it polls an import every 10 s)."""
PROBE_TIMEOUT = 120


def pypi_reachable():
    """Whether pip (with this machine's index settings) can fetch the pinned package."""
    with tempfile.TemporaryDirectory(prefix="imgsync-oim-probe-") as dest:
        try:
            probe = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                                    "--no-deps", "--dest", dest, OIM],
                                   capture_output=True, timeout=PROBE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def oim():
    """The openstack-image-manager command from its own cached venv (it pins its own
    openstacksdk), installed once: a session fixture, ahead of the services, so that a
    skip starts none of them."""
    venv = Path(os.environ.get(OIM_VENV_ENV) or Path.home() / ".cache/imgsync/oim-venv")
    try:
        stack_mod.ensure_venv(venv, OIM_DEPENDENCIES, OIM_MARKERS[0])
        stack_mod.ensure_venv(venv, ("--no-deps", OIM), OIM_MARKERS[1],
                              ("openstack-image-manager",))
    except RuntimeError as exc:
        if not pypi_reachable():
            pytest.skip(f"PyPI unreachable: cannot install {OIM} into {venv}")
        pytest.fail(str(exc))
    return venv / "bin" / "openstack-image-manager"


def object_reads(swift, path):
    """The successful GETs of ``path`` in Swift's proxy access log (one line a request)."""
    log = (swift.log_dir / "proxy.log").read_text(errors="replace")
    return [line for line in log.splitlines() if f" GET {path} HTTP/1.0 200 " in line]


def test_openstack_image_manager_imports_from_the_mirror_url(
        oim, glance, mirror, swift, cloud, write_config, imgsync, tmp_path):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    container = f"m-{uuid.uuid4().hex[:8]}"
    catalogs = tmp_path / "catalog"
    config = write_config(["ubuntu-24.04"], extra=(
        f"[mirror]\nstore = swift\ncontainer = {container}\npublic_read = true\n"
        f"[DEFAULT]\ncatalog_dir = {catalogs}\n[glance]\nenabled = false\n"))
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    assert glance.images() == [] and len(mirror.image_requests()) == 1
    (entry,) = yaml.safe_load((catalogs / "ubuntu.yml").read_text())["images"]
    (version,) = entry["versions"]
    url = version["mirror_url"]
    assert url.startswith(f"{swift.url}/v1/KEY_") and version["url"] != url
    object_path = url[len(swift.url):]
    assert object_reads(swift, object_path) == []

    clouds = cloud.clouds_yaml(tmp_path / "clouds.yaml")
    result = subprocess.run(
        [str(oim), "--cloud", "imgsync-test", "--images", str(catalogs),
         "--filter", f"^{re.escape(entry['name'])}", "--prefetch", "never",
         "--import-timeout", "300"],
        env={**stack_mod._child_env(), "OS_CLIENT_CONFIG_FILE": str(clouds)},
        capture_output=True, text=True, timeout=OIM_TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    assert f"Importing from URL {url}" in result.stderr

    (image,) = glance.images()
    assert image["name"] == entry["name"] and image["status"] == "active"
    assert image["size"] == path.stat().st_size
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")
    assert image["image_source"] == version["url"]   # the official URL, as OIM records it
    assert len(mirror.image_requests()) == 1   # Glance never asked upstream
    (read,) = object_reads(swift, object_path)   # Glance's web-download read it from Swift
    assert "Python-urllib" in read and f" {path.stat().st_size} " in read
