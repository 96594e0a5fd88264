"""Signed checksum files against the real Glance: only upstream's key is trusted by default."""

import re

from tests.functional import checks
from tests.functional import mirror as mirror_mod

UBUNTU = "ubuntu-24.04"


def without_signing_keys(config):
    config.write_text(re.sub(r"signing_keys = .*\n", "", config.read_text()))
    return config


def test_default_keys_refuse_a_mirror_signed_by_another_key(glance, mirror, write_config,
                                                            imgsync):
    mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    run = imgsync("--config-file", without_signing_keys(write_config([UBUNTU])), "sync")
    assert run.returncode == 1, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "SHA256SUMS.gpg: bad signature of" in errors[0], run.stderr
    assert "Traceback" not in run.stderr
    assert mirror.image_requests() == [] and glance.images() == []


def test_a_missing_signature_is_refused_and_a_good_one_recorded(glance, mirror, write_config,
                                                                imgsync):
    path = mirror_mod.add_ubuntu_build(mirror.root / "ubuntu", "24.04", "20240423")
    signature = path.parent / "SHA256SUMS.gpg"
    saved = signature.read_bytes()
    signature.unlink()
    config = write_config([UBUNTU])
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "no signature (.gpg) beside it" in errors[0], run.stderr
    assert mirror.image_requests() == [] and glance.images() == []

    signature.write_bytes(saved)
    run = imgsync("--config-file", config, "sync")
    assert run.returncode == 0, run.stderr
    image, = glance.images()
    checks.stored_as_published(image, "Ubuntu 24.04 (20240423)", path)
    fingerprint = mirror_mod.signing_key().extract_certificate().fingerprint.lower()
    assert image["imgsync.signed_by"] == fingerprint
