"""web-download against the real Glance: imgsync reads back the head of what Glance
fetched and format-inspects it before the image is published."""

import subprocess

from tests.functional import mirror as mirror_mod
from tests.functional.test_faults import one_error

WEB_DOWNLOAD = "[DEFAULT]\nupload_method = web-download\n"
VENDOR = ("[vendor]\ndriver = generic\ndisplay_name = Vendor OS 9\n"
          r"file_regex = vendor-os-9-(?P<version>\d{8}\.\d+)-{arch}\.img" "\n"
          "checksum_url = SHA512SUMS\ndisk_format = raw\n")


def nothing_usable(glance):
    """No image is left: none active and public, none at all."""
    images = glance.images()
    assert not [i for i in images if i["status"] == "active" and i["visibility"] == "public"]
    assert images == []


def test_a_qcow2_naming_a_backing_file_leaves_nothing_usable(glance, mirror, write_config,
                                                             imgsync, tmp_path):
    """Whoever refuses it (a Glance with in-flight inspection, as this one, fails the import
    itself; else imgsync's inspection of the head does), the run fails and leaves nothing."""
    path = mirror_mod.add_debian_build(mirror.root / "debian", "trixie", "13", "20260705-2167")
    base = mirror_mod.make_qcow2(tmp_path / "base.qcow2", seed="base")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
                    str(path)], check=True)
    for directory in (path.parent, path.parent.parent / "latest"):
        (directory / path.name).write_bytes(path.read_bytes())
        sums = directory / "SHA512SUMS"
        sums.write_text("".join(
            f"{mirror_mod.sha(directory / line.split()[1], 'sha512')}  {line.split()[1]}\n"
            for line in sums.read_text().splitlines()))
    run = imgsync("--config-file", write_config(["debian-13"], extra=WEB_DOWNLOAD), "sync")
    assert run.returncode == 1
    one_error(run, "debian-13")
    nothing_usable(glance)


def test_raw_that_is_a_qcow2_is_refused_though_glance_took_it(glance, mirror, write_config,
                                                               imgsync):
    """Glance keeps a qcow2 declared raw (it only warns): imgsync's inspection refuses it."""
    directory = mirror.root / "vendor"
    path = mirror_mod.make_qcow2(directory / "vendor-os-9-20240501.1-x86_64.img", seed="vendor")
    (directory / "SHA512SUMS").write_text(f"{mirror_mod.sha(path, 'sha512')}  {path.name}\n")
    run = imgsync("--config-file", write_config(["vendor"], extra=WEB_DOWNLOAD + VENDOR), "sync")
    assert run.returncode == 1
    one_error(run, f"web-download of {mirror.url}vendor/{path.name} into image ",
              ": data is qcow2, the driver expects raw")
    assert "removing unfinished image" in run.stderr
    nothing_usable(glance)


def test_a_verified_web_download_records_its_inspection(glance, mirror, write_config, imgsync):
    path = mirror_mod.add_debian_build(mirror.root / "debian", "trixie", "13", "20260705-2167")
    run = imgsync("--config-file", write_config(["debian-13"], extra=WEB_DOWNLOAD), "sync")
    assert run.returncode == 0, run.stderr
    image, = glance.images()
    assert image["os_hash_value"] == mirror_mod.sha(path, "sha512")
    assert (image["imgsync.inspected"], image["status"], image["visibility"]) == (
        "header", "active", "public")
    assert "imgsync.converted_from" not in image
