"""What the Enterprise Linux rebuilds (AlmaLinux, Rocky, CentOS Stream) have in common."""

from typing import ClassVar

from imgsync.upstream.drivers import base


class EnterpriseLinuxDriver(base.Driver):
    """One driver per major version, x86_64 and aarch64, the same sizes and hw defaults.

    Each release class sets ``major``, its display name and its Glance metadata.
    """

    major: ClassVar[str]
    min_disk = 10
    min_ram = 512
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}

    def patchlevel(self, version):
        """The minor release of a ``<major.minor>-<date>`` build id (AlmaLinux, Rocky)."""
        minor, dash, _ = version.partition("-")
        return minor if dash else None
