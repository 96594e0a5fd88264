"""What Glance must show after an upload before imgsync publishes the image.

Each check returns the properties that record how the proof was made, or raises.
"""

import dataclasses
import logging

from imgsync import exceptions

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Sent:
    """What imgsync streamed to Glance, verified against upstream on the way."""

    size: int
    digests: dict
    disk_format: str
    virtual_size: int | None


def stored(image, sent, imported):
    """Glance holds the verified bytes, or (after an import) their conversion.

    Without a conversion, Glance's size and ``os_hash_value`` must equal what was
    streamed. An import plugin may have converted the verified data: then the new
    ``disk_format`` must differ from the one sent and Glance's ``virtual_size`` must be
    the one the format inspector read from the verified stream; the image records it as
    ``imgsync.converted_from``. A ``put`` never converts.
    """
    if image.get("disk_format") != sent.disk_format:
        return _converted(image, sent, imported)
    if image.get("size") != sent.size:
        raise exceptions.GlanceError(
            f"image {image['id']} holds {image.get('size')} bytes, {sent.size} were sent")
    algo = image.get("os_hash_algo")
    if algo not in sent.digests:
        LOG.warning("image %s: Glance hashes with %s, only its size was cross-checked",
                    image["id"], algo)
        return {}
    if image.get("os_hash_value") != sent.digests[algo]:
        raise exceptions.GlanceError(
            f"image {image['id']}: Glance's {algo} {image.get('os_hash_value')} differs "
            f"from the {sent.digests[algo]} streamed")
    return {}


def _converted(image, sent, imported):
    found = image.get("disk_format")
    if not imported:
        raise exceptions.GlanceError(
            f"image {image['id']} is {found}, but {sent.disk_format} was uploaded")
    if sent.virtual_size is None or image.get("virtual_size") != sent.virtual_size:
        raise exceptions.GlanceError(
            f"image {image['id']}: Glance converted the {sent.disk_format} to {found}, but "
            f"its virtual size {image.get('virtual_size')} is not the {sent.virtual_size} "
            f"bytes of the verified {sent.disk_format}")
    LOG.info("image %s: Glance converted the verified %s to %s (virtual size %d)",
             image["id"], sent.disk_format, found, sent.virtual_size)
    return {"imgsync.converted_from": sent.disk_format}


def web_download(image, release, unverified_ok):
    """Glance fetched the data itself: its hash must be upstream's published one.

    Only when Glance hashed with upstream's algorithm can the two be compared; else
    the image is refused unless the operator accepted that (``web_download_unverified``).
    """
    algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
    if algo == release.checksum_algo:
        if value != release.checksum:
            raise exceptions.ChecksumMismatch(release.url, algo, release.checksum, value)
        return {}
    if not unverified_ok:
        raise exceptions.GlanceError(
            f"web-download of {release.url} cannot be verified: Glance hashed image "
            f"{image['id']} with {algo or 'no algorithm'}, upstream publishes "
            f"{release.checksum_algo} (set web_download_unverified = true to accept)")
    LOG.warning("image %s: accepted without verification (web_download_unverified)",
                image["id"])
    return {"imgsync.unverified": "web-download"}
