"""End to end with osism's openstack-image-manager: imgsync mirrors a build into a public
Swift container and catalogs it (no Glance target), then the real openstack-image-manager
reads that catalog and imports the image into Glance by web-download from the
``mirror_url``, not from upstream."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

from tests.functional import mirror as mirror_mod
from tests.functional import stack as stack_mod

OIM_PACKAGES = ("openstack-image-manager==0.20261007.0",)
"""Pinned as the suite verified it; it pins its own openstacksdk, hence its own venv."""
OIM_MARKER = ".imgsync-oim-venv"
OIM_VENV_ENV = "IMGSYNC_OIM_VENV"
OIM_PYTHON_ENV = "IMGSYNC_OIM_PYTHON"
OIM_TIMEOUT = 600
"""Seconds for one openstack-image-manager run (it polls an import every 10 s)."""
PROBE_TIMEOUT = 120
NEW_ENOUGH = "import sys; sys.exit(sys.version_info < (3, 12))"


def oim_python():
    """A Python >= 3.12 to create the venv with: this release pins patool 4.1.0, which
    requires it. $IMGSYNC_OIM_PYTHON, ours, python3.13/3.12 on PATH, or pyenv's."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [os.environ.get(OIM_PYTHON_ENV), sys.executable,
                  shutil.which("python3.13"), shutil.which("python3.12"),
                  *sorted(glob.glob(f"{pyenv}/versions/3.1[2-9]*/bin/python3"), reverse=True)]
    for python in filter(None, candidates):
        try:
            probe = subprocess.run([python, "-c", NEW_ENOUGH], capture_output=True,
                                   timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return python
    return None


def pypi_reachable(python):
    """Whether pip (with this machine's index settings) can fetch the pinned package."""
    with tempfile.TemporaryDirectory(prefix="imgsync-oim-probe-") as dest:
        try:
            probe = subprocess.run([python, "-m", "pip", "download", "--quiet", "--no-deps",
                                    "--dest", dest, *OIM_PACKAGES],
                                   capture_output=True, timeout=PROBE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def oim():
    """The openstack-image-manager command from its own cached venv, installed once (a
    session fixture, ahead of the services: a skip starts none of them)."""
    python = oim_python()
    if python is None:
        pytest.fail(f"{OIM_PACKAGES[0]} needs Python >= 3.12 (its pin patool 4.1.0 does): "
                    f"none found; set ${OIM_PYTHON_ENV}")
    venv = Path(os.environ.get(OIM_VENV_ENV) or Path.home() / ".cache/imgsync/oim-venv")
    try:
        stack_mod.ensure_venv(venv, OIM_PACKAGES, OIM_MARKER, ("openstack-image-manager",),
                              interpreter=python)
    except RuntimeError as exc:
        if not pypi_reachable(python):
            pytest.skip(f"PyPI unreachable: cannot install {OIM_PACKAGES[0]} into {venv}")
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
