"""End to end: Flatcar (bz2), Fedora, openSUSE Leap, CirrOS and generic into a real Glance."""

from tests.functional import checks
from tests.functional import mirror as mirror_mod

DISTROS = ["flatcar-stable", "fedora", "opensuse-leap-16.0", "cirros", "generic"]



def groups(mirror):
    return (f"[flatcar-stable]\nbase_url = {mirror.url}flatcar/\n\n"
            f"[fedora]\nbase_url = {mirror.url}fedora/\n\n"
            f"[opensuse-leap-16.0]\nbase_url = {mirror.url}leap/\n\n"
            f"[cirros]\nbase_url = {mirror.url}cirros/\n\n"
            f"[generic]\nbase_url = {mirror.url}vendor/\n"
            "display_name = Vendor OS 9\n"
            r"file_regex = vendor-os-9-(?P<version>\d{8}\.\d+)-{arch}\.qcow2" "\n"
            "checksum_url = SHA256SUMS\n"
            "properties = os_distro=rhel,os_version=9,os_admin_user=cloud-user\n")


def test_sync_one_release_per_family_then_rerun_changes_nothing(glance, mirror, write_config,
                                                                  imgsync):
    root = mirror.root
    mirror_mod.add_flatcar_build(root / "flatcar", "4152.2.3", "2025-05-01-0101")
    files = {
        "flatcar-stable": mirror_mod.add_flatcar_build(root / "flatcar", "4230.2.4",
                                                       "2025-10-13-1912"),
        "fedora": mirror_mod.add_fedora_release(root / "fedora", "44", "1.7"),
        "opensuse-leap-16.0": mirror_mod.add_leap_build(root / "leap", "16.0", "16.2"),
        "cirros": mirror_mod.add_cirros_version(root / "cirros", "0.6.3"),
        "generic": mirror_mod.add_vendor_build(root / "vendor", "20240501.1"),
    }
    mirror_mod.add_fedora_release(root / "fedora", "43", "1.6")
    mirror_mod.add_leap_build(root / "leap", "16.0", "16.1")
    mirror_mod.add_vendor_build(root / "vendor", "20240101.0")
    config = write_config(DISTROS, extra=groups(mirror))

    check = imgsync("--config-file", config, "check")
    assert check.returncode == 0, check.stderr
    assert "4230.2.4" in check.stdout and "44-1.7" in check.stdout

    first = imgsync("--config-file", config, "sync")
    assert first.returncode == 0, first.stderr
    images = {image["imgsync.distro"]: image for image in glance.images()}
    assert sorted(images) == sorted(DISTROS)
    expected = {
        "flatcar-stable": ("Flatcar Stable (4230.2.4)", "flatcar", "4230.2.4", "core"),
        "fedora": ("Fedora (44-1.7)", "fedora", "44", "fedora"),
        "opensuse-leap-16.0": ("openSUSE Leap 16.0 (16.2)", "opensuse", "16.0", "sles"),
        "cirros": ("CirrOS (0.6.3)", "cirros", "0.6.3", "cirros"),
        "generic": ("Vendor OS 9 (20240501.1)", "rhel", "9", "cloud-user"),
    }
    for distro, image in images.items():
        name, os_distro, os_version, user = expected[distro]
        path = files[distro]
        checks.stored_as_published(image, name, path)
        assert (image["os_distro"], image["os_version"]) == (os_distro, os_version)
        assert image["os_admin_user"] == user
        assert image["architecture"] == "x86_64"
        assert image["source"] == "imgsync"
        assert "imgsync.state" not in image
    flatcar = images["flatcar-stable"]
    bz2_url = (f"{mirror.url}flatcar/amd64-usr/4230.2.4/"
               "flatcar_production_openstack_image.img.bz2")
    assert flatcar["imgsync.mirror_url"] == bz2_url
    assert flatcar["imgsync.url"] == bz2_url.replace(f"{mirror.url}flatcar/",
                                                     "https://stable.release.flatcar-linux.net/")
    assert flatcar["imgsync.sha512"] == mirror_mod.sha(
        mirror.root / bz2_url[len(mirror.url):], "sha512")
    assert flatcar["hw_qemu_guest_agent"] == "yes"
    assert images["cirros"]["imgsync.sha256"] == mirror_mod.sha(files["cirros"], "sha256")
    assert images["fedora"]["imgsync.sha256"] == mirror_mod.sha(files["fedora"], "sha256")
    assert len(mirror.image_requests()) == len(DISTROS)

    checks.rerun_changes_nothing(imgsync, config, glance, mirror, len(DISTROS))


def test_flatcar_prefers_uncompressed_image(glance, mirror, write_config, imgsync):
    path = mirror_mod.add_flatcar_build(mirror.root / "flatcar", "4230.2.4", "2025-10-13-1912",
                                        uncompressed=True)
    run = imgsync("--config-file", write_config(["flatcar-stable"], extra=groups(mirror)), "sync")
    assert run.returncode == 0, run.stderr
    image, = glance.images()
    assert image["imgsync.url"].endswith("/flatcar_production_openstack_image.img")
    assert image["imgsync.sha512"] == mirror_mod.sha(path, "sha512") == image["os_hash_value"]


def test_flatcar_bz2_with_wrong_digests_leaves_no_image(glance, mirror, write_config, imgsync):
    mirror_mod.add_flatcar_build(mirror.root / "flatcar", "4230.2.4", "2025-10-13-1912",
                                 wrong_digest=True)
    mirror_mod.add_cirros_version(mirror.root / "cirros", "0.6.3")
    config = write_config(["flatcar-stable", "cirros"], extra=groups(mirror))
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 1
    assert "0" * 128 in run.stderr and "flatcar_production_openstack_image.img.bz2" in run.stderr
    assert [i["imgsync.distro"] for i in glance.images()] == ["cirros"]
