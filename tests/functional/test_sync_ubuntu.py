"""End to end: imgsync against a real Keystone + Glance and a local Ubuntu mirror."""

import os

from tests.functional import checks
from tests.functional import mirror as mirror_mod

DISTROS = ["ubuntu-22.04", "ubuntu-24.04"]



def test_sync_two_releases_then_rerun_changes_nothing(glance, mirror, write_config, imgsync):
    root = mirror.root / "ubuntu"
    files = {
        "ubuntu-22.04": mirror_mod.add_ubuntu_build(root, "22.04", "20240101"),
        "ubuntu-24.04": mirror_mod.add_ubuntu_build(root, "24.04", "20240423.1"),
    }
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")   # older build, not synced
    config = write_config(DISTROS)

    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stderr
    images = {image["imgsync.distro"]: image for image in glance.images()}
    assert sorted(images) == DISTROS
    expected = {"ubuntu-22.04": ("22.04", "20240101"), "ubuntu-24.04": ("24.04", "20240423.1")}
    for distro, image in images.items():
        series, serial = expected[distro]
        path = files[distro]
        assert image["name"] == f"test-Ubuntu {series} ({serial})"
        assert image["status"] == "active"
        assert image["visibility"] == "public" and image["os_hidden"] is False
        assert (image["disk_format"], image["container_format"]) == ("qcow2", "bare")
        assert (image["min_disk"], image["min_ram"]) == (8, 512)
        assert image["size"] == path.stat().st_size
        assert image["os_hash_algo"] == "sha512"
        assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")
        assert image["source"] == "imgsync"
        assert image["imgsync.sha256"] == mirror_mod.sha(path, "sha256")
        assert image["imgsync.version"] == serial
        assert image["image_build_date"] == f"{serial[:4]}-{serial[4:6]}-{serial[6:8]}"
        assert image["imgsync.mirror_url"] == (
            f"{mirror.url}ubuntu/{path.relative_to(root).as_posix()}")
        assert image["imgsync.url"] == (
            f"https://cloud-images.ubuntu.com/{path.relative_to(root).as_posix()}")
        assert (image["os_distro"], image["os_version"]) == ("ubuntu", series)
        assert image["architecture"] == "x86_64"
        assert image["os_admin_user"] == "ubuntu"
        assert image["hw_qemu_guest_agent"] == "yes"
        assert "imgsync.state" not in image and "imgsync.started_at" not in image
        assert f"{image['name']} {image['id']}" in first.stdout
    assert len(mirror.image_requests()) == 2

    checks.rerun_changes_nothing(imgsync, config, glance, mirror, 2)


def test_new_upstream_build_is_added(glance, mirror, write_config, imgsync):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    config = write_config(["ubuntu-24.04"])
    assert imgsync("--config-file", config, "sync").returncode == 0
    mirror_mod.add_ubuntu_build(root, "24.04", "20240501")
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    assert sorted(i["imgsync.version"] for i in glance.images()) == ["20240423", "20240501"]


def test_wrong_checksum_leaves_nothing_and_others_still_sync(glance, mirror, write_config,
                                                              imgsync):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "22.04", "20240101")
    bad = mirror_mod.add_ubuntu_build(root, "24.04", "20240423", checksum="0" * 64)
    run = imgsync("--config-file", write_config(DISTROS), "sync")
    assert run.returncode == 1
    url = f"{mirror.url}ubuntu/{bad.relative_to(root).as_posix()}"
    assert url in run.stderr and "0" * 64 in run.stderr
    assert mirror_mod.sha(bad, "sha256") in run.stderr
    assert [i["imgsync.distro"] for i in glance.images()] == ["ubuntu-22.04"]


def test_truncated_download_leaves_nothing(glance, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    mirror.set_faults(truncate=True)
    run = imgsync("--config-file", write_config(["ubuntu-24.04"]), "sync")
    assert run.returncode == 1
    assert "ubuntu-24.04" in run.stderr
    assert [(i["status"], i["os_hidden"]) for i in glance.images()] == [], run.stderr


def test_upload_without_content_length_is_chunked(glance, mirror, write_config, imgsync):
    """Upstream sends no length: the upload is chunked in pieces uWSGI accepts."""
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423",
                                       size=5 << 20)
    mirror.set_faults(omit_length=True)
    run = imgsync("--config-file", write_config(["ubuntu-24.04"]), "sync")
    assert run.returncode == 0, run.stderr
    image, = glance.images()
    assert image["status"] == "active" and image["size"] == path.stat().st_size
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")


def test_dry_run_changes_nothing(glance, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    run = imgsync("--config-file", write_config(["ubuntu-24.04"]), "sync", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "would-upload" in run.stdout and "test-Ubuntu 24.04 (20240423)" in run.stdout
    assert glance.images() == [] and mirror.image_requests() == []


def test_clouds_yaml_and_only_selected_distributions(glance, cloud, mirror, write_config,
                                                     imgsync, tmp_path):
    root = mirror.root / "ubuntu"
    mirror_mod.add_ubuntu_build(root, "22.04", "20240101")
    mirror_mod.add_ubuntu_build(root, "24.04", "20240423")
    clouds = cloud.clouds_yaml(tmp_path / "clouds.yaml", "testcloud")
    config = write_config(DISTROS)
    text = config.read_text().replace("auth_type = password", "")
    config.write_text(text.replace("[glance]\n", "[glance]\ncloud = testcloud\n"))
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds)}
    run = imgsync("--config-file", config, "sync", "--distributions", "ubuntu-24.04", env=env)
    assert run.returncode == 0, run.stderr
    assert [i["imgsync.distro"] for i in glance.images()] == ["ubuntu-24.04"]


def test_debug_log_never_shows_the_password(glance, cloud, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config(["ubuntu-24.04"])
    run = imgsync("--config-file", config, "--debug", "sync")
    assert run.returncode == 0, run.stderr
    assert "DEBUG" in run.stderr
    assert cloud.admin["password"] not in run.stdout + run.stderr


def test_unreachable_glance_is_one_clear_error(glance, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    config = write_config(["ubuntu-24.04"])
    text = config.read_text()
    auth_url = next(line for line in text.splitlines() if line.startswith("auth_url"))
    config.write_text(text.replace(auth_url, "auth_url = http://127.0.0.1:9/v3"))
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 1
    assert "127.0.0.1:9" in run.stderr
    assert "Traceback" not in run.stderr


def test_unreachable_mirror_fails_that_driver_only(glance, mirror, write_config, imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "22.04", "20240101")
    config = write_config(DISTROS, extra="[ubuntu-24.04]\nbase_url = http://127.0.0.1:9/\n")
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 1
    assert "http://127.0.0.1:9/releases/noble/" in run.stderr
    assert [i["imgsync.distro"] for i in glance.images()] == ["ubuntu-22.04"]


def test_bad_config_exits_2_naming_the_option(mirror, write_config, imgsync):
    config = write_config(["ubuntu-24.04"], extra="[ubuntu-24.04]\nstream = weekly\n")
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 2
    assert "[ubuntu-24.04] stream" in run.stderr and "weekly" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
