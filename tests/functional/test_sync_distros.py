"""End to end: Debian, AlmaLinux, Rocky and CentOS Stream into a real Glance."""

from tests.functional import checks
from tests.functional import mirror as mirror_mod

DISTROS = ["debian-13", "almalinux-9", "rocky-10", "centos-stream-9"]
EXPECTED = {   # name, version, os_distro, os_version, os_admin_user
    "debian-13": ("Debian 13 (20250301-2100)", "20250301-2100", "debian", "13", "debian"),
    "almalinux-9": ("AlmaLinux 9 (9.8-20260526)", "9.8-20260526", "almalinux", "9",
                    "almalinux"),
    "rocky-10": ("Rocky Linux 10 (10.1-20251116.0)", "10.1-20251116.0", "rocky", "10", "rocky"),
    "centos-stream-9": ("CentOS Stream 9 (20260714.1)", "20260714.1", "centos", "9",
                        "cloud-user"),
}


def publish(root):
    """Lay out each family's tree with an older build beside the newest; the newest images."""
    mirror_mod.add_debian_build(root / "debian", "trixie", "13", "20250214-2050")
    mirror_mod.add_almalinux_build(root / "almalinux", "9", "9.7-20251118")
    mirror_mod.add_rocky_build(root / "rocky", "10", "10.0-20250609.1")
    mirror_mod.add_centos_compose(root / "centos", "9", "20260706.0")
    return {
        "debian-13": mirror_mod.add_debian_build(root / "debian", "trixie", "13",
                                                 "20250301-2100"),
        "almalinux-9": mirror_mod.add_almalinux_build(root / "almalinux", "9", "9.8-20260526"),
        "rocky-10": mirror_mod.add_rocky_build(root / "rocky", "10", "10.1-20251116.0"),
        "centos-stream-9": mirror_mod.add_centos_compose(root / "centos", "9", "20260714.1"),
    }



def test_sync_one_release_per_family_then_rerun_changes_nothing(glance, mirror, write_config,
                                                                  imgsync):
    files = publish(mirror.root)
    config = write_config(DISTROS)

    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stderr
    images = {image["imgsync.distro"]: image for image in glance.images()}
    assert sorted(images) == sorted(DISTROS)
    for distro, image in images.items():
        name, version, os_distro, os_version, user = EXPECTED[distro]
        path = files[distro]
        checks.stored_as_published(image, name, path)
        assert image["imgsync.version"] == version
        relative = path.relative_to(mirror.root).as_posix()
        assert image["imgsync.mirror_url"] == f"{mirror.url}{relative}"
        assert image["imgsync.url"].startswith("https://")   # upstream's official site
        assert image["imgsync.url"].endswith("/" + relative.split("/", 1)[1])
        algo = "sha512" if distro.startswith("debian") else "sha256"
        assert image[f"imgsync.{algo}"] == mirror_mod.sha(path, algo)
        assert (image["os_distro"], image["os_version"]) == (os_distro, os_version)
        assert image["architecture"] == "x86_64"
        assert image["os_admin_user"] == user
        assert image["hw_scsi_model"] == "virtio-scsi"
    assert sorted(mirror.image_requests()) == sorted(
        f"/{path.relative_to(mirror.root).as_posix()}" for path in files.values())

    checks.rerun_changes_nothing(imgsync, config, glance, mirror, len(DISTROS))


def test_check_reports_the_newest_build_of_each(mirror, write_config, imgsync):
    files = publish(mirror.root)
    config = write_config(DISTROS)
    text = config.read_text()
    auth_url = next(line for line in text.splitlines() if line.startswith("auth_url"))
    config.write_text(text.replace(auth_url, "auth_url = http://127.0.0.1:9/v3"))
    run = imgsync("--config-file", config, "check")
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if line.strip()}
    for distro, path in files.items():
        version = EXPECTED[distro][1]
        assert version in lines[distro].split()
        assert f"{mirror.url}{path.relative_to(mirror.root).as_posix()}" in lines[distro]
    assert "2025-03-01" in lines["debian-13"] and "2026-07-14" in lines["centos-stream-9"]
    assert mirror.image_requests() == []
