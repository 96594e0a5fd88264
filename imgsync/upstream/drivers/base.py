"""The driver interface: what a distribution driver tells imgsync about its releases."""

import dataclasses
import datetime
import logging
import re
from collections.abc import Mapping
from typing import ClassVar

from oslo_config import cfg

from imgsync import digests
from imgsync import exceptions
from imgsync import ordering
from imgsync import redact
from imgsync.model import scs
from imgsync.upstream import checksums
from imgsync.upstream import signatures
from imgsync.upstream import trust
from imgsync.upstream.drivers import options

LOG = logging.getLogger(__name__)


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
    checksum_url: str = ""
    """Where upstream publishes the checksum (for errors)."""
    official_url: str = ""
    """``url`` on the official site, whichever mirror ``url`` is on."""
    signed_by: str | None = None
    """Fingerprint of the OpenPGP key that signed the checksum, when it was verified."""
    signed_at: datetime.datetime | None = None
    """When that signature was made, as it says."""
    build_date_from_version: bool = True
    """Whether ``build_date`` is the date the version (or a signed file) claims, rather
    than a Last-Modified header."""
    tags: tuple = ()
    """The driver's tags for the image (catalog_tags)."""
    version_is_build_id: bool = True
    """Whether ``version`` names one build only (not, say, a file name reused by rebuilds)."""

    @property
    def mirror_url(self):
        """``url`` without credentials when it is on a mirror, else None."""
        mirror = redact.without_credentials(self.url)
        return None if mirror == self.official_url else mirror


