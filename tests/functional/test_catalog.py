"""Catalog files for openstack-image-manager, from a local mirror and from a real Glance."""

import os
import re

import yaml

from imgsync.upstream import drivers as drivers_mod
from tests import catalog_schema
from tests.functional import mirror as mirror_mod

DISTROS = ["ubuntu-22.04", "ubuntu-24.04"]
OFFICIAL_UBUNTU = "https://cloud-images.ubuntu.com/"


def _ubuntu(mirror):
    for series in ("22.04", "24.04"):
        mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", series, "20240423")
    return {f"ubuntu-{series}": f"base_url = {mirror.url}ubuntu/\n"
            for series in ("22.04", "24.04")}


def _flatcar(mirror):
    mirror_mod.add_flatcar_build(mirror.root / "flatcar", "4230.2.4", "2025-10-13-1912")
    return {"flatcar-stable": f"base_url = {mirror.url}flatcar/\n"}


def _fedora(mirror):
    mirror_mod.add_fedora_release(mirror.root / "fedora", "44", "1.7")
    return {"fedora": f"base_url = {mirror.url}fedora/\n"}


def _leap(mirror):
    mirror_mod.add_leap_build(mirror.root / "leap", "16.0", "16.2")
    return {"opensuse-leap-16.0": f"base_url = {mirror.url}leap/\n"}


def _cirros(mirror):
    mirror_mod.add_cirros_version(mirror.root / "cirros", "0.6.3")
    return {"cirros": f"base_url = {mirror.url}cirros/\n"}


def _vendor(mirror):
    mirror_mod.add_vendor_build(mirror.root / "vendor", "20240501.1")
    return {"generic": f"base_url = {mirror.url}vendor/\ndisplay_name = Vendor OS 9\n"
                       r"file_regex = vendor-os-9-(?P<version>\d{8}\.\d+)-{arch}\.qcow2" "\n"
                       "checksum_url = SHA256SUMS\n"
                       "properties = os_distro=rhel,os_version=9,os_admin_user=cloud-user\n"}


def _debian(mirror):
    mirror_mod.add_debian_build(mirror.root / "debian", "trixie", "13", "20260705-2167")
    return {"debian-13": f"base_url = {mirror.url}debian/\n"}


def _almalinux(mirror):
    mirror_mod.add_almalinux_build(mirror.root / "almalinux", "9", "9.8-20260526")
    return {"almalinux-9": f"base_url = {mirror.url}almalinux/\n"}


def _rocky(mirror):
    mirror_mod.add_rocky_build(mirror.root / "rocky", "10", "10.1-20251116.0")
    return {"rocky-10": f"base_url = {mirror.url}rocky/\n"}


def _centos(mirror):
    mirror_mod.add_centos_compose(mirror.root / "centos", "9", "20260714.1")
    return {"centos-stream-9": f"base_url = {mirror.url}centos/\n"}


PUBLISHERS = {"add_ubuntu_build": _ubuntu, "add_flatcar_build": _flatcar,
              "add_fedora_release": _fedora, "add_leap_build": _leap,
              "add_cirros_version": _cirros, "add_vendor_build": _vendor,
              "add_debian_build": _debian, "add_almalinux_build": _almalinux,
              "add_rocky_build": _rocky, "add_centos_compose": _centos}
"""For each builder in mirror.py: publish a build, return {driver: its config lines}."""


def load(path):
    catalog_schema.validate(path)
    return yaml.safe_load(path.read_text())["images"]


def test_catalog_command_writes_valid_files_for_every_mirrored_family(mirror, imgsync,
                                                                       tmp_path):
    builders = {name for name in vars(mirror_mod) if re.fullmatch(r"add_\w+", name)}
    assert builders <= set(PUBLISHERS), f"add {builders - set(PUBLISHERS)} to PUBLISHERS"
    groups = {}
    for builder in builders:
        groups.update(PUBLISHERS[builder](mirror))
    available = drivers_mod.available()
    assert set(groups) <= set(available)
    config = tmp_path / "imgsync.conf"
    keys = mirror_mod.signing_keys_file(tmp_path)
    config.write_text(f"[DEFAULT]\ndistributions = {','.join(sorted(groups))}\n"
                      "http_retries = 0\n"
                      + "".join(f"[{name}]\n{lines}signing_keys = {keys}\n"
                                for name, lines in groups.items()))
    out = tmp_path / "catalog"
    run = imgsync("--config-file", config, "catalog", "--output-dir", out)
    assert run.returncode == 0, run.stderr
    families = sorted({available[name].family for name in groups})
    assert sorted(os.listdir(out)) == [f"{family}.yml" for family in families]
    assert run.stdout.split() == [str(out / f"{family}.yml") for family in families]
    shortnames = set()
    for family in families:
        for image in load(out / f"{family}.yml"):
            shortnames.add(image["shortname"])
            version, = image["versions"]
            if available[image["shortname"]].upstream_url:
                assert version["mirror_url"].startswith(mirror.url)
            else:   # generic: the configured site is the only one
                assert version["url"].startswith(mirror.url) and "mirror_url" not in version
            assert version["checksum"].partition(":")[2]
    assert shortnames == set(groups)
    for image in load(out / "ubuntu.yml"):
        version, = image["versions"]
        path = mirror.root / version["mirror_url"][len(mirror.url):]
        assert version["checksum"] == f"sha256:{mirror_mod.sha(path, 'sha256')}"
        assert version["url"] == OFFICIAL_UBUNTU + version["mirror_url"][
            len(f"{mirror.url}ubuntu/"):]
        assert version["version"] == "20240423" and str(version["build_date"]) == "2024-04-23"


def test_sync_keeps_catalog_dir_in_step_with_glance(glance, mirror, write_config, imgsync,
                                                    tmp_path):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "22.04", "20240101")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    catalog_dir = tmp_path / "catalog"
    config = write_config(DISTROS, extra=f"[DEFAULT]\ncatalog_dir = {catalog_dir}\n\n"
                                         "[ubuntu-24.04]\nversions = 2\n")

    dry = imgsync("--config-file", config, "sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert not catalog_dir.exists()

    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    images = load(catalog_dir / "ubuntu.yml")
    assert [(i["name"], i["shortname"]) for i in images] == [
        ("test-Ubuntu 22.04", "ubuntu-22.04"), ("test-Ubuntu 24.04", "ubuntu-24.04")]
    in_glance = {image["id"]: image for image in glance.images()}
    listed = [(image["shortname"], version) for image in images for version in image["versions"]]
    assert [(name, v["version"]) for name, v in listed] == [
        ("ubuntu-22.04", "20240101"), ("ubuntu-24.04", "20240501"),
        ("ubuntu-24.04", "20240423")]
    assert sorted(v["id"] for _, v in listed) == sorted(in_glance)
    for name, version in listed:
        image = in_glance[version["id"]]
        assert (image["imgsync.distro"], image["imgsync.version"]) == (name, version["version"])
        assert version["mirror_url"] == image["imgsync.mirror_url"]
        assert version["url"] == image["imgsync.url"]
        assert version["url"].startswith("https://cloud-images.ubuntu.com/releases/")
        assert version["checksum"] == f"sha256:{image['imgsync.sha256']}"
    assert images[1]["meta"]["hw_qemu_guest_agent"] == "yes"

    before = (catalog_dir / "ubuntu.yml").read_bytes()
    again = imgsync("--config-file", config, "sync")
    assert again.returncode == 0, again.stderr
    assert (catalog_dir / "ubuntu.yml").read_bytes() == before
    assert os.listdir(catalog_dir) == ["ubuntu.yml"]
