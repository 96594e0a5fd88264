"""A driver configured entirely in imgsync.conf, for sites imgsync has no driver for.

One ``[generic]`` group (one generic site per imgsync configuration): builds are
found by listing ``base_url`` + ``path`` and matching ``file_regex`` against the
entries, or, with ``build_dir_regex``, against the entries of each matching build
directory. Example for a vendor site with ``SHA256SUMS`` in dated directories::

    [generic]
    base_url = https://images.vendor.example/os/9/
    build_dir_regex = (?P<version>\\d{8}\\.\\d+)/
    file_regex = vendor-os-9-{arch}\\.qcow2
    checksum_url = SHA256SUMS
    display_name = Vendor OS 9
    properties = os_distro=rhel,os_version=9,os_admin_user=cloud-user
"""

import datetime
import re
import urllib.parse

from oslo_config import cfg

from imgsync import conf as imgsync_conf
from imgsync import digests
from imgsync import exceptions
from imgsync import ordering
from imgsync.upstream import checksums
from imgsync.upstream.drivers import base
from imgsync.upstream.drivers import helpers

_EXTENSIONS = {".bz2": "bz2", ".gz": "gz", ".xz": "xz"}
_DATE = re.compile(r"(?:19|20)\d{6}")


def fill(template, **values):
    """Replace ``{name}`` placeholders, leaving regex braces such as ``\\d{8}`` alone."""
    for key, value in values.items():
        template = template.replace(f"{{{key}}}", value)
    return template


def parse_checksums(text, style, filename, url=""):
    """``{name: (algo, hex)}`` of a checksum file in the configured ``checksum_style``."""
    if style == "digests":
        blocks = checksums.parse_digests(text)
        weakest_first = reversed(digests.strongest_first(blocks))   # the stronger wins
        return {name: (algo, digest) for algo in weakest_first
                for name, digest in blocks[algo].items()}
    if style == "single":
        words = text.split()
        return checksums.parse(f"{words[0]}  {filename}", url) if words else {}
    return checksums.parse(text, url)