@dataclasses.dataclass(frozen=True)
class Document:
    """The text of an upstream file as it may be used, and who signed it (None: unsigned)."""

    text: str
    signed: signatures.Signed | None = None


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
    signature_style: ClassVar[str | None] = None
    """How upstream signs its checksum files: ``detached`` (a signature file beside it,
    one of ``signature_suffixes``), ``clearsigned`` (the file itself), ``clearsigned
    copy`` (a clear-signed copy at the name plus ``.asc``), or None (unsigned)."""
    signature_suffixes: ClassVar[tuple[str, ...]] = ()
    signature_description: ClassVar[str] = ""
    signature_default: ClassVar[str] = "if-published"
    keys_file: ClassVar[str | None] = None
    """Upstream's certificates, in imgsync/upstream/keys/ (provenance in its README)."""
    signing_fingerprints: ClassVar[frozenset[str]] = frozenset()
    """The shipped certificates imgsync trusts, pinned by primary key fingerprint."""
    os_purpose: ClassVar[str] = "generic"
    replace_frequency: ClassVar[str] = "never"
    """How often upstream replaces its image, at most (the SCS promise's default)."""
    provided_until: ClassVar[str] = "none"
    """The release's end of upstream support (YYYY-MM-DD), or none."""
    image_description: ClassVar[str | None] = None
    """The distribution's page for the image (default: the site's root)."""
    catalog_meta: ClassVar[Mapping[str, str]] = {}
    """Catalog ``meta`` values that differ from the Glance properties, where
    openstack-image-manager's schema allows only its own vocabulary."""
    family: ClassVar[str]
    """Catalog file (``<family>.yml``), e.g. ``ubuntu``: every driver sets it."""

    def __init__(self, name, group_conf, upstream, properties=None):
        self.name = name
        self.conf = group_conf
        self.upstream = upstream
        self.properties = properties or {}
        """Properties for every image ([DEFAULT] properties)."""
        self._keyring = None

    @classmethod
    def release_class(cls, name, display_name, **attrs):
        """The class of one release of this family, ``name`` as its entry point names it:
        what sets the release apart is a table row, the rest is the family's."""
        return type(name, (cls,), {"__module__": cls.__module__, "__qualname__": name,
                                   "display_name": display_name, **attrs})

    @classmethod
    def opts(cls):
        """The options of the driver's config group."""
        return options.common(cls) + list(cls.extra_opts)

    @property
    def base_url(self):
        """The configured site root, always ending in a slash."""
        return self.conf.base_url.rstrip("/") + "/"

    def official_url(self, url):
        """``url`` with a configured mirror's root replaced by the official site's, and
        without credentials in any case (it is stored and published)."""
        official = (self.upstream_url or "").rstrip("/") + "/"
        if self.upstream_url and self.base_url != official and url.startswith(self.base_url):
            return official + url[len(self.base_url):]
        return redact.without_credentials(url)

    def validate(self):
        """Check the driver's own options at start; raise ConfigError naming the option."""
        if self.conf.signature == "required" and self.signature_style is None:
            raise exceptions.ConfigError(
                f"[{self.name}] signature = required, but {self.display_name} publishes no "
                "signatures of its checksum files")
        if self.conf.signature != "off" and self.signature_style is not None:
            self.keyring()

    def keyring(self):
        """The certificates this driver trusts: ``signing_keys``, else the shipped ones."""
        if self._keyring is None:
            if self.conf.signing_keys:
                try:
                    self._keyring = signatures.Keyring(self.conf.signing_keys)
                except exceptions.ConfigError as exc:
                    raise exceptions.ConfigError(f"[{self.name}] signing_keys: {exc}") from exc
            else:
                self._keyring = signatures.Keyring(signatures.KEYS_DIR / self.keys_file,
                                                   self.signing_fingerprints)
        return self._keyring

    def signed_text(self, url):
        """A checksum file, verified as ``signature`` asks: a Document, its signer with it."""
        policy = self.conf.signature
        if policy == "off" or self.signature_style is None:
            return Document(self.upstream.get_text(url))
        if self.signature_style == "clearsigned copy":
            try:
                document = self.upstream.get_bytes(url + ".asc")
            except exceptions.UpstreamError as exc:
                if exc.status != 404 or policy == "required":
                    raise
                self.unsigned(url, "no clear-signed .asc copy beside it")
                return Document(self.upstream.get_text(url))
            return self._clearsigned(document, url + ".asc")
        data = self.upstream.get_bytes(url)
        if self.signature_style == "clearsigned":
            if signatures.is_clearsigned(data):
                return self._clearsigned(data, url)
            if policy == "required":
                raise exceptions.SignatureError(
                    f"{redact.url(url)} is not signed (signature = required)")
            self.unsigned(url, "not clear-signed")
            return Document(data.decode("utf-8", "replace"))
        for suffix in self.signature_suffixes:
            signature = self.upstream.get_published(url + suffix)
            if signature is None:
                continue
            return Document(data.decode("utf-8", "replace"), signatures.verify_detached(
                data, signature, self.keyring(), url, url + suffix))
        if policy == "required":
            raise exceptions.SignatureError(
                f"{redact.url(url)}: no signature ({' or '.join(self.signature_suffixes)}) "
                "beside it (signature = required)")
        self.unsigned(url, f"no {' or '.join(self.signature_suffixes)} beside it")
        return Document(data.decode("utf-8", "replace"))

    def unsigned(self, url, why):
        """Warn, every time, that ``url`` is used unsigned under ``if-published``."""
        LOG.warning("%s: %s is not signed (%s); used unsigned because [%s] signature = "
                    "if-published", self.name, redact.url(url), why, self.name)

    def published_sums(self, url):
        """The checksum file at ``url``, its signature checked, parsed, with its signer:
        ``(sums, Signed or None)``; None when upstream has no such file (404)."""
        try:
            document = self.signed_text(url)
        except exceptions.UpstreamError as exc:
            if exc.status == 404:
                return None
            raise
        return checksums.parse(document.text, url), document.signed

    def _clearsigned(self, document, signed_url):
        return Document(*signatures.verify_clearsigned(document, self.keyring(), signed_url))

    def releases(self):
        """The newest ``versions`` releases of each configured architecture, newest first.

        Drivers that look upstream up once per architecture implement
        ``arch_releases``; those that read all architectures at once override this.
        """
        found = []
        for arch in self.conf.architectures:
            found += self.arch_releases(arch, self.architectures[arch])
        return sort_releases(found)

    def scs_metadata(self):
        """The SCS image metadata (scs-0102) of this instance's images, from its options."""
        conf = self.conf
        metadata = {
            "os_purpose": conf.os_purpose, "replace_frequency": conf.replace_frequency,
            "provided_until": conf.provided_until,
            "uuid_validity": conf.uuid_validity or scs.uuid_validity(
                max(conf.keep_versions, conf.versions), conf.expire_action),
            "image_description": (conf.image_description or self.image_description
                                  or self.official_url(self.base_url)),
            "hypervisor_type": scs.HYPERVISOR_TYPE,
        }
        if conf.hotfix_hours is not None:
            metadata["hotfix_hours"] = str(conf.hotfix_hours)
        return metadata

    def patchlevel(self, version):
        """The upstream patch level a build's version names (SCS ``patchlevel``), if any."""
        return None

    def arch_releases(self, arch, upstream_arch):
        """The newest ``versions`` releases of one architecture (libosinfo and upstream name)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither releases() "
                                  "nor arch_releases()")

    VERSION: ClassVar[re.Pattern] = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}")
    """What a build's version may be: it names images, and shows in logs and tables."""

    def check_version(self, version, url):
        """Refuse a version read upstream that is not one :attr:`VERSION` allows (control
        characters, say), showing it and its URL escaped."""
        if not self.VERSION.fullmatch(version):
            raise exceptions.LayoutError(
                url.encode("unicode_escape").decode("ascii"),
                "a version of at most 128 letters, digits and '._+~-'", ascii(version))

    def release(self, architecture, metadata=None, signed=None, **fields):
        """Build a Release with this driver's defaults and the operator's overrides.

        ``architecture`` is the libosinfo name; images of other architectures than
        x86_64 carry it in their display name. ``metadata`` adds properties known
        only per build (e.g. Fedora's os_version); the operator's still win. ``signed``
        is the signatures.Signed of the checksum file, as the Document of it says.
        """
        if fields["version"]:   # empty only in catalog's template, which names no build
            self.check_version(fields["version"], fields["url"])
        if fields["checksum_algo"] in digests.WEAK and not self.conf.allow_weak_checksums:
            raise exceptions.UpstreamError(
                f"{redact.url(fields.get('checksum_url') or fields['url'])} publishes only a "
                f"{fields['checksum_algo']} checksum for {redact.url(fields['url'])}, which "
                f"does not protect against tampering (set [{self.name}] "
                "allow_weak_checksums = true to accept)")
        metadata = {**self.metadata, **self.scs_metadata(), **(metadata or {}),
                    "architecture": architecture, **self.properties, **self.conf.properties}
        metadata.setdefault("image_original_user", metadata.get("os_admin_user") or "none")
        patchlevel = fields["version"] and self.patchlevel(fields["version"])
        if patchlevel:
            metadata.setdefault("patchlevel", patchlevel)
        display_name = self.display_name
        if architecture != "x86_64":
            display_name += f" {architecture}"
        release = Release(
            distro=self.name,
            display_name=display_name,
            disk_format=self.disk_format,
            min_disk=self.conf.min_disk if self.conf.min_disk is not None else self.min_disk,
            min_ram=self.conf.min_ram if self.conf.min_ram is not None else self.min_ram,
            metadata=metadata,
            official_url=self.official_url(fields["url"]),
            tags=tuple(self.conf.catalog_tags),
            signed_by=signed and signed.signer,
            signed_at=signed and signed.at,
            **fields,
        )
        trust.fresh(release, datetime.datetime.now(datetime.timezone.utc))
        return release
