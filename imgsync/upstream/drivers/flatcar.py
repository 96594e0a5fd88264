"""Flatcar Container Linux OpenStack images, one site per channel (stable, beta, alpha, lts).

``os_distro`` is ``flatcar``: neither Glance's list nor libosinfo knows Flatcar, and
libosinfo's ``coreos-*`` entries are Fedora CoreOS, a different system; override it
with ``properties`` where another value is wanted.

Unconfirmed upstream facts ([U] in the layout notes) the driver tolerates: the exact
HTML of the listings (any links are parsed; when a version directory cannot be
listed, the first file ``compression`` accepts is assumed), arm64 images on stable
and beta (a missing one is a layout error for aarch64 only when it is configured),
and the ``lts`` host name (``base_url`` overrides it).
"""

import datetime
import hashlib
import logging
import re

from oslo_config import cfg

from imgsync import exceptions
from imgsync import redact
from imgsync.upstream import checksums
from imgsync.upstream import signatures
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import helpers

LOG = logging.getLogger(__name__)

IMAGE = "flatcar_production_openstack_image.img"
_SUFFIXES = {"none": ("", None), "bz2": (".bz2", "bz2"), "gz": (".gz", "gz")}
_PREFERENCE = {"auto": ("none", "bz2", "gz"), "none": ("none",), "bz2": ("bz2",),
               "gz": ("gz",)}
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def version_values(text):
    """The ``KEY=value`` pairs of a ``version.txt``."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("\"'")
    return values


def parse_version_txt(text, url):
    """``(version, build date)`` from a ``version.txt`` (FLATCAR_VERSION_ID, FLATCAR_BUILD_ID);
    the date is None when FLATCAR_BUILD_ID carries none (the caller asks Last-Modified)."""
    values = version_values(text)
    version = values.get("FLATCAR_VERSION_ID") or values.get("FLATCAR_VERSION")
    date = _DATE.search(values.get("FLATCAR_BUILD_ID", ""))
    if not version or not re.fullmatch(r"[0-9][0-9A-Za-z.+_-]*", version):
        raise exceptions.LayoutError(url, "FLATCAR_VERSION_ID", repr(text[:80]))
    if not date:
        return version, None
    try:
        return version, datetime.date(*map(int, date.groups()))
    except ValueError as exc:
        raise exceptions.LayoutError(url, "a valid date in FLATCAR_BUILD_ID",
                                     date.group(0)) from exc


class FlatcarDriver(base.Driver):
    """Flatcar's ``flatcar_production_openstack_image.img`` (qcow2 despite the name)."""

    family = "flatcar"
    architectures = {"x86_64": "amd64-usr", "aarch64": "arm64-usr"}
    min_disk = 10
    min_ram = 2048
    os_purpose = "k8snode"
    """A container host, as osism's catalog has it."""
    replace_frequency = "quarterly"
    """Each channel releases every few weeks."""
    image_description = "https://www.flatcar.org/releases"
    signature_style = "clearsigned copy"
    signature_description = ("<image>.DIGESTS.asc, the clear-signed DIGESTS, so the image "
                             "is verified while it streams (its detached .sig could only be "
                             "checked once the whole image had arrived)")
    signature_default = "required"
    keys_file = "flatcar.asc"
    signing_fingerprints = frozenset({"F88CFEDEFF29A5B4D9523864E25D9AED0593B34A"})
    extra_opts = (
        cfg.StrOpt("compression", default="auto",
                   choices=[("auto", "the uncompressed .img when published, else .img.bz2, "
                                     "else .img.gz"),
                            ("none", "only the uncompressed .img"),
                            ("bz2", "only .img.bz2 (verified, then decompressed while "
                                    "streaming)"),
                            ("gz", "only .img.gz (verified, then decompressed while "
                                   "streaming)")],
                   help="Which of the OpenStack image files Flatcar publishes to download. "
                        "Glance always receives the decompressed qcow2."),
    )

    metadata = {
        **helpers.HW_DEFAULTS,
        "os_distro": "flatcar",
        "os_admin_user": "core",
        "hw_qemu_guest_agent": "yes",
    }
    """``os_version`` is each release's own."""
    catalog_meta = {"os_distro": "fedora"}
    """openstack-image-manager's schema has no ``flatcar``; its own flatcar.yml uses fedora."""

    branch: str
    """FLATCAR_BRANCH of the channel's versions (``<build>.<branch>.<patch>``): 0 alpha,
    1 beta, 2 stable, 3 LTS."""

    @classmethod
    def for_channel(cls, channel, branch):
        """The class of one channel (``FlatcarStable``), on the channel's own site."""
        return cls.release_class(
            f"Flatcar{channel.capitalize()}", f"Flatcar {channel}", branch=branch,
            upstream_url=f"https://{channel.lower()}.release.flatcar-linux.net/")

    def patchlevel(self, version):
        return version

    def _version_txt(self, url, expected=None):
        """``(version, build date, whether the date is the file's own)`` of a version.txt,
        its signature checked as ``signature`` asks; its Last-Modified date when its
        FLATCAR_BUILD_ID has none. A signed version.txt must name this channel's branch
        and, in a version directory, that directory's ``expected`` version: the same key
        signs every channel and board, so a signature alone binds nothing."""
        data = self.upstream.get_bytes(url)
        text = data.decode("utf-8", "replace")
        version, date = parse_version_txt(text, url)
        if self._version_signed(url, data):
            branch = (version_values(text).get("FLATCAR_BRANCH")
                      or (version.split(".") + [""])[1])
            if branch != self.branch:
                raise exceptions.RefusedBuild(
                    f"refused build {version} of {self.name}: the signed {redact.url(url)} "
                    f"names FLATCAR_BRANCH {branch or 'none'}, not {self.branch}, the "
                    f"branch of {self.display_name}: another channel's build")
        if expected is not None and version != expected:
            raise exceptions.RefusedBuild(
                f"refused build {expected} of {self.name}: {redact.url(url)} names version "
                f"{version}: another build published under this version")
        if date:
            return version, date, True
        return version, self.upstream.last_modified(url), False

    def _version_signed(self, url, data):
        """Verify version.txt: its detached ``.sig``, else its clear-signed
        ``.DIGESTS.asc``; whether it was signed (raise when it must be and is not)."""
        if self.conf.signature == "off":
            return False
        signature = self.upstream.get_published(url + ".sig")
        if signature is not None:
            signatures.verify_detached(data, signature, self.keyring(), url, url + ".sig")
            return True
        document = self.upstream.get_published(url + ".DIGESTS.asc")
        if document is None:
            if self.conf.signature == "required":
                raise exceptions.SignatureError(
                    f"{redact.url(url)}: neither .sig nor .DIGESTS.asc beside it "
                    "(signature = required)")
            self.unsigned(url, "neither .sig nor .DIGESTS.asc beside it")
            return False
        text, _ = signatures.verify_clearsigned(document, self.keyring(), url + ".DIGESTS.asc")
        digest = checksums.parse_digests(text).get("sha512", {}).get("version.txt")
        if digest != hashlib.sha512(data).hexdigest():
            raise exceptions.SignatureError(
                f"{redact.url(url)} is not the version.txt whose sha512 the signed "
                f"{redact.url(url)}.DIGESTS.asc lists")
        return True

    def arch_releases(self, arch, upstream_arch):
        board_url = f"{self.base_url}{upstream_arch}/"
        current_url = f"{board_url}current/version.txt"
        newest, newest_date, newest_claimed = self._version_txt(current_url)
        candidates = [newest]
        if self.conf.versions > 1:
            older = helpers.version_dirs(self.upstream.entries(board_url), newest=newest)
            candidates += [v for v in older if v != newest]
        releases = []
        for version in candidates:
            if len(releases) == self.conf.versions:
                break
            version_url = f"{board_url}{version}/"
            build_date, claimed = newest_date, newest_claimed
            if version != newest:
                _, build_date, claimed = self._version_txt(f"{version_url}version.txt",
                                                           expected=version)
            chosen = self._choose(version_url)
            if chosen is None:
                if version == newest:
                    raise exceptions.LayoutError(
                        version_url, self._wanted(), "none of them in the listing")
                LOG.warning("%s: skipping %s, %s offers no %s", self.name, version,
                            version_url, self._wanted())
                continue
            name, compression = chosen
            digests_url = f"{version_url}{name}.DIGESTS"
            document = self.signed_text(digests_url)
            sha512 = checksums.parse_digests(document.text).get("sha512")
            algo, digest = helpers.lookup(
                {n: ("sha512", d) for n, d in (sha512 or {}).items()}, name,
                f"{digests_url} (# SHA512 HASH block)")
            releases.append(self.release(
                architecture=arch, metadata={"os_version": version}, version=version,
                build_date=build_date, url=f"{version_url}{name}", checksum_algo=algo,
                checksum=digest, compression=compression, checksum_url=digests_url,
                build_date_from_version=claimed, signed=document.signed))
        return releases

    def _files(self):
        return [(IMAGE + _SUFFIXES[kind][0], _SUFFIXES[kind][1])
                for kind in _PREFERENCE[self.conf.compression]]

    def _wanted(self):
        return " or ".join(name for name, _ in self._files())

    def _choose(self, version_url):
        """The preferred image file the version directory offers, as (name, compression)."""
        try:
            entries = self.upstream.entries(version_url)
        except exceptions.UpstreamError as exc:
            LOG.debug("%s: cannot list %s (%s), assuming the preferred file", self.name,
                      version_url, exc)
            entries = []
        if not entries:
            return self._files()[0]
        return next((f for f in self._files() if f[0] in entries), None)


FlatcarStable = FlatcarDriver.for_channel("Stable", "2")
FlatcarBeta = FlatcarDriver.for_channel("Beta", "1")
FlatcarAlpha = FlatcarDriver.for_channel("Alpha", "0")
FlatcarLts = FlatcarDriver.for_channel("LTS", "3")
