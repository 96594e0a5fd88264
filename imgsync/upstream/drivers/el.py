"""What the Enterprise Linux rebuilds (AlmaLinux, Rocky, CentOS Stream) have in common."""

from typing import ClassVar

from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import helpers


class EnterpriseLinuxDriver(base.Driver):
    """One driver per major version, x86_64 and aarch64, the same sizes and hw defaults.

    Each family sets ``brand`` and ``admin_user``; ``for_major`` makes a release's class.
    """

    major: ClassVar[str]
    brand: ClassVar[str]
    """The name before the major version in display names."""
    admin_user: ClassVar[str]
    min_disk = 10
    min_ram = 512
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}

    @classmethod
    def for_major(cls, major, provided_until, **attrs):
        """The class of one major release (``AlmaLinuxDriver`` gives ``AlmaLinux9``)."""
        return cls.release_class(
            cls.__name__.removesuffix("Driver") + major, f"{cls.brand} {major}",
            provided_until=provided_until, major=major,
            metadata=helpers.metadata(cls.family, major, cls.admin_user), **attrs)

    def patchlevel(self, version):
        """The minor release of a ``<major.minor>-<date>`` build id (AlmaLinux, Rocky)."""
        minor, dash, _ = version.partition("-")
        return minor if dash else None
