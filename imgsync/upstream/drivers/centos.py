"""CentOS Stream GenericCloud images from cloud.centos.org: ``<N>-stream/<arch>/images/``.

One flat directory holds every compose and the ``-latest`` aliases; its CHECKSUM is
BSD style (``SHA256 (name) = hash``) with ``# name: N bytes`` comments. The newest
build is the highest compose id (``YYYYMMDD.n``), which is the version; the build
date is the compose's date (not the later Last-Modified). The image is the plain
``CentOS-Stream-GenericCloud-<N>-...`` one, which boots with BIOS, Nova's default;
the ``GenericCloud-x86_64-`` one is UEFI-only and not taken.
"""

import re

from imgsync.upstream import checksums
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import el


class CentOSStreamDriver(el.EnterpriseLinuxDriver):
    """CentOS Stream ``GenericCloud`` qcow2."""

    family = "centos"
    brand = "CentOS Stream"
    admin_user = "cloud-user"
    upstream_url = "https://cloud.centos.org/centos/"
    image_description = "https://www.centos.org/centos-stream/"
    replace_frequency = "monthly"

    def arch_releases(self, arch, upstream_arch):
        url = f"{self.base_url}{self.major}-stream/{upstream_arch}/images/"
        sums_url = f"{url}CHECKSUM"
        sums = checksums.parse(self.upstream.get_text(sums_url), sums_url)
        pattern = re.compile(rf"CentOS-Stream-GenericCloud-{self.major}-(?P<version>\d{{8}}\.\d+)"
                             rf"\.{re.escape(upstream_arch)}\.qcow2")
        files = dated.newest_first(sums, pattern, sums_url, "composes", "no checksum lines")
        return dated.from_files(self, arch, url, files, sums.__getitem__, sums_url)


CentOSStream9 = CentOSStreamDriver.for_major("9", "2027-05-31")
CentOSStream10 = CentOSStreamDriver.for_major("10", "2030-01-01")
