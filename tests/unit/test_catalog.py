import datetime
import os

import pytest
import yaml
from oslo_config import cfg

from imgsync import cli
from imgsync import conf as imgsync_conf
from imgsync import ordering
from imgsync.ops import catalog
from imgsync.upstream import drivers as drivers_mod
from imgsync.upstream import http as upstream
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import ubuntu
from tests import catalog_schema

MIRROR = "http://mirror.example.org/ubuntu-cloud-images/"
OFFICIAL = "https://cloud-images.ubuntu.com/"
DRIVERS = {"ubuntu-22.04": ubuntu.Ubuntu2204, "ubuntu-24.04": ubuntu.Ubuntu2404}
BUILDS = {"jammy": ("22.04", ["20240101", "20231215"]),
          "noble": ("24.04", ["20240423.1", "20240423", "20231201"])}


def sha(*parts):
    return format(abs(hash(parts)), "x").rjust(64, "0")[:64]


@pytest.fixture
def mirror(requests_mock):
    """Ubuntu's release tree below MIRROR, amd64 and arm64 in every build."""
    for codename, (series, serials) in BUILDS.items():
        root = f"{MIRROR}releases/{codename}/"
        dirs = "".join(f'<a href="release-{s}/">release-{s}/</a>' for s in serials)
        requests_mock.get(root, text=f"<pre>{dirs}</pre>")
        for serial in serials:
            requests_mock.get(f"{root}release-{serial}/SHA256SUMS", text="".join(
                f"{sha(serial, arch)} *ubuntu-{series}-server-cloudimg-{arch}.img\n"
                for arch in ("amd64", "arm64")))
    return requests_mock


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    imgsync_conf.register_opts(conf, DRIVERS)
    conf([], default_config_files=[])
    for name in DRIVERS:
        conf.set_override("base_url", MIRROR, group=name)
        conf.set_override("versions", 2, group=name)
        conf.set_override("architectures", ["x86_64", "aarch64"], group=name)
        conf.set_override("signature", "off", group=name)   # the mirror has no .gpg files
    return conf


def drivers(conf, names=tuple(DRIVERS)):
    return [DRIVERS[name](name, conf[name], upstream.Upstream(5, 0), {}) for name in names]


def write_upstream(conf, directory, names=tuple(DRIVERS)):
    paths, failed = catalog.write_upstream(directory, drivers(conf, names), "", "public")
    assert not failed
    return paths


def test_ubuntu_catalog_is_valid_and_complete(mirror, conf, tmp_path):
    conf.set_override("os_purpose", "k8snode", group="ubuntu-24.04")
    conf.set_override("uuid_validity", "last-3", group="ubuntu-24.04")
    conf.set_override("provided_until", "2029-04-30", group="ubuntu-24.04")
    conf.set_override("catalog_tags", ["lts"], group="ubuntu-24.04")
    path, = write_upstream(conf, tmp_path)
    assert path == str(tmp_path / "ubuntu.yml")
    catalog_schema.validate(path)
    images = yaml.safe_load((tmp_path / "ubuntu.yml").read_text())["images"]
    assert [i["shortname"] for i in images] == [
        "ubuntu-22.04", "ubuntu-22.04-aarch64", "ubuntu-24.04", "ubuntu-24.04-aarch64"]
    noble = images[2]
    assert noble["name"] == "Ubuntu 24.04" and images[3]["name"] == "Ubuntu 24.04 aarch64"
    assert (noble["format"], noble["login"], noble["min_disk"], noble["min_ram"]) == (
        "qcow2", "ubuntu", 8, 512)
    assert noble["multi"] is True and noble["tags"] == ["lts"]
    assert noble["meta"]["os_version"] == "24.04"
    assert noble["meta"]["hw_scsi_model"] == "virtio-scsi"
    assert noble["meta"]["provided_until"] == datetime.date(2029, 4, 30)
    assert (noble["meta"]["os_purpose"], noble["meta"]["uuid_validity"]) == ("k8snode", "last-3")
    assert images[0]["meta"]["os_purpose"] == "generic"
    newest, older = noble["versions"]
    assert (newest["version"], older["version"]) == ("20240423.1", "20240423")
    tail = "releases/noble/release-20240423.1/ubuntu-24.04-server-cloudimg-amd64.img"
    assert newest == {"version": "20240423.1", "url": OFFICIAL + tail, "source": OFFICIAL + tail,
                      "mirror_url": MIRROR + tail,
                      "checksum": f"sha256:{sha('20240423.1', 'amd64')}",
                      "build_date": datetime.date(2024, 4, 23)}
    assert images[3]["meta"]["architecture"] == "aarch64"
    # the SCS record Glance gets is the catalog's too
    assert (noble["meta"]["replace_frequency"], noble["meta"]["hypervisor_type"],
            noble["meta"]["image_description"]) == (
        "quarterly", "qemu", "https://cloud-images.ubuntu.com/releases/noble/")


