"""Rocky Linux GenericCloud images from download.rockylinux.org: ``<major>/images/<arch>/``.

The listing holds the dated ``Rocky-9-GenericCloud-Base-9.7-20251123.2.x86_64.qcow2``
and the ``Rocky-9-GenericCloud-Base.latest.x86_64.qcow2`` alias, each with a per-image
``<file>.CHECKSUM`` (BSD style, ``# name: N bytes`` comments). The newest build is the
dated image with the alias's checksum; the version is its ``<major.minor>-<compose>``.

The ``-Base.latest`` alias is used, not ``Rocky-<major>-GenericCloud.latest``, which
Rocky 10.1 does not publish. Tolerated where upstream is unconfirmed: a per-image
CHECKSUM naming another file than its own (its only checksum is taken), and a
directory without the alias (the newest dated image is taken, with a warning).
"""

import functools
import re

from imgsync import exceptions
from imgsync import redact
from imgsync.upstream import checksums
from imgsync.upstream.drivers import dated
from imgsync.upstream.drivers import el
from imgsync.upstream.drivers import helpers


def image_checksum(text, filename, url):
    """``(algo, digest)`` a per-image CHECKSUM gives for ``filename`` (or its only one)."""
    sums = checksums.parse(text, url)
    if filename not in sums and len(sums) == 1:
        return next(iter(sums.values()))
    return helpers.lookup(sums, filename, url)


class RockyDriver(el.EnterpriseLinuxDriver):
    """Rocky Linux ``GenericCloud-Base`` qcow2 (not the LVM, EC2 or Azure images).

    Rocky signs the directory's CHECKSUM for 8 and 10, not for 9; the signature's file
    name is not confirmed (``CHECKSUM.asc`` or ``CHECKSUM.sig``), so both are tried and
    the default is ``if-published``.
    """

    signature_style = "detached"
    signature_suffixes = (".asc", ".sig")
    signature_description = "CHECKSUM.asc or CHECKSUM.sig beside the directory's CHECKSUM"
    keys_file = "rocky.asc"
    signing_fingerprints = frozenset({
        "7051C470A929F454CEBE37B715AF5DAC6D745A60",   # Rocky Linux 8
        "21CB256AE16FC54C6E652949702D426D350D275D",   # Rocky Linux 9
        "FC226859C0860BF0DDB95B085B106C736FEDFC85",   # Rocky Linux 10
    })

    family = "rocky"
    brand = "Rocky Linux"
    admin_user = "rocky"
    upstream_url = "https://download.rockylinux.org/pub/rocky/"
    image_description = "https://docs.rockylinux.org/release_notes/"
    replace_frequency = "yearly"

    def arch_releases(self, arch, upstream_arch):
        url = f"{self.base_url}{self.major}/images/{upstream_arch}/"
        prefix = f"Rocky-{self.major}-GenericCloud-Base"
        pattern = re.compile(rf"{re.escape(prefix)}-(?P<version>{self.major}\.\d+-\d{{8}}\.\d+)"
                             rf"\.{re.escape(upstream_arch)}\.qcow2")
        alias = f"{prefix}.latest.{upstream_arch}.qcow2"
        combined_url = f"{url}CHECKSUM"
        combined, signed = self.published_sums(combined_url) or ({}, None)
        if not combined and self.conf.signature == "required":
            raise exceptions.SignatureError(
                f"{redact.url(combined_url)} is missing or empty, and only it is signed "
                "(signature = required)")
        if not combined and self.conf.signature == "if-published":
            self.unsigned(combined_url, "missing or empty: only the per-image .CHECKSUM "
                                        "files, which are not signed")
        if combined:   # the directory's CHECKSUM: every file, and the one Rocky signs
            names, sums_url = combined, combined_url

            def checksum_of(name):
                return helpers.lookup(combined, name, combined_url)
        else:          # only the per-image <image>.CHECKSUM files
            names, sums_url = self.upstream.entries(url), f"{url}<image>.CHECKSUM"

            @functools.cache
            def checksum_of(name):
                image_sums = f"{url}{name}.CHECKSUM"
                return image_checksum(self.upstream.get_text(image_sums), name, image_sums)
        files = dated.newest_first(names, pattern, url, "dated images")
        alias_checksum = checksum_of(alias) if alias in names else None
        current = dated.from_alias(files, alias_checksum, checksum_of, alias, url)
        return dated.from_files(self, arch, url, current, checksum_of, sums_url, signed)


Rocky8 = RockyDriver.for_major("8", "2029-05-31")
Rocky9 = RockyDriver.for_major("9", "2032-05-31")
Rocky10 = RockyDriver.for_major("10", "2035-05-31")
