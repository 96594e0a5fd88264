"""Ubuntu LTS server cloud images from cloud-images.ubuntu.com."""

import datetime
import logging
import re

from oslo_config import cfg

from imgsync import checksums
from imgsync import exceptions
from imgsync.drivers import base

LOG = logging.getLogger(__name__)

_BUILD_DIR = re.compile(r"^(?:release-)?(?P<date>\d{8})(?:\.(?P<respin>\d+))?/$")


def build_dirs(entries, prefix):
    """Build directories (``[prefix]YYYYMMDD[.N]/``) among listing entries, newest first."""
    found = []
    for entry in entries:
        match = _BUILD_DIR.match(entry)
        if match and entry.startswith(prefix) and (prefix or not entry.startswith("release-")):
            key = (int(match["date"]), int(match["respin"] or 0))
            found.append((key, entry, entry[len(prefix):-1], match["date"]))
    found.sort(reverse=True)
    return [(entry, serial, datetime.datetime.strptime(date, "%Y%m%d").date())
            for _, entry, serial, date in found]


class UbuntuDriver(base.Driver):
    """Ubuntu server cloud images (qcow2 despite the .img name)."""

    upstream_url = "https://cloud-images.ubuntu.com/"
    series: str
    codename: str
    min_disk = 8
    min_ram = 512
    architectures = {"x86_64": "amd64", "aarch64": "arm64"}
    extra_opts = (
        cfg.StrOpt("stream", default="release",
                   choices=[("release", "releases/<codename>/release-<serial>/"),
                            ("daily", "<codename>/<serial>/, daily builds, pruned upstream")],
                   help="Which of Ubuntu's image streams to follow."),
    )

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.display_name = f"Ubuntu {cls.series}"
        cls.metadata = {
            "os_distro": "ubuntu",
            "os_version": cls.series,
            "os_type": "linux",
            "os_admin_user": "ubuntu",
            "hw_disk_bus": "scsi",
            "hw_scsi_model": "virtio-scsi",
            "hw_rng_model": "virtio",
        }

    def _layout(self):
        """(listing URL, build directory prefix, image file name pattern) of the stream."""
        if self.conf.stream == "daily":
            return (f"{self.base_url}{self.codename}/", "",
                    f"{self.codename}-server-cloudimg-{{arch}}.img")
        return (f"{self.base_url}releases/{self.codename}/", "release-",
                f"ubuntu-{self.series}-server-cloudimg-{{arch}}.img")

    def releases(self):
        listing_url, prefix, pattern = self._layout()
        entries = self.upstream.entries(listing_url)
        builds = build_dirs(entries, prefix)
        if not builds:
            raise exceptions.LayoutError(
                listing_url, f"build directories named {prefix}YYYYMMDD[.N]/",
                ", ".join(entries[:10]) or "no entries")
        wanted = {arch: pattern.format(arch=self.architectures[arch])
                  for arch in self.conf.architectures}
        found = {arch: [] for arch in wanted}
        for entry, serial, build_date in builds:
            if all(len(releases) == self.conf.versions for releases in found.values()):
                break
            sums_url = f"{listing_url}{entry}SHA256SUMS"
            sums = checksums.parse(self.upstream.get_text(sums_url))
            for arch, filename in wanted.items():
                if len(found[arch]) == self.conf.versions:
                    continue
                if filename not in sums:
                    LOG.warning("%s: skipping build %s for %s, %s lists no %s",
                                self.name, serial, arch, sums_url, filename)
                    continue
                algo, digest = sums[filename]
                found[arch].append(self.release(
                    architecture=arch, version=serial, build_date=build_date,
                    url=f"{listing_url}{entry}{filename}", checksum_algo=algo,
                    checksum=digest))
        for arch, releases in found.items():
            if not releases:
                raise exceptions.LayoutError(
                    listing_url, f"a build that publishes {wanted[arch]}",
                    "none in " + ", ".join(b[0] for b in builds[:5]))
        return sorted((r for releases in found.values() for r in releases),
                      key=lambda r: (r.build_date, r.version), reverse=True)


class Ubuntu2004(UbuntuDriver):
    series = "20.04"
    codename = "focal"


class Ubuntu2204(UbuntuDriver):
    series = "22.04"
    codename = "jammy"


class Ubuntu2404(UbuntuDriver):
    series = "24.04"
    codename = "noble"
