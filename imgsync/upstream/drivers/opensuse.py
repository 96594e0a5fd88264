"""openSUSE Leap Minimal-VM Cloud images from ``distribution/leap/<series>/appliances/``.

The version is the OBS build number of the build-numbered file beside the alias
(``...-Cloud-Build19.146.qcow2`` gives ``19.146``); the build date is its
Last-Modified. Each file has a one-line ``<file>.sha256`` naming that file (as the real
16.0 files do); one naming another file is refused. How long older builds stay is
unconfirmed upstream.
"""

import logging
import re

from imgsync import ordering
from imgsync.upstream import checksums
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import helpers

LOG = logging.getLogger(__name__)


def single_sha256(text, filename, url):
    """The sha256 a ``<file>.sha256`` gives for ``filename``, which it must name exactly:
    one key signs every build, so a signed file is used only for the file it names."""
    sums = {name: s for name, s in checksums.parse(text, url).items() if s[0] == "sha256"}
    return helpers.lookup(sums, filename, url)


class LeapDriver(base.Driver):
    """openSUSE Leap Minimal-VM Cloud qcow2."""

    family = "opensuse"
    upstream_url = "https://download.opensuse.org/distribution/leap/"
    signature_style = "detached"
    signature_suffixes = (".asc",)
    signature_description = "<image>.sha256.asc beside <image>.sha256"
    signature_default = "if-published"
    """openSUSE's build service makes v3 signatures, verified with gpgv (Sequoia's policy
    refuses them); which key signs Leap 15.6 appliances is not confirmed."""
    keys_file = "opensuse.asc"
    signing_fingerprints = frozenset({"AD485664E901B867051AB15F35A2F86E29B700A4"})
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}
    min_disk = 10
    min_ram = 512
    replace_frequency = "quarterly"
    image_description = "https://get.opensuse.org/leap/"
    series: str

    @classmethod
    def for_series(cls, series, admin_user, provided_until, **attrs):
        """The class of one Leap series (``Leap156``)."""
        return cls.release_class(
            f"Leap{series.replace('.', '')}", f"openSUSE Leap {series}",
            provided_until=provided_until, series=series,
            metadata=helpers.metadata("opensuse", series, admin_user), **attrs)

    def pattern(self, arch):
        """Build-numbered names: 15.x ``openSUSE-Leap-15.6-Minimal-VM.<arch>-15.6.0-Cloud-
        Build<N>.qcow2``, 16.0 ``Leap-16.0-Minimal-VM.<arch>-Cloud-Build<N>.qcow2``."""
        return re.compile(rf"(?:openSUSE-)?Leap-{re.escape(self.series)}-Minimal-VM"
                          rf"\.{re.escape(arch)}-(?:[\d.]+-)?Cloud-Build(?P<version>\d+(?:\.\d+)*)"
                          r"\.qcow2")

    def releases(self):
        url = f"{self.base_url}{self.series}/appliances/"
        entries = self.upstream.entries(url)
        found = []
        for arch in self.conf.architectures:
            pattern = self.pattern(self.architectures[arch])
            builds = dated.newest_first(entries, pattern, url, "build-numbered files")
            for build, name in builds[:self.conf.versions]:
                sums_url = f"{url}{name}.sha256"
                document = self.signed_text(sums_url)
                algo, digest = single_sha256(document.text, name, sums_url)
                found.append(self.release(
                    architecture=arch, version=build,
                    build_date=self.upstream.last_modified(url + name), url=url + name,
                    checksum_algo=algo, checksum=digest, checksum_url=sums_url,
                    build_date_from_version=False, signed=document.signed))
        return sorted(found, key=lambda r: ordering.natural_key(r.version), reverse=True)


Leap156 = LeapDriver.for_series("15.6", "opensuse", "2026-04-30")
Leap160 = LeapDriver.for_series("16.0", "sles", "2027-10-31", signature_default="required")
