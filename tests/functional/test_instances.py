"""Driver instances: two generic sites synced side by side into the real Glance."""

from tests.functional import checks
from tests.functional import mirror as mirror_mod

SITES = ("vendor-a", "vendor-b")


def instance(name, display):
    return (f"[{name}]\ndriver = generic\ndisplay_name = {display}\n"
            r"file_regex = vendor-os-9-(?P<version>\d{8}\.\d+)-{arch}\.qcow2" "\n"
            "checksum_url = SHA256SUMS\n"
            "properties = os_distro=rhel,os_version=9,os_admin_user=cloud-user\n\n")


def test_two_generic_instances_sync_side_by_side(glance, mirror, write_config, imgsync,
                                                  tmp_path):
    files = {"vendor-a": mirror_mod.add_vendor_build(mirror.root / "vendor-a", "20240501.1"),
             "vendor-b": mirror_mod.add_vendor_build(mirror.root / "vendor-b", "20240601.2")}
    config = write_config(list(SITES), sites={s: s for s in SITES},
                          extra=instance("vendor-a", "Vendor A") + instance("vendor-b",
                                                                            "Vendor B"))
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    images = {image["imgsync.distro"]: image for image in glance.images()}
    assert sorted(images) == list(SITES)
    checks.stored_as_published(images["vendor-a"], "Vendor A (20240501.1)", files["vendor-a"])
    checks.stored_as_published(images["vendor-b"], "Vendor B (20240601.2)", files["vendor-b"])
    assert sorted(p.name for p in (tmp_path / "locks").iterdir()) == [
        "vendor-a.lock", "vendor-b.lock"]
    checks.rerun_changes_nothing(imgsync, config, glance, mirror, 2)
