"""CirrOS test images from download.cirros-cloud.net.

The newest version is the one ``version/released`` names; ``versions > 1`` adds the
next lower ``N.N.N/`` directories. Checksums come from the strongest sums file the
version directory lists (SHA512SUMS, SHA256SUMS, SHA1SUMS, then MD5SUMS, which is
the only one upstream's build script is known to write; stronger ones are
unconfirmed). The build date is the image's Last-Modified.
"""

import re

from imgsync import digests
from imgsync import exceptions
from imgsync import ordering
from imgsync.upstream import checksums
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import helpers

SUMS_FILES = tuple(f"{algo.upper()}SUMS" for algo in digests.ALGORITHMS)
"""Strongest first."""


class Cirros(base.Driver):
    """CirrOS ``cirros-<version>-<arch>-disk.img`` (qcow2)."""

    family = "cirros"
    display_name = "CirrOS"
    upstream_url = "https://download.cirros-cloud.net/"
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}
    min_disk = 1
    min_ram = 128
    os_purpose = "minimal"
    image_description = "https://github.com/cirros-dev/cirros"

    def patchlevel(self, version):
        return version
    metadata = {"os_distro": "cirros", "os_type": "linux", "os_admin_user": "cirros"}

    def releases(self):
        pointer = f"{self.base_url}version/released"
        newest = self.upstream.get_text(pointer).strip()
        if not re.fullmatch(r"\d+(?:\.\d+)+", newest):
            raise exceptions.LayoutError(pointer, "a version such as 0.6.3", repr(newest[:80]))
        versions = [newest]
        if self.conf.versions > 1:
            older = helpers.version_dirs(self.upstream.entries(self.base_url), newest=newest)
            versions += [v for v in older if v != newest][:self.conf.versions - 1]
        found = []
        for version in versions:
            directory = f"{self.base_url}{version}/"
            sums = self._sums(directory)
            for arch in self.conf.architectures:
                name = f"cirros-{version}-{arch}-disk.img"
                algo, digest = helpers.lookup(sums, name, f"{directory} (checksum files)")
                found.append(self.release(
                    architecture=arch, metadata={"os_version": version}, version=version,
                    build_date=self.upstream.last_modified(directory + name),
                    url=directory + name, checksum_algo=algo, checksum=digest,
                    checksum_url=f"{directory} ({algo} checksum file)",
                    build_date_from_version=False))
        return sorted(found, key=lambda r: ordering.natural_key(r.version), reverse=True)

    def _sums(self, directory):
        """Every file's strongest checksum among the sums files the directory lists."""
        entries = self.upstream.entries(directory)
        names = [n for n in SUMS_FILES if n in entries] or ["MD5SUMS"]
        sums = {}
        for name in reversed(names):   # weakest first, so stronger ones overwrite
            sums.update(checksums.parse(self.upstream.get_text(directory + name), directory + name))
        return sums
