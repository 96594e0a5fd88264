"""One upload: a release streamed from upstream, verified, into a new Glance image.

The image is created private, hidden and pending; it is published only once Glance holds
what was verified (see imgsync.proof), and it is deleted if anything fails.
"""

import dataclasses
import logging
import time

from imgsync import compression
from imgsync import exceptions
from imgsync import glance as glance_mod
from imgsync import inspection
from imgsync import permissions
from imgsync import proof
from imgsync import redact
from imgsync import stream

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Uploaded:
    """What an upload left in Glance."""

    image_id: str
    bytes: int
    method: str
    seconds: float


def image_properties(release):
    """Glance properties of a release's image: driver metadata plus imgsync's own record."""
    return {
        **release.metadata,
        "source": glance_mod.SOURCE,
        f"imgsync.{release.checksum_algo}": release.checksum,
        "imgsync.distro": release.distro,
        "imgsync.version": release.version,
        "imgsync.url": release.official_url,
        **({"imgsync.mirror_url": release.mirror_url} if release.mirror_url else {}),
        **({"imgsync.signed_by": release.signed_by} if release.signed_by else {}),
        "image_build_date": release.build_date.isoformat(),
    }


class Uploader:
    """Uploads releases into one Glance with the run's settings."""

    def __init__(self, glance, settings):
        self.glance = glance
        self.settings = settings
        self._import_methods = None
        self._permitted = set()
        self._refused = {}

    def _upload_method(self, release):
        method = self.settings.upload_method
        if method == "auto":
            if self._import_methods is None:
                self._import_methods = self.glance.import_methods()
            method = "glance-direct" if "glance-direct" in self._import_methods else "put"
        if method == "web-download":
            if redact.has_credentials(release.url):
                raise exceptions.ImgsyncError(
                    f"web-download of {redact.url(release.url)} would hand the mirror's "
                    "credentials to Glance, which keeps the URL in its import task; use "
                    "upload_method = auto")
            if release.compression:
                raise exceptions.ImgsyncError(
                    f"{release.url} is {release.compression}-compressed: Glance's web-download "
                    "cannot decompress it; use upload_method = auto")
            if release.checksum_algo != "sha512" and not self.settings.web_download_unverified:
                raise exceptions.ImgsyncError(
                    f"web-download of {release.url} cannot be verified: upstream publishes "
                    f"{release.checksum_algo}, Glance computes sha512 (set "
                    "web_download_unverified = true to accept)")
        return method

    def _check_permissions(self, release):
        """Once per set of property keys: may this account publish such an image?
        A refusal is remembered, so later uploads of the run fail without asking again."""
        properties = image_properties(release)
        key = frozenset(properties)
        if key in self._refused:
            raise self._refused[key]
        if key not in self._permitted:
            try:
                permissions.check(self.glance, f"{self.settings.prefix}imgsync permission "
                                  "check", self.settings.visibility, properties)
            except exceptions.ImgsyncError as exc:
                self._refused[key] = exc
                raise
            self._permitted.add(key)

    def upload(self, release, name, upstream):
        """Bring one release into a new image; delete the image if anything fails."""
        started = time.monotonic()
        method = self._upload_method(release)
        self._check_permissions(release)
        image_id = self.glance.create(name, release.disk_format, release.min_disk,
                                      release.min_ram, image_properties(release))
        try:
            if method == "web-download":
                self.glance.start_import(image_id, method, uri=release.url)
                image = self.glance.wait_active(image_id, imported=True)
                record = proof.web_download(image, release,
                                            self.settings.web_download_unverified)
                size = image.get("size") or 0
            else:
                with upstream.open(release.url) as (chunks, length):
                    body = self._body(release, chunks, length)
                    self.glance.upload(image_id, body, stage=method == "glance-direct")
                if method == "glance-direct":
                    self.glance.start_import(image_id, method)
                image = self.glance.wait_active(image_id, imported=method == "glance-direct")
                record = proof.stored(image, body.sent(), imported=method == "glance-direct")
                size = body.bytes_read
            self.glance.publish(image_id, self.settings.visibility, record)
        except BaseException:
            LOG.warning("removing unfinished image %s (%s)", image_id, name)
            try:
                self.glance.delete(image_id)
            except exceptions.GlanceError as exc:
                LOG.error("could not remove image %s: %s", image_id, exc)
            raise
        seconds = time.monotonic() - started
        LOG.info("%s: uploaded %s as image %s (%d bytes in %.1f s, %s)",
                 release.distro, name, image_id, size, seconds, method)
        return Uploaded(image_id, size, method, seconds)

    def _body(self, release, chunks, length):
        """Upstream's bytes, verified, decompressed where needed, and format-inspected."""
        limit = self.settings.max_image_size
        if release.compression:
            verified = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                              release.checksum, length, also=(), max_size=limit)
            data = compression.Decompressing(verified, release.compression, release.url, limit)
        else:
            data = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                          release.checksum, length, max_size=limit)
        return inspection.InspectingStream(data, release.url, release.disk_format)
