"""The driver interface: what a distribution driver tells imgsync about its releases."""

import dataclasses
import datetime
from collections.abc import Mapping
from typing import ClassVar

from oslo_config import cfg

from imgsync import conf as imgsync_conf
from imgsync import ordering


@dataclasses.dataclass(frozen=True)
class Release:
    """One upstream build of one image, as a driver sees it."""

    distro: str
    display_name: str
    version: str
    build_date: datetime.date
    url: str
    checksum_algo: str
    checksum: str
    disk_format: str
    min_disk: int
    min_ram: int
    metadata: Mapping[str, str]
    compression: str | None = None


def sort_releases(releases):
    """Releases newest first across architectures: by build date, then build id."""
    return sorted(releases, key=lambda r: (r.build_date, ordering.natural_key(r.version)),
                  reverse=True)


class Driver:
    """A distribution release that imgsync can sync (one stevedore entry point each)."""

    display_name: ClassVar[str]
    upstream_url: ClassVar[str]
    """Root of the official site; the default of the driver's ``base_url``."""
    disk_format: ClassVar[str] = "qcow2"
    min_disk: ClassVar[int] = 0
    min_ram: ClassVar[int] = 0
    metadata: ClassVar[Mapping[str, str]] = {}
    """Glance properties implied by the distribution (os_distro, os_version, ...)."""
    architectures: ClassVar[Mapping[str, str]] = {"x86_64": "x86_64"}
    """Supported architectures: libosinfo name (Glance's vocabulary) to upstream's name."""
    extra_opts: ClassVar[tuple[cfg.Opt, ...]] = ()
    catalog_meta: ClassVar[Mapping[str, str]] = {}
    """Catalog ``meta`` values that differ from the Glance properties, where
    openstack-image-manager's schema allows only its own vocabulary."""
    family: ClassVar[str]
    """Catalog file (``<family>.yml``): as a class or its ancestors set it, else the name
    of the module that defines the class, ``imgsync.drivers.<family>`` (so a shared
    base in another module, like el.py, does not decide it)."""
    _family_set: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "family" in vars(cls):
            cls._family_set = True
        elif not cls._family_set:
            cls.family = cls.__module__.rpartition(".")[2]

    def __init__(self, name, group_conf, upstream, properties=None):
        self.name = name
        self.conf = group_conf
        self.upstream = upstream
        self.properties = properties or {}
        """Properties for every image ([DEFAULT] properties)."""

    @classmethod
    def opts(cls):
        """The options of the driver's config group."""
        return imgsync_conf.driver_opts(cls) + list(cls.extra_opts)

    @property
    def base_url(self):
        """The configured site root, always ending in a slash."""
        return self.conf.base_url.rstrip("/") + "/"

    def releases(self):
        """The newest ``versions`` releases of each configured architecture, newest first.

        Drivers that look upstream up once per architecture implement
        ``arch_releases``; those that read all architectures at once override this.
        """
        found = []
        for arch in self.conf.architectures:
            found += self.arch_releases(arch, self.architectures[arch])
        return sort_releases(found)

    def arch_releases(self, arch, upstream_arch):
        """The newest ``versions`` releases of one architecture (libosinfo and upstream name)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither releases() "
                                  "nor arch_releases()")

    def release(self, architecture, metadata=None, **fields):
        """Build a Release with this driver's defaults and the operator's overrides.

        ``architecture`` is the libosinfo name; images of other architectures than
        x86_64 carry it in their display name. ``metadata`` adds properties known
        only per build (e.g. Fedora's os_version); the operator's still win.
        """
        metadata = {**self.metadata, **(metadata or {}), "architecture": architecture,
                    **self.properties, **self.conf.properties}
        display_name = self.display_name
        if architecture != "x86_64":
            display_name += f" {architecture}"
        return Release(
            distro=self.name,
            display_name=display_name,
            disk_format=self.disk_format,
            min_disk=self.conf.min_disk if self.conf.min_disk is not None else self.min_disk,
            min_ram=self.conf.min_ram if self.conf.min_ram is not None else self.min_ram,
            metadata=metadata,
            **fields,
        )
