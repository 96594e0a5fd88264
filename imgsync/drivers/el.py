"""What the Enterprise Linux rebuilds (AlmaLinux, Rocky, CentOS Stream) have in common."""

from typing import ClassVar

from imgsync.drivers import base
from imgsync.drivers import helpers


class EnterpriseLinuxDriver(base.Driver):
    """One driver per major version, x86_64 and aarch64, the same sizes and hw defaults.

    A family sets ``product``, ``os_distro`` and ``login``; each release class sets
    ``major``, from which its display name and Glance metadata follow.
    """

    product: ClassVar[str]
    os_distro: ClassVar[str]
    login: ClassVar[str]
    major: ClassVar[str]
    min_disk = 10
    min_ram = 512
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "major" in vars(cls):
            cls.display_name = f"{cls.product} {cls.major}"
            cls.metadata = {**helpers.HW_DEFAULTS, "os_distro": cls.os_distro,
                            "os_version": cls.major, "os_admin_user": cls.login}