def test_official_site_has_no_mirror_url(mirror, conf, tmp_path, requests_mock):
    conf.clear_override("base_url", group="ubuntu-24.04")
    requests_mock.get(f"{OFFICIAL}releases/noble/", text='<a href="release-20240423/">x</a>')
    requests_mock.get(f"{OFFICIAL}releases/noble/release-20240423/SHA256SUMS",
                      text=f"{'a' * 64} *ubuntu-24.04-server-cloudimg-amd64.img\n"
                           f"{'b' * 64} *ubuntu-24.04-server-cloudimg-arm64.img\n")
    path, = write_upstream(conf, tmp_path, ["ubuntu-24.04"])
    catalog_schema.validate(path)
    version = yaml.safe_load(open(path))["images"][0]["versions"][0]
    assert "mirror_url" not in version and version["url"].startswith(OFFICIAL)


def test_text_is_diff_friendly(mirror, conf, tmp_path):
    write_upstream(conf, tmp_path)
    text = (tmp_path / "ubuntu.yml").read_text()
    assert text.startswith("---\nimages:\n  - name: Ubuntu 22.04\n")
    assert "      - version: '20240101'\n" in text
    assert "version: '20240423.1'" in text and "os_version: '24.04'" in text
    assert "build_date: 2024-04-23\n" in text


def test_round_trip(mirror, conf, tmp_path):
    entries = [e for d in drivers(conf) for e in catalog.upstream_entries(d, "", "public")]
    catalog.write(tmp_path, "ubuntu", entries)
    entries.sort(key=lambda entry: ordering.natural_key(entry["shortname"]))
    assert yaml.safe_load((tmp_path / "ubuntu.yml").read_text()) == {"images": entries}


def test_deterministic_whatever_the_driver_order(mirror, conf, tmp_path):
    write_upstream(conf, tmp_path / "a")
    write_upstream(conf, tmp_path / "b", list(reversed(DRIVERS)))
    write_upstream(conf, tmp_path / "c")
    first = (tmp_path / "a" / "ubuntu.yml").read_bytes()
    assert (tmp_path / "b" / "ubuntu.yml").read_bytes() == first
    assert (tmp_path / "c" / "ubuntu.yml").read_bytes() == first


def half_written(data, stream, **kwargs):
    stream.write("---\nimages:\n  - name: Ubu")
    raise RuntimeError("crash while serialising")


def replace_fails(src, dst):
    raise OSError("crash before the rename")


@pytest.mark.parametrize("target,fault", [("yaml.dump", half_written),
                                          ("os.replace", replace_fails)])
def test_crash_leaves_old_file_and_no_temp_file(mirror, conf, tmp_path, monkeypatch,
                                                target, fault):
    (tmp_path / "ubuntu.yml").write_text("---\nold: catalog\n")
    monkeypatch.setattr(f"imgsync.ops.catalog.{target}", fault)
    with pytest.raises((RuntimeError, OSError)):
        write_upstream(conf, tmp_path)
    assert os.listdir(tmp_path) == ["ubuntu.yml"]
    assert (tmp_path / "ubuntu.yml").read_text() == "---\nold: catalog\n"


