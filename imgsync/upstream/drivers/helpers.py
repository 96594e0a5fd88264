"""Helpers several drivers share: Glance metadata, version directories, checksum look-ups."""

import re

from imgsync import exceptions
from imgsync import ordering

HW_DEFAULTS = {
    "os_type": "linux",
    "hw_disk_bus": "scsi",
    "hw_scsi_model": "virtio-scsi",
    "hw_rng_model": "virtio",
}
"""Glance properties for a virtio Linux guest, as most families ship them."""

_DOTTED = re.compile(r"^\d+(?:\.\d+)+$")


def metadata(os_distro, os_version, os_admin_user, **extra):
    """A release's Glance properties: HW_DEFAULTS, the three given, then ``extra``."""
    return {**HW_DEFAULTS, "os_distro": os_distro, "os_version": os_version,
            "os_admin_user": os_admin_user, **extra}


def version_dirs(entries, newest=None):
    """Names of ``N.N[.N...]/`` directories among listing entries, newest first.

    ``newest`` leaves out versions above it (e.g. alphas beside a ``released`` pointer).
    """
    names = [e[:-1] for e in entries if e.endswith("/") and _DOTTED.match(e[:-1])]
    if newest is not None:
        names = [n for n in names if ordering.natural_key(n) <= ordering.natural_key(newest)]
    return sorted(names, key=ordering.natural_key, reverse=True)


def lookup(sums, filename, url):
    """``(algorithm, hexdigest)`` of ``filename`` in parsed checksums, or a LayoutError."""
    if filename not in sums:
        raise exceptions.LayoutError(url, f"a checksum for {filename}",
                                     ", ".join(list(sums)[:5]) or "no checksum lines")
    return sums[filename]
