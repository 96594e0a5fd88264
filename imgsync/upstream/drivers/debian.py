"""Debian genericcloud images from cloud.debian.org: release and daily builds.

Build directories are ``<codename>/YYYYMMDD-NNNN/`` (``<codename>/daily/...`` for
dailies), ``NNNN`` a build counter shared across releases; the version is the
``YYYYMMDD`` part and the build date is that date. Each directory has a SHA512SUMS
(``hash  name``) naming the dated files. How long release builds are kept is
unconfirmed upstream; ``versions`` takes what is listed.
"""

import re

from oslo_config import cfg

from imgsync import exceptions
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import helpers

_STREAMS = {
    "release": "<codename>/YYYYMMDD-NNNN/, point releases and security updates",
    "daily": "<codename>/daily/YYYYMMDD-NNNN/, daily builds, about four months kept upstream",
}
_BUILD_DIR = re.compile(r"(?P<date>\d{8})-(?P<n>\d+)/")


def stream_opt(*streams):
    """The ``stream`` option, offering ``streams`` (the first is the default)."""
    return cfg.StrOpt("stream", default=streams[0], choices=[(s, _STREAMS[s]) for s in streams],
                      help="Which of Debian's image streams to follow.")


class DebianDriver(base.Driver):
    """Debian's ``genericcloud`` qcow2 (virtual machines only, no hardware drivers)."""

    family = "debian"
    upstream_url = "https://cloud.debian.org/images/cloud/"
    number: str
    """The number in file names (``debian-<number>-genericcloud-...``)."""
    codename: str
    min_disk = 8
    min_ram = 512
    replace_frequency = "quarterly"
    """Release builds come with point releases and security updates, every month or two."""
    architectures = {"x86_64": "amd64", "aarch64": "arm64"}
    extra_opts = (stream_opt("release", "daily"),)

    @classmethod
    def for_release(cls, number, codename, provided_until):
        """The class of one numbered release (``Debian12``), until the end of Debian LTS."""
        return cls.release_class(f"Debian{number}", f"Debian {number}",
                                 provided_until=provided_until,
                                 number=number, codename=codename,
                                 metadata=helpers.metadata("debian", number, "debian"))

    @property
    def image_description(self):
        """Debian's page of the release."""
        return f"https://www.debian.org/releases/{self.codename}/"

    def releases(self):
        daily = self.conf.stream == "daily"
        listing_url = f"{self.base_url}{self.codename}/" + ("daily/" if daily else "")
        entries = self.upstream.entries(listing_url)
        builds = dated.build_dirs(entries, _BUILD_DIR)
        if not builds:
            raise exceptions.LayoutError(listing_url, "build directories named YYYYMMDD-NNNN/",
                                         ", ".join(entries[:10]) or "no entries")
        suffix = "-daily" if daily else ""
        filenames = {
            arch: f"debian-{self.number}-genericcloud-{upstream_arch}{suffix}-{{build}}.qcow2"
            for arch, upstream_arch in self.architectures.items()
            if arch in self.conf.architectures}
        return dated.from_build_dirs(self, listing_url, builds, "SHA512SUMS", filenames)


Debian11 = DebianDriver.for_release("11", "bullseye", "2026-08-31")
Debian12 = DebianDriver.for_release("12", "bookworm", "2028-06-30")
Debian13 = DebianDriver.for_release("13", "trixie", "2030-06-30")


class DebianTesting(DebianDriver):
    """Debian testing (14, forky): daily builds only, ``os_version`` as libosinfo's
    ``debiantesting`` has it."""

    number = "14"
    codename = "forky"
    display_name = "Debian testing"
    metadata = helpers.metadata("debian", "testing", "debian")
    extra_opts = (stream_opt("daily"),)
