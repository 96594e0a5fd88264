"""Fedora Cloud Base Generic images of the newest release(s) under ``releases/<N>/``.

The version is ``<N>-<compose>`` (e.g. ``44-1.7``) from the file name; the build date
is the image's Last-Modified, as the name carries none. The CHECKSUM is PGP
clear-signed; its armour is skipped, the signature is not verified. That a release's
GA images are never replaced is unconfirmed upstream: a respin would carry a new
compose id and so be a new version. A release directory without Cloud images for
an architecture (not yet published, or archived away) is skipped with a warning.
"""

import logging
import re

from imgsync import exceptions
from imgsync import ordering
from imgsync.upstream import checksums
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import helpers

LOG = logging.getLogger(__name__)


def image_pattern(release, arch):
    """File names of the Generic qcow2: F41 on ``-<N>-<C>.<arch>``, F40 ``.<arch>-<N>-<C>``."""
    n, a = re.escape(release), re.escape(arch)
    return re.compile(rf"^Fedora-Cloud-Base-Generic(?:-{n}-(?P<c1>[\d.]+)\.{a}"
                      rf"|\.{a}-{n}-(?P<c2>[\d.]+))\.qcow2$")


class Fedora(base.Driver):
    """Fedora Cloud Base Generic (qcow2)."""

    family = "fedora"
    display_name = "Fedora"
    upstream_url = "https://download.fedoraproject.org/pub/fedora/linux/"
    signature_style = "clearsigned"
    signature_description = "the CHECKSUM file is clear-signed"
    signature_default = "required"
    keys_file = "fedora.asc"
    signing_fingerprints = frozenset({
        "466CF2D8B60BC3057AA9453ED0622462E99D6AD1",   # Fedora 41
        "B0F4950458F69E1150C6C5EDC8AC4916105EF944",   # 42
        "C6E7F081CF80E13146676E88829B606631645531",   # 43
        "36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6",   # 44
        "4F50A6114CD5C6976A7F1179655A4B02F577861E",   # 45
        "D924B10D3E810DABDD8B56B596E7E91491211FCE",   # 46
        "B2E766FA50CA6FA2D5ED06FC09D879E09488FB64",   # 47
    })
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}
    min_disk = 5
    min_ram = 512
    replace_frequency = "yearly"
    """A release's Cloud image is not rebuilt; imgsync follows the newest release,
    which comes every six months."""
    image_description = "https://fedoraproject.org/cloud/"
    metadata = {**helpers.HW_DEFAULTS, "os_distro": "fedora", "os_admin_user": "fedora"}

    def releases(self):
        releases_url = f"{self.base_url}releases/"
        entries = self.upstream.entries(releases_url)
        numbers = sorted((e[:-1] for e in entries if re.fullmatch(r"\d+/", e)),
                         key=int, reverse=True)
        if not numbers:
            raise exceptions.LayoutError(releases_url, "release directories named <N>/",
                                         ", ".join(entries[:10]) or "no entries")
        found = []
        for arch in self.conf.architectures:
            arch_releases = []
            for number in numbers:
                if len(arch_releases) == self.conf.versions:
                    break
                release = self._release(number, arch)
                if release:
                    arch_releases.append(release)
            if not arch_releases:
                raise exceptions.LayoutError(
                    releases_url, f"a release with Cloud/{arch}/images/ and a Generic qcow2",
                    "none in " + ", ".join(numbers[:5]))
            found += arch_releases
        return sorted(found, key=lambda r: ordering.natural_key(r.version), reverse=True)

    def _release(self, number, arch):
        images_url = f"{self.base_url}releases/{number}/Cloud/{arch}/images/"
        try:
            entries = self.upstream.entries(images_url)
        except exceptions.UpstreamError as exc:
            if exc.status != 404:   # a timeout or 503 must not pass for "no such release"
                raise
            LOG.warning("%s: skipping release %s for %s: %s", self.name, number, arch, exc)
            return None
        sums_pattern = re.compile(rf"^Fedora-Cloud-{number}-[\d.]+-{re.escape(arch)}-CHECKSUM$")
        sums_names = [e for e in entries if sums_pattern.match(e)]
        if not sums_names:
            LOG.warning("%s: skipping release %s for %s, %s has no CHECKSUM", self.name,
                        number, arch, images_url)
            return None
        sums_url = images_url + sorted(sums_names, key=ordering.natural_key)[-1]
        document = self.signed_text(sums_url)
        sums = checksums.parse(document.text, sums_url)
        pattern = image_pattern(number, arch)
        images = [(m["c1"] or m["c2"], name) for name in sums if (m := pattern.match(name))]
        if not images:
            raise exceptions.LayoutError(sums_url, "a Fedora-Cloud-Base-Generic qcow2",
                                         ", ".join(list(sums)[:5]) or "no checksum lines")
        compose, name = max(images, key=lambda image: ordering.natural_key(image[0]))
        algo, digest = sums[name]
        url = images_url + name
        return self.release(
            architecture=arch, metadata={"os_version": number}, version=f"{number}-{compose}",
            build_date=self.upstream.last_modified(url), url=url, checksum_algo=algo,
            checksum=digest, checksum_url=sums_url, build_date_from_version=False,
            signed=document.signed)
