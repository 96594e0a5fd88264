"""Ubuntu LTS cloud images from cloud-images.ubuntu.com: server and minimal.

Unconfirmed upstream facts ([U] in the layout notes) the drivers tolerate: the
minimal daily stream's ``<serial>/`` directories are parsed like the standard daily
ones, and a minimal arm64 image that a release lacks (focal) is a layout error for
aarch64 only when it is configured.
"""

import re

from oslo_config import cfg

from imgsync import exceptions
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import helpers

_BUILD_DIR = re.compile(r"(?P<date>\d{8})(?:\.(?P<n>\d+))?/")


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

    @classmethod
    def for_series(cls, series, codename, provided_until):
        """The class of one LTS series of this variant (``Ubuntu2404``,
        ``Ubuntu2404Minimal``), until the end of its standard support."""
        suffix = "" if cls.variant == "server" else cls.variant.capitalize()
        return cls.release_class(
            f"Ubuntu{series.replace('.', '')}{suffix}", f"Ubuntu {series} {suffix}".rstrip(),
            provided_until=provided_until, series=series, codename=codename,
            metadata=helpers.metadata("ubuntu", series, "ubuntu"))

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
        builds = dated.build_dirs(entries, _BUILD_DIR, prefix)
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


_SERIES = [("20.04", "focal", "2025-05-31"), ("22.04", "jammy", "2027-04-30"),
           ("24.04", "noble", "2029-04-30"), ("26.04", "resolute", "2031-04-30")]
"""Each LTS series: its codename and the end of its standard support."""
Ubuntu2004, Ubuntu2204, Ubuntu2404, Ubuntu2604 = (
    UbuntuDriver.for_series(*row) for row in _SERIES)
Ubuntu2004Minimal, Ubuntu2204Minimal, Ubuntu2404Minimal, Ubuntu2604Minimal = (
    UbuntuMinimalDriver.for_series(*row) for row in _SERIES)