def test_failed_driver_keeps_its_family_file(mirror, conf, tmp_path):
    (tmp_path / "ubuntu.yml").write_text("---\nold: catalog\n")
    mirror.get(f"{MIRROR}releases/jammy/", status_code=404)
    paths, failed = catalog.write_upstream(tmp_path, drivers(conf), "", "public")
    assert (paths, failed) == ([], ["ubuntu-22.04"])
    assert (tmp_path / "ubuntu.yml").read_text() == "---\nold: catalog\n"


def image(distro, version, arch="x86_64", **extra):
    series = distro.rpartition("-")[2]
    return {"id": f"{abs(hash((distro, version, arch))) % 10 ** 8:08d}-0000-4000-8000-"
                  "000000000000",
            "status": "active", "os_hidden": False, "source": "imgsync",
            "imgsync.distro": distro, "imgsync.version": version,
            "imgsync.url": f"{MIRROR}{distro}/{version}.img", "imgsync.sha256": "c" * 64,
            "architecture": arch, "os_distro": "ubuntu", "os_version": series,
            "hw_qemu_guest_agent": "yes", **extra}


def make_driver(conf):
    return {d.name: d for d in drivers(conf)}.get


def test_glance_catalog_lists_finished_images_with_ids(conf, tmp_path):
    images = [image("ubuntu-24.04", "20240423"), image("ubuntu-24.04", "20240501"),
              image("ubuntu-24.04", "20240101", os_hidden=True),
              image("ubuntu-24.04", "20240601", status="queued", os_hidden=True,
                    **{"imgsync.state": "pending"}),
              image("ubuntu-24.04", "20240501", arch="aarch64")]
    (tmp_path / "other.yml").write_text("kept")
    paths = catalog.write_images(tmp_path, images, make_driver(conf),
                                 ["ubuntu-24.04"], "test-", "public")
    assert paths == [str(tmp_path / "ubuntu.yml")]
    catalog_schema.validate(paths[0])
    amd64, arm64 = yaml.safe_load(open(paths[0]))["images"]
    assert (amd64["name"], arm64["name"]) == ("test-Ubuntu 24.04", "test-Ubuntu 24.04 aarch64")
    assert [(v["version"], v["id"]) for v in amd64["versions"]] == [
        (i["imgsync.version"], i["id"]) for i in (images[1], images[0], images[2])]
    assert [v.get("hidden") for v in amd64["versions"]] == [None, None, True]
    assert amd64["versions"][0]["checksum"] == "sha256:" + "c" * 64
    assert amd64["versions"][0]["mirror_url"] == f"{MIRROR}ubuntu-24.04/20240501.img"
    assert amd64["meta"]["hw_qemu_guest_agent"] == "yes"
    assert arm64["versions"][0]["id"] == images[4]["id"]
    assert (tmp_path / "other.yml").read_text() == "kept"


def test_glance_catalog_leaves_out_deactivated_and_unpublished_images(conf, tmp_path):
    """A deactivated image is finished (rotated out) but no server can boot it."""
    images = [image("ubuntu-24.04", "20240501"),
              image("ubuntu-24.04", "20240401", os_hidden=True),
              image("ubuntu-24.04", "20240301", status="deactivated"),
              image("ubuntu-24.04", "20240201", status="deactivated", os_hidden=True),
              image("ubuntu-24.04", "20240601", **{"imgsync.state": "reserved"})]
    path, = catalog.write_images(tmp_path, images, make_driver(conf),
                                 ["ubuntu-24.04"], "", "public")
    versions = yaml.safe_load(open(path))["images"][0]["versions"]
    assert [(v["version"], v.get("hidden")) for v in versions] == [("20240501", None),
                                                                   ("20240401", True)]


