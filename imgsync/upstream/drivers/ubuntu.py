"""Ubuntu LTS cloud images from cloud-images.ubuntu.com: server and minimal.

Unconfirmed upstream facts ([U] in the layout notes) the drivers tolerate: the
minimal daily stream's ``<serial>/`` directories are parsed like the standard daily
ones, and a minimal arm64 image that a release lacks (focal) is a layout error for
aarch64 only when it is configured.
"""

import datetime
import re

from oslo_config import cfg

from imgsync import exceptions
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import helpers

_BUILD_DIR = re.compile(r"^(?:release-)?(?P<date>\d{8})(?:\.(?P<respin>\d+))?/$")


def build_dirs(entries, prefix):
    """Build directories (``[prefix]YYYYMMDD[.N]/``) among listing entries, newest first."""
    found = []
    for entry in entries:
        match = _BUILD_DIR.match(entry)
        if match and entry.startswith(prefix) and (prefix or not entry.startswith("release-")):
            key = (int(match["date"]), int(match["respin"] or 0))
            date = datetime.datetime.strptime(match["date"], "%Y%m%d").date()
            serial = entry[len(prefix):-1]
            found.append((key, dated.Build(entry, serial, serial, date)))
    return [build for _, build in sorted(found, key=lambda item: item[0], reverse=True)]


class UbuntuDriver(base.Driver):
    """Ubuntu server cloud images (qcow2 despite the .img name)."""

    family = "ubuntu"
    upstream_url = "https://cloud-images.ubuntu.com/"
    signature_style = "detached"
    signature_suffixes = (".gpg",)
    signature_description = "SHA256SUMS.gpg beside SHA256SUMS"
    signature_default = "required"
    keys_file = "ubuntu.asc"
    signing_fingerprints = frozenset({"D2EB44626FDDC30B513D5BB71A5D6C4C7DB87C81"})
    series: str
    codename: str
    variant = "server"
    subdir = ""
    """Where the variant's streams are below the site root, and its daily stream below that."""
    daily_subdir = ""
    min_disk = 8
    min_ram = 512
    replace_frequency = "quarterly"
    """Release images come every few weeks; a quarter is met even between point releases."""
    architectures = {"x86_64": "amd64", "aarch64": "arm64"}
    extra_opts = (
        cfg.StrOpt("stream", default="release",
                   choices=[("release", "[minimal/]releases/<codename>/release-<serial>/"),
                            ("daily", "<codename>/<serial>/ (minimal/daily/<codename>/"
                                      "<serial>/), daily builds, pruned upstream")],
                   help="Which of Ubuntu's image streams to follow."),
    )

    @property
    def image_description(self):
        """The stream's page on cloud-images.ubuntu.com."""
        return f"{self.upstream_url}{self.subdir}releases/{self.codename}/"

    def _layout(self):
        """(listing URL, build directory prefix, image file name pattern) of the stream."""
        root = f"{self.base_url}{self.subdir}"
        if self.conf.stream == "daily":
            return (f"{root}{self.daily_subdir}{self.codename}/", "",
                    f"{self.codename}-{self.variant}-cloudimg-{{arch}}.img")
        return (f"{root}releases/{self.codename}/", "release-",
                f"ubuntu-{self.series}-{self.variant}-cloudimg-{{arch}}.img")

    def releases(self):
        listing_url, prefix, pattern = self._layout()
        entries = self.upstream.entries(listing_url)
        builds = build_dirs(entries, prefix)
        if not builds:
            raise exceptions.LayoutError(
                listing_url, f"build directories named {prefix}YYYYMMDD[.N]/",
                ", ".join(entries[:10]) or "no entries")
        filenames = {arch: pattern.format(arch=self.architectures[arch])
                     for arch in self.conf.architectures}
        return dated.from_build_dirs(self, listing_url, builds, "SHA256SUMS", filenames)


class UbuntuMinimalDriver(UbuntuDriver):
    """Ubuntu minimal cloud images, below ``minimal/`` (``minimal/daily/`` for daily builds)."""

    variant = "minimal"
    os_purpose = "minimal"
    signature_default = "if-published"
    """Whether the minimal streams carry SHA256SUMS.gpg is not confirmed."""
    subdir = "minimal/"
    daily_subdir = "daily/"


class Ubuntu2004(UbuntuDriver):
    series = "20.04"
    codename = "focal"
    display_name = "Ubuntu 20.04"
    metadata = helpers.metadata("ubuntu", "20.04", "ubuntu")
    provided_until = "2025-05-31"


class Ubuntu2204(UbuntuDriver):
    series = "22.04"
    codename = "jammy"
    display_name = "Ubuntu 22.04"
    metadata = helpers.metadata("ubuntu", "22.04", "ubuntu")
    provided_until = "2027-04-30"


class Ubuntu2404(UbuntuDriver):
    series = "24.04"
    codename = "noble"
    display_name = "Ubuntu 24.04"
    metadata = helpers.metadata("ubuntu", "24.04", "ubuntu")
    provided_until = "2029-04-30"


class Ubuntu2604(UbuntuDriver):
    series = "26.04"
    codename = "resolute"
    display_name = "Ubuntu 26.04"
    metadata = helpers.metadata("ubuntu", "26.04", "ubuntu")
    provided_until = "2031-04-30"


class Ubuntu2004Minimal(UbuntuMinimalDriver):
    series = "20.04"
    codename = "focal"
    display_name = "Ubuntu 20.04 Minimal"
    metadata = helpers.metadata("ubuntu", "20.04", "ubuntu")
    provided_until = "2025-05-31"


class Ubuntu2204Minimal(UbuntuMinimalDriver):
    series = "22.04"
    codename = "jammy"
    display_name = "Ubuntu 22.04 Minimal"
    metadata = helpers.metadata("ubuntu", "22.04", "ubuntu")
    provided_until = "2027-04-30"


class Ubuntu2404Minimal(UbuntuMinimalDriver):
    series = "24.04"
    codename = "noble"
    display_name = "Ubuntu 24.04 Minimal"
    metadata = helpers.metadata("ubuntu", "24.04", "ubuntu")
    provided_until = "2029-04-30"


class Ubuntu2604Minimal(UbuntuMinimalDriver):
    series = "26.04"
    codename = "resolute"
    display_name = "Ubuntu 26.04 Minimal"
    metadata = helpers.metadata("ubuntu", "26.04", "ubuntu")
    provided_until = "2031-04-30"