class Generic(base.Driver):
    """Images of a site described by the ``[generic]`` options."""

    family = "generic"
    display_name = "Generic"
    upstream_url = None
    min_disk = 1
    min_ram = 512
    """SCS asks for a min_ram above 0; publication raises min_disk to the image's size."""
    architectures = {"x86_64": "x86_64", "aarch64": "aarch64"}
    extra_opts = (
        cfg.StrOpt("display_name",
                   help="Image name before the version, e.g. 'Vendor OS 9' gives "
                        "'<prefix>Vendor OS 9 (<version>)'. Required."),
        cfg.StrOpt("path", default="",
                   help="Directory below base_url that lists the builds (or the build "
                        "directories), e.g. 'images/'. '{arch}' is replaced by the "
                        "upstream architecture name."),
        cfg.StrOpt("build_dir_regex",
                   help="When set, builds are the subdirectories of the listing whose name "
                        "(with its trailing slash) fully matches this regex, e.g. "
                        "'(?P<version>\\d{8})/'; the image is searched in each, newest "
                        "first. The version is the 'version' group, else the name."),
        cfg.StrOpt("file_regex",
                   help="Regex the image's file name must fully match, e.g. "
                        "'vendor-os-(?P<version>[\\d.]+)-{arch}\\.qcow2'. '{arch}' is "
                        "replaced by the upstream architecture name. Without build "
                        "directories, its 'version' group is the version. Required."),
        cfg.StrOpt("version_regex",
                   help="Regex searched in the build directory's name (else the file "
                        "name) for the version: its 'version' group, else the whole "
                        "match. Overrides the 'version' groups above."),
        cfg.StrOpt("checksum_url",
                   help="Checksum file, relative to the image's directory or absolute, "
                        "e.g. 'SHA256SUMS', '{file}.sha256' or "
                        "'https://vendor.example/sums/{version}.txt'; placeholders {file}, "
                        "{version}, {arch}. Required: imgsync never uploads unverified "
                        "data."),
        cfg.StrOpt("checksum_style", default="lines",
                   choices=[("lines", "'<hex>  name', '<hex> *name' or 'SHA256 (name) = "
                                      "<hex>' lines; comments and PGP armour are skipped; "
                                      "the algorithm is told by the tag or hex length"),
                            ("digests", "Flatcar-style '# SHA512 HASH' blocks; the strongest "
                                        "algorithm listing the file is used"),
                            ("single", "the file holds one digest, for the image alone")],
                   help="Format of the checksum file."),
        cfg.StrOpt("disk_format", default="qcow2",
                   choices=["qcow2", "raw", "vmdk", "vhd", "vhdx", "vdi", "iso"],
                   help="Glance disk_format of the (decompressed) image; imgsync checks "
                        "the data is in this format before the upload completes."),
        cfg.StrOpt("compression", default="auto",
                   choices=[("auto", "by the file name's extension: .bz2, .gz, .xz"),
                            ("none", "not compressed"), ("bz2", "bzip2"), ("gz", "gzip"),
                            ("xz", "xz")],
                   help="Compression of the published file; the checksum is that of the "
                        "compressed file, Glance receives the decompressed image."),
        cfg.Opt("architecture_names", type=imgsync_conf.Properties(), default={},
                help="Upstream's names of the architectures, e.g. "
                     "'x86_64=amd64,aarch64=arm64' (default: the libosinfo names)."),
    )

    def __init__(self, name, group_conf, upstream, properties=None):
        super().__init__(name, group_conf, upstream, properties)
        missing = [opt for opt in ("base_url", "display_name", "file_regex", "checksum_url")
                   if not getattr(group_conf, opt)]
        if missing:
            raise exceptions.ConfigError(
                f"[{name}] {', '.join(missing)} must be set for the generic driver")
        self.display_name = group_conf.display_name
        self.disk_format = group_conf.disk_format

    def validate(self):
        """Each regex option must compile (placeholders filled in as at run time)."""
        for opt in ("build_dir_regex", "file_regex", "version_regex"):
            value = getattr(self.conf, opt)
            if not value:
                continue
            try:
                re.compile(fill(value, arch="x86_64"))
            except re.error as exc:
                raise exceptions.ConfigError(
                    f"[{self.name}] {opt}: not a valid regular expression: {exc}") from exc

    def releases(self):
        found = []
        for arch in self.conf.architectures:
            upstream_arch = self.conf.architecture_names.get(arch, arch)
            releases = list(self._arch_releases(arch, upstream_arch))
            if not releases:
                raise exceptions.LayoutError(
                    self._listing_url(upstream_arch), f"a file matching {self.conf.file_regex}"
                    + (f" in a directory matching {self.conf.build_dir_regex}"
                       if self.conf.build_dir_regex else ""), "none")
            found += releases
        return sorted(found, key=lambda r: ordering.natural_key(r.version), reverse=True)

    def _listing_url(self, upstream_arch):
        return urllib.parse.urljoin(self.base_url, fill(self.conf.path, arch=upstream_arch))

    def _candidates(self, upstream_arch):
        """``(directory URL, file name, version)`` of each build, newest first."""
        listing_url = self._listing_url(upstream_arch)
        if not listing_url.endswith("/"):
            listing_url += "/"
        file_re = re.compile(fill(self.conf.file_regex, arch=re.escape(upstream_arch)))
        entries = self.upstream.entries(listing_url)
        if not self.conf.build_dir_regex:
            builds = [(listing_url, e, self._version(m, e)) for e in entries
                      if (m := file_re.fullmatch(e))]
            yield from sorted(builds, key=lambda b: ordering.natural_key(b[2]), reverse=True)
            return
        dir_re = re.compile(self.conf.build_dir_regex)
        dirs = [(e, self._version(m, e.rstrip("/"))) for e in entries
                if e.endswith("/") and (m := dir_re.fullmatch(e))]
        for entry, version in sorted(dirs, key=lambda d: ordering.natural_key(d[1]), reverse=True):
            directory = listing_url + entry
            names = [e for e in self.upstream.entries(directory) if file_re.fullmatch(e)]
            if names:
                yield directory, sorted(names)[-1], version

    def _version(self, match, name):
        if self.conf.version_regex:
            found = re.search(self.conf.version_regex, name)
            if found:
                return found.groupdict().get("version") or found.group(0)
        return match.groupdict().get("version") or name

    def _arch_releases(self, arch, upstream_arch):
        count = 0
        for directory, name, version in self._candidates(upstream_arch):
            self.check_version(version, directory + name)   # before it is in a URL
            sums_url = urllib.parse.urljoin(directory, fill(
                self.conf.checksum_url, file=name, version=version, arch=upstream_arch))
            sums = parse_checksums(self.upstream.get_text(sums_url), self.conf.checksum_style,
                                   name, sums_url)
            algo, digest = helpers.lookup(sums, name, sums_url)
            count += 1
            yield self.release(
                architecture=arch, version=version, build_date=self._date(version,
                                                                          directory + name),
                url=directory + name, checksum_algo=algo, checksum=digest,
                compression=self._compression(name), checksum_url=sums_url,
                version_is_build_id=any("(?P<version>" in (getattr(self.conf, opt) or "")
                                        for opt in ("file_regex", "version_regex",
                                                    "build_dir_regex")))
            if count == self.conf.versions:
                return

    def _date(self, version, url):
        """The YYYYMMDD in the version when there is one, else upstream's Last-Modified."""
        found = _DATE.search(version)
        if found:
            try:
                return datetime.datetime.strptime(found.group(0), "%Y%m%d").date()
            except ValueError:
                pass
        return self.upstream.last_modified(url)

    def _compression(self, name):
        if self.conf.compression == "auto":
            return next((kind for ext, kind in _EXTENSIONS.items() if name.endswith(ext)), None)
        return None if self.conf.compression == "none" else self.conf.compression
