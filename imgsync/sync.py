"""One sync run: compare upstream releases with Glance and upload what is missing."""

import dataclasses
import logging

from imgsync import compression
from imgsync import exceptions
from imgsync import glance as glance_mod
from imgsync import stream

LOG = logging.getLogger(__name__)

UPLOADED = "uploaded"
UP_TO_DATE = "up-to-date"
WOULD_UPLOAD = "would-upload"
FAILED = "failed"


@dataclasses.dataclass
class Result:
    """What happened to one release (or to a whole driver, when it failed early)."""

    distro: str
    action: str
    version: str = "-"
    name: str = ""
    image_id: str = ""
    error: str = ""


def image_name(prefix, release):
    """``<prefix><display name> (<version>)``, e.g. ``Ubuntu 24.04 (20240423.1)``."""
    return f"{prefix}{release.display_name} ({release.version})"


def image_properties(release):
    """Glance properties of a release's image: driver metadata plus imgsync's own record."""
    return {
        **release.metadata,
        "source": glance_mod.SOURCE,
        f"imgsync.{release.checksum_algo}": release.checksum,
        "imgsync.distro": release.distro,
        "imgsync.version": release.version,
        "imgsync.url": release.url,
    }


def is_synced(image, release):
    """Whether a Glance image is the finished upload of this release."""
    return (image.get("status") == "active"
            and image.get(f"imgsync.{release.checksum_algo}") == release.checksum
            and "imgsync.state" not in image)


class Syncer:
    """Brings one driver's releases into Glance."""

    def __init__(self, glance, upstream, prefix, visibility, max_image_size, dry_run=False):
        self.glance = glance
        self.upstream = upstream
        self.prefix = prefix
        self.visibility = visibility
        self.max_image_size = max_image_size
        self.dry_run = dry_run

    def sync(self, driver):
        releases = driver.releases()
        synced = self.glance.synced_images(driver.name)
        results = []
        for release in releases:
            name = image_name(self.prefix, release)
            existing = next((image for image in synced if is_synced(image, release)), None)
            if existing:
                LOG.info("%s: %s is up to date (image %s)", driver.name, name, existing["id"])
                results.append(Result(driver.name, UP_TO_DATE, release.version, name,
                                      existing["id"]))
            elif self.dry_run:
                results.append(Result(driver.name, WOULD_UPLOAD, release.version, name))
            else:
                image_id = self.upload(release, name)
                results.append(Result(driver.name, UPLOADED, release.version, name, image_id))
        return results

    def upload(self, release, name):
        """Stream one release into a new image; delete the image if anything fails."""
        image_id = self.glance.create(name, release.disk_format, release.min_disk,
                                      release.min_ram, image_properties(release))
        try:
            with self.upstream.open(release.url) as (chunks, length):
                body = self._body(release, chunks, length)
                self.glance.upload(image_id, body)
            image = self.glance.wait_active(image_id)
            self._check_stored(image, body)
            self.glance.publish(image_id, self.visibility)
        except BaseException:
            LOG.warning("removing unfinished image %s (%s)", image_id, name)
            try:
                self.glance.delete(image_id)
            except exceptions.GlanceError as exc:
                LOG.error("could not remove image %s: %s", image_id, exc)
            raise
        LOG.info("%s: uploaded %s as image %s (%d bytes)",
                 release.distro, name, image_id, body.bytes_read)
        return image_id

    def _body(self, release, chunks, length):
        """The upload body: upstream's bytes, verified, and decompressed where needed."""
        if not release.compression:
            return stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                          release.checksum, length, max_size=self.max_image_size)
        verified = stream.VerifyingStream(chunks, release.url, release.checksum_algo,
                                          release.checksum, length, also=(),
                                          max_size=self.max_image_size)
        return compression.Decompressing(verified, release.compression, release.url,
                                         self.max_image_size)

    @staticmethod
    def _check_stored(image, body):
        """Glance must hold exactly the bytes that were sent (and verified)."""
        if image.get("size") != body.bytes_read:
            raise exceptions.GlanceError(
                f"image {image['id']} holds {image.get('size')} bytes, "
                f"{body.bytes_read} were sent")
        algo, sent = image.get("os_hash_algo"), body.hexdigests()
        if algo not in sent:
            LOG.warning("image %s: Glance hashes with %s, only its size was cross-checked",
                        image["id"], algo)
            return
        if image.get("os_hash_value") != sent[algo]:
            raise exceptions.GlanceError(
                f"image {image['id']}: Glance's {algo} {image.get('os_hash_value')} differs "
                f"from the {sent[algo]} streamed")


def run(drivers, syncer):
    """Sync each driver in turn; a failure is reported and the others carry on."""
    results = []
    for driver in drivers:
        try:
            results.extend(syncer.sync(driver))
            continue
        except exceptions.ImgsyncError as exc:
            error = str(exc)
        except Exception as exc:  # a driver bug must not stop the other drivers
            LOG.exception("%s: unexpected error", driver.name)
            error = f"unexpected error: {exc!r}"
        LOG.error("%s: %s", driver.name, error)   # logged outside the handler: one summary
        results.append(Result(driver.name, FAILED, error=error))
    return results