def test_glance_catalog_without_images_removes_the_family_file(conf, tmp_path):
    (tmp_path / "ubuntu.yml").write_text("---\nold: catalog\n")
    paths = catalog.write_images(tmp_path, [image("plan9-4", "1")],
                                 make_driver(conf), ["ubuntu-24.04"], "", "public")
    assert paths == [] and os.listdir(tmp_path) == []


class Explicit(base.Driver):
    family = "custom"


class Derived(Explicit):
    pass


def test_family_is_the_drivers_own():
    assert {cls.family for cls in DRIVERS.values()} == {"ubuntu"}
    assert (Explicit.family, Derived.family) == ("custom", "custom")
    available = drivers_mod.available()
    assert [available[name].family for name in ("rocky-9", "almalinux-9", "centos-stream-9")] \
        == ["rocky", "almalinux", "centos"]   # not "el", their shared base's module


def test_schema_check_is_strict(mirror, conf, tmp_path):
    path, = write_upstream(conf, tmp_path, ["ubuntu-24.04"])
    text = open(path).read()
    open(path, "w").write(text.replace("os_distro: ubuntu", "os_distro: ubuntux"))
    with pytest.raises(catalog_schema.yamale.YamaleError):
        catalog_schema.validate(path)


@pytest.fixture
def run(mirror, tmp_path, capsys):
    def invoke(*args, config=""):
        path = tmp_path / "imgsync.conf"
        path.write_text("[DEFAULT]\ndistributions = ubuntu-22.04,ubuntu-24.04\nhttp_retries = 0\n"
                        + "".join(f"[{name}]\nbase_url = {MIRROR}\nsignature = off\n"
                                  for name in DRIVERS)
                        + config)
        code = cli.main(["--config-file", str(path), "catalog", *map(str, args)])
        return code, *capsys.readouterr()
    return invoke


def test_catalog_command_needs_no_glance(run, tmp_path):
    code, out, err = run("--output-dir", tmp_path / "cat", "--versions", 3,
                         config="[ubuntu-24.04]\nos_purpose = minimal\n")
    assert code == 0, err
    assert out == f"{tmp_path / 'cat' / 'ubuntu.yml'}\n"
    catalog_schema.validate(tmp_path / "cat" / "ubuntu.yml")
    images = yaml.safe_load((tmp_path / "cat" / "ubuntu.yml").read_text())["images"]
    assert [len(i["versions"]) for i in images] == [2, 3]
    assert images[1]["meta"]["os_purpose"] == "minimal"


def test_catalog_command_only_selected_drivers(run, tmp_path):
    code, _, err = run("--output-dir", tmp_path, "--distributions", "ubuntu-22.04")
    assert code == 0, err
    images = yaml.safe_load((tmp_path / "ubuntu.yml").read_text())["images"]
    assert [i["shortname"] for i in images] == ["ubuntu-22.04"]


def test_catalog_command_driver_failure_exits_1(run, mirror, tmp_path):
    mirror.get(f"{MIRROR}releases/noble/", status_code=404)
    code, out, err = run("--output-dir", tmp_path / "cat")
    assert code == 1 and out == "" and "ubuntu-24.04" in err
    assert not (tmp_path / "cat" / "ubuntu.yml").exists()


def test_catalog_command_bad_versions_exit_2(run):
    with pytest.raises(SystemExit) as exit_info:
        run("--output-dir", "x", "--versions", 0)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("option", ["uuid_validity = sometimes", "replace_frequency = hourly",
                                    "provided_until = soon"])
def test_catalog_command_bad_options_exit_2(run, option):
    code, _, err = run("--output-dir", "x", config=f"[ubuntu-24.04]\n{option}\n")
    assert code == 2
    assert f"[ubuntu-24.04] {option.split()[0]}" in err and len(err.strip().splitlines()) == 1
