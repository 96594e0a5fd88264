"""AlmaLinux GenericCloud images from repo.almalinux.org: ``<major>/cloud/<arch>/images/``.

The directory's CHECKSUM (``hash  name``) lists the dated images
(``AlmaLinux-9-GenericCloud-9.8-20260526.x86_64.qcow2``, AlmaLinux 10 with a compose
suffix, ``10.2-20260526.0``) and the ``-latest`` alias; the newest build is the dated
image with the alias's checksum, and the version is its ``<major.minor>-<date>`` id.

``os_distro`` is ``almalinux``, libosinfo's name, which Glance recommends: Glance's
own list has none, and ``centos`` (osism's workaround) would name another system.
Override it with ``properties`` where a consumer expects ``centos``.
"""

import re

from imgsync.upstream import checksums
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import el
from imgsync.upstream.drivers import helpers


class AlmaLinuxDriver(el.EnterpriseLinuxDriver):
    """AlmaLinux ``GenericCloud`` qcow2 (not the ext4, UEFI or OpenNebula variants)."""

    family = "almalinux"
    brand = "AlmaLinux"
    admin_user = "almalinux"
    upstream_url = "https://repo.almalinux.org/almalinux/"
    image_description = "https://wiki.almalinux.org/release-notes/"
    replace_frequency = "yearly"
    signature_style = "detached"
    signature_suffixes = (".asc",)
    signature_description = "CHECKSUM.asc beside CHECKSUM"
    keys_file = "almalinux.asc"
    signing_fingerprints = frozenset({
        "BC5EDDCADF502C077F1582882AE81E8ACED7258B",   # AlmaLinux OS 8 (2023)
        "BF18AC2876178908D6E71267D36CB86CB86B3716",   # AlmaLinux OS 9
        "EE6DB7B98F5BF5EDD9DA0DE5DEE5C11CC2A1E572",   # AlmaLinux OS 10
    })

    def arch_releases(self, arch, upstream_arch):
        url = f"{self.base_url}{self.major}/cloud/{upstream_arch}/images/"
        sums_url = f"{url}CHECKSUM"
        document = self.signed_text(sums_url)
        sums = checksums.parse(document.text, sums_url)
        prefix = f"AlmaLinux-{self.major}-GenericCloud-"
        pattern = re.compile(rf"{re.escape(prefix)}(?P<version>{self.major}\.\d+-\d{{8}}"
                             rf"(?:\.\d+)?)\.{re.escape(upstream_arch)}\.qcow2")
        files = dated.newest_first(sums, pattern, sums_url, "dated images", "no checksum lines")
        alias = f"{prefix}latest.{upstream_arch}.qcow2"
        current = dated.from_alias(files, helpers.lookup(sums, alias, sums_url),
                                   sums.__getitem__, alias, sums_url)
        return dated.from_files(self, arch, url, current, sums.__getitem__, sums_url,
                                document.signed)


AlmaLinux8 = AlmaLinuxDriver.for_major("8", "2029-03-01")
AlmaLinux9 = AlmaLinuxDriver.for_major("9", "2032-05-31", signature_default="required")
AlmaLinux10 = AlmaLinuxDriver.for_major("10", "2035-05-31")
